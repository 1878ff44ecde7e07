//! The Origin Access Control: how the site's distribution signs its requests
//! to the bucket (SigV4, always), so the bucket stays private.

use anyhow::Result;
use aws_sdk_cloudfront::Client;
use aws_sdk_cloudfront::types::{
    OriginAccessControlConfig, OriginAccessControlOriginTypes, OriginAccessControlSigningBehaviors,
    OriginAccessControlSigningProtocols,
};

use super::{explain, gone};
use crate::site::plan::ObservedOac;

/// Finds the OAC named `name`.
pub async fn find_oac(cf: &Client, name: &str) -> Result<Option<ObservedOac>> {
    let mut marker = None;
    loop {
        let page = cf
            .list_origin_access_controls()
            .set_marker(marker)
            .send()
            .await
            .map_err(|e| explain("listing origin access controls", e))?;
        let Some(list) = page.origin_access_control_list() else {
            return Ok(None);
        };
        if let Some(found) = list.items().iter().find(|o| o.name() == name) {
            return Ok(Some(ObservedOac {
                id: found.id().to_string(),
                signs_always: found.signing_behavior()
                    == &OriginAccessControlSigningBehaviors::Always
                    && found.signing_protocol() == &OriginAccessControlSigningProtocols::Sigv4
                    && found.origin_access_control_origin_type()
                        == &OriginAccessControlOriginTypes::S3,
            }));
        }
        match list.next_marker() {
            Some(next) if list.is_truncated() && !next.is_empty() => {
                marker = Some(next.to_string());
            }
            _ => return Ok(None),
        }
    }
}

/// The OAC named `name`, read by the id the site's distribution uses (one
/// GetOriginAccessControl) when it has one and it still carries that name;
/// otherwise found by listing every OAC in the account.
pub async fn find_site_oac(
    cf: &Client,
    name: &str,
    used: Option<&str>,
) -> Result<Option<ObservedOac>> {
    if let Some(id) = used.filter(|id| !id.is_empty()) {
        match cf.get_origin_access_control().id(id).send().await {
            Ok(out) => {
                if let Some(config) = out
                    .origin_access_control()
                    .and_then(|o| o.origin_access_control_config())
                    .filter(|c| c.name() == name)
                {
                    return Ok(Some(ObservedOac {
                        id: id.to_string(),
                        signs_always: config.signing_behavior()
                            == &OriginAccessControlSigningBehaviors::Always
                            && config.signing_protocol()
                                == &OriginAccessControlSigningProtocols::Sigv4
                            && config.origin_access_control_origin_type()
                                == &OriginAccessControlOriginTypes::S3,
                    }));
                }
            }
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_no_such_origin_access_control()) => {}
            Err(e) => return Err(explain("reading the origin access control", e)),
        }
    }
    find_oac(cf, name).await
}

fn oac_config(name: &str) -> Result<OriginAccessControlConfig> {
    Ok(OriginAccessControlConfig::builder()
        .name(name)
        .description("maint: CloudFront signs every request to the maintenance bucket")
        .signing_protocol(OriginAccessControlSigningProtocols::Sigv4)
        .signing_behavior(OriginAccessControlSigningBehaviors::Always)
        .origin_access_control_origin_type(OriginAccessControlOriginTypes::S3)
        .build()?)
}

pub async fn create_oac(cf: &Client, name: &str) -> Result<String> {
    match cf
        .create_origin_access_control()
        .origin_access_control_config(oac_config(name)?)
        .send()
        .await
    {
        Ok(out) => Ok(out
            .origin_access_control()
            .map(|o| o.id().to_string())
            .unwrap_or_default()),
        // Made by an earlier, interrupted run: use it.
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_origin_access_control_already_exists()) =>
        {
            match find_oac(cf, name).await? {
                Some(oac) => Ok(oac.id),
                None => Err(explain("creating the origin access control", e)),
            }
        }
        Err(e) => Err(explain("creating the origin access control", e)),
    }
}

/// Resets the OAC's signing settings to what maint needs.
pub async fn fix_oac(cf: &Client, id: &str, name: &str) -> Result<()> {
    let current = cf
        .get_origin_access_control()
        .id(id)
        .send()
        .await
        .map_err(|e| explain("reading the origin access control", e))?;
    cf.update_origin_access_control()
        .id(id)
        .if_match(current.e_tag().unwrap_or_default())
        .origin_access_control_config(oac_config(name)?)
        .send()
        .await
        .map_err(|e| explain("updating the origin access control", e))?;
    Ok(())
}

pub async fn delete_oac(cf: &Client, id: &str) -> Result<()> {
    let current = match cf.get_origin_access_control().id(id).send().await {
        Ok(out) => out,
        Err(e) => {
            return gone(
                e,
                |s| s.is_no_such_origin_access_control(),
                "reading the origin access control",
            );
        }
    };
    match cf
        .delete_origin_access_control()
        .id(id)
        .if_match(current.e_tag().unwrap_or_default())
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) => gone(
            e,
            |s| s.is_no_such_origin_access_control(),
            "deleting the origin access control",
        ),
    }
}
