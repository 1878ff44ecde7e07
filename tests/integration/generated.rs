//! What maint generates about itself: the completion scripts and the man
//! page name every subcommand and flag of the command tree that parses them,
//! bash accepts its script, and `--version` says the version and commit, as
//! text and (with `--output json`) as the schema's `version` document.

use std::collections::BTreeSet;

use assert_cmd::cargo::cargo_bin_cmd;
use clap::CommandFactory as _;
use maint::cli::Cli;
use serde_json::Value;

/// Every subcommand name and every long flag of maint's command tree.
fn words() -> (BTreeSet<String>, BTreeSet<String>) {
    let command = Cli::command();
    let mut subcommands = BTreeSet::new();
    let mut flags = BTreeSet::new();
    let mut add_flags = |c: &clap::Command| {
        for arg in c.get_arguments() {
            if let Some(long) = arg.get_long() {
                flags.insert(format!("--{long}"));
            }
        }
    };
    add_flags(&command);
    for sub in command.get_subcommands() {
        subcommands.insert(sub.get_name().to_string());
        add_flags(sub);
    }
    (subcommands, flags)
}

fn generated(args: &[&str]) -> String {
    let output = cargo_bin_cmd!("maint").args(args).output().unwrap();
    assert!(
        output.status.success(),
        "maint {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn every_completion_script_names_every_subcommand_and_flag() {
    let (subcommands, flags) = words();
    assert!(subcommands.contains("attach") && flags.contains("--dry-run"));
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let script = generated(&["completions", shell]);
        let missing: Vec<&String> = subcommands
            .iter()
            .chain(&flags)
            .filter(|w| !script.contains(w.trim_start_matches("--")))
            .collect();
        assert!(missing.is_empty(), "{shell} lacks {missing:?}");
    }
}

#[test]
fn bash_accepts_its_completion_script() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("maint.bash");
    std::fs::write(&path, generated(&["completions", "bash"])).unwrap();
    let check = std::process::Command::new("bash")
        .arg("-n")
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    // And the check can fail: a broken script is refused.
    std::fs::write(&path, "complete -F _maint maint\n_maint() { if; }\n").unwrap();
    let broken = std::process::Command::new("bash")
        .arg("-n")
        .arg(&path)
        .output()
        .unwrap();
    assert!(!broken.status.success());
}

#[test]
fn the_man_page_has_a_section_for_every_subcommand_and_every_flag() {
    let (subcommands, flags) = words();
    let page = generated(&["man"]);
    assert!(
        page.starts_with(".ie") || page.contains(".TH maint 1"),
        "{page}"
    );
    for sub in subcommands.iter().filter(|s| *s != "help") {
        assert!(
            page.contains(&format!(".SH \"MAINT {}\"", sub.to_uppercase())),
            "no section for {sub}"
        );
    }
    // roff escapes the dashes of flags: `\-\-dry\-run`.
    for flag in &flags {
        let escaped = flag.replace('-', "\\-");
        assert!(page.contains(&escaped), "the man page lacks {flag}");
    }
}

#[test]
fn version_names_the_commit_and_is_data_with_output_json() {
    let text = generated(&["--version"]);
    let line = text.trim();
    let version = env!("CARGO_PKG_VERSION");
    let rest = line
        .strip_prefix(&format!("maint {version}"))
        .unwrap_or_else(|| panic!("{line}"));
    // Built from this git checkout: the commit is there.
    let commit = rest
        .strip_prefix(" (")
        .and_then(|r| r.strip_suffix(')'))
        .unwrap_or_else(|| panic!("no commit in {line}"));
    assert!(
        commit.len() == 12 && commit.bytes().all(|b| b.is_ascii_hexdigit()),
        "{line}"
    );

    let doc: Value = serde_json::from_str(&generated(&["--version", "--output", "json"])).unwrap();
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/docs/output.schema.json"
    ))
    .unwrap();
    let mut schema: Value = serde_json::from_str(&text).unwrap();
    schema["$ref"] = Value::String("#/$defs/version".into());
    let validator = jsonschema::validator_for(&schema).unwrap();
    assert!(validator.is_valid(&doc), "{doc}");
    assert_eq!(doc["version"], version);
    assert_eq!(doc["commit"], commit);
}
