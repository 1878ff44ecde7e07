//! Site mode end to end against the local emulator: every property provision
//! promises is read back through the SDK, not taken from maint's own output.

use crate::support;

use serde_json::Value;
use support::{Emulator, IDENTITY, Project, stderr_of, stdout_of};

const CONFIG: &str = "\
environments:
  staging:
    region: eu-west-1
    bucket: acme-maint-it
    tags:
      team: web
";

fn provisioned(emulator: &Emulator) -> Project {
    let project = Project::new(CONFIG).against(emulator);
    project.maint(&["provision"]).assert().success();
    project
}

/// STS answered which account this is before the first write was sent (a
/// read may run beside it).
fn account_checked_before_writing(emulator: &Emulator) {
    let requests = emulator.requests();
    let identity = requests.iter().position(|r| r == IDENTITY);
    let first_write = requests
        .iter()
        .position(|r| r != IDENTITY && !r.starts_with("GET ") && !r.starts_with("HEAD "));
    assert!(
        identity.is_some() && (first_write.is_none() || identity < first_write),
        "{requests:?}"
    );
}

async fn the_distribution(
    cf: &aws_sdk_cloudfront::Client,
) -> aws_sdk_cloudfront::types::DistributionSummary {
    let list = cf.list_distributions().send().await.unwrap();
    let items = list.distribution_list().unwrap().items().to_vec();
    assert_eq!(items.len(), 1, "exactly one distribution: {items:?}");
    items[0].clone()
}

#[tokio::test]
async fn provision_builds_a_private_bucket_page_and_distribution() {
    let emulator = Emulator::start();
    let project = Project::new(CONFIG).against(&emulator);
    let output = project.maint(&["provision"]).output().unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    let stdout = stdout_of(&output);
    assert!(stdout.contains("is live at https://"), "{stdout}");

    let s3 = emulator.s3("eu-west-1").await;
    let bucket = "acme-maint-it";
    let location = s3
        .get_bucket_location()
        .bucket(bucket)
        .send()
        .await
        .unwrap();
    assert_eq!(
        location.location_constraint().unwrap().as_str(),
        "eu-west-1"
    );
    let pab = s3
        .get_public_access_block()
        .bucket(bucket)
        .send()
        .await
        .unwrap();
    let pab = pab.public_access_block_configuration().unwrap();
    assert_eq!(
        (
            pab.block_public_acls(),
            pab.ignore_public_acls(),
            pab.block_public_policy(),
            pab.restrict_public_buckets()
        ),
        (Some(true), Some(true), Some(true), Some(true))
    );
    let ownership = s3
        .get_bucket_ownership_controls()
        .bucket(bucket)
        .send()
        .await
        .unwrap();
    assert_eq!(
        ownership.ownership_controls().unwrap().rules()[0]
            .object_ownership()
            .as_str(),
        "BucketOwnerEnforced"
    );
    let encryption = s3
        .get_bucket_encryption()
        .bucket(bucket)
        .send()
        .await
        .unwrap();
    assert!(
        !encryption
            .server_side_encryption_configuration()
            .unwrap()
            .rules()
            .is_empty()
    );
    let tags = s3.get_bucket_tagging().bucket(bucket).send().await.unwrap();
    assert!(
        tags.tag_set()
            .iter()
            .any(|t| t.key() == "team" && t.value() == "web")
    );

    // The page: rendered, right type, short cache, readable over TLS policy.
    let object = s3
        .get_object()
        .bucket(bucket)
        .key("maintenance.html")
        .send()
        .await
        .unwrap();
    assert_eq!(object.content_type(), Some("text/html; charset=utf-8"));
    assert_eq!(object.cache_control(), Some("public, max-age=30"));
    let body = object.body.collect().await.unwrap().into_bytes();
    let body = String::from_utf8(body.to_vec()).unwrap();
    assert!(body.contains("planned maintenance"), "{body}");

    // The OAC.
    let cf = emulator.cloudfront().await;
    let oacs = cf.list_origin_access_controls().send().await.unwrap();
    let oacs = oacs.origin_access_control_list().unwrap().items().to_vec();
    assert_eq!(oacs.len(), 1);
    assert_eq!(oacs[0].name(), "maint-acme-maint-it");
    assert_eq!(oacs[0].signing_behavior().as_str(), "always");
    assert_eq!(oacs[0].signing_protocol().as_str(), "sigv4");
    assert_eq!(oacs[0].origin_access_control_origin_type().as_str(), "s3");

    // The distribution.
    let summary = the_distribution(&cf).await;
    assert!(stdout.contains(summary.domain_name()), "{stdout}");
    let config = cf
        .get_distribution_config()
        .id(summary.id())
        .send()
        .await
        .unwrap();
    let config = config.distribution_config().unwrap();
    assert!(config.enabled());
    assert_eq!(config.comment(), "maint site mode: acme-maint-it");
    assert_eq!(config.caller_reference(), "maint-site-acme-maint-it");
    let origin = &config.origins().unwrap().items()[0];
    assert_eq!(
        origin.domain_name(),
        "acme-maint-it.s3.eu-west-1.amazonaws.com"
    );
    // Read through the OAC (the emulator keeps the id, as AWS does).
    assert_eq!(origin.origin_access_control_id(), Some(oacs[0].id()));
    let behavior = config.default_cache_behavior().unwrap();
    assert_eq!(
        behavior.viewer_protocol_policy().as_str(),
        "redirect-to-https"
    );
    let mut methods: Vec<&str> = behavior
        .allowed_methods()
        .unwrap()
        .items()
        .iter()
        .map(|v| v.as_str())
        .collect();
    methods.sort_unstable();
    assert_eq!(
        methods,
        ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"]
    );
    let errors = config.custom_error_responses().unwrap().items();
    let mut codes: Vec<i32> = errors.iter().map(|v| v.error_code()).collect();
    codes.sort_unstable();
    assert_eq!(
        codes,
        [400, 403, 404, 405, 414, 416, 500, 501, 502, 503, 504]
    );
    for e in errors {
        assert_eq!(e.response_code(), Some("503"));
        assert_eq!(e.response_page_path(), Some("/maintenance.html"));
        assert_eq!(e.error_caching_min_ttl(), Some(10));
    }

    // The policy: GetObject on the page only, for this distribution only, TLS only.
    let policy = s3.get_bucket_policy().bucket(bucket).send().await.unwrap();
    let policy: Value = serde_json::from_str(policy.policy().unwrap()).unwrap();
    let read = &policy["Statement"][0];
    assert_eq!(read["Principal"]["Service"], "cloudfront.amazonaws.com");
    assert_eq!(read["Action"], "s3:GetObject");
    assert_eq!(
        read["Resource"],
        "arn:aws:s3:::acme-maint-it/maintenance.html"
    );
    assert_eq!(
        read["Condition"]["StringEquals"]["AWS:SourceArn"],
        summary.arn()
    );
    assert_eq!(
        policy["Statement"][1]["Condition"]["Bool"]["aws:SecureTransport"],
        "false"
    );
}

#[tokio::test]
async fn a_second_provision_changes_nothing_and_sends_no_write() {
    let emulator = Emulator::start();
    let project = provisioned(&emulator);
    emulator.clear_requests();
    let output = project.maint(&["provision"]).output().unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert!(stdout_of(&output).contains("No changes necessary"));
    assert!(
        !emulator.requests().is_empty(),
        "the request log records reads"
    );
    assert_eq!(emulator.writes(), Vec::<String>::new());
}

#[tokio::test]
async fn dry_run_shows_the_plan_and_changes_nothing() {
    let emulator = Emulator::start();
    let project = Project::new(CONFIG).against(&emulator);
    // The plan is on stdout, and stays there with --quiet.
    let output = project
        .maint(&["provision", "--dry-run", "--quiet"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    let plan = stdout_of(&output);
    assert!(
        plan.contains("Plan for environment `staging` (10 changes):"),
        "{plan}"
    );
    assert!(
        plan.contains("+ create bucket acme-maint-it in eu-west-1"),
        "{plan}"
    );
    assert!(plan.contains("+ create distribution"), "{plan}");
    assert!(plan.contains("Dry run"));
    assert_eq!(emulator.writes(), Vec::<String>::new());

    let json = project
        .maint(&["provision", "--dry-run", "--output", "json"])
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(report["applied"], false);
    assert_eq!(
        report["plan"][0],
        serde_json::json!({"action": "create", "resource": "bucket acme-maint-it", "detail": "in eu-west-1"})
    );

    // For CI: exit 3 when there is something to do.
    let check = project
        .maint(&["provision", "--dry-run", "--exit-code"])
        .output()
        .unwrap();
    assert_eq!(check.status.code(), Some(3), "{}", stderr_of(&check));
    assert!(stderr_of(&check).contains("differs from the config: 9 change(s) planned"));
    project.maint(&["provision"]).assert().success();
    let converged = project
        .maint(&["provision", "--dry-run", "--exit-code"])
        .output()
        .unwrap();
    assert_eq!(
        converged.status.code(),
        Some(0),
        "{}",
        stderr_of(&converged)
    );
}

#[tokio::test]
async fn provision_repairs_drift_and_status_reports_it() {
    let emulator = Emulator::start();
    let project = provisioned(&emulator);
    let s3 = emulator.s3("eu-west-1").await;
    let cf = emulator.cloudfront().await;
    // Someone loosens the bucket and edits the distribution by hand.
    s3.delete_public_access_block()
        .bucket("acme-maint-it")
        .send()
        .await
        .unwrap();
    s3.delete_bucket_policy()
        .bucket("acme-maint-it")
        .send()
        .await
        .unwrap();
    let summary = the_distribution(&cf).await;
    let current = cf
        .get_distribution_config()
        .id(summary.id())
        .send()
        .await
        .unwrap();
    let mut config = current.distribution_config().unwrap().clone();
    config.price_class = Some(aws_sdk_cloudfront::types::PriceClass::PriceClassAll);
    cf.update_distribution()
        .id(summary.id())
        .if_match(current.e_tag().unwrap())
        .distribution_config(config)
        .send()
        .await
        .unwrap();

    let status = project.maint(&["status"]).output().unwrap();
    let text = stdout_of(&status);
    assert!(text.contains("NOT fully private"), "{text}");
    assert!(
        text.contains("~ update distribution") && text.contains("price class"),
        "{text}"
    );
    assert!(text.contains("bucket policy"), "{text}");

    project.maint(&["provision"]).assert().success();
    let pab = s3
        .get_public_access_block()
        .bucket("acme-maint-it")
        .send()
        .await
        .unwrap();
    assert_eq!(
        pab.public_access_block_configuration()
            .unwrap()
            .block_public_policy(),
        Some(true)
    );
    assert!(
        s3.get_bucket_policy()
            .bucket("acme-maint-it")
            .send()
            .await
            .is_ok()
    );
    let config = cf
        .get_distribution_config()
        .id(summary.id())
        .send()
        .await
        .unwrap();
    assert_eq!(
        config
            .distribution_config()
            .unwrap()
            .price_class()
            .unwrap()
            .as_str(),
        "PriceClass_100"
    );
    let status = project.maint(&["status"]).output().unwrap();
    assert!(stdout_of(&status).contains("Drift         none"));
}

#[tokio::test]
async fn an_interrupted_provision_resumes_without_duplicates() {
    let emulator = Emulator::start();
    let project = Project::new(CONFIG).against(&emulator);
    let s3 = emulator.s3("eu-west-1").await;
    let cf = emulator.cloudfront().await;
    // As if a first run stopped after the bucket and the OAC were made.
    s3.create_bucket()
        .bucket("acme-maint-it")
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::EuWest1)
                .build(),
        )
        .send()
        .await
        .unwrap();
    project
        .maint(&["provision", "--no-wait"])
        .assert()
        .success();
    // And as if the next run stopped right after creating the distribution.
    s3.delete_bucket_policy()
        .bucket("acme-maint-it")
        .send()
        .await
        .unwrap();
    project.maint(&["provision"]).assert().success();
    project.maint(&["provision"]).assert().success();

    let oacs = cf.list_origin_access_controls().send().await.unwrap();
    assert_eq!(oacs.origin_access_control_list().unwrap().items().len(), 1);
    the_distribution(&cf).await;
    let buckets = s3.list_buckets().send().await.unwrap();
    assert_eq!(buckets.buckets().len(), 1);
    assert!(
        s3.get_bucket_policy()
            .bucket("acme-maint-it")
            .send()
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn provision_waits_for_deployment_with_progress() {
    let emulator = Emulator::start();
    // Reads made while applying and verifying count too: leave some for the wait.
    emulator.slow_deployments(8);
    let project = Project::new(CONFIG).against(&emulator);
    let output = project.maint(&["provision"]).output().unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    let progress = stderr_of(&output);
    assert!(progress.contains(": InProgress"), "{progress}");
    assert!(progress.contains(": Deployed"), "{progress}");
    assert!(stdout_of(&output).contains("is live"));
}

#[tokio::test]
async fn set_message_uploads_only_when_the_page_changes() {
    let emulator = Emulator::start();
    let project = provisioned(&emulator);
    emulator.clear_requests();
    let output = project
        .maint(&[
            "set-message",
            "--message",
            "Back at <b>14:00</b> UTC & \"soon\"",
        ])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    // The account check before any write (the HEAD may run beside it),
    // then one HEAD and one PUT.
    account_checked_before_writing(&emulator);
    let requests = emulator.aws_calls();
    assert_eq!(requests.len(), 2, "one HEAD and one PUT: {requests:?}");
    assert!(
        requests[0].starts_with("HEAD ") && requests[1].starts_with("PUT "),
        "{requests:?}"
    );

    let s3 = emulator.s3("eu-west-1").await;
    let object = s3
        .get_object()
        .bucket("acme-maint-it")
        .key("maintenance.html")
        .send()
        .await
        .unwrap();
    assert_eq!(object.content_type(), Some("text/html; charset=utf-8"));
    let body = String::from_utf8(object.body.collect().await.unwrap().to_vec()).unwrap();
    assert!(
        body.contains("Back at &lt;b&gt;14:00&lt;&#x2f;b&gt; UTC &amp; &quot;soon&quot;"),
        "{body}"
    );

    emulator.clear_requests();
    let again = project
        .maint(&[
            "set-message",
            "--message",
            "Back at <b>14:00</b> UTC & \"soon\"",
        ])
        .output()
        .unwrap();
    assert!(stdout_of(&again).contains("already up to date"));
    let requests = emulator.aws_calls();
    assert_eq!(requests.len(), 1, "one read: {requests:?}");
    assert!(requests[0].starts_with("HEAD "));

    // The live message survives a provision, and status shows it.
    project.maint(&["provision"]).assert().success();
    assert_eq!(
        page_message(&project),
        "Back at <b>14:00</b> UTC & \"soon\""
    );
}

#[tokio::test]
async fn set_message_from_a_file_with_invalidation() {
    let emulator = Emulator::start();
    let project = provisioned(&emulator);
    std::fs::write(project.path("message.txt"), "Upgrading the database.\n").unwrap();
    emulator.clear_requests();
    let output = project
        .maint(&[
            "set-message",
            "--file",
            "message.txt",
            "--invalidate",
            "--wait",
            "--url",
            &emulator.url,
        ])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert!(stdout_of(&output).contains("Invalidation"));
    assert!(stderr_of(&output).contains("serves the new page"));
    // One read of the page, one check of the distribution it records, the
    // upload and the invalidation; then only the invalidation is asked
    // about: the wait for the live site knows the page and the domain.
    let calls = emulator.aws_calls();
    let started = calls
        .iter()
        .position(|c| c.starts_with("POST ") && c.ends_with("/invalidation"))
        .unwrap_or_else(|| panic!("no invalidation: {calls:?}"));
    let (before, after) = calls.split_at(started + 1);
    assert_eq!(before.len(), 4, "{before:?}");
    assert!(
        after
            .iter()
            .all(|c| c.starts_with("GET ") && c.contains("/invalidation/")),
        "the wait learned again what set-message knew: {after:?}"
    );
    let cf = emulator.cloudfront().await;
    let summary = the_distribution(&cf).await;
    let list = cf
        .list_invalidations()
        .distribution_id(summary.id())
        .send()
        .await
        .unwrap();
    let items = list.invalidation_list().unwrap().items();
    assert_eq!(items.len(), 1);
    assert!(items[0].status().eq_ignore_ascii_case("completed"));
}

#[tokio::test]
async fn json_format_gets_a_json_body() {
    let emulator = Emulator::start();
    let config = "environments:\n  api:\n    region: us-east-1\n    bucket: acme-maint-api\n    format: json\n";
    let project = Project::new(config).against(&emulator);
    project
        .maint(&["provision", "--no-wait"])
        .assert()
        .success();
    project
        .maint(&["set-message", "-m", "Line \"one\"\nline two"])
        .assert()
        .success();
    let s3 = emulator.s3("us-east-1").await;
    let object = s3
        .get_object()
        .bucket("acme-maint-api")
        .key("maintenance.json")
        .send()
        .await
        .unwrap();
    assert_eq!(object.content_type(), Some("application/json"));
    let body: Value =
        serde_json::from_slice(&object.body.collect().await.unwrap().to_vec()).unwrap();
    assert_eq!(body["message"], "Line \"one\"\nline two");
    assert_eq!(body["status"], 503);
}

#[tokio::test]
async fn invalidate_validates_paths_then_waits() {
    let emulator = Emulator::start();
    let project = provisioned(&emulator);
    emulator.clear_requests();
    let bad = project
        .maint(&["invalidate", "--path", "index.html"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(stderr_of(&bad).contains("must start with `/`"));
    assert!(emulator.requests().is_empty(), "no AWS call for bad input");

    emulator.slow_invalidations(3.0);
    let output = project
        .maint(&[
            "invalidate",
            "--path",
            "/*",
            "--path",
            "/maintenance.html",
            "--wait",
        ])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert!(stdout_of(&output).contains("completed"));
    // Without a terminal the wait says where it is: InProgress, then Completed.
    let stderr = stderr_of(&output);
    let progress = stderr.find(": InProgress (0 s)").expect(&stderr);
    assert!(stderr[progress..].contains(": Completed ("), "{stderr}");
    // It polled while the invalidation was in progress (about once a
    // second), and stopped once it was Completed.
    let polls = emulator
        .requests()
        .iter()
        .filter(|r| r.starts_with("GET ") && r.contains("/invalidation/"))
        .count();
    assert!((3..=6).contains(&polls), "{polls} polls over 3 s");
}

fn listings(emulator: &Emulator) -> usize {
    emulator.listings().len()
}

async fn page_metadata(emulator: &Emulator) -> std::collections::HashMap<String, String> {
    let s3 = emulator.s3("eu-west-1").await;
    let head = s3
        .head_object()
        .bucket("acme-maint-it")
        .key("maintenance.html")
        .send()
        .await
        .unwrap();
    head.metadata().cloned().unwrap_or_default()
}

/// The page's message, as `status --output json` reports it.
fn page_message(project: &Project) -> Value {
    let status = project
        .maint(&["status", "--output", "json"])
        .output()
        .unwrap();
    let status: Value = serde_json::from_slice(&status.stdout).unwrap();
    status["site"]["page"]["message"].clone()
}

/// Provisions a second site beside the first (whose distribution is `id`)
/// and returns its distribution's id.
async fn another_sites_distribution(
    emulator: &Emulator,
    cf: &aws_sdk_cloudfront::Client,
    id: &str,
) -> String {
    Project::new(&CONFIG.replace("acme-maint-it", "acme-other-it"))
        .against(emulator)
        .maint(&["provision"])
        .assert()
        .success();
    let list = cf.list_distributions().send().await.unwrap();
    list.distribution_list()
        .unwrap()
        .items()
        .iter()
        .map(|d| d.id().to_string())
        .find(|d| d != id)
        .unwrap()
}

/// Rewrites the page's record as someone else (or an older maint) might.
async fn set_page_record(emulator: &Emulator, record: Option<&str>) {
    emulator
        .rewrite_metadata("eu-west-1", "acme-maint-it", "maintenance.html", |m| {
            match record {
                Some(id) => m.insert("maint-distribution".into(), id.into()),
                None => m.remove("maint-distribution"),
            };
        })
        .await;
}

#[tokio::test]
async fn commands_find_the_distribution_by_the_pages_record_not_by_listing() {
    let emulator = Emulator::start();
    let project = provisioned(&emulator);
    let cf = emulator.cloudfront().await;
    let id = the_distribution(&cf).await.id().to_string();
    assert_eq!(page_metadata(&emulator).await["maint-distribution"], id);

    emulator.clear_requests();
    project.maint(&["invalidate"]).assert().success();
    account_checked_before_writing(&emulator);
    let requests = emulator.aws_calls();
    assert_eq!(
        requests,
        [
            "HEAD /acme-maint-it/maintenance.html".to_string(),
            format!("GET /2020-05-31/distribution/{id}"),
            format!("POST /2020-05-31/distribution/{id}/invalidation"),
        ],
        "one HeadObject, one GetDistribution, one CreateInvalidation"
    );

    emulator.clear_requests();
    project
        .maint(&["set-message", "--message", "Back at ten.", "--invalidate"])
        .assert()
        .success();
    project.maint(&["status"]).assert().success();
    assert_eq!(listings(&emulator), 0, "{:?}", emulator.aws_calls());
    // The new page keeps the record.
    assert_eq!(page_metadata(&emulator).await["maint-distribution"], id);
    let invalidations = cf
        .list_invalidations()
        .distribution_id(&id)
        .send()
        .await
        .unwrap();
    assert_eq!(invalidations.invalidation_list().unwrap().quantity(), 2);
}

#[tokio::test]
async fn set_message_uploads_while_it_checks_the_pages_record() {
    let emulator = Emulator::start();
    let project = provisioned(&emulator);
    let cf = emulator.cloudfront().await;
    let id = the_distribution(&cf).await.id().to_string();
    // The check of the record and the upload wait for each other at the
    // emulator: they meet only if both are in flight at once (one round
    // trip, not two), whichever arrives first.
    emulator.pair(
        "GET",
        "/2020-05-31/distribution/[A-Z0-9]+",
        "PUT",
        "/acme-maint-it/maintenance.html",
    );
    emulator.clear_requests();
    project
        .maint(&["set-message", "--message", "Back at ten.", "--invalidate"])
        .assert()
        .success();
    assert_eq!(emulator.holds(), ["met"]);
    account_checked_before_writing(&emulator);
    let mut calls = emulator.aws_calls();
    calls[1..3].sort();
    assert_eq!(
        calls,
        [
            "HEAD /acme-maint-it/maintenance.html".to_string(),
            format!("GET /2020-05-31/distribution/{id}"),
            "PUT /acme-maint-it/maintenance.html?x-id=PutObject".to_string(),
            format!("POST /2020-05-31/distribution/{id}/invalidation"),
        ]
    );
    assert_eq!(page_metadata(&emulator).await["maint-distribution"], id);

    // A stale record (another site's distribution): the site's own
    // distribution is invalidated and the page is uploaded again with it.
    let other = another_sites_distribution(&emulator, &cf, &id).await;
    set_page_record(&emulator, Some(&other)).await;
    emulator.clear_requests();
    project
        .maint(&[
            "set-message",
            "--message",
            "Back at eleven.",
            "--invalidate",
        ])
        .assert()
        .success();
    let writes = emulator.writes();
    assert_eq!(
        writes,
        [
            "PUT /acme-maint-it/maintenance.html?x-id=PutObject".to_string(),
            "PUT /acme-maint-it/maintenance.html?x-id=PutObject".to_string(),
            format!("POST /2020-05-31/distribution/{id}/invalidation"),
        ],
        "never the recorded distribution"
    );
    assert_eq!(page_metadata(&emulator).await["maint-distribution"], id);
}

#[tokio::test]
async fn set_message_says_the_page_changed_when_the_distribution_is_gone() {
    let emulator = Emulator::start();
    let project = provisioned(&emulator);
    let cf = emulator.cloudfront().await;
    let id = the_distribution(&cf).await.id().to_string();
    // Somebody renamed the distribution's comment: it is no longer the
    // site's, by the record's check or by the listing.
    let config = cf.get_distribution_config().id(&id).send().await.unwrap();
    let etag = config.e_tag().unwrap().to_string();
    let mut changed = config.distribution_config().unwrap().clone();
    changed.comment = "hand-made".to_string();
    cf.update_distribution()
        .id(&id)
        .if_match(etag)
        .distribution_config(changed)
        .send()
        .await
        .unwrap();
    emulator.clear_requests();
    let out = project
        .maint(&["set-message", "--message", "Back at noon.", "--invalidate"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    let err = stderr_of(&out);
    assert!(
        err.contains(
            "s3://acme-maint-it/maintenance.html was updated, but no invalidation was made"
        ) && err.contains("run `maint provision` first"),
        "{err}"
    );
    assert_eq!(err.matches("maint:").count(), 1, "one message: {err}");
    assert!(!emulator.writes().iter().any(|w| w.contains("invalidation")));
    assert_eq!(page_message(&project), "Back at noon.");
}

#[tokio::test]
async fn a_missing_or_stale_record_falls_back_to_the_listing_and_provision_repairs_it() {
    let emulator = Emulator::start();
    let project = provisioned(&emulator);
    let cf = emulator.cloudfront().await;
    let id = the_distribution(&cf).await.id().to_string();
    // Gone, never a distribution id, another site's distribution, none.
    let other = another_sites_distribution(&emulator, &cf, &id).await;
    for record in [
        Some("E0GONE000000"),
        Some("../x"),
        Some(other.as_str()),
        None,
    ] {
        set_page_record(&emulator, record).await;
        emulator.clear_requests();
        project.maint(&["invalidate"]).assert().success();
        assert_eq!(
            listings(&emulator),
            1,
            "{record:?}: {:?}",
            emulator.aws_calls()
        );
        let created: Vec<_> = emulator
            .aws_calls()
            .into_iter()
            .filter(|r| r.starts_with("POST "))
            .collect();
        assert_eq!(
            created,
            [format!("POST /2020-05-31/distribution/{id}/invalidation")],
            "{record:?}: the site's own distribution, never the recorded one"
        );
    }
    // The missing record is housekeeping, not drift: status and a dry run
    // with --exit-code say the environment matches the config (a page
    // written by an older maint must not fail a CI drift check)...
    project.maint(&["status", "--exit-code"]).assert().success();
    let plan = project
        .maint(&["provision", "--dry-run", "--exit-code"])
        .output()
        .unwrap();
    assert!(plan.status.success(), "{}", stderr_of(&plan));
    // ...and provision still plans and writes it.
    assert!(
        stdout_of(&plan).contains(&format!("record distribution {id} in the metadata")),
        "{}",
        stdout_of(&plan)
    );
    project.maint(&["provision"]).assert().success();
    assert_eq!(page_metadata(&emulator).await["maint-distribution"], id);
    emulator.clear_requests();
    project.maint(&["invalidate"]).assert().success();
    assert_eq!(listings(&emulator), 0, "{:?}", emulator.aws_calls());
}

#[tokio::test]
async fn destroy_asks_first_then_removes_everything() {
    let emulator = Emulator::start();
    let project = provisioned(&emulator);
    let s3 = emulator.s3("eu-west-1").await;
    let cf = emulator.cloudfront().await;

    emulator.clear_requests();
    let refused = project.maint(&["destroy"]).output().unwrap();
    assert!(!refused.status.success());
    assert!(stderr_of(&refused).contains("pass --yes"));
    assert_eq!(emulator.writes(), Vec::<String>::new());

    let output = project.maint(&["destroy", "--yes"]).output().unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert!(
        s3.head_bucket()
            .bucket("acme-maint-it")
            .send()
            .await
            .is_err()
    );
    let list = cf.list_distributions().send().await.unwrap();
    assert!(list.distribution_list().unwrap().items().is_empty());
    let oacs = cf.list_origin_access_controls().send().await.unwrap();
    assert!(
        oacs.origin_access_control_list()
            .unwrap()
            .items()
            .is_empty()
    );

    let again = project.maint(&["destroy", "--yes"]).output().unwrap();
    assert!(again.status.success());
    assert!(stdout_of(&again).contains("Nothing to destroy"));
}

#[tokio::test]
async fn destroy_on_a_terminal_deletes_only_after_the_name_is_typed() {
    let emulator = Emulator::start();
    let project = provisioned(&emulator);
    let s3 = emulator.s3("eu-west-1").await;

    emulator.clear_requests();
    let wrong = project.maint_in_terminal(&["destroy"], "prod\n");
    assert_eq!(wrong.status.code(), Some(1));
    let shown = stdout_of(&wrong);
    assert!(
        shown.contains("Type the environment name to confirm"),
        "{shown}"
    );
    assert!(
        shown.contains("not confirmed: nothing was deleted"),
        "{shown}"
    );
    assert_eq!(emulator.writes(), Vec::<String>::new());

    let right = project.maint_in_terminal(&["destroy"], "staging\n");
    assert!(right.status.success(), "{}", stdout_of(&right));
    assert!(
        s3.head_bucket()
            .bucket("acme-maint-it")
            .send()
            .await
            .is_err()
    );
}

#[tokio::test]
async fn destroy_never_deletes_objects_maint_did_not_create() {
    let emulator = Emulator::start();
    let project = provisioned(&emulator);
    let s3 = emulator.s3("eu-west-1").await;
    s3.put_object()
        .bucket("acme-maint-it")
        .key("keep-me.txt")
        .body(aws_sdk_s3::primitives::ByteStream::from_static(b"mine"))
        .send()
        .await
        .unwrap();
    emulator.clear_requests();
    let output = project.maint(&["destroy", "--yes"]).output().unwrap();
    assert!(!output.status.success());
    assert!(
        stderr_of(&output).contains("keep-me.txt"),
        "{}",
        stderr_of(&output)
    );
    // Found before anything was deleted: not half a destroy.
    assert_eq!(emulator.writes(), Vec::<String>::new());
    let cf = emulator.cloudfront().await;
    the_distribution(&cf).await;
    assert!(
        s3.head_object()
            .bucket("acme-maint-it")
            .key("keep-me.txt")
            .send()
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn a_create_whose_answer_was_lost_is_found_again_not_blamed_on_the_user() {
    // CreateDistribution succeeds, its answer is lost, the SDK retries and
    // AWS answers DistributionAlreadyExists (the CallerReference is taken):
    // the distribution is maint's own, so provision goes on with it. The
    // same for the origin access control (OriginAccessControlAlreadyExists).
    let emulator = Emulator::start();
    let project = Project::new(CONFIG).against(&emulator);
    emulator.lose_next_answer("POST", "/2020-05-31/origin-access-control");
    emulator.lose_next_answer("POST", "/2020-05-31/distribution");
    let output = project.maint(&["provision"]).output().unwrap();
    let stderr = stderr_of(&output);
    assert!(output.status.success(), "{stderr}");
    assert!(!stderr.contains("delete"), "{stderr}");
    let cf = emulator.cloudfront().await;
    the_distribution(&cf).await;
    let oacs = cf.list_origin_access_controls().send().await.unwrap();
    assert_eq!(oacs.origin_access_control_list().unwrap().items().len(), 1);
    // And it has converged.
    emulator.clear_requests();
    project.maint(&["provision"]).assert().success();
    assert_eq!(emulator.writes(), Vec::<String>::new());
}

#[tokio::test]
async fn an_invalidation_whose_answer_was_lost_is_made_once() {
    // CreateInvalidation takes effect, its answer is lost, and the SDK sends
    // the same request again: the same CallerReference, so CloudFront (and
    // now the emulator) returns the invalidation made the first time.
    let emulator = Emulator::start();
    let project = provisioned(&emulator);
    let cf = emulator.cloudfront().await;
    let id = the_distribution(&cf).await.id().to_string();
    emulator.lose_next_answer("POST", "/2020-05-31/distribution/[A-Z0-9]+/invalidation");
    let output = project
        .maint(&["invalidate", "--output", "json"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let list = cf
        .list_invalidations()
        .distribution_id(&id)
        .send()
        .await
        .unwrap();
    let items = list.invalidation_list().unwrap().items();
    assert_eq!(items.len(), 1, "one invalidation, not one per attempt");
    assert_eq!(report["invalidation_id"], items[0].id());
    // Both attempts reached the emulator.
    let posts = emulator
        .requests()
        .iter()
        .filter(|r| r.starts_with("POST ") && r.ends_with("/invalidation"))
        .count();
    assert_eq!(posts, 2);
}

#[tokio::test]
async fn two_provisions_at_once_end_with_one_site_and_no_bad_advice() {
    // Both plan to create everything; one wins each create, the other meets
    // "already exists" for its own resource and must go on with it.
    let emulator = Emulator::start();
    let project = Project::new(CONFIG).against(&emulator);
    let spawn = |mut cmd: std::process::Command| std::thread::spawn(move || cmd.output().unwrap());
    let a = spawn(project.command(&["provision"]));
    let b = spawn(project.command(&["provision"]));
    let (a, b) = (a.join().unwrap(), b.join().unwrap());
    for output in [&a, &b] {
        let stderr = stderr_of(output);
        assert!(!stderr.contains("delete"), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    assert!(
        a.status.success() || b.status.success(),
        "{}\n{}",
        stderr_of(&a),
        stderr_of(&b)
    );
    let cf = emulator.cloudfront().await;
    the_distribution(&cf).await;
    let oacs = cf.list_origin_access_controls().send().await.unwrap();
    assert_eq!(oacs.origin_access_control_list().unwrap().items().len(), 1);
    // Whatever each said, a third run finds it converged.
    emulator.clear_requests();
    project.maint(&["provision"]).assert().success();
    assert_eq!(emulator.writes(), Vec::<String>::new());
}

#[tokio::test]
async fn the_longest_bucket_name_fits_every_aws_name_limit() {
    // 63 characters: `maint-BUCKET` would exceed the OAC name limit of 64,
    // which the emulator enforces as AWS does.
    let bucket = format!("acme-{}", "m".repeat(58));
    assert_eq!(bucket.len(), 63);
    let emulator = Emulator::start();
    let project = Project::new(&format!(
        "environments:\n  staging:\n    region: eu-west-1\n    bucket: {bucket}\n"
    ))
    .against(&emulator);
    let output = project.maint(&["provision"]).output().unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    let cf = emulator.cloudfront().await;
    let oacs = cf.list_origin_access_controls().send().await.unwrap();
    let oacs = oacs.origin_access_control_list().unwrap().items().to_vec();
    assert_eq!(oacs.len(), 1);
    assert!(oacs[0].name().len() <= 64, "{}", oacs[0].name());
    emulator.clear_requests();
    project.maint(&["provision"]).assert().success();
    assert_eq!(emulator.writes(), Vec::<String>::new());
}

#[tokio::test]
async fn a_distribution_whose_comment_was_changed_is_never_called_deletable() {
    let emulator = Emulator::start();
    let project = provisioned(&emulator);
    let cf = emulator.cloudfront().await;
    // Someone renames maint's distribution by hand.
    let summary = the_distribution(&cf).await;
    let current = cf
        .get_distribution_config()
        .id(summary.id())
        .send()
        .await
        .unwrap();
    let mut config = current.distribution_config().unwrap().clone();
    config.comment = "the old maintenance site".into();
    cf.update_distribution()
        .id(summary.id())
        .if_match(current.e_tag().unwrap())
        .distribution_config(config)
        .send()
        .await
        .unwrap();
    let output = project.maint(&["provision"]).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = stderr_of(&output);
    assert!(
        stderr.contains("maint-site-acme-maint-it")
            && stderr.contains("set its comment back to \"maint site mode: acme-maint-it\""),
        "{stderr}"
    );
    assert!(!stderr.contains("delete"), "{stderr}");
    // Still the one distribution.
    the_distribution(&cf).await;
}

#[tokio::test]
async fn status_shows_control_characters_from_aws_as_escapes() {
    // Anyone with s3:PutObject can write the page's metadata; status must
    // not let an escape sequence in it act on the operator's terminal.
    let emulator = Emulator::start();
    let project = provisioned(&emulator);
    let s3 = emulator.s3("eu-west-1").await;
    s3.put_object()
        .bucket("acme-maint-it")
        .key("maintenance.html")
        .body(b"<p>hi</p>".to_vec().into())
        .content_type("text/html; charset=utf-8")
        // base64("evil \x1b]0;pwned\x07 done")
        .metadata("maint-message", "ZXZpbCAbXTA7cHduZWQHIGRvbmU=")
        .send()
        .await
        .unwrap();
    let output = project.maint(&["status"]).output().unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    let stdout = stdout_of(&output);
    assert!(
        !stdout.contains('\u{1b}') && !stdout.contains('\u{7}'),
        "{stdout:?}"
    );
    assert!(
        stdout.contains("evil \\u{1b}]0;pwned\\u{7} done"),
        "{stdout}"
    );
}

#[tokio::test]
async fn changing_commands_show_the_account_and_refuse_another() {
    let emulator = Emulator::start();
    // The emulator's account is 123456789012.
    let right =
        Project::new(&format!("{CONFIG}    account_id: \"123456789012\"\n")).against(&emulator);
    let output = right.maint(&["provision", "--dry-run"]).output().unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert!(
        stderr_of(&output).contains("AWS account 123456789012 (arn:aws:")
            && stderr_of(&output).contains("as the config says"),
        "{}",
        stderr_of(&output)
    );
    let wrong =
        Project::new(&format!("{CONFIG}    account_id: \"210987654321\"\n")).against(&emulator);
    for args in [
        &["provision"][..],
        &["set-message", "-m", "hi"][..],
        &["invalidate"][..],
        &["destroy", "--yes"][..],
    ] {
        emulator.clear_requests();
        let output = wrong.maint(args).output().unwrap();
        assert_eq!(output.status.code(), Some(1), "{args:?}");
        let stderr = stderr_of(&output);
        assert!(
            stderr.contains("are for AWS account 123456789012")
                && stderr.contains("is in account 210987654321")
                && stderr.contains("nothing was changed"),
            "{stderr}"
        );
        // Nothing was written: the account check, and at most the read of
        // the page made while it was asked.
        let requests = emulator.requests();
        assert!(requests.contains(&IDENTITY.to_string()), "{args:?}");
        assert!(
            requests
                .iter()
                .all(|r| r == IDENTITY || r == "HEAD /acme-maint-it/maintenance.html"),
            "{args:?}: {requests:?}"
        );
    }
}

#[tokio::test]
async fn provision_never_undoes_a_message_set_while_it_writes_the_page() {
    let emulator = Emulator::start();
    let project = provisioned(&emulator);
    let cf = emulator.cloudfront().await;
    let id = the_distribution(&cf).await.id().to_string();
    // Without its record, provision plans to write the page again.
    set_page_record(&emulator, None).await;
    // Its conditional upload is held until another upload of the page
    // arrives: a set-message run between provision's read and its write.
    emulator.hold_until(
        "PUT",
        "/acme-maint-it/maintenance.html",
        "PUT",
        "/acme-maint-it/maintenance.html",
    );
    emulator.clear_requests();
    let mut provision = project.command(&["provision"]);
    let provision = std::thread::spawn(move || provision.output().unwrap());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !emulator
        .requests()
        .iter()
        .any(|r| r.starts_with("PUT /acme-maint-it/maintenance.html"))
    {
        assert!(
            std::time::Instant::now() < deadline,
            "provision never wrote the page"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    project
        .maint(&["set-message", "--message", "Written meanwhile."])
        .assert()
        .success();
    let provision = provision.join().unwrap();
    assert!(provision.status.success(), "{}", stderr_of(&provision));
    assert_eq!(emulator.holds(), ["released"]);
    // provision's first write was refused (412), it read the page again and
    // wrote it with the message it found: three uploads in all.
    let uploads = emulator
        .requests()
        .iter()
        .filter(|r| r.starts_with("PUT /acme-maint-it/maintenance.html"))
        .count();
    assert_eq!(uploads, 3, "{:?}", emulator.requests());
    assert_eq!(page_message(&project), "Written meanwhile.");
    assert_eq!(page_metadata(&emulator).await["maint-distribution"], id);
}

#[tokio::test]
async fn the_page_is_sse_s3_even_in_a_bucket_that_defaults_to_kms() {
    // CloudFront's OAC cannot read an object encrypted with the AWS-managed
    // aws/s3 KMS key: the page must be SSE-S3 whatever the bucket's default.
    use aws_sdk_s3::types::{
        ServerSideEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration,
        ServerSideEncryptionRule,
    };
    let emulator = Emulator::start();
    let project = provisioned(&emulator);
    let s3 = emulator.s3("eu-west-1").await;
    let kms = ServerSideEncryptionConfiguration::builder()
        .rules(
            ServerSideEncryptionRule::builder()
                .apply_server_side_encryption_by_default(
                    ServerSideEncryptionByDefault::builder()
                        .sse_algorithm(ServerSideEncryption::AwsKms)
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .build()
        .unwrap();
    s3.put_bucket_encryption()
        .bucket("acme-maint-it")
        .server_side_encryption_configuration(kms)
        .send()
        .await
        .unwrap();
    // A page an older maint wrote under that default: KMS-encrypted.
    s3.copy_object()
        .bucket("acme-maint-it")
        .key("maintenance.html")
        .copy_source("acme-maint-it/maintenance.html")
        .server_side_encryption(ServerSideEncryption::AwsKms)
        .send()
        .await
        .unwrap();
    let sse = |head: aws_sdk_s3::operation::head_object::HeadObjectOutput| {
        head.server_side_encryption().cloned()
    };
    let head = || {
        s3.head_object()
            .bucket("acme-maint-it")
            .key("maintenance.html")
            .send()
    };
    assert_eq!(
        sse(head().await.unwrap()),
        Some(ServerSideEncryption::AwsKms)
    );
    // status calls it drift, and provision writes the page again.
    let status = project.maint(&["status", "--exit-code"]).output().unwrap();
    assert_eq!(status.status.code(), Some(3), "{}", stdout_of(&status));
    project.maint(&["provision"]).assert().success();
    assert_eq!(
        sse(head().await.unwrap()),
        Some(ServerSideEncryption::Aes256)
    );
    project
        .maint(&[
            "set-message",
            "--message",
            "Encrypted as CloudFront can read it.",
        ])
        .assert()
        .success();
    let head = s3
        .head_object()
        .bucket("acme-maint-it")
        .key("maintenance.html")
        .send()
        .await
        .unwrap();
    assert_eq!(
        head.server_side_encryption(),
        Some(&ServerSideEncryption::Aes256)
    );
}
