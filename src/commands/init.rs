//! `maint init`: a commented config and the default templates to start from.
//! It never overwrites a file: what exists is left as it is.

use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use serde::Serialize;

use super::Output;
use crate::cli::Global;
use crate::config::Config;
use crate::site::page::{BUILTIN_HTML, BUILTIN_JSON};
use crate::values::{BucketName, Region};

pub const EXAMPLE: &str = include_str!("../../examples/maint.yaml");

#[derive(Debug, Serialize)]
pub struct InitReport {
    pub written: Vec<PathBuf>,
    pub kept: Vec<PathBuf>,
}

impl fmt::Display for InitReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut lines = Vec::new();
        for p in &self.written {
            lines.push(format!("wrote {}", p.display()));
        }
        for p in &self.kept {
            lines.push(format!(
                "kept {} (it exists; maint never overwrites)",
                p.display()
            ));
        }
        lines.push(
            "Next: check the bucket name in the config, then run `maint provision --dry-run`."
                .into(),
        );
        write!(f, "{}", lines.join("\n"))
    }
}

/// The config text `init` writes, with the given names filled in.
pub fn config_text(name: &str, region: &Region, bucket: &BucketName) -> String {
    EXAMPLE
        .replace("ENV_NAME", name)
        .replace("ENV_REGION", region.as_str())
        .replace("ENV_BUCKET", bucket.as_str())
}

fn write_new(path: &Path, text: &str, report: &mut InitReport) -> Result<()> {
    if path.exists() {
        report.kept.push(path.to_path_buf());
        return Ok(());
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
    report.written.push(path.to_path_buf());
    Ok(())
}

pub fn run(
    global: &Global,
    out: &Output,
    name: &str,
    bucket: Option<String>,
    bucket_region: Option<String>,
) -> Result<()> {
    let region = Region::try_from(
        bucket_region
            .or_else(|| global.region.as_ref().map(ToString::to_string))
            .unwrap_or_else(|| "us-east-1".to_string()),
    )
    .map_err(anyhow::Error::msg)?;
    let bucket = BucketName::try_from(bucket.unwrap_or_else(|| {
        format!("example-maintenance-{name}")
            .to_lowercase()
            .replace('_', "-")
    }))
    .map_err(|e| anyhow::anyhow!("--bucket: {e}"))?;
    let text = config_text(name, &region, &bucket);
    // What init writes must load: check before writing anything.
    Config::parse(&global.config, &text)?;
    let dir = match global.config.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut report = InitReport {
        written: Vec::new(),
        kept: Vec::new(),
    };
    write_new(&global.config, &text, &mut report)?;
    write_new(
        &dir.join("templates/maintenance.html"),
        BUILTIN_HTML,
        &mut report,
    )?;
    write_new(
        &dir.join("templates/maintenance.json"),
        BUILTIN_JSON,
        &mut report,
    )?;
    out.result(&report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_config_loads_with_the_names_given() {
        let text = config_text(
            "prod",
            &Region::try_from("eu-west-1".to_string()).unwrap(),
            &BucketName::try_from("acme-maint-prod".to_string()).unwrap(),
        );
        let config = Config::parse(Path::new("maint.yaml"), &text).unwrap();
        let (name, env) = config.select(None).unwrap();
        assert_eq!(name, "prod");
        assert_eq!(env.bucket.unwrap().as_str(), "acme-maint-prod");
        assert_eq!(env.region.as_str(), "eu-west-1");
        assert_eq!(
            env.template.as_deref(),
            Some(Path::new("templates/maintenance.html"))
        );
    }
}
