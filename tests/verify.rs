//! What visitors get, proven over HTTP: `maint verify` and `on/off --wait`
//! against the emulator's local CloudFront edge (emulator/edge.py), which
//! serves each distribution from the configuration maint wrote: behaviors,
//! the viewer-request function on njs with the store's contents, the S3
//! origin through the OAC and the bucket policy, custom error responses.

mod support;

use serde_json::Value;
use support::{Emulator, Project, stderr_of, stdout_of};

const SECRET: &str = "team-secret-0123456789abcdef";
const SITE: &str = "environments:\n  staging:\n    region: eu-west-1\n    bucket: acme-verify\n";

fn verify_json(project: &Project, emulator: &Emulator) -> (i32, Value) {
    let output = project
        .maint(&["verify", "--url", &emulator.url, "--output", "json"])
        .env("MAINT_BYPASS_SECRET", SECRET)
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", stdout_of(&output), stderr_of(&output)));
    (output.status.code().unwrap(), doc)
}

fn failed(doc: &Value) -> Vec<String> {
    doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["passed"] == false)
        .map(|c| {
            format!(
                "{}: expected {}; got {}",
                c["request"], c["expected"], c["got"]
            )
        })
        .collect()
}

#[tokio::test]
async fn site_mode_answers_every_path_and_method_with_the_page() {
    let emulator = Emulator::start();
    let project = Project::new(SITE).against(&emulator);
    project.maint(&["provision"]).assert().success();
    let (code, doc) = verify_json(&project, &emulator);
    assert_eq!(code, 0, "{:#?}", failed(&doc));
    assert!(doc["checks"].as_array().unwrap().len() >= 5);

    // A new message, confirmed at the edge by --wait (no cache here).
    let changed = project
        .maint(&[
            "set-message",
            "-m",
            "Back at 16:00 UTC & \"soon\"",
            "--invalidate",
            "--wait",
            "--url",
            &emulator.url,
            "--timeout",
            "60s",
        ])
        .output()
        .unwrap();
    assert!(changed.status.success(), "{}", stderr_of(&changed));
    assert!(
        stderr_of(&changed).contains("the live site: serves the new page"),
        "{}",
        stderr_of(&changed)
    );
    let (code, doc) = verify_json(&project, &emulator);
    assert_eq!(code, 0, "{:#?}", failed(&doc));

    // Someone uploads another page: verify says visitors do not get maint's.
    let s3 = emulator.s3("eu-west-1").await;
    s3.put_object()
        .bucket("acme-verify")
        .key("maintenance.html")
        .body(b"<p>something else</p>".to_vec().into())
        .content_type("text/html; charset=utf-8")
        .metadata("maint-message", "QmFjayBhdCAxNjowMCBVVEMgJiAic29vbiI=")
        .send()
        .await
        .unwrap();
    let (code, doc) = verify_json(&project, &emulator);
    assert_eq!(code, 3);
    assert_eq!(doc["passed"], false);
    assert!(!failed(&doc).is_empty());

    // Without the bucket policy the page itself is unreachable: the viewer
    // gets S3's own 403, and verify fails.
    s3.delete_bucket_policy()
        .bucket("acme-verify")
        .send()
        .await
        .unwrap();
    let output = project
        .maint(&["verify", "--url", &emulator.url])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3));
    assert!(
        stdout_of(&output).contains("✗ GET / (a browser): expected 503"),
        "{}",
        stdout_of(&output)
    );
    assert!(stderr_of(&output).contains("does not serve what maint configured"));
}

#[tokio::test]
async fn window_mode_on_off_bypass_and_waiting_are_proven_at_the_edge() {
    let emulator = Emulator::start();
    let origin = support::LocalOrigin::start();
    let cf = emulator.cloudfront().await;
    let id = support::distribution_for_origin(&cf, origin.port).await;
    let project = Project::new(&format!(
        "environments:\n  shop:\n    region: eu-west-1\n    distribution: {id}\n    window:\n      message: Closed for the upgrade.\n      bypass:\n        secret_env: MAINT_BYPASS_SECRET\n"
    ))
    .against(&emulator);
    project
        .maint(&["attach"])
        .env("MAINT_BYPASS_SECRET", SECRET)
        .assert()
        .success();
    // Attached, off: the origin answers.
    let (code, doc) = verify_json(&project, &emulator);
    assert_eq!(code, 0, "{:#?}", failed(&doc));

    // On, confirmed at the edge by --wait.
    let on = project
        .maint(&[
            "on",
            "-m",
            "Back at 14:00 <UTC>",
            "--wait",
            "--url",
            &emulator.url,
            "--timeout",
            "60s",
        ])
        .output()
        .unwrap();
    assert!(on.status.success(), "{}", stderr_of(&on));
    let (code, doc) = verify_json(&project, &emulator);
    assert_eq!(code, 0, "{:#?}", failed(&doc));
    let requests: Vec<&str> = doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["request"].as_str().unwrap())
        .collect();
    assert!(
        requests.iter().any(|r| r.contains("bypass link")),
        "{requests:?}"
    );
    assert!(
        requests.iter().any(|r| r.contains("bypass cookie")),
        "{requests:?}"
    );
    assert!(
        !doc.to_string().contains(SECRET),
        "the secret is never printed"
    );

    // Someone takes the function off the distribution behind maint's back:
    // the store says on, visitors reach the origin, and verify says so.
    let cf = emulator.cloudfront().await;
    let current = cf.get_distribution_config().id(&id).send().await.unwrap();
    let mut config = current.distribution_config().unwrap().clone();
    let none = aws_sdk_cloudfront::types::FunctionAssociations::builder()
        .quantity(0)
        .build()
        .unwrap();
    config
        .default_cache_behavior
        .as_mut()
        .unwrap()
        .function_associations = Some(none);
    cf.update_distribution()
        .id(&id)
        .if_match(current.e_tag().unwrap())
        .distribution_config(config)
        .send()
        .await
        .unwrap();
    let (code, doc) = verify_json(&project, &emulator);
    assert_eq!(code, 3, "{doc:#}");
    assert!(
        failed(&doc).iter().any(|f| f.contains("GET / (a browser)")),
        "{:#?}",
        failed(&doc)
    );
    // attach puts it back, and visitors get the page again.
    project
        .maint(&["attach"])
        .env("MAINT_BYPASS_SECRET", SECRET)
        .assert()
        .success();
    let (code, doc) = verify_json(&project, &emulator);
    assert_eq!(code, 0, "{:#?}", failed(&doc));

    let off = project
        .maint(&["off", "--wait", "--url", &emulator.url, "--timeout", "60s"])
        .output()
        .unwrap();
    assert!(off.status.success(), "{}", stderr_of(&off));
    let (code, doc) = verify_json(&project, &emulator);
    assert_eq!(code, 0, "{:#?}", failed(&doc));
    assert!(origin.requests() > 0, "the origin was reached");
}
