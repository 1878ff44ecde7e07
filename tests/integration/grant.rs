//! `maint grant` and `maint revoke` against the emulator's IAM, and the
//! proof that each policy is complete and tight: every command runs against
//! the emulator, its requests (the request log) are mapped to the IAM
//! actions and resources AWS checks for them, and the policy `grant` writes
//! for the command's operations must allow each one (nothing missing), while
//! each action on each statement of a policy must be needed by some command
//! of its operations (nothing extra).

use crate::support;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;
use support::{Emulator, LocalOrigin, Project, stderr_of, stdout_of};

const ACCOUNT: &str = "123456789012";

/// The IAM actions an API call needs, from AWS's Service Authorization
/// Reference ("API operations defined by Amazon CloudFront", the KeyValueStore
/// and S3 pages) and the S3 API Reference's Permissions sections. Calls that
/// need none (STS GetCallerIdentity) map to nothing.
fn iam_actions(api: &str) -> &'static [&'static str] {
    match api {
        "GetCallerIdentity" => &[],
        // S3: HeadBucket and ListObjectsV2 need ListBucket; HeadObject needs
        // GetObject, and ListBucket for a missing key to answer 404, not 403.
        "HeadBucket" | "ListObjectsV2" => &["s3:ListBucket"],
        "HeadObject" => &["s3:GetObject", "s3:ListBucket"],
        "GetObject" => &["s3:GetObject"],
        "PutObject" => &["s3:PutObject"],
        "DeleteObject" => &["s3:DeleteObject"],
        "CreateBucket" => &["s3:CreateBucket"],
        "DeleteBucket" => &["s3:DeleteBucket"],
        "GetBucketEncryption" => &["s3:GetEncryptionConfiguration"],
        "PutBucketEncryption" => &["s3:PutEncryptionConfiguration"],
        "GetPublicAccessBlock" => &["s3:GetBucketPublicAccessBlock"],
        "PutPublicAccessBlock" => &["s3:PutBucketPublicAccessBlock"],
        "GetBucketOwnershipControls" => &["s3:GetBucketOwnershipControls"],
        "PutBucketOwnershipControls" => &["s3:PutBucketOwnershipControls"],
        "GetBucketTagging" => &["s3:GetBucketTagging"],
        "PutBucketTagging" => &["s3:PutBucketTagging"],
        "GetBucketPolicy" => &["s3:GetBucketPolicy"],
        "PutBucketPolicy" => &["s3:PutBucketPolicy"],
        // CloudFront. CreateDistributionWithTags also lists
        // CreateConnectionGroup and GetVpcOrigin, and UpdateDistribution
        // GetVpcOrigin: maint's distributions have no VPC origin and no
        // connection group, so neither is asked for (docs/iam.md).
        "CreateDistributionWithTags" => {
            &["cloudfront:CreateDistribution", "cloudfront:TagResource"]
        }
        "ListDistributions" => &["cloudfront:ListDistributions"],
        "GetDistribution" => &["cloudfront:GetDistribution"],
        "UpdateDistribution" => &["cloudfront:UpdateDistribution"],
        "DeleteDistribution" => &["cloudfront:DeleteDistribution"],
        "ListTagsForResource" => &["cloudfront:ListTagsForResource"],
        "TagResource" => &["cloudfront:TagResource"],
        "CreateInvalidation" => &["cloudfront:CreateInvalidation"],
        "GetInvalidation" => &["cloudfront:GetInvalidation"],
        "ListInvalidations" => &["cloudfront:ListInvalidations"],
        "ListOriginAccessControls" => &["cloudfront:ListOriginAccessControls"],
        "CreateOriginAccessControl" => &["cloudfront:CreateOriginAccessControl"],
        "GetOriginAccessControl" => &["cloudfront:GetOriginAccessControl"],
        "UpdateOriginAccessControl" => &["cloudfront:UpdateOriginAccessControl"],
        "DeleteOriginAccessControl" => &["cloudfront:DeleteOriginAccessControl"],
        "CreateFunction" => &["cloudfront:CreateFunction"],
        "DescribeFunction" => &["cloudfront:DescribeFunction"],
        "GetFunction" => &["cloudfront:GetFunction"],
        "UpdateFunction" => &["cloudfront:UpdateFunction"],
        "TestFunction" => &["cloudfront:TestFunction"],
        "PublishFunction" => &["cloudfront:PublishFunction"],
        "DeleteFunction" => &["cloudfront:DeleteFunction"],
        "CreateKeyValueStore" => &["cloudfront:CreateKeyValueStore"],
        "DescribeKeyValueStore" => &["cloudfront:DescribeKeyValueStore"],
        "DeleteKeyValueStore" => &["cloudfront:DeleteKeyValueStore"],
        // The KeyValueStore data plane.
        "KvsDescribeKeyValueStore" => &["cloudfront-keyvaluestore:DescribeKeyValueStore"],
        "KvsGetKey" => &["cloudfront-keyvaluestore:GetKey"],
        "KvsPutKey" => &["cloudfront-keyvaluestore:PutKey"],
        "KvsUpdateKeys" => &["cloudfront-keyvaluestore:UpdateKeys"],
        other => panic!(
            "no IAM mapping for API call {other}: add it from the Service Authorization Reference"
        ),
    }
}

/// What AWS checks for one request: the API call, and the resource's ARN
/// (`*` for calls that support none).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Call {
    api: String,
    resource: String,
    /// Another ARN AWS may check instead: a key value store named in a
    /// control-plane call is `key-value-store/${Name}` in the Service
    /// Authorization Reference, and has an id ARN too. Unknown which IAM
    /// evaluates, so the policy must allow both.
    or: Option<String>,
}

/// Reads one request-log line as the API call it is. `stores` maps a key
/// value store's name to its ARN (the control plane names stores by name,
/// IAM by ARN).
fn call_of(line: &str, stores: &BTreeMap<String, String>) -> Call {
    let (method, rest) = line.split_once(' ').unwrap();
    let (target, action) = rest
        .split_once(' ')
        .map_or((rest, None), |(t, a)| (t, Some(a)));
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let cf = |rest: &str| format!("arn:aws:cloudfront::{ACCOUNT}:{rest}");
    let call = |api: &str, resource: String| Call {
        api: api.to_string(),
        resource,
        or: None,
    };
    if let Some(action) = action {
        return call(action, "*".into());
    }
    if let Some(cloudfront) = path.strip_prefix("/2020-05-31/") {
        let parts: Vec<&str> = cloudfront.split('/').collect();
        let decoded = |q: &str| {
            percent_decode(
                q.split('&')
                    .find_map(|kv| kv.strip_prefix("Resource="))
                    .unwrap_or_default(),
            )
        };
        return match (method, parts.as_slice()) {
            ("GET", ["distribution"]) => call("ListDistributions", "*".into()),
            ("POST", ["distribution"]) if query.contains("WithTags") => {
                call("CreateDistributionWithTags", cf("distribution/<new>"))
            }
            ("GET", ["distribution", id]) => {
                call("GetDistribution", cf(&format!("distribution/{id}")))
            }
            ("PUT", ["distribution", id, "config"]) => {
                call("UpdateDistribution", cf(&format!("distribution/{id}")))
            }
            ("DELETE", ["distribution", id]) => {
                call("DeleteDistribution", cf(&format!("distribution/{id}")))
            }
            ("POST", ["distribution", id, "invalidation"]) => {
                call("CreateInvalidation", cf(&format!("distribution/{id}")))
            }
            ("GET", ["distribution", id, "invalidation"]) => {
                call("ListInvalidations", cf(&format!("distribution/{id}")))
            }
            ("GET", ["distribution", id, "invalidation", _]) => {
                call("GetInvalidation", cf(&format!("distribution/{id}")))
            }
            ("GET", ["tagging"]) => call("ListTagsForResource", decoded(query)),
            ("POST", ["tagging"]) if query.contains("Operation=Tag") => {
                call("TagResource", decoded(query))
            }
            ("GET", ["origin-access-control"]) => call("ListOriginAccessControls", "*".into()),
            ("POST", ["origin-access-control"]) => call("CreateOriginAccessControl", "*".into()),
            ("GET", ["origin-access-control", id]) => call(
                "GetOriginAccessControl",
                cf(&format!("origin-access-control/{id}")),
            ),
            ("PUT", ["origin-access-control", id, "config"]) => call(
                "UpdateOriginAccessControl",
                cf(&format!("origin-access-control/{id}")),
            ),
            ("DELETE", ["origin-access-control", id]) => call(
                "DeleteOriginAccessControl",
                cf(&format!("origin-access-control/{id}")),
            ),
            ("POST", ["function"]) => call("CreateFunction", "*".into()),
            ("GET", ["function", name, "describe"]) => {
                call("DescribeFunction", cf(&format!("function/{name}")))
            }
            ("GET", ["function", name]) => call("GetFunction", cf(&format!("function/{name}"))),
            ("PUT", ["function", name]) => call("UpdateFunction", cf(&format!("function/{name}"))),
            ("POST", ["function", name, "test"]) => {
                call("TestFunction", cf(&format!("function/{name}")))
            }
            ("POST", ["function", name, "publish"]) => {
                call("PublishFunction", cf(&format!("function/{name}")))
            }
            ("DELETE", ["function", name]) => {
                call("DeleteFunction", cf(&format!("function/{name}")))
            }
            ("POST", ["key-value-store"]) => call("CreateKeyValueStore", "*".into()),
            (_, ["key-value-store", name]) => {
                let arn = stores
                    .get(*name)
                    .cloned()
                    .unwrap_or_else(|| cf(&format!("key-value-store/<{name}>")));
                let api = match method {
                    "GET" => "DescribeKeyValueStore",
                    "DELETE" => "DeleteKeyValueStore",
                    other => panic!("unexpected {other} on a key value store: {line}"),
                };
                Call {
                    or: Some(cf(&format!("key-value-store/{name}"))),
                    ..call(api, arn)
                }
            }
            _ => panic!("unmapped CloudFront request: {line}"),
        };
    }
    if let Some(kvs) = path.strip_prefix("/key-value-stores/") {
        if let (Some(arn), "POST") = (kvs.strip_suffix("/keys"), method) {
            return call("KvsUpdateKeys", percent_decode(arn));
        }
        let arn = percent_decode(kvs.split("/keys/").next().unwrap());
        return match (method, kvs.contains("/keys/")) {
            ("GET", false) => call("KvsDescribeKeyValueStore", arn),
            ("GET", true) => call("KvsGetKey", arn),
            ("PUT", true) => call("KvsPutKey", arn),
            _ => panic!("unmapped KeyValueStore request: {line}"),
        };
    }
    // S3, path-style: /bucket/ or /bucket/key.
    let (bucket, key) = path
        .trim_start_matches('/')
        .split_once('/')
        .unwrap_or((path.trim_start_matches('/'), ""));
    let bucket_arn = format!("arn:aws:s3:::{bucket}");
    if key.is_empty() {
        let sub = query.split(['&', '=']).next().unwrap_or_default();
        let api = match (method, sub) {
            ("HEAD", "") => "HeadBucket",
            ("PUT", "") => "CreateBucket",
            ("DELETE", "") => "DeleteBucket",
            ("GET", "list-type") => "ListObjectsV2",
            ("GET", "encryption") => "GetBucketEncryption",
            ("PUT", "encryption") => "PutBucketEncryption",
            ("GET", "publicAccessBlock") => "GetPublicAccessBlock",
            ("PUT", "publicAccessBlock") => "PutPublicAccessBlock",
            ("GET", "ownershipControls") => "GetBucketOwnershipControls",
            ("PUT", "ownershipControls") => "PutBucketOwnershipControls",
            ("GET", "tagging") => "GetBucketTagging",
            ("PUT", "tagging") => "PutBucketTagging",
            ("GET", "policy") => "GetBucketPolicy",
            ("PUT", "policy") => "PutBucketPolicy",
            _ => panic!("unmapped S3 bucket request: {line}"),
        };
        return call(api, bucket_arn);
    }
    let api = match method {
        "HEAD" => "HeadObject",
        "GET" => "GetObject",
        "PUT" => "PutObject",
        "DELETE" => "DeleteObject",
        _ => panic!("unmapped S3 object request: {line}"),
    };
    call(api, format!("{bucket_arn}/{key}"))
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&text[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

/// One IAM check: an action on a resource.
type Need = (String, String);

/// The IAM checks a call makes. HeadObject's ListBucket is on the bucket.
fn needs_of(call: &Call) -> Vec<Need> {
    iam_actions(&call.api)
        .iter()
        .flat_map(|action| {
            let resource = if *action == "s3:ListBucket" {
                call.resource
                    .split_once('/')
                    .map_or(call.resource.clone(), |(b, _)| b.to_string())
            } else if *action == "cloudfront:CreateDistribution"
                // "CreateDistributionWithTags: cloudfront:CreateDistribution,
                // cloudfront:TagResource" on "CloudFront: *" (Developer
                // Guide, permissions required for CloudFront API actions).
                || (call.api == "CreateDistributionWithTags" && *action == "cloudfront:TagResource")
            {
                "*".to_string()
            } else {
                call.resource.clone()
            };
            let or = call.or.clone().map(|or| ((*action).to_string(), or));
            std::iter::once(((*action).to_string(), resource)).chain(or)
        })
        .collect()
}

/// What UpdateDistribution also needs for what the config it sends holds:
/// reading the web ACL it names (CloudFront checks "read permissions on Web
/// ACL"; the action is `wafv2:GetWebACL` on the ACL's ARN, or `waf:GetWebACL`
/// for a WAF Classic id), and for each Lambda@Edge version it associates,
/// `lambda:GetFunction`, `lambda:EnableReplication*` and
/// `lambda:DisableReplication*` on the version's ARN (CloudFront Developer
/// Guide, "Setting IAM permissions and roles for Lambda@Edge").
async fn config_needs(cf: &aws_sdk_cloudfront::Client, id: &str) -> Vec<Need> {
    let out = match cf.get_distribution_config().id(id).send().await {
        Ok(out) => out,
        // Deleted by the command (destroy): maint's own, it named neither.
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_no_such_distribution()) =>
        {
            return Vec::new();
        }
        Err(e) => panic!("reading distribution {id}: {e:?}"),
    };
    let config = out.distribution_config().unwrap();
    let mut needs = Vec::new();
    match config.web_acl_id() {
        Some(acl) if acl.starts_with("arn:aws:wafv2:") => {
            needs.push(("wafv2:GetWebACL".to_string(), acl.to_string()));
        }
        Some(acl) if !acl.is_empty() => needs.push((
            "waf:GetWebACL".to_string(),
            format!("arn:aws:waf::{ACCOUNT}:webacl/{acl}"),
        )),
        _ => {}
    }
    let default = config
        .default_cache_behavior()
        .and_then(|b| b.lambda_function_associations());
    let others = config
        .cache_behaviors()
        .map(|v| v.items())
        .unwrap_or_default()
        .iter()
        .filter_map(|b| b.lambda_function_associations());
    for associations in default.into_iter().chain(others) {
        for a in associations.items() {
            for action in [
                "lambda:GetFunction",
                "lambda:EnableReplication*",
                "lambda:DisableReplication*",
            ] {
                needs.push((action.to_string(), a.lambda_function_arn().to_string()));
            }
        }
    }
    needs
}

/// IAM's wildcard match: `*` matches any run of characters.
fn matches(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((head, tail)) => {
            text.starts_with(head)
                && (0..=text.len() - head.len()).any(|i| matches(tail, &text[head.len() + i..]))
        }
    }
}

/// The statements of a policy document: (actions, resource).
fn statements(document: &Value) -> Vec<(BTreeSet<String>, String)> {
    document["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            assert_eq!(s["Effect"], "Allow");
            let actions = s["Action"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap().to_string())
                .collect();
            (actions, s["Resource"].as_str().unwrap().to_string())
        })
        .collect()
}

fn allows(document: &Value, (action, resource): &Need) -> bool {
    statements(document)
        .iter()
        .any(|(actions, pattern)| actions.contains(action) && matches(pattern, resource))
}

/// A command, the operations it belongs to, and the IAM checks its
/// requests made.
struct Recorded {
    args: Vec<String>,
    operations: &'static str,
    needs: BTreeSet<Need>,
}

struct Recorder<'a> {
    emulator: &'a Emulator,
    project: &'a Project,
    env: &'static str,
    recorded: Vec<Recorded>,
}

impl Recorder<'_> {
    async fn stores(&self) -> BTreeMap<String, String> {
        let cf = self.emulator.cloudfront().await;
        let mut stores = BTreeMap::new();
        if let Ok(out) = cf.list_key_value_stores().send().await {
            for s in out
                .key_value_store_list()
                .map(|v| v.items())
                .unwrap_or_default()
            {
                stores.insert(s.name().to_string(), s.arn().to_string());
            }
        }
        stores
    }

    /// Runs `maint ARGS` (it must succeed) and records what it asked of AWS.
    async fn run(&mut self, operations: &'static str, args: &[&str]) {
        // Stores named in the log may be gone after the command: look first.
        let before = self.stores().await;
        self.emulator.clear_requests();
        let mut full = vec!["-e", self.env];
        full.extend_from_slice(args);
        let output = self
            .project
            .maint(&full)
            .env("MAINT_BYPASS_SECRET", "team-secret-0123456789")
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "maint {args:?}: {}{}",
            stdout_of(&output),
            stderr_of(&output)
        );
        let requests = self.emulator.requests();
        let mut stores = self.stores().await;
        stores.extend(before);
        let calls: Vec<Call> = requests.iter().map(|line| call_of(line, &stores)).collect();
        let mut needs: BTreeSet<Need> = calls.iter().flat_map(needs_of).collect();
        for call in calls.iter().filter(|c| c.api == "UpdateDistribution") {
            let id = call.resource.rsplit('/').next().unwrap();
            needs.extend(config_needs(&self.emulator.cloudfront().await, id).await);
        }
        self.recorded.push(Recorded {
            args: args.iter().map(|a| (*a).to_string()).collect(),
            operations,
            needs,
        });
    }
}

/// The policy `grant` writes for OPERATIONS, read from its JSON output.
fn granted(project: &Project, env: &str, operations: &str) -> Value {
    let output = project
        .maint(&[
            "-e",
            env,
            "grant",
            "--user",
            "ci",
            "--operations",
            operations,
            "--output",
            "json",
        ])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    report["policy"]["document"].clone()
}

fn operations_of(list: &str) -> BTreeSet<&str> {
    list.split(',').collect()
}

/// Nothing missing: each command's checks are allowed by the policy of its
/// operations. Nothing extra: each action of each statement of each policy
/// is needed by a command of those operations (admin: by any command).
fn check(policies: &BTreeMap<&'static str, Value>, recorded: &[Recorded]) {
    let mut problems = Vec::new();
    for r in recorded {
        let document = &policies[r.operations];
        for need in &r.needs {
            if !allows(document, need) {
                problems.push(format!(
                    "missing: `maint {}` needs {} on {}, which the {} policy does not allow",
                    r.args.join(" "),
                    need.0,
                    need.1,
                    r.operations
                ));
            }
        }
    }
    for (ops, document) in policies {
        let wanted = operations_of(ops);
        let relevant: Vec<&Recorded> = recorded
            .iter()
            .filter(|r| *ops == "admin" || operations_of(r.operations).is_subset(&wanted))
            .collect();
        for (actions, pattern) in statements(document) {
            for action in actions {
                let used = relevant.iter().any(|r| {
                    r.needs
                        .iter()
                        .any(|(a, resource)| *a == action && matches(&pattern, resource))
                });
                if !used {
                    problems.push(format!(
                        "extra: the {ops} policy allows {action} on {pattern}, which no command \
                         of those operations needs"
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

async fn create_user(emulator: &Emulator, name: &str) {
    let iam = aws_sdk_iam::Client::new(&emulator.sdk_config("us-east-1").await);
    iam.create_user().user_name(name).send().await.unwrap();
}

#[tokio::test]
async fn site_policies_allow_exactly_what_the_commands_send() {
    let emulator = Emulator::start();
    let project = Project::new(
        "environments:\n  site:\n    region: eu-west-1\n    bucket: acme-maint-grant\n",
    )
    .against(&emulator);
    create_user(&emulator, "ci").await;
    let mut policies = BTreeMap::new();
    // The operator's policy, before anything exists.
    policies.insert("admin", granted(&project, "site", "admin"));
    let mut rec = Recorder {
        emulator: &emulator,
        project: &project,
        env: "site",
        recorded: Vec::new(),
    };
    rec.run("admin", &["provision"]).await;
    rec.run("admin", &["provision"]).await;
    // Drift on the origin access control: provision puts it right.
    {
        let cf = emulator.cloudfront().await;
        let list = cf.list_origin_access_controls().send().await.unwrap();
        let oac = &list.origin_access_control_list().unwrap().items()[0];
        let current = cf
            .get_origin_access_control()
            .id(oac.id())
            .send()
            .await
            .unwrap();
        let mut config = current
            .origin_access_control()
            .unwrap()
            .origin_access_control_config()
            .unwrap()
            .clone();
        config.signing_behavior =
            aws_sdk_cloudfront::types::OriginAccessControlSigningBehaviors::NoOverride;
        cf.update_origin_access_control()
            .id(oac.id())
            .if_match(current.e_tag().unwrap())
            .origin_access_control_config(config)
            .send()
            .await
            .unwrap();
    }
    rec.run("admin", &["provision"]).await;
    for ops in [
        "message",
        "invalidate",
        "status",
        "message,invalidate",
        "message,invalidate,status",
    ] {
        policies.insert(ops, granted(&project, "site", ops));
    }
    let edge = emulator.url.clone();
    rec.run("message", &["set-message", "-m", "Back soon."])
        .await;
    rec.run("message", &["set-message", "-m", "Back soon."])
        .await;
    rec.run("invalidate", &["invalidate"]).await;
    rec.run("invalidate", &["invalidate", "--wait"]).await;
    rec.run(
        "message,invalidate",
        &["set-message", "-m", "Back at 2.", "--invalidate"],
    )
    .await;
    rec.run(
        "message,invalidate,status",
        &[
            "set-message",
            "-m",
            "Back at 3.",
            "--invalidate",
            "--wait",
            "--url",
            &edge,
        ],
    )
    .await;
    rec.run("status", &["status"]).await;
    rec.run("status", &["verify", "--url", &edge]).await;
    // A page without its distribution's record (written by an older maint,
    // or by hand): the commands fall back to listing the distributions.
    emulator
        .rewrite_metadata("eu-west-1", "acme-maint-grant", "maintenance.html", |m| {
            m.remove("maint-distribution");
        })
        .await;
    rec.run("invalidate", &["invalidate"]).await;
    rec.run("status", &["status"]).await;
    rec.run("admin", &["provision"]).await;
    rec.run("admin", &["destroy", "--yes"]).await;
    // Nothing to find by a record: status lists.
    rec.run("status", &["status"]).await;
    check(&policies, &rec.recorded);
}

#[tokio::test]
async fn window_policies_allow_exactly_what_the_commands_send() {
    let emulator = Emulator::start();
    let origin = LocalOrigin::start();
    let cf = emulator.cloudfront().await;
    let id = support::distribution_for_origin(&cf, origin.port).await;
    // The customer's config holds a web ACL and a Lambda@Edge function on
    // origin requests of /api/*: attach and detach send both back, so the
    // operator's policy must allow what CloudFront checks for them.
    let out = cf.get_distribution_config().id(&id).send().await.unwrap();
    let mut their = out.distribution_config().unwrap().clone();
    their.web_acl_id = Some(format!(
        "arn:aws:wafv2:us-east-1:{ACCOUNT}:global/webacl/shop/0d1c2b3a"
    ));
    let lambda = aws_sdk_cloudfront::types::LambdaFunctionAssociations::builder()
        .quantity(1)
        .items(
            aws_sdk_cloudfront::types::LambdaFunctionAssociation::builder()
                .lambda_function_arn(format!(
                    "arn:aws:lambda:us-east-1:{ACCOUNT}:function:api-auth:4"
                ))
                .event_type(aws_sdk_cloudfront::types::EventType::OriginRequest)
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    their
        .cache_behaviors
        .as_mut()
        .unwrap()
        .items
        .as_mut()
        .unwrap()[0]
        .lambda_function_associations = Some(lambda);
    cf.update_distribution()
        .id(&id)
        .if_match(out.e_tag().unwrap())
        .distribution_config(their)
        .send()
        .await
        .unwrap();
    let config = |message: &str| {
        format!(
            "environments:\n  shop:\n    region: eu-west-1\n    distribution: {id}\n    window:\n      message: {message}\n      bypass:\n        secret_env: MAINT_BYPASS_SECRET\n"
        )
    };
    let project = Project::new(&config("Closed for the upgrade.")).against(&emulator);
    create_user(&emulator, "ci").await;
    let mut policies = BTreeMap::new();
    policies.insert("admin", granted(&project, "shop", "admin"));
    let mut rec = Recorder {
        emulator: &emulator,
        project: &project,
        env: "shop",
        recorded: Vec::new(),
    };
    rec.run("admin", &["attach"]).await;
    rec.run("admin", &["attach"]).await;
    // A new message in the config: attach updates, tests and publishes.
    std::fs::write(project.path("maint.yaml"), config("Closed until noon.")).unwrap();
    rec.run("admin", &["attach"]).await;
    for ops in ["window", "status", "window,status"] {
        policies.insert(ops, granted(&project, "shop", ops));
    }
    let edge = emulator.url.clone();
    rec.run("window", &["on", "-m", "Upgrading.", "--for", "1h"])
        .await;
    rec.run("window", &["off"]).await;
    rec.run("window,status", &["on", "--wait", "--url", &edge])
        .await;
    rec.run("status", &["status"]).await;
    rec.run("status", &["verify", "--url", &edge]).await;
    rec.run("window,status", &["off", "--wait", "--url", &edge])
        .await;
    rec.run("admin", &["detach"]).await;
    check(&policies, &rec.recorded);
}

#[test]
fn the_proof_itself_fails_on_a_missing_and_an_extra_action() {
    let policy = serde_json::json!({"Statement": [
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:DeleteObject"], "Resource": "arn:aws:s3:::b/page"},
    ]});
    let recorded = vec![Recorded {
        args: vec!["set-message".into()],
        operations: "message",
        needs: [
            (
                "s3:GetObject".to_string(),
                "arn:aws:s3:::b/page".to_string(),
            ),
            (
                "s3:PutObject".to_string(),
                "arn:aws:s3:::b/page".to_string(),
            ),
        ]
        .into(),
    }];
    let policies = BTreeMap::from([("message", policy)]);
    let result = std::panic::catch_unwind(|| check(&policies, &recorded));
    let message = *result.unwrap_err().downcast::<String>().unwrap();
    assert!(
        message.contains("missing: `maint set-message` needs s3:PutObject"),
        "{message}"
    );
    assert!(
        message.contains("extra: the message policy allows s3:DeleteObject"),
        "{message}"
    );
    assert!(matches(
        "arn:aws:cloudfront::1:distribution/*",
        "arn:aws:cloudfront::1:distribution/E1"
    ));
    assert!(!matches("arn:aws:s3:::b", "arn:aws:s3:::b/page"));
    assert_eq!(
        call_of("HEAD /b/page.html", &BTreeMap::new()),
        Call {
            api: "HeadObject".into(),
            resource: "arn:aws:s3:::b/page.html".into(),
            or: None,
        }
    );
    // A store named by the control plane: both ARN forms are needed.
    let stores = BTreeMap::from([(
        "maint-window-E1".to_string(),
        "arn:aws:cloudfront::123456789012:key-value-store/0f1e".to_string(),
    )]);
    let call = call_of("GET /2020-05-31/key-value-store/maint-window-E1", &stores);
    assert_eq!(
        needs_of(&call),
        [
            (
                "cloudfront:DescribeKeyValueStore".to_string(),
                "arn:aws:cloudfront::123456789012:key-value-store/0f1e".to_string()
            ),
            (
                "cloudfront:DescribeKeyValueStore".to_string(),
                "arn:aws:cloudfront::123456789012:key-value-store/maint-window-E1".to_string()
            )
        ]
    );
}

const SITE: &str = "environments:\n  site:\n    region: eu-west-1\n    bucket: acme-maint-grant\n";

async fn iam(emulator: &Emulator) -> aws_sdk_iam::Client {
    aws_sdk_iam::Client::new(&emulator.sdk_config("us-east-1").await)
}

fn decode(text: &str) -> Value {
    serde_json::from_str(&percent_decode(text)).unwrap()
}

fn provisioned(emulator: &Emulator) -> Project {
    let project = Project::new(SITE).against(emulator);
    project.maint(&["provision"]).assert().success();
    project
}

#[tokio::test]
async fn a_github_grant_makes_a_role_only_that_repository_can_assume_and_converges() {
    let emulator = Emulator::start();
    let project = provisioned(&emulator);
    let grant = [
        "grant",
        "--github-repo",
        "acme/shop",
        "--github-ref",
        "refs/heads/main",
    ];
    let dry = project
        .maint(&[&grant[..], &["--dry-run"]].concat())
        .output()
        .unwrap();
    assert!(dry.status.success(), "{}", stderr_of(&dry));
    assert!(
        stdout_of(&dry).contains("+ create role maint-site-ci"),
        "{}",
        stdout_of(&dry)
    );
    let iam = iam(&emulator).await;
    assert!(
        iam.get_role()
            .role_name("maint-site-ci")
            .send()
            .await
            .is_err(),
        "dry run wrote"
    );

    let output = project.maint(&grant).output().unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    let text = stdout_of(&output);
    assert!(
        text.contains("Role maint-site-ci may message, invalidate, status"),
        "{text}"
    );
    assert!(
        text.contains("arn:aws:iam::123456789012:role/maint-site-ci"),
        "{text}"
    );
    // A new repository's tokens name it by ids: the output says how to
    // trust those.
    assert!(
        text.contains("--github-repo OWNER@OWNER-ID/REPO@REPO-ID")
            && text.contains("gh api repos/acme/shop"),
        "{text}"
    );

    // The provider, for GitHub's issuer and STS's audience.
    let provider = iam
        .get_open_id_connect_provider()
        .open_id_connect_provider_arn(
            "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(provider.client_id_list(), ["sts.amazonaws.com"]);
    // The role: only this repository's main branch, through that provider.
    let role = iam
        .get_role()
        .role_name("maint-site-ci")
        .send()
        .await
        .unwrap();
    let trust = decode(role.role().unwrap().assume_role_policy_document().unwrap());
    let statement = &trust["Statement"][0];
    assert_eq!(statement["Action"], "sts:AssumeRoleWithWebIdentity");
    assert_eq!(
        statement["Condition"]["StringEquals"]["token.actions.githubusercontent.com:sub"],
        "repo:acme/shop:ref:refs/heads/main"
    );
    assert_eq!(
        statement["Condition"]["StringEquals"]["token.actions.githubusercontent.com:aud"],
        "sts.amazonaws.com"
    );
    // The policy, attached.
    let attached = iam
        .list_attached_role_policies()
        .role_name("maint-site-ci")
        .send()
        .await
        .unwrap();
    assert_eq!(
        attached.attached_policies()[0].policy_arn(),
        Some("arn:aws:iam::123456789012:policy/maint/maint-site-ci")
    );

    // A second run reads and writes nothing.
    emulator.clear_requests();
    let again = project.maint(&grant).output().unwrap();
    assert!(again.status.success(), "{}", stderr_of(&again));
    assert!(
        stdout_of(&again).contains("No changes necessary"),
        "{}",
        stdout_of(&again)
    );
    assert_eq!(emulator.writes(), Vec::<String>::new());

    // Another ref: the trust policy maint wrote is maint's to change.
    let output = project
        .maint(&[
            "grant",
            "--github-repo",
            "acme/shop",
            "--github-environment",
            "production",
        ])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert!(stdout_of(&output).contains("~ replace the trust policy of role maint-site-ci"));
}

#[tokio::test]
async fn a_role_someone_else_trusts_is_never_overwritten_without_force() {
    let emulator = Emulator::start();
    let project = provisioned(&emulator);
    let iam = iam(&emulator).await;
    let theirs = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999999999999:root"},"Action":"sts:AssumeRole"}]}"#;
    iam.create_role()
        .role_name("deploy")
        .assume_role_policy_document(theirs)
        .send()
        .await
        .unwrap();
    emulator.clear_requests();
    let output = project
        .maint(&[
            "grant",
            "--github-repo",
            "acme/shop",
            "--any-ref",
            "--role",
            "deploy",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", stderr_of(&output));
    let err = stderr_of(&output);
    assert!(
        err.contains("role deploy exists with a trust policy maint did not write"),
        "{err}"
    );
    assert!(err.contains("--force"), "{err}");
    assert_eq!(
        emulator.writes(),
        Vec::<String>::new(),
        "nothing was written"
    );
    let role = iam.get_role().role_name("deploy").send().await.unwrap();
    assert_eq!(
        decode(role.role().unwrap().assume_role_policy_document().unwrap()),
        serde_json::from_str::<Value>(theirs).unwrap()
    );

    // An existing role without CI flags gets the policy, and its trust stays.
    let output = project
        .maint(&["grant", "--role", "deploy"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    let role = iam.get_role().role_name("deploy").send().await.unwrap();
    assert_eq!(
        decode(role.role().unwrap().assume_role_policy_document().unwrap()),
        serde_json::from_str::<Value>(theirs).unwrap()
    );

    // With --force, the trust policy is replaced.
    let output = project
        .maint(&[
            "grant",
            "--github-repo",
            "acme/shop",
            "--any-ref",
            "--role",
            "deploy",
            "--force",
        ])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    let role = iam.get_role().role_name("deploy").send().await.unwrap();
    let trust = decode(role.role().unwrap().assume_role_policy_document().unwrap());
    assert_eq!(
        trust["Statement"][0]["Action"],
        "sts:AssumeRoleWithWebIdentity"
    );
}

#[tokio::test]
async fn revoke_removes_exactly_what_grant_made() {
    let emulator = Emulator::start();
    let project = provisioned(&emulator);
    let iam = iam(&emulator).await;
    create_user(&emulator, "alice").await;
    let ok = |args: &[&str]| {
        let output = project.maint(args).output().unwrap();
        assert!(output.status.success(), "{args:?}: {}", stderr_of(&output));
        stdout_of(&output)
    };
    ok(&["grant", "--github-repo", "acme/shop", "--any-ref"]);
    ok(&["grant", "--user", "alice", "--operations", "admin"]);
    // Someone else's role trusts the same provider.
    let provider = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com";
    iam.create_role()
        .role_name("their-deploy")
        .assume_role_policy_document(format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Federated":"{provider}"}},"Action":"sts:AssumeRoleWithWebIdentity"}}]}}"#
        ))
        .send()
        .await
        .unwrap();

    // Without a terminal and without --yes, nothing is removed.
    let refused = project
        .maint(&["revoke", "--github-repo", "acme/shop"])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stderr_of(&refused).contains("pass --yes"),
        "{}",
        stderr_of(&refused)
    );
    assert!(
        iam.get_role()
            .role_name("maint-site-ci")
            .send()
            .await
            .is_ok()
    );

    let text = ok(&["revoke", "--github-repo", "acme/shop", "--yes"]);
    assert!(text.contains("- delete role maint-site-ci"), "{text}");
    assert!(
        text.contains("Kept OIDC provider") && text.contains("their-deploy"),
        "{text}"
    );
    assert!(
        iam.get_role()
            .role_name("maint-site-ci")
            .send()
            .await
            .is_err()
    );
    assert!(
        iam.get_policy()
            .policy_arn("arn:aws:iam::123456789012:policy/maint/maint-site-ci")
            .send()
            .await
            .is_err()
    );
    // What is not the CI's stays: the provider, the other role, alice's grant.
    assert!(
        iam.get_open_id_connect_provider()
            .open_id_connect_provider_arn(provider)
            .send()
            .await
            .is_ok()
    );
    assert!(
        iam.get_role()
            .role_name("their-deploy")
            .send()
            .await
            .is_ok()
    );
    let alice = iam
        .list_attached_user_policies()
        .user_name("alice")
        .send()
        .await
        .unwrap();
    assert_eq!(alice.attached_policies().len(), 1);

    // Again: nothing to do.
    emulator.clear_requests();
    let text = ok(&["revoke", "--github-repo", "acme/shop", "--yes"]);
    assert!(text.contains("Nothing to revoke"), "{text}");
    assert_eq!(emulator.writes(), Vec::<String>::new());

    // A user keeps existing; only maint's policy goes.
    ok(&["revoke", "--user", "alice", "--yes"]);
    assert!(iam.get_user().user_name("alice").send().await.is_ok());
    let alice = iam
        .list_attached_user_policies()
        .user_name("alice")
        .send()
        .await
        .unwrap();
    assert!(alice.attached_policies().is_empty());
}

#[tokio::test]
async fn the_policy_keeps_within_iams_five_versions() {
    let emulator = Emulator::start();
    let project = provisioned(&emulator);
    create_user(&emulator, "ci").await;
    for ops in [
        "message",
        "invalidate",
        "status",
        "message,status",
        "all",
        "admin",
        "message",
    ] {
        granted(&project, "site", ops);
    }
    let iam = iam(&emulator).await;
    let versions = iam
        .list_policy_versions()
        .policy_arn("arn:aws:iam::123456789012:policy/maint/maint-site-ci")
        .send()
        .await
        .unwrap();
    assert!(versions.versions().len() <= 5, "{:?}", versions.versions());
}

#[test]
fn print_shows_the_documents_without_any_aws_call() {
    let output = support::Test::new()
        .config(SITE)
        .args(&[
            "-e",
            "site",
            "grant",
            "--print",
            "--github-repo",
            "acme/shop",
            "--any-ref",
            "--output",
            "json",
        ])
        .no_aws_call()
        .run();
    let doc: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(doc["printed"], true);
    let policy = doc["policy"]["document"].to_string();
    assert!(
        policy.contains("arn:aws:s3:::acme-maint-grant/maintenance.html"),
        "{policy}"
    );
    assert!(policy.contains("<site-distribution-id>"), "{policy}");
    assert_eq!(
        doc["trust"]["Statement"][0]["Condition"]["StringLike"]["token.actions.githubusercontent.com:sub"],
        "repo:acme/shop:*"
    );
    support::Test::new()
        .config(SITE)
        .args(&["grant", "--print", "--operations", "admin"])
        .no_aws_call()
        .stdout("s3:CreateBucket")
        .stdout("# Maint1 on *: AWS supports no resource")
        .run();
    // GitHub's immutable subject format: the ids go into the subject.
    let output = support::Test::new()
        .config(SITE)
        .args(&[
            "grant",
            "--print",
            "--github-repo",
            "acme@123456/shop@456789",
            "--github-environment",
            "production",
            "--output",
            "json",
        ])
        .no_aws_call()
        .run();
    let doc: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        doc["trust"]["Statement"][0]["Condition"]["StringEquals"]["token.actions.githubusercontent.com:sub"],
        "repo:acme@123456/shop@456789:environment:production"
    );
    // Without reading the window's distribution, --print says what a real
    // grant adds for a web ACL or Lambda@Edge.
    support::Test::new()
        .config("environments:\n  shop:\n    region: eu-west-1\n    distribution: E2SHOPEXAMPLE1\n    window: {}\n")
        .args(&["grant", "--print", "--operations", "admin"])
        .no_aws_call()
        .stdout("function/maint-window-E2SHOPEXAMPLE1")
        .stdout("`maint grant` (without --print) reads them and adds wafv2:GetWebACL")
        .run();
}

#[test]
fn bad_grants_are_refused_before_any_aws_call() {
    for (args, message) in [
        (
            &["grant", "--github-repo", "acme"][..],
            "is not a GitHub repository: write OWNER/REPO",
        ),
        (&["grant", "--github-repo", "acme/shop/x"], "OWNER/REPO"),
        (
            &["grant", "--github-repo", "acme@123456/shop"],
            "has one id: GitHub's immutable subject names both",
        ),
        (&["grant", "--gitlab-project", "shop"], "GROUP/PROJECT"),
        (
            &["grant", "--user", "ci", "--operations", "message,delete"],
            "unknown operation `delete`",
        ),
        (
            &["grant", "--github-ref", "refs/heads/main"],
            "--github-repo",
        ),
        (
            &[
                "grant",
                "--github-repo",
                "acme/shop",
                "--github-ref",
                "main",
            ],
            "write it in full",
        ),
        (&["grant", "--user", "a b"], "an IAM name has 1 to 64"),
        (
            &["grant", "--user", "ci", "--github-repo", "acme/shop"],
            "cannot be used with",
        ),
        (
            &["grant", "--user", "ci", "--operations", "window"],
            "operation `window` does not apply",
        ),
        (&["grant"], "say who: --github-repo"),
        (&["revoke"], "say who: --github-repo"),
        // Trusting every branch and pull request is said, never a default.
        (
            &["grant", "--github-repo", "acme/shop"],
            "say which runs of acme/shop may assume the role",
        ),
        (
            &["grant", "--gitlab-project", "acme/shop"],
            "--gitlab-branch main",
        ),
        (
            &[
                "grant",
                "--github-repo",
                "acme/shop",
                "--any-ref",
                "--github-ref",
                "refs/heads/main",
            ],
            "cannot be used with",
        ),
    ] {
        support::Test::new()
            .config(SITE)
            .args(args)
            .no_aws_call()
            .status(2)
            .stderr(message)
            .run();
    }
}

#[tokio::test]
async fn grant_and_revoke_converge_when_iams_answers_are_lost() {
    let emulator = Emulator::start();
    let project = provisioned(&emulator);
    // Each write takes effect, then its answer is lost: the SDK retries a
    // call that succeeded, and IAM says the entity exists (or is gone).
    for action in [
        "CreateOpenIDConnectProvider",
        "CreateRole",
        "CreatePolicy",
        "AttachRolePolicy",
    ] {
        emulator.lose_next_answer("POST", &format!("/ {action}"));
    }
    let output = project
        .maint(&["grant", "--github-repo", "acme/shop", "--any-ref"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    let lost = emulator
        .requests()
        .iter()
        .filter(|r| r.ends_with(" CreateRole"))
        .count();
    assert_eq!(lost, 2, "the create was retried: {:?}", emulator.requests());
    emulator.clear_requests();
    let again = project
        .maint(&["grant", "--github-repo", "acme/shop", "--any-ref"])
        .output()
        .unwrap();
    assert!(again.status.success(), "{}", stderr_of(&again));
    assert_eq!(emulator.writes(), Vec::<String>::new());

    for action in [
        "DetachRolePolicy",
        "DeletePolicy",
        "DeleteRole",
        "DeleteOpenIDConnectProvider",
    ] {
        emulator.lose_next_answer("POST", &format!("/ {action}"));
    }
    let output = project
        .maint(&["revoke", "--github-repo", "acme/shop", "--yes"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    let iam = iam(&emulator).await;
    assert!(
        iam.get_role()
            .role_name("maint-site-ci")
            .send()
            .await
            .is_err()
    );
    emulator.clear_requests();
    let again = project
        .maint(&["revoke", "--github-repo", "acme/shop", "--yes"])
        .output()
        .unwrap();
    assert!(
        stdout_of(&again).contains("Nothing to revoke"),
        "{}",
        stdout_of(&again)
    );
    assert_eq!(emulator.writes(), Vec::<String>::new());
}
