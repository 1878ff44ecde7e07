"""Run the pinned moto server for maint's tests and demo, with one correction.

moto evaluates bucket-policy conditions it does not understand as matching, so
the statement every maint bucket carries,

    Deny s3:* when Bool aws:SecureTransport = "false"

denies every object call to the emulator. AWS evaluates that condition against
the request, and a TLS request (which is all maint ever sends to AWS) does not
match it. This launcher makes the emulator treat such a statement as not
applying, which is what AWS does for a TLS request. The policy maint writes is
unchanged: the emulator is made more faithful, never the code less correct.

It can also record every request it receives, one `METHOD /path?query` line
each, in the file named by MAINT_EMULATOR_REQUEST_LOG: tests use that record to
prove that a converged `maint provision` sends no write at all.

Usage: python emulator/server.py --port PORT [moto_server options]
"""

import os
import sys
import threading

from moto.iam import access_control


def _only_matches_plain_http(statement):
    condition = statement.get("Condition") or {}
    boolean = condition.get("Bool") or {}
    value = boolean.get("aws:SecureTransport")
    if isinstance(value, list):
        value = value[0] if len(value) == 1 else None
    return str(value).lower() == "false"


_original = access_control.IAMPolicyStatement.is_action_permitted


def _is_action_permitted(self, action, resource="*", principal=None, incoming_condition_values=None):
    if _only_matches_plain_http(self._statement):
        return access_control.PermissionResult.NEUTRAL
    return _original(self, action, resource, principal, incoming_condition_values)


access_control.IAMPolicyStatement.is_action_permitted = _is_action_permitted

_log_path = os.environ.get("MAINT_EMULATOR_REQUEST_LOG")
if _log_path:
    from moto.moto_server import werkzeug_app

    _lock = threading.Lock()
    _dispatch = werkzeug_app.DomainDispatcherApplication.__call__

    def _logged(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if not path.startswith("/moto-api"):
            query = environ.get("QUERY_STRING", "")
            line = f"{environ.get('REQUEST_METHOD')} {path}{'?' + query if query else ''}\n"
            with _lock, open(_log_path, "a", encoding="utf-8") as log:
                log.write(line)
        return _dispatch(self, environ, start_response)

    werkzeug_app.DomainDispatcherApplication.__call__ = _logged

if __name__ == "__main__":
    from moto.server import main

    main(sys.argv[1:])
