//! `maint preview`: serve the rendered page on loopback as visitors will get
//! it through CloudFront: 503, the same Content-Type, for any path and method.

use std::convert::Infallible;
use std::net::SocketAddr;

use anyhow::{Context as _, Result};
use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use super::{Output, Session};
use crate::config::check_message;
use crate::site::document::{ErrorDocument, cache_control};

pub fn response(document: &ErrorDocument, max_age: u32) -> Response<Full<Bytes>> {
    Response::builder()
        .status(StatusCode::SERVICE_UNAVAILABLE)
        .header("content-type", document.content_type())
        .header("cache-control", cache_control(max_age))
        .body(Full::new(Bytes::from(document.body.clone())))
        .expect("static headers are valid")
}

/// Where the preview serves, printed as soon as it listens.
#[derive(serde::Serialize)]
struct Preview {
    environment: String,
    url: String,
}

impl std::fmt::Display for Preview {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.url)
    }
}

pub async fn run(
    session: &Session,
    out: &Output,
    port: u16,
    message: Option<String>,
) -> Result<()> {
    let site = session.site()?;
    let spec = &site.spec;
    let message = message.unwrap_or_else(|| spec.default_message.clone());
    check_message(&message).map_err(|e| crate::output::usage(anyhow::Error::msg(e)))?;
    let document = site.template.render(&spec.key, &spec.title, &message)?;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}: choose another --port"))?;
    let bound = listener.local_addr()?;
    // The URL goes to stdout (machine-readable, e.g. for tests); the hint to stderr.
    out.result(&Preview {
        environment: session.environment.clone(),
        url: format!("http://{bound}/"),
    })?;
    out.progress(format!(
        "Previewing `{}`: every request gets 503 with {} ({}). Ctrl-C to stop.",
        session.environment,
        spec.key,
        document.content_type()
    ));
    let max_age = spec.page_max_age;
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => accepted?,
            _ = tokio::signal::ctrl_c() => return Ok(()),
        };
        let document = document.clone();
        tokio::spawn(async move {
            let service = service_fn(move |_request| {
                let reply = response(&document, max_age);
                async move { Ok::<_, Infallible>(reply) }
            });
            // A visitor hanging up early is not our error.
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
