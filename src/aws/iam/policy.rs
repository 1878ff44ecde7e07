//! The environment's customer-managed policy under `/maint/`: created,
//! its document replaced by a new default version within IAM's five, deleted
//! only when nothing else uses it.

use anyhow::{Result, bail};
use aws_sdk_iam::Client;
use serde_json::Value;

use super::{POLICY_PATH, decode_document, encode, made_by_maint, tags};
use crate::aws::{explain, gone};
use crate::grant::plan::{MAX_POLICY_VERSIONS, ObservedPolicy, PolicyVersion, Principal};

pub fn policy_arn(account: &str, name: &str) -> String {
    format!("arn:aws:iam::{account}:policy{POLICY_PATH}{name}")
}

pub async fn find_policy(iam: &Client, arn: &str) -> Result<Option<ObservedPolicy>> {
    let policy = match iam.get_policy().policy_arn(arn).send().await {
        Ok(out) => match out.policy {
            Some(p) => p,
            None => return Ok(None),
        },
        Err(e)
            if e.as_service_error().is_some_and(
                aws_sdk_iam::operation::get_policy::GetPolicyError::is_no_such_entity_exception,
            ) =>
        {
            return Ok(None);
        }
        Err(e) => return Err(explain(&format!("reading policy {arn}"), e)),
    };
    let default = policy.default_version_id().unwrap_or("v1").to_string();
    let version = iam
        .get_policy_version()
        .policy_arn(arn)
        .version_id(&default)
        .send()
        .await
        .map_err(|e| explain(&format!("reading policy {arn}"), e))?;
    let document = match version.policy_version().and_then(|v| v.document()) {
        Some(d) => decode_document(d)?,
        None => Value::Null,
    };
    let versions = policy_versions(iam, arn).await?;
    Ok(Some(ObservedPolicy {
        arn: arn.to_string(),
        document,
        made_by_maint: made_by_maint(policy.tags()),
        versions,
    }))
}

/// The versions of a policy, oldest first.
async fn policy_versions(iam: &Client, arn: &str) -> Result<Vec<PolicyVersion>> {
    let out = iam
        .list_policy_versions()
        .policy_arn(arn)
        .send()
        .await
        .map_err(|e| explain(&format!("listing the versions of policy {arn}"), e))?;
    let mut versions: Vec<_> = out
        .versions()
        .iter()
        .map(|v| {
            (
                v.create_date().map(|d| (d.secs(), d.subsec_nanos())),
                PolicyVersion {
                    id: v.version_id().unwrap_or_default().to_string(),
                    default: v.is_default_version(),
                },
            )
        })
        .collect();
    versions.sort_by_key(|(date, v)| (*date, version_number(&v.id)));
    Ok(versions.into_iter().map(|(_, v)| v).collect())
}

fn version_number(id: &str) -> u64 {
    id.trim_start_matches('v').parse().unwrap_or(0)
}

/// Creates the policy. One that appeared meanwhile is taken if it is
/// maint's (the plan run after it brings its document up to date).
pub async fn create_policy(
    iam: &Client,
    name: &str,
    document: &Value,
    environment: &str,
    account: &str,
) -> Result<()> {
    match iam
        .create_policy()
        .policy_name(name)
        .path(POLICY_PATH)
        .policy_document(encode(document))
        .description(format!("maint: access to environment {environment}"))
        .set_tags(Some(tags(environment, &[])?))
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_entity_already_exists_exception()) =>
        {
            let arn = policy_arn(account, name);
            match find_policy(iam, &arn).await? {
                Some(p) if p.made_by_maint => {
                    if p.document != *document {
                        set_policy_document(iam, &arn, document, None).await?;
                    }
                    Ok(())
                }
                _ => bail!(
                    "policy {arn} was created by someone else while maint was creating it: \
                     nothing more was changed. Check who made it, then run grant again"
                ),
            }
        }
        Err(e) => Err(explain(&format!("creating policy {name}"), e)),
    }
}

/// Makes `document` the policy's default version, deleting `prune` first
/// (IAM keeps five versions). When IAM still says the limit is reached (a
/// version made meanwhile), the oldest non-default version goes and the
/// write is tried once more.
pub async fn set_policy_document(
    iam: &Client,
    arn: &str,
    document: &Value,
    prune: Option<&str>,
) -> Result<()> {
    if let Some(version) = prune {
        delete_version(iam, arn, version).await?;
    }
    for attempt in 0..2 {
        match iam
            .create_policy_version()
            .policy_arn(arn)
            .policy_document(encode(document))
            .set_as_default(true)
            .send()
            .await
        {
            Ok(_) => return Ok(()),
            Err(e)
                if attempt == 0
                    && e.as_service_error()
                        .is_some_and(|s| s.is_limit_exceeded_exception()) =>
            {
                let versions = policy_versions(iam, arn).await?;
                let Some(oldest) = versions.iter().find(|v| !v.default) else {
                    return Err(explain(&format!("updating policy {arn}"), e));
                };
                tracing::info!(
                    "policy {arn} has {} versions (IAM keeps {MAX_POLICY_VERSIONS}): deleting {}",
                    versions.len(),
                    oldest.id
                );
                delete_version(iam, arn, &oldest.id).await?;
            }
            Err(e) => return Err(explain(&format!("updating policy {arn}"), e)),
        }
    }
    bail!("updating policy {arn}: IAM kept refusing a new version")
}

async fn delete_version(iam: &Client, arn: &str, version: &str) -> Result<()> {
    match iam
        .delete_policy_version()
        .policy_arn(arn)
        .version_id(version)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) => gone(
            e,
            |s| s.is_no_such_entity_exception(),
            &format!("deleting version {version} of policy {arn}"),
        ),
    }
}

/// The roles and users (other than `except`) a policy is attached to.
pub async fn policy_attached_elsewhere(
    iam: &Client,
    arn: &str,
    except: &Principal,
) -> Result<Vec<String>> {
    let out = match iam.list_entities_for_policy().policy_arn(arn).send().await {
        Ok(out) => out,
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_no_such_entity_exception()) =>
        {
            return Ok(Vec::new());
        }
        Err(e) => return Err(explain(&format!("listing who uses policy {arn}"), e)),
    };
    let mut others = Vec::new();
    for r in out.policy_roles() {
        let name = r.role_name().unwrap_or_default();
        if *except != Principal::Role(name.to_string()) {
            others.push(format!("role {name}"));
        }
    }
    for u in out.policy_users() {
        let name = u.user_name().unwrap_or_default();
        if *except != Principal::User(name.to_string()) {
            others.push(format!("user {name}"));
        }
    }
    for g in out.policy_groups() {
        others.push(format!("group {}", g.group_name().unwrap_or_default()));
    }
    Ok(others)
}

/// Deletes the policy and its older versions (IAM refuses to delete a
/// policy that has any).
pub async fn delete_policy(iam: &Client, arn: &str) -> Result<()> {
    let versions = match iam.list_policy_versions().policy_arn(arn).send().await {
        Ok(_) => policy_versions(iam, arn).await?,
        Err(e) => {
            return gone(
                e,
                |s| s.is_no_such_entity_exception(),
                &format!("listing the versions of policy {arn}"),
            );
        }
    };
    for v in versions.iter().filter(|v| !v.default) {
        delete_version(iam, arn, &v.id).await?;
    }
    match iam.delete_policy().policy_arn(arn).send().await {
        Ok(_) => Ok(()),
        Err(e) => gone(
            e,
            |s| s.is_no_such_entity_exception(),
            &format!("deleting policy {arn}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grant::plan::{MANAGED_TAG, MANAGED_VALUE};
    use aws_sdk_iam::operation::create_policy::CreatePolicyError;
    use aws_sdk_iam::operation::create_policy_version::{
        CreatePolicyVersionError, CreatePolicyVersionOutput,
    };
    use aws_sdk_iam::types::Tag;

    use aws_sdk_iam::operation::delete_policy_version::DeletePolicyVersionOutput;
    use aws_sdk_iam::operation::get_policy::GetPolicyOutput;
    use aws_sdk_iam::operation::get_policy_version::GetPolicyVersionOutput;

    use aws_sdk_iam::operation::list_policy_versions::ListPolicyVersionsOutput;

    use aws_sdk_iam::types::error::{EntityAlreadyExistsException, LimitExceededException};
    use aws_sdk_iam::types::{Policy, PolicyVersion as Version};
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use aws_smithy_types::DateTime;
    use serde_json::json;

    const ARN: &str = "arn:aws:iam::123456789012:policy/maint/maint-prod-ci";

    fn five_versions() -> ListPolicyVersionsOutput {
        ListPolicyVersionsOutput::builder()
            .set_versions(Some(
                (1..=5)
                    .rev()
                    .map(|i| {
                        Version::builder()
                            .version_id(format!("v{i}"))
                            .is_default_version(i == 5)
                            .create_date(DateTime::from_secs(i))
                            .build()
                    })
                    .collect(),
            ))
            .build()
    }

    #[tokio::test]
    async fn a_policy_at_its_version_limit_loses_its_oldest_version_and_is_written_again() {
        // Another grant made a fifth version between maint's read and write:
        // IAM answers LimitExceeded (CreatePolicyVersion: "LimitExceeded").
        let create = mock!(Client::create_policy_version)
            .sequence()
            .error(|| {
                CreatePolicyVersionError::LimitExceededException(
                    LimitExceededException::builder()
                        .message("A managed policy can have up to 5 versions.")
                        .meta(
                            aws_smithy_types::error::ErrorMetadata::builder()
                                .code("LimitExceeded")
                                .message("A managed policy can have up to 5 versions.")
                                .build(),
                        )
                        .build(),
                )
            })
            .output(|| CreatePolicyVersionOutput::builder().build())
            .build();
        let list = mock!(Client::list_policy_versions).then_output(five_versions);
        let delete = mock!(Client::delete_policy_version)
            .match_requests(|r| r.version_id() == Some("v1"))
            .then_output(|| DeletePolicyVersionOutput::builder().build());
        let iam = mock_client!(aws_sdk_iam, RuleMode::MatchAny, [&create, &list, &delete]);
        set_policy_document(&iam, ARN, &json!({"Statement": []}), None)
            .await
            .unwrap();
        assert_eq!(create.num_calls(), 2);
        assert_eq!(delete.num_calls(), 1, "the oldest non-default version went");
    }

    #[tokio::test]
    async fn a_policy_that_stays_at_its_limit_is_an_error_not_a_loop() {
        let create = mock!(Client::create_policy_version)
            .sequence()
            .error(|| {
                CreatePolicyVersionError::LimitExceededException(
                    LimitExceededException::builder()
                        .message("A managed policy can have up to 5 versions.")
                        .meta(
                            aws_smithy_types::error::ErrorMetadata::builder()
                                .code("LimitExceeded")
                                .message("A managed policy can have up to 5 versions.")
                                .build(),
                        )
                        .build(),
                )
            })
            .times(3)
            .build();
        let list = mock!(Client::list_policy_versions).then_output(five_versions);
        let delete = mock!(Client::delete_policy_version)
            .then_output(|| DeletePolicyVersionOutput::builder().build());
        let iam = mock_client!(aws_sdk_iam, RuleMode::MatchAny, [&create, &list, &delete]);
        let err = set_policy_document(&iam, ARN, &json!({}), None)
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("LimitExceeded"), "{err}");
        assert_eq!(create.num_calls(), 2);
    }

    #[tokio::test]
    async fn a_policy_that_appears_is_taken_only_when_it_is_maints() {
        let exists = || {
            CreatePolicyError::EntityAlreadyExistsException(
                EntityAlreadyExistsException::builder().build(),
            )
        };
        let policy = |ours: bool| {
            move || {
                let mut p = Policy::builder().arn(ARN).default_version_id("v1");
                if ours {
                    p = p.tags(
                        Tag::builder()
                            .key(MANAGED_TAG)
                            .value(MANAGED_VALUE)
                            .build()
                            .unwrap(),
                    );
                }
                GetPolicyOutput::builder().policy(p.build()).build()
            }
        };
        let version = || {
            GetPolicyVersionOutput::builder()
                .policy_version(
                    Version::builder()
                        .version_id("v1")
                        .is_default_version(true)
                        .document("%7B%22Statement%22%3A%5B%5D%7D")
                        .build(),
                )
                .build()
        };
        let list = || {
            ListPolicyVersionsOutput::builder()
                .versions(
                    Version::builder()
                        .version_id("v1")
                        .is_default_version(true)
                        .build(),
                )
                .build()
        };
        let wanted = json!({"Statement": [{"Sid": "Maint1"}]});

        let create = mock!(Client::create_policy).then_error(exists);
        let get = mock!(Client::get_policy).then_output(policy(false));
        let get_version = mock!(Client::get_policy_version).then_output(version);
        let versions = mock!(Client::list_policy_versions).then_output(list);
        let iam = mock_client!(
            aws_sdk_iam,
            RuleMode::MatchAny,
            [&create, &get, &get_version, &versions]
        );
        let err = create_policy(&iam, "maint-prod-ci", &wanted, "prod", "123456789012")
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("created by someone else"), "{err}");

        // maint's, with an older document: brought up to date.
        let get = mock!(Client::get_policy).then_output(policy(true));
        let update = mock!(Client::create_policy_version)
            .match_requests(|r| r.set_as_default() == Some(true))
            .then_output(|| CreatePolicyVersionOutput::builder().build());
        let iam = mock_client!(
            aws_sdk_iam,
            RuleMode::MatchAny,
            [&create, &get, &get_version, &versions, &update]
        );
        create_policy(&iam, "maint-prod-ci", &wanted, "prod", "123456789012")
            .await
            .unwrap();
        assert_eq!(update.num_calls(), 1);
    }
}
