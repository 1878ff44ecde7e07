//! The AWS side: clients built from the standard credential chain, and thin
//! adapters that turn SDK types into maint's own and SDK errors into
//! messages that say what to do.

pub mod association;
pub mod bucket;
pub mod calls;
pub mod distribution;
pub mod explain;
pub mod function;
pub mod iam;
pub mod if_match;
pub mod invalidation;
pub mod oac;
pub mod observe;
pub mod page;
pub mod site_distribution;
pub mod store;
pub mod sts;

pub use explain::{HttpStatus, absent, explain, explain_kvs, gone, status_and_code};
pub use if_match::IF_MATCH_ATTEMPTS;
pub(crate) use if_match::{Attempt, with_if_match};

use anyhow::{Result, bail};
use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;

// What each call may take. A read on AWS answers in well under a second,
// so a read that has had no answer for seconds is not coming: the defaults
// bound reads tightly, and a silent endpoint fails a read command within
// 30 s, naming the endpoint and the call (`explain`). The writes AWS may
// take seconds to answer (distribution writes carry the whole config and
// are checked against every referenced resource; function writes and
// TestFunction compile or run code; a page upload moves the page) get the
// `slow_*` budget, per call.

/// Time to open a connection: AWS answers in milliseconds.
pub const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);
/// Time without a byte from an open connection, for a read.
pub const READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(6);
/// One attempt of a read; a slower one is retried.
pub const ATTEMPT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(8);
/// A read and all its retries: under 30 s with the backoff between them.
pub const OPERATION_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(25);
/// One attempt of a slow write, and the write with its retries.
pub const SLOW_ATTEMPT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);
pub const SLOW_OPERATION_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);

fn read_timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .read_timeout(READ_TIMEOUT)
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .operation_timeout(OPERATION_TIMEOUT)
        .build()
}

fn slow_timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .read_timeout(SLOW_ATTEMPT_TIMEOUT)
        .operation_attempt_timeout(SLOW_ATTEMPT_TIMEOUT)
        .operation_timeout(SLOW_OPERATION_TIMEOUT)
        .build()
}

/// The budget of a CloudFront write AWS may take seconds to answer, for
/// `.customize().config_override(…)`.
pub(crate) fn slow_cloudfront() -> aws_sdk_cloudfront::config::Builder {
    aws_sdk_cloudfront::config::Builder::default().timeout_config(slow_timeouts())
}

/// The same for an S3 upload.
pub(crate) fn slow_s3() -> aws_sdk_s3::config::Builder {
    aws_sdk_s3::config::Builder::default().timeout_config(slow_timeouts())
}

/// How to reach AWS: from the global flags and the environment.
#[derive(Debug, Clone, Default)]
pub struct Connection {
    pub profile: Option<String>,
    pub region: String,
    /// A custom endpoint (the local emulator, or a VPC endpoint): S3 then uses
    /// path-style addressing, which such endpoints need.
    pub endpoint_url: Option<String>,
}

/// The clients one command uses.
#[derive(Debug, Clone)]
pub struct Clients {
    pub s3: aws_sdk_s3::Client,
    pub cloudfront: aws_sdk_cloudfront::Client,
    /// The KeyValueStore data plane (window mode).
    pub kvs: aws_sdk_cloudfrontkeyvaluestore::Client,
    /// Which account the credentials are for.
    pub sts: aws_sdk_sts::Client,
    /// Access for CI and operators (`grant`, `revoke`).
    pub iam: aws_sdk_iam::Client,
    /// Account-wide listings shared by the environments of a read-only run
    /// over several (`status`, `verify`): each is made once, and only if an
    /// environment needs it (its page's record is missing or stale).
    pub listings: Option<std::sync::Arc<distribution::Listings>>,
}

/// Clients shared by the environments of one run: one set per region, and
/// the caller's identity asked once.
#[derive(Debug, Default)]
pub struct ClientPool {
    by_region: tokio::sync::Mutex<std::collections::HashMap<String, Clients>>,
    caller: tokio::sync::OnceCell<sts::Caller>,
    /// Set for a read-only run: listings are then shared (nothing the run
    /// does can make them stale).
    listings: Option<std::sync::Arc<distribution::Listings>>,
}

impl ClientPool {
    /// A pool whose clients share account-wide listings: only for runs that
    /// change nothing.
    pub fn read_only() -> Self {
        Self {
            listings: Some(std::sync::Arc::default()),
            ..Self::default()
        }
    }

    pub async fn clients(&self, connection: &Connection) -> Result<Clients> {
        let mut by_region = self.by_region.lock().await;
        if let Some(clients) = by_region.get(&connection.region) {
            return Ok(clients.clone());
        }
        let mut clients = connection.clients().await?;
        clients.listings.clone_from(&self.listings);
        by_region.insert(connection.region.clone(), clients.clone());
        Ok(clients)
    }

    /// Who the credentials are (STS GetCallerIdentity), asked once per run.
    pub async fn caller(&self, clients: &Clients) -> Result<sts::Caller> {
        self.caller
            .get_or_try_init(|| sts::caller(&clients.sts))
            .await
            .cloned()
    }
}

impl Connection {
    /// The clients, with credentials from the profile when one is named
    /// (`--profile`, else `AWS_PROFILE`). A named profile wins over
    /// credentials in the environment, as `--profile` does in the AWS CLI,
    /// and one that does not exist is an error, never a silent fallback to
    /// whatever else the chain finds: that could be another account.
    pub async fn clients(&self) -> Result<Clients> {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(aws_config::Region::new(self.region.clone()))
            // Throttling is retried with backoff before it becomes an error.
            .retry_config(RetryConfig::standard().with_max_attempts(6))
            // Every call is bounded: an endpoint that accepts and never
            // answers fails the call instead of hanging the command.
            .timeout_config(read_timeouts());
        if let Some((name, from)) = self.named_profile() {
            check_profile_exists(&name, from).await?;
            if std::env::var_os("AWS_ACCESS_KEY_ID").is_some() {
                tracing::warn!(
                    "using AWS profile `{name}` ({from}); the credentials in AWS_ACCESS_KEY_ID are ignored"
                );
            }
            loader = loader.profile_name(&name).credentials_provider(
                aws_config::profile::ProfileFileCredentialsProvider::builder()
                    .profile_name(&name)
                    .build(),
            );
        }
        if let Some(url) = &self.endpoint_url {
            loader = loader.endpoint_url(url);
            if url.starts_with("http://") {
                // A local endpoint over plain HTTP: no TLS connector, so the
                // system's root certificates are never read.
                loader = loader.http_client(aws_smithy_http_client::Builder::new().build_http());
            }
        }
        let shared = loader.load().await;
        Ok(clients_for(&shared, self.endpoint_url.as_deref()))
    }

    /// The profile asked for, and where the name came from.
    fn named_profile(&self) -> Option<(String, &'static str)> {
        if let Some(name) = &self.profile {
            return Some((name.clone(), "--profile"));
        }
        std::env::var("AWS_PROFILE")
            .ok()
            .filter(|p| !p.is_empty())
            .map(|p| (p, "AWS_PROFILE"))
    }
}

/// Fails, naming the files read and the profiles they hold, when `name` is
/// in neither the AWS config file nor the credentials file.
async fn check_profile_exists(name: &str, from: &str) -> Result<()> {
    use aws_types::os_shim_internal::{Env, Fs};
    let files = aws_runtime::env_config::file::EnvConfigFiles::default();
    let set = aws_config::profile::load(&Fs::real(), &Env::real(), &files, None)
        .await
        .map_err(|e| anyhow::anyhow!("reading the AWS config files for profile `{name}`: {e}"))?;
    if set.get_profile(name).is_some() {
        return Ok(());
    }
    let home = std::env::var("HOME").unwrap_or_else(|_| "~".to_string());
    let config = std::env::var("AWS_CONFIG_FILE").unwrap_or_else(|_| format!("{home}/.aws/config"));
    let credentials = std::env::var("AWS_SHARED_CREDENTIALS_FILE")
        .unwrap_or_else(|_| format!("{home}/.aws/credentials"));
    let mut known: Vec<&str> = set.profiles().collect();
    known.sort_unstable();
    let known = if known.is_empty() {
        "none".to_string()
    } else {
        known.join(", ")
    };
    bail!(
        "AWS profile `{name}` ({from}) is in neither {config} nor {credentials} (profiles there: \
         {known}): check the name, or create it with `aws configure --profile {name}`"
    )
}

/// The clients for an SDK config, with what a custom endpoint needs: S3 with
/// path-style addressing, and the KeyValueStore data plane at the endpoint
/// as given.
fn clients_for(shared: &aws_config::SdkConfig, endpoint_url: Option<&str>) -> Clients {
    let s3 = aws_sdk_s3::config::Builder::from(shared)
        .force_path_style(endpoint_url.is_some())
        .interceptor(calls::CallLog)
        .retry_classifier(calls::RefusedIsFinal)
        .build();
    let cloudfront = aws_sdk_cloudfront::config::Builder::from(shared)
        .interceptor(calls::CallLog)
        .retry_classifier(calls::RefusedIsFinal)
        .build();
    let mut kvs = aws_sdk_cloudfrontkeyvaluestore::config::Builder::from(shared)
        .interceptor(calls::CallLog)
        .retry_classifier(calls::RefusedIsFinal);
    if let Some(url) = endpoint_url {
        kvs = kvs.endpoint_resolver(KvsAtEndpoint {
            url: url.to_string(),
        });
    }
    Clients {
        s3: aws_sdk_s3::Client::from_conf(s3),
        cloudfront: aws_sdk_cloudfront::Client::from_conf(cloudfront),
        kvs: aws_sdk_cloudfrontkeyvaluestore::Client::from_conf(kvs.build()),
        sts: aws_sdk_sts::Client::from_conf(
            aws_sdk_sts::config::Builder::from(shared)
                .interceptor(calls::CallLog)
                .retry_classifier(calls::RefusedIsFinal)
                .build(),
        ),
        iam: aws_sdk_iam::Client::from_conf(
            aws_sdk_iam::config::Builder::from(shared)
                .interceptor(calls::CallLog)
                .retry_classifier(calls::RefusedIsFinal)
                .build(),
        ),
        listings: None,
    }
}

/// The KeyValueStore data plane at a custom endpoint, as given. The SDK's
/// own rules put the store's account id in front of any endpoint's host
/// (`{account}.{host}`, as for `{account}.cloudfront-kvs.global.api.aws`),
/// which no local or private endpoint answers (aws-facts: KeyValueStore).
/// Requests are still signed with SigV4A for every region, as AWS requires.
#[derive(Debug)]
struct KvsAtEndpoint {
    url: String,
}

impl aws_sdk_cloudfrontkeyvaluestore::config::endpoint::ResolveEndpoint for KvsAtEndpoint {
    fn resolve_endpoint<'a>(
        &'a self,
        _params: &'a aws_sdk_cloudfrontkeyvaluestore::config::endpoint::Params,
    ) -> aws_sdk_cloudfrontkeyvaluestore::config::endpoint::EndpointFuture<'a> {
        use aws_smithy_types::endpoint::{Endpoint, EndpointAuthScheme};
        let endpoint = Endpoint::builder()
            .url(self.url.clone())
            .auth_scheme(
                EndpointAuthScheme::with_capacity("sigv4a", 2)
                    .put("signingName", "cloudfront-keyvaluestore".to_string())
                    .put(
                        "signingRegionSet",
                        vec![aws_smithy_types::Document::from("*")],
                    ),
            )
            .build();
        aws_sdk_cloudfrontkeyvaluestore::config::endpoint::EndpointFuture::ready(Ok(endpoint))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A one-request HTTP server on loopback: answers `body` and hands back
    /// the request head it received.
    fn one_request_server(body: &'static str) -> (String, std::thread::JoinHandle<String>) {
        use std::io::{BufRead as _, Write as _};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let handle = std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            stream
                .set_read_timeout(Some(std::time::Duration::from_secs(10)))
                .unwrap();
            let mut reader = std::io::BufReader::new(stream.try_clone().unwrap());
            let mut head = String::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
                    break;
                }
                head.push_str(&line);
            }
            let mut stream = stream;
            write!(
                stream,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            )
            .unwrap();
            head
        });
        (url, handle)
    }

    #[tokio::test]
    async fn a_custom_endpoint_reaches_the_key_value_store_as_given() {
        let (url, server) = one_request_server(
            r#"{"Key":"state","Value":"{}","ItemCount":1,"TotalSizeInBytes":2}"#,
        );
        let shared = aws_config::defaults(BehaviorVersion::latest())
            .region(aws_config::Region::new("eu-west-1"))
            .credentials_provider(aws_sdk_s3::config::Credentials::new(
                "AKIDEXAMPLE",
                "secret",
                None,
                None,
                "test",
            ))
            .endpoint_url(&url)
            .load()
            .await;
        let clients = clients_for(&shared, Some(&url));
        let arn = "arn:aws:cloudfront::123456789012:key-value-store/0f1e2d3c";
        let value = store::get_key(&clients.kvs, arn, "state").await.unwrap();
        assert_eq!(value.as_deref(), Some("{}"));
        let head = server.join().unwrap().to_lowercase();
        let host = url.trim_start_matches("http://");
        // Not `123456789012.127.0.0.1:port`, which the SDK's rules build.
        assert!(head.contains(&format!("host: {host}\r\n")), "{head}");
        assert!(head.starts_with("get /key-value-stores/"), "{head}");
        // Still SigV4A, which the data plane requires.
        assert!(
            head.contains("authorization: aws4-ecdsa-p256-sha256"),
            "{head}"
        );
    }

    /// An HTTP client whose every connection is refused, counting attempts.
    #[derive(Debug, Clone, Default)]
    struct Refusing(std::sync::Arc<std::sync::atomic::AtomicUsize>);

    impl aws_smithy_runtime_api::client::http::HttpConnector for Refusing {
        fn call(
            &self,
            _request: aws_smithy_runtime_api::client::orchestrator::HttpRequest,
        ) -> aws_smithy_runtime_api::client::http::HttpConnectorFuture {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
            aws_smithy_runtime_api::client::http::HttpConnectorFuture::ready(Err(
                aws_smithy_runtime_api::client::result::ConnectorError::io(Box::new(refused)),
            ))
        }
    }

    impl aws_smithy_runtime_api::client::http::HttpClient for Refusing {
        fn http_connector(
            &self,
            _settings: &aws_smithy_runtime_api::client::http::HttpConnectorSettings,
            _components: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponents,
        ) -> aws_smithy_runtime_api::client::http::SharedHttpConnector {
            aws_smithy_runtime_api::client::http::SharedHttpConnector::new(self.clone())
        }
    }

    #[tokio::test]
    async fn a_refused_connection_is_tried_once_and_said_plainly() {
        let refusing = Refusing::default();
        let shared = aws_config::defaults(BehaviorVersion::latest())
            .region(aws_config::Region::new("eu-west-1"))
            .credentials_provider(aws_sdk_s3::config::Credentials::new(
                "AKIDEXAMPLE",
                "secret",
                None,
                None,
                "test",
            ))
            .retry_config(RetryConfig::standard().with_max_attempts(6))
            .http_client(refusing.clone())
            .load()
            .await;
        let clients = clients_for(&shared, None);
        let err = sts::caller(&clients.sts).await.unwrap_err();
        assert_eq!(refusing.0.load(std::sync::atomic::Ordering::SeqCst), 1);
        let (_, message, hint) = crate::output::describe(&err);
        assert!(message.contains("the connection was refused"), "{message}");
        assert!(hint.unwrap().contains("--endpoint-url"));
        // Without the classifier, the SDK tries six times.
        let plain = aws_sdk_sts::Client::new(&shared);
        let before = refusing.0.load(std::sync::atomic::Ordering::SeqCst);
        tokio::time::pause();
        let _ = plain.get_caller_identity().send().await;
        assert_eq!(
            refusing.0.load(std::sync::atomic::Ordering::SeqCst) - before,
            6
        );
    }
}
