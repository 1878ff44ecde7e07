//! Window mode's plans: what `attach` and `detach` change, as pure diffs of
//! the desired window against what AWS has, in the order they must run.

use std::fmt;

pub use super::observed::{FunctionState, ObservedWindow, Store};
use crate::converge::{Action, Change};
use crate::window::{RUNTIME, Slot, WindowSpec};

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
                "~ test the new code on CloudFront's engine first: {requests} requests as the scratch \
                 function {name} with its own store, both removed afterwards"
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
                format!(
                    "TestFunction on {requests} requests, on a scratch function and store, \
                     before anything is published"
                ),
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
        // The gate runs first: when CloudFront's engine refuses the code,
        // nothing of the live window has changed.
        let requests = crate::window::gate(spec, spec.secret_env.as_ref().map(|_| "x"), 0)
            .iter()
            .map(|p| p.probes.len())
            .sum();
        steps.insert(
            0,
            AttachStep::TestFunction {
                name: spec.gate_name(),
                requests,
            },
        );
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
