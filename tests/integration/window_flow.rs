//! Window mode's whole flow against a small, stateful stand-in for CloudFront
//! and its KeyValueStore data plane, built from the SDK's own mocks
//! (aws-smithy-mocks) with the request and response shapes of the AWS API
//! reference: what the emulator cannot stage (CloudFront's TestFunction
//! reporting a SyntaxError, a Lambda@Edge conflict, concurrent edits).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_sdk_cloudfront::operation::create_function::{CreateFunctionError, CreateFunctionOutput};
use aws_sdk_cloudfront::operation::create_key_value_store::CreateKeyValueStoreOutput;
use aws_sdk_cloudfront::operation::delete_function::{DeleteFunctionError, DeleteFunctionOutput};
use aws_sdk_cloudfront::operation::delete_key_value_store::DeleteKeyValueStoreOutput;
use aws_sdk_cloudfront::operation::describe_function::{
    DescribeFunctionError, DescribeFunctionOutput,
};
use aws_sdk_cloudfront::operation::describe_key_value_store::{
    DescribeKeyValueStoreError, DescribeKeyValueStoreOutput,
};
use aws_sdk_cloudfront::operation::get_distribution::GetDistributionOutput;
use aws_sdk_cloudfront::operation::get_function::{GetFunctionError, GetFunctionOutput};
use aws_sdk_cloudfront::operation::list_tags_for_resource::ListTagsForResourceOutput;
use aws_sdk_cloudfront::operation::publish_function::{
    PublishFunctionError, PublishFunctionOutput,
};
use aws_sdk_cloudfront::operation::test_function::{TestFunctionError, TestFunctionOutput};
use aws_sdk_cloudfront::operation::update_distribution::{
    UpdateDistributionError, UpdateDistributionOutput,
};
use aws_sdk_cloudfront::operation::update_function::{UpdateFunctionError, UpdateFunctionOutput};
use aws_sdk_cloudfront::primitives::Blob;
use aws_sdk_cloudfront::types::error::{EntityNotFound, NoSuchFunctionExists, PreconditionFailed};
use aws_sdk_cloudfront::types::{
    CacheBehavior, CacheBehaviors, DefaultCacheBehavior, Distribution, DistributionConfig,
    EventType, FunctionAssociations, FunctionMetadata, FunctionStage, FunctionSummary,
    KeyValueStore, LambdaFunctionAssociation, LambdaFunctionAssociations, Origin, Origins, Tags,
    TestResult, ViewerProtocolPolicy,
};
use aws_sdk_cloudfrontkeyvaluestore::operation::describe_key_value_store::DescribeKeyValueStoreOutput as KvsDescribeOutput;
use aws_sdk_cloudfrontkeyvaluestore::operation::get_key::{GetKeyError, GetKeyOutput};
use aws_sdk_cloudfrontkeyvaluestore::operation::put_key::{PutKeyError, PutKeyOutput};
use aws_sdk_cloudfrontkeyvaluestore::operation::update_keys::{UpdateKeysError, UpdateKeysOutput};
use aws_sdk_cloudfrontkeyvaluestore::types::error::{ConflictException, ResourceNotFoundException};
use aws_smithy_mocks::{MockResponse, RuleMode, mock, mock_client};
use aws_smithy_types::DateTime;

use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Result;

use maint::aws::Clients;
use maint::commands::attach::{AttachOptions, AttachReport, FunctionTest, attach_with};
use maint::commands::detach::detach_with;
use maint::commands::switch::{off_state, on_state, switch_with};
use maint::config::Config;
use maint::output::Output;
use maint::window::plan::{ObservedWindow, Store, attach_plan, detach_plan};
use maint::window::{Behavior, Slot, State, WindowSpec, bypass_hash};

const DIST: &str = "E2EXAMPLE12345";
const ACCOUNT: &str = "123456789012";
const SECRET: &str = "s3cret-for-the-team-0123";

#[derive(Default)]
struct Func {
    code: Vec<u8>,
    live: Option<Vec<u8>>,
    etag: u32,
    stores: Vec<String>,
}

/// One function and its store, by name: maint's own (`maint-window-…`) or
/// the go-live gate's scratch pair (`maint-gate-…`).
#[derive(Default)]
struct Side {
    store: Option<u32>,
    function: Option<Func>,
    keys: BTreeMap<String, String>,
    kvs_etag: u32,
}

/// What the fake AWS holds, and every write it was sent.
#[derive(Default)]
struct World {
    config: Option<DistributionConfig>,
    etag: u32,
    /// Someone else edits the distribution just before maint's next update.
    interloper: bool,
    live: Side,
    gate: Side,
    /// Writes to the distribution and to maint's own function and store.
    writes: Vec<String>,
    /// Writes to the gate's scratch function and store, and its test runs.
    gate_writes: Vec<String>,
    /// DescribeFunction(DEVELOPMENT) answers NoSuchFunctionExists this many
    /// more times although the function exists (another run made it meanwhile).
    hidden_function: u32,
    /// Someone updates the function just before maint deletes it.
    function_interloper: bool,
    /// TestFunction answers this instead of running the code on njs.
    canned_test: Option<TestResult>,
    /// The ComputeUtilization TestFunction reports (default 12).
    utilization: Option<String>,
}

fn is_gate(name_or_arn: &str) -> bool {
    name_or_arn.contains("maint-gate-") || name_or_arn.ends_with("-gate")
}

impl World {
    fn side(&mut self, name_or_arn: &str) -> &mut Side {
        if is_gate(name_or_arn) {
            &mut self.gate
        } else {
            &mut self.live
        }
    }

    fn log(&mut self, name_or_arn: &str, write: String) {
        if is_gate(name_or_arn) {
            self.gate_writes.push(write);
        } else {
            self.writes.push(write);
        }
    }
}

type Shared = Arc<Mutex<World>>;

fn behavior_config(pattern: Option<&str>) -> (Option<DefaultCacheBehavior>, Option<CacheBehavior>) {
    let none = FunctionAssociations::builder().quantity(0).build().unwrap();
    match pattern {
        None => (
            Some(
                DefaultCacheBehavior::builder()
                    .target_origin_id("web")
                    .viewer_protocol_policy(ViewerProtocolPolicy::RedirectToHttps)
                    .function_associations(none)
                    .build()
                    .unwrap(),
            ),
            None,
        ),
        Some(p) => (
            None,
            Some(
                CacheBehavior::builder()
                    .path_pattern(p)
                    .target_origin_id("web")
                    .viewer_protocol_policy(ViewerProtocolPolicy::RedirectToHttps)
                    .function_associations(none)
                    .build()
                    .unwrap(),
            ),
        ),
    }
}

/// A customer's existing distribution: two behaviors and fields maint must keep.
fn customer_distribution() -> DistributionConfig {
    let (default, _) = behavior_config(None);
    let (_, api) = behavior_config(Some("/api/*"));
    let mut config = DistributionConfig::builder()
        .caller_reference("shop-2019")
        .comment("the shop")
        .enabled(true)
        .origins(
            Origins::builder()
                .quantity(1)
                .items(
                    Origin::builder()
                        .id("web")
                        .domain_name("shop.example.com")
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .cache_behaviors(
            CacheBehaviors::builder()
                .quantity(1)
                .items(api.unwrap())
                .build()
                .unwrap(),
        )
        .web_acl_id("arn:aws:wafv2:us-east-1:123456789012:global/webacl/shop/1")
        .build()
        .unwrap();
    config.default_cache_behavior = default;
    config
}

fn store_arn() -> String {
    format!("arn:aws:cloudfront::{ACCOUNT}:key-value-store/0f1e2d3c-maint")
}

/// The store named `name`'s ARN: maint's own, or the gate's scratch one.
fn store_arn_of(name: &str) -> String {
    if is_gate(name) {
        format!("arn:aws:cloudfront::{ACCOUNT}:key-value-store/7a6b5c4d-gate")
    } else {
        store_arn()
    }
}

fn function_arn() -> String {
    format!("arn:aws:cloudfront::{ACCOUNT}:function/maint-window-{DIST}")
}

fn summary(name: &str, f: &Func, stage: FunctionStage) -> FunctionSummary {
    FunctionSummary::builder()
        .name(name)
        .status("DEPLOYED")
        .function_config(
            aws_sdk_cloudfront::types::FunctionConfig::builder()
                .comment("maint")
                .runtime(aws_sdk_cloudfront::types::FunctionRuntime::CloudfrontJs20)
                .set_key_value_store_associations(Some(
                    aws_sdk_cloudfront::types::KeyValueStoreAssociations::builder()
                        .quantity(f.stores.len() as i32)
                        .set_items(Some(
                            f.stores
                                .iter()
                                .map(|a| {
                                    aws_sdk_cloudfront::types::KeyValueStoreAssociation::builder()
                                        .key_value_store_arn(a)
                                        .build()
                                        .unwrap()
                                })
                                .collect(),
                        ))
                        .build()
                        .unwrap(),
                ))
                .build()
                .unwrap(),
        )
        .function_metadata(
            FunctionMetadata::builder()
                .function_arn(format!("arn:aws:cloudfront::{ACCOUNT}:function/{name}"))
                .stage(stage)
                .last_modified_time(DateTime::from_secs(0))
                .build()
                .unwrap(),
        )
        .build()
        .unwrap()
}

fn store_shape(name: &str) -> KeyValueStore {
    let arn = store_arn_of(name);
    KeyValueStore::builder()
        .name(name)
        .id(arn.rsplit('/').next().unwrap())
        .comment("maint")
        .arn(arn)
        .status("READY")
        .last_modified_time(DateTime::from_secs(0))
        .build()
        .unwrap()
}

/// CloudFront's TestFunction, emulated on njs (the engine CloudFront
/// Functions are built on): the DEVELOPMENT code runs on the event with the
/// store's keys through the same `cloudfront` stand-in as the function's own
/// tests. An error from the engine becomes `FunctionErrorMessage`, as on AWS.
fn run_on_njs(code: &[u8], event: &[u8], keys: Option<&BTreeMap<String, String>>) -> TestResult {
    let output = maint::njs::output(
        &String::from_utf8_lossy(code),
        &String::from_utf8_lossy(event),
        keys,
    )
    .expect("njs is needed to emulate TestFunction: run scripts/setup-njs");
    let result = TestResult::builder().compute_utilization("12");
    match output {
        Ok(output) => result.function_output(output).build(),
        Err(error) => result.function_error_message(error).build(),
    }
}

fn clients(world: &Shared) -> Clients {
    let w = world.clone();
    let get_distribution =
        mock!(aws_sdk_cloudfront::Client::get_distribution).then_compute_output(move |_| {
            let w = w.lock().unwrap();
            GetDistributionOutput::builder()
                .e_tag(format!("D{}", w.etag))
                .distribution(
                    Distribution::builder()
                        .id(DIST)
                        .arn(format!("arn:aws:cloudfront::{ACCOUNT}:distribution/{DIST}"))
                        .status("Deployed")
                        .last_modified_time(DateTime::from_secs(0))
                        .in_progress_invalidation_batches(0)
                        .domain_name("d111111abcdef8.cloudfront.net")
                        .distribution_config(w.config.clone().unwrap())
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
    let w = world.clone();
    let update_distribution = mock!(aws_sdk_cloudfront::Client::update_distribution)
        .then_compute_response(move |req| {
            let mut w = w.lock().unwrap();
            if w.interloper {
                // Another person's edit lands first and moves the ETag on.
                w.interloper = false;
                w.config.as_mut().unwrap().comment = "the shop (edited by Sam)".into();
                w.etag += 1;
            }
            if req.if_match() != Some(format!("D{}", w.etag).as_str()) {
                return MockResponse::Error(UpdateDistributionError::PreconditionFailed(
                    PreconditionFailed::builder().build(),
                ));
            }
            w.config = req.distribution_config().cloned();
            w.etag += 1;
            w.writes.push("UpdateDistribution".into());
            MockResponse::Output(UpdateDistributionOutput::builder().build())
        });
    let w = world.clone();
    let describe_store = mock!(aws_sdk_cloudfront::Client::describe_key_value_store)
        .then_compute_response(move |req| {
            let name = req.name().unwrap();
            let mut w = w.lock().unwrap();
            match w.side(name).store {
                Some(tag) => MockResponse::Output(
                    DescribeKeyValueStoreOutput::builder()
                        .key_value_store(store_shape(name))
                        .e_tag(format!("S{tag}"))
                        .build(),
                ),
                None => MockResponse::Error(DescribeKeyValueStoreError::EntityNotFound(
                    EntityNotFound::builder().build(),
                )),
            }
        });
    let w = world.clone();
    let create_store = mock!(aws_sdk_cloudfront::Client::create_key_value_store)
        .then_compute_output(move |req| {
            let name = req.name().unwrap();
            let mut w = w.lock().unwrap();
            w.side(name).store = Some(1);
            w.log(name, format!("CreateKeyValueStore {name}"));
            CreateKeyValueStoreOutput::builder()
                .key_value_store(store_shape(name))
                .e_tag("S1")
                .build()
        });
    let w = world.clone();
    let delete_store = mock!(aws_sdk_cloudfront::Client::delete_key_value_store)
        .then_compute_output(move |req| {
            let name = req.name().unwrap();
            let mut w = w.lock().unwrap();
            let side = w.side(name);
            side.store = None;
            side.keys.clear();
            w.log(name, "DeleteKeyValueStore".into());
            DeleteKeyValueStoreOutput::builder().build()
        });
    let w = world.clone();
    let describe_function = mock!(aws_sdk_cloudfront::Client::describe_function)
        .then_compute_response(move |req| {
            let name = req.name().unwrap();
            let mut w = w.lock().unwrap();
            // DescribeFunction's default stage is not documented: here it is
            // LIVE once published, so only a caller that asks for DEVELOPMENT
            // gets the ETag that DeleteFunction and UpdateFunction take.
            let function = w.side(name).function.as_ref();
            let live = match req.stage() {
                Some(stage) => stage == &FunctionStage::Live,
                None => function.is_some_and(|f| f.live.is_some()),
            };
            let exists = function.is_some();
            if !live && exists && !is_gate(name) && w.hidden_function > 0 {
                w.hidden_function -= 1;
                return MockResponse::Error(DescribeFunctionError::NoSuchFunctionExists(
                    NoSuchFunctionExists::builder().build(),
                ));
            }
            match &w.side(name).function {
                Some(f) if !live || f.live.is_some() => MockResponse::Output(
                    DescribeFunctionOutput::builder()
                        .function_summary(summary(
                            name,
                            f,
                            if live {
                                FunctionStage::Live
                            } else {
                                FunctionStage::Development
                            },
                        ))
                        .e_tag(if live {
                            format!("L{}", f.etag)
                        } else {
                            format!("F{}", f.etag)
                        })
                        .build(),
                ),
                _ => MockResponse::Error(DescribeFunctionError::NoSuchFunctionExists(
                    NoSuchFunctionExists::builder().build(),
                )),
            }
        });
    let w = world.clone();
    let get_function =
        mock!(aws_sdk_cloudfront::Client::get_function).then_compute_response(move |req| {
            let name = req.name().unwrap();
            let mut w = w.lock().unwrap();
            let live = req.stage() == Some(&FunctionStage::Live);
            let found = w.side(name).function.as_ref().and_then(|f| {
                let code = if live {
                    f.live.clone()
                } else {
                    Some(f.code.clone())
                };
                code.map(|c| (c, f.etag))
            });
            match found {
                Some((code, etag)) => MockResponse::Output(
                    GetFunctionOutput::builder()
                        .function_code(Blob::new(code))
                        .e_tag(format!("F{etag}"))
                        .build(),
                ),
                None => MockResponse::Error(GetFunctionError::NoSuchFunctionExists(
                    NoSuchFunctionExists::builder().build(),
                )),
            }
        });
    let w = world.clone();
    let create_function =
        mock!(aws_sdk_cloudfront::Client::create_function).then_compute_response(move |req| {
            let name = req.name().unwrap();
            let mut w = w.lock().unwrap();
            if w.side(name).function.is_some() {
                return MockResponse::Error(CreateFunctionError::FunctionAlreadyExists(
                    aws_sdk_cloudfront::types::error::FunctionAlreadyExists::builder().build(),
                ));
            }
            let config = req.function_config().unwrap();
            assert_eq!(
                config.runtime(),
                &aws_sdk_cloudfront::types::FunctionRuntime::CloudfrontJs20
            );
            let f = Func {
                code: req.function_code().unwrap().as_ref().to_vec(),
                live: None,
                etag: 1,
                stores: config
                    .key_value_store_associations()
                    .map(|a| {
                        a.items()
                            .iter()
                            .map(|i| i.key_value_store_arn().to_string())
                            .collect()
                    })
                    .unwrap_or_default(),
            };
            let out = CreateFunctionOutput::builder()
                .function_summary(summary(name, &f, FunctionStage::Development))
                .e_tag("F1")
                .build();
            w.side(name).function = Some(f);
            w.log(name, "CreateFunction".into());
            MockResponse::Output(out)
        });
    let w = world.clone();
    let update_function =
        mock!(aws_sdk_cloudfront::Client::update_function).then_compute_response(move |req| {
            let name = req.name().unwrap();
            let mut w = w.lock().unwrap();
            let f = w.side(name).function.as_mut().unwrap();
            if req.if_match() != Some(format!("F{}", f.etag).as_str()) {
                return MockResponse::Error(UpdateFunctionError::PreconditionFailed(
                    PreconditionFailed::builder().build(),
                ));
            }
            f.code = req.function_code().unwrap().as_ref().to_vec();
            f.etag += 1;
            let tag = f.etag;
            w.log(name, "UpdateFunction".into());
            MockResponse::Output(
                UpdateFunctionOutput::builder()
                    .e_tag(format!("F{tag}"))
                    .build(),
            )
        });
    let w = world.clone();
    let publish_function = mock!(aws_sdk_cloudfront::Client::publish_function)
        .then_compute_response(move |req| {
            let name = req.name().unwrap();
            let mut w = w.lock().unwrap();
            let f = w.side(name).function.as_mut().unwrap();
            if req.if_match() != Some(format!("F{}", f.etag).as_str()) {
                return MockResponse::Error(PublishFunctionError::PreconditionFailed(
                    PreconditionFailed::builder().build(),
                ));
            }
            f.live = Some(f.code.clone());
            w.log(name, "PublishFunction".into());
            MockResponse::Output(PublishFunctionOutput::builder().build())
        });
    let w = world.clone();
    let delete_function =
        mock!(aws_sdk_cloudfront::Client::delete_function).then_compute_response(move |req| {
            let name = req.name().unwrap();
            let mut w = w.lock().unwrap();
            if w.function_interloper && !is_gate(name) {
                w.function_interloper = false;
                w.live.function.as_mut().unwrap().etag += 1;
            }
            let dev = format!("F{}", w.side(name).function.as_ref().unwrap().etag);
            if req.if_match() != Some(dev.as_str()) {
                return MockResponse::Error(DeleteFunctionError::PreconditionFailed(
                    PreconditionFailed::builder().build(),
                ));
            }
            let arn = format!("arn:aws:cloudfront::{ACCOUNT}:function/{name}");
            let in_use = w
                .config
                .as_ref()
                .is_some_and(|c| format!("{c:?}").contains(&arn));
            if in_use {
                return MockResponse::Error(DeleteFunctionError::FunctionInUse(
                    aws_sdk_cloudfront::types::error::FunctionInUse::builder().build(),
                ));
            }
            w.side(name).function = None;
            w.log(name, "DeleteFunction".into());
            MockResponse::Output(DeleteFunctionOutput::builder().build())
        });
    let w = world.clone();
    let test_function =
        mock!(aws_sdk_cloudfront::Client::test_function).then_compute_response(move |req| {
            let name = req.name().unwrap();
            let mut w = w.lock().unwrap();
            let side = w.side(name);
            let f = side.function.as_ref().unwrap();
            // TestFunction takes the ETag of the stage it runs.
            assert_eq!(req.stage(), Some(&FunctionStage::Development));
            if req.if_match() != Some(format!("F{}", f.etag).as_str()) {
                return MockResponse::Error(TestFunctionError::InvalidIfMatchVersion(
                    aws_sdk_cloudfront::types::error::InvalidIfMatchVersion::builder().build(),
                ));
            }
            // The function runs with the store its config associates.
            let keys = if f.stores.is_empty() {
                None
            } else {
                Some(side.keys.clone())
            };
            let code = f.code.clone();
            let result = if let Some(canned) = &w.canned_test {
                canned.clone()
            } else {
                let mut run =
                    run_on_njs(&code, req.event_object().unwrap().as_ref(), keys.as_ref());
                if let Some(u) = &w.utilization {
                    run.compute_utilization = Some(u.clone());
                }
                run
            };
            w.log(name, "TestFunction".into());
            MockResponse::Output(TestFunctionOutput::builder().test_result(result).build())
        });
    let cloudfront = mock_client!(
        aws_sdk_cloudfront,
        RuleMode::MatchAny,
        [
            &test_function,
            &get_distribution,
            &tags,
            &update_distribution,
            &describe_store,
            &create_store,
            &delete_store,
            &describe_function,
            &get_function,
            &create_function,
            &update_function,
            &publish_function,
            &delete_function
        ]
    );

    let w = world.clone();
    let kvs_describe = mock!(aws_sdk_cloudfrontkeyvaluestore::Client::describe_key_value_store)
        .then_compute_output(move |req| {
            let arn = req.kvs_arn().unwrap();
            assert!(
                arn == store_arn() || arn == store_arn_of("maint-gate-"),
                "{arn}"
            );
            let mut w = w.lock().unwrap();
            let side = w.side(arn);
            KvsDescribeOutput::builder()
                .kvs_arn(arn)
                .item_count(side.keys.len() as i32)
                .total_size_in_bytes(0)
                .created(DateTime::from_secs(0))
                .e_tag(format!("K{}", side.kvs_etag))
                .build()
                .unwrap()
        });
    let w = world.clone();
    let get_key =
        mock!(aws_sdk_cloudfrontkeyvaluestore::Client::get_key).then_compute_response(move |req| {
            let mut w = w.lock().unwrap();
            let side = w.side(req.kvs_arn().unwrap());
            match side.keys.get(req.key().unwrap()) {
                Some(v) => MockResponse::Output(
                    GetKeyOutput::builder()
                        .key(req.key().unwrap())
                        .value(v)
                        .item_count(side.keys.len() as i32)
                        .total_size_in_bytes(0)
                        .build()
                        .unwrap(),
                ),
                None => MockResponse::Error(GetKeyError::ResourceNotFoundException(
                    ResourceNotFoundException::builder()
                        .message("Key not found")
                        .build(),
                )),
            }
        });
    let w = world.clone();
    let put_key =
        mock!(aws_sdk_cloudfrontkeyvaluestore::Client::put_key).then_compute_response(move |req| {
            let arn = req.kvs_arn().unwrap();
            let mut w = w.lock().unwrap();
            let side = w.side(arn);
            if req.if_match() != Some(format!("K{}", side.kvs_etag).as_str()) {
                return MockResponse::Error(PutKeyError::ConflictException(
                    ConflictException::builder().message("stale").build(),
                ));
            }
            side.keys
                .insert(req.key().unwrap().into(), req.value().unwrap().into());
            side.kvs_etag += 1;
            let out = PutKeyOutput::builder()
                .e_tag(format!("K{}", side.kvs_etag))
                .item_count(side.keys.len() as i32)
                .total_size_in_bytes(0)
                .build()
                .unwrap();
            w.log(arn, format!("PutKey {}", req.key().unwrap()));
            MockResponse::Output(out)
        });
    let w = world.clone();
    let update_keys = mock!(aws_sdk_cloudfrontkeyvaluestore::Client::update_keys)
        .then_compute_response(move |req| {
            let arn = req.kvs_arn().unwrap();
            let mut w = w.lock().unwrap();
            let side = w.side(arn);
            if req.if_match() != Some(format!("K{}", side.kvs_etag).as_str()) {
                return MockResponse::Error(UpdateKeysError::ConflictException(
                    ConflictException::builder().message("stale").build(),
                ));
            }
            let mut keys = Vec::new();
            for put in req.puts() {
                side.keys.insert(put.key().into(), put.value().into());
                keys.push(put.key().to_string());
            }
            for delete in req.deletes() {
                side.keys.remove(delete.key());
                keys.push(format!("-{}", delete.key()));
            }
            side.kvs_etag += 1;
            let out = UpdateKeysOutput::builder()
                .e_tag(format!("K{}", side.kvs_etag))
                .item_count(side.keys.len() as i32)
                .total_size_in_bytes(0)
                .build()
                .unwrap();
            w.log(arn, format!("UpdateKeys {}", keys.join(" ")));
            MockResponse::Output(out)
        });
    let kvs = mock_client!(
        aws_sdk_cloudfrontkeyvaluestore,
        RuleMode::MatchAny,
        [&kvs_describe, &get_key, &put_key, &update_keys]
    );
    Clients {
        s3: mock_client!(aws_sdk_s3, []),
        cloudfront,
        kvs,
        sts: unused_sts(),
        iam: unused_iam(),
        listings: None,
    }
}

/// An STS client for tests that never call it.
fn unused_sts() -> aws_sdk_sts::Client {
    aws_sdk_sts::Client::from_conf(
        aws_sdk_sts::Config::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .build(),
    )
}

/// An IAM client for tests that never call it.
fn unused_iam() -> aws_sdk_iam::Client {
    aws_sdk_iam::Client::from_conf(
        aws_sdk_iam::Config::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .build(),
    )
}

fn world() -> Shared {
    Arc::new(Mutex::new(World {
        config: Some(customer_distribution()),
        ..World::default()
    }))
}

fn spec(window_yaml: &str) -> WindowSpec {
    let text = format!(
        "environments:\n  shop:\n    region: eu-west-1\n    distribution: {DIST}\n    window:\n{window_yaml}"
    );
    let config = Config::parse(std::path::Path::new("maint.yaml"), &text).unwrap();
    let (_, env) = config.select(None).unwrap();
    WindowSpec::new(
        &env,
        env.distribution.as_ref().unwrap(),
        std::path::Path::new("."),
    )
    .unwrap()
}

/// Prints nothing: plans go to stdout in text mode, results in JSON mode
/// only when a command prints them (these tests call below that).
fn quiet() -> Output {
    Output {
        json: true,
        quiet: true,
        scope: None,
    }
}

async fn attach_now(
    world: &Shared,
    spec: &WindowSpec,
    secret_hash: Option<&str>,
) -> Result<AttachReport> {
    let options = AttachOptions {
        environment: "shop",
        secret_hash,
        dry_run: false,
        no_wait: false,
    };
    attach_with(spec, &clients(world), &quiet(), &options).await
}

fn viewer_request_arns(config: &DistributionConfig) -> Vec<(String, Vec<String>)> {
    let arns = |fa: Option<&FunctionAssociations>| -> Vec<String> {
        fa.map(FunctionAssociations::items)
            .unwrap_or_default()
            .iter()
            .filter(|a| a.event_type() == &EventType::ViewerRequest)
            .map(|a| a.function_arn().to_string())
            .collect()
    };
    let mut out = vec![(
        "*".to_string(),
        arns(
            config
                .default_cache_behavior()
                .unwrap()
                .function_associations(),
        ),
    )];
    for b in config.cache_behaviors().unwrap().items() {
        out.push((
            b.path_pattern().to_string(),
            arns(b.function_associations()),
        ));
    }
    out
}

#[tokio::test]
async fn attach_builds_store_function_publish_secret_and_association_in_order() {
    let world = world();
    let spec = spec("      bypass:\n        secret_env: MAINT_BYPASS_SECRET\n");
    let hash = bypass_hash(SECRET);
    let report = attach_now(&world, &spec, Some(&hash)).await.unwrap();
    assert!(report.applied);
    assert_eq!(report.covered, ["*", "/api/*"]);
    let test: &FunctionTest = report.function_test.as_ref().unwrap();
    assert_eq!(test.function, format!("maint-gate-{DIST}"));
    assert_eq!(test.requests, test.probes.len());
    assert_eq!(test.compute_utilization, Some(12));
    // Every answer the code can give ran on CloudFront's engine.
    for probe in [
        "the HTML page",
        "the JSON body (by Accept)",
        "a valid bypass link",
        "a valid bypass cookie",
        "a forged bypass cookie",
    ] {
        assert!(
            test.probes.iter().any(|p| p.probe == probe),
            "{probe}: {:?}",
            test.probes
        );
    }

    let w = world.lock().unwrap();
    // The gate's scratch pair: made, tested, removed, never associated.
    assert_eq!(
        w.gate_writes.first().map(String::as_str),
        Some(format!("CreateKeyValueStore maint-gate-{DIST}").as_str())
    );
    assert_eq!(
        w.gate_writes
            .iter()
            .filter(|x| *x == "TestFunction")
            .count(),
        test.requests
    );
    assert_eq!(
        w.gate_writes[w.gate_writes.len() - 2..],
        ["DeleteFunction", "DeleteKeyValueStore"]
    );
    assert!(w.gate.function.is_none() && w.gate.store.is_none());
    assert_eq!(
        w.writes,
        [
            format!("CreateKeyValueStore maint-window-{DIST}"),
            "CreateFunction".to_string(),
            "PublishFunction".to_string(),
            "PutKey bypass".to_string(),
            "UpdateDistribution".to_string(),
        ]
    );
    let f = w.live.function.as_ref().unwrap();
    assert_eq!(f.code, spec.code.as_bytes());
    assert_eq!(f.live.as_deref(), Some(spec.code.as_bytes()));
    assert_eq!(f.stores, [store_arn()]);
    assert_eq!(w.live.keys["bypass"], hash);
    assert!(
        !w.live.keys.values().any(|v| v.contains(SECRET)),
        "the secret never reaches AWS"
    );
    let config = w.config.as_ref().unwrap();
    assert_eq!(
        viewer_request_arns(config),
        [
            ("*".to_string(), vec![function_arn()]),
            ("/api/*".to_string(), vec![function_arn()])
        ]
    );
    // Nothing else changed.
    let mut expected = customer_distribution();
    expected.default_cache_behavior = config.default_cache_behavior.clone();
    expected.cache_behaviors = config.cache_behaviors.clone();
    assert_eq!(config, &expected);
}

#[tokio::test]
async fn attach_again_changes_nothing() {
    let world = world();
    let spec = spec("      retry_after: 120\n");
    attach_now(&world, &spec, None).await.unwrap();
    let writes = world.lock().unwrap().writes.len();
    let report = attach_now(&world, &spec, None).await.unwrap();
    assert!(report.plan.is_empty(), "{:?}", report.plan);
    assert_eq!(world.lock().unwrap().writes.len(), writes);
}

#[tokio::test]
async fn a_changed_config_updates_and_republishes_the_function_only() {
    let world = world();
    attach_now(&world, &spec("      retry_after: 120\n"), None)
        .await
        .unwrap();
    world.lock().unwrap().writes.clear();
    let changed = spec("      retry_after: 600\n");
    attach_now(&world, &changed, None).await.unwrap();
    let w = world.lock().unwrap();
    assert_eq!(w.writes, ["UpdateFunction", "PublishFunction"]);
    assert!(w.gate_writes.contains(&"TestFunction".to_string()));
    assert_eq!(
        w.live.function.as_ref().unwrap().live.as_deref(),
        Some(changed.code.as_bytes())
    );
}

#[tokio::test]
async fn attach_refuses_a_behavior_with_lambda_at_edge_and_changes_nothing() {
    let world = world();
    with_lambda(
        &world,
        EventType::ViewerRequest,
        "arn:aws:lambda:us-east-1:123456789012:function:maintenance:7",
    );
    let err = attach_now(&world, &spec("      retry_after: 60\n"), None)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("behavior `/api/*`"), "{err}");
    assert!(
        err.contains("Lambda@Edge") && err.contains("function:maintenance:7"),
        "{err}"
    );
    assert!(world.lock().unwrap().writes.is_empty());

    // Leaving that behavior out works, and covers only the default one.
    let report = attach_now(&world, &spec("      behaviors: [\"*\"]\n"), None)
        .await
        .unwrap();
    assert_eq!(report.covered, ["*"]);
    let w = world.lock().unwrap();
    assert_eq!(
        viewer_request_arns(w.config.as_ref().unwrap()),
        [
            ("*".to_string(), vec![function_arn()]),
            ("/api/*".to_string(), vec![])
        ]
    );
}

fn with_lambda(world: &Shared, event: EventType, arn: &str) {
    let mut w = world.lock().unwrap();
    let config = w.config.as_mut().unwrap();
    let api = &mut config
        .cache_behaviors
        .as_mut()
        .unwrap()
        .items
        .as_mut()
        .unwrap()[0];
    api.lambda_function_associations = Some(
        LambdaFunctionAssociations::builder()
            .quantity(1)
            .items(
                LambdaFunctionAssociation::builder()
                    .lambda_function_arn(arn)
                    .event_type(event)
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap(),
    );
}

#[tokio::test]
async fn attach_refuses_lambda_at_edge_on_viewer_response_before_any_write() {
    // AWS: "You can't combine CloudFront Functions and Lambda@Edge in viewer
    // events (viewer request and viewer response)". UpdateDistribution would
    // refuse it, after the store and function were made and published.
    let world = world();
    with_lambda(
        &world,
        EventType::ViewerResponse,
        "arn:aws:lambda:us-east-1:123456789012:function:headers:3",
    );
    let err = attach_now(&world, &spec("      retry_after: 60\n"), None)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("behavior `/api/*`"), "{err}");
    assert!(
        err.contains("Lambda@Edge")
            && err.contains("viewer-response")
            && err.contains("function:headers:3"),
        "{err}"
    );
    assert!(world.lock().unwrap().writes.is_empty());
}

#[tokio::test]
async fn lambda_at_edge_on_origin_events_may_stay() {
    // Allowed beside a CloudFront Function ("All other combinations of edge
    // functions are allowed").
    let world = world();
    with_lambda(
        &world,
        EventType::OriginRequest,
        "arn:aws:lambda:us-east-1:123456789012:function:router:9",
    );
    let report = attach_now(&world, &spec("      retry_after: 60\n"), None)
        .await
        .unwrap();
    assert_eq!(report.covered, ["*", "/api/*"]);
}

#[tokio::test]
async fn a_concurrent_distribution_edit_is_kept() {
    let world = world();
    world.lock().unwrap().interloper = true;
    attach_now(&world, &spec("      retry_after: 60\n"), None)
        .await
        .unwrap();
    let w = world.lock().unwrap();
    let config = w.config.as_ref().unwrap();
    assert_eq!(config.comment(), "the shop (edited by Sam)");
    assert_eq!(viewer_request_arns(config)[0].1, [function_arn()]);
}

#[tokio::test]
async fn on_and_off_are_one_store_write_each() {
    let world = world();
    let spec = spec("      retry_after: 90\n");
    attach_now(&world, &spec, None).await.unwrap();
    world.lock().unwrap().writes.clear();
    let clients = clients(&world);

    let state = on_state(
        &spec,
        Some("Back at 14:00 UTC".into()),
        None,
        Some(std::time::Duration::from_secs(7200)),
    )
    .unwrap();
    let report = switch_with("shop", &spec, &clients, state).await.unwrap();
    assert!(report.to_string().contains("ON for `shop`"));
    {
        let w = world.lock().unwrap();
        assert_eq!(w.writes, ["PutKey state"]);
        let stored = State::from_value(&w.live.keys["state"]).unwrap();
        assert!(stored.on);
        assert_eq!(stored.message.as_deref(), Some("Back at 14:00 UTC"));
        assert_eq!(stored.retry_after, Some(90));
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let until = stored.until.unwrap();
        assert!(
            (now + 7190..=now + 7210).contains(&until),
            "{until} vs {now}"
        );
    }
    let status = maint::commands::status::window_status(&spec, &clients)
        .await
        .unwrap();
    assert!(status.attached && status.on, "{status:?}");
    assert_eq!(status.message.as_deref(), Some("Back at 14:00 UTC"));

    switch_with("shop", &spec, &clients, off_state())
        .await
        .unwrap();
    let w = world.lock().unwrap();
    assert_eq!(w.writes, ["PutKey state", "PutKey state"]);
    assert!(!State::from_value(&w.live.keys["state"]).unwrap().on);
}

#[tokio::test]
async fn on_before_attach_says_so_and_writes_nothing() {
    let world = world();
    let spec = spec("      retry_after: 90\n");
    let err = switch_with(
        "shop",
        &spec,
        &clients(&world),
        on_state(&spec, None, None, None).unwrap(),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(err.contains("run `maint attach` first"), "{err}");
    assert!(world.lock().unwrap().writes.is_empty());
}

#[tokio::test]
async fn detach_leaves_the_distribution_as_it_was() {
    let world = world();
    let before = world.lock().unwrap().config.clone().unwrap();
    let spec = spec("      retry_after: 90\n");
    attach_now(&world, &spec, None).await.unwrap();
    world.lock().unwrap().writes.clear();
    let report = detach_with("shop", &spec, &clients(&world), &quiet(), false)
        .await
        .unwrap();
    assert!(report.applied);
    let w = world.lock().unwrap();
    assert_eq!(
        w.writes,
        [
            "UpdateDistribution",
            "DeleteFunction",
            "DeleteKeyValueStore"
        ]
    );
    assert_eq!(w.config.as_ref().unwrap(), &before);
    assert!(w.live.function.is_none() && w.live.store.is_none());
}

fn canned(error: Option<&str>, output: Option<&str>, utilization: &str) -> TestResult {
    TestResult::builder()
        .set_function_error_message(error.map(str::to_string))
        .set_function_output(output.map(str::to_string))
        .compute_utilization(utilization)
        .function_execution_logs("log line")
        .build()
}

async fn attach_refused_by_cloudfront(result: TestResult) -> String {
    let world = world();
    world.lock().unwrap().canned_test = Some(result);
    let spec = spec("      bypass:\n        secret_env: MAINT_BYPASS_SECRET\n");
    let hash = bypass_hash(SECRET);
    let err = attach_now(&world, &spec, Some(&hash))
        .await
        .unwrap_err()
        .to_string();
    let w = world.lock().unwrap();
    // Tested first, then stopped: nothing of the live window made, no
    // secret, no association; the scratch pair removed.
    assert!(w.writes.is_empty(), "{:?}", w.writes);
    assert!(w.live.function.is_none() && w.live.store.is_none());
    assert!(w.gate_writes.contains(&"TestFunction".to_string()));
    assert!(w.gate.function.is_none() && w.gate.store.is_none());
    assert_eq!(w.config.as_ref().unwrap(), &customer_distribution());
    assert!(
        err.contains("nothing was published and the distribution is unchanged"),
        "{err}"
    );
    err
}

#[tokio::test]
async fn attach_stops_when_cloudfront_reports_a_syntax_error() {
    // What TestFunction answers for the form njs refuses.
    let err = attach_refused_by_cloudfront(canned(
        Some("SyntaxError: await in arguments not supported in 5"),
        None,
        "0",
    ))
    .await;
    assert!(
        err.contains("AWS reported: SyntaxError: await in arguments not supported"),
        "{err}"
    );
    assert!(
        err.contains("On `the HTML page` (GET /maint-preflight"),
        "{err}"
    );
}

#[tokio::test]
async fn attach_stops_when_the_function_throws_on_cloudfront() {
    let err = attach_refused_by_cloudfront(canned(
        Some("TypeError: cannot get property \"value\" of undefined"),
        None,
        "3",
    ))
    .await;
    assert!(err.contains("TypeError: cannot get property"), "{err}");
    assert!(err.contains("function logs: log line"), "{err}");
}

#[tokio::test]
async fn attach_stops_when_the_page_lacks_what_visitors_need() {
    // A 503 without Cache-Control or Retry-After: a cache could keep the
    // page after the window, and clients would not know when to retry.
    let err = attach_refused_by_cloudfront(canned(
        None,
        Some(r#"{"response":{"statusCode":503,"statusDescription":"Service Unavailable","headers":{"content-type":{"value":"text/html; charset=utf-8"}}}}"#),
        "5",
    ))
    .await;
    assert!(err.contains("On `the HTML page`"), "{err}");
    assert!(
        err.contains("the answer lacks Cache-Control no-store, a Retry-After of 1 to"),
        "{err}"
    );
}

#[tokio::test(start_paused = true)]
async fn attach_stops_when_the_window_on_still_passes_requests() {
    // The engine keeps answering as if the window were off: after the
    // time a store write takes to be seen, the gate refuses.
    let err = attach_refused_by_cloudfront(canned(
        None,
        Some(r#"{"request":{"method":"GET","uri":"/maint-preflight","querystring":{},"headers":{},"cookies":{}}}"#),
        "5",
    ))
    .await;
    assert!(err.contains("On `the HTML page`"), "{err}");
    assert!(err.contains("expected a 503 with the HTML page"), "{err}");
}

#[tokio::test]
async fn re_attaching_while_on_tests_on_scratch_and_keeps_the_live_state() {
    // Re-attaching a changed config while the window is on: CloudFront (njs
    // here) runs the new code with the store's state, and the probes must
    // get the 503 page, HTML and JSON.
    let world = world();
    let first = spec("      retry_after: 120\n");
    attach_now(&world, &first, None).await.unwrap();
    let clients = clients(&world);
    switch_with(
        "shop",
        &first,
        &clients,
        on_state(&first, None, None, None).unwrap(),
    )
    .await
    .unwrap();
    world.lock().unwrap().writes.clear();
    let changed = spec("      retry_after: 600\n");
    let report = attach_now(&world, &changed, None).await.unwrap();
    assert!(report.function_test.unwrap().requests > 2);
    let w = world.lock().unwrap();
    assert_eq!(w.writes, ["UpdateFunction", "PublishFunction"]);
    // The live store kept its state: the gate wrote only its own.
    assert!(State::from_value(&w.live.keys["state"]).unwrap().on);
}

#[tokio::test]
async fn a_high_compute_utilization_is_shown_with_a_warning() {
    let world = world();
    world.lock().unwrap().utilization = Some("85".into());
    let report = attach_now(&world, &spec("      retry_after: 60\n"), None)
        .await
        .unwrap();
    assert_eq!(report.function_test.unwrap().compute_utilization, Some(85));
    assert_eq!(report.warnings.len(), 1, "{:?}", report.warnings);
    assert!(
        report.warnings[0].contains("85% of CloudFront's compute limit"),
        "{:?}",
        report.warnings
    );
    // Under the threshold: no warning.
    let world = self::world();
    world.lock().unwrap().utilization = Some("70".into());
    let report = attach_now(&world, &spec("      retry_after: 60\n"), None)
        .await
        .unwrap();
    assert!(report.warnings.is_empty());
}

#[tokio::test]
async fn a_function_made_by_a_lost_create_is_updated_not_duplicated() {
    // Another run created the function after this one looked: CreateFunction
    // answers FunctionAlreadyExists, and maint describes it and updates it.
    let world = world();
    {
        let mut w = world.lock().unwrap();
        w.live.function = Some(Func {
            code: b"old code".to_vec(),
            live: None,
            etag: 4,
            stores: vec![store_arn()],
        });
        w.hidden_function = 1;
    }
    let spec = spec("      retry_after: 60\n");
    attach_now(&world, &spec, None).await.unwrap();
    let w = world.lock().unwrap();
    assert_eq!(
        w.writes,
        [
            format!("CreateKeyValueStore maint-window-{DIST}"),
            "UpdateFunction".to_string(),
            "PublishFunction".to_string(),
            "UpdateDistribution".to_string(),
        ]
    );
    let f = w.live.function.as_ref().unwrap();
    assert_eq!(f.live.as_deref(), Some(spec.code.as_bytes()));
}

#[tokio::test]
async fn detach_also_removes_what_an_interrupted_gate_left() {
    let world = world();
    let spec = spec("      retry_after: 90\n");
    attach_now(&world, &spec, None).await.unwrap();
    {
        // An attach stopped mid-gate: its scratch pair is still there.
        let mut w = world.lock().unwrap();
        w.gate.store = Some(1);
        w.gate.function = Some(Func {
            code: b"scratch".to_vec(),
            live: None,
            etag: 1,
            stores: vec![store_arn_of("maint-gate-")],
        });
        w.gate_writes.clear();
    }
    detach_with("shop", &spec, &clients(&world), &quiet(), false)
        .await
        .unwrap();
    let w = world.lock().unwrap();
    assert!(w.gate.function.is_none() && w.gate.store.is_none());
    assert_eq!(w.gate_writes, ["DeleteFunction", "DeleteKeyValueStore"]);
}

#[tokio::test]
async fn detach_deletes_with_the_development_etag_and_retries_a_concurrent_change() {
    let world = world();
    let spec = spec("      retry_after: 90\n");
    attach_now(&world, &spec, None).await.unwrap();
    world.lock().unwrap().function_interloper = true;
    detach_with("shop", &spec, &clients(&world), &quiet(), false)
        .await
        .unwrap();
    let w = world.lock().unwrap();
    assert!(w.live.function.is_none() && w.live.store.is_none());
}

fn plan_text<S: maint::converge::Step>(subject: &str, steps: &[S]) -> String {
    maint::converge::Plan { subject, steps }.to_string()
}

fn nothing_observed() -> ObservedWindow {
    ObservedWindow {
        store: None,
        function: None,
        behaviors: vec![
            Behavior {
                pattern: "*".into(),
                slot: Slot::Free,
            },
            Behavior {
                pattern: "/api/*".into(),
                slot: Slot::Free,
            },
        ],
        bypass_hash: None,
    }
}

#[test]
fn the_attach_plan_builds_everything_in_order() {
    let spec = spec("      bypass:\n        secret_env: MAINT_BYPASS_SECRET\n");
    let covered = vec!["*".to_string(), "/api/*".to_string()];
    let steps = attach_plan(&spec, &covered, Some("hash"), &nothing_observed());
    let text = plan_text("the window of `shop`", &steps).replace(&spec.code.len().to_string(), "N");
    insta::assert_snapshot!(text, @r"
    Plan for the window of `shop` (6 changes):
      ~ test the new code on CloudFront's engine first: 10 requests as the scratch function maint-gate-E2EXAMPLE12345 with its own store, both removed afterwards
      + create key value store maint-window-E2EXAMPLE12345
      + create function maint-window-E2EXAMPLE12345 (cloudfront-js-2.0, N bytes)
      + publish function maint-window-E2EXAMPLE12345 (LIVE)
      ~ store the bypass secret's hash (never the secret)
      ~ run the function on viewer-request for behaviors `*`, `/api/*`
    ");
}

#[test]
fn the_detach_plan_removes_only_what_is_there() {
    let spec = spec("      retry_after: 60\n");
    let mut observed = nothing_observed();
    assert!(detach_plan(&spec, &observed).is_empty());
    observed.behaviors[1].slot = Slot::Ours;
    observed.store = Some(Store {
        arn: store_arn(),
        status: "READY".into(),
        etag: "S1".into(),
    });
    insta::assert_snapshot!(plan_text("detaching the window of `shop`", &detach_plan(&spec, &observed)), @r"
    Plan for detaching the window of `shop` (2 changes):
      ~ remove the function from behaviors `/api/*` and wait
      - delete key value store maint-window-E2EXAMPLE12345
    ");
}
