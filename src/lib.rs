//! maint: a serverless maintenance mode on AWS.
//!
//! The library is the whole tool; the binary (`src/main.rs`) only calls
//! [`run`]: parse flags, run the command, and print any error once, as
//! `maint: {error chain}`, with a non-zero exit code. ARCHITECTURE.md is the
//! map of the modules below.

pub mod activity;
pub mod aws;
pub mod checks;
pub mod cli;
pub mod commands;
pub mod config;
pub mod converge;
pub mod grant;
pub mod http;
pub mod njs;
pub mod output;
pub mod progress;
pub mod site;
pub mod values;
pub mod window;

use std::io::IsTerminal as _;
use std::process::ExitCode;

use clap::Parser as _;

/// Runs maint on the process's arguments and returns its exit code.
pub fn run() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => return usage_error(&err),
    };
    // -v: one line per AWS operation (maint::aws); -vv: the SDK's own detail.
    // The credential chain's own warnings (each provider that found
    // nothing) are left out by default: maint explains the failure itself.
    let filter = match cli.global.verbose {
        0 => "warn,aws_config=error",
        1 => "warn,maint=debug",
        _ => "debug",
    };
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("MAINT_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(filter)),
        )
        .with_writer(std::io::stderr)
        .with_ansi(colour)
        .without_time()
        .init();
    // One thread: maint waits on the network, and several environments run
    // concurrently on it just as well, without worker threads and their
    // memory.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("maint: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let deadline = cli.global.timeout;
    let json = cli.global.output == cli::OutputFormat::Json;
    // `preview` serves until it is stopped: a signal is its normal end,
    // which it handles itself (exit 0, its one document already printed).
    if matches!(cli.command, cli::Command::Preview { .. }) {
        return match runtime.block_on(commands::run(cli)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => ExitCode::from(output::report_failure(&err, json)),
        };
    }
    let outcome = runtime.block_on(async {
        tokio::select! {
            done = tokio::time::timeout(deadline.into(), commands::run(cli)) => match done {
                Ok(done) => done,
                Err(_) => Err(out_of_time(deadline)),
            },
            signal = stop_signals() => Err(interruption(signal)),
        }
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => ExitCode::from(output::report_failure(&err, json)),
    }
}

/// What was under way, for the messages of a command cut short.
fn under_way() -> String {
    let doing = activity::now();
    if doing.is_empty() {
        String::new()
    } else {
        format!(" while {}", doing.join(", "))
    }
}

fn interruption(signal: &str) -> anyhow::Error {
    output::Failure::new(
        output::Kind::Interrupted,
        format!("interrupted by {signal}{}", under_way()),
    )
    .hint(format!(
        "what was already sent goes on in AWS; run the same command again to pick up where it \
         stopped: {}",
        command_line(std::env::args().skip(1))
    ))
    .into()
}

/// The command as it was run, quoted for a POSIX shell, to run it again.
fn command_line(args: impl Iterator<Item = String>) -> String {
    let quote = |arg: String| {
        if !arg.is_empty()
            && arg
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@%+".contains(c))
        {
            arg
        } else {
            format!("'{}'", arg.replace('\'', "'\\''"))
        }
    };
    std::iter::once("maint".to_string())
        .chain(args.map(quote))
        .collect::<Vec<_>>()
        .join(" ")
}

/// SIGINT (Ctrl-C) or SIGTERM (a CI runner cancelling the job), by name,
/// listened for from the moment this is called (the
/// handlers are installed at once, not when the future is first polled),
/// so a signal that comes right after, say, `preview` printed its address is
/// caught, not left to end the process.
pub(crate) fn stop_signals() -> impl std::future::Future<Output = &'static str> {
    use tokio::signal::unix::{SignalKind, signal};
    let handlers = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    );
    async move {
        let (Ok(mut int), Ok(mut term)) = handlers else {
            return std::future::pending().await;
        };
        tokio::select! {
            _ = int.recv() => "SIGINT",
            _ = term.recv() => "SIGTERM",
        }
    }
}

/// The message when a command runs past `--timeout`: what it was doing, and
/// that AWS may go on without it.
fn out_of_time(deadline: humantime::Duration) -> anyhow::Error {
    output::Failure::new(
        output::Kind::Timeout,
        format!("gave up after {deadline} (--timeout){}", under_way()),
    )
    .hint(format!(
        "changes already sent go on in AWS: run the same command again to pick up where it \
         stopped: {}, or raise --timeout",
        command_line(std::env::args().skip(1))
    ))
    .into()
}

/// A command line clap refused: one line, `maint: ...`, exit 2 (and the
/// error document with --output json), as every other failure; help and
/// --version print as clap prints them.
fn usage_error(err: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    let json = std::env::args()
        .collect::<Vec<_>>()
        .windows(2)
        .any(|w| w[0] == "--output" && w[1] == "json")
        || std::env::args().any(|a| a == "--output=json");
    if err.kind() == ErrorKind::DisplayVersion && json {
        let version = serde_json::json!({
            "name": "maint",
            "version": env!("CARGO_PKG_VERSION"),
            "commit": Some(env!("MAINT_COMMIT")).filter(|c| !c.is_empty()),
            "target": env!("MAINT_TARGET"),
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&version).unwrap_or_default()
        );
        return ExitCode::SUCCESS;
    }
    if matches!(
        err.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = err.print();
        return ExitCode::from(match err.kind() {
            ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => 2,
            _ => 0,
        });
    }
    // The first line, and the indented lines under it (the arguments a
    // "required arguments were not provided" error names).
    let text = err.render().to_string();
    let mut lines = text.lines();
    let mut line = lines
        .next()
        .unwrap_or_default()
        .trim_start_matches("error: ")
        .trim_end_matches(':')
        .to_string();
    let named: Vec<&str> = lines
        .take_while(|l| l.starts_with("  "))
        .map(str::trim)
        .collect();
    if !named.is_empty() {
        line = format!("{line}: {}", named.join(", "));
    }
    // clap's tips ("a similar subcommand exists: 'status'") go in the hint.
    let tips: Vec<&str> = text
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("tip: "))
        .collect();
    let hint = if tips.is_empty() {
        "see maint --help".to_string()
    } else {
        format!("{}; see maint --help", tips.join("; "))
    };
    let failure: anyhow::Error = output::Failure::new(output::Kind::Usage, line)
        .hint(hint)
        .into();
    ExitCode::from(output::report_failure(&failure, json))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_to_resume_is_quoted_for_a_shell() {
        let args = [
            "-e",
            "prod",
            "on",
            "-m",
            "Back at 10 o'clock",
            "--for",
            "2h",
        ];
        assert_eq!(
            command_line(args.iter().map(|a| (*a).to_string())),
            "maint -e prod on -m 'Back at 10 o'\\''clock' --for 2h"
        );
    }
}
