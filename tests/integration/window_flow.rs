//! Window mode's whole flow against a small, stateful stand-in for CloudFront
//! and its KeyValueStore data plane, built from the SDK's own mocks
//! (aws-smithy-mocks) with the request and response shapes of the AWS API
//! reference: what the emulator cannot stage (CloudFront's TestFunction
//! reporting a SyntaxError, a Lambda@Edge conflict, concurrent edits).

mod fake;

use fake::*;

use aws_sdk_cloudfront::types::{EventType, TestResult};

use std::time::{SystemTime, UNIX_EPOCH};

use maint::commands::attach::FunctionTest;
use maint::commands::detach::detach_with;
use maint::commands::switch::{off_state, on_state, switch_with};
use maint::window::plan::{ObservedWindow, Store, attach_plan, detach_plan};
use maint::window::{Behavior, Slot, State, bypass_hash};

#[tokio::test]
async fn attach_builds_store_function_publish_secret_and_association_in_order() {
    let world = Fake::new().world();
    let spec = spec("      bypass:\n        secret_env: MAINT_BYPASS_SECRET\n");
    let hash = bypass_hash(SECRET);
    let report = attach_now(&world, &spec, Some(&hash)).await.unwrap();
    assert!(report.applied);
    assert_eq!(report.covered, ["*", "/api/*"]);
    let test: &FunctionTest = report.function_test.as_ref().unwrap();
    assert_eq!(test.function, format!("maint-gate-{DIST}"));
    assert_eq!(test.requests, test.probes.len());
    assert_eq!(test.compute_utilization, Some(12));
    // Every answer the code can give ran on CloudFront's engine.
    for probe in [
        "the HTML page",
        "the JSON body (by Accept)",
        "a valid bypass link",
        "a valid bypass cookie",
        "a forged bypass cookie",
    ] {
        assert!(
            test.probes.iter().any(|p| p.probe == probe),
            "{probe}: {:?}",
            test.probes
        );
    }

    let w = world.lock().unwrap();
    // The gate's scratch pair: made, tested, removed, never associated.
    assert_eq!(
        w.gate_writes.first().map(String::as_str),
        Some(format!("CreateKeyValueStore maint-gate-{DIST}").as_str())
    );
    assert_eq!(
        w.gate_writes
            .iter()
            .filter(|x| *x == "TestFunction")
            .count(),
        test.requests
    );
    assert_eq!(
        w.gate_writes[w.gate_writes.len() - 2..],
        ["DeleteFunction", "DeleteKeyValueStore"]
    );
    assert!(w.gate.function.is_none() && w.gate.store.is_none());
    assert_eq!(
        w.writes,
        [
            format!("CreateKeyValueStore maint-window-{DIST}"),
            "CreateFunction".to_string(),
            "PublishFunction".to_string(),
            "PutKey bypass".to_string(),
            "UpdateDistribution".to_string(),
        ]
    );
    let f = w.live.function.as_ref().unwrap();
    assert_eq!(f.code, spec.code.as_bytes());
    assert_eq!(f.live.as_deref(), Some(spec.code.as_bytes()));
    assert_eq!(f.stores, [store_arn()]);
    assert_eq!(w.live.keys["bypass"], hash);
    assert!(
        !w.live.keys.values().any(|v| v.contains(SECRET)),
        "the secret never reaches AWS"
    );
    let config = w.config.as_ref().unwrap();
    assert_eq!(
        viewer_request_arns(config),
        [
            ("*".to_string(), vec![function_arn()]),
            ("/api/*".to_string(), vec![function_arn()])
        ]
    );
    // Nothing else changed.
    let mut expected = customer_distribution();
    expected.default_cache_behavior = config.default_cache_behavior.clone();
    expected.cache_behaviors = config.cache_behaviors.clone();
    assert_eq!(config, &expected);
}

#[tokio::test]
async fn attach_again_changes_nothing() {
    let world = Fake::new().world();
    let spec = spec("      retry_after: 120\n");
    attach_now(&world, &spec, None).await.unwrap();
    let writes = world.lock().unwrap().writes.len();
    let report = attach_now(&world, &spec, None).await.unwrap();
    assert!(report.plan.is_empty(), "{:?}", report.plan);
    assert_eq!(world.lock().unwrap().writes.len(), writes);
}

#[tokio::test]
async fn a_changed_config_updates_and_republishes_the_function_only() {
    let world = Fake::new().world();
    attach_now(&world, &spec("      retry_after: 120\n"), None)
        .await
        .unwrap();
    world.lock().unwrap().writes.clear();
    let changed = spec("      retry_after: 600\n");
    attach_now(&world, &changed, None).await.unwrap();
    let w = world.lock().unwrap();
    assert_eq!(w.writes, ["UpdateFunction", "PublishFunction"]);
    assert!(w.gate_writes.contains(&"TestFunction".to_string()));
    assert_eq!(
        w.live.function.as_ref().unwrap().live.as_deref(),
        Some(changed.code.as_bytes())
    );
}

#[tokio::test]
async fn attach_refuses_a_behavior_with_lambda_at_edge_and_changes_nothing() {
    let world = Fake::new()
        .lambda_at_edge(
            EventType::ViewerRequest,
            "arn:aws:lambda:us-east-1:123456789012:function:maintenance:7",
        )
        .world();
    let err = attach_now(&world, &spec("      retry_after: 60\n"), None)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("behavior `/api/*`"), "{err}");
    assert!(
        err.contains("Lambda@Edge") && err.contains("function:maintenance:7"),
        "{err}"
    );
    assert!(world.lock().unwrap().writes.is_empty());

    // Leaving that behavior out works, and covers only the default one.
    let report = attach_now(&world, &spec("      behaviors: [\"*\"]\n"), None)
        .await
        .unwrap();
    assert_eq!(report.covered, ["*"]);
    let w = world.lock().unwrap();
    assert_eq!(
        viewer_request_arns(w.config.as_ref().unwrap()),
        [
            ("*".to_string(), vec![function_arn()]),
            ("/api/*".to_string(), vec![])
        ]
    );
}

#[tokio::test]
async fn attach_refuses_lambda_at_edge_on_viewer_response_before_any_write() {
    // AWS: "You can't combine CloudFront Functions and Lambda@Edge in viewer
    // events (viewer request and viewer response)". UpdateDistribution would
    // refuse it, after the store and function were made and published.
    let world = Fake::new()
        .lambda_at_edge(
            EventType::ViewerResponse,
            "arn:aws:lambda:us-east-1:123456789012:function:headers:3",
        )
        .world();
    let err = attach_now(&world, &spec("      retry_after: 60\n"), None)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("behavior `/api/*`"), "{err}");
    assert!(
        err.contains("Lambda@Edge")
            && err.contains("viewer-response")
            && err.contains("function:headers:3"),
        "{err}"
    );
    assert!(world.lock().unwrap().writes.is_empty());
}

#[tokio::test]
async fn lambda_at_edge_on_origin_events_may_stay() {
    // Allowed beside a CloudFront Function ("All other combinations of edge
    // functions are allowed").
    let world = Fake::new()
        .lambda_at_edge(
            EventType::OriginRequest,
            "arn:aws:lambda:us-east-1:123456789012:function:router:9",
        )
        .world();
    let report = attach_now(&world, &spec("      retry_after: 60\n"), None)
        .await
        .unwrap();
    assert_eq!(report.covered, ["*", "/api/*"]);
}

#[tokio::test]
async fn a_concurrent_distribution_edit_is_kept() {
    let world = Fake::new().with_a_concurrent_distribution_edit().world();
    attach_now(&world, &spec("      retry_after: 60\n"), None)
        .await
        .unwrap();
    let w = world.lock().unwrap();
    let config = w.config.as_ref().unwrap();
    assert_eq!(config.comment(), "the shop (edited by Sam)");
    assert_eq!(viewer_request_arns(config)[0].1, [function_arn()]);
}

#[tokio::test]
async fn on_and_off_are_one_store_write_each() {
    let world = Fake::new().world();
    let spec = spec("      retry_after: 90\n");
    attach_now(&world, &spec, None).await.unwrap();
    world.lock().unwrap().writes.clear();
    let clients = clients(&world);

    let state = on_state(
        &spec,
        Some("Back at 14:00 UTC".into()),
        None,
        Some(std::time::Duration::from_secs(7200)),
    )
    .unwrap();
    let report = switch_with("shop", &spec, &clients, state).await.unwrap();
    assert!(report.to_string().contains("ON for `shop`"));
    {
        let w = world.lock().unwrap();
        assert_eq!(w.writes, ["PutKey state"]);
        let stored = State::from_value(&w.live.keys["state"]).unwrap();
        assert!(stored.on);
        assert_eq!(stored.message.as_deref(), Some("Back at 14:00 UTC"));
        assert_eq!(stored.retry_after, Some(90));
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let until = stored.until.unwrap();
        assert!(
            (now + 7190..=now + 7210).contains(&until),
            "{until} vs {now}"
        );
    }
    let status = maint::commands::status::window_status(&spec, &clients)
        .await
        .unwrap();
    assert!(status.attached && status.on, "{status:?}");
    assert_eq!(status.message.as_deref(), Some("Back at 14:00 UTC"));

    switch_with("shop", &spec, &clients, off_state())
        .await
        .unwrap();
    let w = world.lock().unwrap();
    assert_eq!(w.writes, ["PutKey state", "PutKey state"]);
    assert!(!State::from_value(&w.live.keys["state"]).unwrap().on);
}

#[tokio::test]
async fn on_before_attach_says_so_and_writes_nothing() {
    let world = Fake::new().world();
    let spec = spec("      retry_after: 90\n");
    let err = switch_with(
        "shop",
        &spec,
        &clients(&world),
        on_state(&spec, None, None, None).unwrap(),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(err.contains("run `maint attach` first"), "{err}");
    assert!(world.lock().unwrap().writes.is_empty());
}

#[tokio::test]
async fn detach_leaves_the_distribution_as_it_was() {
    let world = Fake::new().world();
    let before = world.lock().unwrap().config.clone().unwrap();
    let spec = spec("      retry_after: 90\n");
    attach_now(&world, &spec, None).await.unwrap();
    world.lock().unwrap().writes.clear();
    let report = detach_with("shop", &spec, &clients(&world), &quiet(), false)
        .await
        .unwrap();
    assert!(report.applied);
    let w = world.lock().unwrap();
    assert_eq!(
        w.writes,
        [
            "UpdateDistribution",
            "DeleteFunction",
            "DeleteKeyValueStore"
        ]
    );
    assert_eq!(w.config.as_ref().unwrap(), &before);
    assert!(w.live.function.is_none() && w.live.store.is_none());
}

fn canned(error: Option<&str>, output: Option<&str>, utilization: &str) -> TestResult {
    TestResult::builder()
        .set_function_error_message(error.map(str::to_string))
        .set_function_output(output.map(str::to_string))
        .compute_utilization(utilization)
        .function_execution_logs("log line")
        .build()
}

async fn attach_refused_by_cloudfront(result: TestResult) -> String {
    let world = Fake::new().test_function_answers(result).world();
    let spec = spec("      bypass:\n        secret_env: MAINT_BYPASS_SECRET\n");
    let hash = bypass_hash(SECRET);
    let err = attach_now(&world, &spec, Some(&hash))
        .await
        .unwrap_err()
        .to_string();
    let w = world.lock().unwrap();
    // Tested first, then stopped: nothing of the live window made, no
    // secret, no association; the scratch pair removed.
    assert!(w.writes.is_empty(), "{:?}", w.writes);
    assert!(w.live.function.is_none() && w.live.store.is_none());
    assert!(w.gate_writes.contains(&"TestFunction".to_string()));
    assert!(w.gate.function.is_none() && w.gate.store.is_none());
    assert_eq!(w.config.as_ref().unwrap(), &customer_distribution());
    assert!(
        err.contains("nothing was published and the distribution is unchanged"),
        "{err}"
    );
    err
}

#[tokio::test]
async fn attach_stops_when_cloudfront_reports_a_syntax_error() {
    // What TestFunction answers for the form njs refuses.
    let err = attach_refused_by_cloudfront(canned(
        Some("SyntaxError: await in arguments not supported in 5"),
        None,
        "0",
    ))
    .await;
    assert!(
        err.contains("AWS reported: SyntaxError: await in arguments not supported"),
        "{err}"
    );
    assert!(
        err.contains("On `the HTML page` (GET /maint-preflight"),
        "{err}"
    );
}

#[tokio::test]
async fn attach_stops_when_the_function_throws_on_cloudfront() {
    let err = attach_refused_by_cloudfront(canned(
        Some("TypeError: cannot get property \"value\" of undefined"),
        None,
        "3",
    ))
    .await;
    assert!(err.contains("TypeError: cannot get property"), "{err}");
    assert!(err.contains("function logs: log line"), "{err}");
}

#[tokio::test]
async fn attach_stops_when_the_page_lacks_what_visitors_need() {
    // A 503 without Cache-Control or Retry-After: a cache could keep the
    // page after the window, and clients would not know when to retry.
    let err = attach_refused_by_cloudfront(canned(
        None,
        Some(r#"{"response":{"statusCode":503,"statusDescription":"Service Unavailable","headers":{"content-type":{"value":"text/html; charset=utf-8"}}}}"#),
        "5",
    ))
    .await;
    assert!(err.contains("On `the HTML page`"), "{err}");
    assert!(
        err.contains("the answer lacks Cache-Control no-store, a Retry-After of 1 to"),
        "{err}"
    );
}

#[tokio::test(start_paused = true)]
async fn attach_stops_when_the_window_on_still_passes_requests() {
    // The engine keeps answering as if the window were off: after the
    // time a store write takes to be seen, the gate refuses.
    let err = attach_refused_by_cloudfront(canned(
        None,
        Some(r#"{"request":{"method":"GET","uri":"/maint-preflight","querystring":{},"headers":{},"cookies":{}}}"#),
        "5",
    ))
    .await;
    assert!(err.contains("On `the HTML page`"), "{err}");
    assert!(err.contains("expected a 503 with the HTML page"), "{err}");
}

#[tokio::test]
async fn re_attaching_while_on_tests_on_scratch_and_keeps_the_live_state() {
    // Re-attaching a changed config while the window is on: CloudFront (njs
    // here) runs the new code with the store's state, and the probes must
    // get the 503 page, HTML and JSON.
    let world = Fake::new().world();
    let first = spec("      retry_after: 120\n");
    attach_now(&world, &first, None).await.unwrap();
    let clients = clients(&world);
    switch_with(
        "shop",
        &first,
        &clients,
        on_state(&first, None, None, None).unwrap(),
    )
    .await
    .unwrap();
    world.lock().unwrap().writes.clear();
    let changed = spec("      retry_after: 600\n");
    let report = attach_now(&world, &changed, None).await.unwrap();
    assert!(report.function_test.unwrap().requests > 2);
    let w = world.lock().unwrap();
    assert_eq!(w.writes, ["UpdateFunction", "PublishFunction"]);
    // The live store kept its state: the gate wrote only its own.
    assert!(State::from_value(&w.live.keys["state"]).unwrap().on);
}

#[tokio::test]
async fn a_high_compute_utilization_is_shown_with_a_warning() {
    let world = Fake::new().compute_utilization("85").world();
    let report = attach_now(&world, &spec("      retry_after: 60\n"), None)
        .await
        .unwrap();
    assert_eq!(report.function_test.unwrap().compute_utilization, Some(85));
    assert_eq!(report.warnings.len(), 1, "{:?}", report.warnings);
    assert!(
        report.warnings[0].contains("85% of CloudFront's compute limit"),
        "{:?}",
        report.warnings
    );
    // Under the threshold: no warning.
    let world = Fake::new().compute_utilization("70").world();
    let report = attach_now(&world, &spec("      retry_after: 60\n"), None)
        .await
        .unwrap();
    assert!(report.warnings.is_empty());
}

#[tokio::test]
async fn a_function_made_by_a_lost_create_is_updated_not_duplicated() {
    // Another run created the function after this one looked: CreateFunction
    // answers FunctionAlreadyExists, and maint describes it and updates it.
    let world = Fake::new().world();
    {
        let mut w = world.lock().unwrap();
        w.live.function = Some(Func {
            code: b"old code".to_vec(),
            live: None,
            etag: 4,
            stores: vec![store_arn()],
        });
        w.hidden_function = 1;
    }
    let spec = spec("      retry_after: 60\n");
    attach_now(&world, &spec, None).await.unwrap();
    let w = world.lock().unwrap();
    assert_eq!(
        w.writes,
        [
            format!("CreateKeyValueStore maint-window-{DIST}"),
            "UpdateFunction".to_string(),
            "PublishFunction".to_string(),
            "UpdateDistribution".to_string(),
        ]
    );
    let f = w.live.function.as_ref().unwrap();
    assert_eq!(f.live.as_deref(), Some(spec.code.as_bytes()));
}

#[tokio::test]
async fn detach_also_removes_what_an_interrupted_gate_left() {
    let world = Fake::new().world();
    let spec = spec("      retry_after: 90\n");
    attach_now(&world, &spec, None).await.unwrap();
    {
        // An attach stopped mid-gate: its scratch pair is still there.
        let mut w = world.lock().unwrap();
        w.gate.store = Some(1);
        w.gate.function = Some(Func {
            code: b"scratch".to_vec(),
            live: None,
            etag: 1,
            stores: vec![store_arn_of("maint-gate-")],
        });
        w.gate_writes.clear();
    }
    detach_with("shop", &spec, &clients(&world), &quiet(), false)
        .await
        .unwrap();
    let w = world.lock().unwrap();
    assert!(w.gate.function.is_none() && w.gate.store.is_none());
    assert_eq!(w.gate_writes, ["DeleteFunction", "DeleteKeyValueStore"]);
}

#[tokio::test]
async fn detach_deletes_with_the_development_etag_and_retries_a_concurrent_change() {
    let world = Fake::new().with_a_concurrent_function_edit().world();
    let spec = spec("      retry_after: 90\n");
    attach_now(&world, &spec, None).await.unwrap();
    detach_with("shop", &spec, &clients(&world), &quiet(), false)
        .await
        .unwrap();
    let w = world.lock().unwrap();
    assert!(w.live.function.is_none() && w.live.store.is_none());
}

fn plan_text<S: maint::converge::Step>(subject: &str, steps: &[S]) -> String {
    maint::converge::Plan { subject, steps }.to_string()
}

fn nothing_observed() -> ObservedWindow {
    ObservedWindow {
        store: None,
        function: None,
        behaviors: vec![
            Behavior {
                pattern: "*".into(),
                slot: Slot::Free,
            },
            Behavior {
                pattern: "/api/*".into(),
                slot: Slot::Free,
            },
        ],
        bypass_hash: None,
    }
}

#[test]
fn the_attach_plan_builds_everything_in_order() {
    let spec = spec("      bypass:\n        secret_env: MAINT_BYPASS_SECRET\n");
    let covered = vec!["*".to_string(), "/api/*".to_string()];
    let steps = attach_plan(&spec, &covered, Some("hash"), &nothing_observed());
    let text = plan_text("the window of `shop`", &steps).replace(&spec.code.len().to_string(), "N");
    insta::assert_snapshot!(text, @r"
    Plan for the window of `shop` (6 changes):
      ~ test the new code on CloudFront's engine first: 10 requests as the scratch function maint-gate-E2EXAMPLE12345 with its own store, both removed afterwards
      + create key value store maint-window-E2EXAMPLE12345
      + create function maint-window-E2EXAMPLE12345 (cloudfront-js-2.0, N bytes)
      + publish function maint-window-E2EXAMPLE12345 (LIVE)
      ~ store the bypass secret's hash (never the secret)
      ~ run the function on viewer-request for behaviors `*`, `/api/*`
    ");
}

#[test]
fn the_detach_plan_removes_only_what_is_there() {
    let spec = spec("      retry_after: 60\n");
    let mut observed = nothing_observed();
    assert!(detach_plan(&spec, &observed).is_empty());
    observed.behaviors[1].slot = Slot::Ours;
    observed.store = Some(Store {
        arn: store_arn(),
        status: "READY".into(),
        etag: "S1".into(),
    });
    insta::assert_snapshot!(plan_text("detaching the window of `shop`", &detach_plan(&spec, &observed)), @r"
    Plan for detaching the window of `shop` (2 changes):
      ~ remove the function from behaviors `/api/*` and wait
      - delete key value store maint-window-E2EXAMPLE12345
    ");
}
