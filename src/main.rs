//! maint: a serverless maintenance mode on AWS.
//!
//! The binary is thin: parse flags, run the command, and print any error once,
//! as `maint: {error chain}`, with a non-zero exit code.

mod aws;
mod cli;
mod commands;
mod config;
mod document;
mod plan;
mod policy;
mod progress;
mod site;
mod values;
mod window;

use std::process::ExitCode;

use clap::Parser as _;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let filter = match cli.global.verbose {
        0 => "warn",
        1 => "warn,maint=debug,aws_smithy_runtime=debug",
        _ => "debug",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("MAINT_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(filter)),
        )
        .with_writer(std::io::stderr)
        .without_time()
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("maint: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("maint: {err:#}");
            ExitCode::FAILURE
        }
    }
}
