//! What a message and a title may hold: bounded so the page's metadata
//! keeps it, and no control characters.

use anyhow::Result;

/// Messages are kept in the document's S3 metadata (base64), whose total size
/// AWS limits to 2 KB; this bound leaves room for the rest.
pub const MAX_MESSAGE_BYTES: usize = 1024;

/// A message must fit the document metadata and be worth showing.
pub fn check_message(message: &str) -> Result<(), String> {
    if message.trim().is_empty() {
        return Err("the message is empty: say what visitors should know".into());
    }
    if message.len() > MAX_MESSAGE_BYTES {
        return Err(format!(
            "the message is {} bytes; at most {MAX_MESSAGE_BYTES} bytes are allowed \
             (put longer content in the template instead)",
            message.len()
        ));
    }
    check_no_control("the message", message)
}

/// Refuses control characters other than newline and tab: NUL, ESC, BEL and
/// the like could rewrite the terminal of whoever reads them back (`status`).
pub fn check_no_control(what: &str, text: &str) -> Result<(), String> {
    match text
        .char_indices()
        .find(|(_, c)| c.is_control() && *c != '\n' && *c != '\t')
    {
        Some((at, c)) => Err(format!(
            "{what} holds a control character (U+{:04X} at byte {at}): newlines and tabs are \
             fine, other control characters are not allowed",
            u32::from(c)
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use std::path::Path;

    #[test]
    fn titles_with_control_characters_are_refused() {
        let err = Config::parse(
            Path::new("maint.yaml"),
            "environments:\n  s:\n    region: us-east-1\n    bucket: acme-x\n    title: \"Down\\e[2J\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("title holds a control character (U+001B"),
            "{err}"
        );
    }

    #[test]
    fn long_messages_are_refused() {
        assert!(check_message(&"x".repeat(MAX_MESSAGE_BYTES + 1)).is_err());
        assert!(check_message("  ").is_err());
        assert!(check_message("Back at 10:00 UTC").is_ok());
    }
}
