//! What visitors get, proven over HTTP: `maint verify` and `on/off --wait`
//! against the emulator's local CloudFront edge (emulator/edge.py), which
//! serves each distribution from the configuration maint wrote: behaviors,
//! the viewer-request function on njs with the store's contents, the S3
//! origin through the OAC and the bucket policy, custom error responses.

use crate::support;

use serde_json::Value;
use support::{Emulator, Project, http_with, stderr_of, stdout_of};

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

/// The distribution's domain, as `status` reports it.
fn domain_of(project: &Project, mode: &str) -> String {
    let output = project
        .maint(&["status", "--output", "json"])
        .output()
        .unwrap();
    let status: Value = serde_json::from_slice(&output.stdout).unwrap();
    match mode {
        "site" => status["site"]["distribution"]["domain"]
            .as_str()
            .unwrap()
            .to_string(),
        _ => unreachable!(),
    }
}

#[tokio::test]
async fn every_method_and_path_gets_the_page_from_the_edge() {
    let emulator = Emulator::start();
    let project = Project::new(SITE).against(&emulator);
    project.maint(&["provision"]).assert().success();
    let host = format!("Host: {}", domain_of(&project, "site"));
    let port: u16 = emulator.url.rsplit(':').next().unwrap().parse().unwrap();
    for method in ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"] {
        for path in [
            "/",
            "/index.html",
            "/api/v1/orders?id=7",
            "/a/b/c/",
            "/.env",
        ] {
            let (status, head, body) = http_with(port, method, path, &[&host], "").unwrap();
            assert_eq!(status, 503, "{method} {path}: {head}");
            assert!(
                head.to_ascii_lowercase()
                    .contains("content-type: text/html; charset=utf-8"),
                "{method} {path}: {head}"
            );
            if method != "HEAD" {
                assert!(
                    body.contains("<h1>Down for maintenance</h1>"),
                    "{method} {path}: {body}"
                );
            }
        }
    }
    // The page's own path is the one that answers 200.
    let (status, _, _) = http_with(port, "GET", "/maintenance.html", &[&host], "").unwrap();
    assert_eq!(status, 200);
}

#[tokio::test]
async fn each_bypass_rule_and_an_expired_window_reach_the_origin_at_the_edge() {
    let emulator = Emulator::start();
    let origin = support::LocalOrigin::start();
    let cf = emulator.cloudfront().await;
    let id = support::distribution_for_origin(&cf, origin.port).await;
    let project = Project::new(&format!(
        "environments:\n  shop:\n    region: eu-west-1\n    distribution: {id}\n    window:\n      bypass:\n        cidrs: [203.0.113.0/24]\n        open_paths: [/health]\n"
    ))
    .against(&emulator);
    project.maint(&["attach"]).assert().success();
    let domain = cf
        .get_distribution()
        .id(&id)
        .send()
        .await
        .unwrap()
        .distribution()
        .unwrap()
        .domain_name()
        .to_string();
    let host = format!("Host: {domain}");
    let port: u16 = emulator.url.rsplit(':').next().unwrap().parse().unwrap();
    project.maint(&["on", "--for", "3s"]).assert().success();
    let get = |path: &str, extra: &[&str]| {
        let mut headers = vec![host.as_str()];
        headers.extend_from_slice(extra);
        http_with(port, "GET", path, &headers, "").unwrap()
    };
    assert_eq!(get("/", &[]).0, 503, "a visitor gets the page");
    assert_eq!(get("/", &["Accept: application/json"]).0, 503);
    assert!(
        get("/", &["Accept: application/json"])
            .1
            .to_ascii_lowercase()
            .contains("application/json")
    );
    assert_eq!(
        get("/health", &[]).0,
        200,
        "an open path reaches the origin"
    );
    assert_eq!(
        get("/", &["X-Maint-Viewer-Ip: 203.0.113.9"]).0,
        200,
        "the office reaches the origin"
    );
    assert_eq!(get("/", &["X-Maint-Viewer-Ip: 198.51.100.9"]).0, 503);
    // Once the window's end has passed, it ends by itself.
    std::thread::sleep(std::time::Duration::from_secs(4));
    assert_eq!(
        get("/", &[]).0,
        200,
        "an expired window lets everyone through"
    );
}
