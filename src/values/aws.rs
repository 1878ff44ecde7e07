//! Values every AWS service shares: the region, the account, the tags.

use std::fmt;

use serde::{Deserialize, Serialize};

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
    fn reserved_tag_prefixes_are_refused() {
        let mut map = std::collections::BTreeMap::new();
        map.insert("maint:x".to_string(), "y".to_string());
        assert!(Tags::try_from(map).is_err());
        let mut map = std::collections::BTreeMap::new();
        map.insert("team".to_string(), "web".to_string());
        assert!(Tags::try_from(map).is_ok());
    }
}
