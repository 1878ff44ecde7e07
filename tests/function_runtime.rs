//! The window function as `maint function` renders it, run under Node.js with
//! a stand-in for the CloudFront runtime (tests/function/harness.mjs): the
//! full behaviour suite on the template, plus the rendered file itself.

mod support;

use std::process::Command;

use support::{Project, stderr_of};

#[test]
fn the_rendered_function_behaves_under_node() {
    let node = std::env::var("MAINT_NODE").unwrap_or_else(|_| "node".to_string());
    let version = Command::new(&node).arg("--version").output();
    assert!(
        version.as_ref().is_ok_and(|o| o.status.success()),
        "Node.js is needed to test the window function: run scripts/setup-node (scripts/test does it)"
    );

    let project = Project::new(
        "environments:\n  shop:\n    region: eu-west-1\n    distribution: E2EXAMPLE12345\n    window:\n      api_paths: [/api/*]\n      bypass:\n        cidrs: [203.0.113.0/24, 2001:db8::/32]\n        open_paths: [/health]\n        secret_env: MAINT_BYPASS_SECRET\n",
    );
    let output = project.maint(&["function"]).output().unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    let code = project.path("function.js");
    std::fs::write(&code, &output.stdout).unwrap();

    let tests = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/function");
    let run = Command::new(&node)
        .arg("--test")
        .arg(&tests)
        .env("MAINT_FUNCTION_FILE", &code)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "{report}\n{}", stderr_of(&run));
    // The rendered-file suite ran, not skipped.
    assert!(report.contains("# skipped 0"), "{report}");
    assert!(report.contains("# fail 0"), "{report}");
}
