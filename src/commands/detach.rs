//! `maint detach`: take the window off the distribution and delete its
//! function and store, leaving the distribution as it was, on the converge
//! engine.

use std::fmt;

use anyhow::Result;
use serde::Serialize;

use super::{Output, Session, wait_deployed};
use crate::aws::Clients;
use crate::aws::{association, function, observe, store};
use crate::converge::{Change, Converge, converge};
use crate::window::WindowSpec;
use crate::window::plan::{DetachStep, ObservedWindow, detach_plan};

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
        observe::window(self.spec, self.clients, false).await
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
                    association::dissociate(cf, id, &function_name).await?;
                    wait_deployed(self.clients, out, id).await?;
                }
                DetachStep::DeleteFunction { name } => function::delete_function(cf, name).await?,
                DetachStep::DeleteStore { name } => store::delete_store(cf, name).await?,
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
    if !dry_run {
        super::gate::remove_leftovers(spec, clients, out).await?;
    }
    Ok(DetachReport {
        environment: environment.to_string(),
        distribution_id: spec.distribution.to_string(),
        plan: outcome.changes(),
        applied: outcome.applied,
    })
}
