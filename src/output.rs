//! What maint prints, and how it ends: the contract scripts rely on.
//!
//! - Results and plans go to stdout: text for people, or one JSON document
//!   with `--output json`. Progress, hints and warnings go to stderr;
//!   `--quiet` drops progress and hints, never results, plans or warnings.
//! - Every failure is one line on stderr, `maint: what went wrong and what to
//!   do`; with `--output json` also `{"error": {"kind", "message", "hint"}}`
//!   on stdout.
//! - Exit codes: 0 success, 1 AWS or runtime failure, 2 usage or
//!   configuration error, 3 drift found (`status --exit-code`, `provision
//!   --dry-run --exit-code`), 130 interrupted.
//! - Text shows control characters read from AWS as escapes, and a closed
//!   stdout (`maint status | head -1`) is not an error: output stops, the
//!   command's work does not.

use std::borrow::Cow;
use std::fmt::{self, Display};
use std::io::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Result;
use serde::Serialize;

/// What kind of failure ended a command; it decides the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A flag or argument clap or maint refused.
    Usage,
    /// maint.yaml, a template or a message file.
    Config,
    /// AWS refused or failed a call.
    Aws,
    /// Anything else that went wrong while running.
    Runtime,
    /// Out of time (`--timeout`).
    Timeout,
    /// AWS differs from the config (`--exit-code`).
    Drift,
    /// SIGINT or SIGTERM.
    Interrupted,
}

impl Kind {
    pub fn exit_code(self) -> u8 {
        match self {
            Self::Usage | Self::Config => 2,
            Self::Drift => 3,
            Self::Interrupted => 130,
            Self::Aws | Self::Runtime | Self::Timeout => 1,
        }
    }
}

/// An error that knows its kind, and maybe a separate hint; carried inside
/// `anyhow::Error` so `?` keeps working.
#[derive(Debug)]
pub struct Failure {
    pub kind: Kind,
    pub message: String,
    pub hint: Option<String>,
    /// The command printed its result already (a run over several
    /// environments): the error is not a second JSON document.
    pub after_result: bool,
}

impl Failure {
    pub fn new(kind: Kind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            hint: None,
            after_result: false,
        }
    }

    pub fn after_result(mut self) -> Self {
        self.after_result = true;
        self
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.hint {
            Some(hint) => write!(f, "{} ({hint})", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for Failure {}

/// Marks an error in a flag's value or a message given on the command line
/// as a usage error (exit 2), keeping its text.
pub fn usage(err: impl Into<anyhow::Error>) -> anyhow::Error {
    let err = err.into();
    if err.chain().any(|e| e.downcast_ref::<Failure>().is_some()) {
        return err;
    }
    Failure::new(Kind::Usage, format!("{err:#}")).into()
}

/// Marks any error as a configuration error (exit 2), keeping its text.
pub fn config_error(err: anyhow::Error) -> anyhow::Error {
    if err.chain().any(|e| e.downcast_ref::<Failure>().is_some()) {
        return err;
    }
    Failure::new(Kind::Config, format!("{err:#}")).into()
}

/// The kind, message and hint of an error that ends a command. The message
/// is the whole chain (context added on top leads it), without the hint.
pub fn describe(err: &anyhow::Error) -> (Kind, String, Option<String>) {
    let whole = format!("{err:#}");
    match err.chain().find_map(|e| e.downcast_ref::<Failure>()) {
        Some(failure) => {
            let hint = failure.hint.clone();
            let message = match &hint {
                Some(h) => whole
                    .strip_suffix(&format!(" ({h})"))
                    .map_or_else(|| whole.clone(), str::to_string),
                None => whole,
            };
            (failure.kind, message, hint)
        }
        None => (Kind::Runtime, whole, None),
    }
}

/// Prints the error that ends a command, and gives its exit code.
pub fn report_failure(err: &anyhow::Error, json: bool) -> u8 {
    let (kind, message, hint) = describe(err);
    let after_result = err
        .chain()
        .find_map(|e| e.downcast_ref::<Failure>())
        .is_some_and(|f| f.after_result);
    let line = match &hint {
        Some(hint) => format!("{message} ({hint})"),
        None => message.clone(),
    };
    eprintln!("maint: {}", neutralize(&line));
    // Drift comes after the command printed its result, which is the one
    // document on stdout; any other failure has no result, so the error is it.
    if json && kind != Kind::Drift && !after_result {
        let doc = serde_json::json!({"error": {"kind": kind, "message": message, "hint": hint}});
        stdout_line(&doc.to_string());
    }
    kind.exit_code()
}

/// One JSON document on stdout.
pub fn print_json<T: Serialize>(value: &T) -> Result<()> {
    stdout_line(&serde_json::to_string_pretty(value)?);
    Ok(())
}

/// Text on stdout, control characters shown as escapes.
pub fn print_text(text: &str) {
    stdout_line(&neutralize(text));
}

static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

/// Writes one line to stdout; a closed pipe silences stdout for the rest of
/// the run instead of panicking or aborting the command's work.
fn stdout_line(text: &str) {
    if STDOUT_CLOSED.load(Ordering::Relaxed) {
        return;
    }
    let mut out = std::io::stdout().lock();
    if writeln!(out, "{text}").and_then(|()| out.flush()).is_err() {
        STDOUT_CLOSED.store(true, Ordering::Relaxed);
    }
}

/// Text for a terminal with its control characters (other than newline and
/// tab) shown as escapes: what maint prints may hold text read from AWS (a
/// message in page metadata that anyone with s3:PutObject can write), and
/// ESC, BEL or NUL would act on the terminal instead of being read.
pub fn neutralize(text: &str) -> Cow<'_, str> {
    if !text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Cow::Borrowed(text);
    }
    text.chars()
        .map(|c| {
            if c.is_control() && c != '\n' && c != '\t' {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect::<String>()
        .into()
}

/// Where a command's output goes.
#[derive(Clone, Default)]
pub struct Output {
    pub json: bool,
    pub quiet: bool,
    /// In a run over several environments: the one this output is for.
    pub scope: Option<Scope>,
}

/// One environment of a run over several: its progress is prefixed with its
/// name, and its plan and result are kept for the run's combined report.
#[derive(Clone)]
pub struct Scope {
    pub environment: String,
    /// `None`: plans are kept (to be shown once, combined, before anything
    /// changes) rather than printed. `Some`: the plans already shown; a plan
    /// that differs from them (AWS changed meanwhile) is printed before it
    /// is applied.
    pub shown: Option<Vec<String>>,
    kept: std::sync::Arc<std::sync::Mutex<Kept>>,
}

/// What an environment's command produced in a run over several.
#[derive(Debug, Default, Clone)]
pub struct Kept {
    pub plans: Vec<String>,
    pub text: Option<String>,
    pub json: Option<serde_json::Value>,
}

impl Scope {
    pub fn new(environment: &str, shown: Option<Vec<String>>) -> Self {
        Self {
            environment: environment.to_string(),
            shown,
            kept: std::sync::Arc::default(),
        }
    }

    pub fn kept(&self) -> Kept {
        self.kept.lock().map(|k| k.clone()).unwrap_or_default()
    }

    fn keep(&self, f: impl FnOnce(&mut Kept)) {
        if let Ok(mut kept) = self.kept.lock() {
            f(&mut kept);
        }
    }
}

impl Output {
    /// The same output, for one environment of a run over several.
    pub fn scoped(&self, scope: Scope) -> Self {
        Self {
            scope: Some(scope),
            ..self.clone()
        }
    }

    /// A command's result: text, or its JSON document.
    pub fn result<T: Display + Serialize>(&self, value: &T) -> Result<()> {
        if let Some(scope) = &self.scope {
            let json = serde_json::to_value(value)?;
            let text = value.to_string();
            scope.keep(|k| {
                k.json = Some(json);
                k.text = Some(text);
            });
        } else if self.json {
            stdout_line(&serde_json::to_string_pretty(value)?);
        } else {
            stdout_line(&neutralize(&value.to_string()));
        }
        Ok(())
    }

    /// A plan, before it is applied: on stdout in text mode, even with
    /// --quiet (in JSON it is part of the result).
    pub fn plan(&self, plan: impl Display) {
        match &self.scope {
            Some(scope) => {
                let text = plan.to_string();
                match &scope.shown {
                    None => scope.keep(|k| k.plans.push(text)),
                    // Shown already, in the combined plan.
                    Some(shown) if shown.contains(&text) => {}
                    Some(_) if self.json => {}
                    Some(_) => stdout_line(&neutralize(&format!(
                        "[{}] AWS changed since the plan above; applying this plan instead:\n{text}",
                        scope.environment
                    ))),
                }
            }
            None if !self.json => stdout_line(&neutralize(&plan.to_string())),
            None => {}
        }
    }

    /// Progress for a person; on stderr, silent with --quiet or --output json.
    pub fn progress(&self, line: impl Display) {
        if !self.quiet && !self.json {
            eprintln!("{}{}", self.prefix(), neutralize(&line.to_string()));
        }
    }

    /// Something the user should know even with --quiet: always on stderr.
    pub fn warn(&self, line: impl Display) {
        eprintln!(
            "maint: warning: {}{}",
            self.prefix(),
            neutralize(&line.to_string())
        );
    }

    /// `[env] ` in a run over several environments.
    fn prefix(&self) -> String {
        self.scope
            .as_ref()
            .map(|s| format!("[{}] ", s.environment))
            .unwrap_or_default()
    }

    /// How waits show themselves: a spinner on a terminal, lines in a log,
    /// nothing with --quiet or JSON. In a run over several environments,
    /// lines with the environment's name (spinners would overwrite each
    /// other).
    pub fn waits(&self) -> crate::progress::Show {
        crate::progress::Show {
            quiet: self.quiet || self.json,
            prefix: self.prefix(),
            spinner: self.scope.is_none(),
            pace: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_shown_not_obeyed() {
        assert_eq!(neutralize("plain\ttext\nline"), "plain\ttext\nline");
        assert_eq!(
            neutralize("evil \u{1b}]0;pwned\u{7} \u{0}"),
            "evil \\u{1b}]0;pwned\\u{7} \\u{0}"
        );
        assert_eq!(neutralize("\r\u{9b}"), "\\u{d}\\u{9b}");
    }

    #[test]
    fn failures_carry_their_kind_and_exit_code() {
        let err: anyhow::Error = Failure::new(Kind::Aws, "reading bucket x failed: AccessDenied")
            .hint("the credentials lack this permission")
            .into();
        let (kind, message, hint) = describe(&err);
        assert_eq!(kind, Kind::Aws);
        assert_eq!(message, "reading bucket x failed: AccessDenied");
        assert_eq!(
            hint.as_deref(),
            Some("the credentials lack this permission")
        );
        assert_eq!(kind.exit_code(), 1);
        // Context added on top stays in the message; the kind survives.
        let wrapped = err.context("provisioning staging");
        let (kind, message, _) = describe(&wrapped);
        assert_eq!(kind, Kind::Aws);
        assert!(
            message.starts_with("provisioning staging: reading bucket x"),
            "{message}"
        );
        let plain = anyhow::anyhow!("something broke");
        assert_eq!(describe(&plain).0, Kind::Runtime);
        assert_eq!(describe(&config_error(plain)).0, Kind::Config);
        assert_eq!(Kind::Config.exit_code(), 2);
        assert_eq!(Kind::Drift.exit_code(), 3);
        assert_eq!(Kind::Interrupted.exit_code(), 130);
    }
}
