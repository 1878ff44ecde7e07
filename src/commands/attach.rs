//! `maint attach`: install the window on the environment's distribution:
//! the KeyValueStore, the function (tested on CloudFront's engine before it
//! is published), the bypass hash and the association, on the converge engine.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Result, bail};
use serde::Serialize;

use super::{Output, Session, wait_deployed};
use crate::aws::Clients;
use crate::aws::{association, function, observe, store};
use crate::converge::{Change, Converge, converge};
use crate::window::plan::{AttachStep, ObservedWindow, Store, attach_plan};
use crate::window::{BYPASS_KEY, WindowSpec, bypass_hash, covered, secret_from_env};

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

use super::gate::COMPUTE_UTILIZATION_WARNING;
pub use super::gate::FunctionTest;

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
            if let Some(test) = &self.function_test {
                writeln!(
                    f,
                    "CloudFront's TestFunction ran the code now LIVE on {} requests (the page, the \
                     JSON body, the bypass and the pass-throughs, in {} store states) as the scratch \
                     function {}, since removed; every answer was as expected (highest compute \
                     utilization {}).",
                    test.requests,
                    test.probes
                        .iter()
                        .map(|p| p.state.as_str())
                        .collect::<std::collections::BTreeSet<_>>()
                        .len(),
                    test.function,
                    test.compute_utilization
                        .map_or_else(|| "not reported".to_string(), |u| format!("{u} of 100"))
                )?;
            }
            write!(
                f,
                "Attached the window to {} ({behaviors}). Switch it with `maint on` and `maint off`.",
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
        observe::window(self.spec, self.clients, self.secret_hash.is_some()).await
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
                let comment = format!("maint: maintenance window state for {distribution}");
                store = Some(ready_store(clients, &store_name, &comment, out).await?);
            }
            AttachStep::CreateFunction { .. } | AttachStep::UpdateFunction { .. } => {
                let Some(s) = &store else {
                    bail!("internal: the function needs its key value store first");
                };
                let comment = format!("maint: maintenance window for {distribution}");
                let (arn, tag) = match (step, &etag) {
                    (AttachStep::UpdateFunction { .. }, Some(tag)) => {
                        let tag = function::update_function(
                            cf,
                            &function_name,
                            tag,
                            &spec.code,
                            &comment,
                            &s.arn,
                        )
                        .await?;
                        (function_arn.clone().unwrap_or_default(), tag)
                    }
                    _ => {
                        function::create_function(cf, &function_name, &spec.code, &comment, &s.arn)
                            .await?
                    }
                };
                function_arn = Some(arn);
                etag = Some(tag);
            }
            AttachStep::TestFunction { .. } => {
                tested = Some(super::gate::go_live(spec, clients, out).await?);
            }
            AttachStep::PublishFunction { .. } => {
                function::publish_function(cf, &function_name, etag.as_deref().unwrap_or_default())
                    .await?;
            }
            AttachStep::SetBypassSecret => {
                let (Some(s), Some(hash)) = (&store, secret_hash) else {
                    bail!("internal: the bypass hash needs the store and a secret");
                };
                store::put_key(&clients.kvs, &s.arn, BYPASS_KEY, hash).await?;
            }
            AttachStep::Associate { .. } => {
                let Some(arn) = &function_arn else {
                    bail!("internal: associating needs the function's ARN");
                };
                association::associate(cf, distribution, covered, arn, &function_name).await?;
            }
        }
    }
    Ok(tested)
}

/// Creates the store `name` (or finds the one an earlier run made) and
/// waits until it is READY: a new store is PROVISIONING for a moment, and
/// functions need it READY.
pub(super) async fn ready_store(
    clients: &Clients,
    name: &str,
    comment: &str,
    out: &Output,
) -> Result<Store> {
    let cf = &clients.cloudfront;
    store::create_store(cf, name, comment).await?;
    crate::progress::wait_for(
        &format!("key value store {name}"),
        Duration::from_secs(300),
        out.waits().paced(),
        || async {
            let found = store::find_store(cf, name).await?;
            let status = found.map(|s| s.status).unwrap_or_default();
            let done = status.eq_ignore_ascii_case("ready");
            Ok((status, done))
        },
    )
    .await?;
    match store::find_store(cf, name).await? {
        Some(store) => Ok(store),
        None => bail!("key value store {name} was created but cannot be read back"),
    }
}

/// Now, in seconds since the epoch.
pub(super) fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or_default()
}
