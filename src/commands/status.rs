//! `maint status`: what AWS has for the environment, and where it drifted
//! from the config (the steps `provision` would take). Read-only.

use std::fmt;

use anyhow::Result;
use serde::Serialize;

use super::{Output, Session};
use crate::aws::Clients;
use crate::aws::invalidation::{self, InvalidationInfo};
use crate::aws::{observe, store};
use crate::converge::Change;
use crate::output::{Failure, Kind};
use crate::site::plan::{desired_message, plan};
use crate::window::{Slot, WindowSpec, rfc3339};

/// Everything `status` reports: the site, the window, or both.
#[derive(Debug, Serialize)]
pub struct Status {
    pub environment: String,
    pub site: Option<StatusReport>,
    pub window: Option<WindowStatus>,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(site) = &self.site {
            parts.push(site.to_string());
        }
        if let Some(window) = &self.window {
            parts.push(window.to_string());
        }
        write!(f, "{}", parts.join("\n\n"))
    }
}

/// Site mode's status.
#[derive(Debug, Serialize)]
pub struct StatusReport {
    pub environment: String,
    pub region: String,
    pub bucket: BucketStatus,
    pub page: Option<PageStatus>,
    pub distribution: Option<DistributionStatus>,
    pub invalidations: Vec<InvalidationInfo>,
    /// What `maint provision` would change; empty when in line with the config.
    pub drift: Vec<Change>,
    /// The same, as `provision` prints it.
    #[serde(skip)]
    pub drift_lines: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct BucketStatus {
    pub name: String,
    pub exists: bool,
    pub private: bool,
}

#[derive(Debug, Serialize)]
pub struct PageStatus {
    pub key: String,
    pub content_type: Option<String>,
    pub size: i64,
    pub message: Option<String>,
    pub last_modified: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct DistributionStatus {
    #[serde(rename = "distribution_id")]
    pub id: String,
    pub domain: String,
    pub url: String,
    pub enabled: bool,
    pub status: String,
    pub deployed: bool,
}

impl fmt::Display for StatusReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Environment   {} ({})", self.environment, self.region)?;
        let b = &self.bucket;
        writeln!(
            f,
            "Bucket        {} ({})",
            b.name,
            match (b.exists, b.private) {
                (false, _) => "missing",
                (true, true) => "private",
                (true, false) => "NOT fully private",
            }
        )?;
        match &self.page {
            Some(d) => {
                writeln!(
                    f,
                    "Page          {} ({}, {} bytes, changed {})",
                    d.key,
                    d.content_type.as_deref().unwrap_or("no content type"),
                    d.size,
                    d.last_modified.as_deref().unwrap_or("unknown")
                )?;
                writeln!(
                    f,
                    "Message       {}",
                    d.message.as_deref().unwrap_or("(not set by maint)")
                )?;
            }
            None => writeln!(f, "Page          missing")?,
        }
        match &self.distribution {
            Some(d) => {
                writeln!(
                    f,
                    "Distribution  {} {} ({}, {})",
                    d.id,
                    d.url,
                    if d.enabled { "enabled" } else { "disabled" },
                    d.status
                )?;
            }
            None => writeln!(f, "Distribution  missing")?,
        }
        for inv in &self.invalidations {
            writeln!(
                f,
                "Invalidation  {} {} ({})",
                inv.id, inv.status, inv.created
            )?;
        }
        if self.drift.is_empty() {
            write!(f, "Drift         none: AWS matches the config")
        } else {
            writeln!(f, "Drift         `maint provision` would:")?;
            let lines: Vec<String> = self.drift_lines.iter().map(|d| format!("  {d}")).collect();
            write!(f, "{}", lines.join("\n"))
        }
    }
}

pub async fn run(session: &Session, out: &Output, exit_code: bool) -> Result<()> {
    let clients = session.clients().await?;
    let site = match &session.site {
        Some(site) => Some(site_status(session, site, &clients).await?),
        None => None,
    };
    let window = match &session.window {
        Some(window) => Some(window_status(window, &clients).await?),
        None => None,
    };
    let status = Status {
        environment: session.environment.clone(),
        site,
        window,
    };
    out.result(&status)?;
    let mut drift = Vec::new();
    if let Some(site) = &status.site
        && !site.drift.is_empty()
    {
        drift.push(format!(
            "the site ({} change(s) to provision)",
            site.drift.len()
        ));
    }
    if let Some(window) = &status.window
        && window.attached
        && !window.not_served.is_empty()
    {
        drift.push(format!(
            "the window ({}; run `maint attach`)",
            window.not_served.join("; ")
        ));
    }
    if exit_code && !drift.is_empty() {
        return Err(Failure::new(
            Kind::Drift,
            format!(
                "environment `{}` differs from the config: {}",
                session.environment,
                drift.join("; ")
            ),
        )
        .into());
    }
    Ok(())
}

async fn site_status(
    session: &Session,
    site: &super::Site,
    clients: &crate::aws::Clients,
) -> Result<StatusReport> {
    let (observed, _) = site.observe(clients).await?;
    let spec = &site.spec;
    let message = desired_message(spec, &observed);
    let document = site.page(&message)?;
    let mut steps = plan(spec, &document, &observed).steps;
    steps.retain(|s| !s.is_housekeeping());
    let drift = steps.iter().map(crate::converge::Step::change).collect();
    let drift_lines = steps.iter().map(ToString::to_string).collect();
    let invalidations = match &observed.distribution {
        Some(d) => invalidation::recent_invalidations(&clients.cloudfront, &d.id, 5).await?,
        None => Vec::new(),
    };
    let report = StatusReport {
        environment: session.environment.clone(),
        region: spec.region.to_string(),
        bucket: BucketStatus {
            name: spec.bucket.to_string(),
            exists: observed.bucket.is_some(),
            private: observed
                .bucket
                .as_ref()
                .is_some_and(|b| b.public_access_blocked && b.owner_enforced),
        },
        page: observed.page.as_ref().map(|d| PageStatus {
            key: spec.key.to_string(),
            content_type: d.content_type.clone(),
            size: d.size,
            message: d.message(),
            last_modified: d.last_modified.clone(),
        }),
        distribution: observed.distribution.as_ref().map(|d| DistributionStatus {
            id: d.id.clone(),
            domain: d.domain.clone(),
            url: format!("https://{}/", d.domain),
            enabled: d.shape.enabled,
            status: d.status.to_string(),
            deployed: d.deployed(),
        }),
        invalidations,
        drift,
        drift_lines,
    };
    Ok(report)
}

/// Window mode's part of `maint status`.
#[derive(Debug, Serialize)]
pub struct WindowStatus {
    pub distribution_id: String,
    pub attached: bool,
    pub function_published: bool,
    pub function_current: bool,
    pub covered: Vec<String>,
    /// Whether the distribution runs maint's LIVE function, with the code
    /// the config renders, on every behavior the window covers.
    pub served: bool,
    /// Why not, when it does not.
    pub not_served: Vec<String>,
    pub on: bool,
    pub until: Option<String>,
    pub message: Option<String>,
}

impl fmt::Display for WindowStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Window        distribution {}", self.distribution_id)?;
        if !self.attached {
            return write!(f, "Attached      no: run `maint attach`");
        }
        let covered = if self.covered.is_empty() {
            "no behavior".to_string()
        } else {
            self.covered
                .iter()
                .map(|b| format!("`{b}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        writeln!(f, "Attached      yes, running on {covered}")?;
        if !self.served {
            writeln!(
                f,
                "Served        NO: {} (run `maint attach`, or add the association in the tool \
                 that owns the distribution)",
                self.not_served.join("; ")
            )?;
        }
        let state = match (self.on, &self.until) {
            (true, Some(until)) => format!("ON until {until}"),
            (true, None) => "ON until `maint off`".to_string(),
            (false, _) => "off".to_string(),
        };
        if self.on && !self.served {
            write!(
                f,
                "State         {state} in the store, NOT served: visitors get the site"
            )?;
        } else {
            write!(f, "State         {state}")?;
        }
        if let (true, Some(message)) = (self.on, &self.message) {
            write!(f, "\nMessage       {message}")?;
        }
        Ok(())
    }
}

pub async fn window_status(spec: &WindowSpec, clients: &Clients) -> Result<WindowStatus> {
    let observed = observe::window(spec, clients, false).await?;
    let covered: Vec<String> = observed
        .behaviors
        .iter()
        .filter(|b| b.slot == Slot::Ours)
        .map(|b| b.pattern.clone())
        .collect();
    let published = observed
        .function
        .as_ref()
        .is_some_and(|f| f.live_code.is_some());
    let current = observed
        .function
        .as_ref()
        .is_some_and(|f| f.live_code.as_deref() == Some(spec.code.as_bytes()));
    let state = match &observed.store {
        Some(store) => store::get_state(&clients.kvs, &store.arn).await?,
        None => None,
    };
    let on = state
        .as_ref()
        .is_some_and(|s| s.active_at(crate::window::now_epoch()));
    let not_served = crate::window::serving_gaps(
        spec,
        &observed.behaviors,
        observed
            .function
            .as_ref()
            .and_then(|f| f.live_code.as_deref()),
    );
    Ok(WindowStatus {
        distribution_id: spec.distribution.to_string(),
        // What attach made is there, whether or not the distribution still
        // runs it (another tool may have taken the association off).
        attached: observed.store.is_some() && observed.function.is_some(),
        function_published: published,
        function_current: current,
        covered,
        served: not_served.is_empty(),
        not_served,
        on,
        until: state.as_ref().and_then(|s| s.until).map(rfc3339),
        message: state
            .and_then(|s| s.message)
            .or_else(|| Some(spec.default_message.clone())),
    })
}
