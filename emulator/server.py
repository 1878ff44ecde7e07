"""Run the pinned moto server for maint's tests and demo, with one correction.

moto evaluates bucket-policy conditions it does not understand as matching, so
the statement every maint bucket carries,

    Deny s3:* when Bool aws:SecureTransport = "false"

denies every object call to the emulator. AWS evaluates that condition against
the request, and a TLS request (which is all maint ever sends to AWS) does not
match it. This launcher makes the emulator treat such a statement as not
applying, which is what AWS does for a TLS request. The policy maint writes is
unchanged: the emulator is made more faithful, never the code less correct.

Usage: python emulator/server.py --port PORT [moto_server options]
"""

import sys

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

if __name__ == "__main__":
    from moto.server import main

    main(sys.argv[1:])
