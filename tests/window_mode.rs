//! Window mode against the local emulator, for what it supports: reading a
//! customer's distribution, planning, and creating the store and function.
//! The emulator has no PublishFunction and no KeyValueStore data plane; those
//! are covered by the SDK-mock tests in src/commands/window_tests.rs.

mod support;

use aws_sdk_cloudfront::types::{
    CacheBehavior, CacheBehaviors, CustomOriginConfig, DefaultCacheBehavior, DistributionConfig,
    Origin, OriginProtocolPolicy, Origins, ViewerProtocolPolicy,
};
use support::{Emulator, Project, stderr_of, stdout_of};

const SECRET: &str = "team-secret-0123456789abcdef";

/// A distribution the customer already runs: two behaviors on one origin.
async fn customer_distribution(emulator: &Emulator) -> String {
    let cf = emulator.cloudfront().await;
    let api = CacheBehavior::builder()
        .path_pattern("/api/*")
        .target_origin_id("web")
        .viewer_protocol_policy(ViewerProtocolPolicy::HttpsOnly)
        .cache_policy_id("4135ea2d-6df8-44a3-9df3-4b5a84be39ad")
        .build()
        .unwrap();
    let config = DistributionConfig::builder()
        .caller_reference("shop-2019")
        .comment("the shop")
        .enabled(true)
        .origins(
            Origins::builder()
                .quantity(1)
                .items(
                    Origin::builder()
                        .id("web")
                        .domain_name("shop.example.com")
                        .custom_origin_config(
                            CustomOriginConfig::builder()
                                .http_port(80)
                                .https_port(443)
                                .origin_protocol_policy(OriginProtocolPolicy::HttpsOnly)
                                .build()
                                .unwrap(),
                        )
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .default_cache_behavior(
            DefaultCacheBehavior::builder()
                .target_origin_id("web")
                .viewer_protocol_policy(ViewerProtocolPolicy::RedirectToHttps)
                .cache_policy_id("658327ea-f89d-4fab-a63d-7e88639e58f6")
                .build()
                .unwrap(),
        )
        .cache_behaviors(
            CacheBehaviors::builder()
                .quantity(1)
                .items(api)
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    let out = cf
        .create_distribution()
        .distribution_config(config)
        .send()
        .await
        .unwrap();
    out.distribution().unwrap().id().to_string()
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
    let plan = stderr_of(&output);
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
    assert!(!plan.contains(SECRET) && !stdout_of(&output).contains(SECRET));
    assert_eq!(emulator.writes(), Vec::<String>::new());
}

#[tokio::test]
async fn an_interrupted_attach_resumes_without_a_second_store_or_function() {
    let emulator = Emulator::start();
    let id = customer_distribution(&emulator).await;
    // No secret: a re-run would read its hash through the KVS data plane.
    let project = Project::new(&format!(
        "environments:\n  shop:\n    region: eu-west-1\n    distribution: {id}\n    window:\n      retry_after: 120\n"
    ))
    .against(&emulator);
    // The emulator has no KeyValueStore data plane yet: attach stops when
    // it reads the store's state to test the function, as an interrupted
    // run would, before anything is published.
    for _ in 0..2 {
        let output = project.maint(&["attach"]).output().unwrap();
        assert!(!output.status.success());
        let stderr = stderr_of(&output);
        assert!(
            stderr.contains("reading `state` from the key value store failed: HTTP 404"),
            "{stderr}"
        );
        assert_eq!(
            stderr.matches("maint: ").count(),
            1,
            "one message: {stderr}"
        );
    }
    let cf = emulator.cloudfront().await;
    let stores = cf.list_key_value_stores().send().await.unwrap();
    let stores = stores.key_value_store_list().unwrap().items();
    assert_eq!(stores.len(), 1);
    assert_eq!(stores[0].name(), format!("maint-window-{id}"));
    let functions = cf.list_functions().send().await.unwrap();
    let functions = functions.function_list().unwrap().items();
    assert_eq!(functions.len(), 1);
    let config = functions[0].function_config().unwrap();
    assert_eq!(config.runtime().as_str(), "cloudfront-js-2.0");

    // What was created is exactly what `maint function` renders.
    let code = cf
        .get_function()
        .name(format!("maint-window-{id}"))
        .send()
        .await
        .unwrap();
    let rendered = project.maint(&["function"]).output().unwrap();
    assert!(
        code.function_code().unwrap().as_ref() == rendered.stdout.as_slice(),
        "the created function differs from `maint function`"
    );
    // The customer's distribution was not touched before the function was live.
    let dist = cf.get_distribution_config().id(&id).send().await.unwrap();
    assert_eq!(dist.distribution_config().unwrap().comment(), "the shop");
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
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr_of(&output).contains("has no `bucket`"),
        "{}",
        stderr_of(&output)
    );
    assert!(emulator.requests().is_empty());
}
