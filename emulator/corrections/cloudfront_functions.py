"""CloudFront Functions as AWS runs them, over moto's single-stage functions.

1. Names: AWS requires [a-zA-Z0-9-_]{1,64} (CreateFunction:
   InvalidArgument); moto took any.
2. Stages. A function has a DEVELOPMENT and, once published, a LIVE stage,
   each with its code, config and ETag (FunctionMetadata.Stage;
   DescribeFunction/GetFunction/ListFunctions take Stage; "When a function
   is in the DEVELOPMENT stage, you can test the function with TestFunction,
   and update it with UpdateFunction. When a function is in the LIVE stage,
   you can attach the function to a distribution's cache behavior"). moto
   kept one copy and ignored Stage. Here moto's own fields (config, code,
   etag, last_modified_time) are the DEVELOPMENT stage, and `function.live`
   holds the LIVE stage once PublishFunction made one (None before). Asking
   for LIVE before any publish is 404 NoSuchFunctionExists; with no Stage
   the emulator answers DEVELOPMENT (AWS does not document a default).
   Status: UNPUBLISHED, then UNASSOCIATED, or DEPLOYED while associated (the
   values AWS reports; when exactly it switches is the emulator's reading).
   GetFunction's Content-Type is application/octet-stream
   (GetFunctionResult.ContentType; moto wrote application/xml).
3. UpdateFunction (PUT /2020-05-31/function/{Name}) and PublishFunction
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
4. TestFunction (POST .../test), which moto lacks: runs the stage asked for
   (Stage, default DEVELOPMENT) on njs, CloudFront Functions' engine, with
   the event object, the `cloudfront` module stand-in of tests/function
   (templates/cloudfront-module.js) and the entries of the KeyValueStore the stage's config
   associates; at most 10 s. Without an associated store cf.kvs() throws
   (the helper methods need one: "make sure that you have associated a key
   value store with the function"), as does cf.kvs(id) for another store.
   If-Match must be that stage's ETag, otherwise 400 InvalidIfMatchVersion
   (TestFunction's errors have no PreconditionFailed). The answer is the
   model's TestResult payload: FunctionSummary, ComputeUtilization (an
   estimate: the handler timed on njs against a 1 ms budget,
   COMPUTE_BUDGET_MS), FunctionExecutionLogs (the function's console.log
   lines), FunctionOutput ({"request": ...} when the handler returned the
   event's request, else {"response": ...}) or, when njs refused or failed
   (SyntaxError, exception, crash, time out) or the result fails
   CloudFront's validation (function_result.py: disallowed and read-only
   headers, statusCode an integer, body encoding text or base64, the shapes
   of the event structure), FunctionErrorMessage.

Used elsewhere: check_associations (cloudfront.py 4: what a distribution's
FunctionAssociations may name), run_on_njs and check (the edge runs a
function's LIVE stage with them). The engine is `njs` on PATH, MAINT_NJS,
and for TestFunction only MAINT_TESTFUNCTION_NJS (server.py reads them and
passes them to install()).

Patched (install): CloudFrontFunction.__init__; CloudFrontBackend.create_function,
update_function, publish_function, delete_function, test_function;
CloudFrontResponse.describe_function, get_function, list_functions,
create_function, update_function, publish_function, delete_function,
test_function; two routes in moto.cloudfront.urls.url_paths (publish, test).
"""

import copy
import json
import math
import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from moto.cloudfront import models as cloudfront
from moto.cloudfront import urls as cloudfront_urls
from moto.cloudfront.exceptions import NoSuchFunctionExists
from moto.cloudfront.models import random_id
from moto.cloudfront.responses import CloudFrontResponse
from moto.core.responses import ActionResult, EmptyResult
from moto.core.utils import utcnow

import function_result
from corrections import kvs
from corrections.common import NAME, list_of, patch, patch_item, patch_response
from corrections.common import error as _error
from corrections.common import invalid_if_match as _invalid_if_match
from corrections.common import precondition_failed as _precondition_failed

Backend = cloudfront.CloudFrontBackend
DEV, LIVE = "DEVELOPMENT", "LIVE"

# CloudFront quotas, "Quotas on CloudFront Functions": maximum function size 10 KB.
FUNCTION_MAX_BYTES = 10 * 1024
# TestFunction's EventObject: at most 40960 bytes (the model's FunctionEventObject).
EVENT_MAX_BYTES = 40960

# The engine functions run on (MAINT_NJS), and the one TestFunction runs on
# when it should differ from the edge's (MAINT_TESTFUNCTION_NJS): a test
# swaps in an engine that fails some paths to show what `attach` does when
# CloudFront's engine refuses code that njs accepts. Set by install().
NJS = "njs"
TEST_NJS = NJS
NJS_TIMEOUT_S = 10
# The stand-in for the runtime's `cloudfront` module that the project's own
# function tests use (templates/cloudfront-module.js): one source for both.
STAND_IN = Path(__file__).resolve().parents[2] / "templates" / "cloudfront-module.js"
STAND_IN_MODULE = "maint_cloudfront_stand_in"

# cf.kvs() without a store associated with the function. AWS: "To use this
# module in the function code, make sure that you have associated a key
# value store with the function" (Helper methods for key value stores,
# https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/functions-custom-methods.html).
# AWS does not document what happens otherwise, nor its message: the
# emulator fails closed, cf.kvs() throws (the stand-in alone would answer
# like a store that is down, whose failed reads a function may well catch
# and pass the request on). The wording is the emulator's.
NO_STORE_MESSAGE = (
    "No key value store is associated with the function: cf.kvs() needs one "
    "(FunctionConfig.KeyValueStoreAssociations)."
)
OTHER_STORE_MESSAGE = "The key value store {id} is not the one associated with the function."

# The `cloudfront` module the function imports: the stand-in, behind a
# cf.kvs() that fails, as above, without an associated store, or for the
# id of a store other than the associated one (`cf.kvs(kvsId)`).
_MODULE = """import standIn from '__STAND_IN__';
var associated = __STORE_ID__;
var m = {};
Object.keys(standIn).forEach(function (k) { m[k] = standIn[k]; });
m.kvs = function (id) {
  if (associated === null) throw new Error(__NO_STORE__);
  if (id !== undefined && id !== associated) throw new Error(__OTHER_STORE__.replace('{id}', String(id)));
  return standIn.kvs(id);
};
export default m;
"""


def _module(store):
    store_id = store.rsplit("/", 1)[-1] if store else None
    return (
        _MODULE.replace("__STAND_IN__", STAND_IN_MODULE)
        .replace("__STORE_ID__", json.dumps(store_id))
        .replace("__NO_STORE__", json.dumps(NO_STORE_MESSAGE))
        .replace("__OTHER_STORE__", json.dumps(OTHER_STORE_MESSAGE))
    )


# --- stages ---------------------------------------------------------------


class _Live:
    def __init__(self, function):
        self.config = copy.deepcopy(function.config)
        self.code = function.code
        self.etag = random_id()
        self.last_modified_time = utcnow()


def _stage_name(stage):
    stage = stage or DEV
    if stage not in (DEV, LIVE):
        raise _error("InvalidArgument", f"The stage {stage} is not valid: DEVELOPMENT or LIVE.")
    return stage


def _stage(function, stage):
    """(config, code, etag, last_modified_time) of a stage; 404 when absent."""
    if stage == DEV:
        return function.config, function.code, function.etag, function.last_modified_time
    live = getattr(function, "live", None)
    if live is None:
        raise NoSuchFunctionExists(function.name)
    return live.config, live.code, live.etag, live.last_modified_time


def _code_bytes(code):
    if code is None:
        return b""
    return code.encode() if isinstance(code, str) else bytes(code)


def _behaviors_of(dist):
    """The cache behaviors (moto objects) of a distribution, default first."""
    config = dist.distribution_config
    out = [config.DefaultCacheBehavior]
    behaviors = getattr(config, "CacheBehaviors", None) or {}
    items = behaviors.get("Items") if isinstance(behaviors, dict) else None
    out.extend(b for b in items or [] if not isinstance(b, dict))
    return out


def _uses(backend, function_arn):
    for dist in list(backend.distributions.values()):
        for behavior in _behaviors_of(dist):
            associations = getattr(behavior, "function_associations", None) or {}
            for item in associations.get("Items") or []:
                if item.get("FunctionARN") == function_arn:
                    return True
    return False


def _status(backend, function):
    # FunctionSummary.Status: UNPUBLISHED until published, then UNASSOCIATED,
    # or DEPLOYED while a distribution uses it. Both stages report the
    # function's status (AWS does not document a per-stage one).
    if getattr(function, "live", None) is None:
        return "UNPUBLISHED"
    return "DEPLOYED" if _uses(backend, function.arn) else "UNASSOCIATED"


def summary(backend, function, stage):
    config, _, _, modified = _stage(function, stage)
    return {
        "Name": function.name,
        "Status": _status(backend, function),
        "FunctionConfig": config,
        "FunctionMetadata": {
            "FunctionARN": function.arn,
            "Stage": stage,
            "CreatedTime": function.created_time,
            "LastModifiedTime": modified,
        },
    }


def _check_size(code):
    size = len(_code_bytes(code))
    if size > FUNCTION_MAX_BYTES:
        raise _error(
            "FunctionSizeLimitExceeded",
            f"The function is too large ({size} bytes; at most {FUNCTION_MAX_BYTES}). "
            "For more information, see Quotas in the Amazon CloudFront Developer Guide.",
        )


def _check_dev_if_match(function, if_match):
    if not if_match:
        raise _invalid_if_match()
    if if_match != function.etag:
        raise _precondition_failed()


# --- backend operations ---------------------------------------------------


def _update_function(self, name, if_match, function_config, function_code):
    function = self.describe_function(name)
    _check_dev_if_match(function, if_match)
    _check_size(function_code)
    function.config = function_config
    function.code = function_code
    function.etag = random_id()
    function.last_modified_time = utcnow()
    return function


def _publish_function(self, name, if_match):
    function = self.describe_function(name)
    _check_dev_if_match(function, if_match)
    function.live = _Live(function)
    return function


def _delete_function(self, name, if_match):
    function = self.describe_function(name)
    _check_dev_if_match(function, if_match)
    if _uses(self, function.arn):
        raise _error(
            "FunctionInUse",
            f"Cannot delete the function {name} because it's attached to one or more cache behaviors.",
        )
    del self.functions[name]


# --- distributions --------------------------------------------------------

_VIEWER_EVENTS = ("viewer-request", "viewer-response")


def _raw_behaviors(config):
    config = config or {}
    out = []
    if isinstance(config.get("DefaultCacheBehavior"), dict):
        out.append(config["DefaultCacheBehavior"])
    behaviors = config.get("CacheBehaviors") or {}
    out.extend(b for b in list_of(behaviors.get("Items"), "CacheBehavior") if isinstance(b, dict))
    return out


def check_associations(backend, distribution_config):
    """Refuses the FunctionAssociations of a DistributionConfig (the raw dict
    CreateDistribution or UpdateDistribution received) as AWS does: see
    cloudfront.py, 4."""
    for behavior in _raw_behaviors(distribution_config):
        associations = behavior.get("FunctionAssociations") or {}
        items = list_of(associations.get("Items"), "FunctionAssociation")
        quantity = associations.get("Quantity")
        if quantity not in (None, "") and int(quantity) != len(items):
            raise _error("InconsistentQuantities", "The value of Quantity and the size of Items don't match.")
        seen = set()
        for item in items:
            arn, event = item.get("FunctionARN"), item.get("EventType")
            if event not in _VIEWER_EVENTS:
                raise _error(
                    "InvalidFunctionAssociation",
                    f"A CloudFront function association is invalid: a function runs on "
                    f"viewer-request or viewer-response, not {event}.",
                )
            if event in seen:
                raise _error(
                    "InvalidFunctionAssociation",
                    f"A CloudFront function association is invalid: two functions on {event}.",
                )
            seen.add(event)
            function = next((f for f in backend.functions.values() if f.arn == arn), None)
            if function is None or getattr(function, "live", None) is None:
                raise _error(
                    "InvalidFunctionAssociation",
                    f"A CloudFront function association is invalid: {arn} is not a published "
                    "function (only a function in the LIVE stage can be associated).",
                )


# --- TestFunction ---------------------------------------------------------

_RESULT = "__MAINT_EMULATOR_RESULT__ "
_END = "__MAINT_EMULATOR_END__"

# ComputeUtilization, TestFunction's "amount of time that the function took
# to run as a percentage of the maximum allowed time" (TestResult,
# https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_TestResult.html).
# AWS does not publish that maximum; CloudFront Functions run in
# "Submillisecond" (Differences between CloudFront Functions and
# Lambda@Edge, https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/edge-functions-choosing.html),
# so the emulator takes 1 ms. What it reports is an estimate on this
# machine's njs, not AWS's figure (docs/emulator.md).
COMPUTE_BUDGET_MS = 1.0
# njs 0.7.9 has only Date.now() (whole milliseconds; no performance.now(),
# no process.hrtime): TestFunction runs the handler again, on fresh copies of
# the event and with console.log silenced, until MEASURE_MS have passed or
# MEASURE_RUNS runs, and reports the mean. The output and logs are the first
# run's.
MEASURE_MS = 20
MEASURE_RUNS = 200

# Appended to the function's code, as tests/function/harness.mjs's DRIVER
# does: gives the stand-in module its entries, calls handler on the event,
# and prints what it returned (or threw) on one marked line, with the mean
# time a run took ("ms") when asked to measure.
_DRIVER = """
;(function () {
  var c = __CASE__;
  globalThis.__maint = { entries: c.kvs, reads: [], down: c.down };
  var pristine = JSON.stringify(c.event);
  var event = c.event;
  var log = console.log;
  // In parts: njs 0.7.9's console.log cuts a line at 2048 bytes. Strings
  // are indexed by code point, so 400 are at most 1600 bytes.
  function done(r) {
    var text = JSON.stringify(r);
    for (var i = 0; i < text.length; i += 400) log('__MAINT_EMULATOR_RESULT__ ' + text.slice(i, i + 400));
    log('__MAINT_EMULATOR_END__');
  }
  var result, start, runs = 0;
  function measured(r) {
    var elapsed = Date.now() - start;
    if (!c.measure || elapsed >= __MEASURE_MS__ || runs >= __MEASURE_RUNS__) {
      console.log = log;
      r.ms = elapsed / runs;
      done(r);
      return;
    }
    console.log = function () {};
    runs++;
    var again;
    try { again = handler(JSON.parse(pristine)); } catch (e) { measured(r); return; }
    Promise.resolve(again).then(function () { measured(r); }, function () { measured(r); });
  }
  var res;
  start = Date.now();
  runs = 1;
  try { res = handler(event); } catch (e) { done({ threw: String(e), ms: Date.now() - start }); return; }
  Promise.resolve(res).then(function (v) {
    if (v !== null && typeof v === 'object') {
      // Serialized now: later runs must not change what the first returned.
      result = JSON.parse(JSON.stringify(v === event.request ? { request: v } : { response: v }));
    } else {
      result = { invalid: String(v) };
    }
    measured(result);
  }, function (e) { done({ threw: String(e), ms: Date.now() - start }); });
})();
"""


def utilization(ms):
    """ComputeUtilization for a run of `ms` milliseconds: a string, 0-100."""
    if ms is None:
        return None
    return str(max(0, min(100, math.ceil(ms / COMPUTE_BUDGET_MS * 100))))


def _engine_error(stderr, returncode):
    lines = [line.strip() for line in (stderr or "").splitlines() if line.strip()]
    for i, line in enumerate(lines):
        if line == "Thrown:" and i + 1 < len(lines):
            return lines[i + 1]
    for line in lines:
        if "Error" in line.split(":", 1)[0]:
            return line
    if lines:
        return lines[-1]
    return f"The function could not run (njs exited with {returncode})."


def associated_store(config):
    """The ARN of the KeyValueStore a function's config associates, or None."""
    stores = kvs.associated_stores(config)
    return stores[0] if stores else None


def run_on_njs(name, code, event, store, engine=None, measure=False):
    """Runs `code` on `event` under njs (or `engine`), with `store` (the ARN
    of the KeyValueStore the function's config associates, or None).
    Returns (output, error, logs, ms): ms is the mean time a run of the
    handler took (over repeated runs when `measure`), None when it threw."""
    engine = engine or NJS
    if not STAND_IN.is_file():
        raise _error("TestFunctionFailed", f"The emulator cannot run functions: {STAND_IN} is missing.")
    # An associated store the data plane does not have reads as down.
    entries = kvs.entries(store) if store else None
    work = tempfile.mkdtemp(prefix="maint-testfunction-")
    try:
        # njs resolves `import cf from 'cloudfront'` to a file of that name on its path.
        shutil.copyfile(STAND_IN, os.path.join(work, STAND_IN_MODULE))
        with open(os.path.join(work, "cloudfront"), "w", encoding="utf-8") as f:
            f.write(_module(store))
        payload = json.dumps(
            {"kvs": entries or {}, "down": entries is None, "event": event, "measure": measure},
            ensure_ascii=True,
        )
        driver = (
            _DRIVER.replace("__MEASURE_MS__", str(MEASURE_MS))
            .replace("__MEASURE_RUNS__", str(MEASURE_RUNS))
            .replace("__CASE__", payload)
        )
        source = _code_bytes(code).decode("utf-8", "replace")
        with open(os.path.join(work, f"{name}.js"), "w", encoding="utf-8") as f:
            f.write(source + "\n" + driver)
        try:
            run = subprocess.run(
                [engine, "-p", work, f"{name}.js"],
                cwd=work,
                capture_output=True,
                text=True,
                timeout=NJS_TIMEOUT_S,
            )
        except FileNotFoundError:
            raise _error("TestFunctionFailed", f"The emulator cannot run functions: {engine} is not installed.") from None
        except subprocess.TimeoutExpired:
            return None, (
                "The function exceeded the maximum compute time "
                f"(maint emulator: njs did not finish within {NJS_TIMEOUT_S} s)."
            ), [], NJS_TIMEOUT_S * 1000.0
    finally:
        shutil.rmtree(work, ignore_errors=True)
    logs, parts, result = [], [], None
    for line in run.stdout.splitlines():
        if line.startswith(_RESULT):
            parts.append(line[len(_RESULT) :])
        elif line == _END:
            try:
                result = json.loads("".join(parts))
            except ValueError:
                return None, "The emulator could not read what the function returned.", logs, None
        else:
            logs.append(line)
    if run.returncode < 0:
        try:
            why = signal.Signals(-run.returncode).name
        except ValueError:
            why = f"signal {-run.returncode}"
        return None, f"The function crashed the JavaScript engine (njs died with {why}).", logs, None
    if result is None:
        if run.returncode != 0:
            return None, _engine_error(run.stderr, run.returncode), logs, None
        return None, "The function did not return: its promise never settled.", logs, None
    ms = result.pop("ms", None)
    if "threw" in result:
        return None, result["threw"], logs, ms
    # {"request": ...}, {"response": ...} or {"invalid": ...}: see check().
    return json.dumps(result, separators=(",", ":")), None, logs, ms


# The prefix of a FunctionErrorMessage for a result that failed validation.
# UNCONFIRMED: AWS's wording (Lambda@Edge says "The Lambda function result
# failed validation: ..."); the reasons are the emulator's.
VALIDATION_PREFIX = "The CloudFront function result failed validation: "


def check(output, event):
    """The reason the result `output` (run_on_njs's) fails CloudFront's
    validation of what a function returns (function_result.py), or None."""
    try:
        function_result.check(json.loads(output), event)
    except function_result.Invalid as e:
        return str(e)
    return None


def _test_function(self, name, if_match, stage, event_object):
    function = self.describe_function(name)
    stage = _stage_name(stage)
    config, code, etag, _ = _stage(function, stage)
    if not if_match or if_match != etag:
        raise _invalid_if_match()
    raw = _code_bytes(event_object)
    if len(raw) > EVENT_MAX_BYTES:
        raise _error("InvalidArgument", f"The event object is larger than {EVENT_MAX_BYTES} bytes.")
    try:
        event = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise _error("InvalidArgument", "The event object is not valid JSON.") from None
    if not isinstance(event, dict):
        raise _error("InvalidArgument", "The event object must be a JSON object.")
    output, error, logs, ms = run_on_njs(
        name, code, event, associated_store(config), TEST_NJS, measure=True
    )
    if error is None:
        invalid = check(output, event)
        if invalid is not None:
            output, error = None, VALIDATION_PREFIX + invalid
    return {
        "FunctionSummary": summary(self, function, stage),
        # An estimate: see COMPUTE_BUDGET_MS. None (left out) when the
        # function never ran (a SyntaxError, a crash).
        "ComputeUtilization": utilization(ms),
        "FunctionExecutionLogs": logs,
        "FunctionErrorMessage": error,
        "FunctionOutput": output,
    }


# --- responses ------------------------------------------------------------


def _r_describe_function(self):
    name = self._get_param("Name")
    stage = _stage_name(self._get_param("Stage"))
    function = self.backend.describe_function(name)
    _, _, etag, _ = _stage(function, stage)
    return ActionResult({"FunctionSummary": summary(self.backend, function, stage), "ETag": etag})


def _r_get_function(self):
    name = self._get_param("Name")
    stage = _stage_name(self._get_param("Stage"))
    function = self.backend.get_function(name)
    _, code, etag, _ = _stage(function, stage)
    # The code is the payload, with the Content-Type the model's
    # GetFunctionResult.ContentType carries (moto's serializer wrote
    # application/xml over it).
    return 200, {"ETag": etag, "Content-Type": "application/octet-stream"}, _code_bytes(code)


def _r_list_functions(self):
    marker = self._get_param("Marker")
    max_items = self._get_int_param("MaxItems")
    stage = self._get_param("Stage")
    if stage:
        stage = _stage_name(stage)
    functions, next_marker = self.backend.list_functions(marker=marker, max_items=max_items)
    if stage == LIVE:
        items = [summary(self.backend, f, LIVE) for f in functions if f.live is not None]
    else:
        items = [summary(self.backend, f, DEV) for f in functions]
    return ActionResult(
        {
            "FunctionList": {
                "NextMarker": next_marker,
                "MaxItems": max_items or 100,
                "Quantity": len(items),
                "Items": items,
            }
        }
    )


def _r_update_function(self):
    function = self.backend.update_function(
        self._get_param("Name"),
        self._get_param("IfMatch"),
        self._get_param("FunctionConfig", {}),
        self._get_param("FunctionCode"),
    )
    # The model names this header "ETtag" (UpdateFunctionResult.ETag), and so
    # every SDK reads it from there; the serializer follows the model.
    return ActionResult({"FunctionSummary": summary(self.backend, function, DEV), "ETag": function.etag})


def _r_publish_function(self):
    function = self.backend.publish_function(self._get_param("Name"), self._get_param("IfMatch"))
    return ActionResult({"FunctionSummary": summary(self.backend, function, LIVE)})


def _r_delete_function(self):
    self.backend.delete_function(self._get_param("Name"), self._get_param("IfMatch"))
    return EmptyResult()


def _r_test_function(self):
    result = self.backend.test_function(
        self._get_param("Name"),
        self._get_param("IfMatch"),
        self._get_param("Stage"),
        self._get_param("EventObject"),
    )
    return ActionResult({"TestResult": result})


# --- a missing If-Match ---------------------------------------------------


def install(njs=None, testfunction_njs=None):
    """`njs`, `testfunction_njs`: the engines (MAINT_NJS and
    MAINT_TESTFUNCTION_NJS; None or empty: njs, and the same as njs)."""
    global NJS, TEST_NJS
    NJS = njs or "njs"
    TEST_NJS = testfunction_njs or NJS

    function_init = cloudfront.CloudFrontFunction.__init__

    def function_init_staged(self, *args, **kwargs):
        function_init(self, *args, **kwargs)
        self.live = None

    create_function = Backend.create_function

    def create_function_checked(self, name, function_config, function_code, tags):
        if not NAME.match(name or ""):
            raise _error("InvalidArgument", f"Function name {name!r} must match [a-zA-Z0-9-_]{{1,64}}.")
        return create_function(self, name, function_config, function_code, tags)

    create_function_response = CloudFrontResponse.create_function

    def r_create_function(self):
        _check_size(self._get_param("FunctionCode"))
        return create_function_response(self)

    patch(cloudfront.CloudFrontFunction, "__init__", function_init_staged)

    patch(Backend, "create_function", create_function_checked)
    patch(Backend, "update_function", _update_function)
    patch(Backend, "publish_function", _publish_function)
    patch(Backend, "delete_function", _delete_function)
    patch(Backend, "test_function", _test_function)

    patch_response("describe_function", _r_describe_function)
    patch_response("get_function", _r_get_function)
    patch_response("list_functions", _r_list_functions)
    patch_response("create_function", r_create_function)
    patch_response("update_function", _r_update_function)
    patch_response("publish_function", _r_publish_function)
    patch_response("delete_function", _r_delete_function)
    patch_response("test_function", _r_test_function)

    # moto routes only the paths its urls.py lists; the app is built later.
    dispatch = CloudFrontResponse.dispatch
    for path in (
        "{0}/2020-05-31/function/(?P<function_name>[^/]+)/publish$",
        "{0}/2020-05-31/function/(?P<function_name>[^/]+)/test$",
    ):
        patch_item(cloudfront_urls.url_paths, path, dispatch, "moto.cloudfront.urls.url_paths")
