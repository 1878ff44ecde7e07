//! `maint provision`: desired state, observe, plan, apply, observe again and
//! verify, then wait for the distribution to deploy.

use std::fmt;

use anyhow::{Result, bail};
use serde::Serialize;

use super::{Output, Session, wait_deployed};
use crate::aws::cloudfront::{self, FoundDistribution, Updated};
use crate::aws::{Clients, s3};
use crate::converge::{Change, Converge, converge};
use crate::output::{Failure, Kind};
use crate::plan::{ObservedSite, Step, desired_message, plan};
use crate::policy::bucket_policy;

/// What `provision` did, for people and for scripts.
#[derive(Debug, Serialize)]
pub struct Report {
    pub environment: String,
    /// The steps, in order: exactly what was (or, in a dry run, would be) applied.
    pub plan: Vec<Change>,
    pub applied: bool,
    pub distribution_id: Option<String>,
    pub url: Option<String>,
    pub deployed: bool,
}

impl fmt::Display for Report {
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
        let document = self
            .site
            .template
            .render(&spec.key, &spec.title, &message)?;
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
    let mut report = Report {
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
            report.deployed = cloudfront::distribution_status(&clients.cloudfront, id)
                .await?
                .eq_ignore_ascii_case("deployed");
        } else {
            wait_deployed(&clients, out, id).await?;
            report.deployed = true;
        }
    }
    out.result(&report)?;
    if exit_code && dry_run && !report.plan.is_empty() {
        return Err(Failure::new(
            Kind::Drift,
            format!(
                "environment `{}` differs from the config: {} change(s) planned",
                session.environment,
                report.plan.len()
            ),
        )
        .into());
    }
    Ok(())
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
            Step::CreateBucket { .. } => s3::create_bucket(s3c, &spec.bucket, &spec.region).await?,
            Step::BlockPublicAccess { .. } => s3::block_public_access(s3c, &spec.bucket).await?,
            Step::EnforceBucketOwner { .. } => s3::enforce_bucket_owner(s3c, &spec.bucket).await?,
            Step::EnableEncryption { .. } => s3::enable_encryption(s3c, &spec.bucket).await?,
            Step::TagBucket { tags, .. } => s3::tag_bucket(s3c, &spec.bucket, tags).await?,
            Step::UploadDocument { document, .. } => {
                s3::put_document(s3c, &spec.bucket, document, spec.page_max_age).await?;
            }
            Step::CreateOriginAccessControl { name } => {
                oac_id = Some(cloudfront::create_oac(cf, name).await?);
            }
            Step::UpdateOriginAccessControl { id } => {
                cloudfront::fix_oac(cf, id, &spec.oac_name()).await?;
            }
            Step::CreateDistribution { .. } => {
                let oac = oac_id.as_deref().unwrap_or_default();
                let config = cloudfront::site_config(spec, oac, None)?;
                dist = Some(cloudfront::create_distribution(cf, config, &spec.tags).await?);
            }
            Step::UpdateDistribution { id, .. } => {
                let oac = oac_id.as_deref().unwrap_or_default();
                update_with_retry(clients, spec, id, oac).await?;
            }
            Step::TagDistribution { tags, .. } => {
                let Some((_, arn, _)) = &dist else {
                    bail!("internal: tagging a distribution that was not found");
                };
                cloudfront::tag_distribution(cf, arn, tags).await?;
            }
            Step::PutBucketPolicy { .. } => {
                let Some((_, arn, _)) = &dist else {
                    bail!("internal: a bucket policy needs the distribution's ARN");
                };
                s3::put_policy(
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

/// Read-modify-write with If-Match; a concurrent change means read again and
/// redo the change on top of it, so nobody's edit is lost.
async fn update_with_retry(
    clients: &Clients,
    spec: &crate::site::SiteSpec,
    id: &str,
    oac_id: &str,
) -> Result<()> {
    for _ in 0..4 {
        let current = cloudfront::read_distribution(&clients.cloudfront, id).await?;
        let config = cloudfront::site_config(spec, oac_id, Some(&current.config))?;
        match cloudfront::update_distribution(&clients.cloudfront, id, &current.etag, config)
            .await?
        {
            Updated::Done => return Ok(()),
            Updated::Conflict => continue,
        }
    }
    bail!(
        "distribution {id} kept changing while maint updated it (someone else is editing it): \
         run `maint provision` again when they are done"
    )
}

#[cfg(test)]
mod tests {
    //! A concurrent edit (PreconditionFailed) cannot be staged in the emulator,
    //! which accepts any If-Match: the SDK's mocks answer as the CloudFront API
    //! reference says AWS does.
    use super::*;
    use aws_sdk_cloudfront::operation::get_distribution::GetDistributionOutput;
    use aws_sdk_cloudfront::operation::list_tags_for_resource::ListTagsForResourceOutput;
    use aws_sdk_cloudfront::operation::update_distribution::{
        UpdateDistributionError, UpdateDistributionOutput,
    };
    use aws_sdk_cloudfront::types::error::PreconditionFailed;
    use aws_sdk_cloudfront::types::{Distribution, Tags};
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn spec() -> crate::site::SiteSpec {
        let config = crate::config::Config::parse(
            std::path::Path::new("maint.yaml"),
            "environments:\n  prod:\n    region: eu-west-1\n    bucket: acme-maint\n",
        )
        .unwrap();
        let (name, env) = config.select(None).unwrap();
        crate::site::SiteSpec::new(&name, &env, env.bucket.as_ref().unwrap())
    }

    #[tokio::test]
    async fn a_concurrent_edit_is_read_again_and_kept() {
        let spec = spec();
        let reads = Arc::new(AtomicUsize::new(0));
        let counter = reads.clone();
        let base = cloudfront::site_config(&spec, "OAC1", None).unwrap();
        let get = mock!(aws_sdk_cloudfront::Client::get_distribution).then_output(move || {
            // The second read sees the other person's change: a web ACL.
            let n = counter.fetch_add(1, Ordering::SeqCst);
            let mut config = base.clone();
            config.price_class = Some(aws_sdk_cloudfront::types::PriceClass::PriceClassAll);
            if n > 0 {
                config.web_acl_id = Some("their-acl".into());
            }
            GetDistributionOutput::builder()
                .e_tag(format!("ETAG{n}"))
                .distribution(
                    Distribution::builder()
                        .id("E1")
                        .arn("arn:aws:cloudfront::123456789012:distribution/E1")
                        .status("Deployed")
                        .last_modified_time(aws_smithy_types::DateTime::from_secs(0))
                        .in_progress_invalidation_batches(0)
                        .domain_name("d1.cloudfront.net")
                        .distribution_config(config)
                        .build()
                        .unwrap(),
                )
                .build()
        });
        let tags = mock!(aws_sdk_cloudfront::Client::list_tags_for_resource).then_output(|| {
            ListTagsForResourceOutput::builder()
                .tags(Tags::builder().build())
                .build()
        });
        let stale = mock!(aws_sdk_cloudfront::Client::update_distribution)
            .match_requests(|r| r.if_match() == Some("ETAG0"))
            .then_error(|| {
                UpdateDistributionError::PreconditionFailed(PreconditionFailed::builder().build())
            });
        let fresh = mock!(aws_sdk_cloudfront::Client::update_distribution)
            .match_requests(|r| {
                r.if_match() == Some("ETAG1")
                    && r.distribution_config().and_then(|c| c.web_acl_id()) == Some("their-acl")
                    && r.distribution_config().and_then(|c| c.price_class())
                        == Some(&aws_sdk_cloudfront::types::PriceClass::PriceClass100)
            })
            .then_output(|| UpdateDistributionOutput::builder().build());
        let cloudfront = mock_client!(
            aws_sdk_cloudfront,
            RuleMode::MatchAny,
            [&get, &tags, &stale, &fresh]
        );
        let clients = Clients {
            s3: mock_client!(aws_sdk_s3, []),
            cloudfront,
            kvs: mock_client!(aws_sdk_cloudfrontkeyvaluestore, []),
            sts: crate::aws::unused_sts(),
        };
        update_with_retry(&clients, &spec, "E1", "OAC1")
            .await
            .unwrap();
        assert_eq!(stale.num_calls(), 1, "the first write is refused");
        assert_eq!(fresh.num_calls(), 1, "the retry carries the other change");
        assert_eq!(reads.load(Ordering::SeqCst), 2);
    }
}
