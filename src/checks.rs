//! What visitors must get, as checks `maint verify` runs against the live
//! site: the requests (a browser, an API client, a HEAD, the bypass link)
//! and the answer each must bring, from what maint configured. Pure: the
//! HTTP is in `crate::http`, the glue in `commands::verify`.

use serde::Serialize;

use crate::http::Reply;

/// One request of a check, and what its answer must be.
#[derive(Debug, Clone)]
pub struct Check {
    /// Which half of the environment it checks: `site` or `window`.
    pub mode: &'static str,
    /// What it plays, e.g. "a browser".
    pub who: &'static str,
    pub method: &'static str,
    pub path: String,
    pub headers: Vec<(&'static str, String)>,
    pub expect: Expect,
}

/// What an answer must be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    /// Site mode's page: this status and content type, and (but for HEAD)
    /// exactly this body.
    Page {
        status: u16,
        content_type: String,
        body: Option<String>,
    },
    /// The window's 503 generated at the edge: its content type, a body
    /// holding `contains`, `Cache-Control: no-store` and a `Retry-After`.
    WindowPage { json: bool, contains: String },
    /// Anything but the window's page: the request reached the origin.
    Origin,
    /// The bypass link: a redirect that sets the bypass cookie.
    BypassRedirect { cookie: &'static str },
}

/// A check's result, for people and scripts.
#[derive(Debug, Clone, Serialize)]
pub struct CheckOutcome {
    pub mode: &'static str,
    /// e.g. `GET / (a browser)`.
    pub request: String,
    pub expected: String,
    pub got: String,
    pub passed: bool,
    /// Whether the site answered at all (an HTTP status, right or wrong).
    #[serde(skip)]
    pub answered: bool,
}

impl Check {
    pub fn request(&self) -> String {
        format!("{} {} ({})", self.method, self.path, self.who)
    }

    /// Judges `reply` (or the error that stood in its way).
    pub fn judge(&self, reply: Result<&Reply, String>) -> CheckOutcome {
        let expected = self.expect.describe();
        let answered = reply.is_ok();
        let (got, passed) = match reply {
            Err(error) => (error, false),
            Ok(reply) => (
                describe_reply(reply),
                self.expect.met_by(reply, self.method),
            ),
        };
        CheckOutcome {
            mode: self.mode,
            request: self.request(),
            expected,
            got,
            passed,
            answered,
        }
    }
}

fn describe_reply(reply: &Reply) -> String {
    let mut text = format!(
        "{} {}",
        reply.status,
        reply.header("content-type").unwrap_or("(no content type)")
    );
    for name in ["cache-control", "retry-after", "location"] {
        if let Some(value) = reply.header(name) {
            text.push_str(&format!(", {name}: {value}"));
        }
    }
    text
}

impl Expect {
    fn describe(&self) -> String {
        match self {
            Self::Page {
                status,
                content_type,
                body,
            } => format!(
                "{status} {content_type}{}",
                if body.is_some() {
                    ", the page with the current message"
                } else {
                    ""
                }
            ),
            Self::WindowPage { json, .. } => format!(
                "503 {}, Cache-Control: no-store, a Retry-After, the current message",
                if *json {
                    "application/json"
                } else {
                    "text/html; charset=utf-8"
                }
            ),
            Self::Origin => "the site itself, not the maintenance page".to_string(),
            Self::BypassRedirect { cookie } => {
                format!("302 to the same page, setting the {cookie} cookie")
            }
        }
    }

    fn met_by(&self, reply: &Reply, method: &str) -> bool {
        let content_type = reply.header("content-type").unwrap_or_default();
        match self {
            Self::Page {
                status,
                content_type: want,
                body,
            } => {
                reply.status == *status
                    && content_type == want
                    && (method == "HEAD" || body.as_ref().is_none_or(|b| reply.body == *b))
            }
            Self::WindowPage { json, contains } => {
                reply.status == 503
                    && content_type.starts_with(if *json {
                        "application/json"
                    } else {
                        "text/html"
                    })
                    && reply.header("cache-control") == Some("no-store")
                    && reply
                        .header("retry-after")
                        .is_some_and(|r| r.parse::<u64>().is_ok_and(|s| s > 0))
                    && (method == "HEAD" || reply.body.contains(contains.as_str()))
            }
            Self::Origin => !is_window_page(reply),
            Self::BypassRedirect { cookie } => {
                reply.status == 302
                    && reply.header("location").is_some()
                    && reply
                        .header("set-cookie")
                        .is_some_and(|c| c.starts_with(&format!("{cookie}=")))
            }
        }
    }
}

/// Whether `reply` is the window's page (so not the origin).
fn is_window_page(reply: &Reply) -> bool {
    reply.status == 503
        && reply.header("cache-control") == Some("no-store")
        && reply.header("retry-after").is_some()
}

/// The value of the bypass cookie a redirect set, for the next request.
pub fn cookie_from(reply: &Reply, name: &str) -> Option<String> {
    reply
        .header("set-cookie")?
        .lines()
        .find_map(|c| c.strip_prefix(&format!("{name}=")))
        .map(|rest| rest.split(';').next().unwrap_or_default().to_string())
}

/// Site mode: every path and method gets the page with a 503; the page's
/// own path answers 200.
pub fn site_checks(content_type: &str, page: &str, page_path: &str) -> Vec<Check> {
    let page_check = |status, body: bool| Expect::Page {
        status,
        content_type: content_type.to_string(),
        body: body.then(|| page.to_string()),
    };
    vec![
        Check {
            mode: "site",
            who: "a browser",
            method: "GET",
            path: "/".into(),
            headers: vec![("accept", "text/html,application/xhtml+xml".into())],
            expect: page_check(503, true),
        },
        Check {
            mode: "site",
            who: "a browser, deep link",
            method: "GET",
            path: "/some/deep/link?with=query".into(),
            headers: vec![("accept", "text/html".into())],
            expect: page_check(503, true),
        },
        Check {
            mode: "site",
            who: "a monitor",
            method: "HEAD",
            path: "/".into(),
            headers: vec![],
            expect: page_check(503, false),
        },
        Check {
            mode: "site",
            who: "an API client",
            method: "POST",
            path: "/api/orders".into(),
            headers: vec![("accept", "application/json".into())],
            expect: page_check(503, true),
        },
        Check {
            mode: "site",
            who: "the page itself",
            method: "GET",
            path: page_path.to_string(),
            headers: vec![],
            expect: page_check(200, true),
        },
    ]
}

/// Window mode: while the window is on, the page (HTML, or JSON for an API
/// client); while it is off, the origin.
pub fn window_checks(on: bool, message: &str) -> Vec<Check> {
    let page = |json: bool| {
        if on {
            Expect::WindowPage {
                json,
                contains: if json {
                    serde_json::to_string(message).unwrap_or_default()
                } else {
                    html_escape(message)
                },
            }
        } else {
            Expect::Origin
        }
    };
    vec![
        Check {
            mode: "window",
            who: "a browser",
            method: "GET",
            path: "/".into(),
            headers: vec![("accept", "text/html,application/xhtml+xml".into())],
            expect: page(false),
        },
        // GET: a behavior may allow only GET and HEAD.
        Check {
            mode: "window",
            who: "an API client",
            method: "GET",
            path: "/maint-verify".into(),
            headers: vec![("accept", "application/json".into())],
            expect: page(true),
        },
    ]
}

/// As the window function escapes a message for its HTML page.
pub(crate) fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(status: u16, headers: &[(&str, &str)], body: &str) -> Reply {
        Reply {
            status,
            headers: headers
                .iter()
                .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
                .collect(),
            body: body.to_string(),
        }
    }

    #[test]
    fn site_checks_want_the_exact_page_with_a_503() {
        let checks = site_checks(
            "text/html; charset=utf-8",
            "<p>back</p>",
            "/maintenance.html",
        );
        let page = reply(
            503,
            &[("content-type", "text/html; charset=utf-8")],
            "<p>back</p>",
        );
        assert!(checks[0].judge(Ok(&page)).passed);
        let stale = reply(
            503,
            &[("content-type", "text/html; charset=utf-8")],
            "<p>old</p>",
        );
        assert!(!checks[0].judge(Ok(&stale)).passed, "a stale message fails");
        let xml = reply(403, &[("content-type", "application/xml")], "<Error/>");
        let outcome = checks[1].judge(Ok(&xml));
        assert!(!outcome.passed);
        assert_eq!(outcome.got, "403 application/xml");
        // HEAD has no body to compare.
        let head = reply(503, &[("content-type", "text/html; charset=utf-8")], "");
        assert!(checks[2].judge(Ok(&head)).passed);
        let own = reply(
            200,
            &[("content-type", "text/html; charset=utf-8")],
            "<p>back</p>",
        );
        assert!(checks[4].judge(Ok(&own)).passed);
        assert!(!checks[0].judge(Err("connection refused".into())).passed);
    }

    #[test]
    fn window_checks_follow_the_state() {
        let message = "Back at 14:00 <UTC> & \"soon\"";
        let on = window_checks(true, message);
        let html = reply(
            503,
            &[
                ("content-type", "text/html; charset=utf-8"),
                ("cache-control", "no-store"),
                ("retry-after", "300"),
            ],
            "<p>Back at 14:00 &lt;UTC&gt; &amp; &quot;soon&quot;</p>",
        );
        assert!(on[0].judge(Ok(&html)).passed);
        let json = reply(
            503,
            &[
                ("content-type", "application/json"),
                ("cache-control", "no-store"),
                ("retry-after", "300"),
            ],
            r#"{"message":"Back at 14:00 <UTC> & \"soon\""}"#,
        );
        assert!(on[1].judge(Ok(&json)).passed);
        assert!(!on[0].judge(Ok(&json)).passed, "JSON where HTML is due");
        let origin = reply(200, &[("content-type", "text/html")], "the shop");
        assert!(!on[0].judge(Ok(&origin)).passed, "the origin while on");
        let off = window_checks(false, message);
        assert!(off[0].judge(Ok(&origin)).passed);
        assert!(!off[0].judge(Ok(&html)).passed, "the page while off");
        // The origin's own 503 (no Retry-After, no no-store) is not maint's page.
        let down = reply(503, &[("content-type", "text/html")], "origin down");
        assert!(off[0].judge(Ok(&down)).passed);
    }

    #[test]
    fn the_bypass_redirect_sets_the_cookie() {
        let check = Check {
            mode: "window",
            who: "a teammate's bypass link",
            method: "GET",
            path: "/?maint-bypass=x".into(),
            headers: vec![],
            expect: Expect::BypassRedirect {
                cookie: "maint_bypass",
            },
        };
        let redirect = reply(
            302,
            &[
                ("location", "/"),
                (
                    "set-cookie",
                    "maint_bypass=abc123; Path=/; Secure; HttpOnly",
                ),
            ],
            "",
        );
        assert!(check.judge(Ok(&redirect)).passed);
        assert_eq!(
            cookie_from(&redirect, "maint_bypass").as_deref(),
            Some("abc123")
        );
        let no_cookie = reply(302, &[("location", "/")], "");
        assert!(!check.judge(Ok(&no_cookie)).passed);
    }
}
