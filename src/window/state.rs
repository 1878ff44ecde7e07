//! What the store holds: the `state` key that `on` and `off` write, and the
//! bypass secret's hash (never the secret).

use anyhow::{Result, bail};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::{MAX_VALUE_BYTES, WindowSpec};

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

    /// Whether visitors get the page at `now`, and the message they read
    /// (the config's when the state names none).
    pub fn visible_at(state: Option<&Self>, now: i64, default_message: &str) -> (bool, String) {
        let on = state.is_some_and(|s| s.active_at(now));
        let message = state
            .and_then(|s| s.message.clone())
            .filter(|m| !m.is_empty())
            .unwrap_or_else(|| default_message.to_string());
        (on, message)
    }
}

/// Seconds since the epoch, now.
pub fn now_epoch() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or_default()
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

/// An epoch time (as `until` is stored) as RFC 3339, UTC.
pub fn rfc3339(epoch: i64) -> String {
    let secs = u64::try_from(epoch).unwrap_or_default();
    humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(secs)).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
