//! One interceptor on every client: each AWS operation is marked as under way
//! while it runs (`crate::activity`, so a command that runs out of time says
//! which call hung) and logged once it ends, one line per operation at debug
//! level (`-v`): service, operation, HTTP status, time. Never headers or
//! bodies, so no secret reaches the log.

use std::time::Instant;

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::InterceptorContext;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
    FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::retries::classifiers::{ClassifyRetry, RetryAction};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};

#[derive(Debug)]
pub struct CallLog;

/// The last call that got no answer, and where it was sent: what a timeout
/// or a network failure names (`super::explain`).
static UNANSWERED: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);

/// `CloudFront GetDistribution at https://cloudfront.amazonaws.com`, for the
/// last call that got no answer.
pub fn unanswered() -> Option<String> {
    UNANSWERED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone()
}

/// `scheme://host[:port]` of a URI: where a call went, without its path
/// and query (which may name the user's resources at length).
fn origin_of(uri: &str) -> String {
    match uri.split_once("://") {
        Some((scheme, rest)) => {
            let host = rest.split(['/', '?']).next().unwrap_or(rest);
            format!("{scheme}://{host}")
        }
        None => uri.split(['/', '?']).next().unwrap_or(uri).to_string(),
    }
}

/// When this call started, and its entry in the activity registry.
#[derive(Debug, Clone)]
struct Started {
    at: Instant,
    activity: u64,
}

impl Storable for Started {
    type Storer = StoreReplace<Self>;
}

/// Where the call's last attempt was sent (`scheme://host[:port]`).
#[derive(Debug, Clone)]
struct SentTo(String);

impl Storable for SentTo {
    type Storer = StoreReplace<Self>;
}

fn operation(cfg: &ConfigBag) -> String {
    cfg.load::<Metadata>().map_or_else(
        || "AWS call".to_string(),
        |m| format!("{} {}", m.service(), m.name()),
    )
}

impl Intercept for CallLog {
    fn name(&self) -> &'static str {
        "maint::CallLog"
    }

    // Not read_before_execution: a client's interceptors run that before the
    // operation's config (with its name) is in the bag.
    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let activity = crate::activity::start(operation(cfg));
        cfg.interceptor_state().store_put(Started {
            at: Instant::now(),
            activity,
        });
        Ok(())
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let to = origin_of(context.request().uri());
        cfg.interceptor_state().store_put(SentTo(to));
        Ok(())
    }

    fn read_after_execution(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(started) = cfg.load::<Started>().cloned() else {
            return Ok(());
        };
        crate::activity::end(started.activity);
        let status = context.response().map_or_else(
            || "no answer".to_string(),
            |r| r.status().as_u16().to_string(),
        );
        if context.response().is_none() {
            let endpoint = cfg
                .load::<SentTo>()
                .map_or_else(|| "its endpoint".to_string(), |SentTo(to)| to.clone());
            *UNANSWERED
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) =
                Some(format!("{} at {endpoint}", operation(cfg)));
        }
        tracing::debug!(
            target: "maint::aws",
            "{} -> {status} in {} ms",
            operation(cfg),
            started.at.elapsed().as_millis()
        );
        Ok(())
    }
}

/// Connection refused is not retried: nothing listens at the endpoint (a
/// wrong `--endpoint-url`, a stopped emulator or proxy), and six tries with
/// backoff would only make the user wait 20 s for the same answer. Other
/// I/O errors (a reset, a timeout) are still retried.
#[derive(Debug)]
pub struct RefusedIsFinal;

impl ClassifyRetry for RefusedIsFinal {
    fn classify_retry(&self, ctx: &InterceptorContext) -> RetryAction {
        let refused = ctx
            .output_or_error()
            .and_then(Result::err)
            .and_then(|e| e.as_connector_error())
            .is_some_and(|e| is_refused(e));
        if refused {
            RetryAction::RetryForbidden
        } else {
            RetryAction::NoActionIndicated
        }
    }

    fn name(&self) -> &'static str {
        "maint::RefusedIsFinal"
    }
}

/// Whether an error, or one of its sources, is a refused connection.
pub fn is_refused(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(err);
    while let Some(e) = next {
        if e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::ConnectionRefused)
        {
            return true;
        }
        next = e.source();
    }
    false
}
