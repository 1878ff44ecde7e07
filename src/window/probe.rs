//! The go-live gate's requests: every answer the window function can give,
//! for CloudFront's TestFunction to run before the code is published.
//!
//! The gate runs the exact code that will go live on a scratch function whose
//! scratch store holds states the gate writes itself (see
//! `commands::gate`): the live store and the live site are never touched. So
//! the maintenance path runs on CloudFront's engine even on a first attach,
//! when the real window is off. The states come in phases, each a store
//! write followed by the requests it decides:
//! 1. on, with an end two hours away: the HTML page, the JSON body (by
//!    Accept, from an IPv6 viewer where the config lets one in, and by API
//!    path), an open path, an allowed network of each family, a valid bypass
//!    link (302), the cookie it sets, a forged cookie and a wrong secret;
//! 2. off: the request passes, without the bypass parameter;
//! 3. on with no end: the page with the configured Retry-After;
//! 4. on with an end that has passed: the request passes.
//!
//! Every phase starts with the same request (a browser outside every bypass
//! rule), whose answer tells the phases apart, so an answer that is still
//! the previous phase's (a store write not yet seen) is told from a wrong one.

use serde_json::{Value, json};

use super::judge::{Expect, RetryAfter};
use super::{BYPASS_COOKIE, BYPASS_PARAM, State, WindowSpec, bypass_hash};
use crate::values::{Cidr, PathPattern};

/// One store state and the requests it decides.
#[derive(Debug, Clone, PartialEq)]
pub struct Phase {
    /// `on`, `off`, … for messages.
    pub name: &'static str,
    pub state: State,
    /// The first is the same request in every phase.
    pub probes: Vec<Probe>,
}

/// One request for TestFunction, and what it must get back.
#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    /// What the request stands for, e.g. `the HTML page`.
    pub name: &'static str,
    /// `GET /maint-preflight from 203.0.113.23 (a browser)`; never the secret.
    pub request: String,
    /// The event object, in the shape of CloudFront's viewer-request events.
    pub event: Value,
    pub expect: Expect,
}

/// How far CloudFront's clock may be from this one.
const CLOCK_SLACK_SECS: u64 = 300;
/// How far away the first phase's window ends.
const ENDS_IN_SECS: i64 = 7200;
const BROWSER: &str = "text/html,application/xhtml+xml";

/// Whether the page templates show the message (`{{ message }}`): read from
/// the rendered code's config, so a custom template without it is judged on
/// the rest of the answer.
fn shows_message(code: &str) -> (bool, bool) {
    let config = code.find("const C = ").and_then(|at| {
        let mut values = serde_json::Deserializer::from_str(&code[at + 10..]).into_iter::<Value>();
        values.next()?.ok()
    });
    // A page that shows the window's end has one part more: the text
    // around where the end goes.
    let slots = |kind: &str| {
        config
            .as_ref()
            .and_then(|c| {
                let extra = usize::from(kind == "html" && !c["page"]["until"].is_null());
                c["page"][kind]
                    .as_array()
                    .map(|p| p.len() - extra.min(p.len()))
            })
            .is_none_or(|parts| parts > 1)
    };
    (slots("html"), slots("json"))
}

/// The bypass cookie's value for the stored `hash`, as the function makes
/// it: HMAC-SHA256 keyed with the hash (its hex text) over a fixed label.
pub fn cookie_token(hash: &str) -> String {
    hex::encode(hmac_sha256(hash.as_bytes(), b"maint-bypass-cookie"))
}

/// HMAC-SHA256 (RFC 2104).
pub(super) fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.map(|b| b ^ byte);
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .into()
}

/// A concrete path that `pattern` matches: `*` as `maint-preflight`, `?` as
/// `x`. `None` when that path has a dot segment (which the function never
/// counts as open).
fn path_in(pattern: &PathPattern) -> Option<String> {
    let path = pattern
        .as_str()
        .replace('*', "maint-preflight")
        .replace('?', "x");
    let plain = path.split('/').all(|s| s != "." && s != "..");
    (plain && pattern.matches(&path)).then_some(path)
}

/// An address inside `cidr`: its network address.
fn inside(cidr: &Cidr) -> String {
    cidr.network().to_string()
}

/// The requests and states of the gate for `spec`, with `secret` the
/// gate's own bypass secret (when the config has a bypass), at `now`
/// (epoch seconds).
pub fn gate(spec: &WindowSpec, secret: Option<&str>, now: i64) -> Vec<Phase> {
    let allowed = |ip: &str| {
        let addr: std::net::IpAddr = ip.parse().expect("a literal address");
        spec.cidrs.iter().any(|c| c.contains(addr))
    };
    let outside = |candidates: &[&'static str]| candidates.iter().copied().find(|ip| !allowed(ip));
    let v4 = outside(&["203.0.113.23", "198.51.100.23", "192.0.2.23"]);
    let v6 = outside(&["2001:db8:ffff::23", "2001:db8:eeee::23", "100::23"]);
    let open = |path: &str| spec.open_paths.iter().any(|o| o.matches(path));
    let api = |path: &str| spec.api_paths.iter().any(|a| a.matches(path));
    let path = ["/maint-preflight", "/maint-preflight/x", "/"]
        .into_iter()
        .find(|p| !open(p) && !api(p));
    // Where every address or every path is let through, no request gets the
    // page: the gate checks that they all pass.
    let page_path = path.filter(|_| v4.or(v6).is_some());
    let path = path.unwrap_or("/maint-preflight");
    let (html_message, json_message) = shows_message(&spec.code);
    let page = |json: bool, message: &str, retry_after: RetryAfter| match page_path {
        None => Expect::Origin,
        Some(_) => Expect::Page {
            json,
            message: if json {
                json_message.then(|| serde_json::to_string(message).expect("a string"))
            } else {
                html_message.then(|| crate::checks::html_escape(message))
            },
            retry_after,
        },
    };
    let viewer = v4.or(v6).unwrap_or("203.0.113.23");
    let browser = |uri: &str, ip: &str, query: Value, cookies: Value| {
        event("GET", uri, ip, BROWSER, &query, &cookies)
    };
    let first = |expect: Expect| Probe {
        name: "the HTML page",
        request: format!("GET {path} from {viewer} (a browser)"),
        event: browser(path, viewer, json!({}), json!({})),
        expect,
    };
    let state = |on: bool, until: Option<i64>, message: &str| State {
        on,
        until,
        message: Some(message.to_string()),
        retry_after: Some(spec.retry_after),
    };
    let ends = u64::try_from(ENDS_IN_SECS).unwrap_or_default() + CLOCK_SLACK_SECS;

    // 1. On, ending in two hours.
    let on_message = "maint go-live check <1> & \"on\"";
    let on_page = |json| page(json, on_message, RetryAfter::AtMost(ends));
    let mut on = vec![first(on_page(false))];
    on.push(Probe {
        name: "the JSON body (by Accept)",
        request: format!(
            "POST {path} from {} (an API client)",
            v6.or(v4).unwrap_or(viewer)
        ),
        event: event(
            "POST",
            path,
            v6.or(v4).unwrap_or(viewer),
            "application/json",
            &json!({}),
            &json!({}),
        ),
        expect: on_page(true),
    });
    if let Some(api_path) = spec.api_paths.iter().filter_map(path_in).find(|p| !open(p)) {
        on.push(Probe {
            name: "the JSON body (by API path)",
            request: format!("GET {api_path} from {viewer} (a browser)"),
            event: browser(&api_path, viewer, json!({}), json!({})),
            expect: on_page(true),
        });
    }
    if let Some(open_path) = spec.open_paths.iter().find_map(path_in) {
        on.push(Probe {
            name: "an open path",
            request: format!("GET {open_path} from {viewer} (a browser)"),
            event: browser(&open_path, viewer, json!({}), json!({})),
            expect: Expect::Origin,
        });
    }
    for family in [true, false] {
        if let Some(cidr) = spec.cidrs.iter().find(|c| c.network().is_ipv4() == family) {
            let ip = inside(cidr);
            on.push(Probe {
                name: if family {
                    "an allowed IPv4 network"
                } else {
                    "an allowed IPv6 network"
                },
                request: format!("GET {path} from {ip} (in {})", String::from(cidr.clone())),
                event: browser(path, &ip, json!({}), json!({})),
                expect: Expect::Origin,
            });
        }
    }
    if let Some(secret) = secret {
        let token = cookie_token(&bypass_hash(secret));
        on.push(Probe {
            name: "a valid bypass link",
            request: format!(
                "GET {path}?{BYPASS_PARAM}=…&keep=1 from {viewer} (the gate's secret)"
            ),
            event: browser(
                path,
                viewer,
                json!({ BYPASS_PARAM: {"value": secret}, "keep": {"value": "1"} }),
                json!({}),
            ),
            expect: match page_path {
                Some(_) => Expect::Redirect {
                    location: format!("{path}?keep=1"),
                    cookie: token.clone(),
                    max_age: spec.cookie_max_age,
                },
                None => Expect::Origin,
            },
        });
        on.push(Probe {
            name: "a valid bypass cookie",
            request: format!("GET {path} from {viewer} with the bypass cookie"),
            event: browser(
                path,
                viewer,
                json!({}),
                json!({ BYPASS_COOKIE: {"value": token} }),
            ),
            expect: Expect::Origin,
        });
        on.push(Probe {
            name: "a forged bypass cookie",
            request: format!("GET {path} from {viewer} with a forged bypass cookie"),
            event: browser(
                path,
                viewer,
                json!({}),
                json!({ BYPASS_COOKIE: {"value": "f".repeat(64)} }),
            ),
            expect: on_page(false),
        });
        on.push(Probe {
            name: "a wrong bypass secret",
            request: format!("GET {path}?{BYPASS_PARAM}=… from {viewer} (a wrong secret)"),
            event: browser(
                path,
                viewer,
                json!({ BYPASS_PARAM: {"value": "not-the-secret-0123456789"} }),
                json!({}),
            ),
            expect: on_page(false),
        });
    }

    // 2. Off.
    let mut off = vec![first(Expect::Origin)];
    if secret.is_some() {
        off.push(Probe {
            name: "the bypass parameter while off",
            request: format!("GET {path}?{BYPASS_PARAM}=… from {viewer} (never to the origin)"),
            event: browser(
                path,
                viewer,
                json!({ BYPASS_PARAM: {"value": "not-the-secret-0123456789"} }),
                json!({}),
            ),
            expect: Expect::Origin,
        });
    }

    // 3. On with no end: the configured Retry-After.
    let open_ended = "maint go-live check 3 (until maint off)";
    // 4. Ended an hour ago.
    vec![
        Phase {
            name: "on, ending in two hours",
            state: state(true, Some(now + ENDS_IN_SECS), on_message),
            probes: on,
        },
        Phase {
            name: "off",
            state: State {
                on: false,
                until: None,
                message: None,
                retry_after: None,
            },
            probes: off,
        },
        Phase {
            name: "on until `maint off`",
            state: state(true, None, open_ended),
            probes: vec![first(page(
                false,
                open_ended,
                RetryAfter::Exactly(u64::from(spec.retry_after)),
            ))],
        },
        Phase {
            name: "on, ended an hour ago",
            state: state(true, Some(now - 3600), "maint go-live check 4 (ended)"),
            probes: vec![first(Expect::Origin)],
        },
    ]
}

fn event(method: &str, uri: &str, ip: &str, accept: &str, query: &Value, cookies: &Value) -> Value {
    json!({
        "version": "1.0",
        "context": {"eventType": "viewer-request"},
        "viewer": {"ip": ip},
        "request": {
            "method": method,
            "uri": uri,
            "querystring": query,
            "headers": {"host": {"value": "www.example.com"}, "accept": {"value": accept}},
            "cookies": cookies
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::window::judge::{Expect, RetryAfter};
    use crate::window::tests::{FULL, names, spec_with};

    #[test]
    fn the_gate_runs_every_answer_the_function_can_give() {
        let spec = spec_with(FULL);
        let phases = gate(&spec, Some("gate-secret-0123456789"), 1_000_000);
        assert_eq!(
            names(&phases),
            [
                ("on, ending in two hours", "the HTML page"),
                ("on, ending in two hours", "the JSON body (by Accept)"),
                ("on, ending in two hours", "the JSON body (by API path)"),
                ("on, ending in two hours", "an open path"),
                ("on, ending in two hours", "an allowed IPv4 network"),
                ("on, ending in two hours", "an allowed IPv6 network"),
                ("on, ending in two hours", "a valid bypass link"),
                ("on, ending in two hours", "a valid bypass cookie"),
                ("on, ending in two hours", "a forged bypass cookie"),
                ("on, ending in two hours", "a wrong bypass secret"),
                ("off", "the HTML page"),
                ("off", "the bypass parameter while off"),
                ("on until `maint off`", "the HTML page"),
                ("on, ended an hour ago", "the HTML page"),
            ]
        );
        let on = &phases[0];
        assert_eq!(on.state.until, Some(1_000_000 + 7200));
        assert!(on.state.on);
        assert!(!phases[1].state.on);
        assert_eq!(phases[2].state.until, None);
        assert_eq!(phases[3].state.until, Some(1_000_000 - 3600));
        // Requests come from outside every rule, but for the ones that test a rule.
        let page = &on.probes[0].event;
        assert_eq!(page["viewer"]["ip"], "198.51.100.23");
        assert_eq!(page["request"]["uri"], "/maint-preflight");
        assert_eq!(on.probes[1].event["viewer"]["ip"], "2001:db8:eeee::23");
        assert_eq!(on.probes[2].event["request"]["uri"], "/api/maint-preflight");
        assert_eq!(on.probes[3].event["request"]["uri"], "/health");
        assert_eq!(on.probes[4].event["viewer"]["ip"], "203.0.113.0");
        assert_eq!(on.probes[5].event["viewer"]["ip"], "2001:db8:ffff::");
        assert_eq!(
            on.probes[6].expect,
            Expect::Redirect {
                location: "/maint-preflight?keep=1".into(),
                cookie: cookie_token(&bypass_hash("gate-secret-0123456789")),
                max_age: 600,
            }
        );
        assert_eq!(
            phases[2].probes[0].expect,
            Expect::Page {
                json: false,
                message: Some("maint go-live check 3 (until maint off)".into()),
                retry_after: RetryAfter::Exactly(90),
            }
        );
        // Without a bypass secret, nor ranges, nor paths: only what applies.
        let plain = gate(&spec_with("      retry_after: 60\n"), None, 0);
        assert_eq!(
            names(&plain),
            [
                ("on, ending in two hours", "the HTML page"),
                ("on, ending in two hours", "the JSON body (by Accept)"),
                ("off", "the HTML page"),
                ("on until `maint off`", "the HTML page"),
                ("on, ended an hour ago", "the HTML page"),
            ]
        );
    }

    #[test]
    fn where_every_request_is_let_through_the_gate_expects_it_to_pass() {
        for yaml in [
            "      bypass:\n        cidrs: [0.0.0.0/0, \"::/0\"]\n",
            "      bypass:\n        open_paths: [\"/*\"]\n",
        ] {
            let phases = gate(&spec_with(yaml), None, 0);
            for phase in &phases {
                for probe in &phase.probes {
                    if probe.name.starts_with("the ") {
                        assert_eq!(probe.expect, Expect::Origin, "{yaml}: {}", probe.name);
                    }
                }
            }
        }
    }

    #[test]
    fn hmac_is_rfc_4231() {
        // RFC 4231, test case 2.
        assert_eq!(
            hex::encode(hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // A key longer than the block is hashed first (test case 6).
        assert_eq!(
            hex::encode(hmac_sha256(
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            )),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }
}
