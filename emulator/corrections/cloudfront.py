"""CloudFront's control plane: distributions, origin access controls,
invalidations, error responses, and the If-Match header, corrected where
moto answers otherwise than AWS. (Functions: cloudfront_functions.py;
KeyValueStores: kvs.py; the edge that serves distributions: edge.py.)

1. Origin access controls: AWS keeps names unique in an account (409
   OriginAccessControlAlreadyExists) and at most 64 characters
   (CreateOriginAccessControl: "You can specify up to 64 characters"); a
   delete of one that is gone is 404 NoSuchOriginAccessControl. moto
   accepted duplicates and long names, and answered 500.
2. Custom error responses: AWS accepts only the codes CloudFront can
   customise (400, 403, 404, 405, 414, 416, 500-504) and refuses others with
   400 InvalidErrorCode / InvalidResponseCode; moto stored 999.
3. Cache and origin request policies (the rules: policies.py): a behavior's
   CachePolicyId and OriginRequestPolicyId must name a policy that exists;
   moto has no CreateCachePolicy/CreateOriginRequestPolicy, so only the AWS
   managed ones do (404 NoSuchCachePolicy / NoSuchOriginRequestPolicy
   otherwise; moto accepted any id). An origin request policy needs a cache
   policy, and a behavior without a cache policy needs ForwardedValues (400
   InvalidArgument "The parameter ForwardedValues is required.", AWS's
   message).
4. Distributions keep the FunctionAssociations and LambdaFunctionAssociations
   of their cache behaviors (moto read them back as Quantity 0). An
   association must name a published function ("You can only associate
   cache behaviors with functions that are in the LIVE stage"), on
   viewer-request or viewer-response, one per event type, Quantity equal to
   the items: 400 InvalidFunctionAssociation / InconsistentQuantities (the
   check: cloudfront_functions.check_associations).
5. UpdateDistribution and DeleteDistribution compare If-Match with the
   current ETag (412 PreconditionFailed; moto took any value) and each
   update gives the distribution a new ETag (moto kept the first).
6. DeleteDistribution of a distribution that is still enabled is 409
   DistributionNotDisabled (DeleteDistribution's errors: "The specified
   CloudFront distribution is not disabled. You must disable the
   distribution before you can delete it"); moto deleted it.
7. Origins keep their OriginAccessControlId (Origin in the API reference:
   "The unique identifier of an origin access control for this origin"),
   which moto dropped: a distribution read back named no OAC. The edge
   reads the OAC through it too.
8. Invalidations: AWS reports Status InProgress, then Completed
   (GetInvalidation: "When the invalidation batch is finished, the status
   is Completed"; CreateInvalidation answers InProgress). moto answered
   COMPLETED at once. The emulator answers InProgress for a time a test
   sets (POST /maint-api/invalidation-seconds with a number, hooks.py; 0 at
   start), then Completed.
9. CreateInvalidation with a CallerReference already used on the
   distribution: with the same paths AWS creates nothing and returns the
   invalidation made before; with other paths it answers
   InvalidationBatchAlreadyExists (InvalidationBatch.CallerReference in the
   API reference; the model gives that error no status code, the emulator
   answers 400). moto created a second invalidation, so a retried create
   whose answer was lost looked like two.
10. A CloudFront request without the If-Match header its operation requires
   (UpdateFunction, PublishFunction, TestFunction, DeleteFunction,
   UpdateKeyValueStore, DeleteKeyValueStore, ...) reached no operation in
   moto, which routes on required headers, and got an empty 404. AWS
   answers 400 InvalidIfMatchVersion ("The If-Match version is missing or
   not valid for the resource"), as the emulator now does. (The Rust SDK
   leaves out a header whose value is empty, so this is what an empty ETag
   turns into.) The operations are read from botocore's model; a module
   that replaces one of their response methods puts it behind the check
   itself (common.patch_response), and install() here guards the rest, so
   it runs after kvs.install() and cloudfront_functions.install().

Patched (install): CloudFrontBackend.create_origin_access_control,
delete_origin_access_control, create_distribution_with_tags,
update_distribution, delete_distribution, create_invalidation;
DefaultCacheBehaviour.__init__ (CacheBehaviour inherits it); Origin.__init__;
Invalidation.__init__ and Invalidation.status; SmithyRule._initialize_candidates;
CloudFrontResponse.update_key_value_store (the If-Match guard).
"""

from moto.cloudfront import models as cloudfront
from moto.cloudfront.exceptions import CloudFrontException
from moto.cloudfront.models import random_id
from moto.cloudfront.responses import CloudFrontResponse

import policies
from corrections import cloudfront_functions
from corrections.common import error, guarded, if_match_operations, is_patched, list_of, patch, precondition_failed

Backend = cloudfront.CloudFrontBackend


def _invalid(message, code="InvalidArgument"):
    return CloudFrontException(code, message)


# --- 1. origin access controls ----------------------------------------------


def _delete_origin_access_control(self, control_id):
    if control_id not in self.origin_access_controls:
        raise CloudFrontException(
            "NoSuchOriginAccessControl", "The specified origin access control does not exist."
        )
    self.origin_access_controls.pop(control_id)


def _install_origin_access_controls():
    create_oac = Backend.create_origin_access_control

    def create_origin_access_control(self, config_dict):
        name = config_dict.get("Name") or ""
        if not 1 <= len(name) <= 64:
            raise _invalid(f"The parameter Name is too long ({len(name)} characters; at most 64).")
        if any(o.name == name for o in self.origin_access_controls.values()):
            raise CloudFrontException(
                "OriginAccessControlAlreadyExists",
                f"An origin access control with the specified parameters already exists: {name}",
            )
        return create_oac(self, config_dict)

    patch(Backend, "create_origin_access_control", create_origin_access_control)
    patch(Backend, "delete_origin_access_control", _delete_origin_access_control)


# --- 2, 3. what a distribution config may say ----------------------------------

_ERROR_CODES = {"400", "403", "404", "405", "414", "416", "500", "501", "502", "503", "504"}
_RESPONSE_CODES = _ERROR_CODES | {"200"}


def _check_error_responses(distribution_config):
    responses = (distribution_config or {}).get("CustomErrorResponses") or {}
    for item in list_of(responses.get("Items"), "CustomErrorResponse"):
        code = str(item.get("ErrorCode"))
        if code not in _ERROR_CODES:
            raise _invalid(f"The specified error code {code} is not valid.", "InvalidErrorCode")
        response = item.get("ResponseCode")
        if response not in (None, "") and str(response) not in _RESPONSE_CODES:
            raise _invalid(
                f"The specified response code {response} is not valid.", "InvalidResponseCode"
            )


def _check_policies(distribution_config):
    policies.check_distribution(distribution_config, lambda code, message: _invalid(message, code))


# --- 4-6. distributions -----------------------------------------------------------


def _kept(config, name, inner):
    associations = config.get(name) or {}
    items = list_of(associations.get("Items"), inner)
    return {"Quantity": len(items), "Items": items} if items else {"Quantity": 0}


def _enabled(dist):
    enabled = getattr(dist.distribution_config, "Enabled", False)
    return enabled is True or str(enabled).lower() == "true"


def _install_distributions():
    behaviour_init = cloudfront.DefaultCacheBehaviour.__init__

    def behaviour_init_keeping(self, config):
        behaviour_init(self, config)
        self.function_associations = _kept(config, "FunctionAssociations", "FunctionAssociation")
        self.lambda_function_associations = _kept(
            config, "LambdaFunctionAssociations", "LambdaFunctionAssociation"
        )

    create = Backend.create_distribution_with_tags
    update = Backend.update_distribution
    delete = Backend.delete_distribution

    # The checks, in the order they run: a refusal names the first failed.
    def create_checked(self, distribution_config, tags):
        cloudfront_functions.check_associations(self, distribution_config)  # 4
        _check_error_responses(distribution_config)  # 2
        _check_policies(distribution_config)  # 3
        return create(self, distribution_config, tags)

    def update_checked(self, dist_config, _id, if_match):
        dist = self.distributions.get(_id) if _id else None
        if dist is not None and if_match:
            if if_match != dist.etag:  # 5
                raise precondition_failed()
            cloudfront_functions.check_associations(self, dist_config)  # 4
        _check_error_responses(dist_config)  # 2
        _check_policies(dist_config)  # 3
        dist, location, _ = update(self, dist_config, _id, if_match)
        dist.etag = random_id()  # 5
        return dist, location, dist.etag

    def delete_checked(self, distribution_id, if_match):
        dist = self.distributions.get(distribution_id)
        if dist is not None and if_match and if_match != dist.etag:  # 5
            raise precondition_failed()
        if dist is not None and if_match and _enabled(dist):  # 6
            raise error(
                "DistributionNotDisabled",
                "The distribution you are trying to delete has not been disabled.",
            )
        return delete(self, distribution_id, if_match)

    patch(cloudfront.DefaultCacheBehaviour, "__init__", behaviour_init_keeping)
    patch(Backend, "create_distribution_with_tags", create_checked)
    patch(Backend, "update_distribution", update_checked)
    patch(Backend, "delete_distribution", delete_checked)


# --- 7. origins -------------------------------------------------------------------


def _install_origins():
    origin_init = cloudfront.Origin.__init__

    def origin_init_keeping(self, origin):
        origin_init(self, origin)
        self.origin_access_control_id = origin.get("OriginAccessControlId") or ""

    patch(cloudfront.Origin, "__init__", origin_init_keeping)


# --- 8, 9. invalidations ----------------------------------------------------------

_invalidation_seconds = [0.0]


def set_invalidation_seconds(seconds):
    """How long invalidations created from now on stay InProgress (8)."""
    _invalidation_seconds[0] = seconds


def _invalidation_status(self):
    elapsed = (cloudfront.utcnow() - self.create_time).total_seconds()
    return "Completed" if elapsed >= self._takes else "InProgress"


def _install_invalidations():
    invalidation_init = cloudfront.Invalidation.__init__

    def invalidation_init_timed(self, *args, **kwargs):
        self._takes = _invalidation_seconds[0]
        invalidation_init(self, *args, **kwargs)

    create_invalidation = Backend.create_invalidation

    def create_invalidation_once(self, dist_id, paths, caller_ref):
        for earlier in self.invalidations.get(dist_id, []):
            if earlier.caller_ref == caller_ref:
                if list(earlier.paths) == list(paths):
                    return earlier
                raise _invalid(
                    "The CallerReference was used before for other paths.",
                    "InvalidationBatchAlreadyExists",
                )
        return create_invalidation(self, dist_id, paths, caller_ref)

    patch(cloudfront.Invalidation, "__init__", invalidation_init_timed)
    patch(cloudfront.Invalidation, "status", property(_invalidation_status, lambda self, value: None))
    patch(Backend, "create_invalidation", create_invalidation_once)


# --- 10. a missing If-Match -----------------------------------------------------


def _install_if_match():
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

    patch(routing.SmithyRule, "_initialize_candidates", staticmethod(candidates))

    # moto's own methods for those operations; the emulator's own are
    # already behind the check (common.patch_response).
    for name in if_match_operations():
        method = getattr(CloudFrontResponse, name, None)
        if method is not None and not is_patched(CloudFrontResponse, name):
            patch(CloudFrontResponse, name, guarded(method))


def install():
    """After kvs.install() and cloudfront_functions.install() (see 10)."""
    _install_origin_access_controls()
    _install_distributions()
    _install_origins()
    _install_invalidations()
    _install_if_match()
