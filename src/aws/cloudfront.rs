//! CloudFront: the Origin Access Control, the distribution, invalidations.
//!
//! maint finds its distribution by the marker in its Comment (ListDistributions
//! returns comments; it does not return CallerReferences), so it needs no local
//! state. Updates are read-modify-write: the config read back is cloned and only
//! the fields maint owns are replaced, so fields it does not know survive.

use std::collections::BTreeMap;

use anyhow::{Result, bail};
use aws_sdk_cloudfront::Client;
use aws_sdk_cloudfront::types::{
    AllowedMethods, CacheBehaviors, CachedMethods, CustomErrorResponse, CustomErrorResponses,
    DefaultCacheBehavior, DistributionConfig, DistributionConfigWithTags, InvalidationBatch,
    Method, MinimumProtocolVersion, Origin, OriginAccessControlConfig,
    OriginAccessControlOriginTypes, OriginAccessControlSigningBehaviors,
    OriginAccessControlSigningProtocols, Origins, Paths, PriceClass, S3OriginConfig,
    SslSupportMethod, Tag, Tags, ViewerCertificate, ViewerProtocolPolicy,
};
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use serde::Serialize;

use super::{Attempt, explain, with_if_match};
use crate::site::plan::{Deployment, ObservedDistribution, ObservedOac};
use crate::site::{BehaviorShape, DistributionShape, ErrorResponseShape, OriginShape, SiteSpec};

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
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_no_such_origin_access_control()) =>
        {
            return Ok(());
        }
        Err(e) => return Err(explain("reading the origin access control", e)),
    };
    match cf
        .delete_origin_access_control()
        .id(id)
        .if_match(current.e_tag().unwrap_or_default())
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_no_such_origin_access_control()) =>
        {
            Ok(())
        }
        Err(e) => Err(explain("deleting the origin access control", e)),
    }
}

/// A distribution as read, with what a read-modify-write needs (the SDK's
/// config and ETag stay inside `aws`).
#[derive(Debug, Clone)]
pub struct FoundDistribution {
    pub observed: ObservedDistribution,
    pub(in crate::aws) config: DistributionConfig,
    pub(in crate::aws) etag: String,
}

/// Read-modify-write of a distribution's config with If-Match: `change` gets
/// the config as read and returns the one to write (or `None`: nothing to
/// do). On PreconditionFailed someone else changed it meanwhile: read again
/// and redo the change on top, so nobody's edit is lost. The one place maint
/// updates a distribution.
pub(in crate::aws) async fn modify_distribution<F>(cf: &Client, id: &str, change: F) -> Result<()>
where
    F: Fn(&DistributionConfig) -> Result<Option<DistributionConfig>>,
{
    with_if_match(&format!("distribution {id}"), || async {
        let current = read_distribution(cf, id).await?;
        let Some(config) = change(&current.config)? else {
            return Ok(Attempt::Done(()));
        };
        update_distribution(cf, id, &current.etag, config).await
    })
    .await
}

/// Makes the site distribution match `spec` (served through `oac_id`),
/// changing only the fields maint owns.
pub async fn update_site(cf: &Client, spec: &SiteSpec, id: &str, oac_id: &str) -> Result<()> {
    modify_distribution(cf, id, |current| {
        site_config(spec, oac_id, Some(current)).map(Some)
    })
    .await
}

/// Disables the distribution (a delete needs it disabled and deployed).
pub async fn disable_distribution(cf: &Client, id: &str) -> Result<()> {
    modify_distribution(cf, id, |current| {
        Ok(current.enabled().then(|| {
            let mut config = current.clone();
            config.enabled = false;
            config
        }))
    })
    .await
}

/// Where a distribution's deletion stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteAttempt {
    /// Deleted, or already gone.
    Done,
    /// Disabled, but not deployed yet: wait, then try again.
    NotDeployed,
    /// Enabled again (someone else): it cannot be deleted.
    Enabled,
}

/// Deletes a disabled, deployed distribution with the ETag just read;
/// re-reads and retries on a concurrent change.
pub async fn delete_distribution_when_ready(cf: &Client, id: &str) -> Result<DeleteAttempt> {
    with_if_match(&format!("distribution {id}"), || async {
        let current = match read_distribution(cf, id).await {
            Ok(current) => current,
            Err(e) if is_no_such_distribution(&e) => return Ok(Attempt::Done(DeleteAttempt::Done)),
            Err(e) => return Err(e),
        };
        if current.config.enabled() {
            return Ok(Attempt::Done(DeleteAttempt::Enabled));
        }
        if !current.observed.deployed() {
            return Ok(Attempt::Done(DeleteAttempt::NotDeployed));
        }
        Ok(match delete_distribution(cf, id, &current.etag).await? {
            Attempt::Done(()) => Attempt::Done(DeleteAttempt::Done),
            Attempt::Stale => Attempt::Stale,
        })
    })
    .await
}

fn is_no_such_distribution(err: &anyhow::Error) -> bool {
    format!("{err:#}").contains("NoSuchDistribution")
}

/// The domain name visitors reach distribution `id` at.
pub async fn distribution_domain(cf: &Client, id: &str) -> Result<String> {
    Ok(read_distribution(cf, id).await?.observed.domain)
}

/// Whether `id` can be a CloudFront distribution id (`E2QWRUHEXAMPLE`): a
/// record read from page metadata, which anyone with s3:PutObject can write,
/// is never sent to AWS unless it is one.
fn plausible_distribution_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// The site's distribution: the one the page records when it still carries
/// the site's comment (one GetDistribution), else found by listing every
/// distribution in the account (the record is missing or stale).
pub async fn find_site_distribution(
    cf: &Client,
    listings: Option<&Listings>,
    marker: &str,
    recorded: Option<&str>,
) -> Result<Option<FoundDistribution>> {
    if let Some(id) = recorded.filter(|id| plausible_distribution_id(id)) {
        match read_distribution(cf, id).await {
            Ok(found) if found.config.comment() == marker => return Ok(Some(found)),
            Ok(_) => tracing::debug!("distribution {id} is not this site's: the record is stale"),
            // Gone, or not readable with these credentials (a page copied
            // from another environment records that one's distribution, and
            // a CI policy names only its own): the listing decides.
            Err(err) => tracing::debug!("the recorded distribution {id}: {err:#}; listing instead"),
        }
    }
    let id = match listings {
        Some(listings) => listings.distribution_id(cf, marker).await?,
        None => find_distribution_id(cf, marker).await?,
    };
    match id {
        Some(id) => read_distribution(cf, &id).await.map(Some),
        None => Ok(None),
    }
}

/// The site's distribution id, as `find_site_distribution` finds it, for
/// commands that need nothing more (invalidations): no tags read.
pub async fn site_distribution_id(
    cf: &Client,
    marker: &str,
    recorded: Option<&str>,
) -> Result<Option<String>> {
    if let Some(id) = recorded.filter(|id| plausible_distribution_id(id)) {
        match cf.get_distribution().id(id).send().await {
            Ok(out) => {
                let comment = out
                    .distribution()
                    .and_then(|d| d.distribution_config())
                    .map(DistributionConfig::comment);
                if comment == Some(marker) {
                    return Ok(Some(id.to_string()));
                }
                tracing::debug!("distribution {id} is not this site's: the record is stale");
            }
            // Gone, or not readable with these credentials: the listing
            // decides (see find_site_distribution).
            Err(err) => {
                let err = explain(&format!("reading distribution {id}"), err);
                tracing::debug!("the recorded distribution {id}: {err:#}; listing instead");
            }
        }
    }
    find_distribution_id(cf, marker).await
}

/// The id of the distribution whose Comment is `marker`: listing only, for
/// commands that need nothing more (invalidations).
pub async fn find_distribution_id(cf: &Client, marker: &str) -> Result<Option<String>> {
    pick_distribution(&list_distributions(cf).await?, marker)
}

/// Every distribution in the account, as (comment, id).
async fn list_distributions(cf: &Client) -> Result<Vec<(String, String)>> {
    let mut page_marker = None;
    let mut all = Vec::new();
    loop {
        let page = cf
            .list_distributions()
            .set_marker(page_marker)
            .send()
            .await
            .map_err(|e| explain("listing distributions", e))?;
        let Some(list) = page.distribution_list() else {
            break;
        };
        all.extend(
            list.items()
                .iter()
                .map(|d| (d.comment().to_string(), d.id().to_string())),
        );
        match list.next_marker() {
            Some(next) if list.is_truncated() && !next.is_empty() => {
                page_marker = Some(next.to_string());
            }
            _ => break,
        }
    }
    Ok(all)
}

/// The one distribution of `all` whose comment is `marker`.
fn pick_distribution(all: &[(String, String)], marker: &str) -> Result<Option<String>> {
    let matches: Vec<&str> = all
        .iter()
        .filter(|(comment, _)| comment == marker)
        .map(|(_, id)| id.as_str())
        .collect();
    match matches.as_slice() {
        [] => Ok(None),
        [id] => Ok(Some((*id).to_string())),
        ids => bail!(
            "{} distributions carry the comment \"{marker}\" ({}): maint manages one. Delete the \
             extra ones in the CloudFront console, then run again",
            ids.len(),
            ids.join(", ")
        ),
    }
}

/// Account-wide listings made once for a read-only run over several
/// environments (see `Clients::listings`).
#[derive(Debug, Default)]
pub struct Listings {
    distributions: tokio::sync::OnceCell<Vec<(String, String)>>,
}

impl Listings {
    async fn distribution_id(&self, cf: &Client, marker: &str) -> Result<Option<String>> {
        let all = self
            .distributions
            .get_or_try_init(|| list_distributions(cf))
            .await?;
        pick_distribution(all, marker)
    }
}

pub async fn read_distribution(cf: &Client, id: &str) -> Result<FoundDistribution> {
    let out = cf
        .get_distribution()
        .id(id)
        .send()
        .await
        .map_err(|e| explain(&format!("reading distribution {id}"), e))?;
    let etag = out.e_tag().unwrap_or_default().to_string();
    let Some(dist) = out.distribution() else {
        bail!("reading distribution {id}: AWS returned no distribution");
    };
    let Some(config) = dist.distribution_config().cloned() else {
        bail!("reading distribution {id}: AWS returned no config");
    };
    let tags = cf
        .list_tags_for_resource()
        .resource(dist.arn())
        .send()
        .await
        .map_err(|e| explain(&format!("reading the tags of distribution {id}"), e))?
        .tags()
        .map(|t| {
            t.items()
                .iter()
                .map(|t| {
                    (
                        t.key().to_string(),
                        t.value().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(FoundDistribution {
        observed: ObservedDistribution {
            id: dist.id().to_string(),
            arn: dist.arn().to_string(),
            domain: dist.domain_name().to_string(),
            status: Deployment::from_status(dist.status()),
            shape: shape_of(&config),
            tags,
        },
        config,
        etag,
    })
}

/// The owned fields of a distribution config, in maint's terms. Pure.
pub fn shape_of(config: &DistributionConfig) -> DistributionShape {
    let origins = config.origins().map(Origins::items).unwrap_or_default();
    let ours = origins
        .iter()
        .find(|o| o.id() == crate::site::ORIGIN_ID)
        .or_else(|| origins.first());
    let origin = ours.map_or_else(
        || OriginShape {
            id: String::new(),
            domain: String::new(),
            oac_id: Some(String::new()),
        },
        |o| OriginShape {
            id: o.id().to_string(),
            domain: o.domain_name().to_string(),
            oac_id: o.origin_access_control_id().map(str::to_string),
        },
    );
    let behavior = config.default_cache_behavior().map_or_else(
        || BehaviorShape {
            target_origin_id: String::new(),
            viewer_protocol_policy: String::new(),
            allowed_methods: Default::default(),
            cached_methods: Default::default(),
            cache_policy_id: None,
            compress: false,
        },
        |b| {
            let allowed = b.allowed_methods();
            BehaviorShape {
                target_origin_id: b.target_origin_id().to_string(),
                viewer_protocol_policy: b.viewer_protocol_policy().as_str().to_string(),
                allowed_methods: allowed
                    .map(|a| a.items().iter().map(|m| m.as_str().to_string()).collect())
                    .unwrap_or_default(),
                cached_methods: allowed
                    .and_then(AllowedMethods::cached_methods)
                    .map(|c| c.items().iter().map(|m| m.as_str().to_string()).collect())
                    .unwrap_or_default(),
                cache_policy_id: b
                    .cache_policy_id()
                    .filter(|s| !s.is_empty())
                    .map(str::to_string),
                compress: b.compress().unwrap_or(false),
            }
        },
    );
    let error_responses = config
        .custom_error_responses()
        .map(CustomErrorResponses::items)
        .unwrap_or_default()
        .iter()
        .map(|r| {
            (
                r.error_code(),
                ErrorResponseShape {
                    page_path: r.response_page_path().unwrap_or_default().to_string(),
                    response_code: r.response_code().unwrap_or_default().to_string(),
                    min_ttl: r.error_caching_min_ttl().unwrap_or(-1),
                },
            )
        })
        .collect();
    DistributionShape {
        comment: config.comment().to_string(),
        enabled: config.enabled(),
        origin,
        behavior,
        extra_origins: origins.len().saturating_sub(1),
        extra_behaviors: config
            .cache_behaviors()
            .map_or(0, |b| b.quantity().max(0) as usize),
        error_responses,
        price_class: config
            .price_class()
            .map(|p| p.as_str().to_string())
            .unwrap_or_default(),
        aliases: config
            .aliases()
            .map(|a| a.items().iter().cloned().collect())
            .unwrap_or_default(),
        certificate: config
            .viewer_certificate()
            .and_then(ViewerCertificate::acm_certificate_arn)
            .filter(|a| !a.is_empty())
            .map(str::to_string),
    }
}

fn methods(items: &[&str]) -> Vec<Method> {
    items.iter().map(|m| Method::from(*m)).collect()
}

/// The config maint wants for `spec`, served through the OAC `oac_id`. With a
/// `base` (the config read back) only owned fields change; everything else,
/// including the CallerReference, is kept as found.
pub fn site_config(
    spec: &SiteSpec,
    oac_id: &str,
    base: Option<&DistributionConfig>,
) -> Result<DistributionConfig> {
    let shape = &spec.distribution;
    let origin = Origin::builder()
        .id(&shape.origin.id)
        .domain_name(&shape.origin.domain)
        .origin_access_control_id(oac_id)
        // With an OAC, the legacy OAI must be present and empty.
        .s3_origin_config(S3OriginConfig::builder().origin_access_identity("").build())
        .build()?;
    let origins = Origins::builder().quantity(1).items(origin).build()?;
    let allowed: Vec<&str> = shape
        .behavior
        .allowed_methods
        .iter()
        .map(String::as_str)
        .collect();
    let cached: Vec<&str> = shape
        .behavior
        .cached_methods
        .iter()
        .map(String::as_str)
        .collect();
    let allowed_methods = AllowedMethods::builder()
        .quantity(allowed.len() as i32)
        .set_items(Some(methods(&allowed)))
        .cached_methods(
            CachedMethods::builder()
                .quantity(cached.len() as i32)
                .set_items(Some(methods(&cached)))
                .build()?,
        )
        .build()?;
    let mut behavior = DefaultCacheBehavior::builder()
        .target_origin_id(&shape.behavior.target_origin_id)
        .viewer_protocol_policy(ViewerProtocolPolicy::from(
            shape.behavior.viewer_protocol_policy.as_str(),
        ))
        .allowed_methods(allowed_methods)
        .set_cache_policy_id(shape.behavior.cache_policy_id.clone())
        .compress(shape.behavior.compress)
        .build()?;
    if let Some(old) = base.and_then(DistributionConfig::default_cache_behavior) {
        // Attachments someone made to the behavior are theirs to keep.
        behavior.function_associations = old.function_associations.clone();
        behavior.lambda_function_associations = old.lambda_function_associations.clone();
        behavior.response_headers_policy_id = old.response_headers_policy_id.clone();
        behavior.origin_request_policy_id = old.origin_request_policy_id.clone();
        behavior.realtime_log_config_arn = old.realtime_log_config_arn.clone();
    }
    let errors = shape
        .error_responses
        .iter()
        .map(|(code, r)| {
            CustomErrorResponse::builder()
                .error_code(*code)
                .response_page_path(&r.page_path)
                .response_code(&r.response_code)
                .error_caching_min_ttl(r.min_ttl)
                .build()
        })
        .collect::<Result<Vec<_>, _>>()?;
    let errors = CustomErrorResponses::builder()
        .quantity(errors.len() as i32)
        .set_items(Some(errors))
        .build()?;
    let aliases = aws_sdk_cloudfront::types::Aliases::builder()
        .quantity(shape.aliases.len() as i32)
        .set_items((!shape.aliases.is_empty()).then(|| shape.aliases.iter().cloned().collect()))
        .build()?;
    let certificate = match &shape.certificate {
        Some(arn) => ViewerCertificate::builder()
            .acm_certificate_arn(arn)
            .ssl_support_method(SslSupportMethod::SniOnly)
            .minimum_protocol_version(MinimumProtocolVersion::TlSv122021)
            .build(),
        None => ViewerCertificate::builder()
            .cloud_front_default_certificate(true)
            .build(),
    };
    let mut config = match base {
        Some(base) => base.clone(),
        None => DistributionConfig::builder()
            .caller_reference(spec.caller_reference())
            .comment(&shape.comment)
            .enabled(true)
            .http_version(aws_sdk_cloudfront::types::HttpVersion::Http2and3)
            .is_ipv6_enabled(true)
            .build()?,
    };
    config.comment.clone_from(&shape.comment);
    config.enabled = shape.enabled;
    config.origins = Some(origins);
    config.default_cache_behavior = Some(behavior);
    config.cache_behaviors = Some(CacheBehaviors::builder().quantity(0).build()?);
    config.custom_error_responses = Some(errors);
    config.price_class = Some(PriceClass::from(shape.price_class.as_str()));
    config.aliases = Some(aliases);
    config.viewer_certificate = Some(certificate);
    Ok(config)
}

fn tags_of(tags: &BTreeMap<String, String>) -> Result<Tags> {
    let items = tags
        .iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Tags::builder().set_items(Some(items)).build())
}

/// Creates the distribution. Returns its id, ARN and domain.
///
/// CloudFront answers DistributionAlreadyExists to a CallerReference already
/// used, even for the same config (aws-facts: invalidations and waiting). The
/// SDK retries a create whose answer was lost, and two runs may create at
/// once, so that answer usually means the distribution is maint's own: it is
/// found again by its Comment and used.
///
/// The reference is `maint-site-BUCKET`, the same on every run, and the API
/// reference refuses any reference "already sent in a previous request",
/// with no exception for a distribution deleted since (`destroy`, then
/// `provision` again). When the answer names a distribution that no longer
/// exists ("Already exists: E…", as CloudFront words it), the create is made
/// once more with a reference of its own.
pub async fn create_distribution(
    cf: &Client,
    config: DistributionConfig,
    tags: &BTreeMap<String, String>,
) -> Result<(String, String, String)> {
    let base = config.caller_reference().to_string();
    let mut attempt = config;
    // Each destroy and provision again may add one reference to skip.
    for _ in 0..5 {
        match create_once(cf, attempt.clone(), tags).await? {
            Created::Done(made) => return Ok(made),
            Created::ReferenceOfDeleted(gone) => {
                // Named after the deleted distribution, not after the clock:
                // two runs meeting the same answer send the same reference,
                // so one of them creates and the other finds it (as with
                // the first reference).
                attempt.caller_reference = format!("{base}-after-{gone}");
                tracing::debug!(
                    "CallerReference belongs to deleted distribution {gone}: creating with {}",
                    attempt.caller_reference
                );
            }
        }
    }
    bail!(
        "creating the distribution: CloudFront refused five CallerReferences as used by \
         distributions since deleted; run provision again"
    )
}

enum Created {
    Done((String, String, String)),
    /// The CallerReference was used by a distribution since deleted.
    ReferenceOfDeleted(String),
}

/// The distribution id CloudFront names in a DistributionAlreadyExists
/// message ("... Already exists: E2QWRUHAPOMQZL ...").
fn already_existing_id(message: &str) -> Option<String> {
    let rest = message.split("Already exists:").nth(1)?.trim_start();
    let id: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect();
    plausible_distribution_id(&id).then_some(id)
}

async fn create_once(
    cf: &Client,
    config: DistributionConfig,
    tags: &BTreeMap<String, String>,
) -> Result<Created> {
    let caller_reference = config.caller_reference().to_string();
    let marker = config.comment().to_string();
    let with_tags = DistributionConfigWithTags::builder()
        .distribution_config(config)
        .tags(tags_of(tags)?)
        .build();
    match cf
        .create_distribution_with_tags()
        .distribution_config_with_tags(with_tags)
        .customize()
        .config_override(super::slow_cloudfront())
        .send()
        .await
    {
        Ok(out) => {
            let Some(d) = out.distribution() else {
                bail!("creating the distribution: AWS returned no distribution");
            };
            Ok(Created::Done((
                d.id().to_string(),
                d.arn().to_string(),
                d.domain_name().to_string(),
            )))
        }
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_distribution_already_exists()) =>
        {
            // A listing can lag a create by a moment: look a few times.
            for pause in [0, 1, 2] {
                tokio::time::sleep(std::time::Duration::from_secs(pause)).await;
                if let Some(id) = find_distribution_id(cf, &marker).await? {
                    let found = read_distribution(cf, &id).await?;
                    return Ok(Created::Done((
                        id,
                        found.observed.arn,
                        found.observed.domain,
                    )));
                }
            }
            let message = e
                .as_service_error()
                .and_then(ProvideErrorMetadata::message)
                .unwrap_or("no detail")
                .to_string();
            if let Some(id) = already_existing_id(&message) {
                return match cf.get_distribution().id(&id).send().await {
                    Err(err)
                        if err
                            .as_service_error()
                            .is_some_and(|s| s.is_no_such_distribution()) =>
                    {
                        Ok(Created::ReferenceOfDeleted(id))
                    }
                    Err(err) => Err(explain(&format!("reading distribution {id}"), err)),
                    Ok(out) => match out.distribution() {
                        // The listing missed it (it can lag): it is maint's own.
                        Some(d)
                            if d.distribution_config().map(DistributionConfig::comment)
                                == Some(marker.as_str()) =>
                        {
                            Ok(Created::Done((
                                id,
                                d.arn().to_string(),
                                d.domain_name().to_string(),
                            )))
                        }
                        _ => Err(anyhow::anyhow!(
                            "CloudFront says distribution {id} was already created with \
                             CallerReference {caller_reference}, but its comment is no longer \
                             maint's \"{marker}\": set its comment back to \"{marker}\" in \
                             the CloudFront console, and run again"
                        )),
                    },
                };
            }
            bail!(
                "CloudFront says a distribution was already created with CallerReference \
                 {caller_reference}, but no distribution has maint's comment \"{marker}\": its \
                 comment was changed. Find it in the CloudFront console ({message}), set its \
                 comment back to \"{marker}\", and run again"
            )
        }
        Err(e) => Err(explain("creating the distribution", e)),
    }
}

async fn update_distribution(
    cf: &Client,
    id: &str,
    etag: &str,
    config: DistributionConfig,
) -> Result<Attempt<()>> {
    match cf
        .update_distribution()
        .id(id)
        .if_match(etag)
        .distribution_config(config)
        .customize()
        .config_override(super::slow_cloudfront())
        .send()
        .await
    {
        Ok(_) => Ok(Attempt::Done(())),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_precondition_failed()) =>
        {
            Ok(Attempt::Stale)
        }
        Err(e) => Err(explain(&format!("updating distribution {id}"), e)),
    }
}

pub async fn tag_distribution(
    cf: &Client,
    arn: &str,
    tags: &BTreeMap<String, String>,
) -> Result<()> {
    cf.tag_resource()
        .resource(arn)
        .tags(tags_of(tags)?)
        .send()
        .await
        .map_err(|e| explain("tagging the distribution", e))?;
    Ok(())
}

pub async fn distribution_status(cf: &Client, id: &str) -> Result<Deployment> {
    let out = cf
        .get_distribution()
        .id(id)
        .send()
        .await
        .map_err(|e| explain(&format!("reading distribution {id}"), e))?;
    Ok(Deployment::from_status(
        out.distribution().map_or("", |d| d.status()),
    ))
}

async fn delete_distribution(cf: &Client, id: &str, etag: &str) -> Result<Attempt<()>> {
    match cf
        .delete_distribution()
        .id(id)
        .if_match(etag)
        .customize()
        .config_override(super::slow_cloudfront())
        .send()
        .await
    {
        Ok(_) => Ok(Attempt::Done(())),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_no_such_distribution()) =>
        {
            Ok(Attempt::Done(()))
        }
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_precondition_failed()) =>
        {
            Ok(Attempt::Stale)
        }
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_distribution_not_disabled()) =>
        {
            bail!(
                "distribution {id} is still enabled somewhere: run `maint destroy` again in a few minutes"
            )
        }
        Err(e) => Err(explain(&format!("deleting distribution {id}"), e)),
    }
}

/// Starts an invalidation; returns its id.
pub async fn create_invalidation(cf: &Client, id: &str, paths: &[String]) -> Result<String> {
    let caller_reference = format!(
        "maint-{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default()
    );
    let batch = InvalidationBatch::builder()
        .caller_reference(caller_reference)
        .paths(
            Paths::builder()
                .quantity(paths.len() as i32)
                .set_items(Some(paths.to_vec()))
                .build()?,
        )
        .build()?;
    let out = cf
        .create_invalidation()
        .distribution_id(id)
        .invalidation_batch(batch)
        .send()
        .await
        .map_err(|e| explain(&format!("invalidating distribution {id}"), e))?;
    Ok(out
        .invalidation()
        .map(|i| i.id().to_string())
        .unwrap_or_default())
}

/// An invalidation's progress, as CloudFront reports it; `done` when it
/// completed (AWS says `Completed`, the emulator `COMPLETED`).
pub async fn invalidation_status(
    cf: &Client,
    id: &str,
    invalidation: &str,
) -> Result<(String, bool)> {
    let out = cf
        .get_invalidation()
        .distribution_id(id)
        .id(invalidation)
        .send()
        .await
        .map_err(|e| explain(&format!("reading invalidation {invalidation}"), e))?;
    let status = out
        .invalidation()
        .map(|i| i.status().to_string())
        .unwrap_or_default();
    let done = invalidation_done(&status);
    Ok((status, done))
}

fn invalidation_done(status: &str) -> bool {
    status.eq_ignore_ascii_case("completed")
}

#[derive(Debug, Clone, Serialize)]
pub struct InvalidationInfo {
    #[serde(rename = "invalidation_id")]
    pub id: String,
    pub status: String,
    /// RFC 3339, UTC.
    pub created: String,
}

pub async fn recent_invalidations(cf: &Client, id: &str, n: i32) -> Result<Vec<InvalidationInfo>> {
    let out = cf
        .list_invalidations()
        .distribution_id(id)
        .max_items(n)
        .send()
        .await
        .map_err(|e| explain("listing invalidations", e))?;
    Ok(out
        .invalidation_list()
        .map(|l| {
            l.items()
                .iter()
                .map(|i| InvalidationInfo {
                    id: i.id().to_string(),
                    status: i.status().to_string(),
                    created: i.create_time().to_string(),
                })
                .collect()
        })
        .unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_plausible_distribution_id_is_sent() {
        assert!(plausible_distribution_id("E2QWRUHEXAMPLE"));
        for bad in ["", "../E2", "e2qwru", "E2 QW", &"E".repeat(65)] {
            assert!(!plausible_distribution_id(bad), "{bad}");
        }
    }
    use crate::config::Config;
    use std::path::Path;
    // A concurrent edit (PreconditionFailed) is staged with the SDK's mocks,
    // in the shapes of the CloudFront API reference.
    use aws_sdk_cloudfront::operation::get_distribution::GetDistributionOutput;
    use aws_sdk_cloudfront::operation::list_tags_for_resource::ListTagsForResourceOutput;
    use aws_sdk_cloudfront::operation::update_distribution::{
        UpdateDistributionError, UpdateDistributionOutput,
    };
    use aws_sdk_cloudfront::types::error::PreconditionFailed;
    use aws_sdk_cloudfront::types::{Distribution, Tags};
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn spec() -> SiteSpec {
        let config = Config::parse(
            Path::new("maint.yaml"),
            "environments:\n  prod:\n    region: eu-west-1\n    bucket: acme-maint\n",
        )
        .unwrap();
        let (name, env) = config.select(None).unwrap();
        SiteSpec::new(&name, &env, env.bucket.as_ref().unwrap())
    }

    #[test]
    fn a_new_config_reads_back_as_the_desired_shape() {
        let spec = spec();
        let config = site_config(&spec, "OAC1", None).unwrap();
        let mut want = spec.distribution.clone();
        want.origin.oac_id = Some("OAC1".into());
        assert_eq!(shape_of(&config), want);
        assert!(want.differences(&shape_of(&config)).is_empty());
        assert_eq!(config.caller_reference(), "maint-site-acme-maint");
        let origin = &config.origins().unwrap().items()[0];
        assert_eq!(
            origin.s3_origin_config().unwrap().origin_access_identity(),
            "",
            "an OAC origin carries an empty OAI"
        );
        assert_eq!(
            config
                .viewer_certificate()
                .unwrap()
                .cloud_front_default_certificate(),
            Some(true)
        );
    }

    #[test]
    fn an_update_keeps_fields_maint_does_not_own() {
        let spec = spec();
        let mut base = site_config(&spec, "OAC1", None).unwrap();
        base.caller_reference = "someone-elses-reference".into();
        base.web_acl_id = Some("arn:aws:wafv2:us-east-1:123456789012:global/webacl/x/1".into());
        base.price_class = Some(PriceClass::PriceClassAll);
        base.default_cache_behavior
            .as_mut()
            .unwrap()
            .response_headers_policy_id = Some("RHP1".into());
        let updated = site_config(&spec, "OAC1", Some(&base)).unwrap();
        assert_eq!(updated.caller_reference(), "someone-elses-reference");
        assert_eq!(updated.web_acl_id(), base.web_acl_id());
        assert_eq!(
            updated
                .default_cache_behavior()
                .unwrap()
                .response_headers_policy_id(),
            Some("RHP1")
        );
        assert_eq!(updated.price_class(), Some(&PriceClass::PriceClass100));
    }

    #[test]
    fn aliases_get_the_acm_certificate_with_sni() {
        let config = Config::parse(
            Path::new("maint.yaml"),
            "environments:\n  prod:\n    region: eu-west-1\n    bucket: acme-maint\n    aliases: [down.example.com]\n    certificate_arn: arn:aws:acm:us-east-1:123456789012:certificate/abc\n",
        )
        .unwrap();
        let (name, env) = config.select(None).unwrap();
        let spec = SiteSpec::new(&name, &env, env.bucket.as_ref().unwrap());
        let built = site_config(&spec, "OAC1", None).unwrap();
        let cert = built.viewer_certificate().unwrap();
        assert_eq!(cert.ssl_support_method(), Some(&SslSupportMethod::SniOnly));
        assert_eq!(
            cert.acm_certificate_arn(),
            Some("arn:aws:acm:us-east-1:123456789012:certificate/abc")
        );
        assert_eq!(built.aliases().unwrap().items(), ["down.example.com"]);
    }

    #[test]
    fn invalidation_status_is_compared_without_case() {
        assert!(invalidation_done("Completed"));
        assert!(invalidation_done("COMPLETED"));
        assert!(!invalidation_done("InProgress"));
    }

    #[tokio::test]
    async fn a_concurrent_edit_is_read_again_and_kept() {
        let spec = spec();
        let reads = Arc::new(AtomicUsize::new(0));
        let counter = reads.clone();
        let base = site_config(&spec, "OAC1", None).unwrap();
        let get = mock!(aws_sdk_cloudfront::Client::get_distribution).then_output(move || {
            // The second read sees the other person's change: a web ACL.
            let n = counter.fetch_add(1, Ordering::SeqCst);
            let mut config = base.clone();
            config.price_class = Some(aws_sdk_cloudfront::types::PriceClass::PriceClassAll);
            if n > 0 {
                config.web_acl_id = Some("their-acl".into());
            }
            GetDistributionOutput::builder()
                .e_tag(format!("ETAG{n}"))
                .distribution(
                    Distribution::builder()
                        .id("E1")
                        .arn("arn:aws:cloudfront::123456789012:distribution/E1")
                        .status("Deployed")
                        .last_modified_time(aws_smithy_types::DateTime::from_secs(0))
                        .in_progress_invalidation_batches(0)
                        .domain_name("d1.cloudfront.net")
                        .distribution_config(config)
                        .build()
                        .unwrap(),
                )
                .build()
        });
        let tags = mock!(aws_sdk_cloudfront::Client::list_tags_for_resource).then_output(|| {
            ListTagsForResourceOutput::builder()
                .tags(Tags::builder().build())
                .build()
        });
        let stale = mock!(aws_sdk_cloudfront::Client::update_distribution)
            .match_requests(|r| r.if_match() == Some("ETAG0"))
            .then_error(|| {
                UpdateDistributionError::PreconditionFailed(PreconditionFailed::builder().build())
            });
        let fresh = mock!(aws_sdk_cloudfront::Client::update_distribution)
            .match_requests(|r| {
                r.if_match() == Some("ETAG1")
                    && r.distribution_config().and_then(|c| c.web_acl_id()) == Some("their-acl")
                    && r.distribution_config().and_then(|c| c.price_class())
                        == Some(&aws_sdk_cloudfront::types::PriceClass::PriceClass100)
            })
            .then_output(|| UpdateDistributionOutput::builder().build());
        let cloudfront = mock_client!(
            aws_sdk_cloudfront,
            RuleMode::MatchAny,
            [&get, &tags, &stale, &fresh]
        );
        update_site(&cloudfront, &spec, "E1", "OAC1").await.unwrap();
        assert_eq!(stale.num_calls(), 1, "the first write is refused");
        assert_eq!(fresh.num_calls(), 1, "the retry carries the other change");
        assert_eq!(reads.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn the_existing_id_is_read_from_cloudfronts_message() {
        let message = "The caller reference that you are using to create a distribution is \
                       associated with another distribution. Already exists: E2QWRUHAPOMQZL";
        assert_eq!(
            already_existing_id(message).as_deref(),
            Some("E2QWRUHAPOMQZL")
        );
        assert_eq!(already_existing_id("no id here"), None);
        assert_eq!(already_existing_id("Already exists: ../etc"), None);
    }

    #[tokio::test(start_paused = true)]
    async fn a_reference_of_a_deleted_distribution_gets_a_fresh_one() {
        use aws_sdk_cloudfront::operation::create_distribution_with_tags::{
            CreateDistributionWithTagsError, CreateDistributionWithTagsOutput,
        };
        use aws_sdk_cloudfront::operation::get_distribution::GetDistributionError;
        use aws_sdk_cloudfront::operation::list_distributions::ListDistributionsOutput;
        use aws_sdk_cloudfront::types::DistributionList;
        use aws_sdk_cloudfront::types::error::{DistributionAlreadyExists, NoSuchDistribution};
        let spec = spec();
        let config = site_config(&spec, "OAC1", None).unwrap();
        // The site's reference was used by a distribution `destroy` deleted.
        let used = mock!(aws_sdk_cloudfront::Client::create_distribution_with_tags)
            .match_requests(|r| {
                r.distribution_config_with_tags()
                    .and_then(|c| c.distribution_config())
                    .map(DistributionConfig::caller_reference)
                    == Some("maint-site-acme-maint")
            })
            .then_error(|| {
                // As the SDK parses CloudFront's XML error: the message is
                // in the error's metadata.
                let message = "The caller reference that you are using to create a \
                               distribution is associated with another distribution. Already \
                               exists: EGONE0001";
                CreateDistributionWithTagsError::DistributionAlreadyExists(
                    DistributionAlreadyExists::builder()
                        .message(message)
                        .meta(
                            aws_smithy_types::error::ErrorMetadata::builder()
                                .code("DistributionAlreadyExists")
                                .message(message)
                                .build(),
                        )
                        .build(),
                )
            });
        let fresh = mock!(aws_sdk_cloudfront::Client::create_distribution_with_tags)
            .match_requests(|r| {
                r.distribution_config_with_tags()
                    .and_then(|c| c.distribution_config())
                    .map(DistributionConfig::caller_reference)
                    == Some("maint-site-acme-maint-after-EGONE0001")
            })
            .then_output(|| {
                CreateDistributionWithTagsOutput::builder()
                    .distribution(
                        Distribution::builder()
                            .id("ENEW0001")
                            .arn("arn:aws:cloudfront::123456789012:distribution/ENEW0001")
                            .status("InProgress")
                            .last_modified_time(aws_smithy_types::DateTime::from_secs(0))
                            .in_progress_invalidation_batches(0)
                            .domain_name("dnew.cloudfront.net")
                            .build()
                            .unwrap(),
                    )
                    .build()
            });
        let none = mock!(aws_sdk_cloudfront::Client::list_distributions).then_output(|| {
            ListDistributionsOutput::builder()
                .distribution_list(
                    DistributionList::builder()
                        .marker("")
                        .max_items(100)
                        .is_truncated(false)
                        .quantity(0)
                        .build()
                        .unwrap(),
                )
                .build()
        });
        let gone = mock!(aws_sdk_cloudfront::Client::get_distribution)
            .match_requests(|r| r.id() == Some("EGONE0001"))
            .then_error(|| {
                GetDistributionError::NoSuchDistribution(NoSuchDistribution::builder().build())
            });
        let cloudfront = mock_client!(
            aws_sdk_cloudfront,
            RuleMode::MatchAny,
            [&used, &fresh, &none, &gone]
        );
        let (id, _, domain) = create_distribution(&cloudfront, config, &BTreeMap::new())
            .await
            .unwrap();
        assert_eq!(
            (id.as_str(), domain.as_str()),
            ("ENEW0001", "dnew.cloudfront.net")
        );
        assert_eq!(
            (used.num_calls(), gone.num_calls(), fresh.num_calls()),
            (1, 1, 1)
        );
    }
}
