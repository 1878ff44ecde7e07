"""S3: the corrections to moto's S3.

1. Bucket policy: "deny without TLS" does not apply to a TLS request.
   moto evaluates conditions it does not understand as matching, so the
   statement every maint bucket carries,
       Deny s3:* when Bool aws:SecureTransport = "false"
   denies every object call. AWS evaluates that condition against the
   request, and a TLS request (all maint ever sends to AWS) does not match
   it. The emulator treats such a statement as not applying.
   Patched: moto.iam.access_control.IAMPolicyStatement.is_action_permitted,
   the statement evaluator moto's S3 uses for bucket policies (moto's IAM
   authorization uses it too, only when moto enforces IAM auth,
   INITIAL_NO_AUTH_ACTION_COUNT, which the emulator does not set).

The edge (edge.py) evaluates bucket policies itself for what CloudFront
reads through an origin access control; that is not a patch of moto.
"""

from moto.iam import access_control

from corrections.common import patch


def _only_matches_plain_http(statement):
    condition = statement.get("Condition") or {}
    boolean = condition.get("Bool") or {}
    value = boolean.get("aws:SecureTransport")
    if isinstance(value, list):
        value = value[0] if len(value) == 1 else None
    return str(value).lower() == "false"


def install():
    Statement = access_control.IAMPolicyStatement
    is_action_permitted = Statement.is_action_permitted

    def permitted(self, action, resource="*", principal=None, incoming_condition_values=None):
        if _only_matches_plain_http(self._statement):
            return access_control.PermissionResult.NEUTRAL
        return is_action_permitted(self, action, resource, principal, incoming_condition_values)

    patch(Statement, "is_action_permitted", permitted)
