//! Invalidations of the site's distribution: started, followed, listed.

use anyhow::Result;
use aws_sdk_cloudfront::Client;
use aws_sdk_cloudfront::types::{InvalidationBatch, Paths};
use serde::Serialize;

use super::explain;

/// Starts an invalidation; returns its id.
pub async fn create_invalidation(cf: &Client, id: &str, paths: &[String]) -> Result<String> {
    let caller_reference = format!(
        "maint-{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default()
    );
    let batch = InvalidationBatch::builder()
        .caller_reference(caller_reference)
        .paths(
            Paths::builder()
                .quantity(paths.len() as i32)
                .set_items(Some(paths.to_vec()))
                .build()?,
        )
        .build()?;
    let out = cf
        .create_invalidation()
        .distribution_id(id)
        .invalidation_batch(batch)
        .send()
        .await
        .map_err(|e| explain(&format!("invalidating distribution {id}"), e))?;
    Ok(out
        .invalidation()
        .map(|i| i.id().to_string())
        .unwrap_or_default())
}

/// An invalidation's progress, as CloudFront reports it; `done` when it
/// completed (AWS says `Completed`, the emulator `COMPLETED`).
pub async fn invalidation_status(
    cf: &Client,
    id: &str,
    invalidation: &str,
) -> Result<(String, bool)> {
    let out = cf
        .get_invalidation()
        .distribution_id(id)
        .id(invalidation)
        .send()
        .await
        .map_err(|e| explain(&format!("reading invalidation {invalidation}"), e))?;
    let status = out
        .invalidation()
        .map(|i| i.status().to_string())
        .unwrap_or_default();
    let done = invalidation_done(&status);
    Ok((status, done))
}

fn invalidation_done(status: &str) -> bool {
    status.eq_ignore_ascii_case("completed")
}

#[derive(Debug, Clone, Serialize)]
pub struct InvalidationInfo {
    #[serde(rename = "invalidation_id")]
    pub id: String,
    pub status: String,
    /// RFC 3339, UTC.
    pub created: String,
}

pub async fn recent_invalidations(cf: &Client, id: &str, n: i32) -> Result<Vec<InvalidationInfo>> {
    let out = cf
        .list_invalidations()
        .distribution_id(id)
        .max_items(n)
        .send()
        .await
        .map_err(|e| explain("listing invalidations", e))?;
    Ok(out
        .invalidation_list()
        .map(|l| {
            l.items()
                .iter()
                .map(|i| InvalidationInfo {
                    id: i.id().to_string(),
                    status: i.status().to_string(),
                    created: i.create_time().to_string(),
                })
                .collect()
        })
        .unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalidation_status_is_compared_without_case() {
        assert!(invalidation_done("Completed"));
        assert!(invalidation_done("COMPLETED"));
        assert!(!invalidation_done("InProgress"));
    }
}
