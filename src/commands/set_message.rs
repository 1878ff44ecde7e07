//! `maint set-message`: render the message into the page and upload it only
//! when the page changed: one HEAD when it did not, one HEAD and one PUT when
//! it did (plus, with `--invalidate`, the check of the distribution the page
//! records, beside the PUT, and the invalidation; a second PUT corrects a
//! stale record).

use std::fmt;
use std::io::Read as _;
use std::path::PathBuf;

use anyhow::{Context as _, Result};
use serde::Serialize;

use super::{Output, Session, not_provisioned, wait_invalidated};
use crate::aws::{distribution, invalidation, page};
use crate::config::check_message;
use crate::site::plan::page_is_current;

#[derive(Debug, Clone)]
pub struct Request {
    pub message: Option<String>,
    pub file: Option<PathBuf>,
    pub invalidate: bool,
    pub wait: bool,
    /// Where `--wait` requests the live site (default: the distribution's domain).
    pub url: Option<String>,
    pub dry_run: bool,
}

#[derive(Debug, Serialize)]
pub struct SetMessageReport {
    pub environment: String,
    pub key: String,
    pub message: String,
    pub changed: bool,
    pub applied: bool,
    pub invalidation_id: Option<String>,
    pub invalidation_completed: bool,
}

impl fmt::Display for SetMessageReport {
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
        if let Some(id) = &self.invalidation_id {
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

/// How much of a message file is read: far more than a message may hold,
/// far less than a mistake like `-f /dev/zero` would feed.
const MAX_FILE_BYTES: u64 = 64 * 1024;

fn read_capped(reader: impl std::io::Read, name: &str) -> Result<String> {
    let mut bytes = Vec::new();
    reader
        .take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read the message from {name}"))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        anyhow::bail!(
            "{name} holds more than {MAX_FILE_BYTES} bytes: a message is at most {} bytes",
            crate::config::MAX_MESSAGE_BYTES
        );
    }
    String::from_utf8(bytes).with_context(|| format!("{name} is not UTF-8 text"))
}

pub(crate) fn read_message(request: &Request, default: &str) -> Result<String> {
    let message = match (&request.message, &request.file) {
        (Some(m), _) => m.clone(),
        (None, Some(path)) if path.as_os_str() == "-" => {
            read_capped(std::io::stdin().lock(), "standard input")?
        }
        (None, Some(path)) => {
            let file = std::fs::File::open(path)
                .with_context(|| format!("cannot read the message file {}", path.display()))?;
            read_capped(file, &path.display().to_string())?
        }
        (None, None) => default.to_string(),
    };
    // Files written on Windows end their lines with CRLF.
    let message = message.replace("\r\n", "\n");
    // A file usually ends with a newline nobody means to show.
    let message = message.trim_end_matches(['\n', '\r']).to_string();
    check_message(&message).map_err(anyhow::Error::msg)?;
    Ok(message)
}

pub async fn run(session: &Session, out: &Output, request: Request) -> Result<()> {
    let site = session.site()?;
    let spec = &site.spec;
    let message = read_message(&request, &spec.default_message).map_err(crate::output::usage)?;
    let document = site.page(&message)?;
    let clients = session.clients().await?;
    // Which account, and the page as it is, at once: nothing is written
    // before the account is known.
    let (account, current) = tokio::join!(
        session.account(&clients, out),
        page::observe_page(&clients.s3, &spec.bucket, &spec.key)
    );
    // A wrong account is the error to show, whatever the read met.
    account?;
    let current = current?;
    let changed = !page_is_current(&document, spec.page_max_age, current.as_ref());
    let mut report = SetMessageReport {
        environment: session.environment.clone(),
        key: spec.key.to_string(),
        message,
        changed,
        applied: false,
        invalidation_id: None,
        invalidation_completed: false,
    };
    if request.dry_run {
        return out.result(&report);
    }
    let recorded = current.as_ref().and_then(|c| c.distribution());
    let find = async {
        distribution::site_distribution(&clients.cloudfront, &spec.distribution.comment, recorded)
            .await?
            .ok_or_else(|| not_provisioned(&session.environment))
    };
    let s3_client = &clients.s3;
    let upload = |record: Option<String>| {
        let document = document.clone().serving(record.as_deref());
        async move { page::put_page(s3_client, &spec.bucket, &document, spec.page_max_age).await }
    };
    let distribution = match (request.invalidate, changed, recorded) {
        (false, false, _) => None,
        (false, true, _) => {
            upload(recorded.map(str::to_string)).await?;
            report.applied = true;
            None
        }
        // The page records its distribution: the upload keeps that record
        // while the record is checked, one round trip instead of two. A
        // record found stale (rare: only a hand edit makes one) is
        // corrected by a second upload.
        (true, true, Some(recorded)) => {
            let (uploaded, found) = tokio::join!(upload(Some(recorded.to_string())), find);
            uploaded?;
            report.applied = true;
            let found = found.with_context(|| {
                format!(
                    "s3://{}/{} was updated, but no invalidation was made",
                    spec.bucket, spec.key
                )
            })?;
            if found.id != recorded {
                upload(Some(found.id.clone())).await.with_context(|| {
                    format!(
                        "s3://{}/{} was updated, but no invalidation was made",
                        spec.bucket, spec.key
                    )
                })?;
            }
            Some(found)
        }
        // No record yet: the distribution is found first, so that the new
        // page records it (the record is what spares the next run a listing).
        (true, true, None) => {
            let found = find.await?;
            upload(Some(found.id.clone())).await?;
            report.applied = true;
            Some(found)
        }
        (true, false, _) => Some(find.await?),
    };
    if let Some(found) = distribution {
        let id = &found.id;
        // Spaced across the environments of a run (CloudFront's rate for it).
        crate::progress::INVALIDATIONS.turn().await;
        let inv =
            invalidation::create_invalidation(&clients.cloudfront, id, &["/*".to_string()]).await?;
        if request.wait {
            wait_invalidated(&clients, out, id, &inv).await?;
            report.invalidation_completed = true;
            // The page just uploaded, at the distribution just found: the
            // wait asks AWS nothing more.
            super::verify::wait_for_page(
                out,
                &document,
                &spec.key,
                &found.domain,
                request.url.as_deref(),
            )
            .await?;
        }
        report.invalidation_id = Some(inv);
    }
    out.result(&report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from_file(text: &str) -> Result<String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.txt");
        std::fs::write(&path, text).unwrap();
        read_message(
            &Request {
                message: None,
                file: Some(path),
                invalidate: false,
                wait: false,
                url: None,
                dry_run: true,
            },
            "default",
        )
    }

    #[test]
    fn windows_line_ends_and_tabs_are_fine_other_controls_are_not() {
        assert_eq!(
            from_file("line one\r\n\tline two\r\n").unwrap(),
            "line one\n\tline two"
        );
        let err = from_file("a\rb").unwrap_err().to_string();
        assert!(err.contains("U+000D"), "{err}");
        let err = from_file(&"x".repeat(70_000)).unwrap_err().to_string();
        assert!(err.contains("more than 65536 bytes"), "{err}");
    }
}
