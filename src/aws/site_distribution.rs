//! Site mode's own distribution: the config `provision` builds from the
//! spec (origin through the OAC, the custom error responses that turn S3's 403
//! into the 503 page, TTLs, tags), read back as the shape the plan compares,
//! and created so that a lost answer is found again rather than duplicated.

use std::collections::BTreeMap;

use anyhow::{Result, bail};
use aws_sdk_cloudfront::Client;
use aws_sdk_cloudfront::types::{
    AllowedMethods, CacheBehaviors, CachedMethods, CustomErrorResponse, CustomErrorResponses,
    DefaultCacheBehavior, DistributionConfig, DistributionConfigWithTags, Method,
    MinimumProtocolVersion, Origin, Origins, PriceClass, S3OriginConfig, SslSupportMethod, Tag,
    Tags, ViewerCertificate, ViewerProtocolPolicy,
};
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use super::distribution::{
    find_distribution_id, modify_distribution, plausible_distribution_id, read_distribution,
};
use super::explain;
use crate::site::{BehaviorShape, DistributionShape, ErrorResponseShape, OriginShape, SiteSpec};

/// Makes the site distribution match `spec` (served through `oac_id`),
/// changing only the fields maint owns.
pub async fn update_site(cf: &Client, spec: &SiteSpec, id: &str, oac_id: &str) -> Result<()> {
    modify_distribution(cf, id, |current| {
        site_config(spec, oac_id, Some(current)).map(Some)
    })
    .await
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
            allowed_methods: std::collections::BTreeSet::default(),
            cached_methods: std::collections::BTreeSet::default(),
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
        behavior
            .function_associations
            .clone_from(&old.function_associations);
        behavior
            .lambda_function_associations
            .clone_from(&old.lambda_function_associations);
        behavior
            .response_headers_policy_id
            .clone_from(&old.response_headers_policy_id);
        behavior
            .origin_request_policy_id
            .clone_from(&old.origin_request_policy_id);
        behavior
            .realtime_log_config_arn
            .clone_from(&old.realtime_log_config_arn);
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

pub(super) fn tags_of(tags: &BTreeMap<String, String>) -> Result<Tags> {
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
        .take_while(char::is_ascii_alphanumeric)
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

#[cfg(test)]
mod tests {
    use super::*;

    use crate::config::Config;
    use std::path::Path;

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
}
