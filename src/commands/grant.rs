//! `maint grant`: least-privilege access to one
//! environment for a CI (through OIDC, no stored keys), a role or a user, on
//! the converge engine. The documents come from `crate::grant`; IAM is
//! reached through `crate::aws::iam`. `revoke.rs` undoes it with the same
//! view of IAM (`Access`).

use std::collections::BTreeSet;
use std::fmt;

use anyhow::Result;
use serde::Serialize;
use serde_json::Value;

use super::{Output, Session};
use crate::aws::{Clients, iam};
use crate::aws::{association, store};
use crate::cli::Grantee;
use crate::converge::{Change, Converge, converge};
use crate::grant::plan::{
    DesiredAccess, DesiredCi, GrantStep, ObservedAccess, ObservedPrincipal, Principal, grant_plan,
};
use crate::grant::trust::{Ci, trust_policy};
use crate::grant::{
    Comment, Dependencies, Operation, OperationList, Resources, SiteResources, WindowResources,
    policy,
};
use crate::output::usage;

/// Shown where only AWS knows the value (`--print`).
const ACCOUNT_PLACEHOLDER: &str = "<account-id>";

/// IAM can take a few seconds to show its own writes in reads.
pub(super) const IAM_SETTLE: std::time::Duration = std::time::Duration::from_secs(20);

/// What grant was asked.
pub struct Request {
    pub grantee: Grantee,
    pub operations: Option<OperationList>,
    pub force: bool,
    pub dry_run: bool,
    pub print: bool,
}

/// The operations, checked against what the environment has (`all` when
/// not given).
fn operations(session: &Session, asked: Option<OperationList>) -> Result<BTreeSet<Operation>> {
    let (site, window) = (session.site.is_some(), session.window.is_some());
    let asked = asked.unwrap_or(OperationList {
        named: BTreeSet::new(),
        all: true,
    });
    asked.for_environment(site, window).map_err(|op| {
        usage(anyhow::anyhow!(
            "operation `{op}` does not apply to environment `{}`, which has {}: leave it out",
            session.environment,
            if site {
                "no window (no `distribution`)"
            } else {
                "no maintenance site (no `bucket`)"
            }
        ))
    })
}

/// The principal: `--user`, `--role`, or the CI's role (maint-ENV-ci).
pub fn principal(environment: &str, grantee: &Grantee) -> Option<Principal> {
    if let Some(user) = &grantee.user {
        return Some(Principal::User(user.clone()));
    }
    if let Some(role) = &grantee.role {
        return Some(Principal::Role(role.clone()));
    }
    grantee
        .ci()
        .map(|_| Principal::Role(format!("maint-{environment}-ci")))
}

pub(super) fn require_principal(
    session: &Session,
    grantee: &Grantee,
    command: &str,
) -> Result<Principal> {
    principal(&session.environment, grantee).ok_or_else(|| {
        usage(anyhow::anyhow!(
            "say who: --github-repo OWNER/REPO (a role for GitHub Actions), --gitlab-project \
             GROUP/PROJECT, --role NAME or --user NAME (e.g. `maint {command} --github-repo \
             acme/shop`)"
        ))
    })
}

/// `maint-ENV-PRINCIPAL`, or the principal's own name when it already says
/// both (the CI role `maint-ENV-ci` gets the policy `maint-ENV-ci`).
pub fn policy_name(environment: &str, principal: &Principal) -> String {
    let prefix = format!("maint-{environment}-");
    if principal.name().starts_with(&prefix) {
        principal.name().to_string()
    } else {
        format!("{prefix}{}", principal.name())
    }
}

pub(super) fn desired_ci(ci: &Ci, account: &str) -> DesiredCi {
    let provider_arn = iam::provider_arn(account, ci.issuer());
    DesiredCi {
        provider_url: ci.provider_url(),
        trust: trust_policy(ci, &provider_arn),
        provider_arn,
        audience: ci.audience().to_string(),
        source: format!("{}:{}", ci.kind(), ci.repository()),
    }
}

/// The environment's resources as the config names them; `found` fills in
/// what AWS assigned (or placeholders for `--print`).
fn resources(
    session: &Session,
    account: &str,
    site_distribution: Option<String>,
    site_oac: Option<String>,
    store_arn: Option<String>,
    dependencies: Dependencies,
) -> Resources {
    Resources {
        account: account.to_string(),
        environment: session.environment.clone(),
        site: session.site.as_ref().map(|s| SiteResources {
            bucket: s.spec.bucket.to_string(),
            key: s.spec.key.to_string(),
            distribution_id: site_distribution,
            oac_id: site_oac,
        }),
        window: session.window.as_ref().map(|w| WindowResources {
            distribution_id: w.distribution.to_string(),
            function_name: w.function_name(),
            store_name: w.store_name(),
            gate_name: w.gate_name(),
            store_arn,
            dependencies,
        }),
    }
}

/// What AWS assigned: the site's distribution id and the window's store
/// ARN; for the operator (`admin`), what the window's distribution names
/// that attach and detach need to read.
async fn found_resources(
    session: &Session,
    clients: &Clients,
    account: &str,
    ops: &BTreeSet<Operation>,
) -> Result<Resources> {
    let (site_distribution, site_oac) = match &session.site {
        Some(site) => {
            let cf = &clients.cloudfront;
            let distribution =
                crate::aws::distribution::find_distribution_id(cf, &site.spec.distribution.comment);
            let oac_name = site.spec.oac_name();
            let oac = crate::aws::oac::find_oac(cf, &oac_name);
            let (distribution, oac) = tokio::try_join!(distribution, oac)?;
            (distribution, oac.map(|o| o.id))
        }
        None => (None, None),
    };
    let (store_arn, dependencies) = match &session.window {
        Some(w) => {
            let cf = &clients.cloudfront;
            let store_name = w.store_name();
            let store = store::find_store(cf, &store_name);
            let dependencies = async {
                if ops.contains(&Operation::Admin) {
                    association::dependencies(cf, w.distribution.as_str()).await
                } else {
                    Ok(Dependencies::default())
                }
            };
            let (store, dependencies) = tokio::try_join!(store, dependencies)?;
            (store.map(|s| s.arn), dependencies)
        }
        None => (None, Dependencies::default()),
    };
    Ok(resources(
        session,
        account,
        site_distribution,
        site_oac,
        store_arn,
        dependencies,
    ))
}

/// The policy, as a document and where it lives.
#[derive(Debug, Serialize)]
pub struct PolicyReport {
    pub name: String,
    pub arn: String,
    pub document: Value,
    /// Each statement that names a wildcard (and why nothing narrower
    /// exists) or a resource that is not maint's (and why it is needed).
    pub comments: Vec<Comment>,
}

/// What `grant` did, or (`--print`) would write.
#[derive(Debug, Serialize)]
pub struct GrantReport {
    pub environment: String,
    pub account_id: String,
    pub operations: Vec<Operation>,
    /// `role` or `user`, and its name and ARN.
    pub principal: Option<PrincipalReport>,
    pub policy: PolicyReport,
    /// The CI role's trust policy.
    pub trust: Option<Value>,
    pub plan: Vec<Change>,
    pub applied: bool,
    /// `--print`: no AWS call was made.
    pub printed: bool,
    /// The operator's policy for a window, printed without reading the
    /// distribution: say what a real grant adds.
    #[serde(skip)]
    pub unread_dependencies: bool,
    /// A GitHub repository named without its ids (OWNER/REPO): the text
    /// says how to trust it when GitHub's tokens name it by ids.
    #[serde(skip)]
    pub github_repo_without_ids: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct PrincipalReport {
    pub kind: &'static str,
    pub name: String,
    pub arn: String,
}

pub(super) fn principal_report(account: &str, p: &Principal) -> PrincipalReport {
    match p {
        Principal::Role(name) => PrincipalReport {
            kind: "role",
            name: name.clone(),
            arn: format!("arn:aws:iam::{account}:role/{name}"),
        },
        Principal::User(name) => PrincipalReport {
            kind: "user",
            name: name.clone(),
            arn: format!("arn:aws:iam::{account}:user/{name}"),
        },
    }
}

impl fmt::Display for GrantReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ops = self
            .operations
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        if self.printed {
            writeln!(
                f,
                "# Policy {} ({ops} on environment `{}`):",
                self.policy.name, self.environment
            )?;
            writeln!(
                f,
                "{}",
                serde_json::to_string_pretty(&self.policy.document).unwrap_or_default()
            )?;
            for c in &self.policy.comments {
                writeln!(f, "# {} on {}: {}", c.sid, c.resource, c.why)?;
            }
            if let Some(trust) = &self.trust {
                let role = self.principal.as_ref().map_or("", |p| p.name.as_str());
                writeln!(f, "\n# Trust policy of role {role}:")?;
                writeln!(
                    f,
                    "{}",
                    serde_json::to_string_pretty(trust).unwrap_or_default()
                )?;
            }
            if self.unread_dependencies {
                writeln!(
                    f,
                    "# If the window's distribution names a web ACL or Lambda@Edge functions, \
                     `maint grant` (without --print) reads them and adds wafv2:GetWebACL on the \
                     ACL and lambda:GetFunction, lambda:EnableReplication* and \
                     lambda:DisableReplication* on each version: attach and detach need them \
                     (docs/iam.md)."
                )?;
            }
            return write!(
                f,
                "# Values in <angle brackets> are found on AWS when `maint grant` runs."
            );
        }
        let Some(principal) = &self.principal else {
            return Ok(());
        };
        if !self.applied && !self.plan.is_empty() {
            return write!(
                f,
                "Dry run: nothing was changed. Run without --dry-run to apply."
            );
        }
        write!(
            f,
            "{} {} may {ops} on environment `{}` (policy {}).",
            if principal.kind == "role" {
                "Role"
            } else {
                "User"
            },
            principal.name,
            self.environment,
            self.policy.arn
        )?;
        if self.trust.is_some() {
            write!(
                f,
                "\nIn the CI job, assume {} (role-to-assume in GitHub's \
                 configure-aws-credentials action, ROLE_ARN in GitLab's example).",
                principal.arn
            )?;
        }
        if let Some(repo) = &self.github_repo_without_ids {
            write!(
                f,
                "\nThe role trusts tokens naming {repo}. GitHub names a repository created, \
                 renamed or transferred after 2026-07-15 by ids (repo:OWNER@OWNER-ID/\
                 REPO@REPO-ID:...): if this one is, grant again with --github-repo \
                 OWNER@OWNER-ID/REPO@REPO-ID (`gh api repos/{repo} --jq '.owner.id, .id'`)."
            )?;
        }
        Ok(())
    }
}

/// The GitHub repository of `ci` when it is named without its ids.
fn without_ids(ci: Option<&Ci>) -> Option<String> {
    match ci {
        Some(Ci::GitHub { repo, .. }) if !crate::grant::trust::has_ids(repo) => Some(repo.clone()),
        _ => None,
    }
}

pub async fn grant(session: &Session, out: &Output, request: Request) -> Result<()> {
    request
        .grantee
        .check_scope()
        .map_err(|e| usage(anyhow::anyhow!(e)))?;
    let ops = operations(session, request.operations)?;
    let ci = request.grantee.ci();
    let principal = principal(&session.environment, &request.grantee);
    if request.print {
        let account = session
            .account_id
            .as_ref()
            .map_or(ACCOUNT_PLACEHOLDER, |a| a.as_str());
        let cf = format!("arn:aws:cloudfront::{account}");
        let r = resources(
            session,
            account,
            Some("<site-distribution-id>".to_string()),
            Some("<site-oac-id>".to_string()),
            Some(format!("{cf}:key-value-store/<store-id>")),
            Dependencies::default(),
        );
        let policy = policy(&ops, &r)?;
        let name = principal.as_ref().map_or_else(
            || format!("maint-{}", session.environment),
            |p| policy_name(&session.environment, p),
        );
        let unread_dependencies = session.window.is_some() && ops.contains(&Operation::Admin);
        return out.result(&GrantReport {
            environment: session.environment.clone(),
            account_id: account.to_string(),
            operations: ops.into_iter().collect(),
            principal: principal.as_ref().map(|p| principal_report(account, p)),
            policy: PolicyReport {
                arn: iam::policy_arn(account, &name),
                name,
                document: policy.document,
                comments: policy.comments,
            },
            trust: ci.as_ref().map(|ci| desired_ci(ci, account).trust),
            plan: Vec::new(),
            applied: false,
            printed: true,
            github_repo_without_ids: without_ids(ci.as_ref()),
            unread_dependencies,
        });
    }
    let principal = require_principal(session, &request.grantee, "grant")?;
    let (clients, account) = session.changing_clients_in_account(out).await?;
    let resources = found_resources(session, &clients, &account, &ops).await?;
    let policy = policy(&ops, &resources)?;
    let name = policy_name(&session.environment, &principal);
    let desired = DesiredAccess {
        environment: session.environment.clone(),
        policy_arn: iam::policy_arn(&account, &name),
        policy_name: name,
        policy: policy.document,
        ci: ci.as_ref().map(|ci| desired_ci(ci, &account)),
        principal,
        force: request.force,
    };
    let mut target = Access {
        desired: &desired,
        clients: &clients,
        account: &account,
        revoke: None,
    };
    let outcome = converge(&mut GrantTarget(&mut target), out, request.dry_run).await?;
    out.result(&GrantReport {
        environment: session.environment.clone(),
        account_id: account.clone(),
        operations: ops.into_iter().collect(),
        principal: Some(principal_report(&account, &desired.principal)),
        policy: PolicyReport {
            name: desired.policy_name.clone(),
            arn: desired.policy_arn.clone(),
            document: desired.policy.clone(),
            comments: policy.comments,
        },
        trust: desired.ci.as_ref().map(|c| c.trust.clone()),
        plan: outcome.changes(),
        applied: outcome.applied,
        printed: false,
        unread_dependencies: false,
        github_repo_without_ids: without_ids(ci.as_ref()),
    })
}

/// IAM as `grant` and `revoke` see it.
pub(super) struct Access<'a> {
    pub(super) desired: &'a DesiredAccess,
    pub(super) clients: &'a Clients,
    pub(super) account: &'a str,
    /// For revoke: `--yes`.
    pub(super) revoke: Option<bool>,
}

impl Access<'_> {
    pub(super) async fn observe(&self) -> Result<ObservedAccess> {
        let iam_client = &self.clients.iam;
        let d = self.desired;
        let provider = async {
            match &d.ci {
                Some(ci) => iam::find_provider(iam_client, &ci.provider_arn).await,
                None => Ok(None),
            }
        };
        let principal = async {
            Ok::<_, anyhow::Error>(match &d.principal {
                Principal::Role(name) => {
                    ObservedPrincipal::Role(iam::find_role(iam_client, name).await?)
                }
                Principal::User(name) => {
                    ObservedPrincipal::User(iam::find_user(iam_client, name).await?)
                }
            })
        };
        let policy = iam::find_policy(iam_client, &d.policy_arn);
        let (provider, principal, policy) = tokio::try_join!(provider, principal, policy)?;
        // Only revoke needs to know who else uses the provider and the policy.
        let (provider_users, policy_elsewhere) = if self.revoke.is_some() {
            let users = match &provider {
                Some(p) => iam::roles_trusting(iam_client, &p.arn).await?,
                None => Vec::new(),
            };
            let elsewhere = match &policy {
                Some(p) => iam::policy_attached_elsewhere(iam_client, &p.arn, &d.principal).await?,
                None => Vec::new(),
            };
            (users, elsewhere)
        } else {
            (Vec::new(), Vec::new())
        };
        Ok(ObservedAccess {
            provider,
            principal,
            policy,
            provider_users,
            policy_elsewhere,
        })
    }
}

struct GrantTarget<'a, 'b>(&'a mut Access<'b>);

impl Converge for GrantTarget<'_, '_> {
    type Observed = ObservedAccess;
    type Step = GrantStep;

    fn subject(&self) -> String {
        format!(
            "access to `{}` for {}",
            self.0.desired.environment, self.0.desired.principal
        )
    }

    async fn observe(&self) -> Result<ObservedAccess> {
        self.0.observe().await
    }

    fn plan(&self, observed: &ObservedAccess) -> Result<Vec<GrantStep>> {
        grant_plan(self.0.desired, observed)
    }

    fn settle_time(&self) -> std::time::Duration {
        IAM_SETTLE
    }

    async fn apply(&mut self, steps: &[GrantStep], _: ObservedAccess, out: &Output) -> Result<()> {
        let (iam_client, d) = (&self.0.clients.iam, self.0.desired);
        for step in steps {
            out.progress(format!("  applying: {step}"));
            match step {
                GrantStep::CreateProvider { url, audience } => {
                    iam::create_provider(iam_client, url, audience, &d.environment).await?;
                }
                GrantStep::AddAudience { arn, audience } => {
                    iam::add_audience(iam_client, arn, audience).await?;
                }
                GrantStep::CreateRole { name, trust } => {
                    let source = d.ci.as_ref().map_or("", |c| c.source.as_str());
                    iam::create_role(iam_client, name, trust, &d.environment, source).await?;
                }
                GrantStep::UpdateTrust { name, trust } => {
                    iam::update_trust(iam_client, name, trust).await?;
                }
                GrantStep::CreatePolicy { name, document } => {
                    iam::create_policy(iam_client, name, document, &d.environment, self.0.account)
                        .await?;
                }
                GrantStep::UpdatePolicy {
                    arn,
                    document,
                    prune,
                } => iam::set_policy_document(iam_client, arn, document, prune.as_deref()).await?,
                GrantStep::Attach {
                    policy_arn,
                    principal,
                } => iam::attach(iam_client, principal, policy_arn).await?,
            }
        }
        Ok(())
    }
}
