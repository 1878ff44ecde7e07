//! What `revoke` changes in IAM, as a pure plan: exactly what `grant` made,
//! and only what nothing else still uses (the rest is kept, and named).

use std::fmt;

use super::observed::{ObservedAccess, ObservedPrincipal, Principal};
use super::plan::DesiredAccess;
use crate::converge::{Action, Change, Step};

/// One change `revoke` makes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevokeStep {
    Detach {
        policy_arn: String,
        principal: Principal,
    },
    /// With its older versions.
    DeletePolicy {
        arn: String,
    },
    DeleteRole {
        name: String,
    },
    DeleteProvider {
        arn: String,
    },
}

impl fmt::Display for RevokeStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Detach {
                policy_arn,
                principal,
            } => write!(f, "- detach policy {policy_arn} from {principal}"),
            Self::DeletePolicy { arn } => write!(f, "- delete policy {arn} and its versions"),
            Self::DeleteRole { name } => write!(f, "- delete role {name}"),
            Self::DeleteProvider { arn } => write!(f, "- delete OIDC identity provider {arn}"),
        }
    }
}

impl Step for RevokeStep {
    fn change(&self) -> Change {
        let (resource, detail) = match self {
            Self::Detach {
                policy_arn,
                principal,
            } => (principal.to_string(), format!("detach {policy_arn}")),
            Self::DeletePolicy { arn } => (format!("policy {arn}"), String::new()),
            Self::DeleteRole { name } => (format!("role {name}"), String::new()),
            Self::DeleteProvider { arn } => (format!("oidc provider {arn}"), String::new()),
        };
        Change {
            action: if matches!(self, Self::Detach { .. }) {
                Action::Update
            } else {
                Action::Delete
            },
            resource,
            detail,
        }
    }
}

/// What `revoke` removes: exactly what `grant` made and nothing another
/// grant or another person still uses. Pure; the second value lists what is
/// kept, and why.
pub fn revoke_plan(
    desired: &DesiredAccess,
    observed: &ObservedAccess,
) -> (Vec<RevokeStep>, Vec<String>) {
    let mut steps = Vec::new();
    let mut kept = Vec::new();
    let attached = observed.principal.attached().contains(&desired.policy_arn);
    if attached {
        steps.push(RevokeStep::Detach {
            policy_arn: desired.policy_arn.clone(),
            principal: desired.principal.clone(),
        });
    }
    if let Some(p) = &observed.policy {
        if !p.made_by_maint {
            kept.push(format!("policy {}: maint did not create it", p.arn));
        } else if !observed.policy_elsewhere.is_empty() {
            kept.push(format!(
                "policy {}: still attached to {}",
                p.arn,
                observed.policy_elsewhere.join(", ")
            ));
        } else {
            steps.push(RevokeStep::DeletePolicy { arn: p.arn.clone() });
        }
    }
    let mut role_deleted = false;
    if let (Principal::Role(name), ObservedPrincipal::Role(Some(role))) =
        (&desired.principal, &observed.principal)
    {
        let others: Vec<&String> = role
            .attached
            .iter()
            .filter(|a| **a != desired.policy_arn)
            .collect();
        if !role.made_by_maint {
            // A role the user made keeps existing; only the policy goes.
        } else if !others.is_empty() || role.inline_policies > 0 {
            kept.push(format!(
                "role {name}: it has other policies ({} managed, {} inline)",
                others.len(),
                role.inline_policies
            ));
        } else {
            steps.push(RevokeStep::DeleteRole { name: name.clone() });
            role_deleted = true;
        }
    }
    if let Some(p) = &observed.provider {
        let users: Vec<&String> = observed
            .provider_users
            .iter()
            .filter(|r| !(role_deleted && Some(r.as_str()) == Some(desired.principal.name())))
            .collect();
        if !p.made_by_maint {
            kept.push(format!("OIDC provider {}: maint did not create it", p.arn));
        } else if !users.is_empty() {
            kept.push(format!(
                "OIDC provider {}: roles {} still trust it",
                p.arn,
                users
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        } else if desired.ci.is_some() {
            steps.push(RevokeStep::DeleteProvider { arn: p.arn.clone() });
        }
    }
    (steps, kept)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grant::plan::tests::{desired, granted, nothing, shown};

    #[test]
    fn revoke_removes_what_grant_made_and_nothing_else() {
        let (steps, kept) = revoke_plan(&desired(), &granted());
        insta::assert_snapshot!(shown(&steps), @r"
        - detach policy arn:aws:iam::123456789012:policy/maint/maint-prod-maint-prod-ci from role maint-prod-ci
        - delete policy arn:aws:iam::123456789012:policy/maint/maint-prod-maint-prod-ci and its versions
        - delete role maint-prod-ci
        - delete OIDC identity provider arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com
        ");
        assert!(kept.is_empty());
        // After it: nothing left to do.
        let mut after = nothing();
        after.provider = None;
        assert_eq!(revoke_plan(&desired(), &after).0, []);
    }

    #[test]
    fn revoke_keeps_what_others_still_use() {
        let mut observed = granted();
        observed.provider_users.push("someone-elses-role".into());
        observed.policy_elsewhere.push("user deployer".into());
        let ObservedPrincipal::Role(Some(role)) = &mut observed.principal else {
            unreachable!()
        };
        role.attached
            .push("arn:aws:iam::aws:policy/ReadOnlyAccess".into());
        let (steps, kept) = revoke_plan(&desired(), &observed);
        assert_eq!(
            shown(&steps),
            "- detach policy arn:aws:iam::123456789012:policy/maint/maint-prod-maint-prod-ci from role maint-prod-ci"
        );
        assert_eq!(kept.len(), 3, "{kept:?}");
        assert!(
            kept[0].contains("still attached to user deployer"),
            "{kept:?}"
        );
        assert!(
            kept[1].contains("other policies (1 managed, 0 inline)"),
            "{kept:?}"
        );
        assert!(kept[2].contains("someone-elses-role"), "{kept:?}");
        // A provider or role maint did not make is never deleted.
        let mut observed = granted();
        observed.provider.as_mut().unwrap().made_by_maint = false;
        let ObservedPrincipal::Role(Some(role)) = &mut observed.principal else {
            unreachable!()
        };
        role.made_by_maint = false;
        let (steps, _) = revoke_plan(&desired(), &observed);
        assert!(
            steps.iter().all(|s| !matches!(
                s,
                RevokeStep::DeleteRole { .. } | RevokeStep::DeleteProvider { .. }
            )),
            "{steps:?}"
        );
    }
}
