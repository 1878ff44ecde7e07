"""The emulator's corrections to moto, one module per AWS service, and the
one entry point that installs them, install_all(), which server.py calls
once before moto's server starts. Importing a module changes nothing: every
patch of moto is made by its install(), through common.patch(), which
refuses to patch one attribute twice.

    s3.py                    S3 (bucket policies)
    cloudfront.py            CloudFront's control plane: distributions,
                             origin access controls, error responses,
                             invalidations, a missing If-Match
    cloudfront_functions.py  CloudFront Functions: stages, Update/Publish/
                             Delete/TestFunction, njs
    kvs.py                   KeyValueStores: the control plane's corrections
                             and the data plane (cloudfront-keyvaluestore)
    common.py                patch(), CloudFront errors, the If-Match guard

IAM, STS and Lambda are moto's as they are. Outside this package:
edge.py (the local CloudFront edge) and hooks.py (the front of moto's WSGI
app: routing and the test hooks) install last; policies.py and
function_result.py hold rules the corrections and the edge share, and patch
nothing. Each module's docstring lists its corrections with their sources;
README.md lists them all.
"""


def install_all(njs=None, testfunction_njs=None, request_log=None, request_times=None):
    """Installs everything, in this order, and returns what was patched
    (common.patched()). The arguments are the environment server.py read:
    MAINT_NJS, MAINT_TESTFUNCTION_NJS, MAINT_EMULATOR_REQUEST_LOG,
    MAINT_EMULATOR_REQUEST_TIMES."""
    import edge
    import hooks
    from corrections import cloudfront, cloudfront_functions, common, kvs, s3

    # 1. S3: independent of the others.
    s3.install()
    # 2, 3. KeyValueStores and functions replace CloudFront response methods,
    # those that need If-Match already behind the guard.
    kvs.install()
    cloudfront_functions.install(njs, testfunction_njs)
    # 4. After 2 and 3: its If-Match guard wraps the moto methods they left
    # (before them, it would wrap DeleteFunction's, and their own patch of
    # it would fail as a second patch).
    cloudfront.install()
    # 5. The edge: keeps the raw request headers werkzeug would merge.
    edge.install()
    # 6. Last, the front of moto's WSGI app: routes to the edge and the
    # KeyValueStore data plane, and serves the test hooks.
    hooks.install(request_log, request_times)
    return common.patched()
