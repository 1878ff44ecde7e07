//! The go-live gate: before `attach` publishes new window code, CloudFront's
//! TestFunction runs that exact code on every answer it can give (the page,
//! the JSON body, the bypass redirect and cookie, the pass-throughs; see
//! `window::probe`), on a scratch function with a scratch store that holds
//! the states the gate writes. The live function, the live store and the
//! distribution are never touched, and the scratch pair is removed
//! afterwards; one an interrupted run left is removed by the next.
//!
//! Why a scratch pair: TestFunction runs a function against the store its
//! config associates, so the maintenance path runs only if that store says
//! "on". The live store says what visitors get; writing "on" there to test
//! would take the site down. A second function on the same code with its
//! own store costs two creates and two deletes per code change, no quota
//! beyond one function and one store for a moment, and nothing else.

use std::time::Duration;

use tokio::time::Instant;

use anyhow::{Result, bail};
use serde::Serialize;

use super::Output;
use crate::aws::Clients;
use crate::aws::{function, store};
use crate::window::{BYPASS_KEY, Phase, STATE_KEY, WindowSpec, bypass_hash, gate};

/// How long a phase's first request may keep getting the previous state's
/// answer: TestFunction reads the scratch store, and a write takes a moment
/// to reach it (AWS gives no figure; seconds in practice).
const STORE_VISIBLE: Duration = Duration::from_secs(30);

/// ComputeUtilization is the run time as a share of the maximum allowed
/// (0-100; "Restrictions on CloudFront Functions", Compute utilization);
/// CloudFront throttles a function that runs past the maximum. Above 70 a
/// slower edge or a longer request leaves little headroom, so attach warns.
pub const COMPUTE_UTILIZATION_WARNING: u32 = 70;

/// What the gate ran on CloudFront's engine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FunctionTest {
    /// The scratch function the code ran as (removed afterwards).
    pub function: String,
    /// How many requests TestFunction ran.
    pub requests: usize,
    /// The highest ComputeUtilization of the runs (0-100).
    pub compute_utilization: Option<u32>,
    pub probes: Vec<ProbeRun>,
}

/// One request TestFunction ran, and its answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProbeRun {
    /// The store's state, e.g. `on, ending in two hours`.
    pub state: String,
    pub probe: String,
    pub request: String,
    /// What the code answered, in short: `503 text/html`, `passed on`, …
    pub answer: String,
    pub compute_utilization: Option<u32>,
}

/// A random secret for the gate's bypass link: it is written (hashed) to
/// the scratch store only, and dies with it.
fn gate_secret() -> Result<String> {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no random bytes: {e}"))?;
    Ok(hex::encode(bytes))
}

/// Runs the gate for `spec`'s code. Fails, naming the request, when an
/// answer is not what the state calls for; nothing of the live window has
/// changed then.
pub async fn go_live(spec: &WindowSpec, clients: &Clients, out: &Output) -> Result<FunctionTest> {
    let name = spec.gate_name();
    remove(clients, &name, out, true).await?;
    let secret = spec
        .secret_env
        .as_ref()
        .map(|_| gate_secret())
        .transpose()?;
    let result = run(spec, clients, out, &name, secret.as_deref()).await;
    // Removed whatever happened; a failure to remove is left to the next run.
    if let Err(e) = remove(clients, &name, out, false).await {
        out.warn(format!(
            "the go-live gate's scratch function and store {name} could not be removed ({e:#}); \
             the next `maint attach` removes them"
        ));
    }
    result
}

/// Removes the scratch pair an interrupted `attach` left, if any: `detach`
/// leaves nothing of the window behind.
pub async fn remove_leftovers(spec: &WindowSpec, clients: &Clients, out: &Output) -> Result<()> {
    remove(clients, &spec.gate_name(), out, true).await
}

/// Deletes the scratch function, then its store (a store in use cannot go).
async fn remove(clients: &Clients, name: &str, out: &Output, leftover: bool) -> Result<()> {
    let cf = &clients.cloudfront;
    let (function, store) = tokio::try_join!(
        function::find_function(cf, name),
        store::find_store(cf, name)
    )?;
    if leftover && (function.is_some() || store.is_some()) {
        out.progress(format!(
            "  removing {name}, the go-live gate's scratch function and store an interrupted run \
             left"
        ));
    }
    if function.is_some() {
        function::delete_function(cf, name).await?;
    }
    if store.is_some() {
        store::delete_store(cf, name).await?;
    }
    Ok(())
}

async fn run(
    spec: &WindowSpec,
    clients: &Clients,
    out: &Output,
    name: &str,
    secret: Option<&str>,
) -> Result<FunctionTest> {
    let cf = &clients.cloudfront;
    let comment = format!(
        "maint: go-live test of the window for {}; removed after the test",
        spec.distribution
    );
    let store = super::attach::ready_store(clients, name, &comment, out).await?;
    let (_, etag) = function::create_function(cf, name, &spec.code, &comment, &store.arn).await?;
    let phases = gate(spec, secret, super::attach::now());
    let hash = secret.map(bypass_hash);
    let mut runs = Vec::new();
    for (i, phase) in phases.iter().enumerate() {
        let value = phase.state.to_value()?;
        let mut keys = vec![(STATE_KEY, value.as_str())];
        if i == 0
            && let Some(hash) = &hash
        {
            keys.push((BYPASS_KEY, hash.as_str()));
        }
        store::put_keys(&clients.kvs, &store.arn, &keys).await?;
        for (j, probe) in phase.probes.iter().enumerate() {
            let since = Instant::now();
            let event = serde_json::to_vec(&probe.event)?;
            let (run, output) = loop {
                let run = function::test_function(cf, name, &etag, &event).await?;
                if let Some(error) = &run.error {
                    return Err(refused(
                        phase,
                        probe,
                        &format!("AWS reported: {error}"),
                        &run,
                    ));
                }
                let output = run.output.clone().unwrap_or_default();
                let stale = j == 0
                    && probe.expect.judge(&probe.event, &output).is_err()
                    && phase.is_stale(&phases, &output);
                if !stale || since.elapsed() > STORE_VISIBLE {
                    break (run, output);
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            };
            probe
                .expect
                .judge(&probe.event, &output)
                .map_err(|why| refused(phase, probe, &why, &run))?;
            let answer = short_answer(&output);
            out.progress(format!(
                "  ✓ {} · {}: {} → {answer} (compute {})",
                phase.name,
                probe.name,
                probe.request,
                run.compute_utilization
                    .map_or_else(|| "not reported".to_string(), |u| format!("{u}%"))
            ));
            runs.push(ProbeRun {
                state: phase.name.to_string(),
                probe: probe.name.to_string(),
                request: probe.request.clone(),
                answer,
                compute_utilization: run.compute_utilization,
            });
        }
    }
    if runs.is_empty() {
        bail!("internal: the go-live gate ran no request");
    }
    Ok(FunctionTest {
        function: name.to_string(),
        requests: runs.len(),
        compute_utilization: runs.iter().filter_map(|r| r.compute_utilization).max(),
        probes: runs,
    })
}

fn refused(
    phase: &Phase,
    probe: &crate::window::Probe,
    why: &str,
    run: &function::TestRun,
) -> anyhow::Error {
    let logs = if run.logs.is_empty() {
        String::new()
    } else {
        format!(" (function logs: {})", run.logs.join(" | "))
    };
    anyhow::anyhow!(
        "CloudFront's engine did not give the expected answer, so nothing was published and the \
         distribution is unchanged. On `{}` ({}, with the window {}): {why}{logs}. This is a \
         fault in maint's function or in a custom template: run `maint function` to see the \
         code, and report it",
        probe.name,
        probe.request,
        phase.name
    )
}

/// `503 text/html`, `302 /x?keep=1`, `passed on`: what an answer was.
fn short_answer(output: &str) -> String {
    let value: serde_json::Value = serde_json::from_str(output).unwrap_or_default();
    if value.get("request").is_some() {
        return "passed on to the origin".to_string();
    }
    let r = &value["response"];
    let status = r["statusCode"].to_string();
    match (
        r["headers"]["location"]["value"].as_str(),
        r["headers"]["content-type"]["value"].as_str(),
    ) {
        (Some(location), _) => format!("{status} to {location}"),
        (None, Some(kind)) => format!("{status} {kind}"),
        (None, None) => status,
    }
}
