//! `maint attach`: install the window on the environment's distribution:
//! the KeyValueStore, the function (tested on CloudFront's engine before it
//! is published), the bypass hash and the association, on the converge engine.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Result, bail};
use serde::Serialize;

use super::{Output, Session, wait_deployed};
use crate::aws::Clients;
use crate::aws::window as adapter;
use crate::converge::{Change, Converge, converge};
use crate::window::plan::{AttachStep, ObservedWindow, attach_plan};
use crate::window::{
    BYPASS_KEY, STATE_KEY, State, WindowSpec, bypass_hash, covered, secret_from_env,
};

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
const COMPUTE_UTILIZATION_WARNING: u32 = 70;

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
        adapter::observe(self.spec, self.clients, self.secret_hash.is_some()).await
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
                    out.waits().paced(),
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
