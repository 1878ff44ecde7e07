//! Validated configuration values.
//!
//! Each type here checks, when it is built, what AWS would reject later, so a
//! bad value is reported while reading `maint.yaml` (with its line and column,
//! since the YAML parser attaches the position to a `try_from` failure) and never
//! reaches an API call. The emulator accepts much that AWS refuses; these rules
//! follow the AWS documentation, not the emulator.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Deserialises a string type through its `TryFrom<String>` inside the
/// scalar's visitor, so the YAML error carries the value's own line and column
/// (a `#[serde(try_from)]` error would point at the enclosing mapping).
macro_rules! validated_string {
    ($name:ident) => {
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct Visitor;
                impl serde::de::Visitor<'_> for Visitor {
                    type Value = $name;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str("a string")
                    }
                    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<$name, E> {
                        $name::try_from(v.to_string()).map_err(E::custom)
                    }
                }
                deserializer.deserialize_str(Visitor)
            }
        }
    };
}

/// An S3 bucket name, by the general-purpose bucket naming rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(into = "String")]
pub struct BucketName(String);
validated_string!(BucketName);

impl TryFrom<String> for BucketName {
    type Error = String;

    fn try_from(name: String) -> Result<Self, String> {
        let fail = |why: &str| {
            Err(format!(
                "invalid bucket name `{name}`: {why} (S3 bucket names are 3 to 63 characters of \
                 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit)"
            ))
        };
        if !(3..=63).contains(&name.len()) {
            return fail("it must be 3 to 63 characters long");
        }
        if !name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        {
            return fail("it may only hold lowercase letters, digits, dots and hyphens");
        }
        let first = name.as_bytes()[0];
        let last = name.as_bytes()[name.len() - 1];
        if !first.is_ascii_alphanumeric() || !last.is_ascii_alphanumeric() {
            return fail("it must start and end with a letter or digit");
        }
        if name.contains("..") || name.contains(".-") || name.contains("-.") {
            return fail("dots may not be next to each other or to a hyphen");
        }
        if name.split('.').count() == 4 && name.split('.').all(|p| p.parse::<u8>().is_ok()) {
            return fail("it must not look like an IP address");
        }
        for prefix in ["xn--", "sthree-", "amzn-s3-demo-"] {
            if name.starts_with(prefix) {
                return fail(&format!("the prefix `{prefix}` is reserved"));
            }
        }
        for suffix in ["-s3alias", "--ol-s3", "--x-s3", "--table-s3", ".mrap"] {
            if name.ends_with(suffix) {
                return fail(&format!("the suffix `{suffix}` is reserved"));
            }
        }
        // Served over HTTPS by its virtual-hosted name, a dotted bucket falls outside
        // the `*.s3.REGION.amazonaws.com` certificate; AWS advises against dots here.
        if name.contains('.') {
            return fail(
                "maint does not use dots, which break HTTPS to the bucket's virtual-hosted name",
            );
        }
        Ok(Self(name))
    }
}

impl From<BucketName> for String {
    fn from(name: BucketName) -> Self {
        name.0
    }
}

impl BucketName {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for BucketName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An AWS region name such as `eu-west-1` (shape-checked: new regions keep the shape).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(into = "String")]
pub struct Region(String);
validated_string!(Region);

/// Every region of the `aws` partition, from the partition data the AWS SDK
/// for Rust embeds (`endpoint_lib.rs` of the locked SDK crates, the same
/// data as botocore's `partitions.json`). The emulator accepts any name and
/// AWS fails only at DNS, so an unknown region is refused here, before any
/// call.
const REGIONS: [&str; 34] = [
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-6",
    "ap-southeast-7",
    "ca-central-1",
    "ca-west-1",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
];

/// Regions of the other partitions (aws-cn, aws-us-gov, aws-eusc): real,
/// but maint builds its names for the `aws` partition (`arn:aws:`,
/// `amazonaws.com`, certificates in us-east-1), and CloudFront differs
/// there (in China a distribution needs an ICP-recorded alias and its
/// default domain serves nothing).
const OTHER_PARTITIONS: [&str; 5] = [
    "cn-north-1",
    "cn-northwest-1",
    "us-gov-east-1",
    "us-gov-west-1",
    "eusc-de-east-1",
];

impl TryFrom<String> for Region {
    type Error = String;

    fn try_from(name: String) -> Result<Self, String> {
        if REGIONS.contains(&name.as_str()) {
            return Ok(Self(name));
        }
        if OTHER_PARTITIONS.contains(&name.as_str()) {
            return Err(format!(
                "region `{name}` is outside AWS's main partition (aws), and maint supports only \
                 that one: its names (arn:aws:, amazonaws.com) and CloudFront's rules differ \
                 in China, GovCloud and the European Sovereign Cloud"
            ));
        }
        Err(format!(
            "invalid region `{name}`: AWS has no region of that name. The regions are {} (if AWS \
             opened it after this maint was built, upgrade maint)",
            REGIONS.join(", ")
        ))
    }
}

impl From<Region> for String {
    fn from(region: Region) -> Self {
        region.0
    }
}

impl Region {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A number of seconds for a CloudFront or HTTP cache TTL: 0 to one year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(into = "i64")]
pub struct Seconds(u32);

impl<'de> Deserialize<'de> for Seconds {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Seconds;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a whole number of seconds")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Seconds, E> {
                Seconds::try_from(v).map_err(E::custom)
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Seconds, E> {
                Seconds::try_from(i64::try_from(v).unwrap_or(i64::MAX)).map_err(E::custom)
            }
        }
        deserializer.deserialize_i64(Visitor)
    }
}

pub const ONE_YEAR: u32 = 31_536_000;

impl TryFrom<i64> for Seconds {
    type Error = String;

    fn try_from(value: i64) -> Result<Self, String> {
        match u32::try_from(value) {
            Ok(v) if v <= ONE_YEAR => Ok(Self(v)),
            _ => Err(format!(
                "invalid number of seconds {value}: expected 0 to {ONE_YEAR} (one year)"
            )),
        }
    }
}

impl From<Seconds> for i64 {
    fn from(s: Seconds) -> Self {
        i64::from(s.0)
    }
}

impl Seconds {
    pub const fn new(value: u32) -> Self {
        Self(value)
    }
    pub fn get(self) -> u32 {
        self.0
    }
}

/// The object key of the error document: what CloudFront fetches as `/KEY`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(into = "String")]
pub struct DocumentKey(String);
validated_string!(DocumentKey);

impl TryFrom<String> for DocumentKey {
    type Error = String;

    fn try_from(key: String) -> Result<Self, String> {
        let ok_char = |c: char| c.is_ascii_alphanumeric() || "-_./".contains(c);
        if key.is_empty() || key.len() > 255 {
            return Err(format!(
                "invalid document key `{key}`: it must be 1 to 255 characters"
            ));
        }
        if key.starts_with('/') || key.ends_with('/') || key.contains("//") {
            return Err(format!(
                "invalid document key `{key}`: write it without a leading or trailing slash, e.g. `maintenance.html`"
            ));
        }
        if !key.chars().all(ok_char) || key.split('/').any(|p| p == "." || p == "..") {
            return Err(format!(
                "invalid document key `{key}`: use letters, digits, `-`, `_`, `.` and `/` only \
                 (it becomes a CloudFront ResponsePagePath)"
            ));
        }
        Ok(Self(key))
    }
}

impl From<DocumentKey> for String {
    fn from(key: DocumentKey) -> Self {
        key.0
    }
}

impl DocumentKey {
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The CloudFront ResponsePagePath for this key.
    pub fn page_path(&self) -> String {
        format!("/{}", self.0)
    }
}

impl fmt::Display for DocumentKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A host name a CloudFront distribution may answer for (an alternate domain name).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(into = "String")]
pub struct Alias(String);
validated_string!(Alias);

impl TryFrom<String> for Alias {
    type Error = String;

    fn try_from(name: String) -> Result<Self, String> {
        let host = name.strip_prefix("*.").unwrap_or(&name);
        let label_ok = |l: &str| {
            (1..=63).contains(&l.len())
                && l.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        };
        if name.len() <= 253 && host.contains('.') && host.split('.').all(label_ok) {
            Ok(Self(name))
        } else {
            Err(format!(
                "invalid alias `{name}`: expected a lowercase domain name such as \
                 `maintenance.example.com` (or a wildcard `*.example.com`)"
            ))
        }
    }
}

impl From<Alias> for String {
    fn from(alias: Alias) -> Self {
        alias.0
    }
}

impl Alias {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An ACM certificate ARN usable by CloudFront: it must live in us-east-1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(into = "String")]
pub struct CertificateArn(String);
validated_string!(CertificateArn);

impl TryFrom<String> for CertificateArn {
    type Error = String;

    fn try_from(arn: String) -> Result<Self, String> {
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        let shaped = parts.len() == 6
            && parts[0] == "arn"
            && parts[1].starts_with("aws")
            && parts[2] == "acm"
            && parts[4].len() == 12
            && parts[4].bytes().all(|b| b.is_ascii_digit())
            && parts[5].starts_with("certificate/");
        if !shaped {
            return Err(format!(
                "invalid certificate ARN `{arn}`: expected \
                 `arn:aws:acm:us-east-1:ACCOUNT:certificate/ID`"
            ));
        }
        if parts[3] != "us-east-1" {
            return Err(format!(
                "certificate `{arn}` is in {}, but CloudFront only uses ACM certificates from \
                 us-east-1: request or import the certificate there",
                parts[3]
            ));
        }
        Ok(Self(arn))
    }
}

impl From<CertificateArn> for String {
    fn from(arn: CertificateArn) -> Self {
        arn.0
    }
}

impl CertificateArn {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// CloudFront price classes: which edge locations serve the site.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum PriceClass {
    #[default]
    #[serde(rename = "PriceClass_100")]
    Class100,
    #[serde(rename = "PriceClass_200")]
    Class200,
    #[serde(rename = "PriceClass_All")]
    All,
}

impl PriceClass {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Class100 => "PriceClass_100",
            Self::Class200 => "PriceClass_200",
            Self::All => "PriceClass_All",
        }
    }
}

/// What the error document is: an HTML page or a JSON body for API clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    #[default]
    Html,
    Json,
}

impl Format {
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Html => "text/html; charset=utf-8",
            Self::Json => "application/json",
        }
    }
    pub fn default_key(self) -> &'static str {
        match self {
            Self::Html => "maintenance.html",
            Self::Json => "maintenance.json",
        }
    }
}

/// Tags for the bucket and the distribution, by the rules both services share.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(try_from = "std::collections::BTreeMap<String, String>")]
pub struct Tags(pub std::collections::BTreeMap<String, String>);

impl TryFrom<std::collections::BTreeMap<String, String>> for Tags {
    type Error = String;

    fn try_from(map: std::collections::BTreeMap<String, String>) -> Result<Self, String> {
        if map.len() > 40 {
            return Err(format!(
                "{} tags given; at most 40 are allowed (maint adds some of its own)",
                map.len()
            ));
        }
        let ok_chars = |s: &str| {
            s.chars()
                .all(|c| c.is_alphanumeric() || c.is_whitespace() || "_.:/=+-@".contains(c))
        };
        for (key, value) in &map {
            if key.is_empty() || key.chars().count() > 128 || !ok_chars(key) {
                return Err(format!(
                    "invalid tag key `{key}`: 1 to 128 letters, digits, spaces and _ . : / = + - @"
                ));
            }
            if key.to_ascii_lowercase().starts_with("aws:") || key.starts_with("maint:") {
                return Err(format!(
                    "invalid tag key `{key}`: the prefixes `aws:` and `maint:` are reserved"
                ));
            }
            if value.chars().count() > 256 || !ok_chars(value) {
                return Err(format!(
                    "invalid value for tag `{key}`: at most 256 letters, digits, spaces and _ . : / = + - @"
                ));
            }
        }
        Ok(Self(map))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bucket(s: &str) -> Result<BucketName, String> {
        BucketName::try_from(s.to_string())
    }

    #[test]
    fn bucket_names_follow_s3_rules() {
        assert!(bucket("acme-maintenance-staging").is_ok());
        assert!(bucket("abc").is_ok());
        for bad in [
            "ab",
            &"a".repeat(64),
            "Acme",
            "acme_site",
            "-acme",
            "acme-",
            "192.168.5.4",
            "xn--acme",
            "acme-s3alias",
            "acme.site",
        ] {
            assert!(bucket(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn regions_are_the_ones_aws_has() {
        for ok in [
            "us-east-1",
            "eu-west-1",
            "ap-southeast-2",
            "mx-central-1",
            "ap-southeast-7",
        ] {
            assert!(Region::try_from(ok.to_string()).is_ok(), "{ok}");
        }
        // Real regions of other partitions, whose names maint cannot build.
        for other in ["cn-northwest-1", "us-gov-west-1", "eusc-de-east-1"] {
            let err = Region::try_from(other.to_string()).unwrap_err();
            assert!(err.contains("outside AWS's main partition"), "{err}");
        }
        for bad in [
            "useast1",
            "us-east",
            "US-EAST-1",
            "us-east-1a",
            "",
            // The shape of a region, but AWS has none of these.
            "mars-north-1",
            "us-mars-1",
            "eu-west-9",
            "aws-global",
        ] {
            assert!(Region::try_from(bad.to_string()).is_err(), "{bad}");
        }
        let err = Region::try_from("mars-north-1".to_string()).unwrap_err();
        assert!(
            err.contains("invalid region `mars-north-1`: AWS has no region of that name")
                && err.contains("eu-west-1")
                && err.contains("us-east-1"),
            "{err}"
        );
    }

    #[test]
    fn languages_are_tags() {
        for ok in ["en", "de", "pt-BR", "zh-Hant", "gsw"] {
            assert!(Lang::try_from(ok.to_string()).is_ok(), "{ok}");
        }
        for bad in ["", "EN", "english", "en_US", "en-", "\"><script>"] {
            assert!(Lang::try_from(bad.to_string()).is_err(), "{bad}");
        }
        assert_eq!(Lang::default().as_str(), "en");
    }

    #[test]
    fn path_patterns_match_as_cloudfront_matches_them() {
        let p = |s: &str| PathPattern::try_from(s.to_string()).unwrap();
        assert!(p("/health").matches("/health"));
        assert!(!p("/health").matches("/healthz"));
        assert!(p("/webhooks/*").matches("/webhooks/"));
        assert!(p("/webhooks/*").matches("/webhooks/a/b"));
        assert!(!p("/webhooks/*").matches("/webhooks"));
        assert!(p("/*").matches("/anything"));
        assert!(p("/a?c").matches("/abc"));
        assert!(!p("/a?c").matches("/ac"));
        assert!(p("/img/*.png").matches("/img/x/y.png"));
        assert!(!p("/img/*.png").matches("/img/x/y.jpg"));
    }

    #[test]
    fn cidrs_contain_their_addresses() {
        let c = |s: &str| Cidr::try_from(s.to_string()).unwrap();
        let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
        assert!(c("10.0.0.0/8").contains(ip("10.255.0.1")));
        assert!(!c("10.0.0.0/8").contains(ip("11.0.0.1")));
        assert!(c("10.0.0.0/8").contains(ip("::ffff:10.1.2.3")));
        assert!(c("0.0.0.0/0").contains(ip("198.51.100.23")));
        assert!(!c("0.0.0.0/0").contains(ip("2001:db8::1")));
        assert!(c("2001:db8::/32").contains(ip("2001:db8:ffff::23")));
        assert!(!c("2001:db8::/32").contains(ip("2001:db9::1")));
        assert!(c("::/0").contains(ip("::1")));
        assert!(c("203.0.113.7/32").contains(ip("203.0.113.7")));
        assert!(!c("203.0.113.7/32").contains(ip("203.0.113.8")));
    }

    #[test]
    fn seconds_are_bounded_to_a_year() {
        assert!(Seconds::try_from(0).is_ok());
        assert!(Seconds::try_from(i64::from(ONE_YEAR)).is_ok());
        assert!(Seconds::try_from(i64::from(ONE_YEAR) + 1).is_err());
        assert!(Seconds::try_from(-1).is_err());
    }

    #[test]
    fn document_keys_become_page_paths() {
        let key = DocumentKey::try_from("errors/maintenance.html".to_string()).unwrap();
        assert_eq!(key.page_path(), "/errors/maintenance.html");
        for bad in ["/x.html", "x/", "a//b", "a b", "../x", ""] {
            assert!(DocumentKey::try_from(bad.to_string()).is_err(), "{bad}");
        }
    }

    #[test]
    fn certificates_must_be_in_us_east_1() {
        let ok = "arn:aws:acm:us-east-1:123456789012:certificate/abc-123";
        assert!(CertificateArn::try_from(ok.to_string()).is_ok());
        let err = CertificateArn::try_from(
            "arn:aws:acm:eu-west-1:123456789012:certificate/abc".to_string(),
        )
        .unwrap_err();
        assert!(err.contains("us-east-1"), "{err}");
        assert!(CertificateArn::try_from("not-an-arn".to_string()).is_err());
    }

    #[test]
    fn aliases_are_domain_names() {
        assert!(Alias::try_from("maintenance.example.com".to_string()).is_ok());
        assert!(Alias::try_from("*.example.com".to_string()).is_ok());
        for bad in ["localhost", "Example.com", "-a.example.com", "a..b"] {
            assert!(Alias::try_from(bad.to_string()).is_err(), "{bad}");
        }
    }

    #[test]
    fn cidrs_parse_both_families_and_refuse_host_bits() {
        let v4 = Cidr::try_from("203.0.113.0/24".to_string()).unwrap();
        assert_eq!(
            (v4.network().to_string(), v4.prefix()),
            ("203.0.113.0".into(), 24)
        );
        let single = Cidr::try_from("198.51.100.7".to_string()).unwrap();
        assert_eq!(single.prefix(), 32);
        let v6 = Cidr::try_from("2001:db8::/32".to_string()).unwrap();
        assert_eq!(v6.prefix(), 32);
        assert!(Cidr::try_from("0.0.0.0/0".to_string()).is_ok());
        assert!(Cidr::try_from("::/0".to_string()).is_ok());
        for bad in [
            "10.1.2.3/8",
            "2001:db8::1/32",
            "10.0.0.0/33",
            "::/129",
            "example.com/8",
            "10.0.0.0/x",
        ] {
            assert!(Cidr::try_from(bad.to_string()).is_err(), "{bad}");
        }
    }

    #[test]
    fn path_patterns_become_anchored_regexes() {
        let p = PathPattern::try_from("/webhooks/*.json".to_string()).unwrap();
        assert_eq!(p.regex_source(), r"^\/webhooks\/.*\.json$");
        let q = PathPattern::try_from("/health?".to_string()).unwrap();
        assert_eq!(q.regex_source(), r"^\/health.$");
        assert!(PathPattern::try_from("health".to_string()).is_err());
    }

    #[test]
    fn distribution_ids_are_uppercase_alphanumerics() {
        assert!(DistributionId::try_from("E2EXAMPLE12345".to_string()).is_ok());
        for bad in ["e2example12345", "E2-EXAMPLE", "E1"] {
            assert!(DistributionId::try_from(bad.to_string()).is_err(), "{bad}");
        }
    }

    #[test]
    fn reserved_tag_prefixes_are_refused() {
        let mut map = std::collections::BTreeMap::new();
        map.insert("maint:x".to_string(), "y".to_string());
        assert!(Tags::try_from(map).is_err());
        let mut map = std::collections::BTreeMap::new();
        map.insert("team".to_string(), "web".to_string());
        assert!(Tags::try_from(map).is_ok());
    }
}

/// A CloudFront distribution id, such as `E2EXAMPLE12345`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(into = "String")]
pub struct DistributionId(String);
validated_string!(DistributionId);

impl TryFrom<String> for DistributionId {
    type Error = String;

    fn try_from(id: String) -> Result<Self, String> {
        let ok = (8..=32).contains(&id.len())
            && id
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
        if ok {
            Ok(Self(id))
        } else {
            Err(format!(
                "invalid distribution id `{id}`: expected uppercase letters and digits such as \
                 `E2EXAMPLE12345` (the ID column in the CloudFront console)"
            ))
        }
    }
}

impl From<DistributionId> for String {
    fn from(id: DistributionId) -> Self {
        id.0
    }
}

impl DistributionId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DistributionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A page's language tag (BCP 47 shape: `en`, `de`, `pt-BR`, `zh-Hant`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(into = "String")]
pub struct Lang(String);
validated_string!(Lang);

impl Default for Lang {
    fn default() -> Self {
        Self("en".to_string())
    }
}

impl TryFrom<String> for Lang {
    type Error = String;

    fn try_from(tag: String) -> Result<Self, String> {
        let mut parts = tag.split('-');
        let primary = parts.next().unwrap_or_default();
        let ok = (2..=3).contains(&primary.len())
            && primary.bytes().all(|b| b.is_ascii_lowercase())
            && parts.all(|p| {
                (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric())
            });
        if ok {
            Ok(Self(tag))
        } else {
            Err(format!(
                "invalid language `{tag}`: expected a tag such as `en`, `de` or `pt-BR`"
            ))
        }
    }
}

impl From<Lang> for String {
    fn from(lang: Lang) -> Self {
        lang.0
    }
}

impl Lang {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A 12-digit AWS account id: the account an environment lives in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(into = "String")]
pub struct AccountId(String);
validated_string!(AccountId);

impl TryFrom<String> for AccountId {
    type Error = String;

    fn try_from(id: String) -> Result<Self, String> {
        if id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(id))
        } else {
            Err(format!(
                "invalid account id `{id}`: expected the 12 digits AWS shows for the account, \
                 e.g. `123456789012` (quote it in YAML if it starts with 0)"
            ))
        }
    }
}

impl From<AccountId> for String {
    fn from(id: AccountId) -> Self {
        id.0
    }
}

impl AccountId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An IP range in CIDR notation whose host bits are zero, e.g. `203.0.113.0/24`.
/// A bare address is a range of one (`/32`, `/128`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(into = "String")]
pub struct Cidr(ipnet::IpNet);
validated_string!(Cidr);

impl TryFrom<String> for Cidr {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        let fail = |why: &str| Err(format!("invalid IP range `{text}`: {why}"));
        let net = match text.parse::<ipnet::IpNet>() {
            Ok(net) => net,
            Err(_) => match text.parse::<std::net::IpAddr>() {
                Ok(addr) => ipnet::IpNet::from(addr),
                Err(_)
                    if text.contains('/')
                        && text
                            .split('/')
                            .next()
                            .is_some_and(|a| a.parse::<std::net::IpAddr>().is_ok()) =>
                {
                    let max = if text.contains(':') { 128 } else { 32 };
                    return fail(&format!("the prefix length must be 0 to {max}"));
                }
                Err(_) => {
                    return fail(
                        "expected CIDR notation such as `203.0.113.0/24` or `2001:db8::/32`",
                    );
                }
            },
        };
        // The bits after the prefix must be zero: `10.1.2.3/8` is almost always a typo.
        if net.trunc() != net {
            return fail(
                "host bits are set after the prefix (use the network address, e.g. `10.0.0.0/8`)",
            );
        }
        Ok(Self(net))
    }
}

impl From<Cidr> for String {
    fn from(cidr: Cidr) -> Self {
        cidr.0.to_string()
    }
}

impl Cidr {
    pub fn network(&self) -> std::net::IpAddr {
        self.0.network()
    }

    pub fn prefix(&self) -> u8 {
        self.0.prefix_len()
    }

    /// Whether `ip` is inside the range (an IPv4-mapped IPv6 address counts
    /// as its IPv4 address, as the window function counts it).
    pub fn contains(&self, ip: std::net::IpAddr) -> bool {
        let ip = match ip {
            std::net::IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, std::net::IpAddr::V4),
            v4 => v4,
        };
        self.0.contains(&ip)
    }
}

/// A request path pattern: starts with `/`, `*` matches any run of characters
/// and `?` any one character, as in CloudFront cache behaviors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(into = "String")]
pub struct PathPattern(String);
validated_string!(PathPattern);

impl TryFrom<String> for PathPattern {
    type Error = String;

    fn try_from(pattern: String) -> Result<Self, String> {
        if !pattern.starts_with('/') || pattern.len() > 255 || pattern.chars().any(char::is_control)
        {
            return Err(format!(
                "invalid path pattern `{pattern}`: it must start with `/`, e.g. `/health` or `/webhooks/*`"
            ));
        }
        Ok(Self(pattern))
    }
}

impl From<PathPattern> for String {
    fn from(p: PathPattern) -> Self {
        p.0
    }
}

impl PathPattern {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `path` matches, as CloudFront matches path patterns: `*` is
    /// any run of characters, `?` exactly one, everything else itself.
    pub fn matches(&self, path: &str) -> bool {
        fn glob(p: &[char], s: &[char]) -> bool {
            match p.split_first() {
                None => s.is_empty(),
                Some(('*', rest)) => (0..=s.len()).any(|i| glob(rest, &s[i..])),
                Some(('?', rest)) => !s.is_empty() && glob(rest, &s[1..]),
                Some((c, rest)) => s.first() == Some(c) && glob(rest, &s[1..]),
            }
        }
        let pattern: Vec<char> = self.0.chars().collect();
        let path: Vec<char> = path.chars().collect();
        glob(&pattern, &path)
    }

    /// The pattern as an anchored JavaScript/Rust regular-expression source.
    pub fn regex_source(&self) -> String {
        let mut out = String::from("^");
        for c in self.0.chars() {
            match c {
                '*' => out.push_str(".*"),
                '?' => out.push('.'),
                c if "\\^$.|+()[]{}/".contains(c) => {
                    out.push('\\');
                    out.push(c);
                }
                c => out.push(c),
            }
        }
        out.push('$');
        out
    }
}
