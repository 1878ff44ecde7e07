//! `maint verify`: request the live site the way visitors do and check that
//! they get what maint configured: the page with a 503 on every path and
//! method (site mode); the window's page while it is on, the origin while it
//! is off, and the team's bypass (window mode). Exit 3 when they do not.

use std::fmt;

use anyhow::Result;
use serde::Serialize;

use super::{Output, Session, not_provisioned};
use crate::aws::Clients;
use crate::aws::distribution;
use crate::aws::store;
use crate::checks::{Check, CheckOutcome, Expect, cookie_from, site_checks, window_checks};
use crate::output::{Failure, Kind};
use crate::site::page::Page;
use crate::site::plan::desired_message;
use crate::values::PageKey;
use crate::window::{BYPASS_COOKIE, BYPASS_PARAM, State, WindowSpec, now_epoch};

/// What `verify` found.
#[derive(Debug, Serialize)]
pub struct VerifyReport {
    pub environment: String,
    /// Where the requests went.
    pub urls: Vec<String>,
    pub checks: Vec<CheckOutcome>,
    pub passed: bool,
}

impl fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "Verified `{}` at {}:",
            self.environment,
            self.urls.join(", ")
        )?;
        for c in &self.checks {
            if c.passed {
                writeln!(f, "  ✓ {}: {}", c.request, c.got)?;
            } else {
                writeln!(
                    f,
                    "  ✗ {}: expected {}; got {}",
                    c.request, c.expected, c.got
                )?;
            }
        }
        let failed = self.checks.iter().filter(|c| !c.passed).count();
        if failed == 0 {
            write!(f, "Visitors get what maint configured.")
        } else {
            write!(
                f,
                "{failed} of {} checks failed: visitors do not get what maint configured.",
                self.checks.len()
            )
        }
    }
}

/// A site to request: its base URL, and the Host header when `--url` points
/// elsewhere (a local edge serves distributions by their domain name).
struct Target {
    base: String,
    host: Option<String>,
}

fn target(domain: &str, url: Option<&str>) -> Target {
    match url {
        Some(url) => Target {
            base: url.to_string(),
            host: Some(domain.to_string()),
        },
        None => Target {
            base: format!("https://{domain}"),
            host: None,
        },
    }
}

async fn run_check(
    check: &Check,
    target: &Target,
    extra: &[(&str, &str)],
) -> (CheckOutcome, Option<crate::http::Reply>) {
    let mut headers: Vec<(&str, &str)> = check
        .headers
        .iter()
        .map(|(k, v)| (*k, v.as_str()))
        .collect();
    headers.extend_from_slice(extra);
    match crate::http::request(
        check.method,
        &target.base,
        &check.path,
        target.host.as_deref(),
        &headers,
    )
    .await
    {
        Ok(reply) => (check.judge(Ok(&reply)), Some(reply)),
        Err(e) => (check.judge(Err(format!("{e:#}"))), None),
    }
}

pub async fn run(session: &Session, out: &Output, url: Option<String>) -> Result<()> {
    let clients = session.clients().await?;
    let report = verify(session, &clients, url.as_deref()).await?;
    out.result(&report)?;
    if !report.passed {
        let failed = report.checks.iter().filter(|c| !c.passed).count();
        return Err(Failure::new(
            Kind::Drift,
            format!(
                "`{}` does not serve what maint configured: {failed} of {} checks failed",
                session.environment,
                report.checks.len()
            ),
        )
        .into());
    }
    Ok(())
}

/// Runs every check of the environment's site and window.
pub async fn verify(
    session: &Session,
    clients: &Clients,
    url: Option<&str>,
) -> Result<VerifyReport> {
    let mut checks = Vec::new();
    let mut urls = Vec::new();
    if let Some(site) = &session.site {
        let (observed, _) = site.observe(clients).await?;
        let Some(dist) = &observed.distribution else {
            return Err(not_provisioned(&session.environment));
        };
        let spec = &site.spec;
        let message = desired_message(spec, &observed);
        let document = site.page(&message)?;
        let page = String::from_utf8_lossy(&document.body).to_string();
        let target = target(&dist.domain, url);
        urls.push(target.base.clone());
        for check in site_checks(document.content_type(), &page, &spec.key.page_path()) {
            checks.push(run_check(&check, &target, &[]).await.0);
        }
    }
    if let Some(window) = &session.window {
        let target = window_target(window, clients, url).await?;
        urls.push(target.base.clone());
        let (on, message) = window_state(window, clients).await?;
        for check in window_checks(on, &message) {
            checks.push(run_check(&check, &target, &[]).await.0);
        }
        if let Some(secret) = bypass_secret(window) {
            checks.extend(bypass_checks(&target, &secret, on).await);
        }
    }
    let passed = checks.iter().all(|c| c.passed);
    Ok(VerifyReport {
        environment: session.environment.clone(),
        urls,
        checks,
        passed,
    })
}

async fn window_target(spec: &WindowSpec, clients: &Clients, url: Option<&str>) -> Result<Target> {
    let domain =
        distribution::distribution_domain(&clients.cloudfront, spec.distribution.as_str()).await?;
    Ok(target(&domain, url))
}

/// How long `set-message --wait` waits for the live site to serve the new
/// page once the invalidation completed.
const SITE_WAIT: std::time::Duration = std::time::Duration::from_secs(600);

/// Polls the live site until `verify`'s site checks pass for `document`
/// (the page just uploaded): every path and method gets it. Only the live
/// site is asked: the caller knows the page and the distribution's domain.
pub async fn wait_for_page(
    out: &Output,
    document: &Page,
    key: &PageKey,
    domain: &str,
    url: Option<&str>,
) -> Result<()> {
    let page = String::from_utf8_lossy(&document.body).to_string();
    let checks = site_checks(document.content_type(), &page, &key.page_path());
    let target = target(domain, url);
    crate::progress::wait_for("the live site", SITE_WAIT, out.waits(), || async {
        let mut outcomes = Vec::new();
        for check in &checks {
            outcomes.push(run_check(check, &target, &[]).await.0);
        }
        unreachable(&outcomes, &target.base)?;
        let passed = outcomes.iter().filter(|o| o.passed).count();
        let done = passed == checks.len();
        let status = if done {
            "serves the new page".to_string()
        } else {
            format!("{passed} of {} checks serve the new page", checks.len())
        };
        Ok((status, done))
    })
    .await
}

/// Waiting is for a site that answers the old way, not for one that cannot
/// be reached at all: that fails at once, saying so.
pub fn unreachable(outcomes: &[CheckOutcome], base: &str) -> Result<()> {
    if let Some(first) = outcomes.first()
        && outcomes.iter().all(|o| !o.answered)
    {
        return Err(Failure::new(
            Kind::Runtime,
            format!("cannot reach the live site at {base}: {}", first.got),
        )
        .hint("check the network from here, or point --url at the site")
        .into());
    }
    Ok(())
}

/// Runs `checks` once against the site at `domain` (or `url`).
pub async fn run_checks_at(domain: &str, url: Option<&str>, checks: &[Check]) -> Vec<CheckOutcome> {
    let target = target(domain, url);
    let mut outcomes = Vec::new();
    for check in checks {
        outcomes.push(run_check(check, &target, &[]).await.0);
    }
    outcomes
}

/// Whether the window is on now, and the message visitors should read.
pub async fn window_state(spec: &WindowSpec, clients: &Clients) -> Result<(bool, String)> {
    let state = match store::find_store(&clients.cloudfront, &spec.store_name()).await? {
        Some(store) => store::get_state(&clients.kvs, &store.arn).await?,
        None => None,
    };
    Ok(State::visible_at(
        state.as_ref(),
        now_epoch(),
        &spec.default_message,
    ))
}

/// The team's secret, when the config names one and it is set here.
fn bypass_secret(spec: &WindowSpec) -> Option<String> {
    let var = spec.secret_env.as_ref()?;
    std::env::var(var).ok().filter(|s| !s.is_empty())
}

/// The bypass link sets the cookie, and the cookie lets the visitor through
/// while the window is on.
async fn bypass_checks(target: &Target, secret: &str, on: bool) -> Vec<CheckOutcome> {
    if !on {
        return Vec::new();
    }
    let link = Check {
        mode: "window",
        who: "a teammate's bypass link",
        method: "GET",
        path: format!("/?{BYPASS_PARAM}={secret}"),
        headers: vec![("accept", "text/html".into())],
        expect: Expect::BypassRedirect {
            cookie: BYPASS_COOKIE,
        },
    };
    let (mut outcome, reply) = run_check(&link, target, &[]).await;
    // The secret is never shown.
    outcome.request = format!("GET /?{BYPASS_PARAM}=… (a teammate's bypass link)");
    let mut outcomes = vec![outcome];
    if let Some(cookie) = reply.as_ref().and_then(|r| cookie_from(r, BYPASS_COOKIE)) {
        let with_cookie = Check {
            mode: "window",
            who: "a teammate with the bypass cookie",
            method: "GET",
            path: "/".into(),
            headers: vec![("accept", "text/html".into())],
            expect: Expect::Origin,
        };
        let header = format!("{BYPASS_COOKIE}={cookie}");
        outcomes.push(
            run_check(&with_cookie, target, &[("cookie", header.as_str())])
                .await
                .0,
        );
    }
    outcomes
}
