//! A small HTTP client for `maint verify`: requests the live site the way a
//! visitor's browser or an API client would, over HTTPS with the system's
//! root certificates (or plain HTTP for a local edge), never following
//! redirects (the bypass answers with one), each request bounded in time.

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use anyhow::{Context as _, Result};
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// How long one request may take, answer included.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);

/// What the site answered.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    /// Header names in lower case; repeated headers joined with `\n`.
    pub headers: BTreeMap<String, String>,
    pub body: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }
}

/// One request: `base` (scheme and authority) + `path_and_query`, with a
/// Host header of `host` when given (a local edge serves distributions by
/// their domain name), and the extra `headers`.
pub async fn request(
    method: &str,
    base: &str,
    path_and_query: &str,
    host: Option<&str>,
    headers: &[(&str, &str)],
) -> Result<Reply> {
    let tls = if base.starts_with("https://") {
        SYSTEM_ROOTS.clone().map_err(|e| anyhow::anyhow!(e))?
    } else {
        // Plain HTTP (a local edge): nothing to verify, no store to read.
        no_roots()
    };
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .build();
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build(https);
    let url = format!("{}{path_and_query}", base.trim_end_matches('/'));
    let mut builder = hyper::Request::builder().method(method).uri(&url).header(
        "user-agent",
        concat!("maint-verify/", env!("CARGO_PKG_VERSION")),
    );
    if let Some(host) = host {
        builder = builder.header("host", host);
    }
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let body = if method == "POST" || method == "PUT" {
        Full::new(Bytes::from_static(b"{}"))
    } else {
        Full::new(Bytes::new())
    };
    let request = builder.body(body).context("building the request")?;
    let exchange = async {
        let response = client.request(request).await?;
        let status = response.status().as_u16();
        let mut headers: BTreeMap<String, String> = BTreeMap::new();
        for (name, value) in response.headers() {
            let value = String::from_utf8_lossy(value.as_bytes()).to_string();
            headers
                .entry(name.as_str().to_string())
                .and_modify(|v| {
                    v.push('\n');
                    v.push_str(&value);
                })
                .or_insert(value);
        }
        let bytes = response.into_body().collect().await?.to_bytes();
        // Pages are small; anything bigger is not maint's page anyway.
        let body = String::from_utf8_lossy(&bytes[..bytes.len().min(256 * 1024)]).to_string();
        anyhow::Ok(Reply {
            status,
            headers,
            body,
        })
    };
    match tokio::time::timeout(REQUEST_TIMEOUT, exchange).await {
        Ok(reply) => reply.with_context(|| format!("{method} {url}")),
        Err(_) => anyhow::bail!(
            "{method} {url}: no answer within {} s",
            REQUEST_TIMEOUT.as_secs()
        ),
    }
}

/// The TLS settings with the system's root certificates, read once per run
/// and only when an `https` URL is requested.
static SYSTEM_ROOTS: LazyLock<Result<rustls::ClientConfig, String>> = LazyLock::new(|| {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = rustls::RootCertStore::empty();
    let (added, _) = roots.add_parsable_certificates(found.certs);
    if added == 0 {
        return Err(format!(
            "no root certificates found in the system's store ({}): install the \
             ca-certificates package, or set SSL_CERT_FILE",
            found
                .errors
                .first()
                .map_or_else(|| "it is empty".to_string(), ToString::to_string)
        ));
    }
    config(roots).map_err(|e| format!("setting up TLS: {e}"))
});

fn config(roots: rustls::RootCertStore) -> Result<rustls::ClientConfig, rustls::Error> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

fn no_roots() -> rustls::ClientConfig {
    config(rustls::RootCertStore::empty()).expect("the default protocol versions are supported")
}
