//! `maint revoke`: removes exactly what `grant` made (the policy, and the CI
//! role and OIDC provider when maint created them and nothing else uses them),
//! asking first like `destroy`, on the converge engine.

use std::fmt;

use anyhow::Result;
use serde::Serialize;
use serde_json::Value;

use super::grant::{
    Access, IAM_SETTLE, PrincipalReport, desired_ci, policy_name, principal_report,
    require_principal,
};
use super::{Output, Session, confirm};
use crate::aws::iam;
use crate::cli::Grantee;
use crate::converge::{Change, Converge, converge};
use crate::grant::plan::{DesiredAccess, ObservedAccess, RevokeStep, revoke_plan};

/// What `revoke` did.
#[derive(Debug, Serialize)]
pub struct RevokeReport {
    pub environment: String,
    pub principal: PrincipalReport,
    pub plan: Vec<Change>,
    pub applied: bool,
    /// What was left in place, and why.
    pub kept: Vec<String>,
}

impl fmt::Display for RevokeReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.plan.is_empty() {
            write!(
                f,
                "Nothing to revoke: {} {} has no maint access to `{}`.",
                self.principal.kind, self.principal.name, self.environment
            )?;
        } else if self.applied {
            write!(
                f,
                "Revoked the access of {} {} to `{}`.",
                self.principal.kind, self.principal.name, self.environment
            )?;
        } else {
            write!(
                f,
                "Dry run: nothing was changed. Run without --dry-run to apply."
            )?;
        }
        for k in &self.kept {
            write!(f, "\nKept {k}.")?;
        }
        Ok(())
    }
}

struct RevokeTarget<'a, 'b> {
    access: &'a mut Access<'b>,
    /// What the latest plan keeps, and why.
    kept: std::cell::RefCell<Vec<String>>,
}

impl Converge for RevokeTarget<'_, '_> {
    type Observed = ObservedAccess;
    type Step = RevokeStep;

    fn subject(&self) -> String {
        format!(
            "revoking the access of {} to `{}`",
            self.access.desired.principal, self.access.desired.environment
        )
    }

    async fn observe(&self) -> Result<ObservedAccess> {
        self.access.observe().await
    }

    fn plan(&self, observed: &ObservedAccess) -> Result<Vec<RevokeStep>> {
        let (steps, kept) = revoke_plan(self.access.desired, observed);
        // The first plan's notes are the ones to report: after apply, what
        // was removed no longer needs a reason to be kept.
        if self.kept.borrow().is_empty() {
            *self.kept.borrow_mut() = kept;
        }
        Ok(steps)
    }

    fn settle_time(&self) -> std::time::Duration {
        IAM_SETTLE
    }

    fn before_apply(&self, _steps: &[RevokeStep]) -> Result<()> {
        confirm(
            &self.access.desired.environment,
            self.access.revoke.unwrap_or(false),
            "revoke access to",
            &format!(
                "This removes the maint access of {} to",
                self.access.desired.principal
            ),
            "nothing was removed",
        )
    }

    async fn apply(&mut self, steps: &[RevokeStep], _: ObservedAccess, out: &Output) -> Result<()> {
        let iam_client = &self.access.clients.iam;
        for step in steps {
            out.progress(format!("  applying: {step}"));
            match step {
                RevokeStep::Detach {
                    policy_arn,
                    principal,
                } => iam::detach(iam_client, principal, policy_arn).await?,
                RevokeStep::DeletePolicy { arn } => iam::delete_policy(iam_client, arn).await?,
                RevokeStep::DeleteRole { name } => iam::delete_role(iam_client, name).await?,
                RevokeStep::DeleteProvider { arn } => iam::delete_provider(iam_client, arn).await?,
            }
        }
        Ok(())
    }
}

pub async fn revoke(
    session: &Session,
    out: &Output,
    grantee: &Grantee,
    yes: bool,
    dry_run: bool,
) -> Result<()> {
    let principal = require_principal(session, grantee, "revoke")?;
    let (clients, account) = session.changing_clients_in_account(out).await?;
    let name = policy_name(&session.environment, &principal);
    let desired = DesiredAccess {
        environment: session.environment.clone(),
        policy_arn: iam::policy_arn(&account, &name),
        policy_name: name,
        policy: Value::Null,
        ci: grantee.ci().as_ref().map(|ci| desired_ci(ci, &account)),
        principal,
        force: false,
    };
    let mut access = Access {
        desired: &desired,
        clients: &clients,
        account: &account,
        revoke: Some(yes),
    };
    let mut target = RevokeTarget {
        access: &mut access,
        kept: std::cell::RefCell::new(Vec::new()),
    };
    let outcome = converge(&mut target, out, dry_run).await?;
    let kept = target.kept.into_inner();
    out.result(&RevokeReport {
        environment: session.environment.clone(),
        principal: principal_report(&account, &desired.principal),
        plan: outcome.changes(),
        applied: outcome.applied,
        kept,
    })
}
