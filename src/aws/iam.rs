//! IAM for `grant` and `revoke`: the OIDC identity provider of a CI, the
//! role it assumes, the environment's customer-managed policy and its
//! attachment. Documents are compared as JSON values (IAM hands them back
//! URL-encoded, and may space them differently).

use anyhow::{Context as _, Result, bail};
use aws_sdk_iam::Client;
use aws_sdk_iam::types::Tag;
use serde_json::Value;

use super::explain;
use crate::grant::plan::{
    ENVIRONMENT_TAG, MANAGED_TAG, MANAGED_VALUE, MAX_POLICY_VERSIONS, ObservedPolicy,
    ObservedProvider, ObservedRole, PolicyVersion, Principal,
};

/// Pages read from a listing before giving up (1,000 roles a page).
const MAX_PAGES: usize = 100;

/// Where maint keeps its policies: `arn:aws:iam::ACCOUNT:policy/maint/NAME`.
pub const POLICY_PATH: &str = "/maint/";

fn tags(environment: &str, extra: &[(&str, &str)]) -> Result<Vec<Tag>> {
    [(MANAGED_TAG, MANAGED_VALUE), (ENVIRONMENT_TAG, environment)]
        .iter()
        .chain(extra)
        .map(|(k, v)| {
            Tag::builder()
                .key(*k)
                .value(*v)
                .build()
                .context("building an IAM tag")
        })
        .collect()
}

fn made_by_maint(tags: &[Tag]) -> bool {
    tags.iter()
        .any(|t| t.key() == MANAGED_TAG && t.value() == MANAGED_VALUE)
}

/// A policy document as IAM returns it: URL-encoded JSON.
pub fn decode_document(text: &str) -> Result<Value> {
    let decoded = percent_encoding::percent_decode_str(text)
        .decode_utf8()
        .context("IAM returned a policy document that is not UTF-8")?;
    serde_json::from_str(&decoded).context("IAM returned a policy document that is not JSON")
}

fn encode(document: &Value) -> String {
    document.to_string()
}

// --- the OIDC provider -----------------------------------------------------

pub fn provider_arn(account: &str, issuer: &str) -> String {
    format!("arn:aws:iam::{account}:oidc-provider/{issuer}")
}

pub async fn find_provider(iam: &Client, arn: &str) -> Result<Option<ObservedProvider>> {
    match iam
        .get_open_id_connect_provider()
        .open_id_connect_provider_arn(arn)
        .send()
        .await
    {
        Ok(out) => Ok(Some(ObservedProvider {
            arn: arn.to_string(),
            audiences: out.client_id_list().to_vec(),
            made_by_maint: made_by_maint(out.tags()),
        })),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_no_such_entity_exception()) =>
        {
            Ok(None)
        }
        Err(e) => Err(explain("reading the OIDC identity provider", e)),
    }
}

/// Creates the provider; one that appeared meanwhile (an earlier run whose
/// answer was lost) is taken as it is, and the plan run after it adds the
/// audience if it lacks it.
pub async fn create_provider(
    iam: &Client,
    url: &str,
    audience: &str,
    environment: &str,
) -> Result<()> {
    // No thumbprint: IAM fetches the provider's CA itself, and for GitHub
    // and GitLab trusts its own CA library (CreateOpenIDConnectProvider,
    // "This parameter is optional").
    match iam
        .create_open_id_connect_provider()
        .url(url)
        .client_id_list(audience)
        .set_tags(Some(tags(environment, &[])?))
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_entity_already_exists_exception()) =>
        {
            Ok(())
        }
        Err(e) => Err(explain("creating the OIDC identity provider", e)),
    }
}

pub async fn add_audience(iam: &Client, arn: &str, audience: &str) -> Result<()> {
    iam.add_client_id_to_open_id_connect_provider()
        .open_id_connect_provider_arn(arn)
        .client_id(audience)
        .send()
        .await
        .map_err(|e| explain("adding an audience to the OIDC identity provider", e))?;
    Ok(())
}

pub async fn delete_provider(iam: &Client, arn: &str) -> Result<()> {
    match iam
        .delete_open_id_connect_provider()
        .open_id_connect_provider_arn(arn)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_no_such_entity_exception()) =>
        {
            Ok(())
        }
        Err(e) => Err(explain("deleting the OIDC identity provider", e)),
    }
}

/// The roles whose trust policy names `provider_arn`.
pub async fn roles_trusting(iam: &Client, provider_arn: &str) -> Result<Vec<String>> {
    let mut names = Vec::new();
    let mut pages = iam.list_roles().into_paginator().send();
    let mut n = 0;
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| explain("listing the roles", e))?;
        for role in page.roles() {
            let trusts = role
                .assume_role_policy_document()
                .and_then(|d| decode_document(d).ok())
                .is_some_and(|d| d.to_string().contains(&format!("\"{provider_arn}\"")));
            if trusts {
                names.push(role.role_name().to_string());
            }
        }
        n += 1;
        if n >= MAX_PAGES {
            bail!("listing the roles: more than {MAX_PAGES} pages, stopped");
        }
    }
    Ok(names)
}

// --- the principal -----------------------------------------------------------

pub async fn find_role(iam: &Client, name: &str) -> Result<Option<ObservedRole>> {
    let role = match iam.get_role().role_name(name).send().await {
        Ok(out) => match out.role {
            Some(role) => role,
            None => return Ok(None),
        },
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_no_such_entity_exception()) =>
        {
            return Ok(None);
        }
        Err(e) => return Err(explain(&format!("reading role {name}"), e)),
    };
    let trust = match role.assume_role_policy_document() {
        Some(d) => decode_document(d)?,
        None => Value::Null,
    };
    let attached = attached_policies(iam, &Principal::Role(name.to_string())).await?;
    let inline = iam
        .list_role_policies()
        .role_name(name)
        .send()
        .await
        .map_err(|e| explain(&format!("listing the inline policies of role {name}"), e))?;
    Ok(Some(ObservedRole {
        arn: role.arn().to_string(),
        trust,
        made_by_maint: made_by_maint(role.tags()),
        attached,
        inline_policies: inline.policy_names().len(),
    }))
}

/// Creates the CI role. One that appeared meanwhile is accepted only if it
/// is maint's with this very trust policy: anything else stops the command.
pub async fn create_role(
    iam: &Client,
    name: &str,
    trust: &Value,
    environment: &str,
    source: &str,
) -> Result<()> {
    match iam
        .create_role()
        .role_name(name)
        .assume_role_policy_document(encode(trust))
        .description(format!(
            "maint: CI access to environment {environment}, for {source}"
        ))
        .set_tags(Some(tags(environment, &[("maint:ci", source)])?))
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_entity_already_exists_exception()) =>
        {
            match find_role(iam, name).await? {
                Some(role) if role.made_by_maint && role.trust == *trust => Ok(()),
                _ => bail!(
                    "role {name} was created by someone else while maint was creating it, with \
                     another trust policy: nothing more was changed. Check who made it, then run \
                     grant again (with --force to replace its trust policy)"
                ),
            }
        }
        Err(e) => Err(explain(&format!("creating role {name}"), e)),
    }
}

pub async fn update_trust(iam: &Client, name: &str, trust: &Value) -> Result<()> {
    iam.update_assume_role_policy()
        .role_name(name)
        .policy_document(encode(trust))
        .send()
        .await
        .map_err(|e| explain(&format!("replacing the trust policy of role {name}"), e))?;
    Ok(())
}

pub async fn delete_role(iam: &Client, name: &str) -> Result<()> {
    match iam.delete_role().role_name(name).send().await {
        Ok(_) => Ok(()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_no_such_entity_exception()) =>
        {
            Ok(())
        }
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_delete_conflict_exception()) =>
        {
            bail!(
                "role {name} still has policies attached (someone attached one meanwhile): it \
                 was kept. Run revoke again to see what is left"
            )
        }
        Err(e) => Err(explain(&format!("deleting role {name}"), e)),
    }
}

/// The user's attached managed policies, or None when there is no such user.
pub async fn find_user(iam: &Client, name: &str) -> Result<Option<Vec<String>>> {
    match iam.get_user().user_name(name).send().await {
        Ok(_) => Ok(Some(
            attached_policies(iam, &Principal::User(name.to_string())).await?,
        )),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_no_such_entity_exception()) =>
        {
            Ok(None)
        }
        Err(e) => Err(explain(&format!("reading user {name}"), e)),
    }
}

pub async fn attached_policies(iam: &Client, principal: &Principal) -> Result<Vec<String>> {
    let mut arns = Vec::new();
    let mut marker: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let (page, truncated, next) = match principal {
            Principal::Role(name) => {
                let out = iam
                    .list_attached_role_policies()
                    .role_name(name)
                    .set_marker(marker.clone())
                    .send()
                    .await
                    .map_err(|e| explain(&format!("listing the policies of {principal}"), e))?;
                (
                    out.attached_policies().to_vec(),
                    out.is_truncated(),
                    out.marker().map(str::to_string),
                )
            }
            Principal::User(name) => {
                let out = iam
                    .list_attached_user_policies()
                    .user_name(name)
                    .set_marker(marker.clone())
                    .send()
                    .await
                    .map_err(|e| explain(&format!("listing the policies of {principal}"), e))?;
                (
                    out.attached_policies().to_vec(),
                    out.is_truncated(),
                    out.marker().map(str::to_string),
                )
            }
        };
        arns.extend(
            page.iter()
                .filter_map(|p| p.policy_arn().map(str::to_string)),
        );
        if !truncated || next.is_none() {
            return Ok(arns);
        }
        marker = next;
    }
    bail!("listing the policies of {principal}: more than {MAX_PAGES} pages, stopped")
}

pub async fn attach(iam: &Client, principal: &Principal, policy_arn: &str) -> Result<()> {
    let doing = format!("attaching the policy to {principal}");
    match principal {
        Principal::Role(name) => iam
            .attach_role_policy()
            .role_name(name)
            .policy_arn(policy_arn)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| explain(&doing, e)),
        Principal::User(name) => iam
            .attach_user_policy()
            .user_name(name)
            .policy_arn(policy_arn)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| explain(&doing, e)),
    }
}

/// Detaches; a policy no longer attached is fine.
pub async fn detach(iam: &Client, principal: &Principal, policy_arn: &str) -> Result<()> {
    let result = match principal {
        Principal::Role(name) => iam
            .detach_role_policy()
            .role_name(name)
            .policy_arn(policy_arn)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| {
                (
                    e.as_service_error()
                        .is_some_and(|s| s.is_no_such_entity_exception()),
                    explain(&format!("detaching the policy from {principal}"), e),
                )
            }),
        Principal::User(name) => iam
            .detach_user_policy()
            .user_name(name)
            .policy_arn(policy_arn)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| {
                (
                    e.as_service_error()
                        .is_some_and(|s| s.is_no_such_entity_exception()),
                    explain(&format!("detaching the policy from {principal}"), e),
                )
            }),
    };
    match result {
        Ok(()) | Err((true, _)) => Ok(()),
        Err((false, e)) => Err(e),
    }
}

// --- the policy ----------------------------------------------------------------

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
            if e.as_service_error()
                .is_some_and(|s| s.is_no_such_entity_exception()) =>
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
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_no_such_entity_exception()) =>
        {
            Ok(())
        }
        Err(e) => Err(explain(
            &format!("deleting version {version} of policy {arn}"),
            e,
        )),
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
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_no_such_entity_exception()) =>
        {
            return Ok(());
        }
        Err(e) => return Err(explain(&format!("listing the versions of policy {arn}"), e)),
    };
    for v in versions.iter().filter(|v| !v.default) {
        delete_version(iam, arn, &v.id).await?;
    }
    match iam.delete_policy().policy_arn(arn).send().await {
        Ok(_) => Ok(()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_no_such_entity_exception()) =>
        {
            Ok(())
        }
        Err(e) => Err(explain(&format!("deleting policy {arn}"), e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_iam::operation::create_policy::CreatePolicyError;
    use aws_sdk_iam::operation::create_policy_version::{
        CreatePolicyVersionError, CreatePolicyVersionOutput,
    };
    use aws_sdk_iam::operation::create_role::CreateRoleError;
    use aws_sdk_iam::operation::delete_policy_version::DeletePolicyVersionOutput;
    use aws_sdk_iam::operation::get_policy::GetPolicyOutput;
    use aws_sdk_iam::operation::get_policy_version::GetPolicyVersionOutput;
    use aws_sdk_iam::operation::get_role::GetRoleOutput;
    use aws_sdk_iam::operation::list_attached_role_policies::ListAttachedRolePoliciesOutput;
    use aws_sdk_iam::operation::list_policy_versions::ListPolicyVersionsOutput;
    use aws_sdk_iam::operation::list_role_policies::ListRolePoliciesOutput;
    use aws_sdk_iam::types::error::{EntityAlreadyExistsException, LimitExceededException};
    use aws_sdk_iam::types::{Policy, PolicyVersion as Version, Role};
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use aws_smithy_types::DateTime;
    use serde_json::json;

    const ARN: &str = "arn:aws:iam::123456789012:policy/maint/maint-prod-ci";

    #[test]
    fn documents_come_back_url_encoded() {
        let text = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%5D%7D";
        assert_eq!(
            decode_document(text).unwrap(),
            json!({"Version": "2012-10-17", "Statement": []})
        );
        assert!(decode_document("%7Bnot json").is_err());
    }

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

    fn role(trust: &Value, ours: bool) -> GetRoleOutput {
        let mut role = Role::builder()
            .path("/")
            .role_name("maint-prod-ci")
            .role_id("AROAEXAMPLE")
            .arn("arn:aws:iam::123456789012:role/maint-prod-ci")
            .create_date(DateTime::from_secs(0))
            .assume_role_policy_document(
                percent_encoding::utf8_percent_encode(
                    &trust.to_string(),
                    percent_encoding::NON_ALPHANUMERIC,
                )
                .to_string(),
            );
        if ours {
            role = role.tags(
                Tag::builder()
                    .key(MANAGED_TAG)
                    .value(MANAGED_VALUE)
                    .build()
                    .unwrap(),
            );
        }
        GetRoleOutput::builder().role(role.build().unwrap()).build()
    }

    async fn create_role_meeting(existing: GetRoleOutput, trust: &Value) -> Result<()> {
        let create = mock!(Client::create_role).then_error(|| {
            CreateRoleError::EntityAlreadyExistsException(
                EntityAlreadyExistsException::builder()
                    .message("Role with name maint-prod-ci already exists.")
                    .build(),
            )
        });
        let get = mock!(Client::get_role).then_output(move || existing.clone());
        let attached = mock!(Client::list_attached_role_policies)
            .then_output(|| ListAttachedRolePoliciesOutput::builder().build());
        let inline = mock!(Client::list_role_policies).then_output(|| {
            ListRolePoliciesOutput::builder()
                .set_policy_names(Some(vec![]))
                .build()
                .unwrap()
        });
        let iam = mock_client!(
            aws_sdk_iam,
            RuleMode::MatchAny,
            [&create, &get, &attached, &inline]
        );
        create_role(&iam, "maint-prod-ci", trust, "prod", "github:acme/shop").await
    }

    #[tokio::test]
    async fn a_role_that_appears_with_other_content_stops_grant() {
        let ours = json!({"Statement": [{"Sid": "MaintCi"}]});
        let theirs =
            json!({"Statement": [{"Principal": {"AWS": "arn:aws:iam::999999999999:root"}}]});
        let err = create_role_meeting(role(&theirs, false), &ours)
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("created by someone else"), "{err}");
        // maint's own, from a run whose answer was lost: fine.
        create_role_meeting(role(&ours, true), &ours).await.unwrap();
        // maint's tag but another trust policy: still not taken as done.
        assert!(
            create_role_meeting(role(&theirs, true), &ours)
                .await
                .is_err()
        );
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
