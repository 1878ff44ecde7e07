"""CloudFront KeyValueStores: the control plane's corrections (the
KeyValueStore operations of the cloudfront service) and the data plane
(service `cloudfront-keyvaluestore`), which moto does not have.

1. Names: AWS requires [a-zA-Z0-9-_]{1,64} (CreateKeyValueStore:
   InvalidArgument); moto took any.
2. DeleteKeyValueStore: If-Match must be the store's ETag (missing -> 400
   InvalidIfMatchVersion, stale -> 412 PreconditionFailed), a store a
   function's config associates is 409 CannotDeleteEntityWhileInUse (all in
   the operation's errors); moto deleted regardless. The store's data goes.
3. The data plane (API version 2022-07-26, protocol restJson1), on the
   emulator's own port, under the paths of the AWS API reference (and of
   botocore's model, cloudfront-keyvaluestore/2022-07-26/service-2.json):

    GET    /key-value-stores/{KvsARN}              DescribeKeyValueStore
    GET    /key-value-stores/{KvsARN}/keys         ListKeys
    POST   /key-value-stores/{KvsARN}/keys         UpdateKeys
    GET    /key-value-stores/{KvsARN}/keys/{Key}   GetKey
    PUT    /key-value-stores/{KvsARN}/keys/{Key}   PutKey
    DELETE /key-value-stores/{KvsARN}/keys/{Key}   DeleteKey

   Writes need If-Match = the store's data ETag (missing -> 400
   ValidationException, stale -> 409 ConflictException) and change it; a
   store the control plane lacks or a missing key -> 404
   ResourceNotFoundException. Routed by hooks.py (`route`, `handle`), after
   the request log: data-plane calls are logged and can lose their answer.

   A store exists when the CloudFront control plane (moto's backend) has it.
   Its data is kept here, by ARN (unique: moto makes a new UUID per store),
   and dropped when the control plane deletes the store (2). Its Created is
   the time the control plane made it (moto's KeyValueStore keeps only a
   last-modified time: `created_time` is added).

   Errors are restJson1 errors: the model's status code, `x-amzn-ErrorType`,
   and a JSON body {"message": ...}. Limits, from the CloudFront quotas page
   ("Quotas on key value stores"): key at most 512 bytes, value at most 1 KB
   (400 ValidationException), a store at most 5 MB, UpdateKeys at most 50
   keys (402 ServiceQuotaExceededException; the status codes are the
   model's); the model bounds a key to 1-1024 characters and MaxResults to
   1-50 (default 10).

Patched (install): KeyValueStore.__init__, CloudFrontBackend.create_key_value_store
and delete_key_value_store, CloudFrontResponse.delete_key_value_store.
"""

import base64
import binascii
import json
import threading
from datetime import timezone
from urllib.parse import parse_qs, unquote

from moto.cloudfront import models as cloudfront
from moto.cloudfront.models import cloudfront_backends, random_id
from moto.core.responses import EmptyResult
from moto.core.utils import utcnow

from corrections.common import NAME, error, invalid_if_match, patch, patch_response, precondition_failed

KEY_MAX_BYTES = 512
VALUE_MAX_BYTES = 1024
STORE_MAX_BYTES = 5 * 1024 * 1024
UPDATE_MAX_KEYS = 50
LIST_DEFAULT, LIST_MAX = 10, 50

# Status codes of the model's error shapes.
_STATUS = {
    "ValidationException": "400 Bad Request",
    "ServiceQuotaExceededException": "402 Payment Required",
    "AccessDeniedException": "403 Forbidden",
    "ResourceNotFoundException": "404 Not Found",
    "ConflictException": "409 Conflict",
    "InternalServerException": "500 Internal Server Error",
}

_lock = threading.RLock()
_data = {}  # store ARN -> _Data


class _Data:
    def __init__(self, created):
        self.items = {}  # key -> value
        self.etag = _new_etag()
        self.created = created
        self.last_modified = created

    def size(self, items=None):
        items = self.items if items is None else items
        return sum(len(k.encode()) + len(v.encode()) for k, v in items.items())

    def counts(self):
        return {"ItemCount": len(self.items), "TotalSizeInBytes": self.size()}


class KvsError(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


def _new_etag():
    return "KV" + random_id(length=13)


def _epoch(moment):
    # restJson1 timestamps default to epoch seconds.
    return moment.replace(tzinfo=timezone.utc).timestamp()


def control_plane_store(arn):
    """moto's KeyValueStore with this ARN, or None."""
    parts = arn.split(":")
    if len(parts) < 6 or parts[0] != "arn" or not parts[5].startswith("key-value-store/"):
        return None
    account, partition = parts[4], parts[1]
    if account not in cloudfront_backends:
        return None
    try:
        backend = cloudfront_backends[account][partition]
    except KeyError:
        return None
    return next((s for s in list(backend.key_value_stores.values()) if s.arn == arn), None)


def _store_data(arn):
    store = control_plane_store(arn)
    if store is None:
        raise KvsError("ResourceNotFoundException", f"Key value store {arn} was not found.")
    with _lock:
        data = _data.get(arn)
        if data is None:
            created = getattr(store, "created_time", None) or store.last_modified_time
            data = _data[arn] = _Data(created)
        return data


def entries(arn):
    """The key-value pairs of a store (a copy), or None when it does not exist."""
    try:
        data = _store_data(arn)
    except KvsError:
        return None
    with _lock:
        return dict(data.items)


def forget(arn):
    """Drops the data of a store the control plane deleted."""
    with _lock:
        _data.pop(arn, None)


# --- the data plane (3): operations ------------------------------------------


def _check_key(key):
    if not isinstance(key, str) or not 1 <= len(key) <= 1024:
        raise KvsError(
            "ValidationException",
            "1 validation error detected: Value at 'key' failed to satisfy constraint: "
            "Member must have length between 1 and 1024",
        )
    if len(key.encode()) > KEY_MAX_BYTES:
        raise KvsError(
            "ValidationException",
            f"Key size {len(key.encode())} bytes exceeds the maximum of {KEY_MAX_BYTES} bytes.",
        )


def _check_value(value):
    if not isinstance(value, str):
        raise KvsError(
            "ValidationException",
            "1 validation error detected: Value null at 'value' failed to satisfy constraint: "
            "Member must not be null",
        )
    if len(value.encode()) > VALUE_MAX_BYTES:
        raise KvsError(
            "ValidationException",
            f"Value size {len(value.encode())} bytes exceeds the maximum of {VALUE_MAX_BYTES} bytes.",
        )


def _check_if_match(if_match, data):
    if not if_match:
        # A required member (IfMatch, header If-Match) missing is a validation failure.
        raise KvsError(
            "ValidationException",
            "1 validation error detected: Value null at 'ifMatch' failed to satisfy constraint: "
            "Member must not be null",
        )
    if if_match != data.etag:
        raise KvsError(
            "ConflictException",
            f"The If-Match version {if_match} does not match the current version of the key value store.",
        )


def _commit(data, items):
    """Replaces the items after a write, checking the store's size quota."""
    size = data.size(items)
    if size > STORE_MAX_BYTES:
        raise KvsError(
            "ServiceQuotaExceededException",
            f"The key value store would hold {size} bytes; the maximum is {STORE_MAX_BYTES} bytes.",
        )
    data.items = items
    data.etag = _new_etag()
    data.last_modified = utcnow()


def describe(arn):
    data = _store_data(arn)
    with _lock:
        body = {
            "KvsARN": arn,
            "Created": _epoch(data.created),
            "LastModified": _epoch(data.last_modified),
            "Status": "READY",
            **data.counts(),
        }
        return body, data.etag


def get_key(arn, key):
    _check_key(key)
    data = _store_data(arn)
    with _lock:
        if key not in data.items:
            raise KvsError("ResourceNotFoundException", f"Key {key} was not found.")
        return {"Key": key, "Value": data.items[key], **data.counts()}, None


def put_key(arn, key, if_match, body):
    _check_key(key)
    _check_value(body.get("Value"))
    data = _store_data(arn)
    with _lock:
        _check_if_match(if_match, data)
        items = dict(data.items)
        items[key] = body["Value"]
        _commit(data, items)
        return data.counts(), data.etag


def delete_key(arn, key, if_match):
    _check_key(key)
    data = _store_data(arn)
    with _lock:
        _check_if_match(if_match, data)
        if key not in data.items:
            raise KvsError("ResourceNotFoundException", f"Key {key} was not found.")
        items = dict(data.items)
        del items[key]
        _commit(data, items)
        return data.counts(), data.etag


def list_keys(arn, query):
    raw_max = (query.get("MaxResults") or [None])[0]
    if raw_max is None:
        limit = LIST_DEFAULT
    else:
        try:
            limit = int(raw_max)
        except ValueError:
            limit = 0
        if not 1 <= limit <= LIST_MAX:
            raise KvsError(
                "ValidationException",
                f"1 validation error detected: Value '{raw_max}' at 'maxResults' failed to satisfy "
                f"constraint: Member must have value between 1 and {LIST_MAX}",
            )
    token = (query.get("NextToken") or [None])[0]
    after = None
    if token is not None:
        # Opaque to clients: the last key of the previous page, as JSON, base64.
        try:
            after = json.loads(base64.b64decode(token.encode(), altchars=b"-_", validate=True))["after"]
            if not isinstance(after, str):
                raise ValueError(after)
        except (binascii.Error, UnicodeDecodeError, ValueError, KeyError, TypeError):
            raise KvsError("ValidationException", "The NextToken is not valid.") from None
    data = _store_data(arn)
    with _lock:
        keys = sorted(data.items)
        if after is not None:
            keys = [k for k in keys if k > after]
        page = keys[:limit]
        body = {"Items": [{"Key": k, "Value": data.items[k]} for k in page]}
        if len(keys) > limit:
            body["NextToken"] = base64.urlsafe_b64encode(json.dumps({"after": page[-1]}).encode()).decode()
        return body, None


def update_keys(arn, if_match, body):
    puts = body.get("Puts") or []
    deletes = body.get("Deletes") or []
    if not isinstance(puts, list) or not isinstance(deletes, list):
        raise KvsError("ValidationException", "Puts and Deletes must be lists.")
    for item in puts:
        if not isinstance(item, dict):
            raise KvsError("ValidationException", "Each of Puts must be an object {Key, Value}.")
        _check_key(item.get("Key"))
        _check_value(item.get("Value"))
    for item in deletes:
        if not isinstance(item, dict):
            raise KvsError("ValidationException", "Each of Deletes must be an object {Key}.")
        _check_key(item.get("Key"))
    named = [i["Key"] for i in puts] + [i["Key"] for i in deletes]
    if len(set(named)) != len(named):
        raise KvsError("ValidationException", "A key may appear only once in Puts and Deletes.")
    if len(named) > UPDATE_MAX_KEYS:
        raise KvsError(
            "ServiceQuotaExceededException",
            f"UpdateKeys takes at most {UPDATE_MAX_KEYS} keys; {len(named)} were given.",
        )
    data = _store_data(arn)
    with _lock:
        _check_if_match(if_match, data)
        items = dict(data.items)
        for item in deletes:
            if item["Key"] not in items:
                raise KvsError("ResourceNotFoundException", f"Key {item['Key']} was not found.")
            del items[item["Key"]]
        for item in puts:
            items[item["Key"]] = item["Value"]
        # All or nothing: nothing is stored unless every change fits.
        _commit(data, items)
        return data.counts(), data.etag


# --- the control plane (1, 2) -------------------------------------------------


def associated_stores(config):
    """The ARNs of the KeyValueStores a function's config associates."""
    associations = (config or {}).get("KeyValueStoreAssociations") or {}
    items = associations.get("Items") or []
    if isinstance(items, dict):
        items = items.get("KeyValueStoreAssociation") or []
        if isinstance(items, dict):
            items = [items]
    return [i.get("KeyValueStoreARN") for i in items if isinstance(i, dict)]


def _store_in_use(backend, arn):
    for function in list(backend.functions.values()):
        configs = [function.config]
        if getattr(function, "live", None) is not None:  # the LIVE stage (cloudfront_functions.py)
            configs.append(function.live.config)
        for config in configs:
            for item in associated_stores(config):
                if item == arn:
                    return True
    return False


def _delete_key_value_store(self, name, if_match=None):
    store = self.describe_key_value_store(name)  # EntityNotFound
    if not if_match:
        raise invalid_if_match()
    if if_match != store.etag:
        raise precondition_failed()
    if _store_in_use(self, store.arn):
        raise error(
            "CannotDeleteEntityWhileInUse",
            f"The key value store {name} cannot be deleted while a function is associated with it.",
        )
    del self.key_value_stores[name]
    forget(store.arn)


def _r_delete_key_value_store(self):
    self.backend.delete_key_value_store(self._get_param("Name"), self._get_param("IfMatch"))
    return EmptyResult()


def install():
    Backend = cloudfront.CloudFrontBackend

    kvs_init = cloudfront.KeyValueStore.__init__

    def kvs_init_dated(self, *args, **kwargs):
        kvs_init(self, *args, **kwargs)
        self.created_time = self.last_modified_time

    create_key_value_store = Backend.create_key_value_store

    def create_key_value_store_checked(self, name, comment, tags):
        if not NAME.match(name or ""):
            raise error("InvalidArgument", f"Key value store name {name!r} must match [a-zA-Z0-9-_]{{1,64}}.")
        return create_key_value_store(self, name, comment, tags)

    patch(cloudfront.KeyValueStore, "__init__", kvs_init_dated)
    patch(Backend, "create_key_value_store", create_key_value_store_checked)
    patch(Backend, "delete_key_value_store", _delete_key_value_store)
    patch_response("delete_key_value_store", _r_delete_key_value_store)


# --- the data plane (3): HTTP ---------------------------------------------------


def _raw_path(environ):
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw:
        if "://" in raw:  # an absolute request target
            raw = "/" + raw.split("://", 1)[1].split("/", 1)[-1]
        return raw.split("?", 1)[0]
    return None


def route(environ):
    """(operation, ARN, key) when the request is for the data plane, else None.

    A path-style S3 request for a bucket named `key-value-stores` is left to
    moto: it is signed for s3, and KeyValueStore requests are signed (SigV4A)
    for cloudfront-keyvaluestore.
    """
    path = environ.get("PATH_INFO", "")
    if not path.startswith("/key-value-stores/"):
        return None
    auth = environ.get("HTTP_AUTHORIZATION", "")
    if auth and "/cloudfront-keyvaluestore/" not in auth:
        return None
    raw = _raw_path(environ)
    if raw and raw.startswith("/key-value-stores/"):
        # Labels are percent-encoded: an ARN's '/' is %2F, so '/' splits.
        parts = raw[len("/key-value-stores/") :].split("/")
        arn = unquote(parts[0])
        rest = parts[1:]
        key = unquote("/".join(rest[1:])) if len(rest) > 1 else None
        has_keys = bool(rest) and rest[0] == "keys"
        if rest and not has_keys:
            return ("Unknown", arn, None)
    else:  # decoded path only: the ARN ends at its store id
        tail = path[len("/key-value-stores/") :]
        marker = ":key-value-store/"
        at = tail.find(marker)
        if at < 0:
            return ("Unknown", tail, None)
        end = tail.find("/", at + len(marker))
        arn = tail if end < 0 else tail[:end]
        rest = "" if end < 0 else tail[end + 1 :]
        has_keys = rest == "keys" or rest.startswith("keys/")
        key = rest[len("keys/") :] if rest.startswith("keys/") else None
        if rest and not has_keys:
            return ("Unknown", arn, None)
    method = environ.get("REQUEST_METHOD")
    if not has_keys:
        op = {"GET": "DescribeKeyValueStore"}.get(method)
    elif key is None:
        op = {"GET": "ListKeys", "POST": "UpdateKeys"}.get(method)
    else:
        op = {"GET": "GetKey", "PUT": "PutKey", "DELETE": "DeleteKey"}.get(method)
    return (op or "Unknown", arn, key)


def _json_body(environ):
    size = int(environ.get("CONTENT_LENGTH") or 0)
    raw = environ["wsgi.input"].read(size) if size else b""
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise KvsError("ValidationException", "The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise KvsError("ValidationException", "The request body must be a JSON object.")
    return body


def handle(environ, start_response, routed):
    op, arn, key = routed
    request_id = random_id(length=20)
    headers = [("Content-Type", "application/json"), ("x-amzn-RequestId", request_id)]
    try:
        if_match = environ.get("HTTP_IF_MATCH")
        if op == "DescribeKeyValueStore":
            body, etag = describe(arn)
        elif op == "GetKey":
            body, etag = get_key(arn, key)
        elif op == "PutKey":
            body, etag = put_key(arn, key, if_match, _json_body(environ))
        elif op == "DeleteKey":
            body, etag = delete_key(arn, key, if_match)
        elif op == "ListKeys":
            body, etag = list_keys(arn, parse_qs(environ.get("QUERY_STRING", "")))
        elif op == "UpdateKeys":
            body, etag = update_keys(arn, if_match, _json_body(environ))
        else:
            raise KvsError(
                "ValidationException",
                f"No operation of cloudfront-keyvaluestore answers "
                f"{environ.get('REQUEST_METHOD')} {environ.get('PATH_INFO')}.",
            )
    except KvsError as e:
        payload = json.dumps({"message": e.message}).encode()
        headers.append(("x-amzn-ErrorType", e.code))
        headers.append(("Content-Length", str(len(payload))))
        start_response(_STATUS[e.code], headers)
        return [payload]
    payload = json.dumps(body).encode()
    if etag is not None:
        headers.append(("ETag", etag))
    headers.append(("Content-Length", str(len(payload))))
    start_response("200 OK", headers)
    return [payload]
