//! The policy document for an environment's operations: each operation's
//! IAM actions on the resources they act on, named exactly where AWS allows
//! it, and a note on each statement that needs one (a wildcard, a resource
//! that is not maint's).

use std::collections::{BTreeMap, BTreeSet};

use super::operation::Operation;
use anyhow::{Result, bail};
use serde::Serialize;
use serde_json::{Value, json};

/// The resources of one environment that a policy names, as found on AWS.
#[derive(Debug, Clone, Default)]
pub struct Resources {
    pub account: String,
    pub environment: String,
    pub site: Option<SiteResources>,
    pub window: Option<WindowResources>,
}

#[derive(Debug, Clone)]
pub struct SiteResources {
    pub bucket: String,
    pub key: String,
    /// The site's distribution, once provisioned.
    pub distribution_id: Option<String>,
    /// The site's origin access control, once provisioned.
    pub oac_id: Option<String>,
}

#[derive(Debug, Clone)]
pub struct WindowResources {
    pub distribution_id: String,
    pub function_name: String,
    pub store_name: String,
    /// The go-live gate's scratch function and store (`attach`).
    pub gate_name: String,
    /// The KeyValueStore, once attached (its ARN holds an id AWS gives).
    pub store_arn: Option<String>,
    /// What the customer's distribution holds that CloudFront checks when
    /// `attach` and `detach` send its config back (read by `grant`).
    pub dependencies: Dependencies,
}

/// The web ACL and the Lambda@Edge versions a distribution's config names:
/// UpdateDistribution checks that the caller may read each.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dependencies {
    /// `WebACLId`: a WAF ARN, or a WAF Classic id.
    pub web_acl: Option<String>,
    /// Every Lambda@Edge function version ARN, on any behavior and event.
    pub edge_functions: Vec<String>,
}

/// What an action is allowed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum On {
    Bucket,
    Page,
    SiteDistribution,
    OriginAccessControl,
    WindowDistribution,
    Function,
    /// The key value store, by the id ARN AWS gives it (the data plane
    /// names it so)...
    Store,
    /// ... and by its name: the control plane's calls name the store, and
    /// the Service Authorization Reference gives `key-value-store/${Name}`
    /// as the resource, so both forms are allowed (docs/iam.md).
    StoreName,
    /// The go-live gate's scratch function (`attach`; its store is covered
    /// by the operator's `key-value-store/*`).
    GateFunction,
    /// The web ACL the window's distribution names (WAF)...
    WebAcl,
    /// ... or its WAF Classic id.
    ClassicWebAcl,
    /// Each Lambda@Edge version the window's distribution associates.
    EdgeFunction,
    /// AWS supports no resource for the action, used in site mode...
    AnySite,
    /// ... and in window mode.
    AnyWindow,
}

/// What each operation's commands need, and on what. tests/integration/grant.rs proves
/// it against the calls the commands really make.
fn needs(op: Operation) -> Vec<(&'static str, On)> {
    use On::{
        AnySite, AnyWindow, Bucket, ClassicWebAcl, EdgeFunction, Function, GateFunction,
        OriginAccessControl, Page, SiteDistribution, Store, StoreName, WebAcl, WindowDistribution,
    };
    match op {
        Operation::Message => vec![
            ("s3:GetObject", Page),
            ("s3:PutObject", Page),
            // HeadObject of a missing page answers 404 only with ListBucket
            // (403 without): maint then knows to upload it.
            ("s3:ListBucket", Bucket),
        ],
        Operation::Invalidate => vec![
            // The page records its distribution's id (one HeadObject, then
            // one GetDistribution to check it); the listing is the fallback
            // when the record is missing or stale.
            ("s3:GetObject", Page),
            // A missing page answers 404 with it, 403 without.
            ("s3:ListBucket", Bucket),
            ("cloudfront:GetDistribution", SiteDistribution),
            ("cloudfront:ListDistributions", AnySite),
            ("cloudfront:CreateInvalidation", SiteDistribution),
            ("cloudfront:GetInvalidation", SiteDistribution),
        ],
        Operation::Window => vec![
            ("cloudfront:DescribeKeyValueStore", Store),
            ("cloudfront:DescribeKeyValueStore", StoreName),
            ("cloudfront-keyvaluestore:DescribeKeyValueStore", Store),
            ("cloudfront-keyvaluestore:PutKey", Store),
            // In the same round as the write: does the distribution still
            // run maint's function, LIVE with the code the config renders?
            ("cloudfront:GetDistribution", WindowDistribution),
            ("cloudfront:GetFunction", Function),
        ],
        Operation::Status => vec![
            ("s3:ListBucket", Bucket),
            ("s3:GetBucketPublicAccessBlock", Bucket),
            ("s3:GetBucketOwnershipControls", Bucket),
            ("s3:GetEncryptionConfiguration", Bucket),
            ("s3:GetBucketTagging", Bucket),
            ("s3:GetBucketPolicy", Bucket),
            ("s3:GetObject", Page),
            // The page records the distribution, and the distribution names
            // its OAC; the listings are the fallback (before provision, or
            // when a record is missing or stale).
            ("cloudfront:GetOriginAccessControl", OriginAccessControl),
            ("cloudfront:ListOriginAccessControls", AnySite),
            ("cloudfront:ListDistributions", AnySite),
            ("cloudfront:GetDistribution", SiteDistribution),
            ("cloudfront:ListTagsForResource", SiteDistribution),
            ("cloudfront:ListInvalidations", SiteDistribution),
            ("cloudfront:GetDistribution", WindowDistribution),
            ("cloudfront:ListTagsForResource", WindowDistribution),
            ("cloudfront:DescribeKeyValueStore", Store),
            ("cloudfront:DescribeKeyValueStore", StoreName),
            ("cloudfront:DescribeFunction", Function),
            ("cloudfront:GetFunction", Function),
            ("cloudfront-keyvaluestore:GetKey", Store),
        ],
        Operation::Admin => {
            let mut all: Vec<(&'static str, On)> =
                Operation::ALL.into_iter().flat_map(needs).collect();
            all.extend([
                ("s3:CreateBucket", Bucket),
                ("s3:DeleteBucket", Bucket),
                ("s3:PutBucketPublicAccessBlock", Bucket),
                ("s3:PutBucketOwnershipControls", Bucket),
                ("s3:PutEncryptionConfiguration", Bucket),
                ("s3:PutBucketTagging", Bucket),
                ("s3:PutBucketPolicy", Bucket),
                ("s3:DeleteObject", Page),
                ("cloudfront:CreateOriginAccessControl", AnySite),
                ("cloudfront:GetOriginAccessControl", OriginAccessControl),
                ("cloudfront:UpdateOriginAccessControl", OriginAccessControl),
                ("cloudfront:DeleteOriginAccessControl", OriginAccessControl),
                ("cloudfront:CreateDistribution", AnySite),
                // CreateDistributionWithTags also needs TagResource; the
                // CloudFront Developer Guide's permissions page lists it on
                // `*` (the distribution has no ARN before it exists).
                ("cloudfront:TagResource", AnySite),
                ("cloudfront:UpdateDistribution", SiteDistribution),
                ("cloudfront:DeleteDistribution", SiteDistribution),
                ("cloudfront:UpdateDistribution", WindowDistribution),
                ("cloudfront:CreateKeyValueStore", AnyWindow),
                ("cloudfront:DeleteKeyValueStore", Store),
                ("cloudfront:CreateFunction", AnyWindow),
                ("cloudfront:UpdateFunction", Function),
                ("cloudfront:PublishFunction", Function),
                ("cloudfront:DeleteFunction", Function),
                ("cloudfront-keyvaluestore:GetKey", Store),
                // The go-live gate: a scratch function and store, made,
                // tested with the states it writes, and removed.
                ("cloudfront:DescribeFunction", GateFunction),
                ("cloudfront:GetFunction", GateFunction),
                ("cloudfront:TestFunction", GateFunction),
                ("cloudfront:DeleteFunction", GateFunction),
                ("cloudfront-keyvaluestore:UpdateKeys", Store),
                // attach and detach send the customer's whole config back,
                // and CloudFront checks that the caller may read what it
                // names: the web ACL ("Unable to verify read permissions on
                // Web ACL"; the action is not named by AWS, GetWebACL is the
                // read) and each Lambda@Edge version (Developer Guide,
                // "Setting IAM permissions and roles for Lambda@Edge": the
                // asterisks are required). Only present when the observed
                // config has them.
                ("wafv2:GetWebACL", WebAcl),
                ("waf:GetWebACL", ClassicWebAcl),
                ("lambda:GetFunction", EdgeFunction),
                ("lambda:EnableReplication*", EdgeFunction),
                ("lambda:DisableReplication*", EdgeFunction),
            ]);
            all
        }
    }
}

/// Why a statement names a wildcard (AWS offers nothing narrower), or a
/// resource that is not maint's.
fn why(on: On) -> &'static str {
    match on {
        On::AnySite | On::AnyWindow => {
            "AWS supports no resource for these actions (list actions, and creating a \
             distribution, origin access control, function or key value store): \
             Service Authorization Reference, Amazon CloudFront"
        }
        On::SiteDistribution => {
            "the site's distribution gets a new id each time it is provisioned, so the \
             operator's policy names every distribution of the account"
        }
        On::OriginAccessControl => {
            "the origin access control gets a new id each time the site is provisioned"
        }
        On::Store => "the key value store gets a new id each time the window is attached",
        On::Bucket
        | On::Page
        | On::WindowDistribution
        | On::Function
        | On::StoreName
        | On::GateFunction => "",
        On::WebAcl | On::ClassicWebAcl => {
            "the window's distribution names this web ACL, and CloudFront checks that \
             whoever sends its config (attach, detach) may read it"
        }
        On::EdgeFunction => {
            "the window's distribution runs this Lambda@Edge version, and CloudFront checks \
             these permissions on it when its config is sent (attach, detach): Developer \
             Guide, Setting IAM permissions and roles for Lambda@Edge"
        }
    }
}

/// A statement that names a wildcard, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Comment {
    pub sid: String,
    pub resource: String,
    pub why: String,
}

/// The policy document for the operations on the resources, and a note on
/// each statement that names a wildcard (IAM documents hold no comments, so
/// they travel beside it).
#[derive(Debug, Clone, Serialize)]
pub struct Policy {
    pub document: Value,
    pub comments: Vec<Comment>,
}

pub fn policy(ops: &BTreeSet<Operation>, r: &Resources) -> Result<Policy> {
    let cf = |rest: &str| format!("arn:aws:cloudfront::{}:{rest}", r.account);
    // The operator creates and deletes what AWS names, so its policy names
    // patterns for those; CI policies name what exists.
    let admin = ops.contains(&Operation::Admin);
    let mut by_resource: BTreeMap<String, (BTreeSet<&'static str>, On)> = BTreeMap::new();
    for op in ops {
        for (action, on) in needs(*op) {
            let deps = r.window.as_ref().map(|w| &w.dependencies);
            let arns: Vec<String> = match on {
                On::WebAcl => deps
                    .and_then(|d| d.web_acl.clone())
                    .filter(|acl| is_waf_arn(acl))
                    .into_iter()
                    .collect(),
                On::ClassicWebAcl => deps
                    .and_then(|d| d.web_acl.as_deref())
                    .filter(|acl| !is_waf_arn(acl))
                    .map(|id| format!("arn:aws:waf::{}:webacl/{id}", r.account))
                    .into_iter()
                    .collect(),
                On::EdgeFunction => deps.map(|d| d.edge_functions.clone()).unwrap_or_default(),
                _ => Vec::new(),
            };
            let arn = match on {
                On::WebAcl | On::ClassicWebAcl | On::EdgeFunction => None,
                On::AnySite => r.site.as_ref().map(|_| "*".to_string()),
                On::AnyWindow => r.window.as_ref().map(|_| "*".to_string()),
                On::Bucket => r
                    .site
                    .as_ref()
                    .map(|s| format!("arn:aws:s3:::{}", s.bucket)),
                On::Page => r
                    .site
                    .as_ref()
                    .map(|s| format!("arn:aws:s3:::{}/{}", s.bucket, s.key)),
                On::SiteDistribution => match r.site.as_ref().map(|s| s.distribution_id.as_deref())
                {
                    None => None,
                    Some(_) if admin => Some(cf("distribution/*")),
                    Some(Some(id)) => Some(cf(&format!("distribution/{id}"))),
                    Some(None) => bail!(
                        "environment `{}` has no distribution yet: run `maint provision`, then \
                         grant (the policy names the distribution's ARN)",
                        r.environment
                    ),
                },
                On::OriginAccessControl => match r.site.as_ref().map(|s| s.oac_id.as_deref()) {
                    None => None,
                    Some(_) if admin => Some(cf("origin-access-control/*")),
                    Some(Some(id)) => Some(cf(&format!("origin-access-control/{id}"))),
                    Some(None) => bail!(
                        "environment `{}` has no origin access control yet: run `maint \
                         provision`, then grant (the policy names its ARN)",
                        r.environment
                    ),
                },
                On::WindowDistribution => r
                    .window
                    .as_ref()
                    .map(|w| cf(&format!("distribution/{}", w.distribution_id))),
                On::Function => r
                    .window
                    .as_ref()
                    .map(|w| cf(&format!("function/{}", w.function_name))),
                On::GateFunction => r
                    .window
                    .as_ref()
                    .map(|w| cf(&format!("function/{}", w.gate_name))),
                On::StoreName => match &r.window {
                    None => None,
                    Some(_) if admin => Some(cf("key-value-store/*")),
                    Some(w) => Some(cf(&format!("key-value-store/{}", w.store_name))),
                },
                On::Store => match r.window.as_ref().map(|w| w.store_arn.as_deref()) {
                    None => None,
                    Some(_) if admin => Some(cf("key-value-store/*")),
                    Some(Some(arn)) => Some(arn.to_string()),
                    Some(None) => bail!(
                        "the window of `{}` is not attached yet: run `maint attach`, then grant \
                         (the policy names its key value store's ARN)",
                        r.environment
                    ),
                },
            };
            for arn in arn.into_iter().chain(arns) {
                let entry = by_resource
                    .entry(arn)
                    .or_insert_with(|| (BTreeSet::new(), on));
                entry.0.insert(action);
            }
        }
    }
    if by_resource.is_empty() {
        bail!(
            "environment `{}` has nothing these operations act on",
            r.environment
        );
    }
    let mut comments = Vec::new();
    let statements: Vec<Value> = by_resource
        .iter()
        .enumerate()
        .map(|(i, (arn, (actions, on)))| {
            let sid = format!("Maint{}", i + 1);
            if arn.ends_with('*') || matches!(on, On::WebAcl | On::ClassicWebAcl | On::EdgeFunction)
            {
                comments.push(Comment {
                    sid: sid.clone(),
                    resource: arn.clone(),
                    why: why(*on).to_string(),
                });
            }
            json!({
                "Sid": sid,
                "Effect": "Allow",
                "Action": actions.iter().collect::<Vec<_>>(),
                "Resource": arn,
            })
        })
        .collect();
    Ok(Policy {
        document: json!({ "Version": "2012-10-17", "Statement": statements }),
        comments,
    })
}

/// A `WebACLId` is a WAF ARN, or (WAF Classic) a bare id (API Reference,
/// DistributionConfig: "To specify a web ACL created using the latest
/// version of WAF, use the ACL ARN ... using WAF Classic, use the ACL ID").
fn is_waf_arn(web_acl: &str) -> bool {
    web_acl.starts_with("arn:aws")
}

/// Every action a policy document allows.
#[cfg(test)]
pub fn allowed_actions(document: &Value) -> BTreeSet<String> {
    document["Statement"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| s["Action"].as_array().cloned().unwrap_or_default())
        .filter_map(|a| a.as_str().map(str::to_string))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resources() -> Resources {
        Resources {
            account: "123456789012".into(),
            environment: "prod".into(),
            site: Some(SiteResources {
                bucket: "acme-maint".into(),
                key: "maintenance.html".into(),
                distribution_id: Some("E1SITE".into()),
                oac_id: Some("E1OAC".into()),
            }),
            window: Some(WindowResources {
                distribution_id: "E2SHOP".into(),
                function_name: "maint-window-E2SHOP".into(),
                store_name: "maint-window-E2SHOP".into(),
                gate_name: "maint-gate-E2SHOP".into(),
                store_arn: Some("arn:aws:cloudfront::123456789012:key-value-store/abc".into()),
                dependencies: Dependencies::default(),
            }),
        }
    }

    #[test]
    fn the_message_policy_names_only_the_page_and_its_bucket() {
        let p = policy(&[Operation::Message].into(), &resources()).unwrap();
        insta::assert_snapshot!(serde_json::to_string_pretty(&p.document).unwrap(), @r#"
        {
          "Version": "2012-10-17",
          "Statement": [
            {
              "Sid": "Maint1",
              "Effect": "Allow",
              "Action": [
                "s3:ListBucket"
              ],
              "Resource": "arn:aws:s3:::acme-maint"
            },
            {
              "Sid": "Maint2",
              "Effect": "Allow",
              "Action": [
                "s3:GetObject",
                "s3:PutObject"
              ],
              "Resource": "arn:aws:s3:::acme-maint/maintenance.html"
            }
          ]
        }
        "#);
        assert!(p.comments.is_empty());
    }

    #[test]
    fn ci_wildcards_are_only_where_aws_has_nothing_narrower_and_say_why() {
        let p = policy(&Operation::ALL.into(), &resources()).unwrap();
        assert_eq!(
            p.comments
                .iter()
                .map(|c| c.resource.as_str())
                .collect::<Vec<_>>(),
            ["*"]
        );
        assert!(
            p.comments[0].why.contains("no resource"),
            "{:?}",
            p.comments
        );
        let star = p.document["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["Resource"] == "*")
            .unwrap();
        assert_eq!(
            star["Action"],
            json!([
                "cloudfront:ListDistributions",
                "cloudfront:ListOriginAccessControls"
            ])
        );
        // Window actions name the store and the distribution.
        let text = p.document.to_string();
        assert!(text.contains("key-value-store/abc") && text.contains("distribution/E2SHOP"));
        assert!(
            !text.contains("Delete") && !text.contains("Create\""),
            "{text}"
        );
    }

    #[test]
    fn a_ci_policy_before_provision_or_attach_is_refused() {
        let mut r = resources();
        r.site.as_mut().unwrap().distribution_id = None;
        let err = policy(&[Operation::Invalidate].into(), &r)
            .unwrap_err()
            .to_string();
        assert!(err.contains("run `maint provision`"), "{err}");
        r.window.as_mut().unwrap().store_arn = None;
        let err = policy(&[Operation::Window].into(), &r)
            .unwrap_err()
            .to_string();
        assert!(err.contains("run `maint attach`"), "{err}");
    }

    #[test]
    fn the_operators_policy_names_patterns_for_what_aws_names_and_says_why() {
        let p = policy(&[Operation::Admin].into(), &resources()).unwrap();
        let resources: Vec<&str> = p.comments.iter().map(|c| c.resource.as_str()).collect();
        assert_eq!(
            resources,
            [
                "*",
                "arn:aws:cloudfront::123456789012:distribution/*",
                "arn:aws:cloudfront::123456789012:key-value-store/*",
                "arn:aws:cloudfront::123456789012:origin-access-control/*",
            ]
        );
        assert!(p.comments.iter().all(|c| !c.why.is_empty()));
        // The bucket, the page, the customer's distribution and the function
        // are named exactly.
        let text = p.document.to_string();
        for exact in [
            "\"arn:aws:s3:::acme-maint\"",
            "\"arn:aws:s3:::acme-maint/maintenance.html\"",
            "distribution/E2SHOP\"",
            "function/maint-window-E2SHOP\"",
        ] {
            assert!(text.contains(exact), "{exact}: {text}");
        }
        assert!(allowed_actions(&p.document).contains("cloudfront:CreateDistribution"));
    }

    #[test]
    fn the_operator_may_read_the_web_acl_and_edge_functions_only_when_the_distribution_has_them() {
        let edge = "arn:aws:lambda:us-east-1:123456789012:function:auth:4";
        let extras = ["wafv2:GetWebACL", "waf:GetWebACL", "lambda:GetFunction"];
        let plain = policy(&[Operation::Admin].into(), &resources()).unwrap();
        let actions = allowed_actions(&plain.document);
        assert!(extras.iter().all(|a| !actions.contains(*a)), "{actions:?}");

        let mut r = resources();
        r.window.as_mut().unwrap().dependencies = Dependencies {
            web_acl: Some("arn:aws:wafv2:us-east-1:123456789012:global/webacl/shop/1".into()),
            edge_functions: vec![edge.into()],
        };
        let p = policy(&[Operation::Admin].into(), &r).unwrap();
        let statement = |arn: &str| {
            p.document["Statement"]
                .as_array()
                .unwrap()
                .iter()
                .find(|s| s["Resource"] == arn)
                .map(|s| s["Action"].clone())
        };
        assert_eq!(
            statement("arn:aws:wafv2:us-east-1:123456789012:global/webacl/shop/1"),
            Some(json!(["wafv2:GetWebACL"]))
        );
        assert_eq!(
            statement(edge),
            Some(json!([
                "lambda:DisableReplication*",
                "lambda:EnableReplication*",
                "lambda:GetFunction"
            ]))
        );
        assert!(
            p.comments
                .iter()
                .any(|c| c.resource == edge && c.why.contains("Lambda@Edge"))
        );
        // CI policies never send the config: nothing of it.
        let ci = policy(&Operation::ALL.into(), &r).unwrap();
        assert!(!ci.document.to_string().contains("lambda:"));

        // WAF Classic: a bare id, read with the classic action.
        r.window.as_mut().unwrap().dependencies.web_acl = Some("a1b2-c3d4".into());
        let p = policy(&[Operation::Admin].into(), &r).unwrap();
        let text = p.document.to_string();
        assert!(
            text.contains("\"waf:GetWebACL\"")
                && text.contains("arn:aws:waf::123456789012:webacl/a1b2-c3d4"),
            "{text}"
        );
        assert!(!text.contains("wafv2"), "{text}");
    }
}
