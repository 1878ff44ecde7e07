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
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::{Environment, WindowConfig};
use crate::document::Template;
use crate::values::{DistributionId, Format};

pub const FUNCTION_TEMPLATE: &str = include_str!("../templates/window-function.js");
/// CloudFront Functions' code limit (not adjustable).
pub const MAX_FUNCTION_BYTES: usize = 10_240;
/// KeyValueStore's value limit.
pub const MAX_VALUE_BYTES: usize = 1024;
pub const RUNTIME: &str = "cloudfront-js-2.0";
pub const STATE_KEY: &str = "state";
pub const BYPASS_KEY: &str = "bypass";
pub const BYPASS_PARAM: &str = "maint-bypass";
pub const BYPASS_COOKIE: &str = "maint_bypass";
/// The pattern that names the default cache behavior.
pub const DEFAULT_BEHAVIOR: &str = "*";
/// Where the message goes in the rendered page: letters, digits and
/// underscores, which neither HTML- nor JSON-escaping changes.
const SLOT: &str = "MAINT_MESSAGE_SLOT_5F1C";

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
}

impl WindowSpec {
    pub fn new(env: &Environment, distribution: &DistributionId, base_dir: &Path) -> Result<Self> {
        let window = env.window_config();
        Ok(Self {
            distribution: distribution.clone(),
            behaviors: window.behaviors.clone(),
            code: render_function(&window, base_dir)?,
            secret_env: window.bypass.secret_env.clone(),
            default_message: window.message.clone(),
            retry_after: window.retry_after.get(),
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

#[derive(Serialize)]
struct FunctionConfig {
    page: Pages,
    message: String,
    #[serde(rename = "retryAfter")]
    retry_after: u32,
    ipv4: Vec<(u32, u8)>,
    ipv6: Vec<([u16; 8], u8)>,
    open: Vec<String>,
    api: Vec<String>,
    bypass: Option<BypassParams>,
}

#[derive(Serialize)]
struct Pages {
    html: Vec<String>,
    json: Vec<String>,
}

#[derive(Serialize)]
struct BypassParams {
    param: &'static str,
    cookie: &'static str,
    #[serde(rename = "maxAge")]
    max_age: u32,
}

/// The function's code for `window`, checked against the 10 KB limit.
pub fn render_function(window: &WindowConfig, base_dir: &Path) -> Result<String> {
    let html = Template::from_file_or_builtin(Format::Html, window.template.as_deref(), base_dir)?;
    let json =
        Template::from_file_or_builtin(Format::Json, window.json_template.as_deref(), base_dir)?;
    let html_page = html.render_text(&window.title, SLOT)?;
    let json_page = json.render_text(&window.title, SLOT)?;
    let (mut ipv4, mut ipv6) = (Vec::new(), Vec::new());
    for cidr in &window.bypass.cidrs {
        match cidr.network {
            std::net::IpAddr::V4(v4) => ipv4.push((u32::from(v4), cidr.prefix)),
            std::net::IpAddr::V6(v6) => ipv6.push((v6.segments(), cidr.prefix)),
        }
    }
    let config = FunctionConfig {
        page: Pages {
            html: html_page.split(SLOT).map(str::to_string).collect(),
            json: json_page
                .split(&format!("\"{SLOT}\""))
                .map(str::to_string)
                .collect(),
        },
        message: window.message.clone(),
        retry_after: window.retry_after.get(),
        ipv4,
        ipv6,
        open: window
            .bypass
            .open_paths
            .iter()
            .map(|p| p.regex_source())
            .collect(),
        api: window.api_paths.iter().map(|p| p.regex_source()).collect(),
        bypass: window.bypass.secret_env.as_ref().map(|_| BypassParams {
            param: BYPASS_PARAM,
            cookie: BYPASS_COOKIE,
            max_age: window.bypass.cookie_max_age.get(),
        }),
    };
    // JSON is valid JavaScript but for two line separators, which ES5 string
    // literals may not hold raw.
    let literal = serde_json::to_string(&config)?
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029");
    let code = FUNCTION_TEMPLATE.replacen("__MAINT_CONFIG__", &literal, 1);
    if code.len() > MAX_FUNCTION_BYTES {
        bail!(
            "the window function would be {} bytes, over CloudFront's limit of {MAX_FUNCTION_BYTES} \
             bytes for a function's code: the page template renders to {} bytes and the JSON body \
             to {}. Shorten the page (move styles and images to your site), the message, or the \
             bypass lists",
            code.len(),
            html_page.len(),
            json_page.len()
        );
    }
    Ok(code)
}

/// The value of the store's `state` key: everything that switching changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    pub on: bool,
    /// When the window ends by itself (seconds since the epoch).
    pub until: Option<i64>,
    pub message: Option<String>,
    #[serde(rename = "retryAfter")]
    pub retry_after: Option<u32>,
}

impl State {
    /// The stored form, checked against the store's 1 KB value limit.
    pub fn to_value(&self) -> Result<String> {
        let value = serde_json::to_string(self)?;
        if value.len() > MAX_VALUE_BYTES {
            bail!(
                "the window state would be {} bytes, over the KeyValueStore limit of \
                 {MAX_VALUE_BYTES}: shorten the message",
                value.len()
            );
        }
        Ok(value)
    }

    pub fn from_value(value: &str) -> Option<Self> {
        serde_json::from_str(value).ok()
    }

    /// Whether the window is in effect at `now` (seconds since the epoch).
    pub fn active_at(&self, now: i64) -> bool {
        self.on && self.until.is_none_or(|until| now < until)
    }
}

/// What the store holds for the bypass secret: a hash, never the secret.
pub fn bypass_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(format!("maint-bypass:{secret}").as_bytes()))
}

/// A secret travels in a URL and guards the whole site: long, and made of
/// characters no URL encoding changes.
pub fn check_secret(var: &str, secret: &str) -> Result<()> {
    if secret.len() < 16 || secret.len() > 256 {
        bail!(
            "the bypass secret in {var} must be 16 to 256 characters long (it is {}): use a long \
             random string, e.g. `openssl rand -hex 24`",
            secret.len()
        );
    }
    if !secret
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-_.~".contains(&b))
    {
        bail!(
            "the bypass secret in {var} may only hold letters, digits, `-`, `_`, `.` and `~`, so \
             that it reads the same in any URL"
        );
    }
    Ok(())
}

/// The bypass secret from the environment, when the config asks for one.
pub fn secret_from_env(spec: &WindowSpec) -> Result<Option<String>> {
    let Some(var) = &spec.secret_env else {
        return Ok(None);
    };
    match std::env::var(var) {
        Ok(secret) => {
            check_secret(var, &secret)?;
            Ok(Some(secret))
        }
        Err(_) => bail!(
            "window.bypass.secret_env names {var}, which is not set: export the bypass secret in \
             {var} (only its hash leaves this machine)"
        ),
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
    use super::*;
    use crate::config::Config;

    fn window(yaml_window: &str) -> WindowConfig {
        let text = format!(
            "environments:\n  shop:\n    region: eu-west-1\n    distribution: E2EXAMPLE12345\n    window:\n{yaml_window}"
        );
        let config = Config::parse(Path::new("maint.yaml"), &text).unwrap();
        config.select(None).unwrap().1.window_config()
    }

    fn embedded_config(code: &str) -> serde_json::Value {
        let start = code.find("{\"page\"").expect("config object");
        let mut de = serde_json::Deserializer::from_str(&code[start..]).into_iter();
        de.next().unwrap().unwrap()
    }

    #[test]
    fn the_default_function_fits_with_room_to_spare() {
        let code = render_function(
            &window("      message: We are upgrading the shop and will be back within the hour. Orders placed before 10:00 UTC are safe and will ship as planned.\n      bypass:\n        cidrs: [203.0.113.0/24, 198.51.100.0/24, 2001:db8::/32]\n        open_paths: [/health, /webhooks/*, /payments/callback]\n        secret_env: MAINT_BYPASS_SECRET\n      api_paths: [/api/*]\n"),
            Path::new("."),
        )
        .unwrap();
        assert!(code.len() < MAX_FUNCTION_BYTES, "{} bytes", code.len());
        assert!(!code.contains("__MAINT_CONFIG__"));
    }

    #[test]
    fn the_page_is_split_where_the_message_goes() {
        let code =
            render_function(&window("      title: Shop <closed>\n"), Path::new(".")).unwrap();
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
        let code = render_function(
            &window("      bypass:\n        cidrs: [10.0.0.0/8, 2001:db8::/32]\n        open_paths: [/health]\n        secret_env: MAINT_BYPASS_SECRET\n        cookie_max_age: 600\n"),
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
        let plain = render_function(&window("      retry_after: 60\n"), Path::new(".")).unwrap();
        assert!(embedded_config(&plain)["bypass"].is_null());
        assert_eq!(embedded_config(&plain)["retryAfter"], 60);
    }

    #[test]
    fn a_page_too_big_for_a_function_is_refused_with_the_numbers() {
        let dir = tempfile::tempdir().unwrap();
        let big = format!("<p>{{{{ message }}}}</p>{}", "<!-- padding -->".repeat(700));
        std::fs::write(dir.path().join("big.html"), big).unwrap();
        let err = render_function(&window("      template: big.html\n"), dir.path())
            .unwrap_err()
            .to_string();
        assert!(err.contains("over CloudFront's limit of 10240"), "{err}");
        assert!(err.contains("Shorten the page"), "{err}");
    }

    #[test]
    fn line_separators_cannot_break_the_es5_literal() {
        let code =
            render_function(&window("      message: \"a\\u2028b\"\n"), Path::new(".")).unwrap();
        assert!(!code.contains('\u{2028}'));
        assert!(code.contains("a\\u2028b"));
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
