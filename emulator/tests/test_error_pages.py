"""Custom error responses whose page cannot be had: "If you configure
CloudFront to return a custom error page for an HTTP status code but the
custom error page isn't available, CloudFront returns to the viewer the
status code that CloudFront received from the origin that contains the
custom error pages" (Generate custom error responses,
https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/custom-error-pages.html),
not the status of the request that failed first."""

from support import CACHING_DISABLED, EmulatorTest, free_port

PAGE = "/errors/maintenance.html"


def error_response(code, response_code="503"):
    return {
        "ErrorCode": code,
        "ResponsePagePath": PAGE,
        "ResponseCode": response_code,
        "ErrorCachingMinTTL": 10,
    }


class ErrorPages(EmulatorTest):
    def distribution(self, answers):
        origin = self.origin(answers)
        _, domain = self.emulator.distribution(origin.port, error_responses=[error_response(404)])
        return origin, domain

    def test_the_page_replaces_the_origins_error(self):
        _, domain = self.distribution(
            {"/missing": (404, [], b"nope"), PAGE: (200, [("Content-Type", "text/html")], b"<p>page</p>")}
        )
        status, _, body = self.emulator.viewer(domain, "GET", "/missing")
        self.assertEqual((status, body), (503, b"<p>page</p>"))

    def test_a_missing_page_gives_the_status_of_its_own_fetch(self):
        for page_status in (403, 404, 500, 503):
            with self.subTest(page_status):
                _, domain = self.distribution(
                    {"/missing": (404, [], b"nope"), PAGE: (page_status, [], b"page fetch failed")}
                )
                status, _, body = self.emulator.viewer(domain, "GET", "/missing")
                self.assertEqual(status, page_status, body)
                self.assertEqual(body, b"page fetch failed")

    def test_an_unreachable_page_origin_gives_its_error(self):
        origin = self.origin({"/missing": (404, [], b"nope")})
        closed = free_port()  # nothing listens there
        origins = [
            {
                "Id": "web",
                "DomainName": "127.0.0.1",
                "CustomOriginConfig": {"HTTPPort": origin.port, "HTTPSPort": 443, "OriginProtocolPolicy": "http-only"},
            },
            {
                "Id": "pages",
                "DomainName": "localhost",
                "CustomOriginConfig": {"HTTPPort": closed, "HTTPSPort": 443, "OriginProtocolPolicy": "http-only"},
            },
        ]
        pages = {
            "PathPattern": "/errors/*",
            "TargetOriginId": "pages",
            "ViewerProtocolPolicy": "allow-all",
            "CachePolicyId": CACHING_DISABLED,
        }
        _, domain = self.emulator.distribution(
            origins=origins, behaviors=[pages], error_responses=[error_response(404)]
        )
        status, headers, _ = self.emulator.viewer(domain, "GET", "/missing")
        self.assertEqual(status, 502)
        self.assertIn(("X-Cache", "Error from cloudfront"), headers)
