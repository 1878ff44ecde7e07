//! The operations a principal may be granted on one environment (`message`,
//! `invalidate`, `window`, `status`, `admin`), as `--operations` names them.

use std::collections::BTreeSet;
use std::fmt;

use anyhow::Result;
use serde::Serialize;

/// What a principal may do with one environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    /// `set-message`.
    Message,
    /// `invalidate [--wait]`, `set-message --invalidate`.
    Invalidate,
    /// `on`, `off`.
    Window,
    /// `status`, `verify`, and the reads of any `--wait` that checks what
    /// visitors get (`on --wait`, `off --wait`, `set-message --wait`).
    Status,
    /// `provision`, `destroy`, `attach`, `detach`, and all of the above.
    Admin,
}

impl Operation {
    /// The four CI operations `all` stands for.
    pub const ALL: [Self; 4] = [Self::Message, Self::Invalidate, Self::Window, Self::Status];

    /// Whether the operation means anything for an environment with a site
    /// and/or a window.
    pub fn applies(self, site: bool, window: bool) -> bool {
        match self {
            Self::Message | Self::Invalidate => site,
            Self::Window => window,
            Self::Status | Self::Admin => site || window,
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Message => "message",
            Self::Invalidate => "invalidate",
            Self::Window => "window",
            Self::Status => "status",
            Self::Admin => "admin",
        })
    }
}

/// `--operations` as given: the operations named, and whether `all` was.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OperationList {
    pub named: BTreeSet<Operation>,
    /// `all`: the four CI operations, those that apply to the environment.
    pub all: bool,
}

impl OperationList {
    /// The operations for an environment with a site and/or a window: an
    /// operation named that does not apply is an error; `all` keeps those
    /// that do.
    pub fn for_environment(
        &self,
        site: bool,
        window: bool,
    ) -> Result<BTreeSet<Operation>, Operation> {
        if let Some(op) = self.named.iter().find(|op| !op.applies(site, window)) {
            return Err(*op);
        }
        let mut ops = self.named.clone();
        if self.all {
            ops.extend(
                Operation::ALL
                    .into_iter()
                    .filter(|op| op.applies(site, window)),
            );
        }
        Ok(ops)
    }
}

/// `--operations`: a comma-separated list of `message`, `invalidate`,
/// `window`, `status`, `all` (those four) and `admin` (everything).
pub fn parse_operations(text: &str) -> Result<OperationList, String> {
    let mut out = OperationList::default();
    for word in text.split(',').map(str::trim).filter(|w| !w.is_empty()) {
        let op = match word {
            "message" => Operation::Message,
            "invalidate" => Operation::Invalidate,
            "window" => Operation::Window,
            "status" => Operation::Status,
            "admin" => Operation::Admin,
            "all" => {
                out.all = true;
                continue;
            }
            other => {
                return Err(format!(
                    "unknown operation `{other}`: choose from message, invalidate, window, status, \
                     all (those four) and admin (also provision, destroy, attach, detach)"
                ));
            }
        };
        out.named.insert(op);
    }
    if out.named.is_empty() && !out.all {
        return Err("give at least one operation, e.g. message,invalidate".to_string());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_are_words_and_all_means_the_four() {
        let all = parse_operations("all").unwrap();
        assert_eq!(
            all.for_environment(true, true).unwrap(),
            Operation::ALL.into()
        );
        // `all` keeps what applies; a named operation must apply.
        assert_eq!(
            all.for_environment(true, false).unwrap(),
            [Operation::Message, Operation::Invalidate, Operation::Status].into()
        );
        let named = parse_operations("message, invalidate").unwrap();
        assert_eq!(
            named.named,
            [Operation::Message, Operation::Invalidate].into()
        );
        assert_eq!(named.for_environment(false, true), Err(Operation::Message));
        let err = parse_operations("message,delete-everything").unwrap_err();
        assert!(
            err.contains("unknown operation `delete-everything`"),
            "{err}"
        );
        assert!(parse_operations("").is_err());
    }

    #[test]
    fn operations_say_where_they_apply() {
        assert!(!Operation::Window.applies(true, false));
        assert!(!Operation::Message.applies(false, true));
        assert!(Operation::Status.applies(false, true));
    }
}
