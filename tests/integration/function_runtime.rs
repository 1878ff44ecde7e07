//! The window function's behaviour suite (tests/function/), on the exact
//! bytes `maint function` prints, on njs (the engine CloudFront Functions are
//! built on) and on Node.js, which must agree on every event. Both engines
//! are required: a missing one fails the test, it never skips.

use std::process::Command;

fn engine_works(program: &str, arg: &str) -> bool {
    Command::new(program)
        .arg(arg)
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn the_rendered_function_behaves_the_same_on_njs_and_node() {
    let node = std::env::var("MAINT_NODE").unwrap_or_else(|_| "node".to_string());
    let njs = std::env::var("MAINT_NJS").unwrap_or_else(|_| "njs".to_string());
    assert!(
        engine_works(&node, "--version"),
        "Node.js is needed to test the window function: run scripts/setup-node (scripts/test does it)"
    );
    assert!(
        engine_works(&njs, "-v"),
        "njs is needed to test the window function on CloudFront's engine: run scripts/setup-njs \
         (scripts/test does it)"
    );

    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("njs-runs");
    let tests = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/function");
    let run = Command::new(&node)
        .arg("--test")
        .arg(&tests)
        .env("MAINT_BIN", env!("CARGO_BIN_EXE_maint"))
        .env("MAINT_NJS", &njs)
        .env("MAINT_NJS_RUNS_FILE", &runs)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{report}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(report.contains("# skipped 0"), "{report}");
    assert!(report.contains("# fail 0"), "{report}");
    let tests_run: usize = report
        .lines()
        .find_map(|l| l.strip_prefix("# pass "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_default();
    assert!(tests_run >= 150, "only {tests_run} tests passed:\n{report}");
    // Every behaviour test ran the function on njs: not one silently skipped it.
    let njs_runs = std::fs::read_to_string(&runs)
        .unwrap_or_default()
        .lines()
        .count();
    assert!(
        njs_runs >= 180,
        "only {njs_runs} runs reached njs and gave an answer:\n{report}"
    );
}
