"""Runs the pinned moto server for maint's tests and demo, made more
faithful to AWS where maint depends on it: the launcher. What the emulator
corrects, its hooks and how to add a correction: emulator/README.md. The
code follows AWS; where moto accepts what AWS refuses, or answers otherwise,
the emulator corrects moto (corrections/, one module per service, each
correction citing its source), serves what moto lacks (the KeyValueStore
data plane, the CloudFront edge: edge.py), and adds test hooks (hooks.py).

Usage: python emulator/server.py -H HOST -p PORT [moto_server options]
(the options are moto_server's, passed on as they are).

Environment, read here and passed to corrections.install_all():
- MAINT_EMULATOR_REQUEST_LOG, MAINT_EMULATOR_REQUEST_TIMES: files to log
  each API request to, and the time it arrived (hooks.py).
- MAINT_NJS: the njs that runs CloudFront Functions (default `njs`);
  MAINT_TESTFUNCTION_NJS: the one TestFunction runs, when it should differ
  from the edge's (corrections/cloudfront_functions.py).
"""

import os
import sys


def main(argv):
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    sys.dont_write_bytecode = True  # no emulator/__pycache__ in the work tree
    import corrections

    corrections.install_all(
        njs=os.environ.get("MAINT_NJS"),
        testfunction_njs=os.environ.get("MAINT_TESTFUNCTION_NJS"),
        request_log=os.environ.get("MAINT_EMULATOR_REQUEST_LOG"),
        request_times=os.environ.get("MAINT_EMULATOR_REQUEST_TIMES"),
    )
    from moto.server import main as moto_main

    moto_main(argv)


if __name__ == "__main__":
    main(sys.argv[1:])
