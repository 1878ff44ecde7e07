//! Every command of both modes through the fault-injecting proxy
//! (tests/integration/support/faults.rs): 500s, throttling in each service's shape,
//! dropped connections, lost answers and delays, seeded. At one fault in
//! five every command must come through within its retries (the SDK's six
//! attempts, maint's If-Match and wait loops): the test names any that did
//! not. At two in five a command may give up, with one clear line, within
//! its deadline. Either way a run without faults must then find AWS
//! converged (or finish the job, and converge).
//!
//! Checked: with the SDK's retries off (`with_max_attempts(1)` in
//! src/aws/mod.rs) the one-in-five tests fail, naming the commands.

use crate::support;

use std::time::{Duration, Instant};

use support::faults::FaultProxy;
use support::{Emulator, Project, stderr_of};

const SITE: &str = "environments:\n  s:\n    region: eu-west-1\n    bucket: acme-faults\n";

/// What a run through the proxy came to.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Done,
    /// The command, and its one line.
    Failed(String),
}

/// At one fault in five, every command came through: the ones that did not
/// are named with what they said.
fn all_came_through(outcomes: &[Outcome], injected: &impl std::fmt::Debug) {
    let failed: Vec<&String> = outcomes
        .iter()
        .filter_map(|o| match o {
            Outcome::Failed(what) => Some(what),
            Outcome::Done => None,
        })
        .collect();
    assert!(
        failed.is_empty(),
        "at one fault in five these did not come through within their retries (faults \
         {injected:?}):\n{}",
        failed
            .iter()
            .map(|f| f.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// Runs `maint ARGS` through the proxy with a 90 s deadline. It must end
/// well within it, and a failure must be one `maint: ` line (warnings
/// aside) after its progress.
fn through(project: &Project, proxy: &FaultProxy, args: &[&str]) -> Outcome {
    let started = Instant::now();
    let output = project
        .maint(&[args, &["--timeout", "90s"]].concat())
        .env("AWS_ENDPOINT_URL", &proxy.url)
        .env("MAINT_BYPASS_SECRET", "team-secret-0123456789abcdef")
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    let elapsed = started.elapsed();
    let stderr = stderr_of(&output);
    assert!(
        elapsed < Duration::from_secs(100),
        "maint {args:?} took {elapsed:?}: {stderr}"
    );
    if output.status.success() {
        return Outcome::Done;
    }
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("maint: ") && !l.starts_with("maint: warning: "))
        .collect();
    assert_eq!(
        errors.len(),
        1,
        "maint {args:?} failed without one clear line (exit {:?}):\n{stderr}",
        output.status.code()
    );
    assert!(
        !stderr.contains("panicked"),
        "maint {args:?} panicked:\n{stderr}"
    );
    Outcome::Failed(format!("maint {}: {}", args.join(" "), errors[0]))
}

/// Runs `maint ARGS` straight at the emulator; it must succeed.
fn cleanly(project: &Project, args: &[&str]) {
    let output = project
        .maint(args)
        .env("MAINT_BYPASS_SECRET", "team-secret-0123456789abcdef")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "maint {args:?} without faults: {}",
        stderr_of(&output)
    );
}

/// Provision (and a clean run after it) has converged: nothing to write.
fn converged(emulator: &Emulator, project: &Project, args: &[&str]) {
    cleanly(project, args);
    emulator.clear_requests();
    cleanly(project, args);
    assert_eq!(
        emulator.writes(),
        Vec::<String>::new(),
        "maint {args:?} after the faults: converged"
    );
}

fn site_mode_through_faults(seed: u64, rate: f64) {
    let emulator = Emulator::start();
    let proxy = FaultProxy::start(emulator.port(), seed, rate);
    let project = Project::new(SITE).against(&emulator);
    let mut outcomes = Vec::new();

    outcomes.push(through(&project, &proxy, &["provision"]));
    converged(&emulator, &project, &["provision"]);

    outcomes.push(through(
        &project,
        &proxy,
        &["set-message", "-m", "Back at ten.", "--invalidate"],
    ));
    // The page says it, whatever happened on the way.
    cleanly(&project, &["set-message", "-m", "Back at ten."]);
    emulator.clear_requests();
    cleanly(&project, &["set-message", "-m", "Back at ten."]);
    assert_eq!(emulator.writes(), Vec::<String>::new());

    outcomes.push(through(&project, &proxy, &["invalidate", "--wait"]));
    outcomes.push(through(&project, &proxy, &["status"]));
    outcomes.push(through(
        &project,
        &proxy,
        &["verify", "--url", &emulator.url],
    ));
    outcomes.push(through(&project, &proxy, &["destroy", "--yes"]));
    cleanly(&project, &["destroy", "--yes"]);
    emulator.clear_requests();
    cleanly(&project, &["destroy", "--yes"]);
    assert_eq!(emulator.writes(), Vec::<String>::new(), "nothing left");

    let injected = proxy.injected();
    eprintln!("seed {seed}, rate {rate}: {outcomes:?}, faults {injected:?}");
    assert!(
        injected.values().sum::<usize>() >= 5,
        "the proxy injected faults: {injected:?}"
    );
    if rate <= 0.2 {
        all_came_through(&outcomes, &injected);
    }
}

#[test]
fn site_mode_commands_come_through_one_fault_in_five() {
    site_mode_through_faults(7, 0.2);
}

#[test]
fn site_mode_commands_come_through_two_faults_in_five() {
    site_mode_through_faults(11, 0.4);
}

#[tokio::test]
async fn window_mode_commands_come_through_one_fault_in_five() {
    let emulator = Emulator::start();
    let proxy = FaultProxy::start(emulator.port(), 5, 0.2);
    let id = support::customer_distribution(&emulator.cloudfront().await).await;
    let project = Project::new(&format!(
        "environments:\n  w:\n    region: eu-west-1\n    distribution: {id}\n    window:\n      bypass:\n        secret_env: MAINT_BYPASS_SECRET\n"
    ))
    .against(&emulator);
    let mut outcomes = Vec::new();
    outcomes.push(through(&project, &proxy, &["attach", "--no-wait"]));
    converged(&emulator, &project, &["attach", "--no-wait"]);
    outcomes.push(through(&project, &proxy, &["on", "--for", "1h"]));
    cleanly(&project, &["on", "--for", "1h"]);
    outcomes.push(through(&project, &proxy, &["status"]));
    outcomes.push(through(&project, &proxy, &["off"]));
    cleanly(&project, &["off"]);
    outcomes.push(through(&project, &proxy, &["detach"]));
    converged(&emulator, &project, &["detach"]);
    let injected = proxy.injected();
    eprintln!("window mode: {outcomes:?}, faults {injected:?}");
    assert!(
        injected.values().sum::<usize>() >= 3,
        "the proxy injected faults: {injected:?}"
    );
    all_came_through(&outcomes, &injected);
}

#[tokio::test]
async fn grant_and_revoke_come_through_one_fault_in_five() {
    let emulator = Emulator::start();
    let proxy = FaultProxy::start(emulator.port(), 3, 0.2);
    let iam = aws_sdk_iam::Client::new(&emulator.sdk_config("us-east-1").await);
    iam.create_user().user_name("ci").send().await.unwrap();
    let project = Project::new(SITE).against(&emulator);
    cleanly(&project, &["provision"]);
    let mut outcomes = Vec::new();
    let grant = [
        "grant",
        "--user",
        "ci",
        "--operations",
        "message,invalidate",
    ];
    outcomes.push(through(&project, &proxy, &grant));
    converged(&emulator, &project, &grant);
    let revoke = ["revoke", "--user", "ci", "--yes"];
    outcomes.push(through(&project, &proxy, &revoke));
    converged(&emulator, &project, &revoke);
    let injected = proxy.injected();
    eprintln!("grant and revoke: {outcomes:?}, faults {injected:?}");
    assert!(
        injected.values().sum::<usize>() >= 2,
        "the proxy injected faults: {injected:?}"
    );
    all_came_through(&outcomes, &injected);
}
