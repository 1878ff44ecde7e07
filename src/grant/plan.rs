//! What `grant` changes in IAM, as a pure plan over what IAM has now
//! (`observed.rs`): the OIDC provider, the CI role and its trust policy, the
//! environment's customer-managed policy and its attachment.

use std::fmt;

use anyhow::{Result, bail};
use serde_json::Value;

use crate::converge::{Action, Change, Step};

pub use super::observed::*;
pub use super::revoke::{RevokeStep, revoke_plan};

/// What the grant should leave in IAM.
#[derive(Debug, Clone, PartialEq)]
pub struct DesiredAccess {
    pub environment: String,
    pub principal: Principal,
    pub policy_name: String,
    pub policy_arn: String,
    pub policy: Value,
    /// For a CI role: the provider's URL and audience, and the trust policy.
    pub ci: Option<DesiredCi>,
    /// Replace a trust policy or a policy maint did not write.
    pub force: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DesiredCi {
    pub provider_url: String,
    pub provider_arn: String,
    pub audience: String,
    pub trust: Value,
    /// `github:acme/shop`, for the role's tags.
    pub source: String,
}

/// One change `grant` makes.
#[derive(Debug, Clone, PartialEq)]
pub enum GrantStep {
    CreateProvider {
        url: String,
        audience: String,
    },
    AddAudience {
        arn: String,
        audience: String,
    },
    CreateRole {
        name: String,
        trust: Value,
    },
    UpdateTrust {
        name: String,
        trust: Value,
    },
    CreatePolicy {
        name: String,
        document: Value,
    },
    /// A new default version; `prune` is deleted first to stay within five.
    UpdatePolicy {
        arn: String,
        document: Value,
        prune: Option<String>,
    },
    Attach {
        policy_arn: String,
        principal: Principal,
    },
}

impl fmt::Display for GrantStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::CreateProvider { url, audience } => write!(
                f,
                "+ create OIDC identity provider {url} (audience {audience})"
            ),
            Self::AddAudience { arn, audience } => {
                write!(f, "~ add audience {audience} to OIDC provider {arn}")
            }
            Self::CreateRole { name, .. } => {
                write!(
                    f,
                    "+ create role {name}, assumable only as the trust policy says"
                )
            }
            Self::UpdateTrust { name, .. } => {
                write!(f, "~ replace the trust policy of role {name}")
            }
            Self::CreatePolicy { name, .. } => write!(f, "+ create policy {name}"),
            Self::UpdatePolicy { arn, prune, .. } => match prune {
                Some(v) => write!(
                    f,
                    "~ set a new default version of policy {arn} (deleting old version {v}: IAM keeps five)"
                ),
                None => write!(f, "~ set a new default version of policy {arn}"),
            },
            Self::Attach {
                policy_arn,
                principal,
            } => write!(f, "+ attach policy {policy_arn} to {principal}"),
        }
    }
}

impl Step for GrantStep {
    fn change(&self) -> Change {
        let (action, resource, detail) = match self {
            Self::CreateProvider { url, audience } => (
                Action::Create,
                format!("oidc provider {url}"),
                format!("audience {audience}"),
            ),
            Self::AddAudience { arn, audience } => (
                Action::Update,
                format!("oidc provider {arn}"),
                format!("add audience {audience}"),
            ),
            Self::CreateRole { name, .. } => (
                Action::Create,
                format!("role {name}"),
                "with the CI trust policy".to_string(),
            ),
            Self::UpdateTrust { name, .. } => (
                Action::Update,
                format!("role {name}"),
                "trust policy".to_string(),
            ),
            Self::CreatePolicy { name, .. } => {
                (Action::Create, format!("policy {name}"), String::new())
            }
            Self::UpdatePolicy { arn, prune, .. } => (
                Action::Update,
                format!("policy {arn}"),
                match prune {
                    Some(v) => format!("new default version, old version {v} deleted"),
                    None => "new default version".to_string(),
                },
            ),
            Self::Attach {
                policy_arn,
                principal,
            } => (
                Action::Update,
                principal.to_string(),
                format!("attach {policy_arn}"),
            ),
        };
        Change {
            action,
            resource,
            detail,
        }
    }
}

/// What `grant` changes, in order. Pure. Refuses, before any write, a user
/// or role that is not there to receive the policy, and a role or policy
/// that maint did not write (unless `force`).
pub fn grant_plan(desired: &DesiredAccess, observed: &ObservedAccess) -> Result<Vec<GrantStep>> {
    let mut steps = Vec::new();
    if let Some(ci) = &desired.ci {
        match &observed.provider {
            None => steps.push(GrantStep::CreateProvider {
                url: ci.provider_url.clone(),
                audience: ci.audience.clone(),
            }),
            Some(p) if !p.audiences.contains(&ci.audience) => steps.push(GrantStep::AddAudience {
                arn: p.arn.clone(),
                audience: ci.audience.clone(),
            }),
            Some(_) => {}
        }
    }
    match (&desired.principal, &observed.principal) {
        (Principal::Role(name), ObservedPrincipal::Role(role)) => match (role, &desired.ci) {
            (None, Some(ci)) => steps.push(GrantStep::CreateRole {
                name: name.clone(),
                trust: ci.trust.clone(),
            }),
            (None, None) => bail!(
                "role {name} does not exist: create it first, or give --github-repo or \
                 --gitlab-project and maint creates a role only that CI can assume"
            ),
            (Some(role), Some(ci)) if role.trust != ci.trust => {
                if !role.made_by_maint && !desired.force {
                    bail!(
                        "role {name} exists with a trust policy maint did not write: nothing was \
                         changed. Choose another --role, or give --force to replace its trust \
                         policy with one that lets only {} assume it",
                        ci.source
                    );
                }
                steps.push(GrantStep::UpdateTrust {
                    name: name.clone(),
                    trust: ci.trust.clone(),
                });
            }
            (Some(_), _) => {}
        },
        (Principal::User(name), ObservedPrincipal::User(None)) => bail!(
            "user {name} does not exist: create it first, or grant to a role (--role, \
             --github-repo, --gitlab-project)"
        ),
        (Principal::User(_), ObservedPrincipal::User(Some(_))) => {}
        (principal, _) => bail!("internal error: {principal} observed as the wrong kind"),
    }
    match &observed.policy {
        None => steps.push(GrantStep::CreatePolicy {
            name: desired.policy_name.clone(),
            document: desired.policy.clone(),
        }),
        Some(p) if p.document != desired.policy => {
            if !p.made_by_maint && !desired.force {
                bail!(
                    "policy {} exists and maint did not write it: nothing was changed. Delete it, \
                     or give --force to replace its document",
                    p.arn
                );
            }
            let prune = (p.versions.len() >= MAX_POLICY_VERSIONS)
                .then(|| p.versions.iter().find(|v| !v.default).map(|v| v.id.clone()))
                .flatten();
            steps.push(GrantStep::UpdatePolicy {
                arn: p.arn.clone(),
                document: desired.policy.clone(),
                prune,
            });
        }
        Some(_) => {}
    }
    if !observed.principal.attached().contains(&desired.policy_arn) {
        steps.push(GrantStep::Attach {
            policy_arn: desired.policy_arn.clone(),
            principal: desired.principal.clone(),
        });
    }
    Ok(steps)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use serde_json::json;

    const POLICY_ARN: &str = "arn:aws:iam::123456789012:policy/maint/maint-prod-maint-prod-ci";
    const PROVIDER_ARN: &str =
        "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com";

    pub(crate) fn desired() -> DesiredAccess {
        DesiredAccess {
            environment: "prod".into(),
            principal: Principal::Role("maint-prod-ci".into()),
            policy_name: "maint-prod-maint-prod-ci".into(),
            policy_arn: POLICY_ARN.into(),
            policy: json!({"Version": "2012-10-17", "Statement": [{"Sid": "A"}]}),
            ci: Some(DesiredCi {
                provider_url: "https://token.actions.githubusercontent.com".into(),
                provider_arn: PROVIDER_ARN.into(),
                audience: "sts.amazonaws.com".into(),
                trust: json!({"Statement": [{"Sid": "MaintCi"}]}),
                source: "github:acme/shop".into(),
            }),
            force: false,
        }
    }

    pub(crate) fn nothing() -> ObservedAccess {
        ObservedAccess {
            provider: None,
            principal: ObservedPrincipal::Role(None),
            policy: None,
            provider_users: vec![],
            policy_elsewhere: vec![],
        }
    }

    /// What a completed grant leaves.
    pub(crate) fn granted() -> ObservedAccess {
        let d = desired();
        ObservedAccess {
            provider: Some(ObservedProvider {
                arn: PROVIDER_ARN.into(),
                audiences: vec!["sts.amazonaws.com".into()],
                made_by_maint: true,
            }),
            principal: ObservedPrincipal::Role(Some(ObservedRole {
                arn: "arn:aws:iam::123456789012:role/maint-prod-ci".into(),
                trust: d.ci.unwrap().trust,
                made_by_maint: true,
                attached: vec![POLICY_ARN.into()],
                inline_policies: 0,
            })),
            policy: Some(ObservedPolicy {
                arn: POLICY_ARN.into(),
                document: d.policy,
                made_by_maint: true,
                versions: vec![PolicyVersion {
                    id: "v1".into(),
                    default: true,
                }],
            }),
            provider_users: vec!["maint-prod-ci".into()],
            policy_elsewhere: vec![],
        }
    }

    pub(crate) fn shown<S: fmt::Display>(steps: &[S]) -> String {
        steps
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn a_first_ci_grant_creates_the_provider_role_policy_and_attachment() {
        let steps = grant_plan(&desired(), &nothing()).unwrap();
        insta::assert_snapshot!(shown(&steps), @r"
        + create OIDC identity provider https://token.actions.githubusercontent.com (audience sts.amazonaws.com)
        + create role maint-prod-ci, assumable only as the trust policy says
        + create policy maint-prod-maint-prod-ci
        + attach policy arn:aws:iam::123456789012:policy/maint/maint-prod-maint-prod-ci to role maint-prod-ci
        ");
    }

    #[test]
    fn a_second_grant_changes_nothing() {
        assert!(grant_plan(&desired(), &granted()).unwrap().is_empty());
    }

    #[test]
    fn a_changed_policy_gets_a_new_version_and_the_oldest_goes_at_five() {
        let mut observed = granted();
        let p = observed.policy.as_mut().unwrap();
        p.document = json!({"Statement": []});
        p.versions = (1..=5)
            .map(|i| PolicyVersion {
                id: format!("v{i}"),
                default: i == 3,
            })
            .collect();
        let steps = grant_plan(&desired(), &observed).unwrap();
        assert_eq!(
            steps,
            [GrantStep::UpdatePolicy {
                arn: POLICY_ARN.into(),
                document: desired().policy,
                prune: Some("v1".into()),
            }]
        );
        observed.policy.as_mut().unwrap().versions.truncate(2);
        let steps = grant_plan(&desired(), &observed).unwrap();
        assert!(matches!(
            &steps[0],
            GrantStep::UpdatePolicy { prune: None, .. }
        ));
    }

    #[test]
    fn a_role_with_a_foreign_trust_policy_is_never_overwritten_without_force() {
        let mut observed = granted();
        let ObservedPrincipal::Role(Some(role)) = &mut observed.principal else {
            unreachable!()
        };
        role.trust =
            json!({"Statement": [{"Principal": {"AWS": "arn:aws:iam::999999999999:root"}}]});
        role.made_by_maint = false;
        let err = grant_plan(&desired(), &observed).unwrap_err().to_string();
        assert!(err.contains("trust policy maint did not write"), "{err}");
        assert!(
            err.contains("--force") && err.contains("github:acme/shop"),
            "{err}"
        );
        let mut forced = desired();
        forced.force = true;
        let steps = grant_plan(&forced, &observed).unwrap();
        assert!(
            matches!(&steps[..], [GrantStep::UpdateTrust { .. }]),
            "{steps:?}"
        );
        // A role maint made for another repository is maint's to update.
        let ObservedPrincipal::Role(Some(role)) = &mut observed.principal else {
            unreachable!()
        };
        role.made_by_maint = true;
        assert!(matches!(
            &grant_plan(&desired(), &observed).unwrap()[..],
            [GrantStep::UpdateTrust { .. }]
        ));
    }

    #[test]
    fn a_foreign_policy_of_the_same_name_is_refused_without_force() {
        let mut observed = granted();
        let p = observed.policy.as_mut().unwrap();
        p.made_by_maint = false;
        p.document = json!({"Statement": "*"});
        let err = grant_plan(&desired(), &observed).unwrap_err().to_string();
        assert!(err.contains("maint did not write it"), "{err}");
    }

    #[test]
    fn an_existing_role_or_user_gets_only_the_policy() {
        let mut d = desired();
        d.ci = None;
        d.principal = Principal::User("deployer".into());
        let mut observed = nothing();
        observed.principal = ObservedPrincipal::User(Some(vec!["arn:other".into()]));
        let steps = grant_plan(&d, &observed).unwrap();
        insta::assert_snapshot!(shown(&steps), @r"
        + create policy maint-prod-maint-prod-ci
        + attach policy arn:aws:iam::123456789012:policy/maint/maint-prod-maint-prod-ci to user deployer
        ");
        observed.principal = ObservedPrincipal::User(None);
        let err = grant_plan(&d, &observed).unwrap_err().to_string();
        assert!(err.starts_with("user deployer does not exist"), "{err}");
        d.principal = Principal::Role("ops".into());
        observed.principal = ObservedPrincipal::Role(None);
        let err = grant_plan(&d, &observed).unwrap_err().to_string();
        assert!(
            err.contains("role ops does not exist") && err.contains("--github-repo"),
            "{err}"
        );
    }

    #[test]
    fn a_provider_without_the_audience_gets_it_added() {
        let mut observed = granted();
        let p = observed.provider.as_mut().unwrap();
        p.audiences = vec!["other".into()];
        p.made_by_maint = false;
        let steps = grant_plan(&desired(), &observed).unwrap();
        assert_eq!(
            steps,
            [GrantStep::AddAudience {
                arn: PROVIDER_ARN.into(),
                audience: "sts.amazonaws.com".into()
            }]
        );
    }
}
