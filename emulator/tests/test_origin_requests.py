"""A custom origin receives only what the behavior's policies forward
(emulator/policies.py): "Other information from the viewer request, such as
URL query strings, HTTP headers, and cookies, is not included in the origin
request by default" (Control origin requests with a policy,
https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/controlling-origin-requests.html)."""

import botocore.exceptions

from support import (
    ALL_VIEWER,
    ALL_VIEWER_EXCEPT_HOST,
    CACHING_DISABLED,
    CACHING_OPTIMIZED,
    CORS_S3_ORIGIN,
    USER_AGENT_REFERER,
    EmulatorTest,
)

VIEWER_HEADERS = [
    ("X-Custom", "mine"),
    ("User-Agent", "curl/8"),
    ("Referer", "https://example.com/"),
    ("Origin", "https://example.com"),
    ("Accept", "text/html"),
    ("Accept-Encoding", "gzip, deflate, br"),
    ("Authorization", "Bearer t"),
    ("Cookie", "session=abc; theme=dark"),
    ("X-Forwarded-For", "203.0.113.1"),
    ("X-Maint-Viewer-Ip", "198.51.100.9"),
]


class OriginRequests(EmulatorTest):
    def received(self, behavior, path="/page?a=1&b=2", method="GET", headers=VIEWER_HEADERS):
        origin = self.origin()
        _, domain = self.emulator.distribution(origin.port, behavior)
        status, _, body = self.emulator.viewer(domain, method, path, headers)
        self.assertEqual(status, 200, body)
        return origin, domain

    def test_caching_optimized_alone_forwards_no_viewer_value(self):
        origin, _ = self.received({"CachePolicyId": CACHING_OPTIMIZED})
        got = origin.last()
        self.assertEqual(got["path"], "/page")
        self.assertEqual(origin.header("x-custom"), [])
        self.assertEqual(origin.header("cookie"), [])
        self.assertEqual(origin.header("referer"), [])
        self.assertEqual(origin.header("authorization"), [])
        self.assertEqual(origin.header("accept"), [])
        self.assertEqual(origin.header("user-agent"), ["Amazon CloudFront"])
        self.assertEqual(origin.header("host"), [f"127.0.0.1:{origin.port}"])
        self.assertEqual(origin.header("accept-encoding"), ["br,gzip"])
        # Always added by CloudFront.
        self.assertEqual(origin.header("x-forwarded-for"), ["203.0.113.1, 198.51.100.9"])
        self.assertTrue(origin.header("x-amz-cf-id"))
        self.assertTrue(origin.header("via")[0].endswith("(CloudFront)"))

    def test_caching_disabled_sends_no_accept_encoding(self):
        origin, _ = self.received({"CachePolicyId": CACHING_DISABLED})
        self.assertEqual(origin.header("accept-encoding"), [])
        self.assertEqual(origin.last()["path"], "/page")

    def test_all_viewer_forwards_everything_but_what_cloudfront_replaces(self):
        origin, domain = self.received({"CachePolicyId": CACHING_DISABLED, "OriginRequestPolicyId": ALL_VIEWER})
        self.assertEqual(origin.last()["path"], "/page?a=1&b=2")
        self.assertEqual(origin.header("x-custom"), ["mine"])
        self.assertEqual(origin.header("cookie"), ["session=abc; theme=dark"])
        self.assertEqual(origin.header("authorization"), ["Bearer t"])
        self.assertEqual(origin.header("user-agent"), ["curl/8"])
        self.assertEqual(origin.header("host"), [domain], "AllViewer forwards the viewer's Host")
        self.assertEqual(origin.header("x-maint-viewer-ip"), [])

    def test_all_viewer_except_host_sends_the_origins_host(self):
        origin, _ = self.received(
            {"CachePolicyId": CACHING_DISABLED, "OriginRequestPolicyId": ALL_VIEWER_EXCEPT_HOST}
        )
        self.assertEqual(origin.header("host"), [f"127.0.0.1:{origin.port}"])
        self.assertEqual(origin.header("x-custom"), ["mine"])
        self.assertEqual(origin.last()["path"], "/page?a=1&b=2")

    def test_a_whitelist_forwards_only_its_headers(self):
        origin, _ = self.received({"CachePolicyId": CACHING_DISABLED, "OriginRequestPolicyId": USER_AGENT_REFERER})
        self.assertEqual(origin.header("user-agent"), ["curl/8"])
        self.assertEqual(origin.header("referer"), ["https://example.com/"])
        self.assertEqual(origin.header("x-custom"), [])
        self.assertEqual(origin.header("origin"), [])
        self.assertEqual(origin.header("cookie"), [])
        self.assertEqual(origin.last()["path"], "/page")
        origin, _ = self.received({"CachePolicyId": CACHING_DISABLED, "OriginRequestPolicyId": CORS_S3_ORIGIN})
        self.assertEqual(origin.header("origin"), ["https://example.com"])
        self.assertEqual(origin.header("user-agent"), ["Amazon CloudFront"])

    def test_legacy_forwarded_values(self):
        behavior = {
            "CachePolicyId": "",
            "ForwardedValues": {
                "QueryString": True,
                "Cookies": {"Forward": "whitelist", "WhitelistedNames": {"Quantity": 1, "Items": ["theme"]}},
                "Headers": {"Quantity": 1, "Items": ["Referer"]},
            },
            "MinTTL": 0,
        }
        origin, _ = self.received(behavior)
        self.assertEqual(origin.last()["path"], "/page?a=1&b=2")
        self.assertEqual(origin.header("cookie"), ["theme=dark"])
        self.assertEqual(origin.header("referer"), ["https://example.com/"], "named")
        self.assertEqual(origin.header("x-custom"), ["mine"], "other headers are forwarded")
        self.assertEqual(origin.header("accept"), [], "removed unless named")
        self.assertEqual(origin.header("authorization"), [], "removed for GET")
        self.assertEqual(origin.header("user-agent"), ["Amazon CloudFront"])
        self.assertEqual(origin.header("host"), [f"127.0.0.1:{origin.port}"])

    def test_legacy_forwarding_of_nothing(self):
        behavior = {"CachePolicyId": "", "ForwardedValues": {"QueryString": False, "Cookies": {"Forward": "none"}}}
        origin, _ = self.received(behavior)
        self.assertEqual(origin.last()["path"], "/page")
        self.assertEqual(origin.header("cookie"), [])

    def test_a_policy_the_emulator_does_not_have_is_refused(self):
        for behavior, code in (
            ({"CachePolicyId": "11111111-2222-3333-4444-555555555555"}, "NoSuchCachePolicy"),
            (
                {"CachePolicyId": CACHING_DISABLED, "OriginRequestPolicyId": "11111111-2222-3333-4444-555555555555"},
                "NoSuchOriginRequestPolicy",
            ),
            ({"CachePolicyId": "", "OriginRequestPolicyId": ALL_VIEWER}, "InvalidArgument"),
            ({"CachePolicyId": ""}, "InvalidArgument"),
        ):
            with self.subTest(code=code, behavior=behavior):
                with self.assertRaises(botocore.exceptions.ClientError) as caught:
                    self.emulator.distribution(1, behavior)
                self.assertEqual(caught.exception.response["Error"]["Code"], code)
