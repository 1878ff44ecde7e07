//! The IAM policies in examples/iam are what `maint grant --print` writes
//! for the config beside them: generated, never edited by hand. Run with
//! MAINT_UPDATE_EXAMPLES=1 to write them again after a change to `grant`.

use std::path::Path;

use assert_cmd::cargo::cargo_bin_cmd;
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
         MAINT_UPDATE_EXAMPLES=1 cargo test --test examples"
    );
}
