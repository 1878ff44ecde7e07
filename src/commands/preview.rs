//! `maint preview`: serve on loopback what visitors will get. Site mode: the
//! rendered page, as CloudFront serves it: 503, the same Content-Type, for any
//! path and method. Window mode: the rendered function, run on njs with the
//! window on, in front of a placeholder origin, so the page, the JSON body and
//! the bypass can be tried before `attach`.

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
use crate::site::page::{Page, cache_control};

pub fn response(document: &Page, max_age: u32) -> Response<Full<Bytes>> {
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
    if session.site.is_none()
        && let Some(window) = &session.window
    {
        return preview_window(session, window, out, port, message).await;
    }
    let site = session.site()?;
    let spec = &site.spec;
    let message = message.unwrap_or_else(|| spec.default_message.clone());
    check_message(&message).map_err(|e| crate::output::usage(anyhow::Error::msg(e)))?;
    let document = site.page(&message)?;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}: choose another --port"))?;
    let bound = listener.local_addr()?;
    // Listening for the signal that ends the preview before saying where it
    // is: whoever reads the address may stop it at once.
    let stopped = crate::stop_signals();
    tokio::pin!(stopped);
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
            _ = &mut stopped => return Ok(()),
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

/// Window mode: every request runs the function on njs with the window on
/// (and the bypass secret's hash, when it is set here); what it lets through
/// reaches a placeholder origin.
async fn preview_window(
    session: &Session,
    window: &crate::window::WindowSpec,
    out: &Output,
    port: u16,
    message: Option<String>,
) -> Result<()> {
    if let Some(message) = &message {
        check_message(message).map_err(|e| crate::output::usage(anyhow::Error::msg(e)))?;
    }
    let state = crate::window::State {
        on: true,
        until: None,
        message,
        retry_after: Some(window.retry_after),
    };
    let mut entries = std::collections::BTreeMap::new();
    entries.insert(crate::window::STATE_KEY.to_string(), state.to_value()?);
    if let Some(secret) = crate::window::secret_from_env(window).unwrap_or(None) {
        entries.insert(
            crate::window::BYPASS_KEY.to_string(),
            crate::window::bypass_hash(&secret),
        );
    }
    // Fail now, not on the first request, when njs is missing.
    crate::njs::run(
        &window.code,
        &window_event("GET", "/", "", &[], "127.0.0.1"),
        &entries,
    )?;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}: choose another --port"))?;
    let bound = listener.local_addr()?;
    let stopped = crate::stop_signals();
    tokio::pin!(stopped);
    out.result(&Preview {
        environment: session.environment.clone(),
        url: format!("http://{bound}/"),
    })?;
    out.progress(format!(
        "Previewing the window of `{}` (on, run on njs): what it lets through reaches a \
         placeholder origin. Ctrl-C to stop.",
        session.environment
    ));
    let code = std::sync::Arc::new(window.code.clone());
    let entries = std::sync::Arc::new(entries);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => accepted?,
            _ = &mut stopped => return Ok(()),
        };
        let (code, entries) = (code.clone(), entries.clone());
        tokio::spawn(async move {
            let service = service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                let (code, entries) = (code.clone(), entries.clone());
                async move {
                    let headers: Vec<(String, String)> = request
                        .headers()
                        .iter()
                        .map(|(k, v)| {
                            (
                                k.as_str().to_string(),
                                String::from_utf8_lossy(v.as_bytes()).to_string(),
                            )
                        })
                        .collect();
                    let event = window_event(
                        request.method().as_str(),
                        request.uri().path(),
                        request.uri().query().unwrap_or_default(),
                        &headers,
                        &peer.ip().to_string(),
                    );
                    let (method, target) =
                        (request.method().to_string(), request.uri().to_string());
                    let answer = tokio::task::spawn_blocking(move || {
                        crate::njs::run(&code, &event, &entries)
                    })
                    .await;
                    Ok::<_, Infallible>(window_reply(answer, &method, &target))
                }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// A viewer-request event for the function, as CloudFront builds it: query
/// values as sent, lower-case header names, cookies apart from the headers.
fn window_event(
    method: &str,
    uri: &str,
    query: &str,
    headers: &[(String, String)],
    ip: &str,
) -> serde_json::Value {
    use serde_json::{Map, Value, json};
    fn add(map: &mut Map<String, Value>, key: &str, value: &str) {
        match map.get_mut(key) {
            Some(existing) => {
                let first = existing["value"].clone();
                let multi = existing
                    .as_object_mut()
                    .expect("an object")
                    .entry("multiValue")
                    .or_insert_with(|| json!([{ "value": first }]));
                if let Some(list) = multi.as_array_mut() {
                    list.push(json!({ "value": value }));
                }
            }
            None => {
                map.insert(key.to_string(), json!({ "value": value }));
            }
        }
    }
    let mut querystring = Map::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        add(&mut querystring, k, v);
    }
    let (mut header_map, mut cookies) = (Map::new(), Map::new());
    for (name, value) in headers {
        let name = name.to_ascii_lowercase();
        if name == "cookie" {
            for c in value.split(';') {
                let (k, v) = c.trim().split_once('=').unwrap_or((c.trim(), ""));
                if !k.is_empty() {
                    add(&mut cookies, k, v);
                }
            }
        } else {
            add(&mut header_map, &name, value);
        }
    }
    json!({
        "version": "1.0",
        "context": {"eventType": "viewer-request", "distributionDomainName": "preview.local"},
        "viewer": {"ip": ip},
        "request": {
            "method": method,
            "uri": uri,
            "querystring": querystring,
            "headers": header_map,
            "cookies": cookies
        }
    })
}

/// The function's answer as an HTTP response; a request it let through
/// reaches the placeholder origin.
fn window_reply(
    answer: Result<Result<crate::njs::Answer>, tokio::task::JoinError>,
    method: &str,
    target: &str,
) -> Response<Full<Bytes>> {
    use crate::njs::Answer;
    let text = |status: StatusCode, body: String| {
        Response::builder()
            .status(status)
            .header("content-type", "text/plain; charset=utf-8")
            .body(Full::new(Bytes::from(body)))
            .expect("static headers are valid")
    };
    let response = match answer {
        Ok(Ok(Answer::Response(r))) => r,
        Ok(Ok(Answer::Request(_))) => {
            return text(
                StatusCode::OK,
                format!(
                    "Placeholder origin: this request would reach your site: {method} {target}\n"
                ),
            );
        }
        Ok(Err(e)) => return text(StatusCode::SERVICE_UNAVAILABLE, format!("{e:#}\n")),
        Err(e) => return text(StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")),
    };
    let status = response["statusCode"]
        .as_u64()
        .and_then(|s| u16::try_from(s).ok())
        .unwrap_or(503);
    let mut builder = Response::builder().status(status);
    if let Some(headers) = response["headers"].as_object() {
        for (name, value) in headers {
            let values = value["multiValue"]
                .as_array()
                .cloned()
                .unwrap_or_else(|| vec![value.clone()]);
            for v in values {
                if let Some(v) = v["value"].as_str() {
                    builder = builder.header(name.as_str(), v);
                }
            }
        }
    }
    if let Some(cookies) = response["cookies"].as_object() {
        for (name, cookie) in cookies {
            let value = cookie["value"].as_str().unwrap_or_default();
            let attributes = cookie["attributes"].as_str().unwrap_or_default();
            builder = builder.header("set-cookie", format!("{name}={value}; {attributes}"));
        }
    }
    let body = match &response["body"] {
        serde_json::Value::String(s) => s.clone().into_bytes(),
        b if b["encoding"] == "base64" => base64::Engine::decode(
            &base64::engine::general_purpose::STANDARD,
            b["data"].as_str().unwrap_or_default(),
        )
        .unwrap_or_default(),
        b => b["data"].as_str().unwrap_or_default().as_bytes().to_vec(),
    };
    builder
        .body(Full::new(Bytes::from(body)))
        .unwrap_or_else(|e| text(StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")))
}
