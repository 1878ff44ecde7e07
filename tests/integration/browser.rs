//! Both maintenance pages (site mode's, and the window's as its function
//! answers on njs) in headless Chromium at three widths, light and dark:
//! tests/browser/pages.mjs checks the 503, that the title and message are
//! visible, that nothing overflows horizontally (a long unbroken URL in the
//! message included), no console errors and no external requests. The
//! screenshots stay in target/browser/screenshots. Chromium and
//! playwright-core come from scripts/setup-browser; without them the test
//! fails, it never skips.

use crate::support;

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};

use support::Project;

const MESSAGE: &str = "We are moving the shop to new servers. Follow along at https://status.example.com/incidents/2026-11-24/database-migration-and-a-very-long-unbroken-path-segment-that-must-wrap";

/// `maint preview` for `project`, and the URL it serves at.
fn preview(project: &Project) -> (Child, String) {
    let mut child = Command::new(assert_cmd::cargo::cargo_bin!("maint"))
        .current_dir(project.dir.path())
        .args(["preview", "--port", "0", "-m", MESSAGE])
        .env("MAINT_BYPASS_SECRET", "team-secret-0123456789abcdef")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut url = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut url)
        .unwrap();
    assert!(url.starts_with("http://127.0.0.1:"), "{url:?}");
    (child, url.trim().to_string())
}

#[test]
fn the_pages_read_well_in_a_real_browser() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let modules = root.join("target/browser/node_modules");
    assert!(
        modules.join("playwright-core").exists()
            && std::path::Path::new("/usr/bin/chromium").exists(),
        "Chromium and playwright-core are needed: run scripts/setup-browser (scripts/test does it)"
    );
    let site = Project::new(
        "environments:\n  staging:\n    region: eu-west-1\n    bucket: acme-browser\n",
    );
    let window = Project::new(
        "environments:\n  shop:\n    region: eu-west-1\n    distribution: E2EXAMPLE12345\n    window:\n      bypass:\n        secret_env: MAINT_BYPASS_SECRET\n",
    );
    let (mut site_preview, site_url) = preview(&site);
    let (mut window_preview, window_url) = preview(&window);
    let shots = root.join("target/browser/screenshots");
    let run = Command::new("node")
        .arg(root.join("tests/browser/pages.mjs"))
        .env("MAINT_BROWSER_MODULES", &modules)
        .env(
            "MAINT_PAGES",
            format!("site={site_url},window={window_url}"),
        )
        .env("MAINT_MESSAGE", MESSAGE)
        .env("MAINT_SCREENSHOTS", &shots)
        .output()
        .unwrap();
    for child in [&mut site_preview, &mut window_preview] {
        child.kill().unwrap();
        child.wait().unwrap();
    }
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    // Every page, scheme and width ran, and left its screenshot.
    let runs = stdout.lines().filter(|l| l.contains("\"ok\":true")).count();
    assert_eq!(runs, 2 * 2 * 3, "{stdout}");
    for page in ["site", "window"] {
        for scheme in ["light", "dark"] {
            for width in [320, 390, 1280] {
                let shot = shots.join(format!("{page}-{scheme}-{width}.png"));
                assert!(
                    std::fs::metadata(&shot).is_ok_and(|m| m.len() > 1000),
                    "{}",
                    shot.display()
                );
            }
        }
    }
}
