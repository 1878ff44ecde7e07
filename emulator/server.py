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

Tests can also make the emulator lose an answer: POST /maint-api/lose-answer
with `METHOD PATH-REGEX` makes the next matching request take effect and
then answer 500, as when a response is lost on the way back and the SDK
retries a create that succeeded.

It can record every request it receives, one `METHOD /path?query` line each,
in the file named by MAINT_EMULATOR_REQUEST_LOG: tests use that record to
prove, for instance, that a converged `maint provision` sends no write.

Usage: python emulator/server.py --port PORT [moto_server options]
"""

import os
import re
import sys
import threading

from moto.cloudfront import models as cloudfront
from moto.cloudfront.exceptions import CloudFrontException
from moto.iam import access_control


# 1. A "deny without TLS" statement does not apply to a TLS request.
def _only_matches_plain_http(statement):
    condition = statement.get("Condition") or {}
    boolean = condition.get("Bool") or {}
    value = boolean.get("aws:SecureTransport")
    if isinstance(value, list):
        value = value[0] if len(value) == 1 else None
    return str(value).lower() == "false"


_is_action_permitted = access_control.IAMPolicyStatement.is_action_permitted


def _permitted(self, action, resource="*", principal=None, incoming_condition_values=None):
    if _only_matches_plain_http(self._statement):
        return access_control.PermissionResult.NEUTRAL
    return _is_action_permitted(self, action, resource, principal, incoming_condition_values)


access_control.IAMPolicyStatement.is_action_permitted = _permitted

Backend = cloudfront.CloudFrontBackend


def _invalid(message, code="InvalidArgument"):
    return CloudFrontException(code, message)


# 2. Origin access control names: unique, at most 64 characters.
_create_oac = Backend.create_origin_access_control


def _create_origin_access_control(self, config_dict):
    name = config_dict.get("Name") or ""
    if not 1 <= len(name) <= 64:
        raise _invalid(f"The parameter Name is too long ({len(name)} characters; at most 64).")
    if any(o.name == name for o in self.origin_access_controls.values()):
        raise CloudFrontException(
            "OriginAccessControlAlreadyExists",
            f"An origin access control with the specified parameters already exists: {name}",
        )
    return _create_oac(self, config_dict)


def _delete_origin_access_control(self, control_id):
    if control_id not in self.origin_access_controls:
        raise CloudFrontException(
            "NoSuchOriginAccessControl", "The specified origin access control does not exist."
        )
    self.origin_access_controls.pop(control_id)


Backend.create_origin_access_control = _create_origin_access_control
Backend.delete_origin_access_control = _delete_origin_access_control

# 3. Custom error responses take only the codes CloudFront can customise.
_ERROR_CODES = {"400", "403", "404", "405", "414", "416", "500", "501", "502", "503", "504"}
_RESPONSE_CODES = _ERROR_CODES | {"200"}


def _check_error_responses(distribution_config):
    responses = (distribution_config or {}).get("CustomErrorResponses") or {}
    items = responses.get("Items") or []
    if isinstance(items, dict):  # depending on how moto parsed the XML
        items = items.get("CustomErrorResponse") or []
    if isinstance(items, dict):
        items = [items]
    for item in items:
        code = str(item.get("ErrorCode"))
        if code not in _ERROR_CODES:
            raise _invalid(f"The specified error code {code} is not valid.", "InvalidErrorCode")
        response = item.get("ResponseCode")
        if response not in (None, "") and str(response) not in _RESPONSE_CODES:
            raise _invalid(
                f"The specified response code {response} is not valid.", "InvalidResponseCode"
            )


_create_distribution_with_tags = Backend.create_distribution_with_tags
_update_distribution = Backend.update_distribution


def _create_checked(self, distribution_config, tags):
    _check_error_responses(distribution_config)
    return _create_distribution_with_tags(self, distribution_config, tags)


def _update_checked(self, dist_config, _id, if_match):
    _check_error_responses(dist_config)
    return _update_distribution(self, dist_config, _id, if_match)


Backend.create_distribution_with_tags = _create_checked
Backend.update_distribution = _update_checked

# 4. Function and KeyValueStore names.
_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_create_function = Backend.create_function
_create_key_value_store = Backend.create_key_value_store


def _create_function_checked(self, name, function_config, function_code, tags):
    if not _NAME.match(name or ""):
        raise _invalid(f"Function name {name!r} must match [a-zA-Z0-9-_]{{1,64}}.")
    return _create_function(self, name, function_config, function_code, tags)


def _create_key_value_store_checked(self, name, comment, tags):
    if not _NAME.match(name or ""):
        raise _invalid(f"Key value store name {name!r} must match [a-zA-Z0-9-_]{{1,64}}.")
    return _create_key_value_store(self, name, comment, tags)


Backend.create_function = _create_function_checked
Backend.create_key_value_store = _create_key_value_store_checked


# The request log and lost answers, around moto's WSGI application.
from moto.moto_server import werkzeug_app  # noqa: E402

_log_path = os.environ.get("MAINT_EMULATOR_REQUEST_LOG")
_lock = threading.Lock()
_lose = []  # [method, compiled path regex], each used once
_dispatch = werkzeug_app.DomainDispatcherApplication.__call__

_LOST = (
    b'<?xml version="1.0"?><ErrorResponse><Error><Type>Receiver</Type>'
    b"<Code>InternalError</Code><Message>The answer was lost (maint emulator).</Message>"
    b"</Error></ErrorResponse>"
)


def _app(self, environ, start_response):
    method = environ.get("REQUEST_METHOD")
    path = environ.get("PATH_INFO", "")
    if path == "/maint-api/lose-answer" and method == "POST":
        size = int(environ.get("CONTENT_LENGTH") or 0)
        rule = environ["wsgi.input"].read(size).decode().split(" ", 1)
        with _lock:
            _lose.append([rule[0], re.compile(rule[1].strip())])
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok\n"]
    if _log_path and not path.startswith("/moto-api"):
        query = environ.get("QUERY_STRING", "")
        with _lock, open(_log_path, "a", encoding="utf-8") as log:
            log.write(f"{method} {path}{'?' + query if query else ''}\n")
    with _lock:
        rule = next((r for r in _lose if r[0] == method and r[1].fullmatch(path)), None)
        if rule:
            _lose.remove(rule)
    if not rule:
        return _dispatch(self, environ, start_response)
    # Let the request take effect, then answer as if the answer was lost.
    for _ in _dispatch(self, environ, lambda *args, **kwargs: None):
        pass
    start_response("500 Internal Server Error", [("Content-Type", "text/xml")])
    return [_LOST]


werkzeug_app.DomainDispatcherApplication.__call__ = _app

if __name__ == "__main__":
    from moto.server import main

    main(sys.argv[1:])
