//! Window mode against the local emulator, which emulator/ makes faithful
//! where window mode needs it: function stages and publishing, associations
//! kept on distributions, If-Match checked, the KeyValueStore data plane, and
//! TestFunction running the code on njs. What it cannot stage (a syntax error
//! from CloudFront, a Lambda@Edge conflict) is in window_flow.rs, on the SDK's
//! mocks.

use crate::support;

use aws_sdk_cloudfront::types::DistributionConfig;
use serde_json::Value;
use support::{Emulator, Project, stderr_of, stdout_of};

const SECRET: &str = "team-secret-0123456789abcdef";

/// A distribution the customer already runs: two behaviors on one origin.
async fn customer_distribution(emulator: &Emulator) -> String {
    support::customer_distribution(&emulator.cloudfront().await).await
}

fn window_project(emulator: &Emulator, distribution: &str) -> Project {
    Project::new(&format!(
        "environments:\n  shop:\n    region: eu-west-1\n    distribution: {distribution}\n    window:\n      bypass:\n        cidrs: [203.0.113.0/24]\n        open_paths: [/health]\n        secret_env: MAINT_BYPASS_SECRET\n"
    ))
    .against(emulator)
}

#[tokio::test]
async fn attach_dry_run_plans_against_the_real_distribution_and_writes_nothing() {
    let emulator = Emulator::start();
    let id = customer_distribution(&emulator).await;
    let project = window_project(&emulator, &id);
    emulator.clear_requests();
    let output = project
        .maint(&["attach", "--dry-run"])
        .env("MAINT_BYPASS_SECRET", SECRET)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    let plan = stdout_of(&output);
    assert!(
        plan.contains(&format!("+ create key value store maint-window-{id}")),
        "{plan}"
    );
    assert!(
        plan.contains("+ create function") && plan.contains("cloudfront-js-2.0"),
        "{plan}"
    );
    assert!(plan.contains("+ publish function"), "{plan}");
    assert!(plan.contains("store the bypass secret's hash"), "{plan}");
    assert!(plan.contains("behaviors `*`, `/api/*`"), "{plan}");
    assert!(!plan.contains(SECRET) && !stderr_of(&output).contains(SECRET));
    assert_eq!(emulator.writes(), Vec::<String>::new());
}

/// The distribution's config as the emulator returns it, for comparing.
async fn config_of(emulator: &Emulator, id: &str) -> DistributionConfig {
    let cf = emulator.cloudfront().await;
    cf.get_distribution_config()
        .id(id)
        .send()
        .await
        .unwrap()
        .distribution_config()
        .unwrap()
        .clone()
}

fn viewer_request_functions(config: &DistributionConfig) -> Vec<Vec<String>> {
    let arns = |fa: Option<&aws_sdk_cloudfront::types::FunctionAssociations>| {
        fa.map(|f| {
            f.items()
                .iter()
                .filter(|a| a.event_type().as_str() == "viewer-request")
                .map(|a| a.function_arn().to_string())
                .collect::<Vec<_>>()
        })
        .unwrap_or_default()
    };
    let mut out = vec![arns(
        config
            .default_cache_behavior()
            .unwrap()
            .function_associations(),
    )];
    for b in config.cache_behaviors().unwrap().items() {
        out.push(arns(b.function_associations()));
    }
    out
}

fn status_json(project: &Project) -> Value {
    let output = project
        .maint(&["status", "--output", "json"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    serde_json::from_slice(&output.stdout).unwrap()
}

#[tokio::test]
async fn attach_on_off_detach_run_end_to_end_against_the_emulator() {
    // The emulator keeps function stages and associations, serves the
    // KeyValueStore data plane and runs TestFunction on njs, as AWS would.
    let emulator = Emulator::start();
    let id = customer_distribution(&emulator).await;
    let before = config_of(&emulator, &id).await;
    let project = window_project(&emulator, &id);
    let attach = project
        .maint(&["attach", "--output", "json"])
        .env("MAINT_BYPASS_SECRET", SECRET)
        .output()
        .unwrap();
    assert!(attach.status.success(), "{}", stderr_of(&attach));
    let report: Value = serde_json::from_slice(&attach.stdout).unwrap();
    // CloudFront (the emulator's njs) ran the code before it was published.
    assert_eq!(report["function_test"]["requests"], 12, "{report}");
    assert!(!stdout_of(&attach).contains(SECRET) && !stderr_of(&attach).contains(SECRET));

    let cf = emulator.cloudfront().await;
    let name = format!("maint-window-{id}");
    let live = cf
        .get_function()
        .name(&name)
        .stage(aws_sdk_cloudfront::types::FunctionStage::Live)
        .send()
        .await
        .unwrap();
    let rendered = project.maint(&["function"]).output().unwrap();
    assert!(
        live.function_code().unwrap().as_ref() == rendered.stdout.as_slice(),
        "the LIVE code is exactly what `maint function` renders"
    );
    let config = config_of(&emulator, &id).await;
    let arn = cf
        .describe_function()
        .name(&name)
        .send()
        .await
        .unwrap()
        .function_summary()
        .unwrap()
        .function_metadata()
        .unwrap()
        .function_arn()
        .to_string();
    assert_eq!(
        viewer_request_functions(&config),
        [vec![arn.clone()], vec![arn.clone()]]
    );
    // Nothing else in the distribution changed.
    let mut expected = before.clone();
    expected.default_cache_behavior = config.default_cache_behavior.clone();
    expected.cache_behaviors = config.cache_behaviors.clone();
    assert_eq!(config, expected);

    // Converged: a second attach writes nothing.
    emulator.clear_requests();
    let again = project
        .maint(&["attach"])
        .env("MAINT_BYPASS_SECRET", SECRET)
        .output()
        .unwrap();
    assert!(
        stdout_of(&again).contains("No changes necessary"),
        "{}",
        stdout_of(&again)
    );
    assert_eq!(emulator.writes(), Vec::<String>::new());

    // On, with a message and an end; off.
    let on = project
        .maint(&["on", "-m", "Back at 14:00 UTC", "--for", "1h"])
        .output()
        .unwrap();
    assert!(on.status.success(), "{}", stderr_of(&on));
    let status = status_json(&project);
    assert_eq!(status["window"]["on"], true, "{status}");
    assert_eq!(status["window"]["attached"], true, "{status}");
    assert_eq!(status["window"]["message"], "Back at 14:00 UTC");
    let off = project.maint(&["off"]).output().unwrap();
    assert!(off.status.success(), "{}", stderr_of(&off));
    assert_eq!(status_json(&project)["window"]["on"], false);

    // On, waiting for the live site: the switch reads the distribution once,
    // beside its write, and the wait asks AWS nothing (it knows the state it
    // wrote and the domain that read gave).
    emulator.clear_requests();
    let on = project
        .maint(&["on", "--wait", "--url", &emulator.url])
        .output()
        .unwrap();
    assert!(on.status.success(), "{}", stderr_of(&on));
    assert!(
        stderr_of(&on).contains("answers as expected"),
        "{}",
        stderr_of(&on)
    );
    let calls = emulator.aws_calls();
    let reads_of_the_distribution = calls
        .iter()
        .filter(|c| c.starts_with(&format!("GET /2020-05-31/distribution/{id}")))
        .count();
    assert_eq!(reads_of_the_distribution, 1, "{calls:?}");
    assert!(
        !calls
            .iter()
            .any(|c| c.starts_with("GET /key-value-stores/") && c.contains("/keys/")),
        "the wait read the state it had just written: {calls:?}"
    );
    assert!(project.maint(&["off"]).output().unwrap().status.success());

    // Detach leaves the distribution as it was, and nothing of maint's.
    let detach = project.maint(&["detach"]).output().unwrap();
    assert!(detach.status.success(), "{}", stderr_of(&detach));
    assert_eq!(config_of(&emulator, &id).await, before);
    assert!(cf.describe_function().name(&name).send().await.is_err());
    let stores = cf.list_key_value_stores().send().await.unwrap();
    assert!(
        stores
            .key_value_store_list()
            .is_none_or(|l| l.items().is_empty())
    );
}

#[tokio::test]
async fn an_attach_whose_answers_are_lost_converges_without_duplicates() {
    // The answers to creating a store and a function, and to the
    // distribution update, are lost: the SDK retries, AWS answers
    // EntityAlreadyExists, FunctionAlreadyExists and PreconditionFailed
    // (the ETag moved), and attach finds its own and goes on.
    let emulator = Emulator::start();
    let id = customer_distribution(&emulator).await;
    let project = Project::new(&format!(
        "environments:\n  shop:\n    region: eu-west-1\n    distribution: {id}\n    window:\n      retry_after: 120\n"
    ))
    .against(&emulator);
    emulator.lose_next_answer("POST", "/2020-05-31/key-value-store/?");
    emulator.lose_next_answer("POST", "/2020-05-31/function");
    emulator.lose_next_answer("PUT", "/2020-05-31/distribution/[^/]+/config");
    let output = project.maint(&["attach"]).output().unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    // Each lost answer was met, and the call sent again.
    let requests = emulator.requests();
    let count = |sent: &dyn Fn(&str) -> bool| requests.iter().filter(|r| sent(r)).count();
    let create_store = |r: &str| r.trim_end_matches('/') == "POST /2020-05-31/key-value-store";
    let create_function = |r: &str| r == "POST /2020-05-31/function";
    let update_distribution = |r: &str| r.starts_with("PUT ") && r.ends_with("/config");
    // The go-live gate creates first (its scratch store and function), so
    // the lost answers are its own: one retry each, then the live pair.
    assert_eq!(count(&create_store), 3, "{requests:#?}");
    assert_eq!(count(&create_function), 3, "{requests:#?}");
    assert!(count(&update_distribution) >= 2, "{requests:#?}");
    let cf = emulator.cloudfront().await;
    let stores = cf.list_key_value_stores().send().await.unwrap();
    assert_eq!(stores.key_value_store_list().unwrap().items().len(), 1);
    let functions = cf.list_functions().send().await.unwrap();
    assert_eq!(functions.function_list().unwrap().items().len(), 1);
    emulator.clear_requests();
    project.maint(&["attach"]).assert().success();
    assert_eq!(emulator.writes(), Vec::<String>::new());
}

#[tokio::test]
async fn on_before_attach_is_a_clear_error_with_no_write() {
    let emulator = Emulator::start();
    let id = customer_distribution(&emulator).await;
    let project = window_project(&emulator, &id);
    emulator.clear_requests();
    let output = project.maint(&["on", "--for", "1h"]).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr_of(&output).contains("run `maint attach` first"),
        "{}",
        stderr_of(&output)
    );
    assert_eq!(emulator.writes(), Vec::<String>::new());

    let status = project.maint(&["status"]).output().unwrap();
    assert!(status.status.success(), "{}", stderr_of(&status));
    assert!(stdout_of(&status).contains("Attached      no: run `maint attach`"));
}

#[tokio::test]
async fn a_missing_or_weak_secret_stops_attach_before_any_call() {
    let emulator = Emulator::start();
    let project = window_project(&emulator, "E2EXAMPLE12345");
    emulator.clear_requests();
    let missing = project.maint(&["attach"]).output().unwrap();
    assert!(stderr_of(&missing).contains("MAINT_BYPASS_SECRET, which is not set"));
    let weak = project
        .maint(&["attach"])
        .env("MAINT_BYPASS_SECRET", "hunter2")
        .output()
        .unwrap();
    assert!(
        stderr_of(&weak).contains("16 to 256 characters"),
        "{}",
        stderr_of(&weak)
    );
    assert!(
        !stderr_of(&weak).contains("hunter2"),
        "the secret is never printed"
    );
    assert!(emulator.requests().is_empty());
}

#[tokio::test]
async fn site_commands_on_a_window_environment_say_what_is_missing() {
    let emulator = Emulator::start();
    let project = window_project(&emulator, "E2EXAMPLE12345");
    let output = project.maint(&["provision"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2), "a config error");
    assert!(
        stderr_of(&output).contains("has no `bucket`"),
        "{}",
        stderr_of(&output)
    );
    assert!(emulator.requests().is_empty());
}

#[tokio::test]
async fn on_and_off_switch_several_windows_in_one_run() {
    let emulator = Emulator::start();
    let one = customer_distribution(&emulator).await;
    let two = customer_distribution(&emulator).await;
    let env = |name: &str, id: &str| {
        format!(
            "  {name}:\n    region: eu-west-1\n    distribution: {id}\n    window:\n      bypass:\n        secret_env: MAINT_BYPASS_SECRET\n"
        )
    };
    let project = Project::new(&format!(
        "environments:\n{}{}",
        env("eu", &one),
        env("us", &two)
    ))
    .against(&emulator);
    for name in ["eu", "us"] {
        let attach = project
            .maint(&["-e", name, "attach", "--no-wait"])
            .env("MAINT_BYPASS_SECRET", SECRET)
            .output()
            .unwrap();
        assert!(attach.status.success(), "{}", stderr_of(&attach));
    }
    let on = project
        .maint(&["--all", "on", "--for", "2h", "-m", "Back soon."])
        .output()
        .unwrap();
    assert!(on.status.success(), "{}", stderr_of(&on));
    let text = stdout_of(&on);
    // One combined plan, before the results.
    let plan = text.find("Plan for 2 environments:").expect(&text);
    assert!(
        text.contains("  eu: ~ switch the maintenance window on until "),
        "{text}"
    );
    assert!(plan < text.find("── eu ──").expect(&text), "{text}");
    let status = project
        .maint(&["--all", "status", "--output", "json"])
        .output()
        .unwrap();
    let list: Value = serde_json::from_slice(&status.stdout).unwrap();
    for item in list.as_array().unwrap() {
        assert_eq!(item["result"]["window"]["on"], true, "{item:#}");
    }
    project.maint(&["--all", "off"]).assert().success();
    let status = project
        .maint(&["--all", "status", "--output", "json"])
        .output()
        .unwrap();
    let list: Value = serde_json::from_slice(&status.stdout).unwrap();
    for item in list.as_array().unwrap() {
        assert_eq!(item["result"]["window"]["on"], false, "{item:#}");
    }
}

/// The distribution's domain name, which the emulator's edge serves it by.
async fn domain_of(emulator: &Emulator, id: &str) -> String {
    let cf = emulator.cloudfront().await;
    let out = cf.get_distribution().id(id).send().await.unwrap();
    out.distribution().unwrap().domain_name().to_string()
}

/// A browser's GET / at the emulator's edge, from outside every bypass rule.
fn visit(emulator: &Emulator, domain: &str) -> (u16, String, String) {
    support::http_with(
        emulator.port(),
        "GET",
        "/",
        &[
            &format!("Host: {domain}"),
            "Accept: text/html",
            "X-Maint-Viewer-Ip: 198.51.100.7",
        ],
        "",
    )
    .expect("the edge answers")
}

/// An engine for the emulator's TestFunction that runs njs but fails every
/// run whose function answers with a response (the page, the redirect)
/// while `broken` exists: the pass-through still works on it, as on an
/// engine that cannot run only the maintenance path.
fn engine_that_fails_the_page(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    use std::os::unix::fs::PermissionsExt as _;
    let broken = dir.join("broken");
    let engine = dir.join("njs-without-the-page");
    std::fs::write(
        &engine,
        format!(
            "#!/bin/sh\nout=$(njs \"$@\")\nrc=$?\nif [ -e '{}' ] && printf '%s' \"$out\" | grep -q '\"response\"'; then\n  echo 'InternalError: the engine cannot run this path' >&2\n  exit 1\nfi\nprintf '%s\\n' \"$out\"\nexit $rc\n",
            broken.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&engine, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(&broken, "").unwrap();
    (engine, broken)
}

#[tokio::test]
async fn attach_refuses_code_whose_maintenance_page_fails_on_cloudfronts_engine() {
    // On a first attach the real window is off: only the go-live gate's
    // scratch store (state "on") makes CloudFront run the page before it
    // is LIVE. With an engine that fails the page, nothing goes live.
    let dir = tempfile::tempdir().unwrap();
    let (engine, broken) = engine_that_fails_the_page(dir.path());
    let emulator = Emulator::start_with(&[("MAINT_TESTFUNCTION_NJS", engine.to_str().unwrap())]);
    let id = customer_distribution(&emulator).await;
    let before = config_of(&emulator, &id).await;
    let project = window_project(&emulator, &id);
    let refused = project
        .maint(&["attach"])
        .env("MAINT_BYPASS_SECRET", SECRET)
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1), "{}", stderr_of(&refused));
    let err = stderr_of(&refused);
    assert!(
        err.contains("nothing was published and the distribution is unchanged"),
        "{err}"
    );
    assert!(err.contains("On `the HTML page`"), "names the probe: {err}");
    assert!(err.contains("the engine cannot run this path"), "{err}");
    assert_eq!(config_of(&emulator, &id).await, before);
    let cf = emulator.cloudfront().await;
    let functions = cf.list_functions().send().await.unwrap();
    assert!(
        functions
            .function_list()
            .is_none_or(|l| l.items().is_empty()),
        "neither the live function nor the gate's scratch one is left: {functions:?}"
    );
    let stores = cf.list_key_value_stores().send().await.unwrap();
    assert!(
        stores
            .key_value_store_list()
            .is_none_or(|l| l.items().is_empty()),
        "{stores:?}"
    );

    // A sound engine: the gate passes, the window goes live, and `on`
    // serves the page at the edge.
    std::fs::remove_file(&broken).unwrap();
    let attach = project
        .maint(&["attach"])
        .env("MAINT_BYPASS_SECRET", SECRET)
        .output()
        .unwrap();
    assert!(attach.status.success(), "{}", stderr_of(&attach));
    assert!(
        stdout_of(&attach)
            .contains("CloudFront's TestFunction ran the code now LIVE on 12 requests"),
        "{}",
        stdout_of(&attach)
    );
    let progress = stderr_of(&attach);
    for probe in [
        "the HTML page",
        "the JSON body (by Accept)",
        "an open path",
        "an allowed IPv4 network",
        "a valid bypass link",
        "a valid bypass cookie",
        "a forged bypass cookie",
    ] {
        assert!(progress.contains(probe), "{probe}: {progress}");
    }
    let domain = domain_of(&emulator, &id).await;
    assert_ne!(visit(&emulator, &domain).0, 503, "off: the site");
    project.maint(&["on"]).assert().success();
    let (status, head, body) = visit(&emulator, &domain);
    assert_eq!(status, 503, "{head}\n{body}");
    assert!(head.to_ascii_lowercase().contains("retry-after:"), "{head}");
}

#[tokio::test]
async fn a_distribution_put_back_without_the_association_is_drift_and_on_says_so() {
    // Terraform (or CloudFormation, or the console) writes back the config
    // it knows, without maint's association.
    let emulator = Emulator::start();
    let id = customer_distribution(&emulator).await;
    let before = config_of(&emulator, &id).await;
    let project = window_project(&emulator, &id);
    project
        .maint(&["attach"])
        .env("MAINT_BYPASS_SECRET", SECRET)
        .assert()
        .success();
    project.maint(&["on"]).assert().success();
    let cf = emulator.cloudfront().await;
    let etag = cf
        .get_distribution_config()
        .id(&id)
        .send()
        .await
        .unwrap()
        .e_tag()
        .unwrap()
        .to_string();
    cf.update_distribution()
        .id(&id)
        .if_match(etag)
        .distribution_config(before)
        .send()
        .await
        .unwrap();

    let status = project.maint(&["status", "--exit-code"]).output().unwrap();
    assert_eq!(status.status.code(), Some(3), "{}", stdout_of(&status));
    let text = stdout_of(&status);
    assert!(
        text.contains("ON until `maint off` in the store, NOT served"),
        "{text}"
    );
    assert!(
        text.contains("does not run maint's function on `*`, `/api/*`"),
        "{text}"
    );
    let json = status_json(&project);
    assert_eq!(json["window"]["served"], false, "{json}");

    let verify = project.maint(&["verify"]).output().unwrap();
    assert_eq!(verify.status.code(), Some(3), "{}", stdout_of(&verify));

    let on = project.maint(&["on"]).output().unwrap();
    assert_eq!(on.status.code(), Some(3), "{}", stderr_of(&on));
    let err = stderr_of(&on);
    assert!(err.contains("visitors get the site"), "{err}");
    assert!(err.contains("`*`, `/api/*`"), "{err}");
    assert!(err.contains("last changed 20"), "when: {err}");
    assert!(err.contains("maint attach"), "{err}");
    assert!(
        !stdout_of(&on).contains("Visitors get the page"),
        "{}",
        stdout_of(&on)
    );

    // attach puts the association back, and the window is served.
    project
        .maint(&["attach"])
        .env("MAINT_BYPASS_SECRET", SECRET)
        .assert()
        .success();
    project.maint(&["status", "--exit-code"]).assert().success();
    let domain = domain_of(&emulator, &id).await;
    assert_eq!(visit(&emulator, &domain).0, 503);
}
