"""njs 0.7.9's console.log cuts a line at 2048 bytes, and the driver printed
the whole result on one line: a generated page over 2 KB (maint's window page
is one) reached the edge as a function error. The result now comes in parts."""

import json

from support import EmulatorTest, viewer_request_association

PAGE = "<p>" + "é" * 3000 + "</p>"  # 6 KB in UTF-8
CODE = (
    "function handler(event) {\n  return { statusCode: 503, headers: { 'content-type': { value: 'text/html' } },"
    " body: { encoding: 'text', data: '<p>' + '\u00e9'.repeat(3000) + '</p>' } };\n}\n"
)

EVENT = {
    "version": "1.0",
    "context": {"eventType": "viewer-request"},
    "viewer": {"ip": "198.51.100.7"},
    "request": {"method": "GET", "uri": "/", "querystring": {}, "headers": {}, "cookies": {}},
}


class LongOutput(EmulatorTest):
    def test_a_long_page_reaches_the_viewer(self):
        origin = self.origin()
        _, arn, _ = self.emulator.function(CODE)
        _, domain = self.emulator.distribution(origin.port, viewer_request_association(arn))
        status, headers, body = self.emulator.viewer(domain, "GET", "/")
        self.assertEqual(status, 503)
        self.assertIn(("X-Cache", "FunctionGeneratedResponse from cloudfront"), headers)
        self.assertEqual(body.decode(), PAGE)

    def test_a_long_page_is_the_output_of_test_function(self):
        name, _, etag = self.emulator.function(CODE)
        result = self.emulator.test_function(name, etag, EVENT)
        self.assertFalse(result.get("FunctionErrorMessage"), result)
        self.assertEqual(json.loads(result["FunctionOutput"])["response"]["body"]["data"], PAGE)
