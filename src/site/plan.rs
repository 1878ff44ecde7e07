//! What `provision` will change: a pure diff of the desired site against what
//! AWS has now, as a value that can be printed (`--dry-run`), serialised
//! (`--output json`) and applied step by step, in an order where every step
//! only needs what the steps before it made.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

pub use super::observed::*;
use crate::converge::{Action, Change};
use crate::site::SiteSpec;
use crate::site::page::{Page, cache_control};
use crate::site::policy;

/// One change, in the order it must be made.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Step {
    CreateBucket {
        bucket: String,
        region: String,
    },
    BlockPublicAccess {
        bucket: String,
    },
    EnforceBucketOwner {
        bucket: String,
    },
    EnableEncryption {
        bucket: String,
    },
    TagBucket {
        bucket: String,
        tags: BTreeMap<String, String>,
    },
    UploadPage {
        key: String,
        content_type: String,
        cache_control: String,
        bytes: usize,
        replaces: bool,
        #[serde(skip)]
        document: Page,
    },
    CreateOriginAccessControl {
        name: String,
    },
    UpdateOriginAccessControl {
        id: String,
    },
    CreateDistribution {
        comment: String,
    },
    UpdateDistribution {
        id: String,
        fields: Vec<&'static str>,
    },
    TagDistribution {
        id: String,
        tags: BTreeMap<String, String>,
    },
    PutBucketPolicy {
        bucket: String,
        replaces: bool,
    },
    /// Writes the page again with the distribution's id in its metadata
    /// (`None`: the distribution this plan creates).
    RecordDistribution {
        key: String,
        id: Option<String>,
        #[serde(skip)]
        document: Page,
    },
}

impl Step {
    /// Bookkeeping that serves maint, not the config (the page's record of
    /// its distribution): applied like any step, but not drift, so a page
    /// written by an older maint does not fail `status --exit-code`.
    pub fn is_housekeeping(&self) -> bool {
        matches!(self, Self::RecordDistribution { .. })
    }
}

impl crate::converge::Step for Step {
    fn change(&self) -> Change {
        let (action, resource, detail) = match self {
            Self::CreateBucket { bucket, region } => (
                Action::Create,
                format!("bucket {bucket}"),
                format!("in {region}"),
            ),
            Self::BlockPublicAccess { bucket } => (
                Action::Update,
                format!("bucket {bucket}"),
                "block all public access".to_string(),
            ),
            Self::EnforceBucketOwner { bucket } => (
                Action::Update,
                format!("bucket {bucket}"),
                "object ownership BucketOwnerEnforced".to_string(),
            ),
            Self::EnableEncryption { bucket } => (
                Action::Update,
                format!("bucket {bucket}"),
                "default encryption SSE-S3".to_string(),
            ),
            Self::TagBucket { bucket, tags } => (
                Action::Update,
                format!("bucket {bucket}"),
                format!("tags {}", show_tags(tags)),
            ),
            Self::UploadPage {
                key,
                content_type,
                cache_control,
                bytes,
                replaces,
                ..
            } => (
                if *replaces {
                    Action::Update
                } else {
                    Action::Create
                },
                format!("page {key}"),
                format!("{content_type}, {bytes} bytes, {cache_control}"),
            ),
            Self::CreateOriginAccessControl { name } => (
                Action::Create,
                format!("origin access control {name}"),
                "sigv4, always, s3".to_string(),
            ),
            Self::UpdateOriginAccessControl { id } => (
                Action::Update,
                format!("origin access control {id}"),
                "sign every request (sigv4, always)".to_string(),
            ),
            Self::CreateDistribution { comment } => (
                Action::Create,
                format!("distribution \"{comment}\""),
                "origin, cache behavior and error responses for the page".to_string(),
            ),
            Self::UpdateDistribution { id, fields } => (
                Action::Update,
                format!("distribution {id}"),
                fields.join(", "),
            ),
            Self::TagDistribution { id, tags } => (
                Action::Update,
                format!("distribution {id}"),
                format!("tags {}", show_tags(tags)),
            ),
            Self::PutBucketPolicy { bucket, replaces } => (
                if *replaces {
                    Action::Update
                } else {
                    Action::Create
                },
                format!("bucket policy of {bucket}"),
                "only this distribution may read the page; no access without TLS".to_string(),
            ),
            Self::RecordDistribution { key, id, .. } => (
                Action::Update,
                format!("page {key}"),
                format!(
                    "record distribution {} in its metadata",
                    id.as_deref().unwrap_or("(new)")
                ),
            ),
        };
        Change {
            action,
            resource,
            detail,
        }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::CreateBucket { bucket, region } => {
                write!(f, "+ create bucket {bucket} in {region}")
            }
            Self::BlockPublicAccess { .. } => {
                write!(f, "~ block all public access to the bucket")
            }
            Self::EnforceBucketOwner { .. } => {
                write!(f, "~ set object ownership to BucketOwnerEnforced (no ACLs)")
            }
            Self::EnableEncryption { .. } => write!(f, "~ turn on default encryption (SSE-S3)"),
            Self::TagBucket { tags, .. } => write!(f, "~ tag the bucket: {}", show_tags(tags)),
            Self::UploadPage {
                key,
                content_type,
                cache_control,
                bytes,
                replaces,
                ..
            } => write!(
                f,
                "{} {key} ({content_type}, {bytes} bytes, {cache_control})",
                if *replaces { "~ replace" } else { "+ upload" }
            ),
            Self::CreateOriginAccessControl { name } => {
                write!(f, "+ create origin access control {name}")
            }
            Self::UpdateOriginAccessControl { id } => {
                write!(
                    f,
                    "~ make origin access control {id} sign every request (sigv4, always)"
                )
            }
            Self::CreateDistribution { comment } => {
                write!(f, "+ create distribution \"{comment}\"")
            }
            Self::UpdateDistribution { id, fields } => {
                write!(f, "~ update distribution {id}: {}", fields.join(", "))
            }
            Self::TagDistribution { id, tags } => {
                write!(f, "~ tag distribution {id}: {}", show_tags(tags))
            }
            Self::PutBucketPolicy { replaces, .. } => write!(
                f,
                "{} bucket policy: only this distribution may read the document; no access without TLS",
                if *replaces { "~ replace" } else { "+ set" }
            ),
            Self::RecordDistribution { key, id, .. } => write!(
                f,
                "~ record {} in the metadata of {key}, so commands find it without listing",
                match id {
                    Some(id) => format!("distribution {id}"),
                    None => "the new distribution".to_string(),
                }
            ),
        }
    }
}

fn show_tags(tags: &BTreeMap<String, String>) -> String {
    tags.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The changes that bring one environment to its desired state.
#[derive(Debug, Clone)]
pub struct Plan {
    pub environment: String,
    pub steps: Vec<Step>,
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::converge::Plan {
            subject: &format!("environment `{}`", self.environment),
            steps: &self.steps,
        }
        .fmt(f)
    }
}

/// The diff. Pure: the same inputs always give the same plan.
pub fn plan(spec: &SiteSpec, document: &Page, observed: &ObservedSite) -> Plan {
    let mut steps = Vec::new();
    let known = observed.distribution.as_ref().map(|d| d.id.as_str());
    let bucket = observed.bucket.clone();
    let bucket = if let Some(b) = bucket {
        b
    } else {
        steps.push(Step::CreateBucket {
            bucket: spec.bucket.to_string(),
            region: spec.region.to_string(),
        });
        ObservedBucket::default()
    };
    let name = spec.bucket.to_string();
    if !bucket.public_access_blocked {
        steps.push(Step::BlockPublicAccess {
            bucket: name.clone(),
        });
    }
    if !bucket.owner_enforced {
        steps.push(Step::EnforceBucketOwner {
            bucket: name.clone(),
        });
    }
    if !bucket.encrypted {
        steps.push(Step::EnableEncryption {
            bucket: name.clone(),
        });
    }
    if let Some(tags) = merged_tags(&bucket.tags, &spec.tags) {
        steps.push(Step::TagBucket {
            bucket: name.clone(),
            tags,
        });
    }
    if !page_is_current(document, spec.page_max_age, observed.page.as_ref()) {
        steps.push(Step::UploadPage {
            key: spec.key.to_string(),
            content_type: document.content_type().to_string(),
            cache_control: cache_control(spec.page_max_age),
            bytes: document.body.len(),
            replaces: observed.page.is_some(),
            document: document.clone().serving(known),
        });
    }

    let mut desired = spec.distribution.clone();
    let uploads = steps
        .iter()
        .any(|step| matches!(step, Step::UploadPage { .. }));
    let recorded = observed.page.as_ref().and_then(|d| d.distribution());
    let record = |id: Option<&str>| Step::RecordDistribution {
        key: spec.key.to_string(),
        id: id.map(str::to_string),
        document: document.clone(),
    };
    match &observed.oac {
        None => steps.push(Step::CreateOriginAccessControl {
            name: spec.oac_name(),
        }),
        Some(oac) => {
            if !oac.signs_always {
                steps.push(Step::UpdateOriginAccessControl { id: oac.id.clone() });
            }
            desired.origin.oac_id = Some(oac.id.clone());
        }
    }

    match &observed.distribution {
        None => {
            steps.push(Step::CreateDistribution {
                comment: desired.comment.clone(),
            });
            steps.push(record(None));
            steps.push(Step::PutBucketPolicy {
                bucket: name.clone(),
                replaces: bucket.policy.is_some(),
            });
        }
        Some(dist) => {
            let mut fields = desired.differences(&dist.shape);
            if observed.oac.is_none() && !fields.contains(&"origin access control") {
                fields.push("origin access control");
            }
            if !fields.is_empty() {
                steps.push(Step::UpdateDistribution {
                    id: dist.id.clone(),
                    fields,
                });
            }
            if let Some(tags) = missing_tags(&dist.tags, &spec.tags) {
                steps.push(Step::TagDistribution {
                    id: dist.id.clone(),
                    tags,
                });
            }
            if !uploads && recorded != Some(dist.id.as_str()) {
                steps.push(record(Some(&dist.id)));
            }
            let want = policy::bucket_policy(&spec.bucket, &spec.key, &dist.arn);
            let current = bucket.policy.as_deref();
            if !current.is_some_and(|p| policy::same_policy(p, &want)) {
                steps.push(Step::PutBucketPolicy {
                    bucket: name.clone(),
                    replaces: current.is_some(),
                });
            }
        }
    }
    Plan {
        environment: spec.environment.clone(),
        steps,
    }
}

/// The full tag set to write when any desired tag is missing or different.
/// S3 replaces a bucket's whole tag set, so tags others added are carried over.
fn merged_tags(
    current: &BTreeMap<String, String>,
    desired: &BTreeMap<String, String>,
) -> Option<BTreeMap<String, String>> {
    missing_tags(current, desired)?;
    let mut merged = current.clone();
    merged.extend(desired.clone());
    Some(merged)
}

/// The desired tags that are absent or different (CloudFront adds tags one by one).
fn missing_tags(
    current: &BTreeMap<String, String>,
    desired: &BTreeMap<String, String>,
) -> Option<BTreeMap<String, String>> {
    let missing: BTreeMap<_, _> = desired
        .iter()
        .filter(|(k, v)| current.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    (!missing.is_empty()).then_some(missing)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::site::page::{META_DISTRIBUTION, Template};
    use std::path::Path;

    fn spec() -> SiteSpec {
        let config = Config::parse(
            Path::new("maint.yaml"),
            "environments:\n  staging:\n    region: eu-west-1\n    bucket: acme-maint\n    tags: {team: web}\n",
        )
        .unwrap();
        let (name, env) = config.select(None).unwrap();
        SiteSpec::new(&name, &env, env.bucket.as_ref().unwrap())
    }

    fn document(spec: &SiteSpec, message: &str) -> Page {
        Template::builtin(crate::values::Format::Html)
            .render(&spec.key, &spec.title, message)
            .unwrap()
    }

    /// What AWS looks like after a complete provision of `spec`.
    fn converged(spec: &SiteSpec, doc: &Page) -> ObservedSite {
        let arn = "arn:aws:cloudfront::123456789012:distribution/E1";
        let mut shape = spec.distribution.clone();
        shape.origin.oac_id = Some("OAC1".into());
        ObservedSite {
            bucket: Some(ObservedBucket {
                public_access_blocked: true,
                owner_enforced: true,
                encrypted: true,
                tags: spec.tags.clone(),
                policy: Some(policy::bucket_policy(&spec.bucket, &spec.key, arn).to_string()),
            }),
            page: Some(ObservedPage {
                content_type: Some(doc.content_type().into()),
                cache_control: Some(cache_control(spec.page_max_age)),
                size: doc.body.len() as i64,
                last_modified: None,
                etag: None,
                metadata: doc.clone().serving(Some("E1")).metadata(),
                kms_encrypted: false,
            }),
            oac: Some(ObservedOac {
                id: "OAC1".into(),
                signs_always: true,
            }),
            distribution: Some(ObservedDistribution {
                id: "E1".into(),
                arn: arn.into(),
                domain: "d111.cloudfront.net".into(),
                status: Deployment::Deployed,
                shape,
                tags: spec.tags.clone(),
            }),
        }
    }

    #[test]
    fn an_empty_account_gets_everything_in_dependency_order() {
        let spec = spec();
        let doc = document(&spec, "back soon");
        let plan = plan(&spec, &doc, &ObservedSite::default());
        insta::assert_snapshot!(plan.to_string(), @r#"
        Plan for environment `staging` (10 changes):
          + create bucket acme-maint in eu-west-1
          ~ block all public access to the bucket
          ~ set object ownership to BucketOwnerEnforced (no ACLs)
          ~ turn on default encryption (SSE-S3)
          ~ tag the bucket: maint:environment=staging, maint:managed-by=maint, team=web
          + upload maintenance.html (text/html; charset=utf-8, 1291 bytes, public, max-age=30)
          + create origin access control maint-acme-maint
          + create distribution "maint site mode: acme-maint"
          ~ record the new distribution in the metadata of maintenance.html, so commands find it without listing
          + set bucket policy: only this distribution may read the document; no access without TLS
        "#);
    }

    #[test]
    fn a_converged_site_needs_nothing() {
        let spec = spec();
        let doc = document(&spec, "back soon");
        let plan = plan(&spec, &doc, &converged(&spec, &doc));
        assert!(plan.steps.is_empty(), "{plan}");
        assert_eq!(
            plan.to_string(),
            "No changes necessary: environment `staging` matches the config."
        );
    }

    #[test]
    fn a_page_without_its_distributions_record_gets_it() {
        let spec = spec();
        let doc = document(&spec, "back soon");
        for record in [None, Some("E0STALE")] {
            let mut observed = converged(&spec, &doc);
            let page = observed.page.as_mut().unwrap();
            match record {
                Some(stale) => page.metadata.insert(META_DISTRIBUTION.into(), stale.into()),
                None => page.metadata.remove(META_DISTRIBUTION),
            };
            let plan = plan(&spec, &doc, &observed);
            assert_eq!(
                plan.to_string().lines().nth(1),
                Some(
                    "  ~ record distribution E1 in the metadata of maintenance.html, so commands \
                     find it without listing"
                ),
                "{plan}"
            );
            assert_eq!(plan.steps.len(), 1, "{plan}");
        }
        // A page that is replaced anyway records the distribution as it is
        // uploaded: no second write.
        let mut observed = converged(&spec, &doc);
        observed.page.as_mut().unwrap().content_type = Some("text/plain".into());
        let plan = plan(&spec, &doc, &observed);
        let [Step::UploadPage { document, .. }] = plan.steps.as_slice() else {
            panic!("{plan}");
        };
        assert_eq!(document.metadata()[META_DISTRIBUTION], "E1");
    }

    #[test]
    fn drift_is_planned_as_targeted_fixes() {
        let spec = spec();
        let doc = document(&spec, "back soon");
        let mut observed = converged(&spec, &doc);
        let bucket = observed.bucket.as_mut().unwrap();
        bucket.public_access_blocked = false;
        bucket.tags.insert("cost-centre".into(), "42".into());
        bucket.tags.remove("team");
        bucket.policy = Some(r#"{"Version":"2012-10-17","Statement":[]}"#.into());
        observed.page.as_mut().unwrap().content_type = Some("binary/octet-stream".into());
        let dist = observed.distribution.as_mut().unwrap();
        dist.shape.price_class = "PriceClass_All".into();
        let plan = plan(&spec, &doc, &observed);
        insta::assert_snapshot!(plan.to_string(), @r"
        Plan for environment `staging` (5 changes):
          ~ block all public access to the bucket
          ~ tag the bucket: cost-centre=42, maint:environment=staging, maint:managed-by=maint, team=web
          ~ replace maintenance.html (text/html; charset=utf-8, 1291 bytes, public, max-age=30)
          ~ update distribution E1: price class
          ~ replace bucket policy: only this distribution may read the document; no access without TLS
        ");
    }

    #[test]
    fn a_missing_oac_is_created_and_wired_into_the_existing_distribution() {
        let spec = spec();
        let doc = document(&spec, "back soon");
        let mut observed = converged(&spec, &doc);
        observed.oac = None;
        let steps = plan(&spec, &doc, &observed).steps;
        assert!(matches!(steps[0], Step::CreateOriginAccessControl { .. }));
        assert!(
            matches!(&steps[1], Step::UpdateDistribution { fields, .. } if fields == &vec!["origin access control"])
        );
    }

    #[test]
    fn the_live_message_survives_provision() {
        let spec = spec();
        let doc = document(&spec, "Upgrading the database until 14:00 UTC");
        let observed = converged(&spec, &doc);
        assert_eq!(
            desired_message(&spec, &observed),
            "Upgrading the database until 14:00 UTC"
        );
        assert_eq!(
            desired_message(&spec, &ObservedSite::default()),
            spec.default_message
        );
    }
}
