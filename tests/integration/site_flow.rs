//! Site mode's distribution writes against the SDK's own mocks
//! (aws-smithy-mocks), in the shapes of the CloudFront API reference: what
//! the emulator cannot stage (a concurrent edit answered PreconditionFailed,
//! a caller reference already used by a deleted distribution).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use aws_sdk_cloudfront::operation::get_distribution::GetDistributionOutput;
use aws_sdk_cloudfront::operation::list_tags_for_resource::ListTagsForResourceOutput;
use aws_sdk_cloudfront::operation::update_distribution::{
    UpdateDistributionError, UpdateDistributionOutput,
};
use aws_sdk_cloudfront::types::error::PreconditionFailed;
use aws_sdk_cloudfront::types::{Distribution, DistributionConfig, Tags};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use maint::aws::site_distribution::{create_distribution, site_config, update_site};
use maint::config::Config;
use maint::site::SiteSpec;

fn spec() -> SiteSpec {
    let config = Config::parse(
        Path::new("maint.yaml"),
        "environments:\n  prod:\n    region: eu-west-1\n    bucket: acme-maint\n",
    )
    .unwrap();
    let (name, env) = config.select(None).unwrap();
    SiteSpec::new(&name, &env, env.bucket.as_ref().unwrap())
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
