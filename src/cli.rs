//! The command line: flags as clap parses them. `commands` turns them into a
//! validated session before any work starts.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::grant::trust;
use crate::grant::{OperationList, parse_operations};
use crate::values::Region;

const ABOUT: &str = "Serverless maintenance mode on AWS: a maintenance site (S3 and \
CloudFront, every request gets your page and a 503), or a maintenance window switched on in \
seconds in front of an existing CloudFront distribution.";

const LONG_ABOUT: &str = "\
Serverless maintenance mode on AWS, two ways. No servers to run, nothing to patch.

Site mode: a private S3 bucket and a CloudFront distribution that answer every request, \
whatever its path or method, with your maintenance page and a 503 Service Unavailable.
  maint init                       write maint.yaml and the default templates
  maint provision --dry-run        show what would be created
  maint provision                  create it (once per environment)
  maint set-message --message \"Back at 14:00 UTC\" --invalidate
  maint status                     what is deployed, and any drift
  maint destroy                    remove everything maint created
Then point your reverse proxy or DNS at the distribution's domain to switch traffic to it.

Window mode: a CloudFront Function and a KeyValueStore in front of the distribution that \
already serves your site; the team passes through by network, path, link or cookie.
  maint attach                     install it (tested on CloudFront's engine first)
  maint on -m \"Back at 14:00 UTC\" --for 2h
  maint off                        visitors get the site again within seconds

  maint grant --github-repo acme/shop --github-environment production
                                       least-privilege access for a CI job (OIDC, no keys)

Credentials and region come from the standard AWS chain (environment, profiles, SSO).";

/// `0.1.0 (3f2a9c1e7b4d)`: the version and the commit it was built from
/// (build.rs; just the version when built outside a git checkout).
pub const VERSION: &str = if env!("MAINT_COMMIT").is_empty() {
    env!("CARGO_PKG_VERSION")
} else {
    concat!(env!("CARGO_PKG_VERSION"), " (", env!("MAINT_COMMIT"), ")")
};

#[derive(Debug, Parser)]
#[command(name = "maint", version = VERSION, about = ABOUT, long_about = LONG_ABOUT)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct Global {
    /// The config file.
    #[arg(long, global = true, value_name = "PATH", default_value = "maint.yaml")]
    pub config: PathBuf,
    /// The environment in the config (may be left out when there is only
    /// one). status, set-message, invalidate, on, off, verify and provision
    /// take it several times: `-e staging -e production`.
    #[arg(short = 'e', long = "env", global = true, value_name = "NAME", action = clap::ArgAction::Append)]
    pub env: Vec<String>,
    /// Every environment in the config (status, set-message, invalidate, on,
    /// off, verify, provision).
    #[arg(long, global = true, conflicts_with = "env")]
    pub all: bool,
    /// With several environments: how many run at once.
    #[arg(long, global = true, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub jobs: u16,
    /// The AWS profile to use (default: the standard chain, AWS_PROFILE).
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,
    /// Overrides the environment's region.
    #[arg(long, global = true, value_name = "REGION", value_parser = parse_region)]
    pub region: Option<Region>,
    /// A custom AWS endpoint, such as a local emulator (S3 then uses path-style addressing).
    #[arg(long, global = true, value_name = "URL", env = "AWS_ENDPOINT_URL", value_parser = parse_endpoint)]
    pub endpoint_url: Option<String>,
    /// How results are printed.
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    /// Log more (-v: AWS calls, -vv: SDK detail).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Print only results and errors: no plan, no progress.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Give up after this long, waits included (e.g. 90s, 10m, 1h). Every AWS
    /// call is bounded too: 5 s to connect, 30 s per attempt, 2 min with retries.
    #[arg(long, global = true, value_name = "DURATION", default_value = "30m", value_parser = parse_timeout)]
    pub timeout: humantime::Duration,
}

fn parse_region(text: &str) -> Result<Region, String> {
    Region::try_from(text.to_string())
}

fn parse_endpoint(text: &str) -> Result<String, String> {
    if text.starts_with("http://") || text.starts_with("https://") {
        Ok(text.to_string())
    } else {
        Err("it must start with http:// or https://".to_string())
    }
}

/// `--until`: a UTC time (its range is checked against the clock when used).
fn parse_until(text: &str) -> Result<std::time::SystemTime, String> {
    humantime::parse_rfc3339_weak(text)
        .map_err(|e| format!("{e}; write a UTC time such as 2026-11-22T14:00:00Z"))
}

/// `--for`: a duration (its length is checked when used).
fn parse_for(text: &str) -> Result<std::time::Duration, String> {
    humantime::parse_duration(text)
        .map_err(|e| format!("{e}; write a duration such as 90m, 2h or 1h30m"))
}

/// A `--timeout`: a duration from one second to a day.
fn parse_timeout(text: &str) -> Result<humantime::Duration, String> {
    let d: humantime::Duration = text
        .parse()
        .map_err(|e| format!("{e}; write a duration such as 90s, 10m or 1h"))?;
    let secs = std::time::Duration::from(d).as_secs();
    if !(1..=86_400).contains(&secs) {
        return Err("give a duration from 1s to 24h".to_string());
    }
    Ok(d)
}

/// `--wait`: confirm the switch on the live site.
#[derive(Debug, Clone, Args)]
pub struct WaitForEdge {
    /// Wait until the live site answers the new way (`maint verify`'s window
    /// checks pass), with progress; at most 10 minutes.
    #[arg(long)]
    pub wait: bool,
    /// With --wait: request this base URL, with the distribution's domain as
    /// Host header (a local edge, or a test).
    #[arg(long, value_name = "URL", requires = "wait", value_parser = parse_endpoint)]
    pub url: Option<String>,
}

const GRANT_EXAMPLES: &str = "\
Examples:
  maint grant --github-repo acme/shop --github-environment production
  maint grant --gitlab-project acme/shop --gitlab-branch main
  maint grant --operations message,invalidate --role deploy
  maint grant --operations admin --user alice
  maint grant --print --operations window";

/// Who gets access (`grant`) or loses it (`revoke`).
#[derive(Debug, Clone, Args)]
pub struct Grantee {
    /// An existing IAM role; with --github-repo or --gitlab-project, the name of
    /// the role maint creates (default maint-ENV-ci).
    #[arg(long, value_name = "NAME", value_parser = parse_iam_name)]
    pub role: Option<String>,
    /// An existing IAM user.
    #[arg(long, value_name = "NAME", value_parser = parse_iam_name,
          conflicts_with_all = ["role", "github_repo", "gitlab_project"])]
    pub user: Option<String>,
    /// A GitHub repository, OWNER/REPO, whose Actions workflows assume the role
    /// through OIDC. For a repository created, renamed or transferred after
    /// 2026-07-15, GitHub's token names it by ids: write
    /// OWNER@OWNER-ID/REPO@REPO-ID (`gh api repos/OWNER/REPO --jq
    /// '.owner.id, .id'`).
    #[arg(long, value_name = "OWNER/REPO", value_parser = trust::check_github_repo,
          conflicts_with = "gitlab_project")]
    pub github_repo: Option<String>,
    /// With --github-repo: only runs on this ref (refs/heads/main, refs/tags/v*).
    #[arg(long, value_name = "REF", requires = "github_repo", conflicts_with = "github_environment",
          value_parser = trust::check_github_ref)]
    pub github_ref: Option<String>,
    /// With --github-repo: only jobs of this deployment environment.
    #[arg(long, value_name = "NAME", requires = "github_repo", value_parser = trust::check_scope_name)]
    pub github_environment: Option<String>,
    /// A GitLab.com project, GROUP/PROJECT, whose pipelines assume the role
    /// through OIDC.
    #[arg(long, value_name = "GROUP/PROJECT", value_parser = trust::check_gitlab_project)]
    pub gitlab_project: Option<String>,
    /// With --gitlab-project: only pipelines on this branch.
    #[arg(long, value_name = "BRANCH", requires = "gitlab_project", value_parser = trust::check_scope_name)]
    pub gitlab_branch: Option<String>,
    /// With --github-repo or --gitlab-project, instead of a ref, environment
    /// or branch: trust EVERY run of the repository (any branch, tag and
    /// same-repository pull request), so anyone who can push a branch can
    /// switch this environment. Say it only when you mean it.
    #[arg(long, conflicts_with_all = ["github_ref", "github_environment", "gitlab_branch", "user"])]
    pub any_ref: bool,
}

impl Grantee {
    /// A CI trust that names no ref, environment or branch needs
    /// `--any-ref`: a role every branch and pull request of the repository
    /// can assume is never the default.
    pub fn check_scope(&self) -> Result<(), String> {
        if self.any_ref && self.github_repo.is_none() && self.gitlab_project.is_none() {
            return Err("--any-ref goes with --github-repo or --gitlab-project".to_string());
        }
        match self.ci() {
            Some(ci) if ci.trusts_every_ref() && !self.any_ref => Err(match &ci {
                trust::Ci::GitHub { repo, .. } => format!(
                    "say which runs of {repo} may assume the role: --github-environment \
                     production (jobs of that deployment environment; protect it in the \
                     repository's settings) or --github-ref refs/heads/main; --any-ref trusts \
                     every branch, tag and pull request of the repository"
                ),
                trust::Ci::GitLab { project, .. } => format!(
                    "say which pipelines of {project} may assume the role: --gitlab-branch main \
                     (protect the branch); --any-ref trusts every branch of the project"
                ),
            }),
            _ => Ok(()),
        }
    }

    /// The CI that assumes the role, when one is named.
    pub fn ci(&self) -> Option<trust::Ci> {
        if let Some(repo) = &self.github_repo {
            let scope = match (&self.github_ref, &self.github_environment) {
                (Some(r), _) => trust::GitHubScope::Ref(r.clone()),
                (None, Some(e)) => trust::GitHubScope::Environment(e.clone()),
                (None, None) => trust::GitHubScope::Any,
            };
            return Some(trust::Ci::GitHub {
                repo: repo.clone(),
                scope,
            });
        }
        self.gitlab_project.as_ref().map(|p| trust::Ci::GitLab {
            project: p.clone(),
            branch: self.gitlab_branch.clone(),
        })
    }
}

/// An IAM role or user name: 1 to 64 of letters, digits and `+=,.@_-`.
fn parse_iam_name(text: &str) -> Result<String, String> {
    if !text.is_empty()
        && text.len() <= 64
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b))
    {
        Ok(text.to_string())
    } else {
        Err("an IAM name has 1 to 64 letters, digits and + = , . @ _ -".to_string())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a commented maint.yaml and the default templates (never overwrites a file).
    Init {
        /// The first environment's name.
        #[arg(long, default_value = "staging", value_name = "NAME")]
        name: String,
        /// The bucket that will hold the page (globally unique).
        #[arg(long, value_name = "BUCKET")]
        bucket: Option<String>,
        /// The bucket's region (default: us-east-1, or --region).
        #[arg(long = "bucket-region", value_name = "REGION")]
        bucket_region: Option<String>,
    },
    /// Create or correct the bucket, page, origin access control, distribution and policy.
    ///
    /// Shows the plan, applies it, reads AWS back to verify, and waits for the
    /// distribution to deploy. Safe to run again at any time: a converged
    /// environment needs no change and gets none.
    Provision {
        /// Show the plan and change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Do not wait for the distribution to finish deploying.
        #[arg(long)]
        no_wait: bool,
        /// With --dry-run: exit 3 when the plan has changes (for CI drift checks).
        #[arg(long, requires = "dry_run")]
        exit_code: bool,
    },
    /// Change the maintenance message (uploads only when the page changes).
    ///
    /// Without --message or --file, the config's `message` is used again.
    /// Visitors see the change within the page's max-age (30 s by default);
    /// --invalidate makes CloudFront drop cached copies at once.
    SetMessage {
        /// The new message.
        #[arg(long, short, value_name = "TEXT", conflicts_with = "file")]
        message: Option<String>,
        /// Read the message from a file (`-` for standard input).
        #[arg(long, short, value_name = "PATH")]
        file: Option<PathBuf>,
        /// Also invalidate the cached page.
        #[arg(long)]
        invalidate: bool,
        /// With --invalidate: wait until the invalidation completes and the live
        /// site serves the new page (`maint verify`'s site checks pass).
        #[arg(long, requires = "invalidate")]
        wait: bool,
        /// With --wait: request this base URL, with the distribution's domain as
        /// Host header (a local edge, or a test).
        #[arg(long, value_name = "URL", requires = "wait", value_parser = parse_endpoint)]
        url: Option<String>,
        /// Show what would change and change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Make CloudFront drop cached copies (the first 1,000 paths a month are free).
    Invalidate {
        /// A path to invalidate; may be repeated. `/*` counts as one path.
        #[arg(long = "path", value_name = "PATH", default_value = "/*")]
        paths: Vec<String>,
        /// Wait until the invalidation completes.
        #[arg(long)]
        wait: bool,
    },
    /// Show the bucket, page, distribution, recent invalidations and any drift.
    Status {
        /// Exit 3 when AWS differs from the config (drift), for CI checks.
        #[arg(long)]
        exit_code: bool,
    },
    /// Delete everything maint created for the environment.
    ///
    /// Disables the distribution, waits for that to deploy, deletes it, then the
    /// origin access control, the page and the bucket. Asks first on a terminal;
    /// without one it refuses unless --yes.
    Destroy {
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
        /// Show what would be deleted and delete nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Window mode: install the maintenance window on the environment's distribution.
    ///
    /// Creates a KeyValueStore and a CloudFront Function (cloudfront-js-2.0),
    /// publishes it and runs it on viewer-request for the covered cache
    /// behaviors. Refuses a behavior that already has a viewer-request function.
    /// Changes nothing else in the distribution. The window starts off.
    Attach {
        /// Show the plan and change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Do not wait for the distribution to deploy the association.
        #[arg(long)]
        no_wait: bool,
    },
    /// Window mode: switch maintenance on (one store write; live within seconds).
    ///
    /// Covered requests that no bypass rule lets through get a 503 with the
    /// page (JSON for API clients), Retry-After and Cache-Control: no-store.
    On {
        /// The message for this window (default: window.message in the config).
        #[arg(long, short, value_name = "TEXT")]
        message: Option<String>,
        /// End the window by itself at this UTC time, e.g. 2026-11-22T14:00:00Z.
        #[arg(long, value_name = "TIME", conflicts_with = "duration", value_parser = parse_until)]
        until: Option<std::time::SystemTime>,
        /// End the window by itself after this long, e.g. 90m or 2h.
        #[arg(long = "for", value_name = "DURATION", value_parser = parse_for)]
        duration: Option<std::time::Duration>,
        #[command(flatten)]
        wait: WaitForEdge,
    },
    /// Window mode: switch maintenance off (one store write; traffic flows within seconds).
    Off {
        #[command(flatten)]
        wait: WaitForEdge,
    },
    /// Window mode: remove the function, its association and its store.
    Detach {
        /// Show what would be removed and change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Window mode: print the rendered CloudFront Function, for review.
    Function,
    /// Print the shell completion script for SHELL.
    ///
    /// bash: `maint completions bash > /etc/bash_completion.d/maint`;
    /// zsh: into a directory on $fpath as `_maint`; fish:
    /// `~/.config/fish/completions/maint.fish`. The release archives hold
    /// them all.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff): `maint man > maint.1; man ./maint.1`.
    Man,
    /// Request the live site as visitors do, and check what they get.
    ///
    /// Site mode: every path and method gets the page with a 503 (GET, HEAD, an
    /// API client's POST), and the page's own path a 200. Window mode: while the
    /// window is on, the page (HTML, or JSON for an API client) with
    /// Cache-Control: no-store and a Retry-After, and the team's bypass link and
    /// cookie letting a teammate through (when the secret is set here); while it
    /// is off, the site itself. Exit 3 when visitors do not get what maint
    /// configured. Run it from outside the bypass ranges.
    Verify {
        /// Request this base URL instead of the distribution's domain, with the
        /// domain as Host header (a local edge, or a test).
        #[arg(long, value_name = "URL", value_parser = parse_endpoint)]
        url: Option<String>,
    },
    /// Give a CI role (or a role or user) exactly the access some operations need.
    ///
    /// Builds one customer-managed policy for the environment that allows what
    /// the chosen operations need on its own resources (the page, the
    /// distribution, the function, the store), and attaches it. With
    /// --github-repo or --gitlab-project, also creates the CI's OIDC identity
    /// provider if it is missing, and a role only that repository can assume: no
    /// stored keys. Shows the plan first; a second run changes nothing.
    ///
    /// Operations: message (set-message), invalidate, window (on, off), status
    /// (status, verify, and any --wait), all (those four, the default) and admin
    /// (also provision, destroy, attach, detach).
    #[command(after_long_help = GRANT_EXAMPLES)]
    Grant {
        #[command(flatten)]
        grantee: Grantee,
        /// Comma-separated: message, invalidate, window, status, all, admin.
        #[arg(long, value_name = "LIST", value_parser = parse_operations)]
        operations: Option<OperationList>,
        /// Replace the trust policy of a role (or a policy) maint did not write.
        #[arg(long)]
        force: bool,
        /// Show the plan and change nothing.
        #[arg(long, conflicts_with = "print")]
        dry_run: bool,
        /// Print the policy and trust documents and call no AWS API (values only
        /// AWS knows are shown as <placeholders>).
        #[arg(long)]
        print: bool,
    },
    /// Remove exactly what `grant` made: the policy, and the CI role and OIDC
    /// provider when maint created them and nothing else uses them.
    Revoke {
        #[command(flatten)]
        grantee: Grantee,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
        /// Show what would be removed and change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Serve the page on loopback exactly as visitors will get it (503, same headers).
    Preview {
        /// The port on 127.0.0.1 (0 picks a free one).
        #[arg(long, default_value_t = 8503)]
        port: u16,
        /// Preview this message instead of the config's.
        #[arg(long, short, value_name = "TEXT")]
        message: Option<String>,
    },
}
