//! One command over several environments (`-e A -e B`, `--all`): every
//! environment is checked before the first AWS call, a changing command
//! shows one combined plan first, the environments run concurrently
//! (`--jobs` at a time) on shared clients, each gets one result, a failure
//! does not stop the others, and the run fails naming the ones that failed.

use std::sync::Arc;

use anyhow::Result;
use futures_util::stream::{self, StreamExt as _};
use serde::Serialize;

use super::job::Job;
use super::{Session, set_message};
use crate::aws::ClientPool;
use crate::cli::{Cli, Command};
use crate::output::{Failure, Kept, Kind, Output, Scope, describe, usage};

/// Whether the flags name several environments.
pub fn wanted(cli: &Cli) -> bool {
    cli.global.all || cli.global.env.len() > 1
}

/// An environment's name, how its command ended, and what it produced.
type EnvOutcome = (String, Result<()>, Kept);

/// One environment's outcome, as `--output json` prints it in the list.
#[derive(Debug, Serialize)]
struct EnvironmentResult {
    environment: String,
    ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    result: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<serde_json::Value>,
}

pub async fn run(cli: &Cli, out: &Output) -> Result<()> {
    let config = crate::config::Config::load(&cli.global.config).map_err(super::config_error)?;
    let names: Vec<String> = if cli.global.all {
        config.environments.keys().cloned().collect()
    } else {
        let mut names = Vec::new();
        for name in &cli.global.env {
            if !names.contains(name) {
                names.push(name.clone());
            }
        }
        names
    };
    if names.is_empty() {
        return Err(usage(anyhow::anyhow!(
            "{} has no environments",
            cli.global.config.display()
        )));
    }
    // Every environment is read, and its input checked, before any AWS call.
    // A run that changes nothing shares account-wide listings (made once,
    // if an environment's records are missing); one that changes AWS never
    // does, since its own creates would make them stale.
    let read_only = matches!(cli.command, Command::Status { .. } | Command::Verify { .. });
    let pool = Arc::new(if read_only {
        ClientPool::read_only()
    } else {
        ClientPool::default()
    });
    let mut prepared = Vec::new();
    let mut read_once = None;
    for name in &names {
        let mut session = Session::open_named(&cli.global, Some(name))?;
        session.pool = Some(Arc::clone(&pool));
        let Some(mut job) = Job::of(&cli.command, &session)? else {
            return Err(usage(anyhow::anyhow!(
                "this command works on one environment at a time: give one --env NAME \
                 (several environments, or --all, are for status, set-message, invalidate, \
                 on, off, verify and provision)"
            )));
        };
        // A message file (or standard input) is read once, for all.
        if let Job::SetMessage(request) = &mut job
            && request.file.is_some()
        {
            if read_once.is_none() {
                read_once = Some(set_message::read_message(request, "").map_err(usage)?);
            }
            request.message.clone_from(&read_once);
            request.file = None;
        }
        job.check(&session)
            .map_err(|e| usage(e.context(format!("environment `{name}`"))))?;
        prepared.push((session, job));
    }
    let jobs = usize::from(cli.global.jobs);

    // One combined plan before anything changes.
    let mut shown: Vec<Vec<String>> = vec![Vec::new(); prepared.len()];
    let mut plan_failed: Vec<Option<EnvOutcome>> = (0..prepared.len()).map(|_| None).collect();
    if let Some(Job::Provision { dry_run, .. }) = prepared.first().map(|(_, job)| job) {
        let dry_run = *dry_run;
        // Plans are kept (`shown: None`), to be printed together.
        let plan_pass = prepared.iter().map(|(session, job)| {
            let job = match job {
                Job::Provision {
                    no_wait, exit_code, ..
                } => Job::Provision {
                    dry_run: true,
                    no_wait: *no_wait,
                    // Drift is the answer of a dry run with --exit-code, not
                    // a reason to stop before applying.
                    exit_code: *exit_code && dry_run,
                },
                other => other.clone(),
            };
            (session, job, None)
        });
        let planned = run_all(plan_pass.collect(), out, jobs).await;
        if !out.json {
            for (_, _, kept) in &planned {
                for plan in &kept.plans {
                    out.plan(plan);
                }
            }
        }
        if dry_run {
            return report(out, &cli.command, planned);
        }
        // An environment whose plan could not be made is not applied: its
        // outcome is the planning error.
        for (i, (environment, result, kept)) in planned.into_iter().enumerate() {
            shown[i].clone_from(&kept.plans);
            if result.is_err() {
                plan_failed[i] = Some((environment, result, kept));
            }
        }
    } else {
        let intents: Vec<String> = prepared
            .iter()
            .filter_map(|(s, job)| job.intent().map(|i| format!("  {}: {i}", s.environment)))
            .collect();
        if !intents.is_empty() {
            out.plan(format!(
                "Plan for {} environments:\n{}",
                intents.len(),
                intents.join("\n")
            ));
        }
    }
    // A plan the engine makes that differs from the one shown is printed
    // before it is applied.
    let to_apply = prepared
        .iter()
        .zip(shown)
        .zip(&plan_failed)
        .filter(|(_, failed)| failed.is_none())
        .map(|(((session, job), shown), _)| (session, job.clone(), Some(shown)))
        .collect();
    let applied = run_all(to_apply, out, jobs).await;
    // Back in the environments' order, the unplanned ones included.
    let mut applied = applied.into_iter();
    let done = plan_failed
        .into_iter()
        .map(|failed| match failed {
            Some(outcome) => outcome,
            None => applied.next().expect("one outcome per applied environment"),
        })
        .collect();
    report(out, &cli.command, done)
}

/// Runs each environment's job, `jobs` at a time, unordered (a slow
/// environment holds one slot, not the ones that finished after it), then
/// sorted back into the given order. `shown`: see `Scope::shown`.
async fn run_all(
    work: Vec<(&Session, Job, Option<Vec<String>>)>,
    out: &Output,
    jobs: usize,
) -> Vec<EnvOutcome> {
    let mut done: Vec<(usize, EnvOutcome)> = stream::iter(work.into_iter().enumerate().map(
        |(i, (session, job, shown))| {
            let scope = Scope::new(&session.environment, shown);
            let out = out.scoped(scope.clone());
            async move {
                let result = job.run(session, &out).await;
                (i, (session.environment.clone(), result, scope.kept()))
            }
        },
    ))
    .buffer_unordered(jobs)
    .collect()
    .await;
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, outcome)| outcome).collect()
}

/// Prints one result per environment (a JSON list, or each result then a
/// table) and fails naming the environments that failed.
fn report(out: &Output, command: &Command, done: Vec<EnvOutcome>) -> Result<()> {
    let mut outcomes = Vec::new();
    let mut failed = Vec::new();
    let mut kinds = Vec::new();
    for (environment, result, kept) in done {
        let error = result.as_ref().err().map(describe);
        if let Some((kind, _, _)) = &error {
            failed.push(environment.clone());
            kinds.push(*kind);
        }
        outcomes.push((environment, kept, error));
    }
    let drift = if matches!(command, Command::Verify { .. }) {
        "checks failed"
    } else {
        "drift"
    };
    if out.json {
        let list: Vec<EnvironmentResult> = outcomes
            .iter()
            .map(|(environment, kept, error)| {
                EnvironmentResult {
                environment: environment.clone(),
                ok: error.is_none(),
                result: kept.json.clone(),
                error: error.as_ref().map(|(kind, message, hint)| {
                    serde_json::json!({"kind": kind, "message": message, "hint": hint})
                }),
            }
            })
            .collect();
        crate::output::print_json(&list)?;
    } else {
        let mut text = String::new();
        for (environment, kept, _) in &outcomes {
            if let Some(result) = &kept.text {
                text.push_str(&format!("── {environment} ──\n{result}\n\n"));
            }
        }
        let width = outcomes
            .iter()
            .map(|(e, _, _)| e.chars().count())
            .max()
            .unwrap_or(0)
            .max("ENVIRONMENT".len());
        text.push_str(&format!("{:width$}  RESULT", "ENVIRONMENT"));
        for (environment, _, error) in &outcomes {
            let result = match error {
                None => "ok".to_string(),
                Some((Kind::Drift, message, _)) => format!("{drift}: {message}"),
                Some((_, message, hint)) => match hint {
                    Some(hint) => format!("failed: {message} ({hint})"),
                    None => format!("failed: {message}"),
                },
            };
            text.push_str(&format!("\n{environment:width$}  {result}"));
        }
        crate::output::print_text(&text);
    }
    if failed.is_empty() {
        return Ok(());
    }
    // The exit code of the failures when they agree (drift: 3), else 1.
    let kind = match kinds.as_slice() {
        [first, rest @ ..] if rest.iter().all(|k| k == first) => *first,
        _ => Kind::Runtime,
    };
    let what = match (kind, command) {
        // verify's failed checks are what visitors get, not the config.
        (Kind::Drift, Command::Verify { .. }) => "failed their checks",
        (Kind::Drift, _) => "differ from the config",
        _ => "failed",
    };
    Err(Failure::new(
        kind,
        format!(
            "{} of {} environments {what}: {}",
            failed.len(),
            outcomes.len(),
            failed.join(", ")
        ),
    )
    .after_result()
    .into())
}
