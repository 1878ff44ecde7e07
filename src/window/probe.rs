//! The requests `attach` has CloudFront's TestFunction run the new code on
//! before it is published, and how their answers are judged.

use super::{BYPASS_PARAM, State, WindowSpec};

/// A viewer request CloudFront runs the new code on (TestFunction) before it
/// is published, and the answer the code must give.
///
/// Node and njs are stand-ins; TestFunction runs the code on CloudFront's own
/// engine, with the store it is associated with, so a function the engine
/// refuses never goes live (aws-facts: "CloudFront Functions runtime 2.0").
#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    /// `GET /maint-preflight`, for messages.
    pub request: String,
    /// The event object, in the shape of CloudFront's viewer-request events.
    pub event: serde_json::Value,
    pub expect: Expect,
}

/// What a probe must get back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// The request itself, on to the origin (without the bypass parameter).
    Origin,
    /// The maintenance page: a 503, JSON or HTML.
    Page { json: bool },
    /// Either: the window ends about now, so CloudFront's clock decides.
    OriginOrPage,
}

/// How close to its end a window counts as "about now" for `Expect`.
const CLOCK_SLACK_SECS: i64 = 120;

/// The requests to test-run the code on, for the state the store holds now
/// (`None`: no state yet, the window is off) at `now` (epoch seconds).
/// They come from an address no bypass range holds and go to a path no open
/// path matches, where the configuration allows it.
pub fn probes(spec: &WindowSpec, state: Option<&State>, now: i64) -> Vec<Probe> {
    let ip = [
        "198.51.100.23",
        "192.0.2.23",
        "203.0.113.23",
        "2001:db8:ffff::23",
    ]
    .into_iter()
    .find(|ip| {
        let addr: std::net::IpAddr = ip.parse().expect("a literal address");
        !spec.cidrs.iter().any(|c| c.contains(addr))
    });
    let path = ["/maint-preflight", "/maint-preflight/x", "/"]
        .into_iter()
        .find(|p| !spec.open_paths.iter().any(|o| o.matches(p)))
        .unwrap_or("/maint-preflight");
    let passes = ip.is_none() || spec.open_paths.iter().any(|o| o.matches(path));
    let window = match state {
        Some(s) if s.on => match s.until {
            Some(until) if (until - now).abs() <= CLOCK_SLACK_SECS => Expect::OriginOrPage,
            Some(until) if until <= now => Expect::Origin,
            _ => Expect::Page { json: false },
        },
        _ => Expect::Origin,
    };
    let expect = |json: bool| match window {
        Expect::Page { .. } if passes => Expect::Origin,
        Expect::Page { .. } => Expect::Page { json },
        other => other,
    };
    let api = spec.api_paths.iter().any(|a| a.matches(path));
    let event = |method: &str, accept: &str, query: serde_json::Value| {
        serde_json::json!({
            "version": "1.0",
            "context": {"eventType": "viewer-request"},
            "viewer": {"ip": ip.unwrap_or("198.51.100.23")},
            "request": {
                "method": method,
                "uri": path,
                "querystring": query,
                "headers": {"host": {"value": "www.example.com"}, "accept": {"value": accept}},
                "cookies": {}
            }
        })
    };
    let mut probes = vec![
        Probe {
            request: format!("GET {path} (a browser)"),
            event: event(
                "GET",
                "text/html,application/xhtml+xml",
                serde_json::json!({}),
            ),
            expect: expect(api),
        },
        Probe {
            request: format!("POST {path} (an API client)"),
            event: event("POST", "application/json", serde_json::json!({})),
            expect: expect(true),
        },
    ];
    if spec.secret_env.is_some() {
        // A wrong secret: never let through, and never passed on to the origin.
        probes.push(Probe {
            request: format!("GET {path}?{BYPASS_PARAM}=… (a wrong secret)"),
            event: event(
                "GET",
                "text/html",
                serde_json::json!({ BYPASS_PARAM: {"value": "not-the-secret"} }),
            ),
            expect: expect(api),
        });
    }
    probes
}

impl Probe {
    /// Checks what CloudFront's TestFunction says the code returned
    /// (`FunctionOutput`: `{"request": …}` or `{"response": …}`).
    pub fn judge(&self, output: &str) -> Result<(), String> {
        let value: serde_json::Value = serde_json::from_str(output)
            .map_err(|e| format!("its output is not JSON ({e}): {output}"))?;
        let sent = &self.event["request"];
        let passed = value.get("request").map(|r| {
            r["uri"] == sent["uri"]
                && r["method"] == sent["method"]
                && r["querystring"].get(BYPASS_PARAM).is_none()
        });
        let page = value.get("response").map(|r| {
            let kind = r["headers"]["content-type"]["value"].as_str().unwrap_or("");
            (r["statusCode"] == 503, kind.starts_with("application/json"))
        });
        let ok = match (self.expect, passed, page) {
            (Expect::Origin | Expect::OriginOrPage, Some(true), _)
            | (Expect::OriginOrPage, _, Some((true, _))) => true,
            (Expect::Page { json }, _, Some((true, is_json))) => is_json == json,
            _ => false,
        };
        if ok {
            return Ok(());
        }
        let wanted = match self.expect {
            Expect::Origin => "the request passed on to the origin, without the bypass parameter",
            Expect::Page { json: true } => "a 503 with the JSON body",
            Expect::Page { json: false } => "a 503 with the HTML page",
            Expect::OriginOrPage => "the request passed on, or a 503 with the page",
        };
        let mut shown = output.to_string();
        if shown.len() > 300 {
            let mut end = 300;
            while !shown.is_char_boundary(end) {
                end -= 1;
            }
            shown.truncate(end);
            shown.push('…');
        }
        Err(format!("expected {wanted}, got {shown}"))
    }
}
