//! What IAM has for an environment's access, as `grant` and `revoke` read it:
//! the OIDC provider, the role or user, the policy and its versions, and who
//! else uses them; the tags that say maint made something.

use std::fmt;

use serde_json::Value;

/// Tag on everything `grant` creates; `revoke` deletes nothing without it.
pub const MANAGED_TAG: &str = "maint:managed-by";
pub const MANAGED_VALUE: &str = "maint";
/// Tag naming the environment a role or policy was made for.
pub const ENVIRONMENT_TAG: &str = "maint:environment";

/// IAM keeps at most five versions of a managed policy.
pub const MAX_POLICY_VERSIONS: usize = 5;

/// Who gets the access.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    Role(String),
    User(String),
}

impl Principal {
    pub fn name(&self) -> &str {
        match self {
            Self::Role(n) | Self::User(n) => n,
        }
    }
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Role(n) => write!(f, "role {n}"),
            Self::User(n) => write!(f, "user {n}"),
        }
    }
}

/// An OIDC identity provider as IAM has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedProvider {
    pub arn: String,
    pub audiences: Vec<String>,
    pub made_by_maint: bool,
}

/// A role as IAM has it.
#[derive(Debug, Clone, PartialEq)]
pub struct ObservedRole {
    pub arn: String,
    pub trust: Value,
    pub made_by_maint: bool,
    /// The managed policies attached to it.
    pub attached: Vec<String>,
    /// How many inline policies it has.
    pub inline_policies: usize,
}

/// One version of a managed policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyVersion {
    pub id: String,
    pub default: bool,
}

/// A managed policy as IAM has it.
#[derive(Debug, Clone, PartialEq)]
pub struct ObservedPolicy {
    pub arn: String,
    /// Its default version's document.
    pub document: Value,
    pub made_by_maint: bool,
    /// Oldest first.
    pub versions: Vec<PolicyVersion>,
}

/// The principal as IAM has it.
#[derive(Debug, Clone, PartialEq)]
pub enum ObservedPrincipal {
    Role(Option<ObservedRole>),
    /// A user: whether it exists, and its attached managed policies.
    User(Option<Vec<String>>),
}

impl ObservedPrincipal {
    pub(super) fn attached(&self) -> &[String] {
        match self {
            Self::Role(Some(r)) => &r.attached,
            Self::User(Some(a)) => a,
            _ => &[],
        }
    }
}

/// Everything `grant` and `revoke` look at.
#[derive(Debug, Clone, PartialEq)]
pub struct ObservedAccess {
    /// The CI's OIDC provider, when the grant is for CI.
    pub provider: Option<ObservedProvider>,
    pub principal: ObservedPrincipal,
    pub policy: Option<ObservedPolicy>,
    /// Other roles whose trust policy names the provider (revoke keeps a
    /// provider someone else still uses).
    pub provider_users: Vec<String>,
    /// Roles and users other than the principal the policy is attached to.
    pub policy_elsewhere: Vec<String>,
}
