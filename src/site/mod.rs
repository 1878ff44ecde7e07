//! What a site-mode environment should look like on AWS: its desired state,
//! derived from the config alone (no AWS calls), in maint's own types.
//!
//! Every name that lets maint find its resources again is deterministic and
//! derived from the bucket name (unique in AWS), so no local state is needed
//! and an interrupted run finds what it already made instead of making twice.

pub mod observed;
pub mod page;
pub mod plan;
pub mod policy;

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::config::Environment;
use crate::values::{BucketName, PageKey, Region};

/// AWS managed cache policy "CachingOptimized": honours the origin's
/// Cache-Control, so the document's short max-age governs how long edges keep it.
pub const CACHING_OPTIMIZED: &str = "658327ea-f89d-4fab-a63d-7e88639e58f6";
pub const ORIGIN_ID: &str = "maint-error-document";
/// Every HTTP method CloudFront knows, so every request reaches S3 and gets the page.
pub const ALL_METHODS: [&str; 7] = ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"];
pub const CACHED_METHODS: [&str; 2] = ["GET", "HEAD"];
/// Every code a custom error response can take (AWS, "Creating a custom
/// error page": 400, 403, 404, 405, 414, 416, 500-504), each mapped to a 503
/// with the page. S3 answers 403 for anything but the document (no
/// s3:ListBucket), 404 if the document went missing, 400/405 for odd methods,
/// 416 for a bad Range, 500 InternalError and 503 SlowDown; 414, 501, 502
/// and 504 come from the way there. Left unmapped, any of them reaches the
/// visitor as S3's raw XML (aws-facts: custom error responses).
pub const ERROR_CODES: [i32; 11] = [400, 403, 404, 405, 414, 416, 500, 501, 502, 503, 504];
/// CreateOriginAccessControl: "You can specify up to 64 characters."
const MAX_OAC_NAME: usize = 64;
pub const TAG_MANAGED_BY: &str = "maint:managed-by";
pub const TAG_ENVIRONMENT: &str = "maint:environment";

/// The desired state of one site-mode environment.
#[derive(Debug, Clone)]
pub struct SiteSpec {
    pub environment: String,
    pub region: Region,
    pub bucket: BucketName,
    pub key: PageKey,
    pub title: String,
    pub default_message: String,
    pub page_max_age: u32,
    pub tags: BTreeMap<String, String>,
    pub distribution: DistributionShape,
}

impl SiteSpec {
    pub fn new(environment: &str, env: &Environment, bucket: &BucketName) -> Self {
        let key = env.page_key();
        let mut tags = env.tags.0.clone();
        tags.insert(TAG_MANAGED_BY.to_string(), "maint".to_string());
        tags.insert(TAG_ENVIRONMENT.to_string(), environment.to_string());
        let distribution = DistributionShape {
            comment: marker(bucket),
            enabled: true,
            origin: OriginShape {
                id: ORIGIN_ID.to_string(),
                domain: format!("{bucket}.s3.{}.amazonaws.com", env.region),
                oac_id: None,
            },
            behavior: BehaviorShape {
                target_origin_id: ORIGIN_ID.to_string(),
                viewer_protocol_policy: "redirect-to-https".to_string(),
                allowed_methods: ALL_METHODS.iter().map(|m| (*m).to_string()).collect(),
                cached_methods: CACHED_METHODS.iter().map(|m| (*m).to_string()).collect(),
                cache_policy_id: Some(CACHING_OPTIMIZED.to_string()),
                compress: true,
            },
            extra_origins: 0,
            extra_behaviors: 0,
            error_responses: ERROR_CODES
                .iter()
                .map(|code| {
                    (
                        *code,
                        ErrorResponseShape {
                            page_path: key.page_path(),
                            response_code: "503".to_string(),
                            min_ttl: i64::from(env.error_caching_min_ttl.get()),
                        },
                    )
                })
                .collect(),
            price_class: env.price_class.as_str().to_string(),
            aliases: env.aliases.iter().map(|a| a.as_str().to_string()).collect(),
            certificate: env.certificate_arn.as_ref().map(|c| c.as_str().to_string()),
        };
        Self {
            environment: environment.to_string(),
            region: env.region.clone(),
            bucket: bucket.clone(),
            key,
            title: env.title.clone(),
            default_message: env.message.clone(),
            page_max_age: env.page_max_age.get(),
            tags,
            distribution,
        }
    }

    /// The distribution's CallerReference: the same on every run, so a retried
    /// create cannot make a second distribution.
    pub fn caller_reference(&self) -> String {
        format!("maint-site-{}", self.bucket)
    }

    /// The name of the Origin Access Control (unique per account, like
    /// buckets): `maint-BUCKET`, or for a bucket over 58 characters, which
    /// would break the 64-character limit of an OAC name, its first 49
    /// characters and a hash of the whole name.
    pub fn oac_name(&self) -> String {
        let name = format!("maint-{}", self.bucket);
        if name.len() <= MAX_OAC_NAME {
            return name;
        }
        let digest = hex::encode(Sha256::digest(self.bucket.as_str().as_bytes()));
        let keep = MAX_OAC_NAME - "maint-".len() - 1 - 8;
        format!("maint-{}-{}", &self.bucket.as_str()[..keep], &digest[..8])
    }
}

/// The distribution Comment through which maint finds its distribution again.
pub fn marker(bucket: &BucketName) -> String {
    format!("maint site mode: {bucket}")
}

/// The parts of a distribution's config that maint owns, in its own terms.
/// Everything else in the config (logging, WAF, geo restrictions…) is left as found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DistributionShape {
    pub comment: String,
    pub enabled: bool,
    pub origin: OriginShape,
    pub behavior: BehaviorShape,
    /// Origins and cache behaviors besides maint's own: the site must have none.
    pub extra_origins: usize,
    pub extra_behaviors: usize,
    pub error_responses: BTreeMap<i32, ErrorResponseShape>,
    pub price_class: String,
    pub aliases: BTreeSet<String>,
    /// ACM certificate ARN; `None` is CloudFront's default certificate.
    pub certificate: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OriginShape {
    pub id: String,
    pub domain: String,
    /// The OAC the origin signs with. Read back, `None` means "not reported"
    /// (the emulator drops it; AWS always reports the field, empty when unset).
    pub oac_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BehaviorShape {
    pub target_origin_id: String,
    pub viewer_protocol_policy: String,
    pub allowed_methods: BTreeSet<String>,
    pub cached_methods: BTreeSet<String>,
    pub cache_policy_id: Option<String>,
    pub compress: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorResponseShape {
    pub page_path: String,
    pub response_code: String,
    pub min_ttl: i64,
}

impl DistributionShape {
    /// The owned fields where `observed` differs from `self` (the desired
    /// shape), in words a person reads in a plan. Pure.
    pub fn differences(&self, observed: &Self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.comment != observed.comment {
            out.push("comment");
        }
        if self.enabled != observed.enabled {
            out.push("enabled");
        }
        let (want, got) = (&self.origin, &observed.origin);
        if want.id != got.id || want.domain != got.domain || observed.extra_origins > 0 {
            out.push("origin");
        }
        // A read-back that does not report the OAC is not evidence of drift.
        if let (Some(want_oac), Some(got_oac)) = (&want.oac_id, &got.oac_id)
            && want_oac != got_oac
        {
            out.push("origin access control");
        }
        if self.behavior != observed.behavior || observed.extra_behaviors > 0 {
            out.push("cache behavior");
        }
        if self.error_responses != observed.error_responses {
            out.push("custom error responses");
        }
        if self.price_class != observed.price_class {
            out.push("price class");
        }
        if self.aliases != observed.aliases {
            out.push("aliases");
        }
        if self.certificate != observed.certificate {
            out.push("certificate");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use std::path::Path;

    pub(crate) fn spec() -> SiteSpec {
        let config = Config::parse(
            Path::new("maint.yaml"),
            "environments:\n  staging:\n    region: eu-west-1\n    bucket: acme-maint\n",
        )
        .unwrap();
        let (name, env) = config.select(None).unwrap();
        SiteSpec::new(&name, &env, env.bucket.as_ref().unwrap())
    }

    #[test]
    fn names_are_derived_from_the_bucket() {
        let spec = spec();
        assert_eq!(spec.caller_reference(), "maint-site-acme-maint");
        assert_eq!(spec.oac_name(), "maint-acme-maint");
        assert_eq!(spec.distribution.comment, "maint site mode: acme-maint");
        assert_eq!(
            spec.distribution.origin.domain,
            "acme-maint.s3.eu-west-1.amazonaws.com"
        );
        assert_eq!(spec.tags[TAG_ENVIRONMENT], "staging");
    }

    fn spec_for_bucket(bucket: &str) -> SiteSpec {
        let config = Config::parse(
            Path::new("maint.yaml"),
            &format!("environments:\n  staging:\n    region: eu-west-1\n    bucket: {bucket}\n"),
        )
        .unwrap();
        let (name, env) = config.select(None).unwrap();
        SiteSpec::new(&name, &env, env.bucket.as_ref().unwrap())
    }

    #[test]
    fn every_name_fits_aws_limits_for_the_longest_bucket() {
        let longest = "a".repeat(63);
        for bucket in [
            longest.as_str(),
            "abc",
            "acme-maint",
            &"b".repeat(58),
            &"c".repeat(59),
        ] {
            let spec = spec_for_bucket(bucket);
            let oac = spec.oac_name();
            // CreateOriginAccessControl: "You can specify up to 64 characters."
            assert!(oac.len() <= 64, "{oac}: {} characters", oac.len());
            assert!(oac.starts_with("maint-"), "{oac}");
            // DistributionConfig.Comment: at most 128 characters.
            assert!(spec.distribution.comment.len() <= 128);
            // Tag values: at most 256 characters.
            assert!(spec.tags.values().all(|v| v.len() <= 256));
        }
        // Names that always fitted keep their form, so existing OACs are found again.
        assert_eq!(
            spec_for_bucket(&"b".repeat(58)).oac_name(),
            format!("maint-{}", "b".repeat(58))
        );
        // Two long buckets that share their first 58 characters get different names.
        let one = spec_for_bucket(&format!("{}-one", "d".repeat(59))).oac_name();
        let two = spec_for_bucket(&format!("{}-two", "d".repeat(59))).oac_name();
        assert_ne!(one, two);
        assert_eq!(
            one,
            spec_for_bucket(&format!("{}-one", "d".repeat(59))).oac_name()
        );
    }

    #[test]
    fn every_error_s3_can_give_becomes_a_503_with_the_page() {
        let spec = spec();
        let codes: Vec<i32> = spec.distribution.error_responses.keys().copied().collect();
        // Every code CloudFront lets a custom error response take; S3 answers
        // 500 InternalError, 503 SlowDown and 416 for a bad Range, which would
        // otherwise reach visitors as S3's XML.
        assert_eq!(
            codes,
            vec![400, 403, 404, 405, 414, 416, 500, 501, 502, 503, 504]
        );
        for response in spec.distribution.error_responses.values() {
            assert_eq!(response.response_code, "503");
            assert_eq!(response.page_path, "/maintenance.html");
            assert_eq!(response.min_ttl, 10);
        }
        assert_eq!(spec.distribution.behavior.allowed_methods.len(), 7);
    }

    #[test]
    fn an_unreported_oac_is_not_drift_but_a_different_one_is() {
        let mut desired = spec().distribution;
        desired.origin.oac_id = Some("OAC1".into());
        let mut observed = desired.clone();
        observed.origin.oac_id = None;
        assert!(desired.differences(&observed).is_empty());
        observed.origin.oac_id = Some(String::new());
        assert_eq!(
            desired.differences(&observed),
            vec!["origin access control"]
        );
        observed.origin.oac_id = Some("OAC2".into());
        assert_eq!(
            desired.differences(&observed),
            vec!["origin access control"]
        );
    }

    #[test]
    fn drift_is_named_field_by_field() {
        let desired = spec().distribution;
        let mut observed = desired.clone();
        assert!(desired.differences(&observed).is_empty());
        observed.price_class = "PriceClass_All".into();
        observed.error_responses.remove(&405);
        observed.extra_behaviors = 1;
        assert_eq!(
            desired.differences(&observed),
            vec!["cache behavior", "custom error responses", "price class"]
        );
    }
}
