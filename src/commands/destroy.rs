//! `maint destroy`: delete what maint created, in the only order AWS allows:
//! disable the distribution, wait, delete it, then the OAC, the page and the
//! bucket. Each step checks what is there first, so an interrupted destroy
//! resumes where it stopped.

use std::fmt;

use anyhow::{Result, bail};
use serde::Serialize;

use super::{Output, Session, confirm, wait_deployed};
use crate::aws::distribution::{self, DeleteAttempt};
use crate::aws::oac;
use crate::aws::{Clients, bucket};
use crate::converge::{Action, Change, Converge, converge};
use crate::site::SiteSpec;
use crate::site::plan::ObservedSite;

/// One deletion, in order.
#[derive(Debug, Clone)]
pub enum Deletion {
    DisableDistribution { id: String },
    DeleteDistribution { id: String },
    DeleteOriginAccessControl { id: String },
    DeleteBucket { bucket: String, key: String },
}

impl fmt::Display for Deletion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::DisableDistribution { id } => {
                write!(f, "~ disable distribution {id} and wait for it")
            }
            Self::DeleteDistribution { id } => write!(f, "- delete distribution {id}"),
            Self::DeleteOriginAccessControl { id } => {
                write!(f, "- delete origin access control {id}")
            }
            Self::DeleteBucket { bucket, key } => write!(f, "- delete {key} and bucket {bucket}"),
        }
    }
}

impl crate::converge::Step for Deletion {
    fn change(&self) -> Change {
        let (action, resource, detail) = match self {
            Self::DisableDistribution { id } => (
                Action::Update,
                format!("distribution {id}"),
                "disable, and wait until that is deployed".to_string(),
            ),
            Self::DeleteDistribution { id } => {
                (Action::Delete, format!("distribution {id}"), String::new())
            }
            Self::DeleteOriginAccessControl { id } => (
                Action::Delete,
                format!("origin access control {id}"),
                String::new(),
            ),
            Self::DeleteBucket { bucket, key } => (
                Action::Delete,
                format!("bucket {bucket}"),
                format!("with its page {key}"),
            ),
        };
        Change {
            action,
            resource,
            detail,
        }
    }
}

/// What `destroy` did.
#[derive(Debug, Serialize)]
pub struct DestroyReport {
    pub environment: String,
    pub plan: Vec<Change>,
    pub applied: bool,
}

impl fmt::Display for DestroyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.plan.is_empty() {
            write!(
                f,
                "Nothing to destroy: `{}` has no maint resources.",
                self.environment
            )
        } else if self.applied {
            write!(
                f,
                "Destroyed the maintenance site of `{}`.",
                self.environment
            )
        } else {
            write!(f, "Dry run: nothing was deleted.")
        }
    }
}

/// What destroy sees: maint's resources, and objects in the bucket that are
/// not maint's (which stop it before anything is deleted).
pub struct Observed {
    site: ObservedSite,
    foreign: Vec<String>,
}

/// The deletions, in the only order AWS allows. Pure; refuses when the
/// bucket holds objects maint did not create.
pub fn destroy_plan(spec: &SiteSpec, observed: &Observed) -> Result<Vec<Deletion>> {
    if !observed.foreign.is_empty() {
        bail!(
            "bucket {} holds objects maint did not create ({}): maint deletes only what it made, \
             so nothing was deleted. Move or remove them yourself, then run `maint destroy` again",
            spec.bucket,
            observed.foreign.join(", ")
        );
    }
    let site = &observed.site;
    let mut deletions = Vec::new();
    if let Some(d) = &site.distribution {
        if d.shape.enabled {
            deletions.push(Deletion::DisableDistribution { id: d.id.clone() });
        }
        deletions.push(Deletion::DeleteDistribution { id: d.id.clone() });
    }
    if let Some(oac) = &site.oac {
        deletions.push(Deletion::DeleteOriginAccessControl { id: oac.id.clone() });
    }
    if site.bucket.is_some() {
        deletions.push(Deletion::DeleteBucket {
            bucket: spec.bucket.to_string(),
            key: spec.key.to_string(),
        });
    }
    Ok(deletions)
}

struct Destroy<'a> {
    site: &'a super::Site,
    clients: &'a Clients,
    environment: &'a str,
    yes: bool,
}

impl Converge for Destroy<'_> {
    type Observed = Observed;
    type Step = Deletion;

    fn subject(&self) -> String {
        format!("destroying environment `{}`", self.environment)
    }

    async fn observe(&self) -> Result<Observed> {
        let (site, _) = self.site.observe(self.clients).await?;
        // Checked before anything is deleted: a destroy that stopped at the
        // bucket would leave the site half gone.
        let foreign = match &site.bucket {
            Some(_) => {
                bucket::foreign_objects(
                    &self.clients.s3,
                    &self.site.spec.bucket,
                    &self.site.spec.key,
                )
                .await?
            }
            None => Vec::new(),
        };
        Ok(Observed { site, foreign })
    }

    fn plan(&self, observed: &Observed) -> Result<Vec<Deletion>> {
        destroy_plan(&self.site.spec, observed)
    }

    fn before_apply(&self, _steps: &[Deletion]) -> Result<()> {
        confirm(
            self.environment,
            self.yes,
            "destroy",
            "This deletes the maintenance site of",
            "nothing was deleted",
        )
    }

    async fn apply(&mut self, steps: &[Deletion], _: Observed, out: &Output) -> Result<()> {
        let cf = &self.clients.cloudfront;
        for step in steps {
            out.progress(format!("  applying: {step}"));
            match step {
                Deletion::DisableDistribution { id } => {
                    disable_distribution(self.clients, out, id).await?;
                }
                Deletion::DeleteDistribution { id } => {
                    delete_distribution(self.clients, out, id).await?;
                }
                Deletion::DeleteOriginAccessControl { id } => oac::delete_oac(cf, id).await?,
                Deletion::DeleteBucket { .. } => {
                    let spec = &self.site.spec;
                    bucket::delete_bucket(&self.clients.s3, &spec.bucket, &spec.key).await?;
                }
            }
        }
        Ok(())
    }
}

pub async fn run(session: &Session, out: &Output, yes: bool, dry_run: bool) -> Result<()> {
    let site = session.site()?;
    let clients = session.changing_clients(out).await?;
    let mut target = Destroy {
        site,
        clients: &clients,
        environment: &session.environment,
        yes,
    };
    let outcome = converge(&mut target, out, dry_run).await?;
    out.result(&DestroyReport {
        environment: session.environment.clone(),
        plan: outcome.changes(),
        applied: outcome.applied,
    })
}

/// Disables the distribution and waits until that is deployed, as AWS
/// requires before a delete.
async fn disable_distribution(clients: &Clients, out: &Output, id: &str) -> Result<()> {
    distribution::disable_distribution(&clients.cloudfront, id).await?;
    wait_deployed(clients, out, id).await
}

/// Deletes a disabled distribution once it is deployed.
async fn delete_distribution(clients: &Clients, out: &Output, id: &str) -> Result<()> {
    for _ in 0..crate::aws::IF_MATCH_ATTEMPTS {
        match distribution::delete_distribution_when_ready(&clients.cloudfront, id).await? {
            DeleteAttempt::Done => return Ok(()),
            DeleteAttempt::NotDeployed => wait_deployed(clients, out, id).await?,
            DeleteAttempt::Enabled => bail!(
                "distribution {id} was enabled again while maint destroyed it: run `maint \
                 destroy` again"
            ),
        }
    }
    bail!("distribution {id} kept changing while maint deleted it: run `maint destroy` again")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> SiteSpec {
        let config = crate::config::Config::parse(
            std::path::Path::new("maint.yaml"),
            "environments:\n  staging:\n    region: eu-west-1\n    bucket: acme-maint\n",
        )
        .unwrap();
        let (name, env) = config.select(None).unwrap();
        SiteSpec::new(&name, &env, env.bucket.as_ref().unwrap())
    }

    fn everything(spec: &SiteSpec, enabled: bool) -> Observed {
        let mut shape = spec.distribution.clone();
        shape.enabled = enabled;
        Observed {
            site: ObservedSite {
                bucket: Some(crate::site::plan::ObservedBucket::default()),
                page: None,
                oac: Some(crate::site::plan::ObservedOac {
                    id: "OAC1".into(),
                    signs_always: true,
                }),
                distribution: Some(crate::site::plan::ObservedDistribution {
                    id: "E1".into(),
                    arn: "arn:aws:cloudfront::123456789012:distribution/E1".into(),
                    domain: "d1.cloudfront.net".into(),
                    status: crate::site::plan::Deployment::Deployed,
                    shape,
                    tags: std::collections::BTreeMap::default(),
                }),
            },
            foreign: vec![],
        }
    }

    fn shown(steps: &[Deletion]) -> String {
        crate::converge::Plan {
            subject: "destroying environment `staging`",
            steps,
        }
        .to_string()
    }

    #[test]
    fn everything_is_deleted_in_the_order_aws_allows() {
        let spec = spec();
        insta::assert_snapshot!(shown(&destroy_plan(&spec, &everything(&spec, true)).unwrap()), @r"
        Plan for destroying environment `staging` (4 changes):
          ~ disable distribution E1 and wait for it
          - delete distribution E1
          - delete origin access control OAC1
          - delete maintenance.html and bucket acme-maint
        ");
    }

    #[test]
    fn an_interrupted_destroy_plans_only_what_is_left() {
        let spec = spec();
        // Disabled already, and the OAC gone.
        let mut observed = everything(&spec, false);
        observed.site.oac = None;
        insta::assert_snapshot!(shown(&destroy_plan(&spec, &observed).unwrap()), @r"
        Plan for destroying environment `staging` (2 changes):
          - delete distribution E1
          - delete maintenance.html and bucket acme-maint
        ");
        let nothing = Observed {
            site: ObservedSite::default(),
            foreign: vec![],
        };
        assert!(destroy_plan(&spec, &nothing).unwrap().is_empty());
    }

    #[test]
    fn foreign_objects_stop_the_plan() {
        let spec = spec();
        let mut observed = everything(&spec, true);
        observed.foreign = vec!["keep-me.txt".into()];
        let err = destroy_plan(&spec, &observed).unwrap_err().to_string();
        assert!(
            err.contains("keep-me.txt") && err.contains("nothing was deleted"),
            "{err}"
        );
    }
}
