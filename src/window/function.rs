//! The window's CloudFront Function: the template in templates/ with the
//! static settings (the page, bypass ranges, open and API paths) rendered in
//! as one JSON literal, checked against CloudFront's 10 KB code limit.

use std::path::Path;

use anyhow::{Result, bail};
use serde::Serialize;

use super::{BYPASS_COOKIE, BYPASS_PARAM};
use crate::config::WindowConfig;
use crate::site::page::Template;
use crate::values::Format;

pub const FUNCTION_TEMPLATE: &str = include_str!("../../templates/window-function.js");
/// CloudFront Functions' code limit (not adjustable).
pub const MAX_FUNCTION_BYTES: usize = 10_240;
/// Where the message goes in the rendered page: letters, digits and
/// underscores, which neither HTML- nor JSON-escaping changes.
const SLOT: &str = "MAINT_MESSAGE_SLOT_5F1C";
/// Where the window's end goes, for a page that shows it (`{{ until }}`).
const UNTIL_SLOT: &str = "MAINT_UNTIL_SLOT_9D2E";

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
    /// Where a window's end goes, when the template shows it: `[part,
    /// fragment, slot]`: `fragment` (its `slot` replaced by the end time, or
    /// nothing when the window has no end) joins `html[part]` and
    /// `html[part + 1]`, the two halves of the page text it goes between.
    /// No string offset: njs indexes strings by code point and V8 by UTF-16
    /// unit, so an offset computed for one lands elsewhere on the other
    /// after a character outside the BMP. A difference, not a second page:
    /// every byte counts against the 10 KB limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    until: Option<(usize, String, &'static str)>,
}

/// Where rendering with an end time inserted text into the page split in
/// `plain`: one part grew by one fragment (what `{% if until %}` does).
/// Returns the part, the text before and after the fragment, and the
/// fragment.
fn insertion(plain: &[String], with_until: &[String]) -> Option<(usize, String, String, String)> {
    if plain.len() != with_until.len() {
        return None;
    }
    let mut changed = plain
        .iter()
        .zip(with_until)
        .enumerate()
        .filter(|(_, (a, b))| a != b);
    let (part, (before, after)) = changed.next()?;
    if changed.next().is_some() {
        return None;
    }
    let prefix = before
        .char_indices()
        .zip(after.chars())
        .find(|((_, a), b)| a != b)
        .map_or(before.len(), |((i, _), _)| i);
    let rest = &before[prefix..];
    let fragment = after.strip_prefix(&before[..prefix])?.strip_suffix(rest)?;
    Some((
        part,
        before[..prefix].to_string(),
        rest.to_string(),
        fragment.to_string(),
    ))
}

#[derive(Serialize)]
struct BypassParams {
    param: &'static str,
    cookie: &'static str,
    #[serde(rename = "maxAge")]
    max_age: u32,
}

/// The function's code for `window`, checked against the 10 KB limit.
pub fn render_function(window: &WindowConfig, lang: &str, base_dir: &Path) -> Result<String> {
    let html = Template::from_file_or_builtin(Format::Html, window.template.as_deref(), base_dir)?
        .in_lang(lang);
    let json =
        Template::from_file_or_builtin(Format::Json, window.json_template.as_deref(), base_dir)?
            .in_lang(lang);
    let html_page = html.render_text(&window.title, SLOT)?;
    let json_page = json.render_text(&window.title, SLOT)?;
    let mut parts: Vec<String> = html_page.split(SLOT).map(str::to_string).collect();
    let with_until: Vec<String> = html
        .render_parts(&window.title, SLOT, UNTIL_SLOT)?
        .split(SLOT)
        .map(str::to_string)
        .collect();
    let until = insertion(&parts, &with_until)
        .filter(|(.., fragment)| fragment.contains(UNTIL_SLOT))
        .map(|(part, head, tail, fragment)| {
            parts.splice(part..=part, [head, tail]);
            (part, fragment, UNTIL_SLOT)
        });
    let (mut ipv4, mut ipv6) = (Vec::new(), Vec::new());
    for cidr in &window.bypass.cidrs {
        match cidr.network() {
            std::net::IpAddr::V4(v4) => ipv4.push((u32::from(v4), cidr.prefix())),
            std::net::IpAddr::V6(v6) => ipv6.push((v6.segments(), cidr.prefix())),
        }
    }
    let config = FunctionConfig {
        page: Pages {
            html: parts,
            json: json_page
                .split(&format!("\"{SLOT}\""))
                .map(str::to_string)
                .collect(),
            until,
        },
        message: window.message.clone(),
        retry_after: window.retry_after.get(),
        ipv4,
        ipv6,
        open: window
            .bypass
            .open_paths
            .iter()
            .map(crate::values::PathPattern::regex_source)
            .collect(),
        api: window
            .api_paths
            .iter()
            .map(crate::values::PathPattern::regex_source)
            .collect(),
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

#[cfg(test)]
mod tests {
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
}
