"""Run the pinned moto server for maint's tests and demo, made more faithful
to AWS where maint depends on it. The code follows AWS; where moto accepts
what AWS refuses, or answers otherwise, this launcher corrects moto. Each
correction cites its source (see also the README's emulator section).

1. Bucket policy: moto evaluates conditions it does not understand as
   matching, so the statement every maint bucket carries,
       Deny s3:* when Bool aws:SecureTransport = "false"
   denies every object call. AWS evaluates that condition against the
   request, and a TLS request (all maint ever sends to AWS) does not match
   it. The emulator treats such a statement as not applying.
2. Origin access controls: AWS keeps names unique in an account (409
   OriginAccessControlAlreadyExists) and at most 64 characters
   (CreateOriginAccessControl: "You can specify up to 64 characters"); a
   delete of one that is gone is 404 NoSuchOriginAccessControl. moto
   accepted duplicates and long names, and answered 500.
3. Custom error responses: AWS accepts only the codes CloudFront can
   customise (400, 403, 404, 405, 414, 416, 500-504) and refuses others with
   400 InvalidErrorCode / InvalidResponseCode; moto stored 999.
4. Function and KeyValueStore names: AWS requires [a-zA-Z0-9-_]{1,64}
   (CreateFunction, CreateKeyValueStore: InvalidArgument).
5. Function stages (emulator/cf_functions.py). A function has a DEVELOPMENT
   and, once published, a LIVE stage, each with its code, config and ETag
   (FunctionMetadata.Stage; DescribeFunction/GetFunction/ListFunctions take
   Stage; "When a function is in the DEVELOPMENT stage, you can test the
   function with TestFunction, and update it with UpdateFunction. When a
   function is in the LIVE stage, you can attach the function to a
   distribution's cache behavior"). moto kept one copy and ignored Stage.
   Asking for LIVE before any publish is 404 NoSuchFunctionExists; with no
   Stage the emulator answers DEVELOPMENT (AWS does not document a default).
   Status: UNPUBLISHED, then UNASSOCIATED, or DEPLOYED while associated
   (the values AWS reports; when exactly it switches is the emulator's
   reading). GetFunction's Content-Type is application/octet-stream
   (GetFunctionResult.ContentType; moto wrote application/xml).
6. UpdateFunction (PUT /2020-05-31/function/{Name}) and PublishFunction
   (POST .../publish), which moto lacks: If-Match is the DEVELOPMENT ETag,
   missing -> 400 InvalidIfMatchVersion, stale -> 412 PreconditionFailed
   (both in the operations' errors). UpdateFunction replaces DEVELOPMENT and
   gives it a new ETag, sent in the header the model names, `ETtag`
   (UpdateFunctionResult); PublishFunction copies DEVELOPMENT to LIVE with a
   new LIVE ETag ("Publishes a CloudFront function by copying the function
   code from the DEVELOPMENT stage to LIVE"). CreateFunction and
   UpdateFunction refuse code over 10 KB with 413 FunctionSizeLimitExceeded
   (CloudFront quotas, "Quotas on CloudFront Functions": function size
   10 KB; tests/function/harness.mjs holds the same limit).
   DeleteFunction: If-Match must be the DEVELOPMENT ETag (moto took any),
   and a function a cache behavior still uses is 409 FunctionInUse.
7. TestFunction (POST .../test), which moto lacks: runs the stage asked for
   (Stage, default DEVELOPMENT) on njs, CloudFront Functions' engine, with
   the event object, the `cloudfront` module stand-in of tests/function
   (cloudfront.js) and the entries of the KeyValueStore the stage's config
   associates; at most 10 s. Without an associated store cf.kvs() throws
   (the helper methods need one: "make sure that you have associated a key
   value store with the function"), as does cf.kvs(id) for another store.
   If-Match must be that stage's ETag, otherwise 400 InvalidIfMatchVersion (TestFunction's errors have no
   PreconditionFailed). The answer is the model's TestResult payload:
   FunctionSummary, ComputeUtilization (an estimate: the handler timed on
   njs against a 1 ms budget, cf_functions.COMPUTE_BUDGET_MS),
   FunctionExecutionLogs (the function's console.log lines),
   FunctionOutput ({"request": ...} when the handler returned the event's
   request, else {"response": ...}) or, when njs refused or failed
   (SyntaxError, exception, crash, time out) or the result fails
   CloudFront's validation (emulator/function_result.py: disallowed and
   read-only headers, statusCode an integer, body encoding text or base64,
   the shapes of the event structure), FunctionErrorMessage.
8. Distributions keep the FunctionAssociations and LambdaFunctionAssociations
   of their cache behaviors (moto read them back as Quantity 0). An
   association must name a published function ("You can only associate
   cache behaviors with functions that are in the LIVE stage"), on
   viewer-request or viewer-response, one per event type, Quantity equal to
   the items: 400 InvalidFunctionAssociation / InconsistentQuantities.
   UpdateDistribution and DeleteDistribution compare If-Match with the
   current ETag (412 PreconditionFailed; moto took any value) and each
   update gives the distribution a new ETag (moto kept the first).
9. DeleteKeyValueStore: If-Match must be the store's ETag (missing -> 400
   InvalidIfMatchVersion, stale -> 412 PreconditionFailed), a store a
   function's config associates is 409 CannotDeleteEntityWhileInUse (all in
   the operation's errors); moto deleted regardless. The store's data goes.
10. The KeyValueStore data plane (emulator/kvs.py; service
   cloudfront-keyvaluestore, restJson1), which moto lacks, on the same port:
   DescribeKeyValueStore, GetKey, PutKey, DeleteKey, ListKeys, UpdateKeys at
   /key-value-stores/{KvsARN}[/keys[/{Key}]], as in the API reference and
   botocore's model. Writes need If-Match = the store's data ETag (missing
   -> 400 ValidationException, stale -> 409 ConflictException) and change
   it; a store the control plane lacks or a missing key -> 404
   ResourceNotFoundException; key over 512 bytes or value over 1 KB -> 400
   ValidationException, a store over 5 MB or UpdateKeys over 50 keys -> 402
   ServiceQuotaExceededException (CloudFront quotas on key value stores;
   the status codes are the model's).
11. A CloudFront request without the If-Match header its operation requires
   (UpdateFunction, PublishFunction, TestFunction, DeleteFunction,
   UpdateKeyValueStore, DeleteKeyValueStore, ...) reached no
   operation in moto, which routes on required headers, and got an empty
   404. AWS answers 400 InvalidIfMatchVersion ("The If-Match version is
   missing or not valid for the resource"), as the emulator now does. (The
   Rust SDK leaves out a header whose value is empty, so this is what an
   empty ETag turns into.)
12. DeleteDistribution of a distribution that is still enabled is 409
   DistributionNotDisabled (DeleteDistribution's errors: "The specified
   CloudFront distribution is not disabled. You must disable the
   distribution before you can delete it"); moto deleted it.
13. A local CloudFront edge (emulator/edge.py), which moto lacks, on the
   same port: a request whose Host is the DomainName of an emulated
   distribution (`curl -H 'Host: d1abc.cloudfront.net' http://127.0.0.1:PORT/`)
   is served as CloudFront serves it from the distribution's config: cache
   behavior by PathPattern, AllowedMethods, the viewer-request CloudFront
   Function (LIVE stage, on njs, with its KeyValueStore), the S3 origin read
   through its Origin Access Control with the bucket policy evaluated, or a
   custom origin on 127.0.0.1/localhost, and CustomErrorResponses. No
   caching, no TLS, no geography. The request header X-Maint-Viewer-Ip sets
   the viewer's address (127.0.0.1 otherwise). Viewer requests are not in
   the request log below and never lose their answer.
14. Invalidations: AWS reports Status InProgress, then Completed
   (GetInvalidation: "When the invalidation batch is finished, the status
   is Completed"; CreateInvalidation answers InProgress). moto answered
   COMPLETED at once. The emulator answers InProgress for a time a test
   sets (POST /maint-api/invalidation-seconds with a number; 0 at start),
   then Completed.
15. Origins keep their OriginAccessControlId (Origin in the API reference:
   "The unique identifier of an origin access control for this origin"),
   which moto dropped: a distribution read back named no OAC.
16. CreateInvalidation with a CallerReference already used on the
   distribution: with the same paths AWS creates nothing and returns the
   invalidation made before; with other paths it answers
   InvalidationBatchAlreadyExists (InvalidationBatch.CallerReference in the
   API reference; the model gives that error no status code, the emulator
   answers 400). moto created a second invalidation, so a retried create
   whose answer was lost looked like two.

17. Cache and origin request policies (emulator/policies.py): a behavior's
   CachePolicyId and OriginRequestPolicyId must name a policy that exists;
   moto has no CreateCachePolicy/CreateOriginRequestPolicy, so only the AWS
   managed ones do (404 NoSuchCachePolicy / NoSuchOriginRequestPolicy
   otherwise; moto accepted any id). An origin request policy needs a cache
   policy, and a behavior without a cache policy needs ForwardedValues (400
   InvalidArgument "The parameter ForwardedValues is required.", AWS's
   message). The edge forwards to a custom origin only what the policies (or
   the legacy ForwardedValues) forward.

Tests can also make the emulator lose an answer: POST /maint-api/lose-answer
with `METHOD PATH-REGEX` makes the next matching request take effect and
then answer 500, as when a response is lost on the way back and the SDK
retries a create that succeeded. For IAM and STS, whose calls are all
`POST /`, the regex may also name the Action: `/ CreateRole`.

Tests can also kill the client mid-run: POST /maint-api/kill-after with
`K PIDFILE` makes the K-th API request from then on take effect, then sends
SIGKILL to the process whose id PIDFILE holds before answering, as when a
laptop dies or a CI runner is cancelled at the worst moment.

Tests can prove that two requests were in flight at once, whatever the
timing, with two hooks (how each ended is listed, one per line, by GET
/maint-api/holds):
- POST /maint-api/pair with `METHOD REGEX METHOD REGEX`: the next request
  matching either pair waits (up to 30 s) for one matching the other; both
  then go on (`met`). A client that sends one only after the other's answer
  always gets `timed out`, in either order.
- POST /maint-api/hold with `METHOD REGEX UNTIL-METHOD UNTIL-REGEX`: the
  next request matching the first pair waits (up to 30 s) until a request
  matching the second arrives while it waits and has been served
  (`released`); so the second takes effect first. A request that arrived
  and was served before the held one arrived does not count.

It can record every request it receives, one `METHOD /path?query` line each,
in the file named by MAINT_EMULATOR_REQUEST_LOG: tests use that record to
prove, for instance, that a converged `maint provision` sends no write, and
that `maint grant`'s policies allow exactly what each command sends. A
query-protocol call (STS, IAM: all `POST /`) gets its Action appended:
`POST / GetCallerIdentity`. POST /maint-api/latency with a number of
milliseconds delays every API request by that much from then on, as a
network round trip to AWS would (scripts/bench; 0 at start).
MAINT_EMULATOR_REQUEST_TIMES names a second
log with the time each request arrived (`SECONDS METHOD /path`), for
scripts/bench to measure how late a wait notices a change.

Usage: python emulator/server.py --port PORT [moto_server options]
"""

import io
import os
import re
import sys
import threading
import time
import urllib.parse


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True  # no emulator/__pycache__ in the work tree
from corrections import s3  # noqa: E402

s3.install()  # 1. (corrections/s3.py)

# 2-17 but 13: CloudFront's control plane (corrections/cloudfront.py), its
# functions (corrections/cloudfront_functions.py) and KeyValueStores, with
# the data plane routed in _app below (corrections/kvs.py).
import edge  # noqa: E402
from corrections import cloudfront, cloudfront_functions, kvs  # noqa: E402

kvs.install()
cloudfront_functions.install(os.environ.get("MAINT_NJS"), os.environ.get("MAINT_TESTFUNCTION_NJS"))
cloudfront.install()  # after kvs and cloudfront_functions: its If-Match guard skips what they replaced
edge.install()  # 13. the local CloudFront edge, routed in _app below


# The request log and lost answers, around moto's WSGI application.
from moto.moto_server import werkzeug_app  # noqa: E402

_log_path = os.environ.get("MAINT_EMULATOR_REQUEST_LOG")
_times_path = os.environ.get("MAINT_EMULATOR_REQUEST_TIMES")
_lock = threading.Lock()
_lose = []  # [method, compiled path regex], each used once
_latency = [0.0]  # seconds added to each API request
_kill = []  # [requests left, pid file], at most one


class _Hold:
    """One hold or pair (see the docstring): `sides` are (method, regex)."""

    def __init__(self, kind, spec):
        m1, r1, m2, r2 = spec.split()
        self.kind = kind
        self.sides = [(m1, re.compile(r1)), (m2, re.compile(r2))]
        self.arrived = [False, False]
        self.event = threading.Event()
        self.holding = False

    def matches(self, side, method, path):
        m, r = self.sides[side]
        return m == method and bool(r.fullmatch(path))


_holds = []  # active _Hold objects
_held = []  # how each ended


def _hold_arrival(method, path):
    """At a request's arrival: (the hold it must wait on, the holds it
    releases once served)."""
    wait, releases = None, []
    with _lock:
        for h in _holds:
            if h.kind == "pair":
                for side in (0, 1):
                    if not h.arrived[side] and h.matches(side, method, path):
                        h.arrived[side] = True
                        if all(h.arrived):
                            h.event.set()
                        elif wait is None:
                            wait = h
                        break
            elif wait is None and not h.holding and h.matches(0, method, path):
                h.holding = True
                wait = h
            elif h.holding and h.matches(1, method, path):
                releases.append(h)
    return wait, releases


def _hold_wait(h):
    met = h.event.wait(30)
    with _lock:
        if h in _holds:
            _holds.remove(h)
        _held.append(("met" if h.kind == "pair" else "released") if met else "timed out")
_dispatch = werkzeug_app.DomainDispatcherApplication.__call__

_LOST = (
    b'<?xml version="1.0"?><ErrorResponse><Error><Type>Receiver</Type>'
    b"<Code>InternalError</Code><Message>The answer was lost (maint emulator).</Message>"
    b"</Error></ErrorResponse>"
)


def _query_action(environ):
    """The Action of a query-protocol call (STS, IAM: every one is `POST /`),
    read from the form body, which is put back for moto to read again."""
    if environ.get("REQUEST_METHOD") != "POST" or environ.get("PATH_INFO") != "/":
        return ""
    if "x-www-form-urlencoded" not in environ.get("CONTENT_TYPE", ""):
        return ""
    size = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(size)
    environ["wsgi.input"] = io.BytesIO(body)
    fields = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
    return fields.get("Action", [""])[0]


def _serve(self, environ, start_response):
    routed = kvs.route(environ)  # 10. the KeyValueStore data plane
    if routed:
        return kvs.handle(environ, start_response, routed)
    return _dispatch(self, environ, start_response)


def _kill_client(pid_file):
    """SIGKILL to the process whose id `pid_file` holds (waiting up to 2 s
    for the test to have written it)."""
    import signal

    for _ in range(200):
        try:
            with open(pid_file, encoding="utf-8") as f:
                text = f.read().strip()
            if text:
                os.kill(int(text), signal.SIGKILL)
                return
        except (OSError, ValueError):
            pass
        time.sleep(0.01)


def _app(self, environ, start_response):
    viewed = edge.route(environ)  # 13. a viewer request, not an API call: not logged
    if viewed:
        return edge.handle(environ, start_response, viewed)
    method = environ.get("REQUEST_METHOD")
    path = environ.get("PATH_INFO", "")
    if path == "/maint-api/invalidation-seconds" and method == "POST":
        size = int(environ.get("CONTENT_LENGTH") or 0)
        cloudfront.set_invalidation_seconds(float(environ["wsgi.input"].read(size).decode().strip()))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok\n"]
    if path == "/maint-api/latency" and method == "POST":
        size = int(environ.get("CONTENT_LENGTH") or 0)
        _latency[0] = float(environ["wsgi.input"].read(size).decode().strip()) / 1000
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok\n"]
    if path == "/maint-api/kill-after" and method == "POST":
        size = int(environ.get("CONTENT_LENGTH") or 0)
        count, pid_file = environ["wsgi.input"].read(size).decode().split(" ", 1)
        with _lock:
            _kill[:] = [int(count), pid_file.strip()]
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok\n"]
    if path in ("/maint-api/hold", "/maint-api/pair") and method == "POST":
        size = int(environ.get("CONTENT_LENGTH") or 0)
        spec = environ["wsgi.input"].read(size).decode()
        with _lock:
            _holds.append(_Hold(path.rsplit("/", 1)[1], spec))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok\n"]
    if path == "/maint-api/holds" and method == "GET":
        with _lock:
            body = "".join(f"{h}\n" for h in _held).encode()
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
        return [body]
    if path == "/maint-api/lose-answer" and method == "POST":
        size = int(environ.get("CONTENT_LENGTH") or 0)
        rule = environ["wsgi.input"].read(size).decode().split(" ", 1)
        with _lock:
            _lose.append([rule[0], re.compile(rule[1].strip())])
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok\n"]
    if _latency[0] and not path.startswith("/moto-api"):
        time.sleep(_latency[0])
    action = _query_action(environ)
    # Before the log line: a test that sees it may count on the hold.
    hold, releases = (None, []) if path.startswith("/moto-api") else _hold_arrival(method, path)
    if _log_path and not path.startswith("/moto-api"):
        query = environ.get("QUERY_STRING", "")
        with _lock, open(_log_path, "a", encoding="utf-8") as log:
            log.write(f"{method} {path}{'?' + query if query else ''}{' ' + action if action else ''}\n")
    if _times_path and not path.startswith("/moto-api"):
        with _lock, open(_times_path, "a", encoding="utf-8") as log:
            log.write(f"{time.time():.6f} {method} {path}\n")
    # A rule's regex matches the path, or the path and the query-protocol
    # Action (`/ CreateRole`).
    targets = [path] + ([f"{path} {action}"] if action else [])
    with _lock:
        rule = next(
            (r for r in _lose if r[0] == method and any(r[1].fullmatch(t) for t in targets)),
            None,
        )
        if rule:
            _lose.remove(rule)
    if hold:
        _hold_wait(hold)
    kill_now = None
    if not path.startswith("/moto-api"):
        with _lock:
            if _kill:
                _kill[0] -= 1
                if _kill[0] == 0:
                    kill_now = _kill[1]
                    _kill.clear()
    if kill_now:
        # Let the request take effect, then kill the client before it hears.
        for _ in _serve(self, environ, lambda *args, **kwargs: None):
            pass
        for h in releases:
            h.event.set()
        _kill_client(kill_now)
        start_response("500 Internal Server Error", [("Content-Type", "text/xml")])
        return [_LOST]
    if not rule:
        answer = _serve(self, environ, start_response)
        for h in releases:  # served: a request held until now may go on
            h.event.set()
        return answer
    # Let the request take effect, then answer as if the answer was lost.
    for _ in _serve(self, environ, lambda *args, **kwargs: None):
        pass
    for h in releases:
        h.event.set()
    start_response("500 Internal Server Error", [("Content-Type", "text/xml")])
    return [_LOST]


werkzeug_app.DomainDispatcherApplication.__call__ = _app

if __name__ == "__main__":
    from moto.server import main

    main(sys.argv[1:])
