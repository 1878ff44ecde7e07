//! Bad input across the config, flags and files: each case gets one clear
//! line (`maint: ...`, saying what is wrong), the documented exit code, and
//! no connection at all to the AWS endpoint (`Test::no_aws_call`: a listener
//! stands in for AWS and must never be reached, a stronger proof than the
//! emulator's request log). More cases live in tests/integration/cli.rs and tests/integration/many.rs.

use crate::support;

use support::Test;

/// A site environment that is right, to break one thing at a time.
const SITE: &str = "environments:\n  s:\n    region: eu-west-1\n    bucket: acme-maint\n";
/// A window environment that is right.
const WINDOW: &str =
    "environments:\n  w:\n    region: eu-west-1\n    distribution: E2QWRUHEXAMPLE\n";

/// A config that is `SITE` plus `extra` lines in the environment.
fn site_with(extra: &str) -> String {
    format!("{SITE}{extra}")
}

fn window_with(extra: &str) -> String {
    format!("{WINDOW}{extra}")
}

/// One case: the config, the arguments, what stderr must say, the exit code.
struct Case {
    config: String,
    args: &'static [&'static str],
    says: &'static [&'static str],
    code: i32,
}

fn case(config: &str, args: &'static [&'static str], says: &'static [&'static str]) -> Case {
    Case {
        config: config.to_string(),
        args,
        says,
        code: 2,
    }
}

/// Runs every case, and fails listing each that did not hold.
fn check(cases: Vec<Case>, files: &[(&str, Vec<u8>)]) {
    let mut failed = Vec::new();
    for c in cases {
        let mut test = Test::new().config(&c.config).args(c.args);
        for (name, bytes) in files {
            test = test.bytes(name, bytes);
        }
        for text in c.says {
            test = test.stderr(text);
        }
        let run = std::panic::catch_unwind(move || test.no_aws_call().status(c.code).run());
        if let Err(panic) = run {
            let text = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_string()))
                .unwrap_or_default();
            failed.push(text);
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n\n"));
}

#[test]
fn bad_configs_are_refused_before_any_aws_call() {
    check(
        vec![
            case("", &["status"], &["maint.yaml"]),
            case(
                "environments: {}\n",
                &["status"],
                &["`environments` is empty"],
            ),
            case("- a\n- b\n", &["status"], &["maint.yaml"]),
            case("environments:\n  s: [\n", &["status"], &["maint.yaml"]),
            case(
                "environments:\n  \"bad name!\":\n    region: eu-west-1\n    bucket: acme-maint\n",
                &["status"],
                &["bad name!"],
            ),
            case(
                "environments:\n  s:\n    bucket: acme-maint\n",
                &["status"],
                &["region"],
            ),
            case(
                &SITE.replace("acme-maint", "ab"),
                &["status"],
                &["invalid bucket name `ab`"],
            ),
            case(
                &SITE.replace("acme-maint", &"a".repeat(64)),
                &["status"],
                &["invalid bucket name"],
            ),
            case(
                &SITE.replace("acme-maint", "192.168.1.10"),
                &["status"],
                &["invalid bucket name `192.168.1.10`"],
            ),
            case(
                &SITE.replace("acme-maint", "acme..maint"),
                &["status"],
                &["invalid bucket name `acme..maint`"],
            ),
            case(
                &site_with("    page_max_age: soon\n"),
                &["status"],
                &["line 5"],
            ),
            case(
                &site_with("    error_caching_min_ttl: -1\n"),
                &["status"],
                &["line 5"],
            ),
            case(
                &site_with("    price_class: PriceClass_Cheap\n"),
                &["status"],
                &["PriceClass_Cheap"],
            ),
            case(&site_with("    format: xml\n"), &["status"], &["xml"]),
            case(
                &site_with("    account_id: \"12345\"\n"),
                &["status"],
                &["line 5", "12345"],
            ),
            case(
                &site_with("    certificate_arn: not-an-arn\n"),
                &["status"],
                &["line 5", "not-an-arn"],
            ),
            case(
                &site_with("    aliases: [down.example.com]\n"),
                &["provision"],
                &["certificate"],
            ),
            case(
                &site_with("    aliases: [\"not a host\"]\n"),
                &["status"],
                &["not a host"],
            ),
            case(
                &site_with("    tags:\n      \"aws:team\": web\n"),
                &["status"],
                &["aws:"],
            ),
            case(
                &site_with("    template: missing.html\n"),
                &["provision"],
                &["missing.html"],
            ),
            case(
                &site_with("    title: \"Down\\u0007\"\n"),
                &["provision"],
                &["control character"],
            ),
            case(
                &site_with("    message: \"\\u001b[31mred\"\n"),
                &["provision"],
                &["control character"],
            ),
            case(
                &site_with("    region: eu-west-2\n"),
                &["status"],
                &["region", "line"],
            ),
            case(
                &WINDOW.replace("E2QWRUHEXAMPLE", "e2-not-an-id"),
                &["status"],
                &["e2-not-an-id"],
            ),
            case(
                &window_with("    window:\n      bypass:\n        cidrs: [10.0.0.0/33]\n"),
                &["status"],
                &["10.0.0.0/33"],
            ),
            case(
                &window_with("    window:\n      bypass:\n        open_paths: [health]\n"),
                &["status"],
                &["health"],
            ),
            case(
                &window_with("    window:\n      bypass:\n        secret_env: \"not valid\"\n"),
                &["status"],
                &["not valid"],
            ),
            case(
                &window_with("    window:\n      colour: blue\n"),
                &["status"],
                &["unknown field `colour`"],
            ),
        ],
        &[],
    );
}

#[test]
fn bad_flags_are_refused_before_any_aws_call() {
    check(
        vec![
            case(SITE, &["status", "--timeout", "0s"], &["--timeout"]),
            case(SITE, &["status", "--timeout", "2days"], &["--timeout"]),
            case(SITE, &["status", "--endpoint-url", "ftp://x"], &["http://"]),
            case(SITE, &["status", "--output", "xml"], &["--output"]),
            case(SITE, &["-e", "nope", "status"], &["no environment `nope`"]),
            case(SITE, &["--jobs", "100", "--all", "status"], &["--jobs"]),
            case(
                SITE,
                &["staus"],
                &[
                    "unrecognized subcommand 'staus'",
                    "a similar subcommand exists: 'status'",
                ],
            ),
            case(SITE, &["invalidate", "--path", "/a*b"], &["last character"]),
            case(
                SITE,
                &["set-message", "-m", "hi", "--file", "m.txt"],
                &["--file"],
            ),
            case(SITE, &["set-message", "--url", "http://x"], &["--wait"]),
            case(WINDOW, &["on", "--for", "soon"], &["--for"]),
            case(WINDOW, &["on", "--until", "yesterday"], &["--until"]),
            case(
                WINDOW,
                &["on", "--until", "2020-01-01T00:00:00Z"],
                &["in the past"],
            ),
            case(
                WINDOW,
                &["on", "--for", "1h", "--until", "2099-01-01T00:00:00Z"],
                &["--until"],
            ),
            case(SITE, &["on", "--for", "1h"], &["no `distribution`"]),
            case(WINDOW, &["set-message", "-m", "hi"], &["no `bucket`"]),
            case(
                SITE,
                &["grant", "--github-repo", "not a repo"],
                &["not a repo"],
            ),
            case(
                SITE,
                &["grant", "--user", "ci", "--operations", "bogus"],
                &["unknown operation `bogus`"],
            ),
            case(SITE, &["preview", "--port", "70000"], &["70000"]),
        ],
        &[],
    );
}

#[test]
fn bad_files_are_refused_before_any_aws_call() {
    check(
        vec![
            case(
                SITE,
                &["set-message", "--file", "missing.txt"],
                &["missing.txt"],
            ),
            case(SITE, &["set-message", "--file", "latin1.txt"], &["UTF-8"]),
            case(SITE, &["set-message", "--file", "big.txt"], &["big.txt"]),
            case(
                SITE,
                &["set-message", "--file", "bell.txt"],
                &["control character"],
            ),
            case(
                SITE,
                &["--config", "nowhere.yaml", "status"],
                &["nowhere.yaml"],
            ),
        ],
        &[
            ("latin1.txt", b"Zur\xfcck um zehn\n".to_vec()),
            ("big.txt", vec![b'x'; 70_000]),
            ("bell.txt", b"Back at ten\x07\n".to_vec()),
        ],
    );
}
