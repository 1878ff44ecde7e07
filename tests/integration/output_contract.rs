//! The output contract: every command, run with `--output json` against the
//! emulator, prints one JSON document on stdout that matches its definition
//! in docs/output.schema.json; a failure prints the error document and exits
//! with the code of its kind.

use crate::support;

use std::io::{BufRead as _, BufReader};
use std::process::Stdio;

use serde_json::Value;
use support::{Emulator, Project, stderr_of};

fn schema_for(definition: &str) -> jsonschema::Validator {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/docs/output.schema.json"
    ))
    .unwrap();
    let mut schema: Value = serde_json::from_str(&text).unwrap();
    assert!(
        schema["$defs"].get(definition).is_some(),
        "no definition {definition}"
    );
    schema["$ref"] = Value::String(format!("#/$defs/{definition}"));
    jsonschema::validator_for(&schema).unwrap()
}

/// Runs `maint ARGS --output json`, expects `code`, and checks stdout
/// against `definition`. Returns the document.
fn json_of(project: &Project, args: &[&str], code: i32, definition: &str) -> Value {
    let output = project
        .maint(&[args, &["--output", "json"]].concat())
        .env("MAINT_BYPASS_SECRET", "team-secret-0123456789abcdef")
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(code),
        "{args:?}: {}",
        stderr_of(&output)
    );
    let doc: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "{args:?}: stdout is not one JSON document ({e}): {:?}",
            String::from_utf8_lossy(&output.stdout)
        )
    });
    let validator = schema_for(definition);
    let errors: Vec<String> = validator
        .iter_errors(&doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{args:?} as {definition}: {errors:#?}\n{doc:#}"
    );
    doc
}

const SITE: &str = "environments:\n  staging:\n    region: eu-west-1\n    bucket: acme-contract\n";

#[test]
fn site_mode_commands_print_their_documented_json() {
    let emulator = Emulator::start();
    let project = Project::new(SITE).against(&emulator);
    let plan = json_of(&project, &["provision", "--dry-run"], 0, "provision");
    assert_eq!(plan["plan"][0]["action"], "create");
    json_of(&project, &["provision"], 0, "provision");
    json_of(&project, &["status"], 0, "status");
    let message = json_of(
        &project,
        &["set-message", "-m", "Back soon", "--invalidate"],
        0,
        "set_message",
    );
    assert!(message["invalidation_id"].is_string());
    let invalidated = json_of(&project, &["invalidate", "--wait"], 0, "invalidate");
    // The same fact has the same name as in set-message's document.
    assert_eq!(invalidated["invalidation_completed"], true);
    let status = json_of(&project, &["status"], 0, "status");
    assert_eq!(status["site"]["page"]["message"], "Back soon");
    assert!(
        !status["site"]["invalidations"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    json_of(&project, &["verify", "--url", &emulator.url], 0, "verify");
    let printed = json_of(&project, &["grant", "--print"], 0, "grant");
    assert_eq!(printed["printed"], true);
    let granted = json_of(
        &project,
        &[
            "grant",
            "--github-repo",
            "acme/shop",
            "--github-environment",
            "production",
        ],
        0,
        "grant",
    );
    assert_eq!(granted["principal"]["name"], "maint-staging-ci");
    assert_eq!(granted["plan"][0]["action"], "create");
    let revoked = json_of(
        &project,
        &["revoke", "--github-repo", "acme/shop", "--yes"],
        0,
        "revoke",
    );
    assert_eq!(revoked["applied"], true);
    json_of(&project, &["destroy", "--dry-run"], 0, "destroy");
    let destroyed = json_of(&project, &["destroy", "--yes"], 0, "destroy");
    assert_eq!(destroyed["applied"], true);
}

#[tokio::test]
async fn window_mode_commands_print_their_documented_json() {
    let emulator = Emulator::start();
    let cf = emulator.cloudfront().await;
    let id = support::customer_distribution(&cf).await;
    let project = Project::new(&format!(
        "environments:\n  shop:\n    region: eu-west-1\n    distribution: {id}\n    window:\n      bypass:\n        secret_env: MAINT_BYPASS_SECRET\n"
    ))
    .against(&emulator);
    let function = json_of(&project, &["function"], 0, "function");
    assert_eq!(function["environment"], "shop");
    json_of(&project, &["attach", "--dry-run"], 0, "attach");
    let attach = json_of(&project, &["attach"], 0, "attach");
    assert_eq!(attach["applied"], true);
    let on = json_of(
        &project,
        &["on", "-m", "Closed", "--for", "2h"],
        0,
        "switch",
    );
    assert_eq!(on["on"], true);
    assert!(on["until"].is_string());
    let status = json_of(&project, &["status"], 0, "status");
    assert_eq!(status["window"]["on"], true);
    json_of(&project, &["off"], 0, "switch");
    json_of(&project, &["detach"], 0, "detach");
}

#[test]
fn failures_print_the_error_document_with_the_exit_code_of_their_kind() {
    // A configuration error: 2.
    let project =
        Project::new("environments:\n  staging:\n    region: mars-north-1\n    bucket: acme-x\n");
    let doc = json_of(&project, &["status"], 2, "error");
    assert_eq!(doc["error"]["kind"], "config");
    // An AWS error (nothing listens there): 1, with AWS's hint apart.
    let project = Project::new(SITE);
    let output = project
        .maint(&["status", "--output", "json", "--timeout", "20s"])
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("AWS_ACCESS_KEY_ID", "x")
        .env("AWS_SECRET_ACCESS_KEY", "y")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let doc: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(schema_for("error").is_valid(&doc), "{doc}");
    assert_eq!(doc["error"]["kind"], "aws");
    assert!(
        doc["error"]["hint"]
            .as_str()
            .unwrap()
            .contains("--endpoint-url")
    );
    assert_eq!(stderr_of(&output).lines().count(), 1);
}

#[test]
fn init_and_preview_print_their_documented_json() {
    let project = Project::new("");
    std::fs::remove_file(project.path("maint.yaml")).unwrap();
    json_of(&project, &["init", "--bucket", "acme-contract"], 0, "init");
    // preview serves until stopped: read its first line, then stop it.
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin!("maint"))
        .current_dir(project.dir.path())
        .args(["preview", "--port", "0", "--output", "json"])
        .env_clear()
        .env("HOME", project.dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut text = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap() == 0 {
            break;
        }
        text.push_str(&line);
        if line.starts_with('}') {
            break;
        }
    }
    // Stopped as a service manager or a CI runner stops it: SIGTERM is its
    // normal end, exit 0, and nothing more on stdout than its one document.
    let stopped = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(stopped.success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{status:?}");
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut reader, &mut rest).unwrap();
    assert_eq!(rest, "", "a second document after the first");
    let doc: Value = serde_json::from_str(&text).unwrap();
    let errors: Vec<String> = schema_for("preview")
        .iter_errors(&doc)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?}: {doc}");
}
