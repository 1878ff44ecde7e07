"""What a CloudFront Function may return, checked as CloudFront checks it.

CloudFront validates the request or response a function returns; an
invalid one is a validation error ("Validation errors occur when the
function runs successfully but returns invalid data (an invalid event
object)", CloudFront Functions metrics,
https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/viewing-cloudfront-metrics.html),
which the viewer gets as 502 Bad Gateway ("If your function adds one of
these headers, it fails CloudFront validation and CloudFront returns HTTP
status code 502 (Bad Gateway) to the viewer", Restrictions on all edge
functions,
https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/edge-function-restrictions-all.html).
The edge (edge.py) answers 502 and TestFunction (corrections/cloudfront_functions.py) reports
the reason as FunctionErrorMessage.

The rules, from those pages and from "CloudFront Functions event
structure" (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/functions-event-structure.html):
- Disallowed headers (DISALLOWED, DISALLOWED_PREFIXES) cannot be added.
- Read-only headers cannot be added, changed or removed: Content-Length,
  Host, Transfer-Encoding and Via in a viewer request; Warning and Via in a
  viewer response.
- The request's `method` is "the only read-only field in the request
  object"; a new `uri` "must begin with a forward slash"; a query string a
  function writes "can't include spaces, control characters, or the
  fragment identifier (#)", and the URI with its query string must stay
  under 8,192 characters.
- Query strings, headers and cookies are objects of `{value: string}`
  fields, with an optional `multiValue` array of the same; header names
  "must be lowercase when they're added by your function code"; a response
  cookie may carry `attributes` (a string).
- A response's `statusCode` "is an integer, not a string";
  `statusDescription` is optional; `body` is a string, or `{encoding, data}`
  where "the only valid encodings are text and base64" and "if you specify
  encoding as base64 but the body is not valid base64, CloudFront returns an
  error".

Where AWS documents no rule the emulator fails closed, and says so here:
- statusCode outside 200-599 is invalid (AWS documents only "an integer").
- A header value or status description with CR, LF or NUL, a header or
  cookie name that is not an HTTP token, a uri with whitespace or control
  characters, a body object without a string `data`: invalid.
- A response a viewer-request function generates cannot set Transfer-Encoding
  or Via either (CloudFront frames the body and adds its own Via).
- A disallowed header or an upper-case name is judged only when the function
  added or changed it: a TestFunction event that carries one unchanged
  passes.
"""

import base64
import binascii
import re

# Restrictions on all edge functions, "Disallowed headers".
DISALLOWED = {
    "connection",
    "expect",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "trailer",
    "upgrade",
    "x-accel-buffering",
    "x-accel-charset",
    "x-accel-limit-rate",
    "x-accel-redirect",
    "x-amzn-auth",
    "x-amzn-cf-billing",
    "x-amzn-cf-id",
    "x-amzn-cf-xff",
    "x-amzn-errortype",
    "x-amzn-fle-profile",
    "x-amzn-header-count",
    "x-amzn-header-order",
    "x-amzn-lambda-integration-tag",
    "x-amzn-requestid",
    "x-cache",
    "x-forwarded-proto",
    "x-real-ip",
}
DISALLOWED_PREFIXES = ("x-amz-cf-", "x-edge-")

# Restrictions on all edge functions, "Read-only headers".
READ_ONLY = {
    "viewer-request": ("content-length", "host", "transfer-encoding", "via"),
    "viewer-response": ("warning", "via"),
}
# The emulator's reading for a response a viewer-request function generates.
GENERATED_RESPONSE_READ_ONLY = ("transfer-encoding", "via")

URI_MAX = 8192  # "must be less than 8,192 characters"
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_BAD_VALUE = re.compile(r"[\r\n\x00]")
_BAD_QUERY = re.compile(r"[\x00-\x20\x7f#]")
_BAD_URI = re.compile(r"[\x00-\x20\x7f]")


class Invalid(Exception):
    """The function's result failed validation; the message says why."""


def disallowed(name):
    name = name.lower()
    return name in DISALLOWED or name.startswith(DISALLOWED_PREFIXES)


def _values(entry):
    """The values a {value, multiValue?} field stands for (multiValue wins,
    as CloudFront applies it)."""
    if not isinstance(entry, dict):
        return None
    items = entry.get("multiValue")
    items = items if isinstance(items, list) and items else [entry]
    return [(i.get("value"), i.get("attributes")) if isinstance(i, dict) else (i, None) for i in items]


def _check_item(item, where, attributes):
    if not isinstance(item, dict):
        raise Invalid(f"{where} must be an object with a string `value`.")
    if not isinstance(item.get("value"), str):
        raise Invalid(f"{where}.value must be a string.")
    if "attributes" in item:
        if not attributes:
            raise Invalid(f"{where} cannot have `attributes` here.")
        if not isinstance(item["attributes"], str):
            raise Invalid(f"{where}.attributes must be a string.")


def _check_fields(obj, where, attributes=False):
    """A querystring, headers or cookies object."""
    if not isinstance(obj, dict):
        raise Invalid(f"{where} must be an object.")
    for name, entry in obj.items():
        field = f"{where}[{name!r}]"
        _check_item(entry, field, attributes)
        if "multiValue" in entry:
            items = entry["multiValue"]
            if not isinstance(items, list):
                raise Invalid(f"{field}.multiValue must be an array.")
            for i, item in enumerate(items):
                _check_item(item, f"{field}.multiValue[{i}]", attributes)


def _check_headers(headers, original, where, read_only):
    """Headers: their shape, values, names, and the disallowed and read-only
    ones, against `original` (the event's headers, {} for a new response)."""
    headers = {} if headers is None else headers
    _check_fields(headers, where)
    original = original if isinstance(original, dict) else {}
    for name, entry in headers.items():
        for value, _ in _values(entry):
            if _BAD_VALUE.search(value):
                raise Invalid(f"{where}[{name!r}] has a value with a line break or NUL.")
        if not _TOKEN.match(name):
            raise Invalid(f"{where}: {name!r} is not a valid header name.")
        unchanged = name in original and _values(original[name]) == _values(entry)
        if unchanged:
            continue
        if name != name.lower():
            raise Invalid(f"{where}: header names a function adds must be lowercase ({name!r}).")
        if disallowed(name):
            raise Invalid(f"{where}: the function added the disallowed header {name!r}.")
    lowered = {k.lower(): _values(v) for k, v in headers.items()}
    before = {k.lower(): _values(v) for k, v in original.items()}
    for name in read_only:
        if lowered.get(name) != before.get(name):
            raise Invalid(
                f"{where}: the function tried to add, delete or change the read-only header {name!r}."
            )


def check_request(request, original):
    """A request a viewer-request function returned, against the event's."""
    if not isinstance(request, dict):
        raise Invalid("The request must be an object.")
    original = original if isinstance(original, dict) else {}
    if request.get("method") != original.get("method"):
        raise Invalid("The request's method is read-only.")
    uri = request.get("uri")
    if not isinstance(uri, str) or not uri.startswith("/"):
        raise Invalid("The request's uri must be a string that begins with '/'.")
    if _BAD_URI.search(uri):
        raise Invalid("The request's uri contains whitespace or control characters.")
    query = request.get("querystring", {})
    _check_fields(query, "request.querystring")
    length = len(uri)
    for name, entry in query.items():
        for value, _ in _values(entry):
            if _BAD_QUERY.search(name) or _BAD_QUERY.search(value):
                raise Invalid(
                    "A query string can't include spaces, control characters, or the fragment identifier (#)."
                )
            length += len(name) + len(value) + 2
    if length >= URI_MAX:
        raise Invalid(f"The URI with its query string must be less than {URI_MAX} characters.")
    _check_headers(
        request.get("headers", {}), original.get("headers"), "request.headers", READ_ONLY["viewer-request"]
    )
    cookies = request.get("cookies", {})
    _check_fields(cookies, "request.cookies")
    for name in cookies:
        if not _TOKEN.match(name):
            raise Invalid(f"request.cookies: {name!r} is not a valid cookie name.")


def check_response(response, original=None, read_only=GENERATED_RESPONSE_READ_ONLY):
    """A response a function returned; `original` is the event's response
    for a viewer-response function (None for a generated one)."""
    if not isinstance(response, dict):
        raise Invalid("The response must be an object.")
    status = response.get("statusCode")
    if isinstance(status, bool) or not isinstance(status, int):
        raise Invalid(f"The response's statusCode must be an integer, not {status!r}.")
    if not 200 <= status <= 599:
        raise Invalid(f"The response's statusCode {status} is not a valid HTTP status code.")
    if "statusDescription" in response:
        description = response["statusDescription"]
        if not isinstance(description, str) or _BAD_VALUE.search(description):
            raise Invalid("The response's statusDescription must be a string on one line.")
    before = (original or {}).get("headers") if isinstance(original, dict) else None
    _check_headers(response.get("headers", {}), before, "response.headers", read_only)
    cookies = response.get("cookies", {})
    _check_fields(cookies, "response.cookies", attributes=True)
    for name in cookies:
        if not _TOKEN.match(name):
            raise Invalid(f"response.cookies: {name!r} is not a valid cookie name.")
    if "body" in response:
        body = response["body"]
        if isinstance(body, dict):
            encoding, data = body.get("encoding"), body.get("data")
            if encoding not in ("text", "base64"):
                raise Invalid(f"The body's encoding must be text or base64, not {encoding!r}.")
            if not isinstance(data, str):
                raise Invalid("The body's data must be a string.")
            if encoding == "base64":
                try:
                    base64.b64decode(data, validate=True)
                except (binascii.Error, ValueError):
                    raise Invalid("The body is not valid base64.") from None
        elif not isinstance(body, str):
            raise Invalid("The body must be a string or an object {encoding, data}.")


def check(result, event):
    """`result` is what the handler returned, as the driver reports it:
    {"request": ...}, {"response": ...} or {"invalid": ...}. Raises Invalid."""
    if "invalid" in result:
        raise Invalid(f"The function returned {result['invalid']}, neither the request nor a response.")
    context = event.get("context") if isinstance(event, dict) else None
    event_type = (context or {}).get("eventType") or "viewer-request"
    if event_type == "viewer-response":
        if "response" not in result:
            raise Invalid("A viewer-response function must return the response.")
        check_response(result["response"], event.get("response"), READ_ONLY["viewer-response"])
    elif "request" in result:
        check_request(result["request"], event.get("request"))
    else:
        check_response(result.get("response"))
