//! A CloudFront distribution, whoever owns it: found by the marker in its
//! Comment (ListDistributions returns comments, not CallerReferences), so maint
//! needs no local state; read with its tags; changed by read-modify-write with
//! If-Match, where the config read back is cloned and only the fields maint
//! owns are replaced, so fields it does not know survive; disabled, deleted,
//! its deployment followed.

use std::collections::BTreeMap;

use anyhow::{Result, bail};
use aws_sdk_cloudfront::Client;
use aws_sdk_cloudfront::types::DistributionConfig;

use super::site_distribution::{shape_of, tags_of};
use super::{Attempt, explain, with_if_match};
use crate::site::plan::{Deployment, ObservedDistribution};

/// A distribution as read, with what a read-modify-write needs (the SDK's
/// config and ETag stay inside `aws`).
#[derive(Debug, Clone)]
pub struct FoundDistribution {
    pub observed: ObservedDistribution,
    pub(in crate::aws) config: DistributionConfig,
    pub(in crate::aws) etag: String,
}

/// Read-modify-write of a distribution's config with If-Match: `change` gets
/// the config as read and returns the one to write (or `None`: nothing to
/// do). On PreconditionFailed someone else changed it meanwhile: read again
/// and redo the change on top, so nobody's edit is lost. The one place maint
/// updates a distribution.
pub(in crate::aws) async fn modify_distribution<F>(cf: &Client, id: &str, change: F) -> Result<()>
where
    F: Fn(&DistributionConfig) -> Result<Option<DistributionConfig>>,
{
    with_if_match(&format!("distribution {id}"), || async {
        let current = read_distribution(cf, id).await?;
        let Some(config) = change(&current.config)? else {
            return Ok(Attempt::Done(()));
        };
        update_distribution(cf, id, &current.etag, config).await
    })
    .await
}

/// Disables the distribution (a delete needs it disabled and deployed).
pub async fn disable_distribution(cf: &Client, id: &str) -> Result<()> {
    modify_distribution(cf, id, |current| {
        Ok(current.enabled().then(|| {
            let mut config = current.clone();
            config.enabled = false;
            config
        }))
    })
    .await
}

/// Where a distribution's deletion stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteAttempt {
    /// Deleted, or already gone.
    Done,
    /// Disabled, but not deployed yet: wait, then try again.
    NotDeployed,
    /// Enabled again (someone else): it cannot be deleted.
    Enabled,
}

/// Deletes a disabled, deployed distribution with the ETag just read;
/// re-reads and retries on a concurrent change.
pub async fn delete_distribution_when_ready(cf: &Client, id: &str) -> Result<DeleteAttempt> {
    with_if_match(&format!("distribution {id}"), || async {
        let current = match read_distribution(cf, id).await {
            Ok(current) => current,
            Err(e) if is_no_such_distribution(&e) => return Ok(Attempt::Done(DeleteAttempt::Done)),
            Err(e) => return Err(e),
        };
        if current.config.enabled() {
            return Ok(Attempt::Done(DeleteAttempt::Enabled));
        }
        if !current.observed.deployed() {
            return Ok(Attempt::Done(DeleteAttempt::NotDeployed));
        }
        Ok(match delete_distribution(cf, id, &current.etag).await? {
            Attempt::Done(()) => Attempt::Done(DeleteAttempt::Done),
            Attempt::Stale => Attempt::Stale,
        })
    })
    .await
}

fn is_no_such_distribution(err: &anyhow::Error) -> bool {
    format!("{err:#}").contains("NoSuchDistribution")
}

/// The domain name visitors reach distribution `id` at.
pub async fn distribution_domain(cf: &Client, id: &str) -> Result<String> {
    Ok(read_distribution(cf, id).await?.observed.domain)
}

/// Whether `id` can be a CloudFront distribution id (`E2QWRUHEXAMPLE`): a
/// record read from page metadata, which anyone with s3:PutObject can write,
/// is never sent to AWS unless it is one.
pub(super) fn plausible_distribution_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// The site's distribution: the one the page records when it still carries
/// the site's comment (one GetDistribution), else found by listing every
/// distribution in the account (the record is missing or stale).
pub async fn find_site_distribution(
    cf: &Client,
    listings: Option<&Listings>,
    marker: &str,
    recorded: Option<&str>,
) -> Result<Option<FoundDistribution>> {
    if let Some(id) = recorded.filter(|id| plausible_distribution_id(id)) {
        match read_distribution(cf, id).await {
            Ok(found) if found.config.comment() == marker => return Ok(Some(found)),
            Ok(_) => tracing::debug!("distribution {id} is not this site's: the record is stale"),
            // Gone, or not readable with these credentials (a page copied
            // from another environment records that one's distribution, and
            // a CI policy names only its own): the listing decides.
            Err(err) => tracing::debug!("the recorded distribution {id}: {err:#}; listing instead"),
        }
    }
    let id = match listings {
        Some(listings) => listings.distribution_id(cf, marker).await?,
        None => find_distribution_id(cf, marker).await?,
    };
    match id {
        Some(id) => read_distribution(cf, &id).await.map(Some),
        None => Ok(None),
    }
}

/// A distribution as a listing or a GetDistribution shows it: enough to
/// invalidate it and to reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub id: String,
    pub comment: String,
    /// `d111111abcdef8.cloudfront.net`.
    pub domain: String,
}

/// The site's distribution, as `find_site_distribution` finds it, for
/// commands that need nothing more (invalidations, waiting for the live
/// site): no tags read.
pub async fn site_distribution(
    cf: &Client,
    marker: &str,
    recorded: Option<&str>,
) -> Result<Option<Listed>> {
    if let Some(id) = recorded.filter(|id| plausible_distribution_id(id)) {
        match cf.get_distribution().id(id).send().await {
            Ok(out) => {
                let dist = out.distribution();
                let comment = dist
                    .and_then(|d| d.distribution_config())
                    .map(DistributionConfig::comment);
                if let (Some(dist), Some(comment)) = (dist, comment)
                    && comment == marker
                {
                    return Ok(Some(Listed {
                        id: id.to_string(),
                        comment: comment.to_string(),
                        domain: dist.domain_name().to_string(),
                    }));
                }
                tracing::debug!("distribution {id} is not this site's: the record is stale");
            }
            // Gone, or not readable with these credentials: the listing
            // decides (see find_site_distribution).
            Err(err) => {
                let err = explain(&format!("reading distribution {id}"), err);
                tracing::debug!("the recorded distribution {id}: {err:#}; listing instead");
            }
        }
    }
    pick_distribution(&list_distributions(cf).await?, marker)
}

/// The id of the distribution whose Comment is `marker`: listing only.
pub async fn find_distribution_id(cf: &Client, marker: &str) -> Result<Option<String>> {
    Ok(pick_distribution(&list_distributions(cf).await?, marker)?.map(|d| d.id))
}

/// Every distribution in the account.
async fn list_distributions(cf: &Client) -> Result<Vec<Listed>> {
    let mut page_marker = None;
    let mut all = Vec::new();
    loop {
        let page = cf
            .list_distributions()
            .set_marker(page_marker)
            .send()
            .await
            .map_err(|e| explain("listing distributions", e))?;
        let Some(list) = page.distribution_list() else {
            break;
        };
        all.extend(list.items().iter().map(|d| Listed {
            id: d.id().to_string(),
            comment: d.comment().to_string(),
            domain: d.domain_name().to_string(),
        }));
        match list.next_marker() {
            Some(next) if list.is_truncated() && !next.is_empty() => {
                page_marker = Some(next.to_string());
            }
            _ => break,
        }
    }
    Ok(all)
}

/// The one distribution of `all` whose comment is `marker`.
fn pick_distribution(all: &[Listed], marker: &str) -> Result<Option<Listed>> {
    let matches: Vec<&Listed> = all.iter().filter(|d| d.comment == marker).collect();
    match matches.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some((*one).clone())),
        many => bail!(
            "{} distributions carry the comment \"{marker}\" ({}): maint manages one. Delete the \
             extra ones in the CloudFront console, then run again",
            many.len(),
            many.iter()
                .map(|d| d.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Account-wide listings made once for a read-only run over several
/// environments (see `Clients::listings`).
#[derive(Debug, Default)]
pub struct Listings {
    distributions: tokio::sync::OnceCell<Vec<Listed>>,
}

impl Listings {
    async fn distribution_id(&self, cf: &Client, marker: &str) -> Result<Option<String>> {
        let all = self
            .distributions
            .get_or_try_init(|| list_distributions(cf))
            .await?;
        Ok(pick_distribution(all, marker)?.map(|d| d.id))
    }
}

pub async fn read_distribution(cf: &Client, id: &str) -> Result<FoundDistribution> {
    let out = cf
        .get_distribution()
        .id(id)
        .send()
        .await
        .map_err(|e| explain(&format!("reading distribution {id}"), e))?;
    let etag = out.e_tag().unwrap_or_default().to_string();
    let Some(dist) = out.distribution() else {
        bail!("reading distribution {id}: AWS returned no distribution");
    };
    let Some(config) = dist.distribution_config().cloned() else {
        bail!("reading distribution {id}: AWS returned no config");
    };
    let tags = cf
        .list_tags_for_resource()
        .resource(dist.arn())
        .send()
        .await
        .map_err(|e| explain(&format!("reading the tags of distribution {id}"), e))?
        .tags()
        .map(|t| {
            t.items()
                .iter()
                .map(|t| {
                    (
                        t.key().to_string(),
                        t.value().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(FoundDistribution {
        observed: ObservedDistribution {
            id: dist.id().to_string(),
            arn: dist.arn().to_string(),
            domain: dist.domain_name().to_string(),
            status: Deployment::from_status(dist.status()),
            shape: shape_of(&config),
            tags,
        },
        config,
        etag,
    })
}

async fn update_distribution(
    cf: &Client,
    id: &str,
    etag: &str,
    config: DistributionConfig,
) -> Result<Attempt<()>> {
    match cf
        .update_distribution()
        .id(id)
        .if_match(etag)
        .distribution_config(config)
        .customize()
        .config_override(super::slow_cloudfront())
        .send()
        .await
    {
        Ok(_) => Ok(Attempt::Done(())),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_precondition_failed()) =>
        {
            Ok(Attempt::Stale)
        }
        Err(e) => Err(explain(&format!("updating distribution {id}"), e)),
    }
}

pub async fn tag_distribution(
    cf: &Client,
    arn: &str,
    tags: &BTreeMap<String, String>,
) -> Result<()> {
    cf.tag_resource()
        .resource(arn)
        .tags(tags_of(tags)?)
        .send()
        .await
        .map_err(|e| explain("tagging the distribution", e))?;
    Ok(())
}

pub async fn distribution_status(cf: &Client, id: &str) -> Result<Deployment> {
    let out = cf
        .get_distribution()
        .id(id)
        .send()
        .await
        .map_err(|e| explain(&format!("reading distribution {id}"), e))?;
    Ok(Deployment::from_status(
        out.distribution().map_or("", |d| d.status()),
    ))
}

async fn delete_distribution(cf: &Client, id: &str, etag: &str) -> Result<Attempt<()>> {
    match cf
        .delete_distribution()
        .id(id)
        .if_match(etag)
        .customize()
        .config_override(super::slow_cloudfront())
        .send()
        .await
    {
        Ok(_) => Ok(Attempt::Done(())),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_no_such_distribution()) =>
        {
            Ok(Attempt::Done(()))
        }
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_precondition_failed()) =>
        {
            Ok(Attempt::Stale)
        }
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_distribution_not_disabled()) =>
        {
            bail!(
                "distribution {id} is still enabled somewhere: run `maint destroy` again in a few minutes"
            )
        }
        Err(e) => Err(explain(&format!("deleting distribution {id}"), e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_plausible_distribution_id_is_sent() {
        assert!(plausible_distribution_id("E2QWRUHEXAMPLE"));
        for bad in ["", "../E2", "e2qwru", "E2 QW", &"E".repeat(65)] {
            assert!(!plausible_distribution_id(bad), "{bad}");
        }
    }
}
