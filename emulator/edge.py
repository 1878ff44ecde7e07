"""A local CloudFront edge: the emulated distributions answer viewers on the
emulator's own port, as CloudFront serves them, from the configuration maint
wrote. Installed by corrections.install_all(); hooks.py routes viewer
requests here.

Routing. A request whose Host header (port stripped, case-insensitive) is the
DomainName of an emulated distribution (`d1abc.cloudfront.net`, as moto
assigns) is a viewer request for that distribution; every other request is an
API call and goes to moto. Viewer requests are not written to the request
log (MAINT_EMULATOR_REQUEST_LOG holds AWS calls only) and never lose their
answer. A client reaches a distribution with
    curl -H 'Host: d1abc.cloudfront.net' http://127.0.0.1:PORT/path

What a viewer request goes through, in CloudFront's order:
1. A disabled distribution (Enabled false) answers 403, CloudFront's own
   error page.
2. The cache behavior: the first of CacheBehaviors whose PathPattern matches
   the URI path (`*` any run of characters, `?` one character, a leading `/`
   optional in the pattern, case-sensitive), else the default one. It is
   chosen once, before any function runs.
3. A method the behavior's AllowedMethods lacks: 403, CloudFront's error
   page ("This distribution is not configured to allow the HTTP request
   method that was used for this request").
4. The behavior's viewer-request CloudFront Function (FunctionAssociations,
   by ARN; the function's LIVE stage) runs on njs with the viewer-request
   event (version 1.0, context, viewer.ip, request: method, uri as sent,
   querystring and cookies parsed with their values as sent, lower-case
   headers without Cookie; repeats as multiValue) and the entries of the
   KeyValueStore its config associates; without one, cf.kvs() throws and
   the function fails (see cloudfront_functions.NO_STORE_MESSAGE). Disallowed
   headers (function_result.DISALLOWED) are not in the event. What the
   function returns is validated as CloudFront does (function_result.py):
   an invalid request or response gives 502 (X-Cache:
   FunctionValidationError). A valid response is sent with its header names
   capitalized (X-Cache: FunctionGeneratedResponse); a valid request goes on
   with its uri, querystring, headers and cookies. A function that fails (a
   syntax error, an exception, njs absent or timed out) gives 503, as
   CloudFront does for "a function that is invalid or could not run"
   (X-Cache: FunctionExecutionError).
5. The behavior's origin:
   - S3 (S3OriginConfig). With an OriginAccessControlId the edge reads the
     object from moto's S3 backend as CloudFront's OAC does: as the service
     principal cloudfront.amazonaws.com, with aws:SourceArn the
     distribution's ARN, over TLS. The bucket policy is evaluated here (see
     `_policy_decision`): an explicit Deny wins, an Allow is needed.
     Refused: 403 AccessDenied (S3's XML). Allowed but absent: 404 NoSuchKey
     if the policy grants s3:ListBucket, else 403 AccessDenied (S3 hides
     what it would not list). Allowed: 200 with the object, its Content-Type
     (S3's default binary/octet-stream), Cache-Control and other stored
     headers. `/` (an empty key, no DefaultRootObject) is a ListObjects of
     the bucket: 403 without s3:ListBucket. PUT, POST, PATCH, DELETE need
     s3:PutObject or s3:DeleteObject: 403 AccessDenied unless granted (and
     501 if granted: the edge never writes to S3). OPTIONS: 403 (the edge
     does not evaluate CORS; S3 refuses a preflight a bucket without CORS
     does not allow). Without an OAC the request is anonymous (only a
     Principal "*" statement can allow it); with a legacy OAI, the OAI.
     The query string does not reach S3 (as with maint's CachingOptimized
     policy, which forwards none), so `?acl` and the like are plain GETs.
   - Custom (CustomOriginConfig): forwarded over plain HTTP to
     DomainName:HTTPPort, only when DomainName is 127.0.0.1 or localhost
     (the emulator never reaches the network: anything else is 502), with
     the method, OriginPath + uri, body, and only the query strings,
     headers and cookies the behavior's cache and origin request policies
     (or its legacy ForwardedValues) forward, Host the origin's unless
     forwarded, User-Agent "Amazon CloudFront" unless forwarded,
     X-Forwarded-For, Via and X-Amz-Cf-Id added (policies.py). Status,
     headers and body are relayed. Refused or failed connection: 502; no
     answer within OriginReadTimeout: 504.
6. CustomErrorResponses: when the origin's status has an entry with a
   ResponsePagePath, the page is fetched through the cache behaviors (a GET
   from the edge to itself, with neither functions nor error responses
   applied) and the viewer gets ResponseCode with that page's body and
   Content-Type (the origin's status when ResponseCode is empty). If the
   page cannot be fetched (not a 2xx, or CloudFront's own 502/504 for an
   origin it cannot reach), the viewer gets the answer to that fetch, with
   its status, as AWS documents. CloudFront's own errors (403 disabled or
   method not allowed, 503 function error, 502 invalid function result) and
   function-generated responses are sent as they are.
7. HEAD answers carry the headers of a GET, without the body.

Test hook: the request header `X-Maint-Viewer-Ip` sets the viewer's address
(event.viewer.ip and X-Forwarded-For); without it the viewer is 127.0.0.1.
The header itself is removed: neither the function nor the origin sees it.

Not emulated: no caching (every request reaches the function and the
origin; TTLs, the cache key, invalidations and ErrorCachingMinTTL have no
effect; policies decide only what a custom origin receives), no TLS (viewers speak plain HTTP; ViewerProtocolPolicy is not
enforced, and the edge talks to custom origins in plain HTTP whatever their
OriginProtocolPolicy), no geography (geo restrictions, edge locations, the
X-Amz-Cf-Pop is a constant), no aliases (only the DomainName routes), no
viewer-response functions and no Lambda@Edge (neither runs), no origin
groups, no signed URLs, no WAF, no compression, no range requests.

Patched (install): werkzeug.serving.WSGIRequestHandler.make_environ, to keep
the request's headers as received (RAW_HEADERS). The edge reads the OAC of
an origin from what corrections/cloudfront.py keeps (7).
"""

import base64
import http.client
import json
import re
import secrets
import socket
from http import HTTPStatus
from urllib.parse import unquote
from xml.sax.saxutils import escape

from moto.cloudfront.models import cloudfront_backends
from moto.s3.models import FakeKey, s3_backends

import function_result
import policies
from corrections import cloudfront_functions
from corrections.common import list_of, patch

VIEWER_IP_HEADER = "x-maint-viewer-ip"
DEFAULT_VIEWER_IP = "127.0.0.1"
LOCAL_ORIGINS = ("127.0.0.1", "localhost")
POP = "LOCAL1-EMU"  # X-Amz-Cf-Pop: the emulator is one, fictitious, edge location
RAW_HEADERS = "maint.edge.raw_headers"

# Headers CloudFront removes from what the viewer sent (hop-by-hop and the
# like); they reach neither the function nor the origin.
_DROPPED = {
    "connection",
    "expect",
    "keep-alive",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    VIEWER_IP_HEADER,
}
_HOP_BY_HOP = _DROPPED - {VIEWER_IP_HEADER, "expect", "proxy-authorization"}


class Answer:
    """One HTTP answer: status, reason, headers (a list of pairs), body."""

    def __init__(self, status, headers=None, body=b"", reason=None, x_cache=None):
        self.status = int(status)
        self.reason = reason or _reason(self.status)
        self.headers = list(headers or [])
        self.body = body or b""
        self.x_cache = x_cache
        self.head_length = None  # the length of the body a GET would get, for HEAD
        self.keep_length = False  # HEAD relayed: the origin's Content-Length stands

    def header(self, name):
        name = name.lower()
        return next((v for k, v in self.headers if k.lower() == name), None)


def _reason(status):
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def _truthy(value):
    return value is True or str(value).lower() == "true"


def _request_id():
    # CloudFront's request ids: 56 characters, URL-safe base64 ending in '=='.
    return base64.urlsafe_b64encode(secrets.token_bytes(40)).decode()[:54] + "=="


# --- routing ----------------------------------------------------------------


def _backends():
    for _, per_account in list(cloudfront_backends.items()):
        for _, backend in list(per_account.items()):
            yield backend


def distribution_for(host):
    """(backend, distribution) whose DomainName is `host`, or None."""
    if not host:
        return None
    name = host.strip().lower()
    if name.startswith("["):  # an IPv6 literal is never a distribution
        return None
    name = name.rsplit(":", 1)[0].rstrip(".")
    if not name.endswith(".cloudfront.net"):
        return None
    for backend in _backends():
        for dist in list(backend.distributions.values()):
            if dist.domain_name.lower() == name:
                return backend, dist
    return None


def route(environ):
    """The (backend, distribution) a viewer request is for, or None (an API call)."""
    return distribution_for(environ.get("HTTP_HOST", ""))


# --- the viewer's request ---------------------------------------------------


class Viewer:
    """The viewer request as CloudFront sees it, and as the function may change it."""

    def __init__(self, environ):
        self.method = environ.get("REQUEST_METHOD", "GET").upper()
        raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or ""
        if "://" in raw:  # an absolute request target
            raw = "/" + raw.split("://", 1)[1].split("/", 1)[-1]
        if raw:
            path, _, query = raw.partition("?")
        else:
            path, query = environ.get("PATH_INFO", "/"), environ.get("QUERY_STRING", "")
        self.uri = path or "/"
        self.query = query
        pairs = environ.get(RAW_HEADERS)
        if pairs is None:  # not the werkzeug server: rebuild from the environ
            pairs = [
                (k[5:].replace("_", "-").lower(), v) for k, v in environ.items() if k.startswith("HTTP_")
            ]
            for k in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                if environ.get(k):
                    pairs.append((k.replace("_", "-").lower(), environ[k]))
        self.ip = DEFAULT_VIEWER_IP
        self.headers = []  # (lower-case name, value), in order, without Cookie
        self.cookie = []  # the Cookie headers' values
        for name, value in pairs:
            name = name.lower()
            if name == VIEWER_IP_HEADER:
                self.ip = value.strip() or DEFAULT_VIEWER_IP
            elif name == "cookie":
                self.cookie.append(value)
            elif name not in _DROPPED and not function_result.disallowed(name):
                # Disallowed headers are "not exposed to edge functions"
                # (function_result.py); CloudFront removes those a viewer sends.
                self.headers.append((name, value))
        self.body = _read_body(environ)


def _read_body(environ):
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    if environ.get("wsgi.input_terminated"):
        return stream.read()
    size = int(environ.get("CONTENT_LENGTH") or 0)
    return stream.read(size) if size > 0 else b""


def _multi(pairs):
    """[(name, value)] -> {name: {value, multiValue?}}: CloudFront's shape."""
    out = {}
    for name, value in pairs:
        if name in out:
            entry = out[name]
            entry.setdefault("multiValue", [{"value": entry["value"]}]).append({"value": value})
        else:
            out[name] = {"value": value}
    return out


def _title(name):
    """example-header-name -> Example-Header-Name, as CloudFront writes the
    names a function returns."""
    return "-".join(word[:1].upper() + word[1:] for word in name.split("-"))


def _flat(obj):
    """{name: {value, multiValue?}} -> [(name, value)]; inverse of _multi."""
    out = []
    for name, entry in (obj or {}).items():
        if isinstance(entry, dict):
            values = entry.get("multiValue") or [entry]
            for item in values:
                if isinstance(item, dict):
                    out.append((name, "" if item.get("value") is None else str(item.get("value"))))
        elif entry is not None:
            out.append((name, str(entry)))
    return out


def parse_query(query):
    """A raw query string -> pairs; values as sent (still percent-encoded)."""
    pairs = []
    for piece in query.split("&"):
        if piece:
            key, _, value = piece.partition("=")
            pairs.append((key, value))
    return pairs


def build_query(pairs):
    # UNCONFIRMED: how CloudFront writes a key whose value is empty (`k` or
    # `k=`); the edge writes `k`, as the window function's redirect does.
    return "&".join(k if v == "" else f"{k}={v}" for k, v in pairs)


def parse_cookies(headers):
    pairs = []
    for header in headers:
        for piece in header.split(";"):
            piece = piece.strip()
            if piece:
                name, _, value = piece.partition("=")
                pairs.append((name.strip(), value.strip()))
    return pairs


def viewer_request_event(dist, viewer, request_id):
    return {
        "version": "1.0",
        "context": {
            "distributionDomainName": dist.domain_name,
            "distributionId": dist.distribution_id,
            "eventType": "viewer-request",
            "requestId": request_id,
        },
        "viewer": {"ip": viewer.ip},
        "request": {
            "method": viewer.method,
            "uri": viewer.uri,
            "querystring": _multi(parse_query(viewer.query)),
            "headers": _multi(viewer.headers),
            "cookies": _multi(parse_cookies(viewer.cookie)),
        },
    }


# --- CloudFront's own error pages ---------------------------------------------

_CF_MESSAGES = {
    "method": (
        "This distribution is not configured to allow the HTTP request method that was used "
        "for this request. The distribution supports only cachable requests."
    ),
    # UNCONFIRMED: the wording CloudFront uses for a disabled distribution.
    "disabled": "Bad request. The distribution serving this request is disabled.",
    "function": (
        "The CloudFront function associated with the CloudFront distribution is invalid or could not run."
    ),
    # UNCONFIRMED: the wording of the 502 for a function's invalid result.
    "invalid": (
        "The CloudFront function associated with the CloudFront distribution returned an invalid "
        "result to CloudFront."
    ),
    "origin": "CloudFront wasn't able to connect to the origin.",
    "timeout": (
        "CloudFront attempted to establish a connection with the origin, but the attempt timed out."
    ),
    "network": (
        "The maint emulator's edge reaches only origins on 127.0.0.1 or localhost; "
        "this origin is elsewhere."
    ),
}


def cloudfront_error(status, why, request_id, x_cache="Error from cloudfront"):
    """CloudFront's own error page (the HTML it generates)."""
    body = (
        '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN" '
        '"http://www.w3.org/TR/html4/loose.dtd">\n'
        '<HTML><HEAD><META HTTP-EQUIV="Content-Type" CONTENT="text/html; charset=iso-8859-1">\n'
        "<TITLE>ERROR: The request could not be satisfied</TITLE>\n"
        "</HEAD><BODY>\n"
        f"<H1>{status} ERROR</H1>\n"
        "<H2>The request could not be satisfied.</H2>\n"
        '<HR noshade size="1px">\n'
        f"{escape(_CF_MESSAGES[why])}\n"
        "We can't connect to the server for this app or website at this time. There might be too "
        "much traffic or a configuration error. Try again later, or contact the app or website "
        "owner.\n"
        '<BR clear="all">\n'
        '<HR noshade size="1px">\n'
        "<PRE>\n"
        "Generated by cloudfront (CloudFront)\n"
        f"Request ID: {request_id}\n"
        "</PRE>\n"
        "<ADDRESS>\n</ADDRESS>\n"
        "</BODY></HTML>"
    ).encode()
    return Answer(
        status,
        [("Server", "CloudFront"), ("Content-Type", "text/html")],
        body,
        x_cache=x_cache,
    )


# --- cache behaviors ----------------------------------------------------------


def _pattern_regex(pattern):
    pattern = pattern if pattern.startswith("/") or pattern == "*" else "/" + pattern
    return "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)


def path_matches(pattern, path):
    return re.fullmatch(_pattern_regex(pattern or ""), path, re.S) is not None


def select_behavior(dist, path):
    config = dist.distribution_config
    behaviors = getattr(config, "CacheBehaviors", None) or {}
    items = behaviors.get("Items") if isinstance(behaviors, dict) else None
    for behavior in list_of(items, "CacheBehavior"):
        if isinstance(behavior, dict):
            continue  # moto left it unparsed; it has no pattern to match
        if path_matches(behavior.path_pattern, path):
            return behavior
    return config.DefaultCacheBehavior


def _allowed_methods(behavior):
    methods = getattr(behavior, "allowed_methods", None)
    items = getattr(methods, "items", None) or ["GET", "HEAD"]
    return {str(m).upper() for m in list_of(items, "Method")}


def _viewer_request_function(backend, behavior):
    associations = getattr(behavior, "function_associations", None) or {}
    for item in list_of(associations.get("Items"), "FunctionAssociation"):
        if item.get("EventType") == "viewer-request":
            arn = item.get("FunctionARN")
            function = next((f for f in list(backend.functions.values()) if f.arn == arn), None)
            return function, arn
    return None, None


# --- functions ------------------------------------------------------------------


class FunctionFailed(Exception):
    """The function could not run: CloudFront's 503."""


class FunctionInvalid(Exception):
    """The function ran but returned what CloudFront refuses: a 502
    (function_result.py)."""


def run_viewer_request(backend, behavior, dist, viewer, request_id):
    """None (no function), ("request", request) or ("response", response)."""
    function, arn = _viewer_request_function(backend, behavior)
    if arn is None:
        return None
    if function is None or getattr(function, "live", None) is None:
        raise FunctionFailed(f"{arn} has no LIVE stage")
    live = function.live
    store = cloudfront_functions.associated_store(live.config)
    event = viewer_request_event(dist, viewer, request_id)
    try:
        output, error, _, _ = cloudfront_functions.run_on_njs(function.name, live.code, event, store)
    except Exception as e:  # njs missing, the stand-in missing
        raise FunctionFailed(str(e)) from None
    if error is not None:
        raise FunctionFailed(error)
    invalid = cloudfront_functions.check(output, event)
    if invalid is not None:
        raise FunctionInvalid(invalid)
    result = json.loads(output)
    if "request" in result:
        return "request", result["request"], event["request"]
    return "response", result["response"], None


def function_response(response, request_id):
    """The viewer's answer from a response the function generated."""
    status = response["statusCode"]  # an integer: function_result.check_response
    # "When CloudFront Functions converts the event object back into an HTTP
    # response, the first letter of each word in header names is capitalized"
    # (CloudFront Functions event structure).
    headers = [(_title(k), v) for k, v in _flat(response.get("headers"))]
    for name, entry in (response.get("cookies") or {}).items():
        values = (entry.get("multiValue") or [entry]) if isinstance(entry, dict) else [{"value": entry}]
        for item in values:
            if not isinstance(item, dict):
                continue
            cookie = f"{name}={item.get('value', '')}"
            if item.get("attributes"):
                cookie += f"; {item['attributes']}"
            headers.append(("Set-Cookie", cookie))
    body = response.get("body")
    if isinstance(body, dict):
        data = body.get("data") or ""
        if body.get("encoding") == "base64":
            data = base64.b64decode(data)
        else:
            data = str(data).encode()
    elif body is None:
        data = b""
    else:
        data = str(body).encode()
    reason = response.get("statusDescription")
    reason = str(reason).encode("latin-1", "replace").decode("latin-1") if reason else None
    headers.insert(0, ("Server", "CloudFront"))
    return Answer(
        status, headers, data, reason=reason, x_cache="FunctionGeneratedResponse from cloudfront"
    )


class Request:
    """What goes to the origin."""

    def __init__(self, method, uri, query, headers, cookies, body, ip):
        self.method = method
        self.uri = uri
        self.query = query
        self.headers = headers  # [(lower-case name, value)]
        self.cookies = cookies  # [(name, value)]
        self.body = body
        self.ip = ip


def apply_request(viewer, changed, original):
    """The origin request after the function returned `changed`."""
    # Validated (function_result.check_request): uri and querystring are well formed.
    uri = changed["uri"]
    q = changed.get("querystring", {})
    if q == original["querystring"]:
        query = viewer.query  # untouched: as the viewer sent it
    else:
        query = build_query(_flat(q))
    headers = [(k.lower(), v) for k, v in _flat(changed.get("headers"))]
    headers = [(k, v) for k, v in headers if k not in _DROPPED and k != "cookie"]
    cookies = _flat(changed.get("cookies"))
    return Request(viewer.method, uri, query, headers, cookies, viewer.body, viewer.ip)


# --- S3 origins -------------------------------------------------------------------

_S3_DOMAIN = re.compile(
    r"^(?P<bucket>.+?)\.s3(?:[.-](?:dualstack\.)?(?P<region>[a-z0-9-]+))?\.amazonaws\.com(?:\.cn)?$"
)


def _s3_error(status, code, message, extra=None, head=False):
    request_id = secrets.token_hex(8).upper()
    host_id = base64.b64encode(secrets.token_bytes(48)).decode()
    parts = [f"<Code>{code}</Code>", f"<Message>{escape(message)}</Message>"]
    for name, value in (extra or {}).items():
        parts.append(f"<{name}>{escape(value)}</{name}>")
    parts.append(f"<RequestId>{request_id}</RequestId><HostId>{host_id}</HostId>")
    body = ('<?xml version="1.0" encoding="UTF-8"?>\n<Error>' + "".join(parts) + "</Error>").encode()
    headers = [
        ("Server", "AmazonS3"),
        ("x-amz-request-id", request_id),
        ("x-amz-id-2", host_id),
        ("Content-Type", "application/xml"),
    ]
    return Answer(status, headers, b"" if head else body)


def _denied(head=False):
    return _s3_error(403, "AccessDenied", "Access Denied", head=head)


def _as_list(value):
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _wildcard(pattern, value, ignore_case=False):
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in str(pattern))
    flags = re.S | (re.I if ignore_case else 0)
    return re.fullmatch(regex, value, flags) is not None


class Caller:
    """Who CloudFront is at S3, and the request's condition keys (lower-case)."""

    def __init__(self, kind, name=None, context=None):
        self.kind = kind  # "service", "oai" or "anonymous"
        self.name = name
        self.context = context or {}


def _principal_in(principal, caller):
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    for kind, values in principal.items():
        for value in _as_list(values):
            if kind == "AWS" and value == "*":
                return True
            if kind == "Service" and caller.kind == "service" and value == caller.name:
                return True
            if (
                kind == "AWS"
                and caller.kind == "oai"
                and caller.name
                and str(value).endswith(f"CloudFront Origin Access Identity {caller.name}")
            ):
                return True
    return False


_NEGATED = {
    "StringNotEquals",
    "StringNotEqualsIgnoreCase",
    "StringNotLike",
    "ArnNotEquals",
    "ArnNotLike",
}


def _condition_holds(operator, key, expected, context):
    operator = operator.split(":", 1)[-1]  # ForAnyValue:/ForAllValues: on single values
    if_exists = operator.endswith("IfExists")
    if if_exists:
        operator = operator[: -len("IfExists")]
    present = key in context
    actual = context.get(key)
    if operator == "Null":
        return any((str(e).lower() == "true") == (not present) for e in expected)
    if not present:
        # A key the request lacks matches nothing, so a negated operator holds.
        return if_exists or operator in _NEGATED
    tests = {
        "StringEquals": lambda e: actual == str(e),
        "StringEqualsIgnoreCase": lambda e: actual.lower() == str(e).lower(),
        "StringLike": lambda e: _wildcard(e, actual),
        "ArnEquals": lambda e: _wildcard(e, actual),
        "ArnLike": lambda e: _wildcard(e, actual),
        "Bool": lambda e: actual == str(e).lower(),
    }
    positive = {
        "StringNotEquals": "StringEquals",
        "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
        "StringNotLike": "StringLike",
        "ArnNotEquals": "ArnEquals",
        "ArnNotLike": "ArnLike",
    }
    if operator in tests:
        return any(tests[operator](e) for e in expected)
    if operator in positive:
        return not any(tests[positive[operator]](e) for e in expected)
    # An operator the edge does not know (numeric, date, IP address...): the
    # statement is taken as not applying.
    return False


def _statement_applies(statement, action, resource, caller):
    if "NotPrincipal" in statement:
        if _principal_in(statement["NotPrincipal"], caller):
            return False
    elif not _principal_in(statement.get("Principal"), caller):
        return False
    if "NotAction" in statement:
        if any(_wildcard(a, action, True) for a in _as_list(statement["NotAction"])):
            return False
    elif not any(_wildcard(a, action, True) for a in _as_list(statement.get("Action"))):
        return False
    if "NotResource" in statement:
        if any(_wildcard(r, resource) for r in _as_list(statement["NotResource"])):
            return False
    elif not any(_wildcard(r, resource) for r in _as_list(statement.get("Resource"))):
        return False
    for operator, block in (statement.get("Condition") or {}).items():
        for key, expected in (block or {}).items():
            if not _condition_holds(operator, key.lower(), _as_list(expected), caller.context):
                return False
    return True


def _policy_decision(policy, action, resource, caller):
    """"Allow", "Deny" (explicit) or None (no statement allows: implicit deny)."""
    if not policy:
        return None
    try:
        document = json.loads(policy.decode() if isinstance(policy, bytes) else policy)
    except ValueError:
        return None
    allowed = False
    for statement in _as_list(document.get("Statement")):
        if not isinstance(statement, dict):
            continue
        if not _statement_applies(statement, action, resource, caller):
            continue
        if statement.get("Effect") == "Deny":
            return "Deny"
        if statement.get("Effect") == "Allow":
            allowed = True
    return "Allow" if allowed else None


def _s3_caller(origin, dist):
    arn = dist.arn
    # Kept by corrections/cloudfront.py (7): moto's Origin dropped it.
    oac = getattr(origin, "origin_access_control_id", "")
    if oac:
        return Caller(
            "service",
            "cloudfront.amazonaws.com",
            {
                "aws:sourcearn": arn,
                "aws:sourceaccount": arn.split(":")[4],
                "aws:principalservicename": "cloudfront.amazonaws.com",
                "aws:principaltype": "Service",
                "aws:securetransport": "true",
            },
        )
    oai = (getattr(origin, "s3_access_identity", "") or "").rsplit("/", 1)[-1]
    if oai:
        return Caller("oai", oai, {"aws:securetransport": "true"})
    return Caller("anonymous", None, {"aws:securetransport": "true"})


_S3_HEADERS = (
    "cache-control",
    "content-disposition",
    "content-encoding",
    "content-language",
    "expires",
    "x-robots-tag",
)


def fetch_s3(dist, origin, request):
    match = _S3_DOMAIN.match(origin.domain_name.lower())
    head = request.method == "HEAD"
    if not match:
        return _s3_error(400, "InvalidBucketName", "The specified bucket is not valid.", head=head)
    bucket_name = origin.domain_name[: len(match.group("bucket"))]
    partition = dist.arn.split(":")[1]
    account = s3_backends.bucket_accounts.get(bucket_name, (partition, None))[1]
    bucket = None
    if account is not None:
        bucket = s3_backends[account][partition].buckets.get(bucket_name)
    if bucket is None:
        return _s3_error(
            404, "NoSuchBucket", "The specified bucket does not exist", {"BucketName": bucket_name}, head
        )
    caller = _s3_caller(origin, dist)
    # S3 keys are the decoded path, under the origin's OriginPath.
    path = unquote(request.uri)
    root = getattr(dist.distribution_config, "DefaultRootObject", "")
    if request.uri == "/" and root:
        path = "/" + str(root).lstrip("/")
    prefix = (origin.origin_path or "").strip("/")
    key = f"{prefix}{path}" if prefix else path[1:]
    objects = f"arn:{partition}:s3:::{bucket_name}/{key}"
    whole = f"arn:{partition}:s3:::{bucket_name}"

    def decide(action, resource):
        return _policy_decision(bucket.policy, action, resource, caller) == "Allow"

    if request.method == "OPTIONS":
        # S3 answers a preflight itself, from the bucket's CORS rules, which the
        # edge does not evaluate. UNCONFIRMED: S3 answers 400 to an OPTIONS
        # without an Origin header.
        return _s3_error(403, "AccessForbidden", "CORSResponse: CORS is not enabled for this bucket.")
    if request.method not in ("GET", "HEAD"):
        action = "s3:DeleteObject" if request.method == "DELETE" else "s3:PutObject"
        if not decide(action, objects):
            return _denied()
        return _s3_error(501, "NotImplemented", "The maint emulator's edge does not write to S3.")
    if key == "":  # GET / is ListObjects of the bucket
        if not decide("s3:ListBucket", whole):
            return _denied(head)
        body = _listing(bucket)
        headers = [("Server", "AmazonS3"), ("Content-Type", "application/xml")]
        return Answer(200, headers, b"" if head else body)
    if not decide("s3:GetObject", objects):
        return _denied(head)
    obj = bucket.keys[key] if key in bucket.keys else None
    if not isinstance(obj, FakeKey):
        if decide("s3:ListBucket", whole):
            return _s3_error(404, "NoSuchKey", "The specified key does not exist.", {"Key": key}, head)
        return _denied(head)
    data = obj.value
    metadata = {k.lower(): v for k, v in obj.metadata.items()}
    headers = [
        ("Server", "AmazonS3"),
        ("Content-Type", metadata.get("content-type") or "binary/octet-stream"),
        ("ETag", obj.etag),
        ("Last-Modified", obj.last_modified_RFC1123),
        ("Accept-Ranges", "bytes"),
    ]
    headers += [(name.title(), metadata[name]) for name in _S3_HEADERS if metadata.get(name)]
    headers += [(k, v) for k, v in metadata.items() if k.startswith("x-amz-meta-")]
    if obj.encryption:
        headers.append(("x-amz-server-side-encryption", obj.encryption))
    return Answer(200, headers, data)


def _listing(bucket):
    contents = "".join(
        f"<Contents><Key>{escape(name)}</Key><Size>{bucket.keys[name].size}</Size></Contents>"
        for name in sorted(bucket.keys.keys())
        if isinstance(bucket.keys[name], FakeKey)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
        f"<Name>{escape(bucket.name)}</Name><Prefix></Prefix><MaxKeys>1000</MaxKeys>"
        f"<IsTruncated>false</IsTruncated>{contents}</ListBucketResult>"
    ).encode()


# --- custom origins -----------------------------------------------------------------


def fetch_custom(dist, origin, behavior, request, request_id):
    config = origin.custom_origin_config
    domain = origin.domain_name.lower()
    if domain not in LOCAL_ORIGINS:
        return cloudfront_error(502, "network", request_id)
    port = int(config.http_port or 80)
    timeout = float(config.origin_read_timeout or 30)
    # Only what the behavior's policies forward (policies.py).
    try:
        forward = policies.forwarding(behavior)
    except policies.UnknownPolicy:
        # Refused at CreateDistribution/UpdateDistribution; a distribution
        # made before that check still fails closed.
        return cloudfront_error(502, "origin", request_id)
    path = (origin.origin_path or "").rstrip("/") + request.uri
    pairs = parse_query(request.query)
    kept = policies.origin_query(forward, pairs)
    query = request.query if kept == pairs else build_query(kept)
    if query:
        path += "?" + query
    host = domain if port == 80 else f"{domain}:{port}"
    headers = policies.origin_headers(forward, request, host)
    cookies = policies.origin_cookies(forward, request.cookies)
    if cookies:
        headers.append(("cookie", "; ".join(f"{k}={v}" for k, v in cookies)))
    via = [v for k, v in request.headers if k == "via"]
    headers.append(("via", ", ".join(via + [f"1.1 {dist.domain_name.split('.')[0]}.cloudfront.net (CloudFront)"])))
    headers.append(("x-amz-cf-id", request_id))
    if request.body or request.method in ("POST", "PUT", "PATCH"):
        headers.append(("content-length", str(len(request.body))))
    headers.append(("connection", "close"))
    lines = [f"{request.method} {path} HTTP/1.1"]
    lines += [f"{_title(k)}: {_header_value(v)}" for k, v in headers]
    # One write for the head and the body: an origin that answers after its
    # first read still gets the whole request.
    message = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace") + request.body
    sock = None
    try:
        sock = socket.create_connection((domain, port), timeout=float(origin.connection_timeout or 10))
        sock.settimeout(timeout)
        sock.sendall(message)
        response = http.client.HTTPResponse(sock, method=request.method)
        response.begin()
        body = response.read()
        relayed = [(k, v) for k, v in response.getheaders() if k.lower() not in _HOP_BY_HOP]
        answer = Answer(response.status, relayed, body, reason=response.reason or None)
        answer.keep_length = request.method == "HEAD"
        return answer
    except socket.timeout:
        return cloudfront_error(504, "timeout", request_id)
    except (OSError, http.client.HTTPException):
        return cloudfront_error(502, "origin", request_id)
    finally:
        if sock is not None:
            sock.close()


def _header_value(value):
    return str(value).replace("\r", " ").replace("\n", " ")


# --- the origin stage, with custom error responses --------------------------------


def _origin(dist, behavior):
    origins = dist.distribution_config.Origins
    items = origins.get("Items") if isinstance(origins, dict) else None
    wanted = behavior.target_origin_id
    return next((o for o in list_of(items, "Origin") if getattr(o, "id", None) == wanted), None)


def fetch_origin(dist, behavior, request, request_id):
    origin = _origin(dist, behavior)
    if origin is None:
        return cloudfront_error(502, "origin", request_id)
    if hasattr(origin, "custom_origin_config"):
        return fetch_custom(dist, origin, behavior, request, request_id)
    return fetch_s3(dist, origin, request)


def _error_response(dist, status):
    responses = getattr(dist.distribution_config, "CustomErrorResponses", None) or {}
    items = responses.get("Items") if isinstance(responses, dict) else None
    for item in list_of(items, "CustomErrorResponse"):
        if isinstance(item, dict) and str(item.get("ErrorCode")) == str(status):
            return item
    return None


def with_error_responses(dist, answer, request_id):
    entry = _error_response(dist, answer.status) if answer.status >= 400 else None
    page_path = (entry or {}).get("ResponsePagePath")
    if not page_path:
        return answer
    # The page, fetched through the behavior its path selects: a GET from the
    # edge itself. UNCONFIRMED: that viewer-request functions do not run on it.
    page_uri, _, page_query = page_path.partition("?")
    behavior = select_behavior(dist, page_uri)
    request = Request("GET", page_uri, page_query, [], [], b"", DEFAULT_VIEWER_IP)
    page = fetch_origin(dist, behavior, request, request_id)
    if not 200 <= page.status < 300:
        # "If you configure CloudFront to return a custom error page for an
        # HTTP status code but the custom error page isn't available,
        # CloudFront returns to the viewer the status code that CloudFront
        # received from the origin that contains the custom error pages"
        # (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/custom-error-pages.html).
        # UNCONFIRMED: that the body and headers are that answer's too.
        page.x_cache = "Error from cloudfront"
        return page
    code = entry.get("ResponseCode")
    status = int(code) if str(code or "").isdigit() else answer.status
    # The page's body and Content-Type. UNCONFIRMED: which other headers of the
    # page object (Cache-Control, ETag...) CloudFront sends along.
    headers = [(k, v) for k, v in page.headers if k.lower() in ("content-type", "server")]
    return Answer(status, headers, page.body, x_cache="Error from cloudfront")


# --- the whole request --------------------------------------------------------------


def serve(backend, dist, viewer):
    request_id = _request_id()
    config = dist.distribution_config
    if not _truthy(getattr(config, "Enabled", True)):
        return cloudfront_error(403, "disabled", request_id), request_id
    behavior = select_behavior(dist, viewer.uri)
    if viewer.method not in _allowed_methods(behavior):
        return cloudfront_error(403, "method", request_id), request_id
    request = Request(
        viewer.method, viewer.uri, viewer.query, list(viewer.headers), parse_cookies(viewer.cookie),
        viewer.body, viewer.ip,
    )
    try:
        ran = run_viewer_request(backend, behavior, dist, viewer, request_id)
        if ran is not None:
            kind, value, original = ran
            if kind == "response":
                return function_response(value, request_id), request_id
            request = apply_request(viewer, value, original)
    except FunctionFailed:
        failed = cloudfront_error(503, "function", request_id, "FunctionExecutionError from cloudfront")
        return failed, request_id
    except FunctionInvalid:
        # UNCONFIRMED: the X-Cache value and wording of CloudFront's page for
        # a validation error (the 502 is documented; see function_result.py).
        invalid = cloudfront_error(502, "invalid", request_id, "FunctionValidationError from cloudfront")
        return invalid, request_id
    answer = fetch_origin(dist, behavior, request, request_id)
    if answer.x_cache is None:
        answer.x_cache = "Error from cloudfront" if answer.status >= 400 else "Miss from cloudfront"
    return with_error_responses(dist, answer, request_id), request_id


def handle(environ, start_response, routed):
    backend, dist = routed
    viewer = Viewer(environ)
    answer, request_id = serve(backend, dist, viewer)
    framing = ("content-length", "transfer-encoding", "connection")
    headers = [(k, v) for k, v in answer.headers if k.lower() not in framing]
    length = len(answer.body)
    if viewer.method == "HEAD":  # the headers of a GET, without the body
        if answer.keep_length and answer.header("content-length"):
            length = answer.header("content-length")
        elif answer.head_length is not None:
            length = answer.head_length
        answer.body = b""
    if answer.status not in (204, 304) and not 100 <= answer.status < 200:
        headers.append(("Content-Length", str(length)))
    headers += [
        ("X-Cache", answer.x_cache or "Miss from cloudfront"),
        ("Via", f"1.1 {dist.domain_name.split('.')[0]}.cloudfront.net (CloudFront)"),
        ("X-Amz-Cf-Pop", POP),
        ("X-Amz-Cf-Id", request_id),
    ]
    # WSGI headers are latin-1 strings.
    headers = [(str(k), str(v).encode("latin-1", "replace").decode("latin-1")) for k, v in headers]
    start_response(f"{answer.status} {answer.reason}", headers)
    return [answer.body]


# --- install ------------------------------------------------------------------------


def install():
    # The WSGI environ joins repeated headers and drops those with an
    # underscore; CloudFront's event keeps each one (multiValue). Keep the
    # headers as received, in order.
    from werkzeug.serving import WSGIRequestHandler

    make_environ = WSGIRequestHandler.make_environ

    def make_environ_keeping(self):
        environ = make_environ(self)
        environ[RAW_HEADERS] = list(self.headers.items())
        return environ

    patch(WSGIRequestHandler, "make_environ", make_environ_keeping)
