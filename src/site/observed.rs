//! What AWS has now for one environment's site, read-only: the bucket and
//! its settings, the page's headers and metadata, the OAC, the distribution
//! and its deployment.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::site::page::{Page, cache_control};
use crate::site::{DistributionShape, SiteSpec};

/// What AWS has now for one environment (read-only observations).
#[derive(Debug, Clone, Default, Serialize)]
pub struct ObservedSite {
    pub bucket: Option<ObservedBucket>,
    pub page: Option<ObservedPage>,
    pub oac: Option<ObservedOac>,
    pub distribution: Option<ObservedDistribution>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ObservedBucket {
    pub public_access_blocked: bool,
    pub owner_enforced: bool,
    pub encrypted: bool,
    pub tags: BTreeMap<String, String>,
    pub policy: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ObservedPage {
    pub content_type: Option<String>,
    pub cache_control: Option<String>,
    pub size: i64,
    pub last_modified: Option<String>,
    /// For conditional writes: the page as it was read.
    #[serde(skip)]
    pub etag: Option<String>,
    pub metadata: BTreeMap<String, String>,
    /// Encrypted with KMS (as a bucket's KMS default makes a page written
    /// without SSE-S3): CloudFront's OAC cannot read it with the aws/s3 key,
    /// so the page is written again.
    #[serde(skip)]
    pub kms_encrypted: bool,
}

impl ObservedPage {
    pub fn message(&self) -> Option<String> {
        crate::site::page::message_from_metadata(&self.metadata)
    }
    /// The distribution id the page records (see `META_DISTRIBUTION`).
    pub fn distribution(&self) -> Option<&str> {
        self.metadata
            .get(crate::site::page::META_DISTRIBUTION)
            .map(String::as_str)
            .filter(|id| !id.is_empty())
    }
    fn sha256(&self) -> Option<&str> {
        self.metadata
            .get(crate::site::page::META_SHA256)
            .map(String::as_str)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ObservedOac {
    pub id: String,
    /// Signs every request with SigV4 for an S3 origin, as maint needs.
    pub signs_always: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct ObservedDistribution {
    pub id: String,
    pub arn: String,
    pub domain: String,
    pub status: Deployment,
    pub shape: DistributionShape,
    pub tags: BTreeMap<String, String>,
}

impl ObservedDistribution {
    pub fn deployed(&self) -> bool {
        self.status == Deployment::Deployed
    }
}

/// A distribution's deployment, as CloudFront reports it (`Status`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(into = "String")]
pub enum Deployment {
    Deployed,
    /// `InProgress`, or whatever else AWS may say: not deployed.
    InProgress(String),
}

impl Deployment {
    pub fn from_status(status: &str) -> Self {
        if status.eq_ignore_ascii_case("deployed") {
            Self::Deployed
        } else {
            Self::InProgress(status.to_string())
        }
    }
}

impl From<Deployment> for String {
    fn from(d: Deployment) -> Self {
        d.to_string()
    }
}

impl std::fmt::Display for Deployment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Deployed => f.write_str("Deployed"),
            Self::InProgress(status) => f.write_str(status),
        }
    }
}

/// The document `provision` wants: the live message is kept (set-message owns
/// it); the config's message is only for a document that has none yet.
pub fn desired_message(spec: &SiteSpec, observed: &ObservedSite) -> String {
    observed
        .page
        .as_ref()
        .and_then(ObservedPage::message)
        .unwrap_or_else(|| spec.default_message.clone())
}

/// Whether the stored object already is `document`, served the way it should be.
pub fn page_is_current(document: &Page, max_age: u32, observed: Option<&ObservedPage>) -> bool {
    observed.is_some_and(|o| {
        o.sha256() == Some(document.sha256().as_str())
            && o.content_type.as_deref() == Some(document.content_type())
            && o.cache_control.as_deref() == Some(cache_control(max_age).as_str())
            && !o.kms_encrypted
    })
}
