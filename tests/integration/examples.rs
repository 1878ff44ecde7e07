//! The examples are what maint does: the IAM policies in examples/iam are
//! what `maint grant --print` writes for the config beside them (generated,
//! never edited by hand: run with MAINT_UPDATE_EXAMPLES=1 to write them again
//! after a change to `grant`), and every `maint` line of the CI examples is
//! parsed by maint's own CLI and assumes the role its `grant` line creates.

use std::path::Path;

use assert_cmd::cargo::cargo_bin_cmd;
use clap::Parser as _;
use maint::cli::{Cli, Command};
use maint::commands::grant::principal;
use maint::grant::trust::{Ci, GitHubScope};
use serde_json::Value;

const EXAMPLES: [(&str, &str, &str); 4] = [
    ("production", "admin", "production-operator.json"),
    ("production", "all", "production-ci.json"),
    ("shop", "admin", "shop-operator.json"),
    ("shop", "all", "shop-ci.json"),
];

#[test]
fn the_example_policies_are_what_grant_prints() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/iam");
    let update = std::env::var_os("MAINT_UPDATE_EXAMPLES").is_some();
    let mut stale = Vec::new();
    for (env, operations, file) in EXAMPLES {
        let output = cargo_bin_cmd!("maint")
            .current_dir(&dir)
            .env_clear()
            .args(["-e", env, "grant", "--print", "--operations", operations])
            .args(["--output", "json"])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let report: Value = serde_json::from_slice(&output.stdout).unwrap();
        let wanted = serde_json::to_string_pretty(&report["policy"]["document"]).unwrap() + "\n";
        let path = dir.join(file);
        if update {
            std::fs::write(&path, &wanted).unwrap();
        } else if std::fs::read_to_string(&path).ok().as_deref() != Some(wanted.as_str()) {
            stale.push(file);
        }
    }
    assert!(
        stale.is_empty(),
        "examples/iam/{stale:?} differ from `maint grant --print`: run \
         MAINT_UPDATE_EXAMPLES=1 cargo test --test integration examples"
    );
}

const GITHUB: &str = include_str!("../../examples/github-actions/maintenance.yml");
const GITLAB: &str = include_str!("../../examples/gitlab-ci/.gitlab-ci.yml");

/// Words of one shell command line: quotes removed, `$VAR` left as is.
fn words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quote = None;
    let mut started = false;
    for c in line.chars() {
        match (quote, c) {
            (None, '"' | '\'') => {
                quote = Some(c);
                started = true;
            }
            (Some(q), c) if c == q => quote = None,
            (None, ' ') => {
                if started {
                    words.push(std::mem::take(&mut word));
                    started = false;
                }
            }
            (_, c) => {
                word.push(c);
                started = true;
            }
        }
    }
    assert!(quote.is_none(), "unbalanced quotes: {line}");
    if started {
        words.push(word);
    }
    words
}

/// What a shell variable may hold when the job runs.
fn samples(var: &str) -> Vec<&'static str> {
    match var {
        "$MESSAGE" | "$MAINT_MESSAGE" => vec!["Back at 14:00 UTC."],
        "$end" => vec!["--until=2026-11-22T14:00:00Z", "--for=2h"],
        other => panic!("no sample value for {other}: add one"),
    }
}

/// Every way a `maint` line can be called, parsed.
fn parsed(line: &str) -> Vec<Cli> {
    let mut variants: Vec<Vec<String>> = vec![Vec::new()];
    for word in words(line) {
        let values: Vec<String> = if word.starts_with('$') {
            samples(&word).into_iter().map(str::to_string).collect()
        } else {
            assert!(!word.contains('$'), "a variable inside a word: {line}");
            vec![word]
        };
        variants = variants
            .into_iter()
            .flat_map(|v| {
                values.iter().map(move |value| {
                    let mut v = v.clone();
                    v.push(value.clone());
                    v
                })
            })
            .collect();
    }
    variants
        .into_iter()
        .map(|args| Cli::try_parse_from(&args).unwrap_or_else(|e| panic!("`{line}`: {e}")))
        .collect()
}

/// The `maint` lines of a script (a string or a list of strings).
fn maint_lines(script: &Value) -> Vec<String> {
    let texts: Vec<&str> = match script {
        Value::String(s) => vec![s.as_str()],
        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    texts
        .iter()
        .flat_map(|t| t.lines())
        .map(str::trim)
        .filter(|l| l.starts_with("maint "))
        .map(str::to_string)
        .collect()
}

/// The `maint ... grant ...` command in the file's header comment.
fn grant_in_header(text: &str) -> Cli {
    let line = text
        .lines()
        .filter_map(|l| l.strip_prefix('#'))
        .map(str::trim)
        .find(|l| l.starts_with("maint ") && l.contains(" grant "))
        .expect("the header shows the grant command");
    // OWNER/REPO and GROUP/PROJECT stand for the user's own.
    let line = line
        .replace("OWNER/REPO", "acme/shop")
        .replace("GROUP/PROJECT", "acme/shop");
    parsed(&line).remove(0)
}

fn grant_parts(cli: &Cli) -> (String, Ci, String) {
    let Command::Grant { grantee, .. } = &cli.command else {
        panic!("not a grant command");
    };
    let env = cli
        .global
        .env
        .first()
        .cloned()
        .expect("the grant names its environment");
    let ci = grantee.ci().expect("the grant is for a CI");
    let role = principal(&env, grantee).unwrap();
    (env, ci, role.name().to_string())
}

fn environments(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .flat_map(|l| parsed(l))
        .map(|cli| {
            cli.global
                .env
                .first()
                .cloned()
                .expect("every maint line names its environment")
        })
        .collect()
}

#[test]
fn the_github_workflow_runs_what_maint_accepts_as_the_role_grant_creates() {
    let doc: Value = yaml_serde::from_str(GITHUB).unwrap();
    // Manual dispatch with the inputs, OIDC and no stored keys.
    let inputs = &doc["on"]["workflow_dispatch"]["inputs"];
    for input in ["action", "message", "until"] {
        assert!(inputs.get(input).is_some(), "input {input}");
    }
    assert_eq!(doc["permissions"]["id-token"], "write");
    assert!(!GITHUB.contains("aws-access-key-id") && !GITHUB.contains("secrets."));
    let job = &doc["jobs"]["maintenance"];
    let steps = job["steps"].as_array().unwrap();
    let lines: Vec<String> = steps.iter().flat_map(|s| maint_lines(&s["run"])).collect();
    assert!(lines.len() >= 4, "{lines:?}");
    assert!(
        lines.last().unwrap().contains(" verify"),
        "ends with verify"
    );
    let commands: Vec<String> = lines
        .iter()
        .flat_map(|l| parsed(l))
        .map(|cli| {
            format!("{:?}", cli.command)
                .split([' ', '{'])
                .next()
                .unwrap()
                .to_string()
        })
        .collect();
    for expected in ["On", "Off", "SetMessage", "Verify"] {
        assert!(commands.iter().any(|c| c == expected), "{commands:?}");
    }

    let (env, ci, role) = grant_parts(&grant_in_header(GITHUB));
    assert!(environments(&lines).iter().all(|e| *e == env));
    let credentials = steps
        .iter()
        .find(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("aws-actions/configure-aws-credentials@"))
        })
        .expect("the official configure-aws-credentials action");
    let assumed = credentials["with"]["role-to-assume"].as_str().unwrap();
    assert!(
        assumed.ends_with(&format!(":role/{role}")),
        "{assumed} vs {role}"
    );
    // A job in a GitHub environment carries `environment:NAME` as its
    // subject, not the ref: the grant must trust that.
    let Ci::GitHub { scope, .. } = &ci else {
        panic!("a GitHub grant")
    };
    match job["environment"].as_str() {
        Some(name) => assert_eq!(*scope, GitHubScope::Environment(name.to_string())),
        None => assert!(!matches!(scope, GitHubScope::Environment(_))),
    }
}

#[test]
fn the_gitlab_job_runs_what_maint_accepts_as_the_role_grant_creates() {
    let doc: Value = yaml_serde::from_str(GITLAB).unwrap();
    let job = &doc["maintenance"];
    assert_eq!(
        job["id_tokens"]["GITLAB_OIDC_TOKEN"]["aud"],
        maint::grant::trust::GITLAB_AUDIENCE
    );
    let lines = maint_lines(&job["script"]);
    assert!(lines.len() >= 4, "{lines:?}");
    assert!(lines.last().unwrap().contains(" verify"));
    let (env, ci, role) = grant_parts(&grant_in_header(GITLAB));
    assert!(environments(&lines).iter().all(|e| *e == env));
    let assumed = job["variables"]["AWS_ROLE_ARN"].as_str().unwrap();
    assert!(
        assumed.ends_with(&format!(":role/{role}")),
        "{assumed} vs {role}"
    );
    // The job runs on the branch the role trusts.
    let Ci::GitLab { branch, .. } = &ci else {
        panic!("a GitLab grant")
    };
    let rule = job["rules"][0]["if"].as_str().unwrap();
    let branch = branch.as_deref().expect("the grant names a branch");
    assert!(
        rule.contains(&format!("$CI_COMMIT_BRANCH == \"{branch}\"")),
        "{rule}"
    );
    assert!(!GITLAB.contains("AWS_SECRET_ACCESS_KEY"));
}

#[test]
fn a_line_maint_would_refuse_fails_the_check() {
    let result = std::panic::catch_unwind(|| parsed("maint -e production on --for"));
    assert!(result.is_err());
    let result = std::panic::catch_unwind(|| parsed("maint -e production switch-on"));
    assert!(result.is_err());
    assert_eq!(
        words(r#"maint on --message "$MESSAGE" 'a b'"#),
        ["maint", "on", "--message", "$MESSAGE", "a b"]
    );
}
