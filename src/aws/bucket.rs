//! The site's S3 bucket: private by default (all four Block Public Access
//! settings, bucket-owner-enforced ownership, SSE-S3 encryption, tags and the
//! policy that lets only the site's distribution read the page); created in
//! its region, read back, deleted only when it holds nothing maint did not make.

use std::collections::BTreeMap;

use anyhow::{Result, bail};
use aws_sdk_s3::Client;
use aws_sdk_s3::types::{
    BucketLocationConstraint, CreateBucketConfiguration, ObjectOwnership, OwnershipControls,
    OwnershipControlsRule, PublicAccessBlockConfiguration, ServerSideEncryption,
    ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
    Tag, Tagging,
};
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use super::{explain, status_and_code};
use crate::site::plan::ObservedBucket;
use crate::values::{BucketName, PageKey, Region};

/// Reads the bucket's state; `None` when it does not exist.
pub async fn observe_bucket(
    s3: &Client,
    bucket: &BucketName,
    region: &Region,
) -> Result<Option<ObservedBucket>> {
    match s3.head_bucket().bucket(bucket.as_str()).send().await {
        Ok(head) => {
            if let Some(actual) = head.bucket_region()
                && actual != region.as_str()
            {
                bail!(
                    "bucket {bucket} is in {actual}, but the config says {region}: set `region: {actual}` \
                     or choose another bucket name"
                );
            }
        }
        Err(err) => match status_and_code(&err) {
            (Some(404), _) => return Ok(None),
            (Some(403), _) => bail!(
                "bucket {bucket} exists but these credentials may not use it: it most likely belongs \
                 to another AWS account (bucket names are global). Choose another `bucket` name"
            ),
            (Some(301), _) => bail!(
                "bucket {bucket} exists in another region than {region}: set the right `region` \
                 or choose another bucket name"
            ),
            _ => return Err(explain(&format!("reading bucket {bucket}"), err)),
        },
    }
    let name = bucket.as_str();
    let (pab, ownership, encryption, tagging, policy) = tokio::join!(
        s3.get_public_access_block().bucket(name).send(),
        s3.get_bucket_ownership_controls().bucket(name).send(),
        s3.get_bucket_encryption().bucket(name).send(),
        s3.get_bucket_tagging().bucket(name).send(),
        s3.get_bucket_policy().bucket(name).send(),
    );
    let public_access_blocked = match pab {
        Ok(out) => out.public_access_block_configuration().is_some_and(|c| {
            c.block_public_acls() == Some(true)
                && c.ignore_public_acls() == Some(true)
                && c.block_public_policy() == Some(true)
                && c.restrict_public_buckets() == Some(true)
        }),
        Err(e) if is_code(&e, "NoSuchPublicAccessBlockConfiguration") => false,
        Err(e) => return Err(explain("reading the bucket's public access block", e)),
    };
    let owner_enforced = match ownership {
        Ok(out) => out.ownership_controls().is_some_and(|c| {
            c.rules()
                .iter()
                .any(|r| r.object_ownership() == &ObjectOwnership::BucketOwnerEnforced)
        }),
        Err(e) if is_code(&e, "OwnershipControlsNotFoundError") => false,
        Err(e) => return Err(explain("reading the bucket's ownership controls", e)),
    };
    let encrypted = match encryption {
        Ok(out) => out
            .server_side_encryption_configuration()
            .is_some_and(|c| !c.rules().is_empty()),
        Err(e) if is_code(&e, "ServerSideEncryptionConfigurationNotFoundError") => false,
        Err(e) => return Err(explain("reading the bucket's encryption", e)),
    };
    let tags = match tagging {
        Ok(out) => out
            .tag_set()
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect(),
        Err(e) if is_code(&e, "NoSuchTagSet") => BTreeMap::new(),
        Err(e) => return Err(explain("reading the bucket's tags", e)),
    };
    let policy = match policy {
        Ok(out) => out.policy().map(str::to_string),
        Err(e) if is_code(&e, "NoSuchBucketPolicy") => None,
        Err(e) => return Err(explain("reading the bucket policy", e)),
    };
    Ok(Some(ObservedBucket {
        public_access_blocked,
        owner_enforced,
        encrypted,
        tags,
        policy,
    }))
}

fn is_code<E: ProvideErrorMetadata, R>(
    err: &aws_smithy_runtime_api::client::result::SdkError<E, R>,
    code: &str,
) -> bool {
    err.as_service_error().and_then(ProvideErrorMetadata::code) == Some(code)
}

/// Creates the bucket in `region`. Already owning it counts as success.
pub async fn create_bucket(s3: &Client, bucket: &BucketName, region: &Region) -> Result<()> {
    let mut request = s3.create_bucket().bucket(bucket.as_str());
    // us-east-1 is the one region that refuses an explicit LocationConstraint.
    if region.as_str() != "us-east-1" {
        request = request.create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(region.as_str()))
                .build(),
        );
    }
    match request.send().await {
        Ok(_) => Ok(()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_bucket_already_owned_by_you()) =>
        {
            Ok(())
        }
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_bucket_already_exists()) =>
        {
            bail!(
                "bucket name {bucket} is taken by another AWS account (bucket names are global): \
             choose another `bucket` in the config"
            )
        }
        Err(e) => Err(explain(&format!("creating bucket {bucket}"), e)),
    }
}

pub async fn block_public_access(s3: &Client, bucket: &BucketName) -> Result<()> {
    s3.put_public_access_block()
        .bucket(bucket.as_str())
        .public_access_block_configuration(
            PublicAccessBlockConfiguration::builder()
                .block_public_acls(true)
                .ignore_public_acls(true)
                .block_public_policy(true)
                .restrict_public_buckets(true)
                .build(),
        )
        .send()
        .await
        .map_err(|e| explain("blocking public access", e))?;
    Ok(())
}

pub async fn enforce_bucket_owner(s3: &Client, bucket: &BucketName) -> Result<()> {
    let rule = OwnershipControlsRule::builder()
        .object_ownership(ObjectOwnership::BucketOwnerEnforced)
        .build()?;
    s3.put_bucket_ownership_controls()
        .bucket(bucket.as_str())
        .ownership_controls(OwnershipControls::builder().rules(rule).build()?)
        .send()
        .await
        .map_err(|e| explain("setting object ownership", e))?;
    Ok(())
}

pub async fn enable_encryption(s3: &Client, bucket: &BucketName) -> Result<()> {
    let rule = ServerSideEncryptionRule::builder()
        .apply_server_side_encryption_by_default(
            ServerSideEncryptionByDefault::builder()
                .sse_algorithm(ServerSideEncryption::Aes256)
                .build()?,
        )
        .build();
    s3.put_bucket_encryption()
        .bucket(bucket.as_str())
        .server_side_encryption_configuration(
            ServerSideEncryptionConfiguration::builder()
                .rules(rule)
                .build()?,
        )
        .send()
        .await
        .map_err(|e| explain("turning on default encryption", e))?;
    Ok(())
}

pub async fn tag_bucket(
    s3: &Client,
    bucket: &BucketName,
    tags: &BTreeMap<String, String>,
) -> Result<()> {
    let tag_set = tags
        .iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect::<Result<Vec<_>, _>>()?;
    s3.put_bucket_tagging()
        .bucket(bucket.as_str())
        .tagging(Tagging::builder().set_tag_set(Some(tag_set)).build()?)
        .send()
        .await
        .map_err(|e| explain("tagging the bucket", e))?;
    Ok(())
}

/// Replaces the bucket policy.
pub async fn put_policy(
    s3: &Client,
    bucket: &BucketName,
    policy: &serde_json::Value,
) -> Result<()> {
    s3.put_bucket_policy()
        .bucket(bucket.as_str())
        .policy(policy.to_string())
        .send()
        .await
        .map_err(|e| explain("setting the bucket policy", e))?;
    Ok(())
}

/// Deletes the document, then the bucket. Objects maint did not make are never
/// deleted: a bucket holding any stops the destroy with a clear message.
/// Up to five keys in the bucket other than the page's: objects maint did
/// not create, which `destroy` must never delete. Empty when the bucket is gone.
pub async fn foreign_objects(
    s3: &Client,
    bucket: &BucketName,
    key: &PageKey,
) -> Result<Vec<String>> {
    match s3
        .list_objects_v2()
        .bucket(bucket.as_str())
        .max_keys(6)
        .send()
        .await
    {
        Ok(out) => Ok(out
            .contents()
            .iter()
            .filter_map(|o| o.key())
            .filter(|k| *k != key.as_str())
            .take(5)
            .map(str::to_string)
            .collect()),
        Err(e) if matches!(status_and_code(&e).0, Some(404)) => Ok(Vec::new()),
        Err(e) => Err(explain(&format!("listing bucket {bucket}"), e)),
    }
}

pub async fn delete_bucket(s3: &Client, bucket: &BucketName, key: &PageKey) -> Result<()> {
    match s3
        .delete_object()
        .bucket(bucket.as_str())
        .key(key.as_str())
        .send()
        .await
    {
        Ok(_) => {}
        Err(e) if matches!(status_and_code(&e).0, Some(404)) => {}
        Err(e) => return Err(explain(&format!("deleting s3://{bucket}/{key}"), e)),
    }
    let listing = s3
        .list_objects_v2()
        .bucket(bucket.as_str())
        .max_keys(5)
        .send()
        .await;
    match listing {
        Ok(out) if out.key_count().unwrap_or_default() > 0 => {
            let keys: Vec<&str> = out.contents().iter().filter_map(|o| o.key()).collect();
            bail!(
                "bucket {bucket} still holds objects maint did not create ({}): remove them \
                 yourself, then run `maint destroy` again",
                keys.join(", ")
            );
        }
        Ok(_) => {}
        Err(e) if matches!(status_and_code(&e).0, Some(404)) => return Ok(()),
        Err(e) => return Err(explain(&format!("listing bucket {bucket}"), e)),
    }
    match s3.delete_bucket().bucket(bucket.as_str()).send().await {
        Ok(_) => Ok(()),
        Err(e) if matches!(status_and_code(&e).0, Some(404)) => Ok(()),
        Err(e) => Err(explain(&format!("deleting bucket {bucket}"), e)),
    }
}

#[cfg(test)]
mod tests {
    //! What the emulator cannot produce (another account's bucket, a taken
    //! name), answered with the SDK's own mocks in the shapes of the S3 API reference.
    use super::*;
    use aws_sdk_s3::operation::create_bucket::{CreateBucketError, CreateBucketOutput};
    use aws_sdk_s3::operation::head_bucket::HeadBucketOutput;
    use aws_sdk_s3::types::error::{BucketAlreadyExists, BucketAlreadyOwnedByYou};
    use aws_smithy_mocks::{mock, mock_client};
    use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;

    fn bucket() -> BucketName {
        BucketName::try_from("acme-maint".to_string()).unwrap()
    }
    fn region(name: &str) -> Region {
        Region::try_from(name.to_string()).unwrap()
    }

    #[tokio::test]
    async fn a_bucket_of_another_account_is_a_clear_error() {
        let head = mock!(Client::head_bucket).then_http_response(|| {
            HttpResponse::new(StatusCode::try_from(403).unwrap(), SdkBody::empty())
        });
        let s3 = mock_client!(aws_sdk_s3, [&head]);
        let err = observe_bucket(&s3, &bucket(), &region("us-east-1"))
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("belongs to another AWS account"), "{err}");
        assert_eq!(head.num_calls(), 1);
    }

    #[tokio::test]
    async fn a_bucket_in_another_region_is_a_clear_error() {
        let head = mock!(Client::head_bucket).then_output(|| {
            HeadBucketOutput::builder()
                .bucket_region("us-west-2")
                .build()
        });
        let s3 = mock_client!(aws_sdk_s3, [&head]);
        let err = observe_bucket(&s3, &bucket(), &region("eu-west-1"))
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("is in us-west-2") && err.contains("region: us-west-2"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn a_missing_bucket_is_none() {
        let head = mock!(Client::head_bucket).then_http_response(|| {
            HttpResponse::new(StatusCode::try_from(404).unwrap(), SdkBody::empty())
        });
        let s3 = mock_client!(aws_sdk_s3, [&head]);
        assert!(
            observe_bucket(&s3, &bucket(), &region("us-east-1"))
                .await
                .unwrap()
                .is_none()
        );
    }

    #[tokio::test]
    async fn a_taken_bucket_name_is_a_clear_error_and_our_own_is_success() {
        let taken = mock!(Client::create_bucket).then_error(|| {
            CreateBucketError::BucketAlreadyExists(BucketAlreadyExists::builder().build())
        });
        let s3 = mock_client!(aws_sdk_s3, [&taken]);
        let err = create_bucket(&s3, &bucket(), &region("us-east-1"))
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("taken by another AWS account"), "{err}");

        let ours = mock!(Client::create_bucket).then_error(|| {
            CreateBucketError::BucketAlreadyOwnedByYou(BucketAlreadyOwnedByYou::builder().build())
        });
        let s3 = mock_client!(aws_sdk_s3, [&ours]);
        create_bucket(&s3, &bucket(), &region("us-east-1"))
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn only_regions_other_than_us_east_1_send_a_location_constraint() {
        let plain = mock!(Client::create_bucket)
            .match_requests(|r| r.create_bucket_configuration().is_none())
            .then_output(|| CreateBucketOutput::builder().build());
        let s3 = mock_client!(aws_sdk_s3, [&plain]);
        create_bucket(&s3, &bucket(), &region("us-east-1"))
            .await
            .unwrap();
        assert_eq!(plain.num_calls(), 1);

        let constrained = mock!(Client::create_bucket)
            .match_requests(|r| {
                r.create_bucket_configuration()
                    .and_then(|c| c.location_constraint())
                    .map(BucketLocationConstraint::as_str)
                    == Some("eu-west-1")
            })
            .then_output(|| CreateBucketOutput::builder().build());
        let s3 = mock_client!(aws_sdk_s3, [&constrained]);
        create_bucket(&s3, &bucket(), &region("eu-west-1"))
            .await
            .unwrap();
        assert_eq!(constrained.num_calls(), 1);
    }
}
