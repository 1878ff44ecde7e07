//! `maint set-message`: render the message into the page and upload it only
//! when the page changed: one HEAD when it did not, one HEAD and one PUT when
//! it did (plus the invalidation, when asked).

use std::fmt;
use std::io::Read as _;
use std::path::PathBuf;

use anyhow::{Context as _, Result};
use serde::Serialize;

use super::{Output, Session, not_provisioned, wait_invalidated};
use crate::aws::{cloudfront, s3};
use crate::config::check_message;
use crate::plan::document_is_current;

pub struct Request {
    pub message: Option<String>,
    pub file: Option<PathBuf>,
    pub invalidate: bool,
    pub wait: bool,
    pub dry_run: bool,
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub environment: String,
    pub key: String,
    pub message: String,
    pub changed: bool,
    pub applied: bool,
    pub invalidation: Option<String>,
    pub invalidation_completed: bool,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.changed, self.applied) {
            (false, _) => write!(
                f,
                "The message of `{}` is already up to date.",
                self.environment
            )?,
            (true, false) => write!(
                f,
                "Dry run: {} would be replaced with the new message. Nothing was changed.",
                self.key
            )?,
            (true, true) => write!(f, "Updated {} for `{}`.", self.key, self.environment)?,
        }
        if let Some(id) = &self.invalidation {
            let state = if self.invalidation_completed {
                "completed"
            } else {
                "started"
            };
            write!(f, "\nInvalidation {id} {state}.")?;
        }
        Ok(())
    }
}

fn read_message(request: &Request, default: &str) -> Result<String> {
    let message = match (&request.message, &request.file) {
        (Some(m), _) => m.clone(),
        (None, Some(path)) if path.as_os_str() == "-" => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .context("cannot read the message from standard input")?;
            text
        }
        (None, Some(path)) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the message file {}", path.display()))?,
        (None, None) => default.to_string(),
    };
    // A file usually ends with a newline nobody means to show.
    let message = message.trim_end_matches(['\n', '\r']).to_string();
    check_message(&message).map_err(anyhow::Error::msg)?;
    Ok(message)
}

pub async fn run(session: &Session, out: &Output, request: Request) -> Result<()> {
    let site = session.site()?;
    let spec = &site.spec;
    let message = read_message(&request, &spec.default_message)?;
    let document = site.template.render(&spec.key, &spec.title, &message)?;
    let clients = session.clients().await?;
    let current = s3::observe_document(&clients.s3, &spec.bucket, &spec.key).await?;
    let changed = !document_is_current(&document, spec.page_max_age, current.as_ref());
    let mut report = Report {
        environment: session.environment.clone(),
        key: spec.key.to_string(),
        message,
        changed,
        applied: false,
        invalidation: None,
        invalidation_completed: false,
    };
    if request.dry_run {
        return out.result(&report);
    }
    if changed {
        s3::put_document(&clients.s3, &spec.bucket, &document, spec.page_max_age).await?;
        report.applied = true;
    }
    if request.invalidate {
        let id = cloudfront::find_distribution_id(&clients.cloudfront, &spec.distribution.comment)
            .await?
            .ok_or_else(|| not_provisioned(&session.environment))?;
        let inv =
            cloudfront::create_invalidation(&clients.cloudfront, &id, &["/*".to_string()]).await?;
        if request.wait {
            wait_invalidated(&clients, out, &id, &inv).await?;
            report.invalidation_completed = true;
        }
        report.invalidation = Some(inv);
    }
    out.result(&report)
}
