//! The function on the distribution's cache behaviors: who holds each
//! behavior's viewer-request slot, maint's association added or removed by
//! read-modify-write (nothing else in the config changes), what the config
//! names that CloudFront checks on a write (web ACL, Lambda@Edge), and whether
//! the distribution serves the window now.

use anyhow::{Result, bail};
use aws_sdk_cloudfront::Client;
use aws_sdk_cloudfront::types::{
    CacheBehavior, DistributionConfig, EventType, FunctionAssociation, FunctionAssociations,
};

use super::explain;
use crate::grant::Dependencies;
use crate::window::{Behavior, DEFAULT_BEHAVIOR, Slot};

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
        .map(|v| v.items())
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
        .map(|v| v.items())
        .unwrap_or_default()
        .iter()
        .filter_map(CacheBehavior::lambda_function_associations);
    let mut edge_functions: Vec<String> = default
        .into_iter()
        .chain(others)
        .flat_map(aws_sdk_cloudfront::types::LambdaFunctionAssociations::items)
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
        .map(|v| v.items())
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
        domain: dist.domain_name().to_string(),
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
    /// Where visitors reach it (`d111111abcdef8.cloudfront.net`).
    pub domain: String,
    pub behaviors: Vec<Behavior>,
    /// RFC 3339.
    pub last_modified: Option<String>,
}
