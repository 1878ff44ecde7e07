//! Window mode's desired state: a CloudFront Function on viewer-request that
//! answers covered requests with a 503 page while the KeyValueStore says the
//! window is on: rendering the function, the store's values, which behaviors
//! the function covers, the go-live gate's requests and how their answers are
//! judged. No network and no process: the only reads are a custom page
//! template from disk (`render_function`) and the bypass secret from its
//! environment variable (`secret_from_env`), both while the session opens.
//! Running the function on njs (`maint preview`) is `crate::njs`.
//!
//! Static settings (the page, bypass ranges, open paths) are rendered into the
//! function's code; what changes when switching (on/off, until, message) lives
//! in one KeyValueStore key, so `maint on` and `maint off` are one write each,
//! with no distribution update and no invalidation.

use std::path::Path;

use anyhow::{Result, bail};
use serde::Serialize;

use crate::config::Environment;
use crate::values::{Cidr, DistributionId, PathPattern};

/// KeyValueStore's value limit.
pub const MAX_VALUE_BYTES: usize = 1024;
pub const RUNTIME: &str = "cloudfront-js-2.0";
pub const STATE_KEY: &str = "state";
pub const BYPASS_KEY: &str = "bypass";
pub const BYPASS_PARAM: &str = "maint-bypass";
pub const BYPASS_COOKIE: &str = "maint_bypass";
/// The pattern that names the default cache behavior.
pub const DEFAULT_BEHAVIOR: &str = "*";

mod function;
mod judge;
pub mod observed;
pub mod plan;
mod probe;
mod state;

pub use function::render_function;
pub use judge::{Expect, RetryAfter};
pub use probe::{Phase, Probe, gate};
pub use state::{State, bypass_hash, now_epoch, rfc3339, secret_from_env};

/// The desired window for one environment.
#[derive(Debug, Clone)]
pub struct WindowSpec {
    pub distribution: DistributionId,
    /// Behaviors to cover by path pattern; `None`: all of them.
    pub behaviors: Option<Vec<String>>,
    pub code: String,
    pub secret_env: Option<String>,
    pub default_message: String,
    pub retry_after: u32,
    /// The bypass rules, to choose requests no rule lets through when
    /// CloudFront test-runs the code (`probes`).
    pub cidrs: Vec<Cidr>,
    pub open_paths: Vec<PathPattern>,
    pub api_paths: Vec<PathPattern>,
    /// How long the bypass cookie lasts, in seconds.
    pub cookie_max_age: u32,
}

impl WindowSpec {
    pub fn new(env: &Environment, distribution: &DistributionId, base_dir: &Path) -> Result<Self> {
        let window = env.window_config();
        Ok(Self {
            distribution: distribution.clone(),
            behaviors: window.behaviors.clone(),
            code: render_function(&window, env.lang.as_str(), base_dir)?,
            secret_env: window.bypass.secret_env.clone(),
            default_message: window.message.clone(),
            retry_after: window.retry_after.get(),
            cidrs: window.bypass.cidrs.clone(),
            open_paths: window.bypass.open_paths.clone(),
            api_paths: window.api_paths.clone(),
            cookie_max_age: window.bypass.cookie_max_age.get(),
        })
    }

    /// The function's name (1-64 of letters, digits, `-`, `_`), one per distribution.
    pub fn function_name(&self) -> String {
        format!("maint-window-{}", self.distribution)
    }

    /// The KeyValueStore's name, one per distribution.
    pub fn store_name(&self) -> String {
        format!("maint-window-{}", self.distribution)
    }

    /// The name of the go-live gate's scratch function and of its scratch
    /// store: they exist only while `attach` tests new code.
    pub fn gate_name(&self) -> String {
        format!("maint-gate-{}", self.distribution)
    }
}

/// Who holds a behavior's viewer-request slot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "holder", content = "arn", rename_all = "snake_case")]
pub enum Slot {
    Free,
    Ours,
    Function(String),
    /// A Lambda@Edge function on a viewer event (`viewer-request` or
    /// `viewer-response`): AWS does not let a CloudFront Function share the
    /// viewer events with one ("Restrictions on all edge functions").
    LambdaEdge {
        arn: String,
        event: String,
    },
}

/// A cache behavior, by path pattern, and its viewer-request slot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Behavior {
    pub pattern: String,
    pub slot: Slot,
}

/// The behaviors the window covers, checked: every named one must exist,
/// and none may have another viewer-request function.
pub fn covered(all: &[Behavior], selection: Option<&[String]>) -> Result<Vec<String>> {
    let chosen: Vec<&Behavior> = match selection {
        None => all.iter().collect(),
        Some(patterns) => {
            let mut chosen = Vec::new();
            for pattern in patterns {
                match all.iter().find(|b| &b.pattern == pattern) {
                    Some(b) => chosen.push(b),
                    None => bail!(
                        "window.behaviors names `{pattern}`, which the distribution does not have; \
                         it has {} (`*` is the default behavior)",
                        all.iter()
                            .map(|b| format!("`{}`", b.pattern))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                }
            }
            chosen
        }
    };
    for b in &chosen {
        match &b.slot {
            Slot::Function(arn) => bail!(
                "behavior `{}` already has a viewer-request CloudFront Function ({arn}); a behavior \
                 takes one per event. Remove it, or leave this behavior out of window.behaviors",
                b.pattern
            ),
            Slot::LambdaEdge { arn, event } => bail!(
                "behavior `{}` has a Lambda@Edge function on {event} ({arn}); AWS does not let a \
                 CloudFront Function and Lambda@Edge share a behavior's viewer events. Remove it, \
                 or leave this behavior out of window.behaviors",
                b.pattern
            ),
            Slot::Free | Slot::Ours => {}
        }
    }
    Ok(chosen.iter().map(|b| b.pattern.clone()).collect())
}

/// Why visitors would not get what the store says, from a read of the
/// distribution and of the function's LIVE code (other tools write the
/// distribution too: Terraform or CloudFormation put back the config they
/// know, without maint's association). Empty: the window is served.
pub fn serving_gaps(
    spec: &WindowSpec,
    behaviors: &[Behavior],
    live_code: Option<&[u8]>,
) -> Vec<String> {
    let wanted: Vec<&str> = match &spec.behaviors {
        Some(patterns) => patterns.iter().map(String::as_str).collect(),
        None => behaviors.iter().map(|b| b.pattern.as_str()).collect(),
    };
    let without: Vec<String> = wanted
        .iter()
        .filter(|w| {
            !behaviors
                .iter()
                .any(|b| b.pattern == **w && b.slot == Slot::Ours)
        })
        .map(|w| format!("`{w}`"))
        .collect();
    let mut gaps = Vec::new();
    if !without.is_empty() {
        gaps.push(format!(
            "the distribution does not run maint's function on {}",
            without.join(", ")
        ));
    }
    match live_code {
        None => gaps.push("maint's function is not published (LIVE)".to_string()),
        Some(code) if code != spec.code.as_bytes() => gaps.push(
            "the LIVE function is not the code the config renders (the config changed since \
             `maint attach`)"
                .to_string(),
        ),
        Some(_) => {}
    }
    gaps
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::config::Config;

    pub(crate) fn spec_with(window_yaml: &str) -> WindowSpec {
        let text = format!(
            "environments:\n  shop:\n    region: eu-west-1\n    distribution: E2EXAMPLE12345\n    window:\n{window_yaml}"
        );
        let config = Config::parse(Path::new("maint.yaml"), &text).unwrap();
        let (_, env) = config.select(None).unwrap();
        WindowSpec::new(&env, env.distribution.as_ref().unwrap(), Path::new(".")).unwrap()
    }

    pub(crate) fn names(phases: &[Phase]) -> Vec<(&'static str, &'static str)> {
        phases
            .iter()
            .flat_map(|p| p.probes.iter().map(move |q| (p.name, q.name)))
            .collect()
    }

    pub(crate) const FULL: &str = "      bypass:\n        cidrs: [203.0.113.0/24, 2001:db8:ffff::/48]\n        open_paths: [/health, /hooks/*]\n        secret_env: MAINT_BYPASS_SECRET\n        cookie_max_age: 600\n      api_paths: [/api/*]\n      retry_after: 90\n";

    fn behaviors(slots: &[(&str, Slot)]) -> Vec<Behavior> {
        slots
            .iter()
            .map(|(p, s)| Behavior {
                pattern: (*p).to_string(),
                slot: s.clone(),
            })
            .collect()
    }

    #[test]
    fn the_window_is_served_only_with_the_live_code_on_every_covered_behavior() {
        let spec = spec_with("      retry_after: 60\n");
        let code = spec.code.as_bytes();
        let both = behaviors(&[("*", Slot::Ours), ("/api/*", Slot::Ours)]);
        assert!(serving_gaps(&spec, &both, Some(code)).is_empty());
        let reverted = behaviors(&[("*", Slot::Free), ("/api/*", Slot::Free)]);
        assert_eq!(
            serving_gaps(&spec, &reverted, Some(code)),
            ["the distribution does not run maint's function on `*`, `/api/*`"]
        );
        let half = behaviors(&[
            ("*", Slot::Ours),
            ("/api/*", Slot::Function("arn:x".into())),
        ]);
        assert_eq!(
            serving_gaps(&spec, &half, Some(code)),
            ["the distribution does not run maint's function on `/api/*`"]
        );
        assert!(
            serving_gaps(&spec, &both, Some(b"old code"))[0]
                .contains("not the code the config renders")
        );
        assert!(serving_gaps(&spec, &both, None)[0].contains("not published"));
        // A window on some behaviors only is judged on those.
        let some = spec_with("      behaviors: [\"/api/*\"]\n");
        let api_only = behaviors(&[("*", Slot::Free), ("/api/*", Slot::Ours)]);
        assert!(serving_gaps(&some, &api_only, Some(some.code.as_bytes())).is_empty());
    }

    #[test]
    fn covered_behaviors_are_checked_for_existence_and_conflicts() {
        let all = vec![
            Behavior {
                pattern: "*".into(),
                slot: Slot::Free,
            },
            Behavior {
                pattern: "/api/*".into(),
                slot: Slot::Ours,
            },
            Behavior {
                pattern: "/img/*".into(),
                slot: Slot::LambdaEdge {
                    arn: "arn:aws:lambda:us-east-1:1:function:resize:3".into(),
                    event: "viewer-request".into(),
                },
            },
        ];
        let only: Vec<String> = vec!["*".into(), "/api/*".into()];
        assert_eq!(covered(&all, Some(&only)).unwrap(), only);
        let err = covered(&all, None).unwrap_err().to_string();
        assert!(
            err.contains("`/img/*`") && err.contains("Lambda@Edge") && err.contains("resize"),
            "{err}"
        );
        let err = covered(&all, Some(&["/nope".to_string()]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("`/nope`") && err.contains("`/api/*`"), "{err}");
    }
}
