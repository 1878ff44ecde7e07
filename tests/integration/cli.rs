//! The real binary, without AWS: help that teaches, bad input that gets one
//! clear message and a non-zero exit before any AWS call, init, and preview.

use crate::support;

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};

use predicates::prelude::*;
use support::{Project, Test, http, http_with, stderr_of};

/// An endpoint where nothing listens: any AWS call would fail differently.
const DEAD_ENDPOINT: &str = "http://127.0.0.1:9";

const SMALLEST: &str =
    "environments:\n  staging:\n    region: us-east-1\n    bucket: acme-maintenance-staging\n";

#[test]
fn help_lists_every_command_and_teaches_the_flow() {
    Test::new()
        .args(&["--help"])
        .stdout("maint provision --dry-run")
        .stdout("set-message")
        .stdout("invalidate")
        .stdout("destroy")
        .stdout("preview")
        .stdout("attach")
        .stdout("--endpoint-url")
        .stdout("--timeout")
        .run();
    Test::new()
        .args(&["destroy", "--help"])
        .stdout("without one it refuses unless --yes")
        .run();
}

#[test]
fn global_flags_work_after_the_subcommand() {
    Test::new()
        .config(SMALLEST)
        .args(&["provision", "--config", "missing.yaml"])
        .no_aws_call()
        .status(2)
        .stderr("missing.yaml not found")
        .stderr("maint init")
        .run();
}

#[test]
fn a_bad_bucket_name_is_reported_with_its_line() {
    Test::new()
        .config("environments:\n  staging:\n    region: us-east-1\n    bucket: Acme_Site\n")
        .args(&["provision"])
        .no_aws_call()
        .status(2)
        .stderr("maint.yaml: environments.staging.bucket")
        .stderr("line 4")
        .stderr("invalid bucket name `Acme_Site`")
        .run();
}

#[test]
fn unknown_keys_and_bad_values_are_reported_with_their_line() {
    Test::new()
        .config("environments:\n  staging:\n    region: us-east-1\n    bucket: acme-maint\n    pirce_class: PriceClass_All\n")
        .args(&["status"])
        .no_aws_call()
        .status(2)
        .stderr("unknown field `pirce_class`")
        .stderr("line 5")
        .stderr("expected one of")
        .run();
    Test::new()
        .config("environments:\n  staging:\n    region: us-east-1\n    bucket: acme-maint\n    page_max_age: -5\n")
        .args(&["status"])
        .no_aws_call()
        .status(2)
        .stderr("line 5")
        .stderr("0 to 31536000")
        .run();
    Test::new()
        .config("environments:\n  staging:\n    region: moon-base-one\n    bucket: acme-maint\n")
        .args(&["status"])
        .no_aws_call()
        .status(2)
        .stderr("line 3")
        .stderr("invalid region `moon-base-one`")
        .run();
}

#[test]
fn a_region_aws_does_not_have_is_refused_naming_the_real_ones() {
    // The emulator takes any name, and AWS would fail only at DNS.
    Test::new()
        .config("environments:\n  staging:\n    region: mars-north-1\n    bucket: acme-maint\n")
        .args(&["provision", "--dry-run"])
        .no_aws_call()
        .status(2)
        .stderr("line 3")
        .stderr("invalid region `mars-north-1`: AWS has no region of that name")
        .stderr("eu-west-1")
        .run();
    Test::new()
        .config(SMALLEST)
        .args(&["provision", "--dry-run", "--region", "mars-north-1"])
        .no_aws_call()
        .status(2)
        .stderr("--region")
        .stderr("invalid region `mars-north-1`")
        .run();
}

#[test]
fn an_alias_needs_a_us_east_1_certificate() {
    Test::new()
        .config("environments:\n  p:\n    region: eu-west-1\n    bucket: acme-maint\n    aliases: [down.example.com]\n    certificate_arn: arn:aws:acm:eu-west-1:123456789012:certificate/abc\n")
        .args(&["provision"])
        .no_aws_call()
        .status(2)
        .stderr("line 6")
        .stderr("only uses ACM certificates from us-east-1")
        .run();
}

#[test]
fn several_environments_need_env() {
    Test::new()
        .config("environments:\n  a:\n    region: us-east-1\n    bucket: acme-a\n  b:\n    region: us-east-1\n    bucket: acme-b\n")
        .args(&["status"])
        .no_aws_call()
        .status(2)
        .stderr("has 2 environments (a, b)")
        .stderr("--env")
        .run();
}

#[test]
fn a_message_that_cannot_fit_is_refused() {
    let long = "x".repeat(2000);
    Test::new()
        .config(SMALLEST)
        .args(&["set-message", "--message", &long])
        .no_aws_call()
        .status(2)
        .stderr("2000 bytes")
        .stderr("at most 1024")
        .run();
    Test::new()
        .config(SMALLEST)
        .args(&["set-message", "--message", "  "])
        .no_aws_call()
        .status(2)
        .stderr("the message is empty")
        .run();
}

#[test]
fn a_broken_template_is_refused_before_any_call() {
    Test::new()
        .config("environments:\n  s:\n    region: us-east-1\n    bucket: acme-maint\n    template: page.html\n")
        .file("page.html", "<p>{{ mesage }}</p>")
        .args(&["provision"])
        .no_aws_call()
        .status(2)
        .stderr("page.html does not render")
        .run();
}

#[test]
fn missing_credentials_get_a_clear_message() {
    Test::new()
        .config(SMALLEST)
        .args(&["status"])
        .env("AWS_ENDPOINT_URL", DEAD_ENDPOINT)
        .status(1)
        .stderr("no AWS credentials found")
        .stderr("aws sso login")
        .run();
}

#[test]
fn init_writes_a_loadable_config_and_never_overwrites() {
    let project = Project::new(SMALLEST);
    std::fs::remove_file(project.path("maint.yaml")).unwrap();
    project
        .maint(&["init", "--bucket", "acme-maint-new", "--name", "prod"])
        .assert()
        .success()
        .stdout(predicate::str::contains("wrote maint.yaml"));
    let written = std::fs::read_to_string(project.path("maint.yaml")).unwrap();
    assert!(written.contains("bucket: acme-maint-new"));
    assert!(project.path("templates/maintenance.html").exists());
    assert!(project.path("templates/maintenance.json").exists());

    std::fs::write(
        project.path("templates/maintenance.html"),
        "<p>{{ message }}</p>",
    )
    .unwrap();
    project
        .maint(&["init", "--bucket", "other-bucket"])
        .assert()
        .success()
        .stdout(predicate::str::contains("kept maint.yaml"));
    assert_eq!(
        std::fs::read_to_string(project.path("maint.yaml")).unwrap(),
        written
    );
    assert_eq!(
        std::fs::read_to_string(project.path("templates/maintenance.html")).unwrap(),
        "<p>{{ message }}</p>"
    );
    // The written config is valid: dry-run of preview-free commands parses it.
    project
        .maint(&["--env", "prod", "status"])
        .env("AWS_ENDPOINT_URL", DEAD_ENDPOINT)
        .assert()
        .failure()
        .stderr(predicate::str::contains("no AWS credentials found"));
}

#[test]
fn preview_answers_every_path_and_method_with_the_503_page() {
    let project = Project::new(SMALLEST);
    let mut child = Command::new(assert_cmd::cargo::cargo_bin!("maint"))
        .current_dir(project.dir.path())
        .args(["preview", "--port", "0", "--message", "Back at <noon>"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut url = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut url)
        .unwrap();
    let port: u16 = url
        .trim()
        .trim_start_matches("http://127.0.0.1:")
        .trim_end_matches('/')
        .parse()
        .unwrap();
    for (method, path) in [
        ("GET", "/"),
        ("POST", "/api/orders"),
        ("DELETE", "/x/y?z=1"),
        ("HEAD", "/"),
    ] {
        let (status, head, body) = http(port, method, path, "").expect("preview answers");
        assert_eq!(status, 503, "{method} {path}");
        assert!(
            head.to_ascii_lowercase()
                .contains("content-type: text/html; charset=utf-8"),
            "{head}"
        );
        assert!(
            head.to_ascii_lowercase()
                .contains("cache-control: public, max-age=30"),
            "{head}"
        );
        if method != "HEAD" {
            assert!(body.contains("Back at &lt;noon&gt;"), "{body}");
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
}

/// A listener that accepts connections and never answers; counts them.
fn hanging_endpoint_counted() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = count.clone();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            held.push(stream);
        }
    });
    (url, count)
}

fn hanging_endpoint() -> String {
    hanging_endpoint_counted().0
}

#[test]
fn an_endpoint_that_never_answers_fails_within_the_deadline_naming_the_call() {
    let project = Project::new(SMALLEST);
    let endpoint = hanging_endpoint();
    for args in [&["status"][..], &["provision"][..]] {
        let output = project
            .maint(&[args, &["--timeout", "3s"]].concat())
            .env("AWS_ENDPOINT_URL", &endpoint)
            .env("AWS_ACCESS_KEY_ID", "x")
            .env("AWS_SECRET_ACCESS_KEY", "y")
            // The test fails, rather than hangs, if maint does.
            .timeout(std::time::Duration::from_secs(60))
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(1), "{output:?}");
        let stderr = stderr_of(&output);
        assert!(
            stderr.starts_with("maint: gave up after 3s (--timeout) while "),
            "{stderr}"
        );
        assert!(
            stderr.contains("S3 ") || stderr.contains("CloudFront ") || stderr.contains("STS "),
            "names the AWS call in flight: {stderr}"
        );
        assert!(
            stderr.contains(&format!(
                "run the same command again to pick up where it stopped: maint {} --timeout 3s",
                args[0]
            )),
            "{stderr}"
        );
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
    }
}

#[test]
fn a_read_command_knows_within_30s_that_aws_is_not_answering() {
    // Mid-incident, without --timeout: each attempt of a read is bounded by
    // what a read needs, so status fails within 30 s (not after two
    // minutes of retries), naming the endpoint and the call.
    let project = Project::new(SMALLEST);
    let endpoint = hanging_endpoint();
    let started = std::time::Instant::now();
    let output = project
        .maint(&["status"])
        .env("AWS_ENDPOINT_URL", &endpoint)
        .env("AWS_ACCESS_KEY_ID", "x")
        .env("AWS_SECRET_ACCESS_KEY", "y")
        .timeout(std::time::Duration::from_secs(120))
        .output()
        .unwrap();
    let took = started.elapsed();
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert!(took < std::time::Duration::from_secs(30), "took {took:?}");
    let stderr = stderr_of(&output);
    assert!(stderr.contains("no answer"), "{stderr}");
    assert!(stderr.contains(&endpoint), "names the endpoint: {stderr}");
    assert!(
        stderr.contains("S3 ") || stderr.contains("STS ") || stderr.contains("CloudFront "),
        "names the call: {stderr}"
    );
}

#[test]
fn a_timeout_out_of_range_is_a_usage_error() {
    let project = Project::new(SMALLEST);
    let output = project
        .maint(&["status", "--timeout", "0s"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr_of(&output).contains("from 1s to 24h"),
        "{}",
        stderr_of(&output)
    );
}

/// A listener that records the head of each request it gets, then never answers.
fn recording_endpoint() -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use std::io::Read as _;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let heads = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = heads.clone();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for mut stream in listener.incoming().flatten() {
            let mut buf = [0u8; 8192];
            let n = stream.read(&mut buf).unwrap_or(0);
            seen.lock()
                .unwrap()
                .push(String::from_utf8_lossy(&buf[..n]).to_string());
            held.push(stream);
        }
    });
    (url, heads)
}

fn aws_files(project: &Project) -> (std::path::PathBuf, std::path::PathBuf) {
    let config = project.path("aws-config");
    let credentials = project.path("aws-credentials");
    std::fs::write(&config, "[profile staging]\nregion = eu-west-1\n").unwrap();
    std::fs::write(
        &credentials,
        "[staging]\naws_access_key_id = AKIASTAGINGPROFILE\naws_secret_access_key = s\n",
    )
    .unwrap();
    (config, credentials)
}

#[test]
fn a_profile_that_does_not_exist_is_an_error_naming_the_files() {
    let project = Project::new(SMALLEST);
    let (config, credentials) = aws_files(&project);
    for (args, env_profile, from) in [
        (&["status", "--profile", "prod"][..], None, "(--profile)"),
        (&["status"][..], Some("prod"), "(AWS_PROFILE)"),
    ] {
        let mut cmd = project.maint(args);
        cmd.env("AWS_CONFIG_FILE", &config)
            .env("AWS_SHARED_CREDENTIALS_FILE", &credentials)
            .env("AWS_ENDPOINT_URL", DEAD_ENDPOINT)
            .env("AWS_ACCESS_KEY_ID", "AKIAENVIRONMENT")
            .env("AWS_SECRET_ACCESS_KEY", "y")
            .env_remove("AWS_PROFILE");
        if let Some(p) = env_profile {
            cmd.env("AWS_PROFILE", p);
        }
        let output = cmd.output().unwrap();
        assert_eq!(output.status.code(), Some(1));
        let stderr = stderr_of(&output);
        assert!(
            stderr.contains(&format!("AWS profile `prod` {from}")),
            "{stderr}"
        );
        assert!(
            stderr.contains(config.to_str().unwrap())
                && stderr.contains(credentials.to_str().unwrap()),
            "{stderr}"
        );
        assert!(stderr.contains("profiles there: staging"), "{stderr}");
        assert!(!stderr.contains("could not reach"), "no AWS call: {stderr}");
    }
}

#[test]
fn a_named_profile_wins_over_credentials_in_the_environment() {
    // As `--profile` in the AWS CLI: otherwise a command could act in the
    // account of whatever keys the shell happens to hold.
    let project = Project::new(SMALLEST);
    let (config, credentials) = aws_files(&project);
    let (endpoint, heads) = recording_endpoint();
    let output = project
        .maint(&["status", "--profile", "staging", "--timeout", "2s"])
        .env("AWS_CONFIG_FILE", &config)
        .env("AWS_SHARED_CREDENTIALS_FILE", &credentials)
        .env("AWS_ENDPOINT_URL", &endpoint)
        .env("AWS_ACCESS_KEY_ID", "AKIAENVIRONMENT")
        .env("AWS_SECRET_ACCESS_KEY", "y")
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr_of(&output).contains("the credentials in AWS_ACCESS_KEY_ID are ignored"),
        "{}",
        stderr_of(&output)
    );
    let heads = heads.lock().unwrap();
    assert!(!heads.is_empty());
    for head in heads.iter() {
        assert!(head.contains("Credential=AKIASTAGINGPROFILE/"), "{head}");
        assert!(!head.contains("AKIAENVIRONMENT"), "{head}");
    }
}

#[test]
fn control_characters_in_a_message_are_refused() {
    // NUL, ESC and BEL could rewrite the terminal of whoever reads the status.
    for message in ["back \u{1b}[2Jsoon", "ding\u{7}"] {
        Test::new()
            .config(SMALLEST)
            .args(&["set-message", "--message", message])
            .no_aws_call()
            .status(2)
            .stderr("control character")
            .stderr("newlines and tabs are fine")
            .run();
    }
    // A NUL cannot be an argument; it can be in a file.
    let project = Project::new(SMALLEST);
    std::fs::write(project.path("m.txt"), "nul\u{0}here\n").unwrap();
    let output = project
        .maint(&["set-message", "--file", "m.txt"])
        .env("AWS_ENDPOINT_URL", DEAD_ENDPOINT)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr_of(&output).contains("control character (U+0000"),
        "{}",
        stderr_of(&output)
    );
}

#[test]
fn a_message_file_is_read_with_a_size_cap() {
    // /dev/zero never ends: maint must stop reading, not fill the memory.
    Test::new()
        .config(SMALLEST)
        .args(&["set-message", "--file", "/dev/zero"])
        .no_aws_call()
        .status(2)
        .stderr("/dev/zero")
        .stderr("more than")
        .run();
}

#[test]
fn absurd_window_lengths_are_refused_not_a_panic() {
    let window =
        "environments:\n  shop:\n    region: eu-west-1\n    distribution: E2EXAMPLE12345\n";
    for args in [
        &["on", "--for", "300000000000y"][..],
        &["on", "--for", "2y"][..],
        &["on", "--until", "9999-01-01T00:00:00Z"][..],
    ] {
        let project = Project::new(window);
        let output = project
            .maint(args)
            .env("AWS_ENDPOINT_URL", DEAD_ENDPOINT)
            .output()
            .unwrap();
        let stderr = stderr_of(&output);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("at most a year"), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

#[test]
fn an_interrupted_command_says_what_goes_on_and_exits_130() {
    let project = Project::new(SMALLEST);
    for signal in ["INT", "TERM"] {
        let (endpoint, connections) = hanging_endpoint_counted();
        let mut cmd = Command::new(assert_cmd::cargo::cargo_bin!("maint"));
        cmd.current_dir(project.dir.path())
            .arg("status")
            .env_clear()
            .env("HOME", project.dir.path())
            .env("AWS_CONFIG_FILE", project.path("aws-config"))
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                project.path("aws-credentials"),
            )
            .env("AWS_ENDPOINT_URL", &endpoint)
            .env("AWS_ACCESS_KEY_ID", "x")
            .env("AWS_SECRET_ACCESS_KEY", "y")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let child = cmd.spawn().unwrap();
        // Once it is at its AWS calls (its signal handlers are in place
        // before its first call), interrupt it.
        let started = std::time::Instant::now();
        while connections.load(std::sync::atomic::Ordering::SeqCst) == 0 {
            assert!(started.elapsed().as_secs() < 30, "maint never called AWS");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let kill = Command::new("kill")
            .args([&format!("-{signal}"), &child.id().to_string()])
            .status()
            .unwrap();
        assert!(kill.success());
        let output = child.wait_with_output().unwrap();
        assert_eq!(output.status.code(), Some(130), "{output:?}");
        let stderr = stderr_of(&output);
        assert!(
            stderr.starts_with(&format!("maint: interrupted by SIG{signal} while ")),
            "{stderr}"
        );
        assert!(
            stderr.contains("run the same command again to pick up where it stopped: maint status"),
            "{stderr}"
        );
    }
}

#[test]
#[should_panic(expected = "maint called AWS although the input was bad")]
fn the_test_builder_notices_an_aws_call() {
    // `status` with good input does call AWS: the check must catch it.
    Test::new()
        .config(SMALLEST)
        .args(&["status", "--timeout", "2s"])
        .no_aws_call()
        .status(1)
        .run();
}

#[test]
fn preview_runs_the_window_function_on_njs_before_attach() {
    let project = Project::new(
        "environments:\n  shop:\n    region: eu-west-1\n    distribution: E2EXAMPLE12345\n    window:\n      api_paths: [/api/*]\n      bypass:\n        open_paths: [/health]\n        secret_env: MAINT_BYPASS_SECRET\n",
    );
    let secret = "team-secret-0123456789abcdef";
    let mut child = Command::new(assert_cmd::cargo::cargo_bin!("maint"))
        .current_dir(project.dir.path())
        .args(["preview", "--port", "0", "-m", "Back <soon>"])
        .env("MAINT_BYPASS_SECRET", secret)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut url = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut url)
        .unwrap();
    let port: u16 = url
        .trim()
        .trim_start_matches("http://127.0.0.1:")
        .trim_end_matches('/')
        .parse()
        .unwrap_or_else(|_| panic!("no URL: {url:?}"));
    let (status, head, body) = http_with(port, "GET", "/shop", &["Accept: text/html"], "").unwrap();
    assert_eq!(status, 503, "{head}");
    let head = head.to_ascii_lowercase();
    assert!(
        head.contains("cache-control: no-store") && head.contains("retry-after: 300"),
        "{head}"
    );
    assert!(body.contains("Back &lt;soon&gt;"), "{body}");
    let (status, head, body) = http_with(port, "GET", "/api/orders", &[], "").unwrap();
    assert_eq!(status, 503);
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/json"),
        "{head}"
    );
    assert!(body.contains("\"Back <soon>\""), "{body}");
    let (status, _, body) = http(port, "POST", "/health", "").unwrap();
    assert_eq!(status, 200);
    assert!(
        body.contains("would reach your site: POST /health"),
        "{body}"
    );
    let (status, head, _) =
        http(port, "GET", &format!("/cart?maint-bypass={secret}&x=1"), "").unwrap();
    assert_eq!(status, 302, "{head}");
    let cookie = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .starts_with("set-cookie: maint_bypass=")
                .then(|| l[12..].split(';').next().unwrap().to_string())
        })
        .expect("the bypass cookie");
    assert!(head.contains("/cart?x=1"), "{head}");
    let (status, _, body) =
        http_with(port, "GET", "/", &[&format!("Cookie: {cookie}")], "").unwrap();
    assert_eq!(status, 200, "{body}");
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn waiting_for_a_site_that_cannot_be_reached_fails_at_once() {
    // Nothing listens on the edge URL: --wait must say so, not wait minutes.
    let emulator = support::Emulator::start();
    let project = Project::new(
        "environments:\n  staging:\n    region: eu-west-1\n    bucket: acme-unreachable\n",
    )
    .against(&emulator);
    project.maint(&["provision"]).assert().success();
    let output = project
        .maint(&[
            "set-message",
            "-m",
            "hi",
            "--invalidate",
            "--wait",
            "--url",
            DEAD_ENDPOINT,
        ])
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = stderr_of(&output);
    assert!(
        stderr.contains("cannot reach the live site at http://127.0.0.1:9"),
        "{stderr}"
    );
    assert!(stderr.contains("point --url at the site"), "{stderr}");
}

#[test]
fn an_sso_profile_without_a_token_says_to_log_in_at_once() {
    Test::new()
        .config(SMALLEST)
        .file(
            "aws-config",
            "[profile corp]\nsso_session = corp\nsso_account_id = 123456789012\nsso_role_name = Admin\nregion = eu-west-1\n\n[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = eu-west-1\n",
        )
        .args(&["--profile", "corp", "provision"])
        .env("AWS_ENDPOINT_URL", DEAD_ENDPOINT)
        .status(1)
        .stderr("the AWS SSO session has no valid token")
        .stderr("aws sso login")
        .run();
}

#[test]
fn a_refused_connection_is_said_plainly() {
    Test::new()
        .config(SMALLEST)
        .args(&["provision"])
        .env("AWS_ENDPOINT_URL", DEAD_ENDPOINT)
        .env("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
        .env("AWS_SECRET_ACCESS_KEY", "secret")
        .status(1)
        .stderr("the connection was refused (nothing answers at the endpoint)")
        .stderr("--endpoint-url")
        .run();
}
