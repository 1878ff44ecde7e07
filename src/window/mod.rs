//! Window mode's desired state: a CloudFront Function on viewer-request that
//! answers covered requests with a 503 page while the KeyValueStore says the
//! window is on. Everything here is pure: rendering the function, the store's
//! values, and which behaviors the function covers.
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
pub mod njs;
pub mod plan;
mod probe;
mod state;

pub use function::render_function;
pub use probe::probes;
pub use state::{State, bypass_hash, rfc3339, secret_from_env};

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

#[cfg(test)]
mod tests {
    use super::function::MAX_FUNCTION_BYTES;
    use super::probe::{Expect, Probe};
    use super::state::check_secret;
    use super::*;
    use crate::config::{Config, WindowConfig};

    fn window(yaml_window: &str) -> WindowConfig {
        let text = format!(
            "environments:\n  shop:\n    region: eu-west-1\n    distribution: E2EXAMPLE12345\n    window:\n{yaml_window}"
        );
        let config = Config::parse(Path::new("maint.yaml"), &text).unwrap();
        config.select(None).unwrap().1.window_config()
    }

    fn render_function_en(window: &WindowConfig, base_dir: &Path) -> Result<String> {
        render_function(window, "en", base_dir)
    }

    fn embedded_config(code: &str) -> serde_json::Value {
        let start = code.find("{\"page\"").expect("config object");
        let mut de = serde_json::Deserializer::from_str(&code[start..]).into_iter();
        de.next().unwrap().unwrap()
    }

    #[test]
    fn the_default_function_fits_with_room_to_spare() {
        let code = render_function_en(&window("      message: We are upgrading the shop and will be back within the hour. Orders placed before 10:00 UTC are safe and will ship as planned.\n      bypass:\n        cidrs: [203.0.113.0/24, 198.51.100.0/24, 2001:db8::/32]\n        open_paths: [/health, /webhooks/*, /payments/callback]\n        secret_env: MAINT_BYPASS_SECRET\n      api_paths: [/api/*]\n"),
            Path::new("."),
        )
        .unwrap();
        assert!(code.len() < MAX_FUNCTION_BYTES, "{} bytes", code.len());
        assert!(!code.contains("__MAINT_CONFIG__"));
    }

    #[test]
    fn the_page_is_split_where_the_message_goes() {
        let code =
            render_function_en(&window("      title: Shop <closed>\n"), Path::new(".")).unwrap();
        let config = embedded_config(&code);
        let html = config["page"]["html"].as_array().unwrap();
        assert_eq!(html.len(), 2, "one message slot in the built-in page");
        assert!(
            html[0]
                .as_str()
                .unwrap()
                .contains("<title>Shop &lt;closed&gt;</title>")
        );
        let json = config["page"]["json"].as_array().unwrap();
        assert_eq!(json.len(), 2);
        let rebuilt = format!(
            "{}\"hi\"{}",
            json[0].as_str().unwrap(),
            json[1].as_str().unwrap()
        );
        let body: serde_json::Value = serde_json::from_str(&rebuilt).unwrap();
        assert_eq!(body["message"], "hi");
        assert_eq!(body["title"], "Shop <closed>");
    }

    #[test]
    fn bypass_rules_are_rendered_in_machine_form() {
        let code = render_function_en(&window("      bypass:\n        cidrs: [10.0.0.0/8, 2001:db8::/32]\n        open_paths: [/health]\n        secret_env: MAINT_BYPASS_SECRET\n        cookie_max_age: 600\n"),
            Path::new("."),
        )
        .unwrap();
        let config = embedded_config(&code);
        assert_eq!(config["ipv4"], serde_json::json!([[167_772_160u32, 8]]));
        assert_eq!(
            config["ipv6"],
            serde_json::json!([[[8193, 3512, 0, 0, 0, 0, 0, 0], 32]])
        );
        assert_eq!(config["open"], serde_json::json!(["^\\/health$"]));
        assert_eq!(config["bypass"]["maxAge"], 600);
        assert_eq!(config["bypass"]["param"], BYPASS_PARAM);
        let plain = render_function_en(&window("      retry_after: 60\n"), Path::new(".")).unwrap();
        assert!(embedded_config(&plain)["bypass"].is_null());
        assert_eq!(embedded_config(&plain)["retryAfter"], 60);
    }

    #[test]
    fn a_page_too_big_for_a_function_is_refused_with_the_numbers() {
        let dir = tempfile::tempdir().unwrap();
        let big = format!("<p>{{{{ message }}}}</p>{}", "<!-- padding -->".repeat(700));
        std::fs::write(dir.path().join("big.html"), big).unwrap();
        let err = render_function_en(&window("      template: big.html\n"), dir.path())
            .unwrap_err()
            .to_string();
        assert!(err.contains("over CloudFront's limit of 10240"), "{err}");
        assert!(err.contains("Shorten the page"), "{err}");
    }

    #[test]
    fn line_separators_cannot_break_the_es5_literal() {
        let code =
            render_function_en(&window("      message: \"a\\u2028b\"\n"), Path::new(".")).unwrap();
        assert!(!code.contains('\u{2028}'));
        assert!(code.contains("a\\u2028b"));
    }

    fn spec_with(window_yaml: &str) -> WindowSpec {
        let text = format!(
            "environments:\n  shop:\n    region: eu-west-1\n    distribution: E2EXAMPLE12345\n    window:\n{window_yaml}"
        );
        let config = Config::parse(Path::new("maint.yaml"), &text).unwrap();
        let (_, env) = config.select(None).unwrap();
        WindowSpec::new(&env, env.distribution.as_ref().unwrap(), Path::new(".")).unwrap()
    }

    fn on(until: Option<i64>) -> State {
        State {
            on: true,
            until,
            message: None,
            retry_after: None,
        }
    }

    fn expectations(probes: &[Probe]) -> Vec<Expect> {
        probes.iter().map(|p| p.expect).collect()
    }

    #[test]
    fn probes_expect_the_origin_while_the_window_is_off() {
        let spec = spec_with("      bypass:\n        secret_env: MAINT_BYPASS_SECRET\n");
        let probes = probes(&spec, None, 1_000);
        assert_eq!(expectations(&probes), [Expect::Origin; 3]);
        assert_eq!(probes[0].event["viewer"]["ip"], "198.51.100.23");
        assert_eq!(probes[0].event["request"]["uri"], "/maint-preflight");
        assert_eq!(probes[0].event["context"]["eventType"], "viewer-request");
        assert_eq!(probes[1].event["request"]["method"], "POST");
        assert_eq!(
            probes[2].event["request"]["querystring"][BYPASS_PARAM]["value"],
            "not-the-secret"
        );
        let off = State {
            on: false,
            ..on(None)
        };
        assert_eq!(
            expectations(&super::probes(&spec, Some(&off), 1_000)),
            [Expect::Origin; 3]
        );
        // Without a secret configured, no bypass probe.
        assert_eq!(
            super::probes(&spec_with("      retry_after: 60\n"), None, 0).len(),
            2
        );
    }

    #[test]
    fn probes_expect_the_page_while_the_window_is_on() {
        let spec = spec_with("      bypass:\n        secret_env: MAINT_BYPASS_SECRET\n");
        assert_eq!(
            expectations(&probes(&spec, Some(&on(None)), 1_000)),
            [
                Expect::Page { json: false },
                Expect::Page { json: true },
                Expect::Page { json: false }
            ]
        );
        // An API path answers JSON whatever it accepts.
        let api = spec_with("      api_paths: [/maint-*]\n");
        assert_eq!(
            expectations(&probes(&api, Some(&on(None)), 1_000)),
            [Expect::Page { json: true }; 2]
        );
        // A window that has ended, or ends about now.
        assert_eq!(
            expectations(&probes(&spec, Some(&on(Some(500))), 1_000)),
            [Expect::Origin; 3]
        );
        assert_eq!(
            expectations(&probes(&spec, Some(&on(Some(1_060))), 1_000)),
            [Expect::OriginOrPage; 3]
        );
    }

    #[test]
    fn probes_come_from_outside_the_bypass_rules() {
        let spec = spec_with(
            "      bypass:\n        cidrs: [198.51.100.0/24, 192.0.2.0/24]\n        open_paths: [/maint-preflight]\n",
        );
        let probes = probes(&spec, Some(&on(None)), 0);
        assert_eq!(probes[0].event["viewer"]["ip"], "203.0.113.23");
        assert_eq!(probes[0].event["request"]["uri"], "/maint-preflight/x");
        assert_eq!(probes[0].expect, Expect::Page { json: false });
        // Where every address or every path passes, the request must pass.
        let everyone = spec_with("      bypass:\n        cidrs: [0.0.0.0/0, \"::/0\"]\n");
        assert_eq!(
            expectations(&super::probes(&everyone, Some(&on(None)), 0)),
            [Expect::Origin; 2]
        );
        let open = spec_with("      bypass:\n        open_paths: [\"/*\"]\n");
        assert_eq!(
            expectations(&super::probes(&open, Some(&on(None)), 0)),
            [Expect::Origin; 2]
        );
    }

    #[test]
    fn cloudfronts_answers_are_judged() {
        let spec = spec_with("      bypass:\n        secret_env: MAINT_BYPASS_SECRET\n");
        let off = probes(&spec, None, 0);
        let passed = r#"{"request":{"method":"GET","uri":"/maint-preflight","querystring":{},"headers":{},"cookies":{}}}"#;
        assert_eq!(off[0].judge(passed), Ok(()));
        // The secret must never reach the origin.
        let leaked = r#"{"request":{"method":"GET","uri":"/maint-preflight","querystring":{"maint-bypass":{"value":"not-the-secret"}}}}"#;
        assert!(
            off[2]
                .judge(leaked)
                .unwrap_err()
                .contains("without the bypass parameter")
        );
        let html = r#"{"response":{"statusCode":503,"headers":{"content-type":{"value":"text/html; charset=utf-8"}}}}"#;
        let json = r#"{"response":{"statusCode":503,"headers":{"content-type":{"value":"application/json"}}}}"#;
        assert!(off[0].judge(html).is_err(), "a 503 while off");
        let during = probes(&spec, Some(&on(None)), 0);
        assert_eq!(during[0].judge(html), Ok(()));
        assert_eq!(during[1].judge(json), Ok(()));
        assert!(during[0].judge(json).unwrap_err().contains("HTML page"));
        assert!(during[0].judge(passed).is_err(), "passed while on");
        let teapot = r#"{"response":{"statusCode":418,"headers":{}}}"#;
        assert!(during[0].judge(teapot).unwrap_err().contains("418"));
        assert!(during[0].judge("").unwrap_err().contains("not JSON"));
    }

    #[test]
    fn state_values_fit_the_store_and_expire() {
        let state = State {
            on: true,
            until: Some(1_000),
            message: Some("back soon".into()),
            retry_after: Some(300),
        };
        let value = state.to_value().unwrap();
        assert_eq!(
            value,
            r#"{"on":true,"until":1000,"message":"back soon","retryAfter":300}"#
        );
        assert_eq!(State::from_value(&value), Some(state.clone()));
        assert!(state.active_at(999));
        assert!(!state.active_at(1_000));
        let long = State {
            message: Some("x".repeat(1_000)),
            ..state
        };
        assert!(long.to_value().unwrap_err().to_string().contains("1024"));
    }

    #[test]
    fn the_hash_matches_the_one_the_function_computes() {
        // The same vector the function's Node tests check, computed apart
        // with sha256sum: sha256("maint-bypass:s3cret").
        assert_eq!(
            bypass_hash("s3cret"),
            "dd200c22d395c8636bbfd65d7a030c665fb7374ec9e7eb9ceb22236332b67807"
        );
    }

    #[test]
    fn the_store_gets_a_hash_never_the_secret() {
        let hash = bypass_hash("correct-horse-battery-staple");
        assert_eq!(hash.len(), 64);
        assert!(!hash.contains("horse"));
        assert_ne!(hash, bypass_hash("correct-horse-battery-stapler"));
        assert!(check_secret("S", "short").is_err());
        assert!(check_secret("S", "has spaces in it, sixteen+").is_err());
        assert!(check_secret("S", "0123456789abcdef-_.~").is_ok());
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
