//! `maint completions SHELL` and `maint man`: generated from the same clap
//! command tree that parses the flags, so they never miss one.

use std::io::Write;

use anyhow::{Context as _, Result};
use clap::CommandFactory as _;

use crate::cli::Cli;

/// The completion script for `shell`.
pub fn completions(shell: clap_complete::Shell, out: &mut impl Write) -> Result<()> {
    let mut command = Cli::command();
    clap_complete::generate(shell, &mut command, "maint", out);
    quiet_on_closed_pipe(out.flush()).context("writing the completion script")
}

/// `maint man | head` closing the pipe early is the reader's choice, not
/// an error to report.
fn quiet_on_closed_pipe(result: std::io::Result<()>) -> std::io::Result<()> {
    match result {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// The man page, `maint(1)`, with a section for each subcommand.
pub fn man(out: &mut impl Write) -> Result<()> {
    quiet_on_closed_pipe(render_man(out)).context("writing the man page")
}

fn render_man(out: &mut impl Write) -> std::io::Result<()> {
    let command = Cli::command();
    let man = clap_mangen::Man::new(command.clone());
    man.render(out)?;
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = sub.get_name();
        if name == "help" {
            continue;
        }
        writeln!(out, ".SH \"MAINT {}\"", name.to_uppercase())?;
        let page = clap_mangen::Man::new(sub.clone().name(format!("maint {name}")));
        page.render_description_section(out)?;
        page.render_options_section(out)?;
    }
    out.flush()
}
