//! Records the commit maint is built from, for `maint --version`: `git
//! rev-parse` when the source is a git checkout, nothing otherwise (a
//! crates.io package, a tarball), silently.

use std::process::Command;

fn main() {
    let commit = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit()));
    // The commit changes when HEAD or the branch it names moves.
    if let Some(git) = Command::new("git")
        .args(["rev-parse", "--git-dir"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
    {
        let git = git.trim();
        println!("cargo:rerun-if-changed={git}/HEAD");
        println!("cargo:rerun-if-changed={git}/refs/heads");
        println!("cargo:rerun-if-changed={git}/packed-refs");
    }
    println!("cargo:rerun-if-changed=build.rs");
    println!(
        "cargo:rustc-env=MAINT_COMMIT={}",
        commit.unwrap_or_default()
    );
    let target = std::env::var("TARGET").unwrap_or_default();
    println!("cargo:rustc-env=MAINT_TARGET={target}");
}
