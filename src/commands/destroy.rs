//! `maint destroy`: delete what maint created, in the only order AWS allows:
//! disable the distribution, wait, delete it, then the OAC, the page and the
//! bucket. Each step checks what is there first, so an interrupted destroy
//! resumes where it stopped.

use std::fmt;
use std::io::{BufRead as _, IsTerminal as _, Write as _};

use anyhow::{Result, bail};
use serde::Serialize;

use super::{Output, Session, wait_deployed};
use crate::aws::cloudfront::{self, Updated};
use crate::aws::s3;

#[derive(Debug, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
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

#[derive(Debug, Serialize)]
pub struct Report {
    pub environment: String,
    pub deletions: Vec<Deletion>,
    pub applied: bool,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.deletions.is_empty() {
            return write!(
                f,
                "Nothing to destroy: `{}` has no maint resources.",
                self.environment
            );
        }
        if self.applied {
            write!(
                f,
                "Destroyed the maintenance site of `{}`.",
                self.environment
            )
        } else {
            writeln!(f, "Would delete, for `{}`:", self.environment)?;
            let lines: Vec<String> = self.deletions.iter().map(|d| format!("  {d}")).collect();
            write!(f, "{}\nDry run: nothing was deleted.", lines.join("\n"))
        }
    }
}

fn confirm(environment: &str, yes: bool) -> Result<()> {
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        bail!(
            "refusing to destroy `{environment}` without confirmation, and there is no terminal to \
             ask on: pass --yes to confirm"
        );
    }
    eprint!(
        "This deletes the maintenance site of `{environment}`. Type the environment name to confirm: "
    );
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    if answer.trim() != environment {
        bail!("not confirmed: nothing was deleted");
    }
    Ok(())
}

pub async fn run(session: &Session, out: &Output, yes: bool, dry_run: bool) -> Result<()> {
    let site = session.site()?;
    let clients = session.changing_clients(out).await?;
    let (observed, _) = site.observe(&clients).await?;
    let spec = &site.spec;
    // Checked before anything is deleted: a destroy that stopped at the
    // bucket would leave the site half gone.
    if observed.bucket.is_some() {
        let foreign = s3::foreign_objects(&clients.s3, &spec.bucket, &spec.key).await?;
        if !foreign.is_empty() {
            bail!(
                "bucket {} holds objects maint did not create ({}): maint deletes only what it \
                 made, so nothing was deleted. Move or remove them yourself, then run `maint \
                 destroy` again",
                spec.bucket,
                foreign.join(", ")
            );
        }
    }
    let mut deletions = Vec::new();
    if let Some(d) = &observed.distribution {
        if d.shape.enabled {
            deletions.push(Deletion::DisableDistribution { id: d.id.clone() });
        }
        deletions.push(Deletion::DeleteDistribution { id: d.id.clone() });
    }
    if let Some(oac) = &observed.oac {
        deletions.push(Deletion::DeleteOriginAccessControl { id: oac.id.clone() });
    }
    if observed.bucket.is_some() {
        deletions.push(Deletion::DeleteBucket {
            bucket: spec.bucket.to_string(),
            key: spec.key.to_string(),
        });
    }
    let mut report = Report {
        environment: session.environment.clone(),
        deletions,
        applied: false,
    };
    if report.deletions.is_empty() || dry_run {
        return out.result(&report);
    }
    for d in &report.deletions {
        out.progress(format!("  {d}"));
    }
    confirm(&session.environment, yes)?;

    if let Some(d) = &observed.distribution {
        delete_distribution(&clients, out, &d.id).await?;
    }
    if let Some(oac) = &observed.oac {
        out.progress(format!("  deleting origin access control {}", oac.id));
        cloudfront::delete_oac(&clients.cloudfront, &oac.id).await?;
    }
    if observed.bucket.is_some() {
        out.progress(format!("  deleting bucket {}", spec.bucket));
        s3::delete_bucket(&clients.s3, &spec.bucket, &spec.key).await?;
    }
    report.applied = true;
    out.result(&report)
}

async fn delete_distribution(clients: &crate::aws::Clients, out: &Output, id: &str) -> Result<()> {
    let cf = &clients.cloudfront;
    for _ in 0..4 {
        let current = cloudfront::read_distribution(cf, id).await?;
        if current.config.enabled() {
            out.progress(format!("  disabling distribution {id}"));
            let mut config = current.config.clone();
            config.enabled = false;
            if let Updated::Conflict =
                cloudfront::update_distribution(cf, id, &current.etag, config).await?
            {
                continue;
            }
            wait_deployed(clients, out, id).await?;
            continue;
        }
        if !current.observed.deployed() {
            wait_deployed(clients, out, id).await?;
            continue;
        }
        out.progress(format!("  deleting distribution {id}"));
        match cloudfront::delete_distribution(cf, id, &current.etag).await? {
            Updated::Done => return Ok(()),
            Updated::Conflict => continue,
        }
    }
    bail!("distribution {id} kept changing while maint deleted it: run `maint destroy` again")
}
