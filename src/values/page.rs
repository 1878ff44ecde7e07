//! What the page is: its format (HTML or JSON) and its language.

use serde::{Deserialize, Serialize};

/// What the error document is: an HTML page or a JSON body for API clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    #[default]
    Html,
    Json,
}

impl Format {
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Html => "text/html; charset=utf-8",
            Self::Json => "application/json",
        }
    }
    pub fn default_key(self) -> &'static str {
        match self {
            Self::Html => "maintenance.html",
            Self::Json => "maintenance.json",
        }
    }
}

/// A page's language tag (BCP 47 shape: `en`, `de`, `pt-BR`, `zh-Hant`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(into = "String")]
pub struct Lang(String);
validated_string!(Lang);

impl Default for Lang {
    fn default() -> Self {
        Self("en".to_string())
    }
}

impl TryFrom<String> for Lang {
    type Error = String;

    fn try_from(tag: String) -> Result<Self, String> {
        let mut parts = tag.split('-');
        let primary = parts.next().unwrap_or_default();
        let ok = (2..=3).contains(&primary.len())
            && primary.bytes().all(|b| b.is_ascii_lowercase())
            && parts.all(|p| {
                (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric())
            });
        if ok {
            Ok(Self(tag))
        } else {
            Err(format!(
                "invalid language `{tag}`: expected a tag such as `en`, `de` or `pt-BR`"
            ))
        }
    }
}

impl From<Lang> for String {
    fn from(lang: Lang) -> Self {
        lang.0
    }
}

impl Lang {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_are_tags() {
        for ok in ["en", "de", "pt-BR", "zh-Hant", "gsw"] {
            assert!(Lang::try_from(ok.to_string()).is_ok(), "{ok}");
        }
        for bad in ["", "EN", "english", "en_US", "en-", "\"><script>"] {
            assert!(Lang::try_from(bad.to_string()).is_err(), "{bad}");
        }
        assert_eq!(Lang::default().as_str(), "en");
    }
}
