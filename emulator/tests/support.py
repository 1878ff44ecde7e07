"""What the emulator's own tests share: the emulator as a child process (as
the Rust tests start it), boto3 clients on it, a viewer that talks to its
edge, and a local origin that records what reaches it.

Run from the repository root (docs/emulator.md):
    target/emulator-venv/bin/python -B -m unittest discover -s emulator/tests
"""

import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
import unittest
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import boto3
from botocore.config import Config

EMULATOR = Path(__file__).resolve().parent.parent
SERVER = EMULATOR / "server.py"

# AWS managed policies ("Use managed cache policies", "Use managed origin
# request policies" in the CloudFront Developer Guide).
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
ALL_VIEWER = "216adef6-5c7f-47e4-b989-5492eafa07d3"
ALL_VIEWER_EXCEPT_HOST = "b689b0a8-53d0-40ab-baf2-68738e2966ac"
CORS_S3_ORIGIN = "88a5eaf4-2fd4-4709-b370-b4c650ea3fcf"
USER_AGENT_REFERER = "acba4595-bd28-49b8-b9fe-13317c0390fa"

ALL_METHODS = ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


class Emulator:
    """emulator/server.py on a free loopback port, until stop()."""

    def __init__(self):
        for _ in range(3):
            self.port = free_port()
            self.process = subprocess.Popen(
                [sys.executable, str(SERVER), "-H", "127.0.0.1", "-p", str(self.port)],
                stdout=subprocess.DEVNULL,
                stderr=None if os.environ.get("EMULATOR_STDERR") else subprocess.DEVNULL,
                env={**os.environ, "AWS_DEFAULT_REGION": "us-east-1"},
            )
            if self._ready():
                self.url = f"http://127.0.0.1:{self.port}"
                return
            self.stop()
        raise RuntimeError("the emulator did not start on a free port")

    def _ready(self):
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/moto-api/")
                conn.getresponse().read()
                conn.close()
                return True
            except OSError:
                time.sleep(0.1)
        return False

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def client(self, service):
        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"}),
        )

    # --- the edge --------------------------------------------------------

    def viewer(self, domain, method="GET", path="/", headers=(), body=b""):
        """One viewer request to a distribution: (status, headers, body);
        headers are a list of (name, value) pairs, as sent."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", domain)
        for name, value in headers:
            conn.putheader(name, value)
        if body:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body or None)
        response = conn.getresponse()
        data = response.read()
        conn.close()
        return response.status, response.getheaders(), data

    # --- CloudFront Functions and KeyValueStore ------------------------------

    def function(self, code, kvs_arn=None, name=None):
        """A published cloudfront-js-2.0 function: (name, ARN, DEVELOPMENT ETag)."""
        cf = self.client("cloudfront")
        name = name or unique("fn")
        config = {"Comment": "", "Runtime": "cloudfront-js-2.0"}
        if kvs_arn:
            config["KeyValueStoreAssociations"] = {
                "Quantity": 1,
                "Items": [{"KeyValueStoreARN": kvs_arn}],
            }
        made = cf.create_function(Name=name, FunctionConfig=config, FunctionCode=code.encode())
        etag = made["ETag"]
        cf.publish_function(Name=name, IfMatch=etag)
        return name, made["FunctionSummary"]["FunctionMetadata"]["FunctionARN"], etag

    def test_function(self, name, etag, event):
        cf = self.client("cloudfront")
        result = cf.test_function(
            Name=name, IfMatch=etag, Stage="DEVELOPMENT", EventObject=json.dumps(event).encode()
        )
        return result["TestResult"]

    def key_value_store(self, entries):
        """A store holding `entries` (key -> string): its ARN."""
        cf = self.client("cloudfront")
        store = cf.create_key_value_store(Name=unique("kvs"))["KeyValueStore"]
        arn = store["ARN"]
        path = "/key-value-stores/" + urllib.parse.quote(arn, safe="")
        status, headers, _ = self._raw("GET", path)
        etag = dict((k.lower(), v) for k, v in headers)["etag"]
        for key, value in entries.items():
            status, headers, body = self._raw(
                "PUT",
                f"{path}/keys/{urllib.parse.quote(key, safe='')}",
                json.dumps({"Value": value}).encode(),
                {"If-Match": etag, "Content-Type": "application/json"},
            )
            assert status == 200, body
            etag = dict((k.lower(), v) for k, v in headers)["etag"]
        return arn

    def _raw(self, method, path, body=b"", headers=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        conn.request(method, path, body=body or None, headers=headers or {})
        response = conn.getresponse()
        data = response.read()
        conn.close()
        return response.status, response.getheaders(), data

    # --- distributions ---------------------------------------------------

    def distribution(self, origin_port=None, behavior=None, error_responses=None, origins=None,
                     behaviors=None):
        """A distribution with one custom origin on 127.0.0.1:origin_port
        (id "web"), the default behavior updated with `behavior`: (id, domain)."""
        cf = self.client("cloudfront")
        default = {
            "TargetOriginId": "web",
            "ViewerProtocolPolicy": "allow-all",
            "CachePolicyId": CACHING_DISABLED,
            "AllowedMethods": {
                "Quantity": 7,
                "Items": ALL_METHODS,
                "CachedMethods": {"Quantity": 2, "Items": ["GET", "HEAD"]},
            },
        }
        default.update(behavior or {})
        if origins is None:
            origins = [
                {
                    "Id": "web",
                    "DomainName": "127.0.0.1",
                    "CustomOriginConfig": {
                        "HTTPPort": origin_port,
                        "HTTPSPort": 443,
                        "OriginProtocolPolicy": "http-only",
                    },
                }
            ]
        config = {
            "CallerReference": unique("ref"),
            "Comment": "emulator test",
            "Enabled": True,
            "Origins": {"Quantity": len(origins), "Items": origins},
            "DefaultCacheBehavior": default,
        }
        if behaviors:
            config["CacheBehaviors"] = {"Quantity": len(behaviors), "Items": behaviors}
        if error_responses:
            config["CustomErrorResponses"] = {
                "Quantity": len(error_responses),
                "Items": error_responses,
            }
        dist = cf.create_distribution(DistributionConfig=config)["Distribution"]
        return dist["Id"], dist["DomainName"]


def viewer_request_association(arn):
    return {
        "FunctionAssociations": {
            "Quantity": 1,
            "Items": [{"FunctionARN": arn, "EventType": "viewer-request"}],
        }
    }


class Origin:
    """A custom origin on 127.0.0.1 that records each request it receives
    (method, path with query, headers as pairs, body) and answers from
    `answers` (path without query -> (status, headers, body)), else 200."""

    def __init__(self, answers=None):
        self.requests = []
        self.answers = dict(answers or {})
        origin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _serve(self):
                size = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(size) if size else b""
                origin.requests.append(
                    {
                        "method": self.command,
                        "path": self.path,
                        "headers": list(self.headers.items()),
                        "body": body,
                    }
                )
                status, headers, data = origin.answers.get(
                    self.path.split("?", 1)[0], (200, [("Content-Type", "text/plain")], b"origin")
                )
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Connection", "close")
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _serve

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def last(self):
        return self.requests[-1]

    def header(self, name, request=None):
        """Every value of header `name` in the request (the last by default)."""
        request = request or self.last()
        return [v for k, v in request["headers"] if k.lower() == name.lower()]


class EmulatorTest(unittest.TestCase):
    """One emulator for the whole class."""

    @classmethod
    def setUpClass(cls):
        cls.emulator = Emulator()

    @classmethod
    def tearDownClass(cls):
        cls.emulator.stop()

    def origin(self, answers=None):
        origin = Origin(answers)
        self.addCleanup(origin.stop)
        return origin
