//! Window mode's desired state: a CloudFront Function on viewer-request that
//! answers covered requests with a 503 page while the KeyValueStore says the
//! window is on. Everything here is pure but `njs` (which runs the function
//! for `maint preview`): rendering the function, the store's values, which
//! behaviors the function covers, and the go-live gate's requests.
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
pub use probe::{Phase, Probe, gate};
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
mod tests {
    use super::function::MAX_FUNCTION_BYTES;
    use super::probe::{Expect, RetryAfter, cookie_token};
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
        // One message slot, and the built-in page shows the window's end:
        // the text after the message is split where it goes.
        assert_eq!(html.len(), 3, "one message slot and the end's place");
        assert_eq!(config["page"]["until"][0], 1);
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

    fn names(phases: &[Phase]) -> Vec<(&'static str, &'static str)> {
        phases
            .iter()
            .flat_map(|p| p.probes.iter().map(move |q| (p.name, q.name)))
            .collect()
    }

    const FULL: &str = "      bypass:\n        cidrs: [203.0.113.0/24, 2001:db8:ffff::/48]\n        open_paths: [/health, /hooks/*]\n        secret_env: MAINT_BYPASS_SECRET\n        cookie_max_age: 600\n      api_paths: [/api/*]\n      retry_after: 90\n";

    #[test]
    fn the_gate_runs_every_answer_the_function_can_give() {
        let spec = spec_with(FULL);
        let phases = gate(&spec, Some("gate-secret-0123456789"), 1_000_000);
        assert_eq!(
            names(&phases),
            [
                ("on, ending in two hours", "the HTML page"),
                ("on, ending in two hours", "the JSON body (by Accept)"),
                ("on, ending in two hours", "the JSON body (by API path)"),
                ("on, ending in two hours", "an open path"),
                ("on, ending in two hours", "an allowed IPv4 network"),
                ("on, ending in two hours", "an allowed IPv6 network"),
                ("on, ending in two hours", "a valid bypass link"),
                ("on, ending in two hours", "a valid bypass cookie"),
                ("on, ending in two hours", "a forged bypass cookie"),
                ("on, ending in two hours", "a wrong bypass secret"),
                ("off", "the HTML page"),
                ("off", "the bypass parameter while off"),
                ("on until `maint off`", "the HTML page"),
                ("on, ended an hour ago", "the HTML page"),
            ]
        );
        let on = &phases[0];
        assert_eq!(on.state.until, Some(1_000_000 + 7200));
        assert!(on.state.on);
        assert!(!phases[1].state.on);
        assert_eq!(phases[2].state.until, None);
        assert_eq!(phases[3].state.until, Some(1_000_000 - 3600));
        // Requests come from outside every rule, but for the ones that test a rule.
        let page = &on.probes[0].event;
        assert_eq!(page["viewer"]["ip"], "198.51.100.23");
        assert_eq!(page["request"]["uri"], "/maint-preflight");
        assert_eq!(on.probes[1].event["viewer"]["ip"], "2001:db8:eeee::23");
        assert_eq!(on.probes[2].event["request"]["uri"], "/api/maint-preflight");
        assert_eq!(on.probes[3].event["request"]["uri"], "/health");
        assert_eq!(on.probes[4].event["viewer"]["ip"], "203.0.113.0");
        assert_eq!(on.probes[5].event["viewer"]["ip"], "2001:db8:ffff::");
        assert_eq!(
            on.probes[6].expect,
            Expect::Redirect {
                location: "/maint-preflight?keep=1".into(),
                cookie: cookie_token(&bypass_hash("gate-secret-0123456789")),
                max_age: 600,
            }
        );
        assert_eq!(
            phases[2].probes[0].expect,
            Expect::Page {
                json: false,
                message: Some("maint go-live check 3 (until maint off)".into()),
                retry_after: RetryAfter::Exactly(90),
            }
        );
        // Without a bypass secret, nor ranges, nor paths: only what applies.
        let plain = gate(&spec_with("      retry_after: 60\n"), None, 0);
        assert_eq!(
            names(&plain),
            [
                ("on, ending in two hours", "the HTML page"),
                ("on, ending in two hours", "the JSON body (by Accept)"),
                ("off", "the HTML page"),
                ("on until `maint off`", "the HTML page"),
                ("on, ended an hour ago", "the HTML page"),
            ]
        );
    }

    #[test]
    fn where_every_request_is_let_through_the_gate_expects_it_to_pass() {
        for yaml in [
            "      bypass:\n        cidrs: [0.0.0.0/0, \"::/0\"]\n",
            "      bypass:\n        open_paths: [\"/*\"]\n",
        ] {
            let phases = gate(&spec_with(yaml), None, 0);
            for phase in &phases {
                for probe in &phase.probes {
                    if probe.name.starts_with("the ") {
                        assert_eq!(probe.expect, Expect::Origin, "{yaml}: {}", probe.name);
                    }
                }
            }
        }
    }

    fn page_output(status: u16, kind: &str, retry: &str, body: &str) -> String {
        serde_json::json!({"response": {
            "statusCode": status,
            "headers": {
                "content-type": {"value": kind},
                "cache-control": {"value": "no-store"},
                "retry-after": {"value": retry}
            },
            "body": {"encoding": "text", "data": body}
        }})
        .to_string()
    }

    #[test]
    fn cloudfronts_answers_are_judged_field_by_field() {
        let spec = spec_with(FULL);
        let phases = gate(&spec, Some("gate-secret-0123456789"), 0);
        let html = &phases[0].probes[0];
        let judge = |probe: &Probe, output: &str| probe.expect.judge(&probe.event, output);
        let body = "<p>maint go-live check &lt;1&gt; &amp; &quot;on&quot;</p>";
        let good = page_output(503, "text/html; charset=utf-8", "7199", body);
        assert_eq!(judge(html, &good), Ok(()));
        for (bad, lacks) in [
            (
                page_output(200, "text/html; charset=utf-8", "7199", body),
                "status 503",
            ),
            (page_output(503, "text/html", "7199", body), "Content-Type"),
            (
                page_output(503, "text/html; charset=utf-8", "0", body),
                "Retry-After",
            ),
            (
                page_output(503, "text/html; charset=utf-8", "99999", body),
                "Retry-After",
            ),
            (
                page_output(
                    503,
                    "text/html; charset=utf-8",
                    "7199",
                    "<p>maint go-live check <1></p>",
                ),
                "the message",
            ),
        ] {
            let err = judge(html, &bad).unwrap_err();
            assert!(err.contains(lacks), "{lacks}: {err}");
        }
        let no_store = good.replace("no-store", "max-age=60");
        assert!(
            judge(html, &no_store)
                .unwrap_err()
                .contains("Cache-Control")
        );
        let passed = r#"{"request":{"method":"GET","uri":"/maint-preflight","querystring":{}}}"#;
        assert!(
            judge(html, passed)
                .unwrap_err()
                .contains("a 503 with the HTML page")
        );
        // JSON: the message as a JSON string.
        let json = &phases[0].probes[1];
        let body = r#"{"message":"maint go-live check <1> & \"on\""}"#;
        assert_eq!(
            judge(json, &page_output(503, "application/json", "60", body)),
            Ok(())
        );
        // The redirect: Location without the secret, the cookie and its attributes.
        let link = &phases[0].probes[6];
        let token = cookie_token(&bypass_hash("gate-secret-0123456789"));
        let redirect = |location: &str, value: &str, attributes: &str| {
            serde_json::json!({"response": {
                "statusCode": 302,
                "headers": {"location": {"value": location}, "cache-control": {"value": "no-store"}},
                "cookies": {BYPASS_COOKIE: {"value": value, "attributes": attributes}}
            }})
            .to_string()
        };
        let attributes = "Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=600";
        assert_eq!(
            judge(
                link,
                &redirect("/maint-preflight?keep=1", &token, attributes)
            ),
            Ok(())
        );
        let leaked = format!("/maint-preflight?{BYPASS_PARAM}=gate-secret-0123456789&keep=1");
        assert!(
            judge(link, &redirect(&leaked, &token, attributes))
                .unwrap_err()
                .contains("Location")
        );
        assert!(
            judge(
                link,
                &redirect("/maint-preflight?keep=1", "forged", attributes)
            )
            .unwrap_err()
            .contains("cookie")
        );
        assert!(
            judge(
                link,
                &redirect("/maint-preflight?keep=1", &token, "Path=/; Max-Age=600")
            )
            .unwrap_err()
            .contains("HttpOnly")
        );
        // The secret never reaches the origin.
        let off = &phases[1].probes[1];
        let leaked = r#"{"request":{"method":"GET","uri":"/maint-preflight","querystring":{"maint-bypass":{"value":"x"}}}}"#;
        assert!(
            judge(off, leaked)
                .unwrap_err()
                .contains("bypass parameter reached the origin")
        );
        assert_eq!(judge(off, passed), Ok(()));
        assert!(judge(off, "").unwrap_err().contains("not JSON"));
    }

    #[test]
    fn an_answer_of_another_phase_is_stale_not_wrong() {
        let spec = spec_with(FULL);
        let phases = gate(&spec, None, 0);
        let passed = r#"{"request":{"method":"GET","uri":"/maint-preflight","querystring":{}}}"#;
        // Phase 1 still sees an empty store (or the last run's state).
        assert!(phases[0].is_stale(&phases, passed));
        let first = page_output(
            503,
            "text/html; charset=utf-8",
            "7000",
            "maint go-live check &lt;1&gt; &amp; &quot;on&quot;",
        );
        assert!(phases[1].is_stale(&phases, &first));
        assert!(phases[2].is_stale(&phases, passed));
        let third = page_output(
            503,
            "text/html; charset=utf-8",
            "90",
            "maint go-live check 3 (until maint off)",
        );
        assert!(phases[3].is_stale(&phases, &third));
        // A wrong answer is no phase's: not stale.
        let teapot = r#"{"response":{"statusCode":418,"headers":{}}}"#;
        assert!(phases.iter().all(|p| !p.is_stale(&phases, teapot)));
    }

    #[test]
    fn hmac_is_rfc_4231() {
        // RFC 4231, test case 2.
        assert_eq!(
            hex::encode(super::probe::hmac_sha256(
                b"Jefe",
                b"what do ya want for nothing?"
            )),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // A key longer than the block is hashed first (test case 6).
        assert_eq!(
            hex::encode(super::probe::hmac_sha256(
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            )),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

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
