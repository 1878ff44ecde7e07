//! One command over several environments (`-e A -e B`, `--all`), end to end
//! against the emulator: every environment checked before the first AWS
//! call, one combined plan, one result per environment, failures named
//! without stopping the others, shared clients.

use crate::support;

use serde_json::Value;
use support::{Emulator, IDENTITY, Project, Test, stderr_of, stdout_of};

/// Three site environments in two regions; `c` names another account.
const CONFIG: &str = "\
environments:
  a:
    region: eu-west-1
    bucket: acme-many-a
  b:
    region: us-east-1
    bucket: acme-many-b
  c:
    region: eu-west-1
    bucket: acme-many-c
";

fn json(output: &std::process::Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "not one JSON document ({e}): {}{}",
            stdout_of(output),
            stderr_of(output)
        )
    })
}

fn schema_valid(doc: &Value) {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/output.schema.json"),
    )
    .unwrap();
    let mut schema: Value = serde_json::from_str(&text).unwrap();
    schema["$ref"] = Value::String("#/$defs/many".into());
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator.iter_errors(doc).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:#?}\n{doc:#}");
}

/// CONFIG's environments, all provisioned (without waiting for deploys).
fn provisioned_all(emulator: &Emulator) -> Project {
    let project = Project::new(CONFIG).against(emulator);
    project
        .maint(&["--all", "provision", "--no-wait"])
        .assert()
        .success();
    project
}

#[test]
fn provision_all_shows_one_combined_plan_first_then_converges_each() {
    let emulator = Emulator::start();
    let project = Project::new(CONFIG).against(&emulator);

    let dry = project
        .maint(&["--all", "provision", "--dry-run"])
        .output()
        .unwrap();
    assert!(dry.status.success(), "{}", stderr_of(&dry));
    let drift = project
        .maint(&["--all", "provision", "--dry-run", "--exit-code"])
        .output()
        .unwrap();
    assert_eq!(drift.status.code(), Some(3), "{}", stderr_of(&drift));
    assert!(
        stderr_of(&drift).contains("3 of 3 environments differ from the config: a, b, c"),
        "{}",
        stderr_of(&drift)
    );
    assert_eq!(
        emulator.writes(),
        Vec::<String>::new(),
        "a dry run writes nothing"
    );
    let text = stdout_of(&dry);
    let plans: Vec<usize> = ["a", "b", "c"]
        .iter()
        .map(|env| {
            text.find(&format!("Plan for environment `{env}` (10 changes)"))
                .unwrap_or_else(|| panic!("no plan for {env}:\n{text}"))
        })
        .collect();
    assert!(plans.windows(2).all(|w| w[0] < w[1]), "{text}");

    let applied = project.maint(&["--all", "provision"]).output().unwrap();
    assert!(applied.status.success(), "{}", stderr_of(&applied));
    let text = stdout_of(&applied);
    // The plans come before any result.
    let first_result = text.find("── a ──").expect(&text);
    assert!(
        text.find("Plan for environment `c`").unwrap() < first_result,
        "{text}"
    );
    assert!(text.contains("is live at"), "{text}");
    let table = &text[text.find("ENVIRONMENT").expect(&text)..];
    for env in ["a", "b", "c"] {
        assert!(
            table
                .lines()
                .any(|l| l.split_whitespace().collect::<Vec<_>>() == [env, "ok"]),
            "{table}"
        );
    }
    let stderr = stderr_of(&applied);
    assert!(
        stderr.contains("[b]   applying: + create bucket acme-many-b in us-east-1"),
        "{stderr}"
    );

    // --exit-code on a dry run says the environments differ (3) before,
    // and not after.
    let drift = project
        .maint(&["--all", "provision", "--dry-run", "--exit-code"])
        .output()
        .unwrap();
    assert_eq!(drift.status.code(), Some(0), "{}", stderr_of(&drift));

    // Converged: a second run writes nothing.
    emulator.clear_requests();
    project.maint(&["--all", "provision"]).assert().success();
    assert_eq!(emulator.writes(), Vec::<String>::new());
}

#[test]
fn status_over_several_environments_is_one_list_sharing_clients() {
    let emulator = Emulator::start();
    let project = Project::new(CONFIG).against(&emulator);
    project.maint(&["--all", "provision"]).assert().success();

    emulator.clear_requests();
    let output = project
        .maint(&["-e", "c", "-e", "a", "status", "--output", "json"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    let doc = json(&output);
    schema_valid(&doc);
    let list = doc.as_array().unwrap();
    // In the order asked, each with its own result.
    assert_eq!(list[0]["environment"], "c");
    assert_eq!(list[1]["environment"], "a");
    assert_eq!(list[0]["result"]["site"]["bucket"]["name"], "acme-many-c");
    assert!(list.iter().all(|item| item["ok"] == true));
    // Nothing account-wide is listed (the pages record their distributions).
    let listings = emulator.listings();
    assert_eq!(listings, Vec::<String>::new());

    // A changing command asks which account it is in once for the run.
    emulator.clear_requests();
    project
        .maint(&["--all", "set-message", "-m", "Back at ten."])
        .assert()
        .success();
    let identities = emulator
        .requests()
        .iter()
        .filter(|r| *r == IDENTITY)
        .count();
    assert_eq!(identities, 1);
}

#[test]
fn one_failing_environment_is_named_and_the_others_still_run() {
    let emulator = Emulator::start();
    // `b` says it is in another account: maint refuses to act there.
    let config = CONFIG.replace(
        "    bucket: acme-many-b\n",
        "    bucket: acme-many-b\n    account_id: \"210987654321\"\n",
    );
    let project = Project::new(&config).against(&emulator);
    let output = project
        .maint(&["--all", "provision", "--no-wait", "--output", "json"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", stderr_of(&output));
    let stderr = stderr_of(&output);
    assert!(
        stderr.contains("maint: 1 of 3 environments failed: b"),
        "{stderr}"
    );
    let doc = json(&output);
    schema_valid(&doc);
    assert_eq!(doc[0]["ok"], true);
    assert_eq!(doc[1]["ok"], false);
    assert!(
        doc[1]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("account 210987654321"),
        "{doc:#}"
    );
    assert_eq!(doc[2]["ok"], true);
    // a and c were provisioned; nothing was written for b.
    let writes = emulator.writes();
    let to = |bucket: &str| writes.iter().filter(|w| w.contains(bucket)).count();
    assert!(
        to("acme-many-a") >= 2 && to("acme-many-c") >= 2,
        "{writes:?}"
    );
    assert_eq!(to("acme-many-b"), 0, "{writes:?}");

    // The table names it too, with its reason.
    let text = project
        .maint(&["--all", "status", "--exit-code"])
        .output()
        .unwrap();
    let stdout = stdout_of(&text);
    let row = stdout
        .lines()
        .find(|l| l.starts_with("b "))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(row.contains("drift"), "{row}");
    // Only b drifts (it was never provisioned): exit 3, as for one.
    assert_eq!(text.status.code(), Some(3), "{stdout}{}", stderr_of(&text));
}

#[test]
fn bad_input_for_any_environment_stops_the_run_before_any_aws_call() {
    // An environment the config lacks.
    Test::new()
        .config(CONFIG)
        .args(&["-e", "a", "-e", "nope", "status"])
        .no_aws_call()
        .status(2)
        .stderr("no environment `nope`")
        .run();
    // A window command for environments without a window.
    Test::new()
        .config(CONFIG)
        .args(&["--all", "on", "--for", "1h"])
        .no_aws_call()
        .status(2)
        .stderr("has no `distribution`")
        .run();
    // A message too long for any page: refused once, for the run.
    Test::new()
        .config(CONFIG)
        .args(&["--all", "set-message", "-m", &"x".repeat(5000)])
        .no_aws_call()
        .status(2)
        .run();
    // Commands that take one environment at a time say so.
    for args in [
        &["-e", "a", "-e", "b", "destroy", "--yes"][..],
        &["--all", "attach"][..],
        &["--all", "grant", "--print"][..],
    ] {
        Test::new()
            .config(CONFIG)
            .args(args)
            .no_aws_call()
            .status(2)
            .stderr("one environment at a time")
            .run();
    }
    // --all and -e together, and no jobs at all.
    Test::new()
        .config(CONFIG)
        .args(&["--all", "-e", "a", "status"])
        .no_aws_call()
        .status(2)
        .run();
    Test::new()
        .config(CONFIG)
        .args(&["--all", "--jobs", "0", "status"])
        .no_aws_call()
        .status(2)
        .stderr("--jobs")
        .run();
}

#[test]
fn a_message_file_is_read_once_for_every_environment() {
    let emulator = Emulator::start();
    let project = provisioned_all(&emulator);
    let output = project
        .maint(&[
            "-e",
            "a",
            "-e",
            "b",
            "set-message",
            "--file",
            "-",
            "--output",
            "json",
        ])
        .write_stdin("Upgrading the database.\n")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    let doc = json(&output);
    schema_valid(&doc);
    for item in doc.as_array().unwrap() {
        assert_eq!(
            item["result"]["message"], "Upgrading the database.",
            "{doc:#}"
        );
        assert_eq!(item["result"]["applied"], true, "{doc:#}");
    }
}

#[test]
fn a_read_only_run_lists_the_accounts_distributions_once_when_records_are_missing() {
    let emulator = Emulator::start();
    let project = provisioned_all(&emulator);
    // Pages written by an older maint (or by hand): no record of their
    // distribution, so each environment would have to list.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    for bucket in ["acme-many-a", "acme-many-b", "acme-many-c"] {
        let region = if bucket.ends_with('b') {
            "us-east-1"
        } else {
            "eu-west-1"
        };
        runtime.block_on(
            emulator.rewrite_metadata(region, bucket, "maintenance.html", |m| {
                m.remove("maint-distribution");
            }),
        );
    }
    let listings = |emulator: &Emulator| emulator.listings().len();
    emulator.clear_requests();
    let output = project
        .maint(&["--all", "status", "--output", "json"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    let doc = json(&output);
    for item in doc.as_array().unwrap() {
        assert!(
            item["result"]["site"]["distribution"]["distribution_id"].is_string(),
            "{item:#}"
        );
    }
    assert_eq!(listings(&emulator), 1, "listed once for the run");
    // Three separate runs list three times.
    emulator.clear_requests();
    for env in ["a", "b", "c"] {
        project.maint(&["-e", env, "status"]).assert().success();
    }
    assert_eq!(listings(&emulator), 3);
}

#[test]
fn invalidations_over_several_environments_are_spaced_two_seconds_apart() {
    // CloudFront's default rate for CreateInvalidation is 0.5 per second
    // per account: a run over many environments must not burst them.
    let emulator = Emulator::start();
    let project = provisioned_all(&emulator);
    project.maint(&["--all", "invalidate"]).assert().success();
    project
        .maint(&[
            "-e",
            "a",
            "-e",
            "b",
            "set-message",
            "-m",
            "Soon.",
            "--invalidate",
        ])
        .assert()
        .success();
    let creates: Vec<f64> = emulator
        .request_times()
        .into_iter()
        .filter(|(_, r)| {
            r.starts_with("POST /2020-05-31/distribution/") && r.ends_with("/invalidation")
        })
        .map(|(at, _)| at)
        .collect();
    assert_eq!(creates.len(), 5, "{creates:?}");
    // Within each run (3, then 2): sent 2 s apart; arrival times allow for
    // a busy machine delaying one more than the next (unpaced, they arrive
    // within milliseconds).
    for run in [&creates[..3], &creates[3..]] {
        for pair in run.windows(2) {
            assert!(pair[1] - pair[0] >= 1.5, "{creates:?}");
        }
    }
}
