//! The design, checked: the AWS SDK is sealed inside `src/aws/`. Everything
//! else works with maint's own types, so the core (config, specs, plans,
//! rendering) is tested without a network and an SDK upgrade touches one
//! directory.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The lines outside `src/aws/` that name an SDK crate.
fn sdk_names_outside_aws(src: &Path) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut found = Vec::new();
    for file in files {
        if file.starts_with(src.join("aws")) {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            if code.contains("aws_sdk_") || code.contains("aws_smithy_") {
                found.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
            }
        }
    }
    found
}

#[test]
fn no_sdk_type_is_named_outside_src_aws() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let found = sdk_names_outside_aws(&src);
    assert!(
        found.is_empty(),
        "the AWS SDK is named outside src/aws/:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_check_finds_an_sdk_name_where_it_does_not_belong() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("aws")).unwrap();
    std::fs::create_dir_all(dir.path().join("commands")).unwrap();
    std::fs::write(dir.path().join("aws/ok.rs"), "use aws_sdk_s3::Client;\n").unwrap();
    std::fs::write(
        dir.path().join("commands/bad.rs"),
        "// aws_sdk_s3 in a comment is fine\nfn f(c: &aws_sdk_cloudfront::Client) {}\n",
    )
    .unwrap();
    let found = sdk_names_outside_aws(dir.path());
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("commands/bad.rs:2"), "{found:?}");
}

/// The lines of files under `src/DIR` (or the file `src/DIR.rs`) that import
/// one of `forbidden` (`crate::X`).
fn imports(src: &Path, dir: &str, forbidden: &[&str]) -> Vec<String> {
    let mut files = Vec::new();
    let path = src.join(dir);
    if path.is_dir() {
        rust_files(&path, &mut files);
    } else {
        files.push(src.join(format!("{dir}.rs")));
    }
    let mut found = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            for module in forbidden {
                if code.contains(&format!("crate::{module}")) {
                    found.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
                }
            }
        }
    }
    found
}

/// The layers, top to bottom: `main` calls `run` (lib.rs); the commands
/// glue the rest together; the adapters (`aws`, `njs`, `http`) reach the
/// outside; the core (config, values, site, window, grant, checks) is pure.
/// No arrow climbs back up: the core never names a command or an adapter,
/// and the AWS adapters never name a command.
#[test]
fn no_import_climbs_back_up_a_layer() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut found = Vec::new();
    for core in ["config", "values", "site", "window", "grant", "checks"] {
        found.extend(imports(
            &src,
            core,
            &["commands", "aws", "njs", "progress", "activity"],
        ));
    }
    found.extend(imports(&src, "aws", &["commands"]));
    assert!(
        found.is_empty(),
        "imports that climb back up:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_layer_check_finds_an_import_that_climbs() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("site")).unwrap();
    std::fs::write(
        dir.path().join("site/plan.rs"),
        "// crate::commands in a comment is fine\nuse crate::commands::Session;\n",
    )
    .unwrap();
    let found = imports(dir.path(), "site", &["commands"]);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("site/plan.rs:2"), "{found:?}");
}
