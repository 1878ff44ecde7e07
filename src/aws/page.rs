//! The maintenance page, the bucket's one object: its headers read, and
//! uploads with the right Content-Type, a short Cache-Control and the
//! metadata maint keeps on it, conditional (If-Match / If-None-Match) where a
//! concurrent writer must not be overwritten.

use anyhow::Result;
use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ServerSideEncryption;

use super::{explain, status_and_code};
use crate::site::page::{Page, cache_control};
use crate::site::plan::ObservedPage;
use crate::values::{BucketName, PageKey};

/// Reads the error document's headers; `None` when it does not exist.
pub async fn observe_page(
    s3: &Client,
    bucket: &BucketName,
    key: &PageKey,
) -> Result<Option<ObservedPage>> {
    match s3
        .head_object()
        .bucket(bucket.as_str())
        .key(key.as_str())
        .send()
        .await
    {
        Ok(head) => Ok(Some(ObservedPage {
            content_type: head.content_type().map(str::to_string),
            cache_control: head.cache_control().map(str::to_string),
            size: head.content_length().unwrap_or_default(),
            last_modified: head.last_modified().map(ToString::to_string),
            etag: head.e_tag().map(str::to_string),
            metadata: head
                .metadata()
                .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default(),
            kms_encrypted: matches!(
                head.server_side_encryption(),
                Some(ServerSideEncryption::AwsKms | ServerSideEncryption::AwsKmsDsse)
            ),
        })),
        Err(err) => match status_and_code(&err) {
            (Some(404 | 403), _) => Ok(None),
            _ => Err(explain(&format!("reading s3://{bucket}/{key}"), err)),
        },
    }
}

/// Uploads the document with its Content-Type, short Cache-Control and metadata.
pub async fn put_page(
    s3: &Client,
    bucket: &BucketName,
    document: &Page,
    max_age: u32,
) -> Result<()> {
    put_page_if(s3, bucket, document, max_age, None)
        .await
        .map(|_| ())
}

/// What a conditional write expects to replace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Replacing {
    /// No page yet (If-None-Match: *).
    Nothing,
    /// The page with this ETag (If-Match).
    Page(String),
}

/// `put_page`, only if the page is still the one `replacing` names
/// (S3's conditional writes); `Ok(false)` when it changed meanwhile: 412
/// (the condition failed), 409 ConditionalRequestConflict (another
/// conditional write raced it: the PutObject reference says to retry) or,
/// for If-Match, 404 (the page was deleted meanwhile). The caller reads the
/// page again.
pub async fn put_page_if(
    s3: &Client,
    bucket: &BucketName,
    document: &Page,
    max_age: u32,
    replacing: Option<&Replacing>,
) -> Result<bool> {
    let mut request = s3
        .put_object()
        .bucket(bucket.as_str())
        .key(document.key.as_str())
        .content_type(document.content_type())
        .cache_control(cache_control(max_age))
        // SSE-S3 whatever the bucket's default: CloudFront's OAC can read an
        // SSE-KMS object only if the key's policy lets cloudfront.amazonaws.com
        // decrypt, which the AWS-managed aws/s3 key never does (Developer
        // Guide, "Restricting access to an Amazon S3 origin"). A bucket
        // adopted with a KMS default would otherwise serve visitors an error
        // instead of the page.
        .server_side_encryption(ServerSideEncryption::Aes256)
        .body(ByteStream::from(document.body.clone()));
    for (k, v) in document.metadata() {
        request = request.metadata(k, v);
    }
    request = match replacing {
        None => request,
        Some(Replacing::Nothing) => request.if_none_match("*"),
        Some(Replacing::Page(etag)) => request.if_match(etag),
    };
    match request
        .customize()
        .config_override(super::slow_s3())
        .send()
        .await
    {
        Ok(_) => Ok(true),
        Err(err)
            if {
                let (status, code) = status_and_code(&err);
                // A bucket gone is no page to read again.
                let bucket_gone = code.as_deref() == Some("NoSuchBucket");
                matches!(
                    (replacing, status),
                    (Some(_), Some(412 | 409)) | (Some(Replacing::Page(_)), Some(404))
                ) && !bucket_gone
            } =>
        {
            Ok(false)
        }
        Err(err) => Err(explain(
            &format!("uploading s3://{bucket}/{}", document.key),
            err,
        )),
    }
}

#[cfg(test)]
mod tests {
    //! What the emulator cannot produce (another account's bucket, a taken
    //! name), answered with the SDK's own mocks in the shapes of the S3 API reference.
    use super::*;

    use aws_smithy_mocks::{mock, mock_client};
    use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;

    /// The built-in page, as provision and set-message upload it.
    fn page() -> Page {
        crate::site::page::Template::builtin(crate::values::Format::Html)
            .render(
                &PageKey::try_from("maintenance.html".to_string()).unwrap(),
                "Down",
                "Back soon.",
            )
            .unwrap()
    }

    /// An S3 error answer, in S3's XML shape.
    fn s3_error(status: u16, code: &'static str) -> impl Fn() -> HttpResponse {
        move || {
            HttpResponse::new(
                StatusCode::try_from(status).unwrap(),
                SdkBody::from(format!(
                    "<Error><Code>{code}</Code><Message>m</Message></Error>"
                )),
            )
        }
    }

    fn bucket() -> BucketName {
        BucketName::try_from("acme-maint".to_string()).unwrap()
    }

    #[tokio::test]
    async fn a_conditional_page_write_sends_the_condition_and_reports_a_changed_page() {
        let document = page();
        // S3 answers 412 PreconditionFailed when the page is no longer the
        // one read (someone wrote it meanwhile).
        let stale = mock!(Client::put_object)
            .match_requests(|r| r.if_match() == Some("\"old\""))
            .then_http_response(s3_error(412, "PreconditionFailed"));
        let current = mock!(Client::put_object)
            .match_requests(|r| {
                r.if_match() == Some("\"new\"")
                    && r.if_none_match().is_none()
                    && r.server_side_encryption() == Some(&ServerSideEncryption::Aes256)
            })
            .then_output(|| aws_sdk_s3::operation::put_object::PutObjectOutput::builder().build());
        let absent = mock!(Client::put_object)
            .match_requests(|r| r.if_none_match() == Some("*") && r.if_match().is_none())
            .then_output(|| aws_sdk_s3::operation::put_object::PutObjectOutput::builder().build());
        let s3 = mock_client!(
            aws_sdk_s3,
            aws_smithy_mocks::RuleMode::MatchAny,
            [&stale, &current, &absent]
        );
        let page = |etag: &str| Replacing::Page(etag.to_string());
        assert!(
            !put_page_if(&s3, &bucket(), &document, 30, Some(&page("\"old\"")))
                .await
                .unwrap()
        );
        assert!(
            put_page_if(&s3, &bucket(), &document, 30, Some(&page("\"new\"")))
                .await
                .unwrap()
        );
        assert!(
            put_page_if(&s3, &bucket(), &document, 30, Some(&Replacing::Nothing))
                .await
                .unwrap()
        );
        assert_eq!(
            (stale.num_calls(), current.num_calls(), absent.num_calls()),
            (1, 1, 1)
        );
    }

    #[tokio::test]
    async fn a_racing_or_deleted_page_is_read_again_not_an_error() {
        let document = page();
        // 409: another conditional write to the key raced this one
        // (PutObject reference: retry); 404 on If-Match: the page was deleted.
        let raced = mock!(Client::put_object)
            .match_requests(|r| r.if_match() == Some("\"raced\""))
            .then_http_response(s3_error(409, "ConditionalRequestConflict"));
        let deleted = mock!(Client::put_object)
            .match_requests(|r| r.if_match() == Some("\"deleted\""))
            .then_http_response(s3_error(404, "NoSuchKey"));
        let unconditional = mock!(Client::put_object)
            .match_requests(|r| r.if_match().is_none() && r.if_none_match().is_none())
            .then_http_response(s3_error(404, "NoSuchBucket"));
        let bucket_gone = mock!(Client::put_object)
            .match_requests(|r| r.if_match() == Some("\"bucket-gone\""))
            .then_http_response(s3_error(404, "NoSuchBucket"));
        let s3 = mock_client!(
            aws_sdk_s3,
            aws_smithy_mocks::RuleMode::MatchAny,
            [&raced, &deleted, &unconditional, &bucket_gone]
        );
        let page = |etag: &str| Replacing::Page(etag.to_string());
        for etag in ["\"raced\"", "\"deleted\""] {
            assert!(
                !put_page_if(&s3, &bucket(), &document, 30, Some(&page(etag)))
                    .await
                    .unwrap(),
                "{etag}"
            );
        }
        // A bucket deleted meanwhile is an error, not a page to read again.
        let err = put_page_if(
            &s3,
            &bucket(),
            &document,
            30,
            Some(&page("\"bucket-gone\"")),
        )
        .await
        .unwrap_err();
        assert!(format!("{err:#}").contains("NoSuchBucket"), "{err:#}");
        // Without a condition, a 404 is the error it is.
        let err = put_page_if(&s3, &bucket(), &document, 30, None)
            .await
            .unwrap_err();
        assert!(format!("{err:#}").contains("NoSuchBucket"), "{err:#}");
    }
}
