//! The window's KeyValueStore: created, found and deleted through CloudFront's
//! control plane; its keys read and written through the separate
//! `cloudfront-keyvaluestore` data plane, signed with SigV4A, each write with
//! the store's ETag.

use anyhow::{Result, bail};
use aws_sdk_cloudfront::Client;
use aws_sdk_cloudfrontkeyvaluestore::Client as KvsClient;

use super::{Attempt, absent, explain, explain_kvs, with_if_match};
use crate::window::plan::Store;
use crate::window::{STATE_KEY, State};

pub async fn find_store(cf: &Client, name: &str) -> Result<Option<Store>> {
    match cf.describe_key_value_store().name(name).send().await {
        Ok(out) => Ok(out.key_value_store().map(|s| Store {
            arn: s.arn().to_string(),
            status: s.status().unwrap_or_default().to_string(),
            etag: out.e_tag().unwrap_or_default().to_string(),
        })),
        Err(e) => absent(
            e,
            |s| s.is_entity_not_found(),
            "reading the key value store",
        ),
    }
}

/// Creates the store `name` with `comment` (at most 128 characters).
pub async fn create_store(cf: &Client, name: &str, comment: &str) -> Result<Store> {
    match cf
        .create_key_value_store()
        .name(name)
        .comment(comment)
        .send()
        .await
    {
        Ok(out) => match out.key_value_store() {
            Some(s) => Ok(Store {
                arn: s.arn().to_string(),
                status: s.status().unwrap_or_default().to_string(),
                etag: out.e_tag().unwrap_or_default().to_string(),
            }),
            None => bail!("creating the key value store: AWS returned no store"),
        },
        // Made by an earlier, interrupted run.
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_entity_already_exists()) =>
        {
            match find_store(cf, name).await? {
                Some(store) => Ok(store),
                None => Err(explain("creating the key value store", e)),
            }
        }
        Err(e) => Err(explain("creating the key value store", e)),
    }
}

pub async fn delete_store(cf: &Client, name: &str) -> Result<()> {
    let Some(store) = find_store(cf, name).await? else {
        return Ok(());
    };
    match cf
        .delete_key_value_store()
        .name(name)
        .if_match(&store.etag)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_entity_not_found()) =>
        {
            Ok(())
        }
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_cannot_delete_entity_while_in_use()) =>
        {
            bail!(
                "key value store {name} is still in use by a function: run `maint detach` again in a minute"
            )
        }
        Err(e) => Err(explain("deleting the key value store", e)),
    }
}

/// The window's state as the store holds it; `None` when it holds none (or
/// something maint did not write).
pub async fn get_state(kvs: &KvsClient, store_arn: &str) -> Result<Option<State>> {
    Ok(get_key(kvs, store_arn, STATE_KEY)
        .await?
        .and_then(|v| State::from_value(&v)))
}

/// Reads one key; `None` when the store does not have it.
pub async fn get_key(kvs: &KvsClient, store_arn: &str, key: &str) -> Result<Option<String>> {
    match kvs.get_key().kvs_arn(store_arn).key(key).send().await {
        Ok(out) => Ok(Some(out.value().to_string())),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found_exception()) =>
        {
            Ok(None)
        }
        Err(e) => Err(explain_kvs(
            &format!("reading `{key}` from the key value store"),
            e,
        )),
    }
}

/// Writes one key: the store's ETag (from the data plane), then PutKey with
/// If-Match. A concurrent write makes the ETag stale: read it again and retry.
/// The store's ETag as its data plane gives it, for a write's If-Match.
async fn data_plane_etag(kvs: &KvsClient, store_arn: &str) -> Result<String> {
    Ok(kvs
        .describe_key_value_store()
        .kvs_arn(store_arn)
        .send()
        .await
        .map_err(|e| explain_kvs("reading the key value store", e))?
        .e_tag()
        .to_string())
}

pub async fn put_key(kvs: &KvsClient, store_arn: &str, key: &str, value: &str) -> Result<()> {
    with_if_match("the key value store", || async {
        let etag = data_plane_etag(kvs, store_arn).await?;
        match kvs
            .put_key()
            .kvs_arn(store_arn)
            .key(key)
            .value(value)
            .if_match(etag)
            .send()
            .await
        {
            Ok(_) => Ok(Attempt::Done(())),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conflict_exception()) =>
            {
                Ok(Attempt::Stale)
            }
            Err(e) => Err(explain_kvs(
                &format!("writing `{key}` to the key value store"),
                e,
            )),
        }
    })
    .await
}

/// Writes several keys in one UpdateKeys (atomic: the function sees all of
/// them or none), with the store's ETag from the data plane; a concurrent
/// write makes the ETag stale: read it again and retry.
pub async fn put_keys(kvs: &KvsClient, store_arn: &str, entries: &[(&str, &str)]) -> Result<()> {
    use aws_sdk_cloudfrontkeyvaluestore::types::PutKeyRequestListItem;
    let mut puts = Vec::new();
    for (key, value) in entries {
        puts.push(
            PutKeyRequestListItem::builder()
                .key(*key)
                .value(*value)
                .build()?,
        );
    }
    with_if_match("the key value store", || async {
        let etag = data_plane_etag(kvs, store_arn).await?;
        match kvs
            .update_keys()
            .kvs_arn(store_arn)
            .set_puts(Some(puts.clone()))
            .if_match(etag)
            .send()
            .await
        {
            Ok(_) => Ok(Attempt::Done(())),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conflict_exception()) =>
            {
                Ok(Attempt::Stale)
            }
            Err(e) => Err(explain_kvs("writing to the key value store", e)),
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    //! What the emulator cannot produce: the KeyValueStore data plane
    //! refusing a SigV4A signature made with the wrong kind of session token.
    use super::*;
    use aws_smithy_mocks::{mock, mock_client};
    use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;

    const ARN: &str =
        "arn:aws:cloudfront::123456789012:key-value-store/0123abcd-0000-4000-8000-000000000000";

    fn refused(code: &'static str, message: &'static str) -> HttpResponse {
        let mut response = HttpResponse::new(
            StatusCode::try_from(403).unwrap(),
            SdkBody::from(format!(r#"{{"__type":"{code}","message":"{message}"}}"#)),
        );
        response.headers_mut().insert("x-amzn-ErrorType", code);
        response
            .headers_mut()
            .insert("content-type", "application/json");
        response
    }

    #[tokio::test]
    async fn an_authentication_failure_of_the_store_points_at_sts_session_tokens() {
        // What AWS answers when the session token comes from STS's global
        // endpoint (version 1), which SigV4A does not accept.
        let describe = mock!(aws_sdk_cloudfrontkeyvaluestore::Client::describe_key_value_store)
            .then_http_response(|| refused("AccessDeniedException", "Authentication failed"));
        let kvs = mock_client!(aws_sdk_cloudfrontkeyvaluestore, [&describe]);
        let err = put_key(&kvs, ARN, "maint-window", "on").await.unwrap_err();
        let text = format!("{err:#}");
        assert!(text.contains("Authentication failed"), "{text}");
        assert!(text.contains("Regional STS endpoint"), "{text}");
        assert!(text.contains("v2Token"), "{text}");
        assert!(
            !text.contains("maint grant"),
            "not a missing permission: {text}"
        );
    }

    #[tokio::test]
    async fn a_real_permission_refusal_of_the_store_still_points_at_grant() {
        let get =
            mock!(aws_sdk_cloudfrontkeyvaluestore::Client::get_key).then_http_response(|| {
                refused(
                    "AccessDeniedException",
                    "User is not authorized to perform: cloudfront-keyvaluestore:GetKey",
                )
            });
        let kvs = mock_client!(aws_sdk_cloudfrontkeyvaluestore, [&get]);
        let err = get_key(&kvs, ARN, "maint-window").await.unwrap_err();
        let text = format!("{err:#}");
        assert!(text.contains("maint grant --print"), "{text}");
        assert!(!text.contains("Regional STS endpoint"), "{text}");
    }
}
