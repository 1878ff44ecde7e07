"""CloudFront Functions as AWS runs them, over moto's single-stage functions,
and the distribution fields they depend on. Installed by server.py
(`install()`); each piece cites its AWS source in server.py's docstring.

- Stages. moto keeps one copy of a function and ignores `Stage`. Here moto's
  own fields (config, code, etag, last_modified_time) are the DEVELOPMENT
  stage, and `function.live` holds the LIVE stage once PublishFunction made
  one (None before). DescribeFunction and GetFunction answer the stage asked
  for (DEVELOPMENT when none is), with that stage's ETag; LIVE before any
  publish is 404 NoSuchFunctionExists.
- UpdateFunction, PublishFunction, TestFunction: new operations.
- DeleteFunction checks If-Match against the DEVELOPMENT ETag and refuses a
  function a distribution still uses (409 FunctionInUse).
- Distributions keep the FunctionAssociations and LambdaFunctionAssociations
  they are given (moto wrote Quantity 0 back); an association must name a
  published function, on a viewer event, once per event type.
- UpdateDistribution and DeleteDistribution check If-Match against the
  current ETag (412 PreconditionFailed); every update gives a new ETag.
  DeleteDistribution refuses a distribution still enabled (409
  DistributionNotDisabled).
- DeleteKeyValueStore checks If-Match and refuses a store a function uses
  (409 CannotDeleteEntityWhileInUse), and drops the store's data.
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
from moto.cloudfront.exceptions import CloudFrontException, NoSuchFunctionExists
from moto.cloudfront.models import random_id
from moto.cloudfront.responses import CloudFrontResponse
from moto.core.responses import ActionResult, EmptyResult
from moto.core.utils import utcnow

import function_result
import kvs

Backend = cloudfront.CloudFrontBackend
DEV, LIVE = "DEVELOPMENT", "LIVE"

# CloudFront quotas, "Quotas on CloudFront Functions": maximum function size 10 KB.
FUNCTION_MAX_BYTES = 10 * 1024
# TestFunction's EventObject: at most 40960 bytes (the model's FunctionEventObject).
EVENT_MAX_BYTES = 40960

NJS = os.environ.get("MAINT_NJS") or "njs"
# The engine TestFunction runs on, when it should differ from the edge's: a
# test swaps in an engine that fails some paths to show what `attach` does
# when CloudFront's engine refuses code that njs accepts.
TEST_NJS = os.environ.get("MAINT_TESTFUNCTION_NJS") or NJS
NJS_TIMEOUT_S = 10
# The stand-in for the runtime's `cloudfront` module that the project's own
# function tests use (tests/function/cloudfront.js): one source for both.
STAND_IN = Path(__file__).resolve().parent.parent / "tests" / "function" / "cloudfront.js"
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


def _error(code, message):
    return CloudFrontException(code, message)


def _precondition_failed():
    return _error(
        "PreconditionFailed",
        "The precondition in one or more of the request fields evaluated to false.",
    )


def _invalid_if_match():
    return _error("InvalidIfMatchVersion", "The If-Match version is missing or not valid for the resource.")


# --- stages ---------------------------------------------------------------


class _Live:
    def __init__(self, function):
        self.config = copy.deepcopy(function.config)
        self.code = function.code
        self.etag = random_id()
        self.last_modified_time = utcnow()


_function_init = cloudfront.CloudFrontFunction.__init__


def _function_init_staged(self, *args, **kwargs):
    _function_init(self, *args, **kwargs)
    self.live = None


_kvs_init = cloudfront.KeyValueStore.__init__


def _kvs_init_dated(self, *args, **kwargs):
    _kvs_init(self, *args, **kwargs)
    self.created_time = self.last_modified_time


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


def _store_in_use(self, arn):
    for function in list(self.functions.values()):
        configs = [function.config]
        if getattr(function, "live", None) is not None:
            configs.append(function.live.config)
        for config in configs:
            for item in _kvs_items(config):
                if item == arn:
                    return True
    return False


def _delete_key_value_store(self, name, if_match=None):
    store = self.describe_key_value_store(name)  # EntityNotFound
    if not if_match:
        raise _invalid_if_match()
    if if_match != store.etag:
        raise _precondition_failed()
    if _store_in_use(self, store.arn):
        raise _error(
            "CannotDeleteEntityWhileInUse",
            f"The key value store {name} cannot be deleted while a function is associated with it.",
        )
    del self.key_value_stores[name]
    kvs.forget(store.arn)


def _kvs_items(config):
    associations = (config or {}).get("KeyValueStoreAssociations") or {}
    items = associations.get("Items") or []
    if isinstance(items, dict):
        items = items.get("KeyValueStoreAssociation") or []
        if isinstance(items, dict):
            items = [items]
    return [i.get("KeyValueStoreARN") for i in items if isinstance(i, dict)]


# --- distributions --------------------------------------------------------

_VIEWER_EVENTS = ("viewer-request", "viewer-response")


def _list_of(items, inner):
    if isinstance(items, dict):  # depending on how moto parsed the XML
        items = items.get(inner) or []
    if isinstance(items, dict):
        items = [items]
    return items or []


def _raw_behaviors(config):
    config = config or {}
    out = []
    if isinstance(config.get("DefaultCacheBehavior"), dict):
        out.append(config["DefaultCacheBehavior"])
    behaviors = config.get("CacheBehaviors") or {}
    out.extend(b for b in _list_of(behaviors.get("Items"), "CacheBehavior") if isinstance(b, dict))
    return out


def _check_function_associations(backend, distribution_config):
    for behavior in _raw_behaviors(distribution_config):
        associations = behavior.get("FunctionAssociations") or {}
        items = _list_of(associations.get("Items"), "FunctionAssociation")
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


_behaviour_init = cloudfront.DefaultCacheBehaviour.__init__


def _kept(config, name, inner):
    associations = config.get(name) or {}
    items = _list_of(associations.get("Items"), inner)
    return {"Quantity": len(items), "Items": items} if items else {"Quantity": 0}


def _behaviour_init_keeping(self, config):
    _behaviour_init(self, config)
    self.function_associations = _kept(config, "FunctionAssociations", "FunctionAssociation")
    self.lambda_function_associations = _kept(
        config, "LambdaFunctionAssociations", "LambdaFunctionAssociation"
    )


def _enabled(dist):
    enabled = getattr(dist.distribution_config, "Enabled", False)
    return enabled is True or str(enabled).lower() == "true"


def _wrap_distributions():
    create = Backend.create_distribution_with_tags
    update = Backend.update_distribution
    delete = Backend.delete_distribution

    def create_checked(self, distribution_config, tags):
        _check_function_associations(self, distribution_config)
        return create(self, distribution_config, tags)

    def update_checked(self, dist_config, _id, if_match):
        dist = self.distributions.get(_id) if _id else None
        if dist is not None and if_match:
            if if_match != dist.etag:
                raise _precondition_failed()
            _check_function_associations(self, dist_config)
        dist, location, _ = update(self, dist_config, _id, if_match)
        dist.etag = random_id()
        return dist, location, dist.etag

    def delete_checked(self, distribution_id, if_match):
        dist = self.distributions.get(distribution_id)
        if dist is not None and if_match and if_match != dist.etag:
            raise _precondition_failed()
        if dist is not None and if_match and _enabled(dist):
            raise _error(
                "DistributionNotDisabled",
                "The distribution you are trying to delete has not been disabled.",
            )
        return delete(self, distribution_id, if_match)

    Backend.create_distribution_with_tags = create_checked
    Backend.update_distribution = update_checked
    Backend.delete_distribution = delete_checked


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
    stores = _kvs_items(config)
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


def _r_create_function(self):
    _check_size(self._get_param("FunctionCode"))
    return _create_function_response(self)


_create_function_response = CloudFrontResponse.create_function


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


def _r_delete_key_value_store(self):
    self.backend.delete_key_value_store(self._get_param("Name"), self._get_param("IfMatch"))
    return EmptyResult()


# --- a missing If-Match ---------------------------------------------------


def _if_match_operations():
    """Names of the CloudFront response methods whose input requires If-Match."""
    from moto.core.utils import camelcase_to_underscores
    from moto.core.utils import get_service_model

    model = get_service_model("cloudfront")
    names = []
    for operation_name in model.operation_names:
        shape = model.operation_model(operation_name).input_shape
        if shape is None:
            continue
        for member in shape.required_members:
            serialization = shape.members[member].serialization
            if serialization.get("location") == "header" and serialization.get("name") == "If-Match":
                names.append(camelcase_to_underscores(operation_name))
    return names


def _route_without_if_match():
    """moto routes a REST request to an operation only when the headers its
    input requires are there: without If-Match, a request reached no
    operation and got an empty 404. AWS answers such a request 400
    InvalidIfMatchVersion ("The If-Match version is missing or not valid
    for the resource"): route it, and let the operation refuse it."""
    from moto.core import routing

    initialize = routing.SmithyRule._initialize_candidates

    def candidates(operations):
        out = initialize(operations)
        for candidate in out:
            if candidate.operation.service_model.service_name == "cloudfront":
                candidate.constraints = [
                    c
                    for c in candidate.constraints
                    if not (isinstance(c, routing.RequiredHeader) and c.name == "If-Match")
                ]
        return out

    routing.SmithyRule._initialize_candidates = staticmethod(candidates)

    def guarded(method):
        def call(self):
            if not self.headers.get("If-Match"):
                raise _invalid_if_match()
            return method(self)

        call.__name__ = method.__name__
        return call

    for name in _if_match_operations():
        method = getattr(CloudFrontResponse, name, None)
        if method is not None:
            setattr(CloudFrontResponse, name, guarded(method))


def install():
    cloudfront.CloudFrontFunction.__init__ = _function_init_staged
    cloudfront.KeyValueStore.__init__ = _kvs_init_dated
    cloudfront.DefaultCacheBehaviour.__init__ = _behaviour_init_keeping

    Backend.update_function = _update_function
    Backend.publish_function = _publish_function
    Backend.delete_function = _delete_function
    Backend.test_function = _test_function
    Backend.delete_key_value_store = _delete_key_value_store
    _wrap_distributions()

    CloudFrontResponse.describe_function = _r_describe_function
    CloudFrontResponse.get_function = _r_get_function
    CloudFrontResponse.list_functions = _r_list_functions
    CloudFrontResponse.create_function = _r_create_function
    CloudFrontResponse.update_function = _r_update_function
    CloudFrontResponse.publish_function = _r_publish_function
    CloudFrontResponse.delete_function = _r_delete_function
    CloudFrontResponse.test_function = _r_test_function
    CloudFrontResponse.delete_key_value_store = _r_delete_key_value_store

    _route_without_if_match()

    # moto routes only the paths its urls.py lists; the app is built later.
    dispatch = CloudFrontResponse.dispatch
    cloudfront_urls.url_paths["{0}/2020-05-31/function/(?P<function_name>[^/]+)/publish$"] = dispatch
    cloudfront_urls.url_paths["{0}/2020-05-31/function/(?P<function_name>[^/]+)/test$"] = dispatch
