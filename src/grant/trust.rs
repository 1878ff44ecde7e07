//! Who may assume the CI role: GitHub Actions' or GitLab CI's OIDC tokens
//! for one repository (and ref, or environment), for STS only. Pure.
//!
//! Sources: GitHub's "Configuring OpenID Connect in Amazon Web Services"
//! (issuer `token.actions.githubusercontent.com`, audience
//! `sts.amazonaws.com`, subjects `repo:OWNER/REPO:ref:REF` and
//! `repo:OWNER/REPO:environment:NAME`), and GitLab's "Configure OpenID
//! Connect in AWS" (issuer and audience `https://gitlab.com`, subject
//! `project_path:GROUP/PROJECT:ref_type:branch:ref:BRANCH`).
//!
//! GitHub's "OpenID Connect reference", immutable subject claims:
//! "repositories created after July 15, 2026 now use an immutable default
//! subject format that includes both the owner ID and repository ID"
//! (`repo:OWNER@OWNER-ID/REPO@REPO-ID:ref:refs/heads/BRANCH`), and
//! "repository renames and transfers after July 15, 2026 also move to the
//! immutable subject format". Such a repository is given as
//! `--github-repo OWNER@OWNER-ID/REPO@REPO-ID`; the subject then carries it
//! as is.

use serde_json::{Value, json};

pub const GITHUB_ISSUER: &str = "token.actions.githubusercontent.com";
pub const GITLAB_ISSUER: &str = "gitlab.com";
/// The audience GitHub's official configure-aws-credentials action asks for.
pub const GITHUB_AUDIENCE: &str = "sts.amazonaws.com";
/// The audience GitLab's documentation sets in `id_tokens`.
pub const GITLAB_AUDIENCE: &str = "https://gitlab.com";

/// Which runs of a GitHub repository may assume the role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GitHubScope {
    /// Any workflow run of the repository.
    Any,
    /// Runs on this ref (`refs/heads/main`, `refs/tags/v*`).
    Ref(String),
    /// Jobs that name this deployment environment (`environment: production`).
    Environment(String),
}

/// Who may assume the CI role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ci {
    GitHub {
        repo: String,
        scope: GitHubScope,
    },
    /// `group/project` (subgroups allowed), and a branch when given.
    GitLab {
        project: String,
        branch: Option<String>,
    },
}

impl Ci {
    /// The issuer's host, as IAM names the provider (its ARN ends with it).
    pub fn issuer(&self) -> &'static str {
        match self {
            Self::GitHub { .. } => GITHUB_ISSUER,
            Self::GitLab { .. } => GITLAB_ISSUER,
        }
    }

    /// The provider's URL, as CreateOpenIDConnectProvider takes it.
    pub fn provider_url(&self) -> String {
        format!("https://{}", self.issuer())
    }

    /// The audience the CI's token carries.
    pub fn audience(&self) -> &'static str {
        match self {
            Self::GitHub { .. } => GITHUB_AUDIENCE,
            Self::GitLab { .. } => GITLAB_AUDIENCE,
        }
    }

    /// The token's `sub` the role accepts (`*` matches anything).
    pub fn subject(&self) -> String {
        match self {
            Self::GitHub { repo, scope } => match scope {
                GitHubScope::Any => format!("repo:{repo}:*"),
                GitHubScope::Ref(r) => format!("repo:{repo}:ref:{r}"),
                GitHubScope::Environment(e) => format!("repo:{repo}:environment:{e}"),
            },
            Self::GitLab { project, branch } => match branch {
                Some(b) => format!("project_path:{project}:ref_type:branch:ref:{b}"),
                None => format!("project_path:{project}:*"),
            },
        }
    }

    /// Whether every run of the repository may assume the role.
    pub fn trusts_every_ref(&self) -> bool {
        matches!(
            self,
            Self::GitHub {
                scope: GitHubScope::Any,
                ..
            } | Self::GitLab { branch: None, .. }
        )
    }

    /// `acme/shop` or `acme/ops/shop`, for tags and messages.
    pub fn repository(&self) -> &str {
        match self {
            Self::GitHub { repo, .. } => repo,
            Self::GitLab { project, .. } => project,
        }
    }

    /// `github` or `gitlab`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::GitHub { .. } => "github",
            Self::GitLab { .. } => "gitlab",
        }
    }
}

/// `shop` or, in GitHub's immutable subject format, `shop@456789`.
fn id_part(p: &str) -> Option<(&str, bool)> {
    match p.split_once('@') {
        None => name_part(p).then_some((p, false)),
        Some((name, id)) => (name_part(name)
            && !id.is_empty()
            && id.len() <= 20
            && id.bytes().all(|b| b.is_ascii_digit()))
        .then_some((name, true)),
    }
}

/// Whether `repo` (as `--github-repo` takes it) is in GitHub's immutable
/// subject format, `OWNER@OWNER-ID/REPO@REPO-ID`.
pub fn has_ids(repo: &str) -> bool {
    repo.contains('@')
}

fn name_part(p: &str) -> bool {
    !p.is_empty()
        && p.len() <= 100
        && p.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        && p != "."
        && p != ".."
}

/// `--github-repo`: `owner/repo` as GitHub spells names, or with both ids
/// (`acme@123456/shop@456789`) for the immutable subject format.
pub fn check_github_repo(text: &str) -> Result<String, String> {
    let parts = text
        .split_once('/')
        .and_then(|(owner, repo)| Some((id_part(owner)?, id_part(repo)?)));
    match parts {
        Some(((_, owner_id), (_, repo_id))) if owner_id == repo_id => Ok(text.to_string()),
        Some(_) => Err(format!(
            "`{text}` has one id: GitHub's immutable subject names both, write \
             OWNER@OWNER-ID/REPO@REPO-ID, e.g. acme@123456/shop@456789"
        )),
        None => Err(format!(
            "`{text}` is not a GitHub repository: write OWNER/REPO, e.g. acme/shop (or \
             OWNER@OWNER-ID/REPO@REPO-ID for a repository created, renamed or transferred \
             after 2026-07-15)"
        )),
    }
}

/// `--gitlab-project`: `group/project`, subgroups allowed.
pub fn check_gitlab_project(text: &str) -> Result<String, String> {
    let parts: Vec<&str> = text.split('/').collect();
    if parts.len() >= 2 && parts.iter().all(|p| name_part(p)) {
        Ok(text.to_string())
    } else {
        Err(format!(
            "`{text}` is not a GitLab project: write GROUP/PROJECT, e.g. acme/shop"
        ))
    }
}

/// Characters a git ref, branch or environment name may hold here: enough
/// for real names, nothing that could change what the condition means.
fn ref_chars(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 255
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./*".contains(&b))
        && !text.contains("..")
}

/// `--github-ref`: a full ref, `refs/heads/main` or `refs/tags/v*`.
pub fn check_github_ref(text: &str) -> Result<String, String> {
    if (text.starts_with("refs/heads/") || text.starts_with("refs/tags/")) && ref_chars(text) {
        Ok(text.to_string())
    } else {
        Err(format!(
            "`{text}` is not a git ref: write it in full, e.g. refs/heads/main or refs/tags/v*"
        ))
    }
}

/// `--github-environment`, `--gitlab-branch`: one name, no `:`.
pub fn check_scope_name(text: &str) -> Result<String, String> {
    if ref_chars(text) && !text.starts_with("refs/") {
        Ok(text.to_string())
    } else {
        Err(format!(
            "`{text}` is not a name: use letters, digits and - _ . / (e.g. production, main)"
        ))
    }
}

/// The trust policy of the CI role: only tokens of `ci`'s issuer, for STS,
/// with its repository's (and ref's) subject.
pub fn trust_policy(ci: &Ci, provider_arn: &str) -> Value {
    let issuer = ci.issuer();
    let subject = ci.subject();
    let condition = if subject.contains('*') {
        json!({
            "StringEquals": { format!("{issuer}:aud"): ci.audience() },
            "StringLike": { format!("{issuer}:sub"): subject },
        })
    } else {
        json!({
            "StringEquals": {
                format!("{issuer}:aud"): ci.audience(),
                format!("{issuer}:sub"): subject,
            },
        })
    };
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "MaintCi",
            "Effect": "Allow",
            "Principal": { "Federated": provider_arn },
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": condition,
        }]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROVIDER: &str =
        "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com";

    #[test]
    fn a_github_role_trusts_one_repository_and_ref() {
        let ci = Ci::GitHub {
            repo: "acme/shop".into(),
            scope: GitHubScope::Ref("refs/heads/main".into()),
        };
        insta::assert_snapshot!(serde_json::to_string_pretty(&trust_policy(&ci, PROVIDER)).unwrap(), @r#"
        {
          "Version": "2012-10-17",
          "Statement": [
            {
              "Sid": "MaintCi",
              "Effect": "Allow",
              "Principal": {
                "Federated": "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
              },
              "Action": "sts:AssumeRoleWithWebIdentity",
              "Condition": {
                "StringEquals": {
                  "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
                  "token.actions.githubusercontent.com:sub": "repo:acme/shop:ref:refs/heads/main"
                }
              }
            }
          ]
        }
        "#);
    }

    #[test]
    fn wildcards_use_string_like_and_the_audience_stays_exact() {
        let any = Ci::GitHub {
            repo: "acme/shop".into(),
            scope: GitHubScope::Any,
        };
        let t = trust_policy(&any, PROVIDER);
        let c = &t["Statement"][0]["Condition"];
        assert_eq!(
            c["StringLike"]["token.actions.githubusercontent.com:sub"],
            "repo:acme/shop:*"
        );
        assert_eq!(
            c["StringEquals"]["token.actions.githubusercontent.com:aud"],
            "sts.amazonaws.com"
        );
        let env = Ci::GitHub {
            repo: "acme/shop".into(),
            scope: GitHubScope::Environment("production".into()),
        };
        assert_eq!(env.subject(), "repo:acme/shop:environment:production");
    }

    #[test]
    fn a_repository_in_githubs_immutable_format_is_trusted_by_its_ids() {
        let ci = Ci::GitHub {
            repo: "octo-org@123456/octo-repo@456789".into(),
            scope: GitHubScope::Ref("refs/heads/main".into()),
        };
        // GitHub's example: repo:octo-org@123456/octo-repo@456789:ref:refs/heads/main
        assert_eq!(
            ci.subject(),
            "repo:octo-org@123456/octo-repo@456789:ref:refs/heads/main"
        );
        assert!(has_ids(ci.repository()));
        assert!(!has_ids("octo-org/octo-repo"));
    }

    #[test]
    fn a_gitlab_role_trusts_one_project_and_branch() {
        let lab = Ci::GitLab {
            project: "acme/ops/shop".into(),
            branch: Some("main".into()),
        };
        assert_eq!(
            lab.subject(),
            "project_path:acme/ops/shop:ref_type:branch:ref:main"
        );
        assert_eq!(lab.provider_url(), "https://gitlab.com");
        let t = trust_policy(&lab, "arn:aws:iam::123456789012:oidc-provider/gitlab.com");
        assert_eq!(
            t["Statement"][0]["Condition"]["StringEquals"]["gitlab.com:aud"],
            "https://gitlab.com"
        );
    }

    #[test]
    fn names_in_the_wrong_form_are_refused() {
        assert!(check_github_repo("acme/shop").is_ok());
        assert!(check_github_repo("acme/shop.js").is_ok());
        for bad in [
            "acme",
            "acme/shop/x",
            "/shop",
            "acme/",
            "ac me/shop",
            "acme/..",
            "acme/*",
        ] {
            let err = check_github_repo(bad).unwrap_err();
            assert!(err.contains("OWNER/REPO"), "{bad}: {err}");
        }
        assert!(check_github_repo("acme@123456/shop@456789").is_ok());
        for bad in [
            "acme@123456/shop",
            "acme/shop@456789",
            "acme@/shop@1",
            "acme@12a/shop@1",
            "@1/shop@2",
        ] {
            assert!(check_github_repo(bad).is_err(), "{bad}");
        }
        assert!(
            check_github_repo("acme@1/shop")
                .unwrap_err()
                .contains("OWNER@OWNER-ID/REPO@REPO-ID")
        );
        assert!(check_gitlab_project("acme/ops/shop").is_ok());
        assert!(check_gitlab_project("shop").is_err());
        assert!(check_github_ref("refs/heads/main").is_ok());
        assert!(check_github_ref("refs/tags/v*").is_ok());
        for bad in [
            "main",
            "refs/heads/a b",
            "refs/heads/x:y",
            "refs/heads/../x",
            "",
        ] {
            assert!(check_github_ref(bad).is_err(), "{bad}");
        }
        assert!(check_scope_name("production").is_ok());
        assert!(check_scope_name("prod:x").is_err());
    }
}
