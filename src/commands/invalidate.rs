//! `maint invalidate`: make CloudFront fetch the page again now.

use std::fmt;

use anyhow::{Result, bail};
use serde::Serialize;

use super::{Output, Session, not_provisioned, wait_invalidated};
use crate::aws::{distribution, invalidation};

#[derive(Debug, Serialize)]
pub struct InvalidateReport {
    pub environment: String,
    pub distribution_id: String,
    pub invalidation_id: String,
    pub paths: Vec<String>,
    pub invalidation_completed: bool,
}

impl fmt::Display for InvalidateReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Invalidation {} of {} on distribution {} {}.",
            self.invalidation_id,
            self.paths.join(" "),
            self.distribution_id,
            if self.invalidation_completed {
                "completed"
            } else {
                "started (use --wait to wait for it)"
            }
        )
    }
}

/// Characters CloudFront wants percent-encoded in an invalidation path:
/// RFC 1738's unsafe ones (all but `%`, which is how a path already
/// encoded says so) and, by `utf8_percent_encode`, every non-ASCII byte.
/// "Do not URL-encode any other characters in the path, or CloudFront will
/// not invalidate the old version of the updated file" (CloudFront Developer
/// Guide, "Specifying the files to invalidate").
const UNSAFE: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'<')
    .add(b'>')
    .add(b'"')
    .add(b'#')
    .add(b'{')
    .add(b'}')
    .add(b'|')
    .add(b'\\')
    .add(b'^')
    .add(b'~')
    .add(b'[')
    .add(b']')
    .add(b'`');

/// A path as CloudFront must receive it (see `UNSAFE`); a `%` that does
/// not start an escape (`/50%off.html`) is encoded too.
pub fn encode_path(path: &str) -> String {
    let bytes = path.as_bytes();
    let hex = |i: usize| bytes.get(i).is_some_and(u8::is_ascii_hexdigit);
    let mut escaped = String::with_capacity(path.len());
    for (i, c) in path.char_indices() {
        if c == '%' && !(hex(i + 1) && hex(i + 2)) {
            escaped.push_str("%25");
        } else {
            escaped.push(c);
        }
    }
    percent_encoding::utf8_percent_encode(&escaped, UNSAFE).to_string()
}

/// Paths with `*` a batch may hold: CloudFront allows 15 wildcard paths in
/// progress per distribution (Developer Guide, "Concurrent invalidation
/// request maximum").
pub const MAX_WILDCARDS: usize = 15;

/// CloudFront's rules for invalidation paths, checked before calling it;
/// the paths as they are to be sent (see `encode_path`).
pub fn prepare_paths(paths: &[String]) -> Result<Vec<String>> {
    if paths.is_empty() || paths.len() > 3000 {
        bail!("give 1 to 3000 paths to invalidate");
    }
    let mut encoded = Vec::with_capacity(paths.len());
    for path in paths {
        if !path.starts_with('/') {
            bail!(
                "invalidation path `{path}` must start with `/`, e.g. `/*` or `/maintenance.html`"
            );
        }
        let sent = encode_path(path);
        if sent.len() > 4000 || path.chars().any(char::is_control) {
            bail!("invalidation path `{path}` is too long or holds control characters");
        }
        if let Some(pos) = path.find('*')
            && pos != path.len() - 1
        {
            bail!("invalidation path `{path}`: `*` may only be the last character");
        }
        encoded.push(sent);
    }
    let wildcards = paths.iter().filter(|p| p.ends_with('*')).count();
    if wildcards > MAX_WILDCARDS {
        bail!(
            "{wildcards} paths end with `*`: CloudFront takes at most {MAX_WILDCARDS} wildcard \
             paths in progress per distribution. Use fewer (`/*` covers everything)"
        );
    }
    Ok(encoded)
}

pub async fn run(session: &Session, out: &Output, paths: Vec<String>, wait: bool) -> Result<()> {
    let site = session.site()?;
    let paths = prepare_paths(&paths).map_err(crate::output::usage)?;
    let clients = session.clients().await?;
    let spec = &site.spec;
    // Which account, and the page's record, at once: nothing is written
    // before the account is known.
    let (account, page) = tokio::join!(
        session.account(&clients, out),
        crate::aws::page::observe_page(&clients.s3, &spec.bucket, &spec.key)
    );
    // A wrong account is the error to show, whatever the read met.
    account?;
    let page = page?;
    let recorded = page.as_ref().and_then(|p| p.distribution());
    let id =
        distribution::site_distribution(&clients.cloudfront, &spec.distribution.comment, recorded)
            .await?
            .ok_or_else(|| not_provisioned(&session.environment))?
            .id;
    // Spaced across the environments of a run (CloudFront's rate for it).
    crate::progress::INVALIDATIONS.turn().await;
    let inv = invalidation::create_invalidation(&clients.cloudfront, &id, &paths).await?;
    out.progress(format!("Invalidation {inv} started."));
    if wait {
        wait_invalidated(&clients, out, &id, &inv).await?;
    }
    out.result(&InvalidateReport {
        environment: session.environment.clone(),
        distribution_id: id,
        invalidation_id: inv,
        paths,
        invalidation_completed: wait,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_follow_cloudfront_rules() {
        assert!(prepare_paths(&["/*".into()]).is_ok());
        assert!(prepare_paths(&["/a/b.html".into(), "/img/*".into()]).is_ok());
        assert!(
            prepare_paths(&["a.html".into()])
                .unwrap_err()
                .to_string()
                .contains("start with")
        );
        assert!(
            prepare_paths(&["/a*/b".into()])
                .unwrap_err()
                .to_string()
                .contains("last character")
        );
        assert!(prepare_paths(&[]).is_err());
        let many: Vec<String> = (0..16).map(|i| format!("/d{i}/*")).collect();
        let err = prepare_paths(&many).unwrap_err().to_string();
        assert!(err.contains("at most 15 wildcard"), "{err}");
        assert!(prepare_paths(&many[..15]).is_ok());
    }

    #[test]
    fn unsafe_and_non_ascii_characters_are_encoded_and_nothing_else() {
        assert_eq!(encode_path("/a b/café.html"), "/a%20b/caf%C3%A9.html");
        assert_eq!(
            encode_path("/x{1}|^~[`]\"#<>"),
            "/x%7B1%7D%7C%5E%7E%5B%60%5D%22%23%3C%3E"
        );
        // Already encoded, reserved and wildcard characters stay as they are.
        for kept in ["/a%20b", "/a/b-c_d.e!$&'()+,;=:@?q=1", "/img/*"] {
            assert_eq!(encode_path(kept), kept);
        }
        // A `%` that starts no escape is a character like any other.
        assert_eq!(encode_path("/50%off.html"), "/50%25off.html");
        assert_eq!(encode_path("/100%"), "/100%25");
    }
}
