"""What the correction modules share: patching a moto attribute once, and
CloudFront's errors and shapes.

`patch(owner, name, value)` is the only way the emulator changes moto: it
records each attribute it replaces and refuses a second patch of the same
one, so two corrections to one method have to be merged into one wrapper
(whose order of checks is then written in one place).
"""

import re

from moto.cloudfront.exceptions import CloudFrontException

_patched = {}  # key -> "module.Class.attribute", in the order patched


def patch(owner, name, value):
    """Sets `owner.name` (a moto class) to `value`, once."""
    _record((id(owner), name), f"{owner.__module__}.{owner.__qualname__}.{name}")
    setattr(owner, name, value)


def patch_item(mapping, key, value, label):
    """Sets `mapping[key]` (a moto dict, `label` naming it) to `value`, once."""
    _record((id(mapping), key), f"{label}[{key!r}]")
    mapping[key] = value


def _record(key, label):
    if key in _patched:
        raise RuntimeError(f"{label} is patched twice: merge the two corrections")
    _patched[key] = label


def is_patched(owner, name):
    return (id(owner), name) in _patched


def patched():
    """What was patched so far, in order: `module.Class.attribute` each."""
    return list(_patched.values())


# --- CloudFront -------------------------------------------------------------

# Function and KeyValueStore names (CreateFunction, CreateKeyValueStore).
NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


def error(code, message):
    return CloudFrontException(code, message)


def precondition_failed():
    return error(
        "PreconditionFailed",
        "The precondition in one or more of the request fields evaluated to false.",
    )


def invalid_if_match():
    return error("InvalidIfMatchVersion", "The If-Match version is missing or not valid for the resource.")


def list_of(items, inner):
    """The items of a list member, however moto parsed the XML: a list, a
    dict holding the list (or one item) under `inner`, or nothing."""
    if isinstance(items, dict):  # depending on how moto parsed the XML
        items = items.get(inner) or []
    if isinstance(items, dict):
        items = [items]
    return items or []


# --- If-Match (correction cloudfront 11) ---------------------------------------

_if_match_operations = None


def if_match_operations():
    """Names of the CloudFront response methods whose input requires If-Match
    (from botocore's model, as moto's routing reads it)."""
    global _if_match_operations
    if _if_match_operations is None:
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
        _if_match_operations = names
    return _if_match_operations


def guarded(method):
    """`method` (a CloudFrontResponse method) behind the If-Match check: a
    request without If-Match is 400 InvalidIfMatchVersion."""

    def call(self):
        if not self.headers.get("If-Match"):
            raise invalid_if_match()
        return method(self)

    call.__name__ = method.__name__
    return call


def patch_response(name, method):
    """CloudFrontResponse.<name> = method, behind the If-Match check when the
    operation requires If-Match (see cloudfront.py, "A missing If-Match"):
    one patch, whichever module replaces the method."""
    from moto.cloudfront.responses import CloudFrontResponse

    patch(CloudFrontResponse, name, guarded(method) if name in if_match_operations() else method)
