//! Window mode's commands: `attach` and `detach` install and remove the
//! function, its store and its association; `on` and `off` are one store
//! write each; `function` prints the code for review.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Result, bail};
use serde::Serialize;

use super::{Output, Session, wait_deployed};
use crate::aws::window as adapter;
use crate::aws::{Clients, window::FunctionState, window::Store};
use crate::config::check_message;
use crate::converge::{Action, Change, Converge, converge};
use crate::window::{
    BYPASS_KEY, Behavior, RUNTIME, STATE_KEY, Slot, State, WindowSpec, bypass_hash, covered,
    secret_from_env,
};

/// One change `attach` makes, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttachStep {
    CreateStore {
        name: String,
    },
    CreateFunction {
        name: String,
        bytes: usize,
    },
    UpdateFunction {
        name: String,
        bytes: usize,
    },
    /// CloudFront's TestFunction runs the new code on its own engine before
    /// anything is published (see `crate::window::probes`).
    TestFunction {
        name: String,
        requests: usize,
    },
    PublishFunction {
        name: String,
    },
    SetBypassSecret,
    Associate {
        behaviors: Vec<String>,
    },
}

impl fmt::Display for AttachStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::CreateStore { name } => write!(f, "+ create key value store {name}"),
            Self::CreateFunction { name, bytes } => {
                write!(f, "+ create function {name} ({RUNTIME}, {bytes} bytes)")
            }
            Self::UpdateFunction { name, bytes } => {
                write!(f, "~ update function {name} ({bytes} bytes)")
            }
            Self::TestFunction { name, requests } => write!(
                f,
                "~ test function {name} on CloudFront's engine ({requests} requests), before it can go live"
            ),
            Self::PublishFunction { name } => write!(f, "+ publish function {name} (LIVE)"),
            Self::SetBypassSecret => {
                write!(f, "~ store the bypass secret's hash (never the secret)")
            }
            Self::Associate { behaviors } => write!(
                f,
                "~ run the function on viewer-request for behaviors {}",
                behaviors
                    .iter()
                    .map(|b| format!("`{b}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
}

impl crate::converge::Step for AttachStep {
    fn change(&self) -> Change {
        let (action, resource, detail) = match self {
            Self::CreateStore { name } => (
                Action::Create,
                format!("key value store {name}"),
                String::new(),
            ),
            Self::CreateFunction { name, bytes } => (
                Action::Create,
                format!("function {name}"),
                format!("{RUNTIME}, {bytes} bytes"),
            ),
            Self::UpdateFunction { name, bytes } => (
                Action::Update,
                format!("function {name}"),
                format!("{bytes} bytes"),
            ),
            Self::TestFunction { name, requests } => (
                Action::Test,
                format!("function {name}"),
                format!("TestFunction on {requests} requests before publishing"),
            ),
            Self::PublishFunction { name } => (
                Action::Update,
                format!("function {name}"),
                "publish (LIVE)".to_string(),
            ),
            Self::SetBypassSecret => (
                Action::Update,
                "key value store entry bypass".to_string(),
                "the bypass secret's hash".to_string(),
            ),
            Self::Associate { behaviors } => (
                Action::Update,
                "distribution".to_string(),
                format!("viewer-request function on {}", behaviors.join(", ")),
            ),
        };
        Change {
            action,
            resource,
            detail,
        }
    }
}

/// What AWS has for a window now.
#[derive(Debug, Clone)]
pub struct ObservedWindow {
    pub store: Option<Store>,
    pub function: Option<FunctionState>,
    pub behaviors: Vec<Behavior>,
    /// The stored bypass hash (read only when a secret is configured).
    pub bypass_hash: Option<String>,
}

/// The diff for `attach`. Pure.
pub fn attach_plan(
    spec: &WindowSpec,
    covered: &[String],
    secret_hash: Option<&str>,
    observed: &ObservedWindow,
) -> Vec<AttachStep> {
    let name = spec.function_name();
    let bytes = spec.code.len();
    let mut steps = Vec::new();
    if observed.store.is_none() {
        steps.push(AttachStep::CreateStore {
            name: spec.store_name(),
        });
    }
    let publish = match &observed.function {
        None => {
            steps.push(AttachStep::CreateFunction {
                name: name.clone(),
                bytes,
            });
            true
        }
        Some(f) => {
            let store_ok = observed
                .store
                .as_ref()
                .is_some_and(|s| f.store_arns == [s.arn.clone()]);
            let changed = f.code != spec.code.as_bytes() || f.runtime != RUNTIME || !store_ok;
            if changed {
                steps.push(AttachStep::UpdateFunction {
                    name: name.clone(),
                    bytes,
                });
            }
            changed || f.live_code.as_deref() != Some(spec.code.as_bytes())
        }
    };
    if publish {
        steps.push(AttachStep::TestFunction {
            name: name.clone(),
            requests: crate::window::probes(spec, None, 0).len(),
        });
        steps.push(AttachStep::PublishFunction { name });
    }
    if let Some(hash) = secret_hash
        && observed.bypass_hash.as_deref() != Some(hash)
    {
        steps.push(AttachStep::SetBypassSecret);
    }
    let associated = observed
        .behaviors
        .iter()
        .all(|b| covered.contains(&b.pattern) == (b.slot == Slot::Ours));
    if !associated {
        steps.push(AttachStep::Associate {
            behaviors: covered.to_vec(),
        });
    }
    steps
}

/// What `attach` did.
#[derive(Debug, Serialize)]
pub struct AttachReport {
    pub environment: String,
    pub distribution_id: String,
    pub plan: Vec<Change>,
    pub applied: bool,
    /// The cache behaviors the window covers, by path pattern (`*` is the default).
    pub covered: Vec<String>,
    /// What CloudFront's TestFunction reported, when the code was tested.
    pub function_test: Option<FunctionTest>,
    /// What the user should know although it worked.
    pub warnings: Vec<String>,
}

/// The new code, run on CloudFront's own engine before publishing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FunctionTest {
    pub requests: usize,
    /// The highest ComputeUtilization of the runs: the share of the time
    /// limit used, 0-100.
    pub compute_utilization: Option<u32>,
}

/// ComputeUtilization is the share of CloudFront's time limit a run used;
/// at 100 the function is throttled. Above 70 leaves little headroom for a
/// slower edge or a longer request, so attach warns.
pub const COMPUTE_UTILIZATION_WARNING: u32 = 70;

impl fmt::Display for AttachReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let behaviors = self
            .covered
            .iter()
            .map(|b| format!("`{b}`"))
            .collect::<Vec<_>>()
            .join(", ");
        if self.plan.is_empty() {
            write!(
                f,
                "The window is attached to {} ({behaviors}). Switch it with `maint on` and \
                 `maint off`.",
                self.distribution_id
            )
        } else if self.applied {
            write!(
                f,
                "Attached the window to {} ({behaviors}); it is off. Switch it with `maint on` and \
                 `maint off`.",
                self.distribution_id
            )
        } else {
            write!(
                f,
                "Dry run: nothing was changed. Run without --dry-run to apply."
            )
        }
    }
}

async fn observe(
    spec: &WindowSpec,
    clients: &Clients,
    with_secret: bool,
) -> Result<ObservedWindow> {
    let cf = &clients.cloudfront;
    let (store_name, function_name) = (spec.store_name(), spec.function_name());
    let (behaviors, store, function) = tokio::try_join!(
        adapter::behaviors(cf, spec.distribution.as_str(), &function_name),
        adapter::find_store(cf, &store_name),
        adapter::find_function(cf, &function_name),
    )?;
    let bypass_hash = match (&store, with_secret) {
        (Some(store), true) => adapter::get_key(&clients.kvs, &store.arn, BYPASS_KEY).await?,
        _ => None,
    };
    Ok(ObservedWindow {
        store,
        function,
        behaviors,
        bypass_hash,
    })
}

pub async fn attach(session: &Session, out: &Output, dry_run: bool, no_wait: bool) -> Result<()> {
    let spec = session.window()?;
    // Everything that can be wrong locally is checked before the first call.
    let secret_hash = secret_from_env(spec)
        .map_err(crate::output::config_error)?
        .map(|s| bypass_hash(&s));
    let clients = session.changing_clients(out).await?;
    let options = AttachOptions {
        environment: &session.environment,
        secret_hash: secret_hash.as_deref(),
        dry_run,
        no_wait,
    };
    let report = attach_with(spec, &clients, out, &options).await?;
    out.result(&report)
}

pub struct AttachOptions<'a> {
    pub environment: &'a str,
    pub secret_hash: Option<&'a str>,
    pub dry_run: bool,
    pub no_wait: bool,
}

/// The window of one environment, attached.
struct Attach<'a> {
    spec: &'a WindowSpec,
    clients: &'a Clients,
    environment: &'a str,
    secret_hash: Option<&'a str>,
    /// What CloudFront's TestFunction said, once run.
    tested: Option<FunctionTest>,
}

impl Attach<'_> {
    fn covered(&self, observed: &ObservedWindow) -> Result<Vec<String>> {
        covered(&observed.behaviors, self.spec.behaviors.as_deref())
    }
}

impl Converge for Attach<'_> {
    type Observed = ObservedWindow;
    type Step = AttachStep;

    fn subject(&self) -> String {
        format!("the window of `{}`", self.environment)
    }

    async fn observe(&self) -> Result<ObservedWindow> {
        observe(self.spec, self.clients, self.secret_hash.is_some()).await
    }

    fn plan(&self, observed: &ObservedWindow) -> Result<Vec<AttachStep>> {
        let covered = self.covered(observed)?;
        Ok(attach_plan(self.spec, &covered, self.secret_hash, observed))
    }

    async fn apply(
        &mut self,
        steps: &[AttachStep],
        observed: ObservedWindow,
        out: &Output,
    ) -> Result<()> {
        let covered = self.covered(&observed)?;
        self.tested = apply_attach(
            self.spec,
            self.clients,
            out,
            steps,
            &covered,
            self.secret_hash,
            observed,
        )
        .await?;
        Ok(())
    }
}

pub async fn attach_with(
    spec: &WindowSpec,
    clients: &Clients,
    out: &Output,
    options: &AttachOptions<'_>,
) -> Result<AttachReport> {
    let mut target = Attach {
        spec,
        clients,
        environment: options.environment,
        secret_hash: options.secret_hash,
        tested: None,
    };
    let outcome = converge(&mut target, out, options.dry_run).await?;
    let covered = target.covered(&target.observe().await?)?;
    let mut report = AttachReport {
        environment: options.environment.to_string(),
        distribution_id: spec.distribution.to_string(),
        plan: outcome.changes(),
        applied: outcome.applied,
        covered,
        function_test: target.tested,
        warnings: Vec::new(),
    };
    if let Some(u) = report
        .function_test
        .as_ref()
        .and_then(|t| t.compute_utilization)
        && u > COMPUTE_UTILIZATION_WARNING
    {
        let warning = format!(
            "the window function used {u}% of CloudFront's compute limit on a test request \
             (keep it under {COMPUTE_UTILIZATION_WARNING}%): CloudFront may throttle it. Shorten \
             the page or the bypass lists"
        );
        out.warn(&warning);
        report.warnings.push(warning);
    }
    if outcome.applied
        && !options.no_wait
        && outcome
            .steps
            .iter()
            .any(|s| matches!(s, AttachStep::Associate { .. }))
    {
        wait_deployed(clients, out, spec.distribution.as_str()).await?;
    }
    Ok(report)
}

async fn apply_attach(
    spec: &WindowSpec,
    clients: &Clients,
    out: &Output,
    steps: &[AttachStep],
    covered: &[String],
    secret_hash: Option<&str>,
    observed: ObservedWindow,
) -> Result<Option<FunctionTest>> {
    let cf = &clients.cloudfront;
    let mut tested = None;
    let (store_name, function_name) = (spec.store_name(), spec.function_name());
    let distribution = spec.distribution.as_str();
    let mut store = observed.store;
    let mut etag = observed.function.as_ref().map(|f| f.etag.clone());
    let mut function_arn = observed.function.as_ref().map(|f| f.arn.clone());
    for step in steps {
        out.progress(format!("  applying: {step}"));
        match step {
            AttachStep::CreateStore { .. } => {
                adapter::create_store(cf, &store_name, distribution).await?;
                // A new store is PROVISIONING for a moment; functions need it READY.
                crate::progress::wait_for(
                    &format!("key value store {store_name}"),
                    Duration::from_secs(300),
                    out.quiet_waits(),
                    || async {
                        let found = adapter::find_store(cf, &store_name).await?;
                        let status = found.map(|s| s.status).unwrap_or_default();
                        let done = status.eq_ignore_ascii_case("ready");
                        Ok((status, done))
                    },
                )
                .await?;
                store = adapter::find_store(cf, &store_name).await?;
            }
            AttachStep::CreateFunction { .. } | AttachStep::UpdateFunction { .. } => {
                let Some(s) = &store else {
                    bail!("internal: the function needs its key value store first");
                };
                let (arn, tag) = match (step, &etag) {
                    (AttachStep::UpdateFunction { .. }, Some(tag)) => {
                        let tag = adapter::update_function(
                            cf,
                            &function_name,
                            tag,
                            &spec.code,
                            distribution,
                            &s.arn,
                        )
                        .await?;
                        (function_arn.clone().unwrap_or_default(), tag)
                    }
                    _ => {
                        adapter::create_function(
                            cf,
                            &function_name,
                            &spec.code,
                            distribution,
                            &s.arn,
                        )
                        .await?
                    }
                };
                function_arn = Some(arn);
                etag = Some(tag);
            }
            AttachStep::TestFunction { .. } => {
                let (Some(s), Some(tag)) = (&store, &etag) else {
                    bail!("internal: testing the function needs it and its store first");
                };
                let state = adapter::get_key(&clients.kvs, &s.arn, STATE_KEY)
                    .await?
                    .and_then(|v| State::from_value(&v));
                let result = test_on_cloudfront(clients, spec, tag, state.as_ref()).await?;
                out.progress(format!(
                    "  CloudFront ran the new code on {} requests and it answered as expected \
                     (compute utilization {} of 100)",
                    result.requests,
                    result
                        .compute_utilization
                        .map_or_else(|| "not reported".to_string(), |u| u.to_string())
                ));
                tested = Some(result);
            }
            AttachStep::PublishFunction { .. } => {
                adapter::publish_function(cf, &function_name, etag.as_deref().unwrap_or_default())
                    .await?;
            }
            AttachStep::SetBypassSecret => {
                let (Some(s), Some(hash)) = (&store, secret_hash) else {
                    bail!("internal: the bypass hash needs the store and a secret");
                };
                adapter::put_key(&clients.kvs, &s.arn, BYPASS_KEY, hash).await?;
            }
            AttachStep::Associate { .. } => {
                let Some(arn) = &function_arn else {
                    bail!("internal: associating needs the function's ARN");
                };
                adapter::associate(cf, distribution, covered, arn, &function_name).await?;
            }
        }
    }
    Ok(tested)
}

/// Runs the DEVELOPMENT code on CloudFront's engine (TestFunction) on the
/// probe requests, and stops unless every answer is what the store's state
/// calls for. Nothing is published, and the distribution is untouched, when
/// this fails.
async fn test_on_cloudfront(
    clients: &Clients,
    spec: &WindowSpec,
    etag: &str,
    state: Option<&State>,
) -> Result<FunctionTest> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or_default();
    let probes = crate::window::probes(spec, state, now);
    let name = spec.function_name();
    let mut worst: Option<u32> = None;
    for probe in &probes {
        let run = adapter::test_function(
            &clients.cloudfront,
            &name,
            etag,
            &serde_json::to_vec(&probe.event)?,
        )
        .await?;
        let refused = |why: String| {
            let logs = if run.logs.is_empty() {
                String::new()
            } else {
                format!(" (function logs: {})", run.logs.join(" | "))
            };
            anyhow::anyhow!(
                "CloudFront's engine rejected the new window function, so nothing was published \
                 and the distribution is unchanged. On {}, {why}{logs}. This is a fault in \
                 maint's function or in a custom template: run `maint function` to see the code, \
                 and report it",
                probe.request
            )
        };
        if let Some(error) = &run.error {
            return Err(refused(format!("AWS reported: {error}")));
        }
        probe
            .judge(run.output.as_deref().unwrap_or_default())
            .map_err(refused)?;
        worst = worst.max(run.compute_utilization);
    }
    Ok(FunctionTest {
        requests: probes.len(),
        compute_utilization: worst,
    })
}

/// One change `detach` makes, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DetachStep {
    /// Take the function off these behaviors, and wait until that is
    /// deployed (CloudFront refuses to delete a function a deployed config uses).
    Dissociate {
        behaviors: Vec<String>,
    },
    DeleteFunction {
        name: String,
    },
    DeleteStore {
        name: String,
    },
}

impl fmt::Display for DetachStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Dissociate { behaviors } => write!(
                f,
                "~ remove the function from behaviors {} and wait",
                behaviors
                    .iter()
                    .map(|b| format!("`{b}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Self::DeleteFunction { name } => write!(f, "- delete function {name}"),
            Self::DeleteStore { name } => write!(f, "- delete key value store {name}"),
        }
    }
}

impl crate::converge::Step for DetachStep {
    fn change(&self) -> Change {
        let (action, resource, detail) = match self {
            Self::Dissociate { behaviors } => (
                Action::Update,
                "distribution".to_string(),
                format!("no viewer-request function on {}", behaviors.join(", ")),
            ),
            Self::DeleteFunction { name } => {
                (Action::Delete, format!("function {name}"), String::new())
            }
            Self::DeleteStore { name } => (
                Action::Delete,
                format!("key value store {name}"),
                String::new(),
            ),
        };
        Change {
            action,
            resource,
            detail,
        }
    }
}

/// What `detach` removes, in order. Pure.
pub fn detach_plan(spec: &WindowSpec, observed: &ObservedWindow) -> Vec<DetachStep> {
    let ours: Vec<String> = observed
        .behaviors
        .iter()
        .filter(|b| b.slot == Slot::Ours)
        .map(|b| b.pattern.clone())
        .collect();
    let mut steps = Vec::new();
    if !ours.is_empty() {
        steps.push(DetachStep::Dissociate { behaviors: ours });
    }
    if observed.function.is_some() {
        steps.push(DetachStep::DeleteFunction {
            name: spec.function_name(),
        });
    }
    if observed.store.is_some() {
        steps.push(DetachStep::DeleteStore {
            name: spec.store_name(),
        });
    }
    steps
}

/// What `detach` did.
#[derive(Debug, Serialize)]
pub struct DetachReport {
    pub environment: String,
    pub distribution_id: String,
    pub plan: Vec<Change>,
    pub applied: bool,
}

impl fmt::Display for DetachReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.plan.is_empty() {
            write!(
                f,
                "Nothing to detach: {} has no maint window.",
                self.distribution_id
            )
        } else if self.applied {
            write!(f, "Detached the window from {}.", self.distribution_id)
        } else {
            write!(
                f,
                "Dry run: nothing was changed. Run without --dry-run to apply."
            )
        }
    }
}

pub async fn detach(session: &Session, out: &Output, dry_run: bool) -> Result<()> {
    let spec = session.window()?;
    let clients = session.changing_clients(out).await?;
    let report = detach_with(&session.environment, spec, &clients, out, dry_run).await?;
    out.result(&report)
}

struct Detach<'a> {
    spec: &'a WindowSpec,
    clients: &'a Clients,
    environment: &'a str,
}

impl Converge for Detach<'_> {
    type Observed = ObservedWindow;
    type Step = DetachStep;

    fn subject(&self) -> String {
        format!("detaching the window of `{}`", self.environment)
    }

    async fn observe(&self) -> Result<ObservedWindow> {
        observe(self.spec, self.clients, false).await
    }

    fn plan(&self, observed: &ObservedWindow) -> Result<Vec<DetachStep>> {
        Ok(detach_plan(self.spec, observed))
    }

    async fn apply(&mut self, steps: &[DetachStep], _: ObservedWindow, out: &Output) -> Result<()> {
        let (cf, id) = (&self.clients.cloudfront, self.spec.distribution.as_str());
        let function_name = self.spec.function_name();
        for step in steps {
            out.progress(format!("  applying: {step}"));
            match step {
                DetachStep::Dissociate { .. } => {
                    adapter::dissociate(cf, id, &function_name).await?;
                    wait_deployed(self.clients, out, id).await?;
                }
                DetachStep::DeleteFunction { name } => adapter::delete_function(cf, name).await?,
                DetachStep::DeleteStore { name } => adapter::delete_store(cf, name).await?,
            }
        }
        Ok(())
    }
}

pub async fn detach_with(
    environment: &str,
    spec: &WindowSpec,
    clients: &Clients,
    out: &Output,
    dry_run: bool,
) -> Result<DetachReport> {
    let mut target = Detach {
        spec,
        clients,
        environment,
    };
    let outcome = converge(&mut target, out, dry_run).await?;
    Ok(DetachReport {
        environment: environment.to_string(),
        distribution_id: spec.distribution.to_string(),
        plan: outcome.changes(),
        applied: outcome.applied,
    })
}

/// The longest window `maint on` takes: a year. Longer is surely a typo, and
/// a far end would overflow a clock (`--for 300000000000y`).
const MAX_WINDOW: Duration = Duration::from_secs(366 * 24 * 3600);

/// When a window ends: `--until` (RFC 3339, UTC) or `--for` (a duration).
pub fn window_end(
    until: Option<&str>,
    duration: Option<&str>,
    now: SystemTime,
) -> Result<Option<i64>> {
    let too_long = || {
        anyhow::anyhow!(
            "a maintenance window lasts at most a year: give an end within 366 days, or leave \
             --until/--for out and end it with `maint off`"
        )
    };
    let end = match (until, duration) {
        (Some(text), _) => humantime::parse_rfc3339_weak(text).map_err(|e| {
            anyhow::anyhow!("--until `{text}`: {e}; write a UTC time such as 2026-11-22T14:00:00Z")
        })?,
        (None, Some(text)) => {
            let d = humantime::parse_duration(text).map_err(|e| {
                anyhow::anyhow!("--for `{text}`: {e}; write a duration such as 90m, 2h or 1h30m")
            })?;
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

/// What `on` and `off` did: the window's state as the store now holds it.
#[derive(Debug)]
pub struct SwitchReport {
    pub environment: String,
    pub distribution: String,
    pub state: State,
}

impl Serialize for SwitchReport {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct as _;
        let mut s = serializer.serialize_struct("SwitchReport", 6)?;
        s.serialize_field("environment", &self.environment)?;
        s.serialize_field("distribution_id", &self.distribution)?;
        s.serialize_field("on", &self.state.on)?;
        s.serialize_field("until", &self.state.until.map(show_time))?;
        s.serialize_field("message", &self.state.message)?;
        s.serialize_field("retry_after", &self.state.retry_after)?;
        s.end()
    }
}

impl fmt::Display for SwitchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.state.on {
            write!(
                f,
                "Maintenance window ON for `{}` ({}), ",
                self.environment, self.distribution
            )?;
            match self.state.until {
                Some(until) => write!(f, "until {} (it ends by itself).", show_time(until))?,
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

fn show_time(epoch: i64) -> String {
    let secs = u64::try_from(epoch).unwrap_or_default();
    humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(secs)).to_string()
}

/// `maint on` / `maint off`: one write of the store's state key.
pub async fn switch(session: &Session, out: &Output, state: State) -> Result<()> {
    let spec = session.window()?;
    if let Some(message) = &state.message {
        check_message(message).map_err(|e| crate::output::usage(anyhow::Error::msg(e)))?;
    }
    // Checked before any call: a state that cannot be stored changes nothing.
    state.to_value()?;
    let clients = session.changing_clients(out).await?;
    let report = switch_with(&session.environment, spec, &clients, state).await?;
    out.result(&report)
}

pub async fn switch_with(
    environment: &str,
    spec: &WindowSpec,
    clients: &Clients,
    state: State,
) -> Result<SwitchReport> {
    let value = state.to_value()?;
    let Some(store) = adapter::find_store(&clients.cloudfront, &spec.store_name()).await? else {
        bail!(
            "the window of `{environment}` is not attached to {} yet: run `maint attach` first",
            spec.distribution
        );
    };
    adapter::put_key(&clients.kvs, &store.arn, STATE_KEY, &value).await?;
    Ok(SwitchReport {
        environment: environment.to_string(),
        distribution: spec.distribution.to_string(),
        state,
    })
}

/// The state `maint on` writes.
pub fn on_state(
    spec: &WindowSpec,
    message: Option<String>,
    until: Option<&str>,
    duration: Option<&str>,
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

#[derive(Debug, Serialize)]
pub struct FunctionCode {
    pub name: String,
    pub bytes: usize,
    pub code: String,
}

impl fmt::Display for FunctionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code)
    }
}

pub fn function(session: &Session, out: &Output) -> Result<()> {
    let spec = session.window()?;
    out.progress(format!(
        "// {} ({} of 10240 bytes)",
        spec.function_name(),
        spec.code.len()
    ));
    let code = FunctionCode {
        name: spec.function_name(),
        bytes: spec.code.len(),
        code: spec.code.clone(),
    };
    if out.json {
        return out.result(&code);
    }
    // Exactly the bytes CloudFront gets, so `maint function > f.js` can be diffed.
    print!("{}", code.code);
    Ok(())
}

/// Window mode's part of `maint status`.
#[derive(Debug, Serialize)]
pub struct WindowStatus {
    pub distribution_id: String,
    pub attached: bool,
    pub function_published: bool,
    pub function_current: bool,
    pub covered: Vec<String>,
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
        writeln!(
            f,
            "Attached      yes, on {}{}",
            self.covered
                .iter()
                .map(|b| format!("`{b}`"))
                .collect::<Vec<_>>()
                .join(", "),
            if self.function_current {
                ""
            } else {
                " (the function differs from the config: run `maint attach`)"
            }
        )?;
        write!(
            f,
            "State         {}",
            match (self.on, &self.until) {
                (true, Some(until)) => format!("ON until {until}"),
                (true, None) => "ON until `maint off`".to_string(),
                (false, _) => "off".to_string(),
            }
        )?;
        if let (true, Some(message)) = (self.on, &self.message) {
            write!(f, "\nMessage       {message}")?;
        }
        Ok(())
    }
}

pub async fn status(spec: &WindowSpec, clients: &Clients) -> Result<WindowStatus> {
    let observed = observe(spec, clients, false).await?;
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
        Some(store) => adapter::get_key(&clients.kvs, &store.arn, STATE_KEY)
            .await?
            .and_then(|v| State::from_value(&v)),
        None => None,
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or_default();
    let on = state.as_ref().is_some_and(|s| s.active_at(now));
    Ok(WindowStatus {
        distribution_id: spec.distribution.to_string(),
        attached: published && !covered.is_empty() && observed.store.is_some(),
        function_published: published,
        function_current: current,
        covered,
        on,
        until: state.as_ref().and_then(|s| s.until).map(show_time),
        message: state
            .and_then(|s| s.message)
            .or_else(|| Some(spec.default_message.clone())),
    })
}
