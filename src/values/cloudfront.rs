//! CloudFront's values: the distribution id, TTLs, alternate domain names
//! and their certificate, price classes, path patterns.

use std::fmt;

use serde::{Deserialize, Serialize};

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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn seconds_are_bounded_to_a_year() {
        assert!(Seconds::try_from(0).is_ok());
        assert!(Seconds::try_from(i64::from(ONE_YEAR)).is_ok());
        assert!(Seconds::try_from(i64::from(ONE_YEAR) + 1).is_err());
        assert!(Seconds::try_from(-1).is_err());
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
}
