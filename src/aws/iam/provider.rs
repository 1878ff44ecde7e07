//! The OIDC identity provider a CI's tokens come from (one per issuer and
//! account), and the roles that trust it.

use anyhow::{Result, bail};
use aws_sdk_iam::Client;

use super::{MAX_PAGES, decode_document, made_by_maint, tags};
use crate::aws::{absent, explain, gone};
use crate::grant::plan::ObservedProvider;

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
        Err(e) => absent(
            e,
            |s| s.is_no_such_entity_exception(),
            "reading the OIDC identity provider",
        ),
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
        Err(e) => gone(
            e,
            |s| s.is_entity_already_exists_exception(),
            "creating the OIDC identity provider",
        ),
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
        Err(e) => gone(
            e,
            |s| s.is_no_such_entity_exception(),
            "deleting the OIDC identity provider",
        ),
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
