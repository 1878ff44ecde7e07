//! `maint.yaml`: the environments a team keeps, read and validated in full
//! before anything talks to AWS.
//!
//! Unknown keys, wrong types and values AWS would refuse are all reported with
//! the file, line and column and what was expected, because the value types in
//! `values` validate themselves while the YAML parser still knows where it is.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

mod duplicates;
mod message;

pub use message::{MAX_MESSAGE_BYTES, check_message, check_no_control};

use anyhow::{Context as _, Result, bail};
use duplicates::no_duplicate_keys;
use serde::{Deserialize, Serialize};

use crate::values::{
    AccountId, Alias, BucketName, CertificateArn, Cidr, DistributionId, Format, Lang, PageKey,
    PathPattern, PriceClass, Region, Seconds, Tags,
};

pub const DEFAULT_MESSAGE: &str = "We are carrying out planned maintenance and will be back shortly. Thank you for your patience.";
pub const DEFAULT_TITLE: &str = "Down for maintenance";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    environments: BTreeMap<String, Environment>,
}

/// One environment's settings, as written in `maint.yaml`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Environment {
    /// Region of the bucket. CloudFront itself is global.
    pub region: Region,
    /// The AWS account the environment lives in: changing commands refuse
    /// credentials for any other account.
    #[serde(default)]
    pub account_id: Option<AccountId>,
    /// Site mode: the private bucket that holds the error document.
    #[serde(default)]
    pub bucket: Option<BucketName>,
    /// Window mode: the existing distribution to put maintenance windows in front of.
    #[serde(default)]
    pub distribution: Option<DistributionId>,
    /// Window mode options (with `distribution`).
    #[serde(default)]
    pub window: Option<WindowConfig>,
    /// `html` (default) or `json`.
    #[serde(default)]
    pub format: Format,
    /// Object key of the page; default `maintenance.html` or `maintenance.json`.
    /// `document_key`, its name before 0.2, is still read.
    #[serde(default, alias = "document_key")]
    pub page_key: Option<PageKey>,
    /// A template file (relative to maint.yaml); default: the built-in page for the format.
    #[serde(default)]
    pub template: Option<PathBuf>,
    /// The message shown until `maint set-message` changes it.
    #[serde(default = "default_message")]
    pub message: String,
    /// The page title (HTML) or `title` field (JSON).
    #[serde(default = "default_title")]
    pub title: String,
    /// The pages' language, as `<html lang>` (a BCP 47 tag such as `en`, `de`, `pt-BR`).
    #[serde(default)]
    pub lang: Lang,
    /// How long CloudFront caches the origin's error before asking again.
    #[serde(default = "default_error_ttl")]
    pub error_caching_min_ttl: Seconds,
    /// `Cache-Control: max-age` of the document: how long edges keep a message.
    #[serde(default = "default_page_max_age")]
    pub page_max_age: Seconds,
    #[serde(default)]
    pub price_class: PriceClass,
    /// Alternate domain names; they need `certificate_arn`.
    #[serde(default)]
    pub aliases: Vec<Alias>,
    /// An ACM certificate in us-east-1 covering every alias.
    #[serde(default)]
    pub certificate_arn: Option<CertificateArn>,
    #[serde(default)]
    pub tags: Tags,
}

/// Window mode: what covers which requests, what they see, who gets through.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WindowConfig {
    /// Cache behaviors to cover, by path pattern (`*` is the default behavior).
    /// Left out: every behavior of the distribution.
    #[serde(default)]
    pub behaviors: Option<Vec<String>>,
    #[serde(default = "default_title")]
    pub title: String,
    /// The message shown when `maint on` gives none.
    #[serde(default = "default_message")]
    pub message: String,
    /// HTML page template (default: the built-in page).
    #[serde(default)]
    pub template: Option<PathBuf>,
    /// JSON body template for API clients (default: the built-in one).
    #[serde(default)]
    pub json_template: Option<PathBuf>,
    /// Retry-After, in seconds, when `maint on` has no --until or --for.
    #[serde(default = "default_retry_after")]
    pub retry_after: Seconds,
    /// Paths that get the JSON body whatever they accept.
    #[serde(default)]
    pub api_paths: Vec<PathPattern>,
    #[serde(default)]
    pub bypass: Bypass,
}

/// Who and what passes through while the window is on.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Bypass {
    /// Visitor IP ranges that pass (the team's offices and VPN).
    #[serde(default)]
    pub cidrs: Vec<Cidr>,
    /// Paths that stay open: health checks, webhooks, payment callbacks.
    #[serde(default)]
    pub open_paths: Vec<PathPattern>,
    /// The environment variable holding the bypass secret. Opening any page
    /// with `?maint-bypass=SECRET` sets a bypass cookie. Only a hash of the
    /// secret leaves this machine.
    #[serde(default)]
    pub secret_env: Option<String>,
    /// How long the bypass cookie lasts, in seconds.
    #[serde(default = "default_cookie_max_age")]
    pub cookie_max_age: Seconds,
}

impl Default for WindowConfig {
    fn default() -> Self {
        Self {
            behaviors: None,
            title: default_title(),
            message: default_message(),
            template: None,
            json_template: None,
            retry_after: default_retry_after(),
            api_paths: Vec::new(),
            bypass: Bypass::default(),
        }
    }
}

impl Default for Bypass {
    fn default() -> Self {
        Self {
            cidrs: Vec::new(),
            open_paths: Vec::new(),
            secret_env: None,
            cookie_max_age: default_cookie_max_age(),
        }
    }
}

fn default_retry_after() -> Seconds {
    Seconds::new(300)
}
fn default_cookie_max_age() -> Seconds {
    Seconds::new(43_200)
}

fn default_message() -> String {
    DEFAULT_MESSAGE.to_string()
}
fn default_title() -> String {
    DEFAULT_TITLE.to_string()
}
fn default_error_ttl() -> Seconds {
    Seconds::new(10)
}
fn default_page_max_age() -> Seconds {
    Seconds::new(30)
}

impl Environment {
    pub fn page_key(&self) -> PageKey {
        self.page_key.clone().unwrap_or_else(|| {
            PageKey::try_from(self.format.default_key().to_string())
                .expect("default keys are valid")
        })
    }

    /// Window mode options, with defaults when the block is left out.
    pub fn window_config(&self) -> WindowConfig {
        self.window.clone().unwrap_or_default()
    }

    /// Rules that span several keys, which serde cannot place on one line.
    fn check(&self) -> Result<(), String> {
        if self.bucket.is_none() && self.distribution.is_none() {
            return Err(
                "set `bucket` (site mode: a separate maintenance site), `distribution` \
                 (window mode: in front of an existing CloudFront site), or both"
                    .into(),
            );
        }
        if self.window.is_some() && self.distribution.is_none() {
            return Err(
                "`window` needs `distribution`: the id of the CloudFront distribution \
                 to put the window in front of"
                    .into(),
            );
        }
        check_no_control("title", &self.title)?;
        if let Some(window) = &self.window {
            check_message(&window.message).map_err(|e| format!("window.message: {e}"))?;
            check_no_control("window.title", &window.title)?;
            if let Some(var) = &window.bypass.secret_env {
                let ok = !var.is_empty()
                    && var
                        .bytes()
                        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
                    && !var.as_bytes()[0].is_ascii_digit();
                if !ok {
                    return Err(format!(
                        "window.bypass.secret_env `{var}` must name an environment variable, \
                         e.g. MAINT_BYPASS_SECRET (the secret itself never goes in the file)"
                    ));
                }
            }
            if let Some(behaviors) = &window.behaviors
                && behaviors.is_empty()
            {
                return Err(
                    "window.behaviors is empty: leave it out to cover every behavior".into(),
                );
            }
        }
        check_message(&self.message)?;
        if self.title.len() > 200 {
            return Err("`title` is longer than 200 bytes".into());
        }
        match (self.aliases.is_empty(), &self.certificate_arn) {
            (false, None) => {
                return Err("`aliases` need `certificate_arn`: CloudFront only answers for an \
                     alternate domain name with a certificate (from ACM in us-east-1) that covers it"
                    .into());
            }
            (true, Some(_)) => {
                return Err(
                    "`certificate_arn` is set but `aliases` is empty: add the domain \
                     names the certificate covers, or remove the certificate"
                        .into(),
                );
            }
            _ => {}
        }
        if self.aliases.len() > 100 {
            return Err("at most 100 `aliases` are allowed per distribution".into());
        }
        Ok(())
    }
}

/// The largest config file maint reads: far above any real one.
const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

/// The loaded file: where it was and what it holds.
#[derive(Debug, Clone)]
pub struct Config {
    pub path: PathBuf,
    pub environments: BTreeMap<String, Environment>,
}

impl Config {
    pub fn load(path: &Path) -> Result<Self> {
        let read = std::fs::File::open(path).and_then(|file| {
            let mut text = String::new();
            std::io::Read::read_to_string(
                &mut std::io::Read::take(file, MAX_CONFIG_BYTES + 1),
                &mut text,
            )?;
            Ok(text)
        });
        let text = match read {
            Ok(text) if text.len() as u64 > MAX_CONFIG_BYTES => bail!(
                "{} is over {MAX_CONFIG_BYTES} bytes: that is not a maint config",
                path.display()
            ),
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
                "{} not found: run `maint init` to write one, or point --config at yours",
                path.display()
            ),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        Self::parse(path, &text)
    }

    pub fn parse(path: &Path, text: &str) -> Result<Self> {
        no_duplicate_keys(text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        let file: ConfigFile =
            yaml_serde::from_str(text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        if file.environments.is_empty() {
            bail!(
                "{}: `environments` is empty: add one (e.g. `staging: {{region: us-east-1, bucket: \
                 acme-maintenance-staging}}` under `environments:`), or run `maint init`",
                path.display()
            );
        }
        for (name, env) in &file.environments {
            check_env_name(name).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            env.check()
                .map_err(|e| anyhow::anyhow!("{}: environment `{name}`: {e}", path.display()))?;
        }
        let mut buckets = BTreeMap::new();
        let mut distributions = BTreeMap::new();
        for (name, env) in &file.environments {
            if let Some(bucket) = &env.bucket
                && let Some(other) = buckets.insert(bucket.as_str(), name)
            {
                bail!(
                    "{}: environments `{other}` and `{name}` use the same bucket `{bucket}`: give each its own",
                    path.display(),
                );
            }
            if let Some(id) = &env.distribution
                && let Some(other) = distributions.insert(id.as_str(), name)
            {
                bail!(
                    "{}: environments `{other}` and `{name}` use the same distribution `{id}`: one window per distribution",
                    path.display(),
                );
            }
        }
        Ok(Self {
            path: path.to_path_buf(),
            environments: file.environments,
        })
    }

    /// Picks the environment named by `--env`, or the only one.
    pub fn select(&self, name: Option<&str>) -> Result<(String, Environment)> {
        let names = || {
            self.environments
                .keys()
                .map(String::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        };
        match name {
            Some(name) => match self.environments.get(name) {
                Some(env) => Ok((name.to_string(), env.clone())),
                None => bail!(
                    "no environment `{name}` in {}: it has {}",
                    self.path.display(),
                    names()
                ),
            },
            None if self.environments.len() == 1 => {
                let (name, env) = self.environments.iter().next().expect("one environment");
                Ok((name.clone(), env.clone()))
            }
            None => bail!(
                "{} has {} environments ({}): choose one with --env NAME",
                self.path.display(),
                self.environments.len(),
                names()
            ),
        }
    }

    /// Where relative paths in the file (templates) are resolved from.
    pub fn base_dir(&self) -> PathBuf {
        match self.path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
            _ => PathBuf::from("."),
        }
    }
}

fn check_env_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 40
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "invalid environment name `{name}`: use 1 to 40 letters, digits, `-` or `_`"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config> {
        Config::parse(Path::new("maint.yaml"), text)
    }

    #[test]
    fn the_page_key_has_one_name_and_the_old_one_still_reads() {
        for key in ["page_key", "document_key"] {
            let config = parse(&format!(
                "environments:\n  a:\n    region: eu-west-1\n    bucket: acme-a\n    {key}: down.html\n"
            ))
            .unwrap();
            let (_, env) = config.select(None).unwrap();
            assert_eq!(env.page_key().as_str(), "down.html", "{key}");
        }
    }

    #[test]
    fn smallest_file_gets_defaults() {
        let config =
            parse("environments:\n  staging:\n    region: us-east-1\n    bucket: acme-maint\n")
                .unwrap();
        let (name, env) = config.select(None).unwrap();
        assert_eq!(name, "staging");
        assert_eq!(env.format, Format::Html);
        assert_eq!(env.page_key().as_str(), "maintenance.html");
        assert_eq!(env.error_caching_min_ttl.get(), 10);
        assert_eq!(env.page_max_age.get(), 30);
        assert_eq!(env.price_class, PriceClass::Class100);
        assert_eq!(env.message, DEFAULT_MESSAGE);
    }

    #[test]
    fn errors_name_the_file_line_and_expectation() {
        let err = parse("environments:\n  staging:\n    region: us-east-1\n    bucket: Bad_Name\n")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("maint.yaml: "), "{err}");
        assert!(err.contains("line 4"), "{err}");
        assert!(err.contains("invalid bucket name `Bad_Name`"), "{err}");

        let err = parse(
            "environments:\n  staging:\n    region: us-east-1\n    bucket: acme-maint\n    colour: red\n",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("unknown field `colour`"), "{err}");
        assert!(err.contains("line 5"), "{err}");

        let err = parse(
            "environments:\n  s:\n    region: us-east-1\n    bucket: acme-maint\n    error_caching_min_ttl: 99999999\n",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("line 5") && err.contains("one year"), "{err}");
    }

    #[test]
    fn yaml_syntax_errors_have_a_position() {
        let err = parse("environments:\n  staging: [\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("maint.yaml: ") && err.contains("line"),
            "{err}"
        );
    }

    #[test]
    fn aliases_need_a_certificate() {
        let err = parse(
            "environments:\n  p:\n    region: eu-west-1\n    bucket: acme-maint\n    aliases: [down.example.com]\n",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("environment `p`") && err.contains("certificate_arn"),
            "{err}"
        );
    }

    #[test]
    fn selecting_needs_a_name_when_there_are_several() {
        let config = parse(
            "environments:\n  a:\n    region: us-east-1\n    bucket: acme-a\n  b:\n    region: us-east-1\n    bucket: acme-b\n",
        )
        .unwrap();
        let err = config.select(None).unwrap_err().to_string();
        assert!(err.contains("--env") && err.contains("a, b"), "{err}");
        assert_eq!(
            config.select(Some("b")).unwrap().1.bucket.unwrap().as_str(),
            "acme-b"
        );
        assert!(
            config
                .select(Some("c"))
                .unwrap_err()
                .to_string()
                .contains("no environment `c`")
        );
    }

    #[test]
    fn a_bucket_serves_one_environment() {
        let err = parse(
            "environments:\n  a:\n    region: us-east-1\n    bucket: acme-a\n  b:\n    region: us-east-1\n    bucket: acme-a\n",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("same bucket"), "{err}");
    }

    #[test]
    fn window_environments_name_a_distribution() {
        let config = parse(
            "environments:\n  shop:\n    region: eu-west-1\n    distribution: E2EXAMPLE12345\n    window:\n      bypass:\n        cidrs: [203.0.113.0/24]\n        open_paths: [/health]\n        secret_env: MAINT_BYPASS_SECRET\n",
        )
        .unwrap();
        let (_, env) = config.select(None).unwrap();
        assert!(env.bucket.is_none());
        let window = env.window_config();
        assert_eq!(window.retry_after.get(), 300);
        assert_eq!(window.bypass.cidrs.len(), 1);
        assert_eq!(window.bypass.cookie_max_age.get(), 43_200);

        let err = parse("environments:\n  shop:\n    region: eu-west-1\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("set `bucket`") && err.contains("`distribution`"),
            "{err}"
        );
        let err = parse(
            "environments:\n  shop:\n    region: eu-west-1\n    bucket: acme-x\n    window: {}\n",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("`window` needs `distribution`"), "{err}");
        let err = parse(
            "environments:\n  shop:\n    region: eu-west-1\n    distribution: E2EXAMPLE12345\n    window:\n      bypass:\n        cidrs: [10.1.2.3/8]\n",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("line 7") && err.contains("host bits"), "{err}");
        let err = parse(
            "environments:\n  shop:\n    region: eu-west-1\n    distribution: E2EXAMPLE12345\n    window:\n      bypass:\n        secret_env: hunter2-is-my-secret\n",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("must name an environment variable"), "{err}");
    }
}
