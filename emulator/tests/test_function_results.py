"""What a viewer-request function returns is validated, as CloudFront does:
an invalid result is a 502 at the edge ("If your function adds or edits a
read-only header, the request fails CloudFront validation and CloudFront
returns HTTP status code 502 (Bad Gateway) to the viewer", Restrictions on
all edge functions,
https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/edge-function-restrictions-all.html)
and a FunctionErrorMessage in TestFunction; the shapes are those of
CloudFront Functions event structure,
https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/functions-event-structure.html."""

import json

from support import ALL_VIEWER, EmulatorTest, viewer_request_association

REQUEST = "function handler(event) {\n  var r = event.request;\n  %s\n  return r;\n}\n"
RESPONSE = "function handler(event) {\n  return %s;\n}\n"

INVALID = {
    # Disallowed headers: a function cannot add them.
    "adds X-Cache": REQUEST % "r.headers['x-cache'] = { value: 'Hit' };",
    "adds Connection": REQUEST % "r.headers['connection'] = { value: 'close' };",
    "adds X-Amz-Cf-*": REQUEST % "r.headers['x-amz-cf-pop'] = { value: 'X' };",
    "adds X-Edge-*": REQUEST % "r.headers['x-edge-location'] = { value: 'X' };",
    "adds X-Forwarded-Proto": REQUEST % "r.headers['x-forwarded-proto'] = { value: 'https' };",
    "adds X-Real-IP": REQUEST % "r.headers['x-real-ip'] = { value: '1.2.3.4' };",
    "adds X-Amzn-RequestId": REQUEST % "r.headers['x-amzn-requestid'] = { value: '1' };",
    # Read-only headers in a viewer request.
    "changes Host": REQUEST % "r.headers.host = { value: 'example.com' };",
    "deletes Host": REQUEST % "delete r.headers.host;",
    "adds Content-Length": REQUEST % "r.headers['content-length'] = { value: '0' };",
    "adds Via": REQUEST % "r.headers['via'] = { value: '1.1 proxy' };",
    # Shapes.
    "a header that is a string": REQUEST % "r.headers['x-a'] = 'b';",
    "a header value that is a number": REQUEST % "r.headers['x-a'] = { value: 1 };",
    "a multiValue that is not an array": REQUEST % "r.headers['x-a'] = { value: 'a', multiValue: 'a' };",
    "a header name in capitals": REQUEST % "r.headers['X-Custom'] = { value: 'a' };",
    "a header value with a line break": REQUEST % "r.headers['x-a'] = { value: 'a\\r\\nx-b: c' };",
    "a changed method": REQUEST % "r.method = 'POST';",
    "a uri without a leading slash": REQUEST % "r.uri = 'index.html';",
    "a query string with a space": REQUEST % "r.querystring.q = { value: 'a b' };",
    "a query string that is a string": REQUEST % "r.querystring = 'a=b';",
    "a cookie without a value": REQUEST % "r.cookies.c = {};",
    "nothing returned": "function handler(event) { return; }\n",
    "a response whose statusCode is a string": RESPONSE % "{ statusCode: '503' }",
    "a response whose statusCode is not an integer": RESPONSE % "{ statusCode: 200.5 }",
    "a response whose statusCode is out of range": RESPONSE % "{ statusCode: 99 }",
    "a response without a statusCode": RESPONSE % "{ statusDescription: 'OK' }",
    "a response whose statusDescription is a number": RESPONSE % "{ statusCode: 200, statusDescription: 7 }",
    "a body encoding other than text or base64": (
        RESPONSE % "{ statusCode: 200, body: { encoding: 'gzip', data: 'x' } }"
    ),
    "a base64 body that is not base64": (
        RESPONSE % "{ statusCode: 200, body: { encoding: 'base64', data: '***' } }"
    ),
    "a body that is a number": RESPONSE % "{ statusCode: 200, body: 5 }",
    "a response adding X-Cache": RESPONSE % "{ statusCode: 200, headers: { 'x-cache': { value: 'Hit' } } }",
    "a response header that is a string": RESPONSE % "{ statusCode: 200, headers: { 'x-a': 'b' } }",
    "a response cookie whose attributes are not a string": (
        RESPONSE % "{ statusCode: 200, cookies: { c: { value: 'v', attributes: 1 } } }"
    ),
}

VALID = {
    "the request as it came": REQUEST % "",
    "a header added": REQUEST % "r.headers['x-custom'] = { value: 'yes' };",
    "repeated header values": REQUEST % "r.headers['x-m'] = { value: 'a', multiValue: [{ value: 'a' }, { value: 'b' }] };",
    "a new uri and query": REQUEST % "r.uri = '/other'; r.querystring = { a: { value: '1' } };",
    "a cookie added": REQUEST % "r.cookies.c = { value: 'v' };",
    "a text body": RESPONSE % "{ statusCode: 503, statusDescription: 'Service Unavailable', body: { encoding: 'text', data: 'down' } }",
    "a base64 body": RESPONSE % "{ statusCode: 200, body: { encoding: 'base64', data: 'ZG93bg==' } }",
    "a plain string body": RESPONSE % "{ statusCode: 200, body: 'down' }",
    "a redirect with cookies": (
        RESPONSE
        % "{ statusCode: 302, headers: { location: { value: '/x' } }, cookies: { c: { value: 'v', attributes: 'Path=/' } } }"
    ),
}

EVENT = {
    "version": "1.0",
    "context": {"eventType": "viewer-request"},
    "viewer": {"ip": "198.51.100.7"},
    "request": {
        "method": "GET",
        "uri": "/",
        "querystring": {"q": {"value": "1"}},
        "headers": {"host": {"value": "d111111abcdef8.cloudfront.net"}, "accept": {"value": "*/*"}},
        "cookies": {},
    },
}


class FunctionResults(EmulatorTest):
    def at_the_edge(self, code):
        origin = self.origin()
        _, arn, _ = self.emulator.function(code)
        behavior = viewer_request_association(arn)
        behavior["OriginRequestPolicyId"] = ALL_VIEWER
        _, domain = self.emulator.distribution(origin.port, behavior)
        status, headers, body = self.emulator.viewer(domain, "GET", "/?q=1", [("Accept", "*/*")])
        return origin, status, headers, body

    def test_an_invalid_result_is_a_502_at_the_edge(self):
        for case, code in INVALID.items():
            with self.subTest(case):
                origin, status, headers, body = self.at_the_edge(code)
                self.assertEqual(status, 502, body)
                self.assertIn(("X-Cache", "FunctionValidationError from cloudfront"), headers)
                self.assertEqual(origin.requests, [])

    def test_an_invalid_result_is_an_error_in_test_function(self):
        for case, code in INVALID.items():
            with self.subTest(case):
                name, _, etag = self.emulator.function(code)
                result = self.emulator.test_function(name, etag, EVENT)
                self.assertTrue(result.get("FunctionErrorMessage"), result)
                self.assertFalse(result.get("FunctionOutput"), result)

    def test_a_valid_result_goes_on_at_the_edge(self):
        for case, code in VALID.items():
            with self.subTest(case):
                origin, status, headers, body = self.at_the_edge(code)
                x_cache = dict(headers).get("X-Cache")
                self.assertIn(
                    x_cache, ("Miss from cloudfront", "FunctionGeneratedResponse from cloudfront"), body
                )

    def test_a_valid_result_is_the_output_of_test_function(self):
        for case, code in VALID.items():
            with self.subTest(case):
                name, _, etag = self.emulator.function(code)
                result = self.emulator.test_function(name, etag, EVENT)
                self.assertFalse(result.get("FunctionErrorMessage"), result)
                self.assertTrue(json.loads(result["FunctionOutput"]))

    def test_what_a_valid_request_changes_reaches_the_origin(self):
        origin, status, _, body = self.at_the_edge(
            REQUEST % "r.headers['x-custom'] = { value: 'yes' }; r.uri = '/other';"
        )
        self.assertEqual(status, 200, body)
        self.assertEqual(origin.header("x-custom"), ["yes"])
        self.assertEqual(origin.last()["path"], "/other?q=1")

    def test_a_viewer_response_function_cannot_change_via(self):
        code = (
            "function handler(event) {\n  var r = event.response;\n"
            "  r.headers.via = { value: '1.1 other' };\n  return r;\n}\n"
        )
        name, _, etag = self.emulator.function(code)
        event = dict(EVENT, context={"eventType": "viewer-response"})
        event["response"] = {"statusCode": 200, "headers": {"via": {"value": "1.1 x.cloudfront.net"}}}
        result = self.emulator.test_function(name, etag, event)
        self.assertTrue(result.get("FunctionErrorMessage"), result)


class MaintsWindowFunction(EmulatorTest):
    """maint's own function (templates/window-function.js, with a small
    config rendered in) passes validation on each of its paths."""

    SECRET = "s3cret"

    def setUp(self):
        import hashlib
        import hmac
        from pathlib import Path

        template = (Path(__file__).resolve().parents[2] / "templates" / "window-function.js").read_text()
        config = {
            "page": {"html": ["<p>", "</p>"], "json": ['{"message":', "}"]},
            "message": "Closed",
            "retryAfter": 300,
            "ipv4": [],
            "ipv6": [],
            "open": ["^/health$"],
            "api": ["^/api/"],
            "bypass": {"param": "maint-bypass", "cookie": "maint_bypass", "maxAge": 3600},
        }
        code = template.replace("__MAINT_CONFIG__", json.dumps(config))
        digest = hashlib.sha256(f"maint-bypass:{self.SECRET}".encode()).hexdigest()
        self.cookie = hmac.new(digest.encode(), b"maint-bypass-cookie", hashlib.sha256).hexdigest()
        store = self.emulator.key_value_store({"state": json.dumps({"on": True}), "bypass": digest})
        _, arn, _ = self.emulator.function(code, kvs_arn=store)
        self.origin_server = self.origin()
        behavior = viewer_request_association(arn)
        behavior["OriginRequestPolicyId"] = ALL_VIEWER
        _, self.domain = self.emulator.distribution(self.origin_server.port, behavior)

    def get(self, path, headers=()):
        status, headers, body = self.emulator.viewer(self.domain, "GET", path, list(headers))
        return status, {k.title(): v for k, v in headers}, body

    def test_each_path(self):
        status, headers, body = self.get("/")
        self.assertEqual(status, 503, body)
        self.assertEqual(headers["X-Cache"], "FunctionGeneratedResponse from cloudfront")
        status, headers, body = self.get("/api/x", [("Accept", "application/json")])
        self.assertEqual((status, headers["Content-Type"]), (503, "application/json"), body)
        status, headers, body = self.get(f"/a?maint-bypass={self.SECRET}&b=1")
        self.assertEqual(status, 302, body)
        self.assertEqual(headers["Location"], "/a?b=1")
        status, _, body = self.get("/", [("Cookie", f"maint_bypass={self.cookie}")])
        self.assertEqual(status, 200, body)
        status, _, body = self.get("/health")
        self.assertEqual(status, 200, body)
        self.assertEqual(len(self.origin_server.requests), 2)
