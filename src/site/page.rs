//! The maintenance page: the one object in the bucket, which CloudFront serves
//! with a 503 for every request.
//!
//! The message is rendered into a template with escaping right for the format
//! (HTML-escaped in HTML, JSON-encoded in JSON), so no message can break the
//! page or inject markup. The live message and a hash of the body travel in
//! the object's metadata: that lets `status` show the message and lets
//! `set-message` and `provision` decide with one HEAD whether to upload.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context as _, Result, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use minijinja::{AutoEscape, UndefinedBehavior};
use sha2::{Digest, Sha256};

use crate::config::Environment;
use crate::values::{Format, PageKey};

pub const BUILTIN_HTML: &str = include_str!("../../templates/maintenance.html");
pub const BUILTIN_JSON: &str = include_str!("../../templates/maintenance.json");

/// S3 user metadata keys (sent as `x-amz-meta-*`).
pub const META_SHA256: &str = "maint-sha256";
pub const META_MESSAGE: &str = "maint-message";
/// The id of the distribution that serves the page, so that `invalidate`,
/// `set-message --invalidate` and `status` find it with one HeadObject
/// instead of listing every distribution in the account. A record only:
/// it is checked against the distribution's comment before use.
pub const META_DISTRIBUTION: &str = "maint-distribution";

/// A template and the format it renders to.
#[derive(Debug, Clone)]
pub struct Template {
    pub format: Format,
    pub source: String,
    /// Where it came from, for messages: a path or "built-in".
    pub origin: String,
    /// The page's language (`lang` in the config), for `{{ lang }}`.
    pub lang: String,
}

impl Template {
    pub fn builtin(format: Format) -> Self {
        let source = match format {
            Format::Html => BUILTIN_HTML,
            Format::Json => BUILTIN_JSON,
        };
        Self {
            format,
            source: source.to_string(),
            origin: "built-in".to_string(),
            lang: "en".to_string(),
        }
    }

    /// The same template, for pages in `lang`.
    pub fn in_lang(mut self, lang: &str) -> Self {
        self.lang = lang.to_string();
        self
    }

    /// The environment's template: its `template` file, or the built-in one.
    pub fn for_environment(env: &Environment, base_dir: &Path) -> Result<Self> {
        Ok(
            Self::from_file_or_builtin(env.format, env.template.as_deref(), base_dir)?
                .in_lang(env.lang.as_str()),
        )
    }

    pub fn render(&self, key: &PageKey, title: &str, message: &str) -> Result<Page> {
        Ok(Page {
            key: key.clone(),
            format: self.format,
            body: self.render_text(title, message)?.into_bytes(),
            message: message.to_string(),
            distribution: None,
        })
    }

    /// The template rendered with `title` and `message`, escaped for its format.
    pub fn render_text(&self, title: &str, message: &str) -> Result<String> {
        self.render_parts(title, message, "")
    }

    /// The same, with `until` (the window's expected end, as text; empty when
    /// none, which a template tests with `{% if until %}`).
    pub fn render_parts(&self, title: &str, message: &str, until: &str) -> Result<String> {
        let mut jinja = minijinja::Environment::new();
        jinja.set_undefined_behavior(UndefinedBehavior::Strict);
        let escape = match self.format {
            Format::Html => AutoEscape::Html,
            Format::Json => AutoEscape::Json,
        };
        jinja.set_auto_escape_callback(move |_| escape.clone());
        let template = jinja
            .template_from_str(&self.source)
            .with_context(|| format!("template {} does not parse", self.origin))?;
        let body = template
            .render(minijinja::context! {
                title => title,
                message => message,
                lang => &self.lang,
                until => until,
            })
            .map_err(|e| {
                anyhow::anyhow!(
                    "template {} does not render: {e} (it may use `title`, `message`, `lang` and \
                     `until`)",
                    self.origin
                )
            })?;
        if self.format == Format::Json
            && let Err(e) = serde_json::from_str::<serde_json::Value>(&body)
        {
            bail!(
                "template {} renders invalid JSON ({e}); write values as bare {{{{ message }}}}: \
                 they are JSON-encoded for you",
                self.origin
            );
        }
        Ok(body)
    }

    /// A template file relative to `base_dir`, or the built-in one for `format`.
    pub fn from_file_or_builtin(
        format: Format,
        file: Option<&Path>,
        base_dir: &Path,
    ) -> Result<Self> {
        let Some(relative) = file else {
            return Ok(Self::builtin(format));
        };
        let path = base_dir.join(relative);
        let source = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "cannot read template {} (named in the config, relative to it)",
                path.display()
            )
        })?;
        Ok(Self {
            format,
            source,
            origin: path.display().to_string(),
            lang: "en".to_string(),
        })
    }
}

/// A rendered error document, ready to upload or compare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub key: PageKey,
    pub format: Format,
    pub body: Vec<u8>,
    pub message: String,
    /// The id of the distribution serving it, recorded in its metadata.
    pub distribution: Option<String>,
}

impl Page {
    /// The same document, recording `id` (if any) as its distribution.
    pub fn serving(mut self, id: Option<&str>) -> Self {
        self.distribution = id.map(str::to_string);
        self
    }

    pub fn content_type(&self) -> &'static str {
        self.format.content_type()
    }

    pub fn sha256(&self) -> String {
        hex::encode(Sha256::digest(&self.body))
    }

    /// The metadata stored with the object (values are ASCII, as S3 requires).
    pub fn metadata(&self) -> BTreeMap<String, String> {
        let mut metadata = BTreeMap::from([
            (META_SHA256.to_string(), self.sha256()),
            (
                META_MESSAGE.to_string(),
                BASE64.encode(self.message.as_bytes()),
            ),
        ]);
        if let Some(id) = &self.distribution {
            metadata.insert(META_DISTRIBUTION.to_string(), id.clone());
        }
        metadata
    }
}

/// `Cache-Control` for the document: short, so edits reach visitors quickly
/// even without an invalidation.
pub fn cache_control(max_age: u32) -> String {
    format!("public, max-age={max_age}")
}

/// The message recorded in an object's metadata, if it carries a readable one.
pub fn message_from_metadata(metadata: &BTreeMap<String, String>) -> Option<String> {
    let encoded = metadata.get(META_MESSAGE)?;
    let bytes = BASE64.decode(encoded).ok()?;
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> PageKey {
        PageKey::try_from(s.to_string()).unwrap()
    }

    #[test]
    fn html_messages_are_escaped() {
        let doc = Template::builtin(Format::Html)
            .render(
                &key("m.html"),
                "Down",
                "<script>alert(1)</script> & \"more\"",
            )
            .unwrap();
        let body = String::from_utf8(doc.body.clone()).unwrap();
        assert!(
            body.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt; &amp; &quot;more&quot;"),
            "{body}"
        );
        assert!(!body.contains("<script>"));
        assert_eq!(doc.content_type(), "text/html; charset=utf-8");
    }

    #[test]
    fn json_messages_are_encoded_and_the_body_is_valid_json() {
        let doc = Template::builtin(Format::Json)
            .render(
                &key("m.json"),
                "Down",
                "quote \" backslash \\ newline \n done",
            )
            .unwrap();
        let value: serde_json::Value = serde_json::from_slice(&doc.body).unwrap();
        assert_eq!(value["message"], "quote \" backslash \\ newline \n done");
        assert_eq!(value["status"], 503);
        assert_eq!(doc.content_type(), "application/json");
    }

    #[test]
    fn a_template_that_breaks_json_is_refused() {
        let template = Template {
            format: Format::Json,
            source: "{\"message\": \"{{ message }}\"}".to_string(),
            origin: "t.json".to_string(),
            lang: "en".into(),
        };
        let err = template
            .render(&key("m.json"), "t", "hi")
            .unwrap_err()
            .to_string();
        assert!(err.contains("invalid JSON"), "{err}");
    }

    #[test]
    fn unknown_template_variables_are_errors() {
        let template = Template {
            format: Format::Html,
            source: "{{ mesage }}".to_string(),
            origin: "t.html".to_string(),
            lang: "en".into(),
        };
        let err = template
            .render(&key("m.html"), "t", "hi")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("t.html") && err.contains("does not render"),
            "{err}"
        );
    }

    #[test]
    fn metadata_round_trips_unicode_messages() {
        let doc = Template::builtin(Format::Html)
            .render(&key("m.html"), "t", "Wartung bis 10:00 — merci ✓")
            .unwrap();
        let meta = doc.metadata();
        assert!(meta.values().all(|v| v.is_ascii()));
        assert_eq!(
            message_from_metadata(&meta).unwrap(),
            "Wartung bis 10:00 — merci ✓"
        );
        assert_eq!(meta[META_SHA256], doc.sha256());
        assert_eq!(doc.sha256().len(), 64);
    }

    #[test]
    fn same_input_same_hash_different_message_different_hash() {
        let t = Template::builtin(Format::Html);
        let a = t.render(&key("m.html"), "t", "one").unwrap();
        let b = t.render(&key("m.html"), "t", "one").unwrap();
        let c = t.render(&key("m.html"), "t", "two").unwrap();
        assert_eq!(a.sha256(), b.sha256());
        assert_ne!(a.sha256(), c.sha256());
    }
}
