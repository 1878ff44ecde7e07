//! The bucket policy: the only door into the bucket.
//!
//! CloudFront (as the service principal, and only for this distribution) may
//! read the one error document; nothing else may read anything, and no request
//! without TLS gets anywhere. Without s3:ListBucket, S3 answers a request for
//! any other key with 403, which the distribution turns into the 503 page.

use serde_json::{Value, json};

use crate::values::{BucketName, PageKey};

pub const READ_SID: &str = "MaintCloudFrontReadsErrorDocument";
pub const TLS_SID: &str = "MaintDenyWithoutTls";

/// The policy for `bucket` serving `key` to the distribution `distribution_arn`.
pub fn bucket_policy(bucket: &BucketName, key: &PageKey, distribution_arn: &str) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": READ_SID,
                "Effect": "Allow",
                "Principal": { "Service": "cloudfront.amazonaws.com" },
                "Action": "s3:GetObject",
                "Resource": format!("arn:aws:s3:::{bucket}/{key}"),
                "Condition": { "StringEquals": { "AWS:SourceArn": distribution_arn } }
            },
            {
                "Sid": TLS_SID,
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [
                    format!("arn:aws:s3:::{bucket}"),
                    format!("arn:aws:s3:::{bucket}/*")
                ],
                "Condition": { "Bool": { "aws:SecureTransport": "false" } }
            }
        ]
    })
}

/// Whether an existing policy document says the same as the desired one.
/// S3 may hand a policy back re-serialised, so compare parsed values.
pub fn same_policy(current: &str, desired: &Value) -> bool {
    serde_json::from_str::<Value>(current).is_ok_and(|current| &current == desired)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> Value {
        bucket_policy(
            &BucketName::try_from("acme-maint".to_string()).unwrap(),
            &PageKey::try_from("maintenance.html".to_string()).unwrap(),
            "arn:aws:cloudfront::123456789012:distribution/E1ABC",
        )
    }

    #[test]
    fn cloudfront_may_read_only_the_document_of_this_distribution() {
        let p = policy();
        let read = &p["Statement"][0];
        assert_eq!(read["Effect"], "Allow");
        assert_eq!(
            read["Principal"],
            json!({"Service": "cloudfront.amazonaws.com"})
        );
        assert_eq!(read["Action"], "s3:GetObject");
        assert_eq!(read["Resource"], "arn:aws:s3:::acme-maint/maintenance.html");
        assert_eq!(
            read["Condition"]["StringEquals"]["AWS:SourceArn"],
            "arn:aws:cloudfront::123456789012:distribution/E1ABC"
        );
        // No statement grants listing, so missing keys stay 403.
        assert!(!p.to_string().contains("ListBucket"));
    }

    #[test]
    fn plain_http_is_denied_everything() {
        let p = policy();
        let deny = &p["Statement"][1];
        assert_eq!(deny["Effect"], "Deny");
        assert_eq!(deny["Action"], "s3:*");
        assert_eq!(deny["Condition"]["Bool"]["aws:SecureTransport"], "false");
        assert_eq!(deny["Resource"][1], "arn:aws:s3:::acme-maint/*");
    }

    #[test]
    fn comparison_ignores_formatting_but_not_content() {
        let p = policy();
        let pretty = serde_json::to_string_pretty(&p).unwrap();
        assert!(same_policy(&pretty, &p));
        let other = pretty.replace("E1ABC", "E2XYZ");
        assert!(!same_policy(&other, &p));
        assert!(!same_policy("not json", &p));
    }
}
