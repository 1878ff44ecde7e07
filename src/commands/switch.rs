//! `maint on` and `maint off`: one write each of the store's `state` key;
//! the window is live within seconds, with no distribution update.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Result, bail};
use serde::Serialize;

use super::{Output, Session};
use crate::aws::Clients;
use crate::aws::{association, function, store};
use crate::config::check_message;
use crate::window::{STATE_KEY, State, WindowSpec, rfc3339};

/// The longest window `maint on` takes: a year. Longer is surely a typo, and
/// a far end would overflow a clock (`--for 300000000000y`).
const MAX_WINDOW: Duration = Duration::from_secs(366 * 24 * 3600);

/// When a window ends: `--until` (a time) or `--for` (a duration), both
/// parsed by the CLI; here only their range is checked, against `now`.
pub fn window_end(
    until: Option<SystemTime>,
    duration: Option<Duration>,
    now: SystemTime,
) -> Result<Option<i64>> {
    let too_long = || {
        anyhow::anyhow!(
            "a maintenance window lasts at most a year: give an end within 366 days, or leave \
             --until/--for out and end it with `maint off`"
        )
    };
    let end = match (until, duration) {
        (Some(end), _) => end,
        (None, Some(d)) => {
            if d > MAX_WINDOW {
                return Err(too_long());
            }
            now.checked_add(d).ok_or_else(too_long)?
        }
        (None, None) => return Ok(None),
    };
    if end <= now {
        bail!("the window would end in the past: give a time after now");
    }
    if end.duration_since(now).unwrap_or_default() > MAX_WINDOW {
        return Err(too_long());
    }
    let secs = end
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    Ok(Some(i64::try_from(secs).unwrap_or(i64::MAX)))
}

/// What `on` and `off` did: the window's state as the store now holds it,
/// and whether the distribution serves it (read in the same round).
#[derive(Debug)]
pub struct SwitchReport {
    pub environment: String,
    pub distribution: String,
    pub state: State,
    /// Why visitors do not get what the store says; empty when they do.
    pub not_served: Vec<String>,
    /// When the distribution last changed (RFC 3339).
    pub distribution_changed: Option<String>,
    /// Where visitors reach the distribution (not in the JSON: `verify`
    /// reports it).
    pub domain: String,
}

impl Serialize for SwitchReport {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct as _;
        let mut s = serializer.serialize_struct("SwitchReport", 9)?;
        s.serialize_field("environment", &self.environment)?;
        s.serialize_field("distribution_id", &self.distribution)?;
        s.serialize_field("on", &self.state.on)?;
        s.serialize_field("until", &self.state.until.map(rfc3339))?;
        s.serialize_field("message", &self.state.message)?;
        s.serialize_field("retry_after", &self.state.retry_after)?;
        s.serialize_field("served", &self.not_served.is_empty())?;
        s.serialize_field("not_served", &self.not_served)?;
        s.serialize_field("distribution_changed", &self.distribution_changed)?;
        s.end()
    }
}

impl fmt::Display for SwitchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.state.on && !self.not_served.is_empty() {
            return write!(
                f,
                "The store of `{}` ({}) now says ON, but visitors do NOT get the page: {}.",
                self.environment,
                self.distribution,
                self.not_served.join("; ")
            );
        }
        if self.state.on {
            write!(
                f,
                "Maintenance window ON for `{}` ({}), ",
                self.environment, self.distribution
            )?;
            match self.state.until {
                Some(until) => write!(f, "until {} (it ends by itself).", rfc3339(until))?,
                None => write!(f, "until `maint off`.")?,
            }
            write!(
                f,
                " Visitors get the page within seconds; bypass rules apply."
            )
        } else {
            write!(
                f,
                "Maintenance window OFF for `{}` ({}): traffic flows to the origin within seconds.",
                self.environment, self.distribution
            )
        }
    }
}

/// `maint on` / `maint off`: one write of the store's state key.
pub async fn switch(
    session: &Session,
    out: &Output,
    state: State,
    wait: &crate::cli::WaitForEdge,
) -> Result<()> {
    let spec = session.window()?;
    if let Some(message) = &state.message {
        check_message(message).map_err(|e| crate::output::usage(anyhow::Error::msg(e)))?;
    }
    // Checked before any call: a state that cannot be stored changes nothing.
    state.to_value()?;
    let clients = session.changing_clients(out).await?;
    let report = switch_with(&session.environment, spec, &clients, state).await?;
    if !report.not_served.is_empty() {
        if report.state.on {
            out.result(&report)?;
            return Err(not_served(&report).after_result().into());
        }
        // Off is what visitors get either way: said, not failed.
        out.warn(format!(
            "the window is off, and would not be served when switched on: {}. Run `maint \
             attach` again",
            report.not_served.join("; ")
        ));
    }
    if wait.wait {
        wait_for_edge(spec, &report, out, wait.url.as_deref()).await?;
    }
    out.result(&report)
}

/// `on` while the distribution does not run maint's LIVE function: exit 3,
/// naming what is missing and the ways out. The store keeps "on" (the
/// operator's intent): the window is served as soon as the association
/// is back.
fn not_served(report: &SwitchReport) -> crate::output::Failure {
    crate::output::Failure::new(
        crate::output::Kind::Drift,
        format!(
            "`{}`: the store says ON, but visitors get the site: {} (distribution {} last \
             changed {}). The store keeps ON, so the page is served as soon as this is fixed",
            report.environment,
            report.not_served.join("; "),
            report.distribution,
            report
                .distribution_changed
                .as_deref()
                .unwrap_or("at an unknown time")
        ),
    )
    .hint(
        "run `maint attach` again, or add maint's function (viewer-request) in the tool that owns \
         the distribution (Terraform, CloudFormation, the CDK); `maint status` shows the effective \
         state",
    )
}

/// How long `--wait` waits for the edge to answer the new way. CloudFront
/// propagates a KeyValueStore write in seconds (no AWS figure).
const EDGE_WAIT: Duration = Duration::from_secs(600);

/// Polls the live site until `verify`'s window checks pass for the state
/// just written. Only the live site is asked: the switch knows the state
/// and, from the read beside its write, the distribution's domain.
async fn wait_for_edge(
    spec: &WindowSpec,
    report: &SwitchReport,
    out: &Output,
    url: Option<&str>,
) -> Result<()> {
    let (on, message) = State::visible_at(
        Some(&report.state),
        crate::window::now_epoch(),
        &spec.default_message,
    );
    let checks = crate::checks::window_checks(on, &message);
    crate::progress::wait_for("the live site", EDGE_WAIT, out.waits(), || async {
        let outcomes = super::verify::run_checks_at(&report.domain, url, &checks).await;
        super::verify::unreachable(&outcomes, url.unwrap_or("the distribution's domain"))?;
        let passed = outcomes.iter().filter(|o| o.passed).count();
        let done = passed == outcomes.len();
        let status = if done {
            format!(
                "answers as expected (window {})",
                if on { "on" } else { "off" }
            )
        } else {
            format!("{passed} of {} checks answer the new way", outcomes.len())
        };
        Ok((status, done))
    })
    .await
}

pub async fn switch_with(
    environment: &str,
    spec: &WindowSpec,
    clients: &Clients,
    state: State,
) -> Result<SwitchReport> {
    let value = state.to_value()?;
    let cf = &clients.cloudfront;
    let function = spec.function_name();
    // What visitors will get is read beside the write: no added round trip.
    let write = async {
        let Some(store) = store::find_store(cf, &spec.store_name()).await? else {
            bail!(
                "the window of `{environment}` is not attached to {} yet: run `maint attach` first",
                spec.distribution
            );
        };
        store::put_key(&clients.kvs, &store.arn, STATE_KEY, &value).await
    };
    let read = async {
        tokio::try_join!(
            association::serving(cf, spec.distribution.as_str(), &function),
            function::live_code(cf, &function)
        )
    };
    // The write finishes whatever the read answers.
    let (written, read) = tokio::join!(write, read);
    written?;
    let (serving, live) = read.map_err(|e| {
        e.context(format!(
            "the store of `{environment}` was written ({}), but what visitors get could not be \
             read",
            if state.on { "ON" } else { "off" }
        ))
    })?;
    Ok(SwitchReport {
        environment: environment.to_string(),
        distribution: spec.distribution.to_string(),
        state,
        not_served: crate::window::serving_gaps(spec, &serving.behaviors, live.as_deref()),
        distribution_changed: serving.last_modified,
        domain: serving.domain,
    })
}

/// The state `maint on` writes.
pub fn on_state(
    spec: &WindowSpec,
    message: Option<String>,
    until: Option<SystemTime>,
    duration: Option<Duration>,
) -> Result<State> {
    Ok(State {
        on: true,
        until: window_end(until, duration, SystemTime::now())?,
        message,
        retry_after: Some(spec.retry_after),
    })
}

pub fn off_state() -> State {
    State {
        on: false,
        until: None,
        message: None,
        retry_after: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_times_are_checked_against_the_clock() {
        let now = SystemTime::now();
        let hour = Duration::from_secs(3600);
        assert!(window_end(None, Some(hour), now).unwrap().is_some());
        let past = UNIX_EPOCH + Duration::from_secs(978_307_200);
        let err = window_end(Some(past), None, now).unwrap_err().to_string();
        assert!(err.contains("in the past"), "{err}");
        let err = window_end(None, Some(hour * 24 * 400), now)
            .unwrap_err()
            .to_string();
        assert!(err.contains("at most a year"), "{err}");
        let err = window_end(Some(now + hour * 24 * 400), None, now)
            .unwrap_err()
            .to_string();
        assert!(err.contains("at most a year"), "{err}");
        assert_eq!(window_end(None, None, now).unwrap(), None);
    }
}
