//! Window mode on AWS: the KeyValueStore (control plane on CloudFront, data
//! through the separate `cloudfront-keyvaluestore` service, signed with
//! SigV4A), the CloudFront Function, and its association with the
//! distribution's cache behaviors.

use anyhow::{Result, bail};
use aws_sdk_cloudfront::Client;
use aws_sdk_cloudfront::primitives::Blob;
use aws_sdk_cloudfront::types::{
    CacheBehavior, DistributionConfig, EventType, FunctionAssociation, FunctionAssociations,
    FunctionConfig, FunctionRuntime, FunctionStage, KeyValueStoreAssociation,
    KeyValueStoreAssociations,
};
use aws_sdk_cloudfrontkeyvaluestore::Client as KvsClient;

use super::{Attempt, explain, explain_kvs, with_if_match};
use crate::grant::Dependencies;
use crate::window::plan::{FunctionState, ObservedWindow, Store};
use crate::window::{BYPASS_KEY, Behavior, DEFAULT_BEHAVIOR, Slot, WindowSpec};

pub async fn find_store(cf: &Client, name: &str) -> Result<Option<Store>> {
    match cf.describe_key_value_store().name(name).send().await {
        Ok(out) => Ok(out.key_value_store().map(|s| Store {
            arn: s.arn().to_string(),
            status: s.status().unwrap_or_default().to_string(),
            etag: out.e_tag().unwrap_or_default().to_string(),
        })),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_entity_not_found()) =>
        {
            Ok(None)
        }
        Err(e) => Err(explain("reading the key value store", e)),
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

pub async fn find_function(cf: &Client, name: &str) -> Result<Option<FunctionState>> {
    let Some(described) = describe_stage(cf, name, FunctionStage::Development).await? else {
        return Ok(None);
    };
    let Some(summary) = described.function_summary() else {
        return Ok(None);
    };
    let config = summary.function_config();
    // A LIVE answer for another stage means "never published" (AWS says
    // NoSuchFunctionExists; an emulator may ignore the stage asked for).
    let live = describe_stage(cf, name, FunctionStage::Live)
        .await?
        .and_then(|d| d.function_summary()?.function_metadata()?.stage().cloned());
    let live_code = match live {
        Some(FunctionStage::Live) => Some(stage_code(cf, name, FunctionStage::Live).await?),
        _ => None,
    };
    Ok(Some(FunctionState {
        arn: summary
            .function_metadata()
            .map(|m| m.function_arn().to_string())
            .unwrap_or_default(),
        etag: described.e_tag().unwrap_or_default().to_string(),
        code: stage_code(cf, name, FunctionStage::Development).await?,
        runtime: config
            .map(|c| c.runtime().as_str().to_string())
            .unwrap_or_default(),
        store_arns: config
            .and_then(FunctionConfig::key_value_store_associations)
            .map(|a| {
                a.items()
                    .iter()
                    .map(|i| i.key_value_store_arn().to_string())
                    .collect()
            })
            .unwrap_or_default(),
        live_code,
    }))
}

async fn describe_stage(
    cf: &Client,
    name: &str,
    stage: FunctionStage,
) -> Result<Option<aws_sdk_cloudfront::operation::describe_function::DescribeFunctionOutput>> {
    match cf
        .describe_function()
        .name(name)
        .stage(stage.clone())
        .send()
        .await
    {
        Ok(out) => Ok(Some(out)),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_no_such_function_exists()) =>
        {
            Ok(None)
        }
        Err(e) => Err(explain(
            &format!("reading the window function ({stage})"),
            e,
        )),
    }
}

async fn stage_code(cf: &Client, name: &str, stage: FunctionStage) -> Result<Vec<u8>> {
    match stage_code_if_any(cf, name, stage.clone()).await? {
        Some(code) => Ok(code),
        None => bail!("reading the window function's code ({stage}): function {name} is gone"),
    }
}

/// A stage's code; `None` when the function (or that stage) does not exist.
async fn stage_code_if_any(
    cf: &Client,
    name: &str,
    stage: FunctionStage,
) -> Result<Option<Vec<u8>>> {
    match cf
        .get_function()
        .name(name)
        .stage(stage.clone())
        .send()
        .await
    {
        Ok(out) => Ok(Some(
            out.function_code()
                .map(|b| b.as_ref().to_vec())
                .unwrap_or_default(),
        )),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_no_such_function_exists()) =>
        {
            Ok(None)
        }
        Err(e) => Err(explain(
            &format!("reading the window function's code ({stage})"),
            e,
        )),
    }
}

fn function_config(comment: &str, store_arn: &str) -> Result<FunctionConfig> {
    Ok(FunctionConfig::builder()
        .comment(comment)
        .runtime(FunctionRuntime::CloudfrontJs20)
        .key_value_store_associations(
            KeyValueStoreAssociations::builder()
                .quantity(1)
                .items(
                    KeyValueStoreAssociation::builder()
                        .key_value_store_arn(store_arn)
                        .build()?,
                )
                .build()?,
        )
        .build()?)
}

/// Creates the function; returns its ARN and the ETag of its DEVELOPMENT
/// stage. A function of that name already there (an earlier run, or a
/// create whose answer was lost and which the SDK retried: AWS answers
/// FunctionAlreadyExists) is described and given this code instead.
pub async fn create_function(
    cf: &Client,
    name: &str,
    code: &str,
    comment: &str,
    store_arn: &str,
) -> Result<(String, String)> {
    let created = cf
        .create_function()
        .name(name)
        .function_config(function_config(comment, store_arn)?)
        .function_code(Blob::new(code.as_bytes()))
        .customize()
        .config_override(super::slow_cloudfront())
        .send()
        .await;
    match created {
        Ok(out) => {
            let arn = out
                .function_summary()
                .and_then(|s| s.function_metadata())
                .map(|m| m.function_arn().to_string())
                .unwrap_or_default();
            Ok((arn, out.e_tag().unwrap_or_default().to_string()))
        }
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_function_already_exists()) =>
        {
            let Some(found) = describe_stage(cf, name, FunctionStage::Development).await? else {
                return Err(explain("creating the window function", e));
            };
            let arn = found
                .function_summary()
                .and_then(|s| s.function_metadata())
                .map(|m| m.function_arn().to_string())
                .unwrap_or_default();
            let etag = found.e_tag().unwrap_or_default();
            let etag = update_function(cf, name, etag, code, comment, store_arn).await?;
            Ok((arn, etag))
        }
        Err(e) => Err(explain("creating the window function", e)),
    }
}

/// Replaces the function's DEVELOPMENT code and config; returns the new ETag.
pub async fn update_function(
    cf: &Client,
    name: &str,
    etag: &str,
    code: &str,
    comment: &str,
    store_arn: &str,
) -> Result<String> {
    let out = cf
        .update_function()
        .name(name)
        .if_match(etag)
        .function_config(function_config(comment, store_arn)?)
        .function_code(Blob::new(code.as_bytes()))
        .customize()
        .config_override(super::slow_cloudfront())
        .send()
        .await
        .map_err(|e| explain("updating the window function", e))?;
    Ok(out.e_tag().unwrap_or_default().to_string())
}

/// Copies DEVELOPMENT to LIVE, which distributions run.
pub async fn publish_function(cf: &Client, name: &str, etag: &str) -> Result<()> {
    cf.publish_function()
        .name(name)
        .if_match(etag)
        .customize()
        .config_override(super::slow_cloudfront())
        .send()
        .await
        .map_err(|e| explain("publishing the window function", e))?;
    Ok(())
}

/// What CloudFront's TestFunction said of one run of the DEVELOPMENT code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestRun {
    /// `FunctionErrorMessage`: a syntax error, an exception, a limit.
    pub error: Option<String>,
    /// `FunctionOutput`: `{"request": …}` or `{"response": …}`, as JSON.
    pub output: Option<String>,
    /// `ComputeUtilization`: the share of the time limit used, 0-100.
    pub compute_utilization: Option<u32>,
    pub logs: Vec<String>,
}

/// Runs the function's DEVELOPMENT stage on CloudFront's own engine, on one
/// event (JSON), with the store it is associated with.
pub async fn test_function(cf: &Client, name: &str, etag: &str, event: &[u8]) -> Result<TestRun> {
    let out = cf
        .test_function()
        .name(name)
        .if_match(etag)
        .stage(FunctionStage::Development)
        .event_object(Blob::new(event))
        .customize()
        .config_override(super::slow_cloudfront())
        .send()
        .await
        .map_err(|e| {
            explain(
                "testing the window function on CloudFront (TestFunction)",
                e,
            )
        })?;
    let Some(result) = out.test_result() else {
        bail!("testing the window function on CloudFront: AWS returned no result");
    };
    Ok(TestRun {
        error: result
            .function_error_message()
            .filter(|m| !m.is_empty())
            .map(str::to_string),
        output: result.function_output().map(str::to_string),
        compute_utilization: result
            .compute_utilization()
            .and_then(|u| u.trim().parse::<f64>().ok())
            .map(|u| u.clamp(0.0, 1000.0).round() as u32),
        logs: result.function_execution_logs().to_vec(),
    })
}

/// Deletes the function. DeleteFunction's If-Match takes the ETag of the
/// DEVELOPMENT stage (DescribeFunction's default stage is not documented; it
/// is asked for by name, as Terraform does); a PreconditionFailed means the
/// function changed meanwhile: read it again and retry.
pub async fn delete_function(cf: &Client, name: &str) -> Result<()> {
    with_if_match(&format!("function {name}"), || async {
        let Some(found) = describe_stage(cf, name, FunctionStage::Development).await? else {
            return Ok(Attempt::Done(()));
        };
        let etag = found.e_tag().unwrap_or_default();
        match cf.delete_function().name(name).if_match(etag).send().await {
            Ok(_) => Ok(Attempt::Done(())),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_no_such_function_exists()) =>
            {
                Ok(Attempt::Done(()))
            }
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_precondition_failed()) =>
            {
                Ok(Attempt::Stale)
            }
            Err(e) if e.as_service_error().is_some_and(|s| s.is_function_in_use()) => bail!(
                "function {name} is still associated with a distribution (the change may still be \
                 deploying): run `maint detach` again in a few minutes"
            ),
            Err(e) => Err(explain("deleting the window function", e)),
        }
    })
    .await
}

fn is_ours(arn: &str, function_name: &str) -> bool {
    arn.ends_with(&format!(":function/{function_name}"))
}

fn viewer_request_slot(
    functions: Option<&FunctionAssociations>,
    lambdas: Option<&aws_sdk_cloudfront::types::LambdaFunctionAssociations>,
    function_name: &str,
) -> Slot {
    let function = functions
        .map(FunctionAssociations::items)
        .unwrap_or_default()
        .iter()
        .find(|a| a.event_type() == &EventType::ViewerRequest);
    if let Some(a) = function {
        return if is_ours(a.function_arn(), function_name) {
            Slot::Ours
        } else {
            Slot::Function(a.function_arn().to_string())
        };
    }
    // Lambda@Edge on either viewer event rules a CloudFront Function out
    // (aws-facts: "CloudFront Functions and KeyValueStore"); on origin
    // events it may stay.
    let lambda = lambdas
        .map(|l| l.items())
        .unwrap_or_default()
        .iter()
        .find(|a| {
            matches!(
                a.event_type(),
                EventType::ViewerRequest | EventType::ViewerResponse
            )
        });
    match lambda {
        Some(a) => Slot::LambdaEdge {
            arn: a.lambda_function_arn().to_string(),
            event: a.event_type().as_str().to_string(),
        },
        None => Slot::Free,
    }
}

/// Every cache behavior of distribution `id` (the default first, as `*`)
/// and who holds its viewer-request slot.
pub async fn behaviors(cf: &Client, id: &str, function_name: &str) -> Result<Vec<Behavior>> {
    let found = super::distribution::read_distribution(cf, id).await?;
    Ok(behaviors_of(&found.config, function_name))
}

/// The web ACL and Lambda@Edge versions distribution `id` names, which
/// UpdateDistribution checks the caller may read (docs/iam.md).
pub async fn dependencies(cf: &Client, id: &str) -> Result<Dependencies> {
    let found = super::distribution::read_distribution(cf, id).await?;
    Ok(dependencies_of(&found.config))
}

/// What `config` names beyond CloudFront. Pure.
pub fn dependencies_of(config: &DistributionConfig) -> Dependencies {
    let default = config
        .default_cache_behavior()
        .and_then(|b| b.lambda_function_associations());
    let others = config
        .cache_behaviors()
        .map(|c| c.items())
        .unwrap_or_default()
        .iter()
        .filter_map(CacheBehavior::lambda_function_associations);
    let mut edge_functions: Vec<String> = default
        .into_iter()
        .chain(others)
        .flat_map(|l| l.items())
        .map(|a| a.lambda_function_arn().to_string())
        .collect();
    edge_functions.sort();
    edge_functions.dedup();
    Dependencies {
        web_acl: config
            .web_acl_id()
            .filter(|acl| !acl.is_empty())
            .map(str::to_string),
        edge_functions,
    }
}

/// Every cache behavior of `config` and its viewer-request slot. Pure.
pub fn behaviors_of(config: &DistributionConfig, function_name: &str) -> Vec<Behavior> {
    let mut out = Vec::new();
    if let Some(b) = config.default_cache_behavior() {
        out.push(Behavior {
            pattern: DEFAULT_BEHAVIOR.to_string(),
            slot: viewer_request_slot(
                b.function_associations(),
                b.lambda_function_associations(),
                function_name,
            ),
        });
    }
    for b in config
        .cache_behaviors()
        .map(|c| c.items())
        .unwrap_or_default()
    {
        out.push(Behavior {
            pattern: b.path_pattern().to_string(),
            slot: viewer_request_slot(
                b.function_associations(),
                b.lambda_function_associations(),
                function_name,
            ),
        });
    }
    out
}

fn with_ours(
    current: Option<&FunctionAssociations>,
    function_arn: &str,
    function_name: &str,
) -> Result<FunctionAssociations> {
    let mut items: Vec<FunctionAssociation> = current
        .map(FunctionAssociations::items)
        .unwrap_or_default()
        .iter()
        .filter(|a| !is_ours(a.function_arn(), function_name))
        .cloned()
        .collect();
    items.push(
        FunctionAssociation::builder()
            .function_arn(function_arn)
            .event_type(EventType::ViewerRequest)
            .build()?,
    );
    Ok(FunctionAssociations::builder()
        .quantity(items.len() as i32)
        .set_items(Some(items))
        .build()?)
}

fn without_ours(
    current: Option<&FunctionAssociations>,
    function_name: &str,
) -> Result<FunctionAssociations> {
    let items: Vec<FunctionAssociation> = current
        .map(FunctionAssociations::items)
        .unwrap_or_default()
        .iter()
        .filter(|a| !is_ours(a.function_arn(), function_name))
        .cloned()
        .collect();
    Ok(FunctionAssociations::builder()
        .quantity(items.len() as i32)
        .set_items((!items.is_empty()).then_some(items))
        .build()?)
}

/// Puts the function on viewer-request of exactly the `covered` behaviors
/// of distribution `id` (read-modify-write with If-Match); nothing else in
/// the distribution changes.
pub async fn associate(
    cf: &Client,
    id: &str,
    covered: &[String],
    function_arn: &str,
    function_name: &str,
) -> Result<()> {
    super::distribution::modify_distribution(cf, id, |config| {
        with_function_on(config, covered, function_arn, function_name).map(Some)
    })
    .await
}

/// Takes the function off every behavior of distribution `id`.
pub async fn dissociate(cf: &Client, id: &str, function_name: &str) -> Result<()> {
    super::distribution::modify_distribution(cf, id, |config| {
        with_function_on(config, &[], "", function_name).map(Some)
    })
    .await
}

/// `config` with the function on viewer-request of exactly the `covered`
/// behaviors and of no other. Everything else is left as read. Pure.
fn with_function_on(
    config: &DistributionConfig,
    covered: &[String],
    function_arn: &str,
    function_name: &str,
) -> Result<DistributionConfig> {
    let mut config = config.clone();
    let wants = |pattern: &str| covered.iter().any(|c| c == pattern);
    if let Some(b) = config.default_cache_behavior.as_mut() {
        b.function_associations = Some(if wants(DEFAULT_BEHAVIOR) {
            with_ours(
                b.function_associations.as_ref(),
                function_arn,
                function_name,
            )?
        } else {
            without_ours(b.function_associations.as_ref(), function_name)?
        });
    }
    if let Some(list) = config.cache_behaviors.as_mut() {
        let items: Option<&mut Vec<CacheBehavior>> = list.items.as_mut();
        for b in items.into_iter().flatten() {
            b.function_associations = Some(if wants(&b.path_pattern) {
                with_ours(
                    b.function_associations.as_ref(),
                    function_arn,
                    function_name,
                )?
            } else {
                without_ours(b.function_associations.as_ref(), function_name)?
            });
        }
    }
    Ok(config)
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

/// The function's LIVE code; `None` when it was never published or is gone.
pub async fn live_code(cf: &Client, name: &str) -> Result<Option<Vec<u8>>> {
    stage_code_if_any(cf, name, FunctionStage::Live).await
}

/// What decides whether visitors get the window: who holds each behavior's
/// viewer-request slot, read with one GetDistribution, and when the
/// distribution last changed.
pub async fn serving(cf: &Client, id: &str, function_name: &str) -> Result<Serving> {
    let out = cf
        .get_distribution()
        .id(id)
        .send()
        .await
        .map_err(|e| explain(&format!("reading distribution {id}"), e))?;
    let Some(dist) = out.distribution() else {
        bail!("reading distribution {id}: AWS returned no distribution");
    };
    let Some(config) = dist.distribution_config() else {
        bail!("reading distribution {id}: AWS returned no config");
    };
    Ok(Serving {
        behaviors: behaviors_of(config, function_name),
        last_modified: dist
            .last_modified_time()
            .fmt(aws_smithy_types::date_time::Format::DateTime)
            .ok(),
    })
}

/// The distribution's side of `serving`.
#[derive(Debug, Clone)]
pub struct Serving {
    pub behaviors: Vec<Behavior>,
    /// RFC 3339.
    pub last_modified: Option<String>,
}

/// What AWS has for the window of `spec`: the distribution's behaviors, the
/// store, the function, and (when a secret is configured) the stored hash.
pub async fn observe(
    spec: &WindowSpec,
    clients: &super::Clients,
    with_secret: bool,
) -> Result<ObservedWindow> {
    let cf = &clients.cloudfront;
    let (store_name, function_name) = (spec.store_name(), spec.function_name());
    let (behaviors, store, function) = tokio::try_join!(
        behaviors(cf, spec.distribution.as_str(), &function_name),
        find_store(cf, &store_name),
        find_function(cf, &function_name),
    )?;
    let bypass_hash = match (&store, with_secret) {
        (Some(store), true) => get_key(&clients.kvs, &store.arn, BYPASS_KEY).await?,
        _ => None,
    };
    Ok(ObservedWindow {
        store,
        function,
        behaviors,
        bypass_hash,
    })
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
