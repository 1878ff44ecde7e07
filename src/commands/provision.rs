//! `maint provision`: desired state, observe, plan, apply, observe again and
//! verify, then wait for the distribution to deploy.

use std::fmt;

use anyhow::{Result, bail};
use serde::Serialize;

use super::{Output, Session, wait_deployed};
use crate::aws::distribution::{self, FoundDistribution};
use crate::aws::{Clients, bucket, page};
use crate::aws::{oac, site_distribution};
use crate::converge::{Change, Converge, converge};
use crate::output::{Failure, Kind};
use crate::site::plan::{ObservedPage, ObservedSite, Step, desired_message, plan};
use crate::site::policy::bucket_policy;

/// What `provision` did, for people and for scripts.
#[derive(Debug, Serialize)]
pub struct ProvisionReport {
    pub environment: String,
    /// The steps, in order: exactly what was (or, in a dry run, would be) applied.
    pub plan: Vec<Change>,
    pub applied: bool,
    pub distribution_id: Option<String>,
    pub url: Option<String>,
    pub deployed: bool,
}

impl fmt::Display for ProvisionReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.url, self.applied) {
            (_, false) if !self.plan.is_empty() => {
                write!(
                    f,
                    "Dry run: nothing was changed. Run without --dry-run to apply."
                )
            }
            (Some(url), _) => {
                write!(
                    f,
                    "The maintenance site for `{}` {} at {url}",
                    self.environment,
                    if self.deployed {
                        "is live"
                    } else {
                        "is deploying"
                    }
                )?;
                if let Some(id) = &self.distribution_id {
                    write!(f, " (distribution {id})")?;
                }
                if !self.deployed {
                    write!(f, ".\nRun `maint status` to see when it is deployed.")?;
                }
                Ok(())
            }
            (None, _) => write!(f, "Nothing is provisioned for `{}`.", self.environment),
        }
    }
}

/// A site-mode environment, converged: the bucket, page, OAC, distribution
/// and policy the config describes.
struct Provision<'a> {
    site: &'a super::Site,
    clients: &'a Clients,
    environment: &'a str,
    /// The distribution (id, domain) once known: observed or created.
    distribution: Option<(String, String)>,
}

impl Converge for Provision<'_> {
    type Observed = (ObservedSite, Option<FoundDistribution>);
    type Step = Step;

    fn subject(&self) -> String {
        format!("environment `{}`", self.environment)
    }

    async fn observe(&self) -> Result<Self::Observed> {
        self.site.observe(self.clients).await
    }

    fn plan(&self, (observed, _): &Self::Observed) -> Result<Vec<Step>> {
        let spec = &self.site.spec;
        let message = desired_message(spec, observed);
        let document = self.site.page(&message)?;
        Ok(plan(spec, &document, observed).steps)
    }

    async fn apply(
        &mut self,
        steps: &[Step],
        (observed, found): Self::Observed,
        out: &Output,
    ) -> Result<()> {
        let oac_id = observed.oac.as_ref().map(|o| o.id.clone());
        self.distribution = Some(apply(self.site, self.clients, out, steps, oac_id, found).await?);
        Ok(())
    }
}

pub async fn run(
    session: &Session,
    out: &Output,
    dry_run: bool,
    no_wait: bool,
    exit_code: bool,
) -> Result<()> {
    let site = session.site()?;
    let clients = session.changing_clients(out).await?;
    let mut target = Provision {
        site,
        clients: &clients,
        environment: &session.environment,
        distribution: None,
    };
    let outcome = converge(&mut target, out, dry_run).await?;
    let drifting = outcome
        .steps
        .iter()
        .filter(|s| !s.is_housekeeping())
        .count();
    // Where the distribution is now: created, or as observed.
    let observed = match &target.distribution {
        Some(_) => None,
        None => site.observe(&clients).await?.0.distribution,
    };
    let (id, domain, deployed) = match (&target.distribution, &observed) {
        (Some((id, domain)), _) => (Some(id.clone()), Some(domain.clone()), false),
        (None, Some(d)) => (Some(d.id.clone()), Some(d.domain.clone()), d.deployed()),
        (None, None) => (None, None, false),
    };
    let mut report = ProvisionReport {
        environment: session.environment.clone(),
        plan: outcome.changes(),
        applied: outcome.applied,
        distribution_id: id.clone(),
        url: domain.map(|d| format!("https://{d}/")),
        deployed,
    };
    if let Some(id) = &id
        && !report.deployed
        && !dry_run
    {
        if no_wait {
            report.deployed = distribution::distribution_status(&clients.cloudfront, id).await?
                == crate::site::plan::Deployment::Deployed;
        } else {
            wait_deployed(&clients, out, id).await?;
            report.deployed = true;
        }
    }
    out.result(&report)?;
    if exit_code && dry_run && drifting > 0 {
        return Err(Failure::new(
            Kind::Drift,
            format!(
                "environment `{}` differs from the config: {drifting} change(s) planned",
                session.environment,
            ),
        )
        .into());
    }
    Ok(())
}

/// Writes the page as provision wants it: the live message kept (the
/// config's only for a page that has none), recording distribution `id`
/// when known. It reads the page, renders it, and writes only if the page
/// is still the one read (S3's conditional writes), so a `set-message` that
/// lands meanwhile is never undone: the page is read again instead.
async fn write_page(site: &super::Site, clients: &Clients, id: Option<&str>) -> Result<()> {
    let spec = &site.spec;
    let s3c = &clients.s3;
    for _ in 0..5 {
        let current = page::observe_page(s3c, &spec.bucket, &spec.key).await?;
        let message = current
            .as_ref()
            .and_then(ObservedPage::message)
            .unwrap_or_else(|| spec.default_message.clone());
        let record = id.or(current.as_ref().and_then(ObservedPage::distribution));
        let document = site.page(&message)?.serving(record);
        let replacing = match &current {
            None => Some(page::Replacing::Nothing),
            Some(page) => page.etag.clone().map(page::Replacing::Page),
        };
        if page::put_page_if(
            s3c,
            &spec.bucket,
            &document,
            spec.page_max_age,
            replacing.as_ref(),
        )
        .await?
        {
            return Ok(());
        }
        tracing::debug!("the page changed while provision wrote it: reading it again");
    }
    bail!(
        "the page kept changing while provision wrote it (is a set-message running?): run \
         provision again"
    )
}

/// Applies the steps in order; returns the distribution's id and domain.
async fn apply(
    site: &super::Site,
    clients: &Clients,
    out: &Output,
    steps: &[Step],
    mut oac_id: Option<String>,
    found: Option<FoundDistribution>,
) -> Result<(String, String)> {
    let spec = &site.spec;
    let (s3c, cf) = (&clients.s3, &clients.cloudfront);
    let mut dist = found.map(|f| (f.observed.id, f.observed.arn, f.observed.domain));
    for step in steps {
        out.progress(format!("  applying: {step}"));
        match step {
            Step::CreateBucket { .. } => {
                bucket::create_bucket(s3c, &spec.bucket, &spec.region).await?;
            }
            Step::BlockPublicAccess { .. } => {
                bucket::block_public_access(s3c, &spec.bucket).await?;
            }
            Step::EnforceBucketOwner { .. } => {
                bucket::enforce_bucket_owner(s3c, &spec.bucket).await?;
            }
            Step::EnableEncryption { .. } => bucket::enable_encryption(s3c, &spec.bucket).await?,
            Step::TagBucket { tags, .. } => bucket::tag_bucket(s3c, &spec.bucket, tags).await?,
            Step::UploadPage { .. } => {
                let id = dist.as_ref().map(|(id, _, _)| id.as_str());
                write_page(site, clients, id).await?;
            }
            Step::CreateOriginAccessControl { name } => {
                oac_id = Some(oac::create_oac(cf, name).await?);
            }
            Step::UpdateOriginAccessControl { id } => {
                oac::fix_oac(cf, id, &spec.oac_name()).await?;
            }
            Step::CreateDistribution { .. } => {
                let oac = oac_id.as_deref().unwrap_or_default();
                let config = site_distribution::site_config(spec, oac, None)?;
                dist = Some(site_distribution::create_distribution(cf, config, &spec.tags).await?);
            }
            Step::UpdateDistribution { id, .. } => {
                let oac = oac_id.as_deref().unwrap_or_default();
                site_distribution::update_site(cf, spec, id, oac).await?;
            }
            Step::TagDistribution { tags, .. } => {
                let Some((_, arn, _)) = &dist else {
                    bail!("internal: tagging a distribution that was not found");
                };
                distribution::tag_distribution(cf, arn, tags).await?;
            }
            Step::RecordDistribution { .. } => {
                let Some((id, _, _)) = &dist else {
                    bail!("internal: recording a distribution that was not found");
                };
                write_page(site, clients, Some(id)).await?;
            }
            Step::PutBucketPolicy { .. } => {
                let Some((_, arn, _)) = &dist else {
                    bail!("internal: a bucket policy needs the distribution's ARN");
                };
                bucket::put_policy(
                    s3c,
                    &spec.bucket,
                    &bucket_policy(&spec.bucket, &spec.key, arn),
                )
                .await?;
            }
        }
    }
    match dist {
        Some((id, _, domain)) => Ok((id, domain)),
        None => bail!("internal: no distribution after applying the plan"),
    }
}
