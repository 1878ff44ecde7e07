//! The window's CloudFront Function: its two stages (DEVELOPMENT, LIVE) with
//! their code and ETags, created and updated with the store association,
//! tested on CloudFront's engine (TestFunction), published, deleted.

use anyhow::{Result, bail};
use aws_sdk_cloudfront::Client;
use aws_sdk_cloudfront::primitives::Blob;
use aws_sdk_cloudfront::types::{
    FunctionConfig, FunctionRuntime, FunctionStage, KeyValueStoreAssociation,
    KeyValueStoreAssociations,
};

use super::{Attempt, absent, explain, with_if_match};
use crate::window::plan::FunctionState;

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
        Err(e) => absent(
            e,
            |s| s.is_no_such_function_exists(),
            &format!("reading the window function ({stage})"),
        ),
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
        Err(e) => absent(
            e,
            |s| s.is_no_such_function_exists(),
            &format!("reading the window function's code ({stage})"),
        ),
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

/// The function's LIVE code; `None` when it was never published or is gone.
pub async fn live_code(cf: &Client, name: &str) -> Result<Option<Vec<u8>>> {
    stage_code_if_any(cf, name, FunctionStage::Live).await
}
