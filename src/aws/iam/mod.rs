//! IAM for `grant` and `revoke`: the OIDC identity provider of a CI, the
//! role it assumes, the environment's customer-managed policy and its
//! attachment. Documents are compared as JSON values (IAM hands them back
//! URL-encoded, and may space them differently).

mod policy;
mod principal;
mod provider;

pub use policy::*;
pub use principal::*;
pub use provider::*;

use anyhow::{Context as _, Result};
use aws_sdk_iam::types::Tag;
use serde_json::Value;

use crate::grant::plan::{ENVIRONMENT_TAG, MANAGED_TAG, MANAGED_VALUE};

/// Pages read from a listing before giving up (1,000 roles a page).
pub(super) const MAX_PAGES: usize = 100;

/// Where maint keeps its policies: `arn:aws:iam::ACCOUNT:policy/maint/NAME`.
pub const POLICY_PATH: &str = "/maint/";

pub(super) fn tags(environment: &str, extra: &[(&str, &str)]) -> Result<Vec<Tag>> {
    [(MANAGED_TAG, MANAGED_VALUE), (ENVIRONMENT_TAG, environment)]
        .iter()
        .chain(extra)
        .map(|(k, v)| {
            Tag::builder()
                .key(*k)
                .value(*v)
                .build()
                .context("building an IAM tag")
        })
        .collect()
}

pub(super) fn made_by_maint(tags: &[Tag]) -> bool {
    tags.iter()
        .any(|t| t.key() == MANAGED_TAG && t.value() == MANAGED_VALUE)
}

/// A policy document as IAM returns it: URL-encoded JSON.
pub fn decode_document(text: &str) -> Result<Value> {
    let decoded = percent_encoding::percent_decode_str(text)
        .decode_utf8()
        .context("IAM returned a policy document that is not UTF-8")?;
    serde_json::from_str(&decoded).context("IAM returned a policy document that is not JSON")
}

pub(super) fn encode(document: &Value) -> String {
    document.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    use serde_json::json;

    #[test]
    fn documents_come_back_url_encoded() {
        let text = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%5D%7D";
        assert_eq!(
            decode_document(text).unwrap(),
            json!({"Version": "2012-10-17", "Statement": []})
        );
        assert!(decode_document("%7Bnot json").is_err());
    }
}
