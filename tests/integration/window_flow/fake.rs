//! A small, stateful stand-in for CloudFront and its KeyValueStore data
//! plane, built from the SDK's own mocks (aws-smithy-mocks) with the request
//! and response shapes of the AWS API reference, and a builder that says how
//! this run differs from the plain case:
//!
//!     let world = Fake::new().lambda_at_edge(EventType::ViewerRequest, ARN).world();
//!
//! One group of rules per resource: the distribution, the store (control
//! plane), the function, the store's data plane.

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
use aws_smithy_mocks::{MockResponse, Rule, RuleMode, mock, mock_client};
use aws_smithy_types::DateTime;

use anyhow::Result;

use maint::aws::Clients;
use maint::commands::attach::{AttachOptions, AttachReport, attach_with};
use maint::config::Config;
use maint::output::Output;
use maint::window::WindowSpec;

pub const DIST: &str = "E2EXAMPLE12345";
pub const ACCOUNT: &str = "123456789012";
pub const SECRET: &str = "s3cret-for-the-team-0123";

#[derive(Default)]
pub struct Func {
    pub code: Vec<u8>,
    pub live: Option<Vec<u8>>,
    pub etag: u32,
    pub stores: Vec<String>,
}

/// One function and its store, by name: maint's own (`maint-window-…`) or
/// the go-live gate's scratch pair (`maint-gate-…`).
#[derive(Default)]
pub struct Side {
    pub store: Option<u32>,
    pub function: Option<Func>,
    pub keys: BTreeMap<String, String>,
    pub kvs_etag: u32,
}

/// What the fake AWS holds, and every write it was sent.
#[derive(Default)]
pub struct World {
    pub config: Option<DistributionConfig>,
    pub etag: u32,
    /// Someone else edits the distribution just before maint's next update.
    pub interloper: bool,
    pub live: Side,
    pub gate: Side,
    /// Writes to the distribution and to maint's own function and store.
    pub writes: Vec<String>,
    /// Writes to the gate's scratch function and store, and its test runs.
    pub gate_writes: Vec<String>,
    /// DescribeFunction(DEVELOPMENT) answers NoSuchFunctionExists this many
    /// more times although the function exists (another run made it meanwhile).
    pub hidden_function: u32,
    /// Someone updates the function just before maint deletes it.
    pub function_interloper: bool,
    /// TestFunction answers this instead of running the code on njs.
    pub canned_test: Option<TestResult>,
    /// The ComputeUtilization TestFunction reports (default 12).
    pub utilization: Option<String>,
}

pub fn is_gate(name_or_arn: &str) -> bool {
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

pub type Shared = Arc<Mutex<World>>;

pub fn behavior_config(
    pattern: Option<&str>,
) -> (Option<DefaultCacheBehavior>, Option<CacheBehavior>) {
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
pub fn customer_distribution() -> DistributionConfig {
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

pub fn store_arn() -> String {
    format!("arn:aws:cloudfront::{ACCOUNT}:key-value-store/0f1e2d3c-maint")
}

/// The store named `name`'s ARN: maint's own, or the gate's scratch one.
pub fn store_arn_of(name: &str) -> String {
    if is_gate(name) {
        format!("arn:aws:cloudfront::{ACCOUNT}:key-value-store/7a6b5c4d-gate")
    } else {
        store_arn()
    }
}

pub fn function_arn() -> String {
    format!("arn:aws:cloudfront::{ACCOUNT}:function/maint-window-{DIST}")
}

pub fn summary(name: &str, f: &Func, stage: FunctionStage) -> FunctionSummary {
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

pub fn store_shape(name: &str) -> KeyValueStore {
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
pub fn run_on_njs(
    code: &[u8],
    event: &[u8],
    keys: Option<&BTreeMap<String, String>>,
) -> TestResult {
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

/// The customer's distribution: read (with its tags) and updated with If-Match, an interloper's edit first when asked.
fn distribution_rules(world: &Shared) -> Vec<Rule> {
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
    vec![get_distribution, tags, update_distribution]
}

/// The key value stores through the control plane: described, created, deleted.
fn store_rules(world: &Shared) -> Vec<Rule> {
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
    vec![describe_store, create_store, delete_store]
}

/// The functions, both stages: described, read, created, updated, published, deleted, and TestFunction (on njs, or the canned answer).
fn function_rules(world: &Shared) -> Vec<Rule> {
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
    vec![
        describe_function,
        get_function,
        create_function,
        update_function,
        publish_function,
        delete_function,
        test_function,
    ]
}

/// The stores' data plane: described (for the ETag), keys read, put and updated.
fn data_plane_rules(world: &Shared) -> Vec<Rule> {
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
    vec![kvs_describe, get_key, put_key, update_keys]
}

/// The clients on the fake: CloudFront and the KeyValueStore data plane
/// answer from `world`; S3, STS and IAM are never called in window mode.
pub fn clients(world: &Shared) -> Clients {
    let mut cloudfront_rules = distribution_rules(world);
    cloudfront_rules.extend(store_rules(world));
    cloudfront_rules.extend(function_rules(world));
    let cloudfront = mock_client!(aws_sdk_cloudfront, RuleMode::MatchAny, &cloudfront_rules);
    let kvs = mock_client!(
        aws_sdk_cloudfrontkeyvaluestore,
        RuleMode::MatchAny,
        &data_plane_rules(world)
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
pub fn unused_sts() -> aws_sdk_sts::Client {
    aws_sdk_sts::Client::from_conf(
        aws_sdk_sts::Config::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .build(),
    )
}

/// An IAM client for tests that never call it.
pub fn unused_iam() -> aws_sdk_iam::Client {
    aws_sdk_iam::Client::from_conf(
        aws_sdk_iam::Config::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .build(),
    )
}

pub fn world() -> Shared {
    Arc::new(Mutex::new(World {
        config: Some(customer_distribution()),
        ..World::default()
    }))
}

pub fn spec(window_yaml: &str) -> WindowSpec {
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
pub fn quiet() -> Output {
    Output {
        json: true,
        quiet: true,
        scope: None,
    }
}

pub async fn attach_now(
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

pub fn viewer_request_arns(config: &DistributionConfig) -> Vec<(String, Vec<String>)> {
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

pub fn with_lambda(world: &Shared, event: EventType, arn: &str) {
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

/// The customer's distribution on the fake, and how this run differs.
pub struct Fake {
    world: Shared,
}

impl Fake {
    /// The customer's distribution (two behaviors), nothing of maint's yet.
    pub fn new() -> Self {
        Self { world: world() }
    }

    /// Someone else edits the distribution just before maint's next update.
    pub fn with_a_concurrent_distribution_edit(self) -> Self {
        self.world.lock().unwrap().interloper = true;
        self
    }

    /// Someone updates the function just before maint deletes it.
    pub fn with_a_concurrent_function_edit(self) -> Self {
        self.world.lock().unwrap().function_interloper = true;
        self
    }

    /// TestFunction answers `result` instead of running the code on njs.
    pub fn test_function_answers(self, result: TestResult) -> Self {
        self.world.lock().unwrap().canned_test = Some(result);
        self
    }

    /// TestFunction reports this ComputeUtilization.
    pub fn compute_utilization(self, percent: &str) -> Self {
        self.world.lock().unwrap().utilization = Some(percent.to_string());
        self
    }

    /// The `/api/*` behavior runs a Lambda@Edge function on `event`.
    pub fn lambda_at_edge(self, event: EventType, arn: &str) -> Self {
        with_lambda(&self.world, event, arn);
        self
    }

    /// What the fake holds, for the test to act on and read.
    pub fn world(self) -> Shared {
        self.world
    }
}
