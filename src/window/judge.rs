//! How the go-live gate judges CloudFront's answers (TestFunction's
//! FunctionOutput) field by field: status, Content-Type, Cache-Control,
//! Retry-After, the message in the body, Location and the cookie; and how an
//! answer that is another phase's (a store write not yet seen) is told from a
//! wrong one.

use serde_json::Value;

use super::probe::Phase;
use super::{BYPASS_COOKIE, BYPASS_PARAM};

/// What a probe must get back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    /// The request itself, on to the origin, without the bypass parameter.
    Origin,
    /// The maintenance page: a 503 that no cache keeps, with the message.
    Page {
        json: bool,
        /// The message as the body shows it (escaped for HTML, a JSON
        /// string for JSON); `None` when the template does not show it.
        message: Option<String>,
        retry_after: RetryAfter,
    },
    /// The bypass link's answer: a redirect to the same URL without the
    /// secret, setting the bypass cookie.
    Redirect {
        location: String,
        cookie: String,
        max_age: u32,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryAfter {
    Exactly(u64),
    /// Seconds until the window's end, seen from CloudFront's clock.
    AtMost(u64),
}

/// The text of a returned response's body: `{encoding, data}` as the
/// function returns it (base64 decoded), or a plain string.
fn body_text(body: &Value) -> Option<String> {
    use base64::Engine as _;
    match body {
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => {
            let data = o.get("data")?.as_str()?;
            match o.get("encoding").and_then(Value::as_str) {
                Some("base64") => base64::engine::general_purpose::STANDARD
                    .decode(data)
                    .ok()
                    .map(|b| String::from_utf8_lossy(&b).into_owned()),
                _ => Some(data.to_string()),
            }
        }
        _ => None,
    }
}

fn header<'a>(response: &'a Value, name: &str) -> Option<&'a str> {
    response["headers"][name]["value"].as_str()
}

impl Expect {
    /// Checks what CloudFront's TestFunction says the code returned
    /// (`FunctionOutput`: `{"request": …}` or `{"response": …}`) for `sent`.
    pub fn judge(&self, sent: &Value, output: &str) -> Result<(), String> {
        let value: Value = serde_json::from_str(output)
            .map_err(|e| format!("its output is not JSON ({e}): {}", shorten(output)))?;
        let got = |what: &str| format!("expected {}, got {what}", self.wanted());
        match (self, value.get("request"), value.get("response")) {
            (Self::Origin, Some(r), _) => {
                let request = &sent["request"];
                if r["querystring"].get(BYPASS_PARAM).is_some() {
                    return Err("the bypass parameter reached the origin".to_string());
                }
                if r["uri"] != request["uri"] || r["method"] != request["method"] {
                    return Err(got(&format!(
                        "a changed request ({} {})",
                        r["method"], r["uri"]
                    )));
                }
                Ok(())
            }
            (
                Self::Page {
                    json,
                    message,
                    retry_after,
                },
                _,
                Some(r),
            ) => {
                let content_type = if *json {
                    "application/json"
                } else {
                    "text/html; charset=utf-8"
                };
                let checks = [
                    (r["statusCode"] == 503, "status 503".to_string()),
                    (
                        header(r, "content-type") == Some(content_type),
                        format!("Content-Type {content_type}"),
                    ),
                    (
                        header(r, "cache-control") == Some("no-store"),
                        "Cache-Control no-store".to_string(),
                    ),
                    (
                        header(r, "retry-after")
                            .and_then(|v| v.parse::<u64>().ok())
                            .is_some_and(|v| match retry_after {
                                RetryAfter::Exactly(n) => v == *n,
                                RetryAfter::AtMost(n) => (1..=*n).contains(&v),
                            }),
                        match retry_after {
                            RetryAfter::Exactly(n) => format!("Retry-After {n}"),
                            RetryAfter::AtMost(n) => format!("a Retry-After of 1 to {n}"),
                        },
                    ),
                    (
                        message.as_ref().is_none_or(|m| {
                            r.get("body")
                                .and_then(body_text)
                                .is_some_and(|b| b.contains(m.as_str()))
                        }),
                        "the message in the body".to_string(),
                    ),
                ];
                missing(&checks, output)
            }
            (
                Self::Redirect {
                    location,
                    cookie,
                    max_age,
                },
                _,
                Some(r),
            ) => {
                let set = &r["cookies"][BYPASS_COOKIE];
                let attributes = set["attributes"].as_str().unwrap_or_default();
                let has = |a: &str| attributes.split(';').any(|x| x.trim() == a);
                let checks = [
                    (r["statusCode"] == 302, "status 302".to_string()),
                    (
                        header(r, "location") == Some(location.as_str()),
                        format!("Location {location} (without the secret)"),
                    ),
                    (
                        header(r, "cache-control") == Some("no-store"),
                        "Cache-Control no-store".to_string(),
                    ),
                    (
                        set["value"].as_str() == Some(cookie.as_str()),
                        format!("the {BYPASS_COOKIE} cookie with the bypass token"),
                    ),
                    (
                        ["Path=/", "Secure", "HttpOnly", "SameSite=Lax"]
                            .iter()
                            .all(|a| has(a))
                            && has(&format!("Max-Age={max_age}")),
                        format!(
                            "cookie attributes Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age={max_age}"
                        ),
                    ),
                ];
                missing(&checks, output)
            }
            _ => Err(got(&shorten(output))),
        }
    }

    fn wanted(&self) -> &'static str {
        match self {
            Self::Origin => "the request passed on to the origin",
            Self::Page { json: true, .. } => "a 503 with the JSON body",
            Self::Page { json: false, .. } => "a 503 with the HTML page",
            Self::Redirect { .. } => "a 302 to the same URL without the secret",
        }
    }
}

fn missing(checks: &[(bool, String)], output: &str) -> Result<(), String> {
    let wrong: Vec<&str> = checks
        .iter()
        .filter(|(ok, _)| !ok)
        .map(|(_, what)| what.as_str())
        .collect();
    if wrong.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "the answer lacks {}: {}",
            wrong.join(", "),
            shorten(output)
        ))
    }
}

fn shorten(output: &str) -> String {
    let mut shown = output.to_string();
    if shown.len() > 400 {
        let mut end = 400;
        while !shown.is_char_boundary(end) {
            end -= 1;
        }
        shown.truncate(end);
        shown.push('…');
    }
    shown
}

impl Phase {
    /// Whether `output`, the answer to this phase's first request, is what
    /// another phase's state gives: the store write is not seen yet.
    pub fn is_stale(&self, phases: &[Phase], output: &str) -> bool {
        let sent = &self.probes[0].event;
        phases
            .iter()
            .filter(|p| p.name != self.name)
            .map(|p| &p.probes[0].expect)
            .chain([&Expect::Origin]) // a store that holds nothing yet
            .filter(|e| **e != self.probes[0].expect)
            .any(|e| e.judge(sent, output).is_ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::window::bypass_hash;
    use crate::window::probe::{Probe, cookie_token, gate};
    use crate::window::tests::{FULL, spec_with};

    fn page_output(status: u16, kind: &str, retry: &str, body: &str) -> String {
        serde_json::json!({"response": {
            "statusCode": status,
            "headers": {
                "content-type": {"value": kind},
                "cache-control": {"value": "no-store"},
                "retry-after": {"value": retry}
            },
            "body": {"encoding": "text", "data": body}
        }})
        .to_string()
    }

    #[test]
    fn cloudfronts_answers_are_judged_field_by_field() {
        let spec = spec_with(FULL);
        let phases = gate(&spec, Some("gate-secret-0123456789"), 0);
        let html = &phases[0].probes[0];
        let judge = |probe: &Probe, output: &str| probe.expect.judge(&probe.event, output);
        let body = "<p>maint go-live check &lt;1&gt; &amp; &quot;on&quot;</p>";
        let good = page_output(503, "text/html; charset=utf-8", "7199", body);
        assert_eq!(judge(html, &good), Ok(()));
        for (bad, lacks) in [
            (
                page_output(200, "text/html; charset=utf-8", "7199", body),
                "status 503",
            ),
            (page_output(503, "text/html", "7199", body), "Content-Type"),
            (
                page_output(503, "text/html; charset=utf-8", "0", body),
                "Retry-After",
            ),
            (
                page_output(503, "text/html; charset=utf-8", "99999", body),
                "Retry-After",
            ),
            (
                page_output(
                    503,
                    "text/html; charset=utf-8",
                    "7199",
                    "<p>maint go-live check <1></p>",
                ),
                "the message",
            ),
        ] {
            let err = judge(html, &bad).unwrap_err();
            assert!(err.contains(lacks), "{lacks}: {err}");
        }
        let no_store = good.replace("no-store", "max-age=60");
        assert!(
            judge(html, &no_store)
                .unwrap_err()
                .contains("Cache-Control")
        );
        let passed = r#"{"request":{"method":"GET","uri":"/maint-preflight","querystring":{}}}"#;
        assert!(
            judge(html, passed)
                .unwrap_err()
                .contains("a 503 with the HTML page")
        );
        // JSON: the message as a JSON string.
        let json = &phases[0].probes[1];
        let body = r#"{"message":"maint go-live check <1> & \"on\""}"#;
        assert_eq!(
            judge(json, &page_output(503, "application/json", "60", body)),
            Ok(())
        );
        // The redirect: Location without the secret, the cookie and its attributes.
        let link = &phases[0].probes[6];
        let token = cookie_token(&bypass_hash("gate-secret-0123456789"));
        let redirect = |location: &str, value: &str, attributes: &str| {
            serde_json::json!({"response": {
                "statusCode": 302,
                "headers": {"location": {"value": location}, "cache-control": {"value": "no-store"}},
                "cookies": {BYPASS_COOKIE: {"value": value, "attributes": attributes}}
            }})
            .to_string()
        };
        let attributes = "Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=600";
        assert_eq!(
            judge(
                link,
                &redirect("/maint-preflight?keep=1", &token, attributes)
            ),
            Ok(())
        );
        let leaked = format!("/maint-preflight?{BYPASS_PARAM}=gate-secret-0123456789&keep=1");
        assert!(
            judge(link, &redirect(&leaked, &token, attributes))
                .unwrap_err()
                .contains("Location")
        );
        assert!(
            judge(
                link,
                &redirect("/maint-preflight?keep=1", "forged", attributes)
            )
            .unwrap_err()
            .contains("cookie")
        );
        assert!(
            judge(
                link,
                &redirect("/maint-preflight?keep=1", &token, "Path=/; Max-Age=600")
            )
            .unwrap_err()
            .contains("HttpOnly")
        );
        // The secret never reaches the origin.
        let off = &phases[1].probes[1];
        let leaked = r#"{"request":{"method":"GET","uri":"/maint-preflight","querystring":{"maint-bypass":{"value":"x"}}}}"#;
        assert!(
            judge(off, leaked)
                .unwrap_err()
                .contains("bypass parameter reached the origin")
        );
        assert_eq!(judge(off, passed), Ok(()));
        assert!(judge(off, "").unwrap_err().contains("not JSON"));
    }

    #[test]
    fn an_answer_of_another_phase_is_stale_not_wrong() {
        let spec = spec_with(FULL);
        let phases = gate(&spec, None, 0);
        let passed = r#"{"request":{"method":"GET","uri":"/maint-preflight","querystring":{}}}"#;
        // Phase 1 still sees an empty store (or the last run's state).
        assert!(phases[0].is_stale(&phases, passed));
        let first = page_output(
            503,
            "text/html; charset=utf-8",
            "7000",
            "maint go-live check &lt;1&gt; &amp; &quot;on&quot;",
        );
        assert!(phases[1].is_stale(&phases, &first));
        assert!(phases[2].is_stale(&phases, passed));
        let third = page_output(
            503,
            "text/html; charset=utf-8",
            "90",
            "maint go-live check 3 (until maint off)",
        );
        assert!(phases[3].is_stale(&phases, &third));
        // A wrong answer is no phase's: not stale.
        let teapot = r#"{"response":{"statusCode":418,"headers":{}}}"#;
        assert!(phases.iter().all(|p| !p.is_stale(&phases, teapot)));
    }
}
