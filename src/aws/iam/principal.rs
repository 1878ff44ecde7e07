//! The role or user a policy is attached to: the CI role with its trust
//! policy and tags, an existing role or user, and their attachments.

use anyhow::{Result, bail};
use aws_sdk_iam::Client;
use serde_json::Value;

use super::{MAX_PAGES, decode_document, encode, made_by_maint, tags};
use crate::aws::explain;
use crate::grant::plan::{ObservedRole, Principal};

pub async fn find_role(iam: &Client, name: &str) -> Result<Option<ObservedRole>> {
    let role = match iam.get_role().role_name(name).send().await {
        Ok(out) => match out.role {
            Some(role) => role,
            None => return Ok(None),
        },
        Err(e)
            if e.as_service_error().is_some_and(
                aws_sdk_iam::operation::get_role::GetRoleError::is_no_such_entity_exception,
            ) =>
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
            if e.as_service_error().is_some_and(
                aws_sdk_iam::operation::delete_role::DeleteRoleError::is_no_such_entity_exception,
            ) =>
        {
            Ok(())
        }
        Err(e)
            if e.as_service_error().is_some_and(
                aws_sdk_iam::operation::delete_role::DeleteRoleError::is_delete_conflict_exception,
            ) =>
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
            if e.as_service_error().is_some_and(
                aws_sdk_iam::operation::get_user::GetUserError::is_no_such_entity_exception,
            ) =>
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grant::plan::{MANAGED_TAG, MANAGED_VALUE};
    use aws_sdk_iam::types::Tag;

    use aws_sdk_iam::operation::create_role::CreateRoleError;

    use aws_sdk_iam::operation::get_role::GetRoleOutput;
    use aws_sdk_iam::operation::list_attached_role_policies::ListAttachedRolePoliciesOutput;

    use aws_sdk_iam::operation::list_role_policies::ListRolePoliciesOutput;
    use aws_sdk_iam::types::Role;
    use aws_sdk_iam::types::error::EntityAlreadyExistsException;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use aws_smithy_types::DateTime;
    use serde_json::json;

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
}
