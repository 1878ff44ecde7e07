"""The front of moto's WSGI application: where each request goes, and the
hooks the tests use to stage what AWS would do at the worst moment.

Routing, in order:
1. A viewer request (Host is an emulated distribution's DomainName) goes to
   the edge (edge.py): not logged, never delayed, never loses its answer.
2. The hooks below (POST/GET /maint-api/...) answer themselves.
3. Every other request is an API call: it is delayed, logged, held, paired,
   loses its answer or kills its client as the hooks say, and is served by
   the KeyValueStore data plane (corrections/kvs.py, a path under
   /key-value-stores/ signed for cloudfront-keyvaluestore) or by moto.
   /moto-api/... (moto's own plumbing, e.g. the readiness probe and
   state-manager transitions) is neither delayed, logged, held nor counted.

POST /maint-api/invalidation-seconds with a number makes the invalidations
created from then on stay InProgress that many seconds
(corrections/cloudfront.py, 8; 0 at start).

Tests can make the emulator lose an answer: POST /maint-api/lose-answer
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

The emulator can record every API request it receives, one
`METHOD /path?query` line each, in the file named by
MAINT_EMULATOR_REQUEST_LOG: tests use that record to prove, for instance,
that a converged `maint provision` sends no write, and that `maint grant`'s
policies allow exactly what each command sends. A query-protocol call (STS,
IAM: all `POST /`) gets its Action appended: `POST / GetCallerIdentity`.
MAINT_EMULATOR_REQUEST_TIMES names a second log with the time each request
arrived (`SECONDS METHOD /path`), for scripts/bench to measure how late a
wait notices a change. POST /maint-api/latency with a number of
milliseconds delays every API request by that much from then on, as a
network round trip to AWS would (scripts/bench; 0 at start).

Patched (install): moto.moto_server.werkzeug_app.DomainDispatcherApplication.__call__.
"""

import io
import os
import re
import threading
import time
import urllib.parse

import edge
from corrections import cloudfront, kvs
from corrections.common import patch

_log_path = None  # MAINT_EMULATOR_REQUEST_LOG: set by install()
_times_path = None  # MAINT_EMULATOR_REQUEST_TIMES: set by install()
_dispatch = None  # moto's DomainDispatcherApplication.__call__: set by install()
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
    if path == "/maint-api/pid" and method == "GET":
        # Which process answers: a harness that picked a port another
        # emulator holds must not take that one's answers for its own.
        body = f"{os.getpid()}\n".encode()
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
        return [body]
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


def install(request_log=None, request_times=None):
    """`request_log`, `request_times`: the files named by
    MAINT_EMULATOR_REQUEST_LOG and MAINT_EMULATOR_REQUEST_TIMES, or None."""
    global _log_path, _times_path, _dispatch
    from moto.moto_server import werkzeug_app

    _log_path = request_log
    _times_path = request_times
    _dispatch = werkzeug_app.DomainDispatcherApplication.__call__
    patch(werkzeug_app.DomainDispatcherApplication, "__call__", _app)

