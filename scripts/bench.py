"""The benchmark behind scripts/bench (run that: it installs what this needs).

Each measurement runs a command as a child process and reads the child's own
resource usage (os.wait4): wall time, and peak resident memory (maxrss).
maint and the AWS CLI run interleaved, round after round, so drift in the
machine's load affects both alike. Medians are reported.

Last, scripts/function-cost.mjs measures the window function's cost per
request on njs, path by path (with the emulator stopped: it needs none).
"""

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REGION = "eu-west-1"
BUCKET = "maint-bench-site"
# The AWS CLI works on a site of its own: its upload would drop the record
# maint keeps in its page's metadata, and send maint to its fallback.
CLI_BUCKET = "maint-bench-cli"
KEY = "maintenance.html"
LATENCY_MS = 30


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(argv, env, cwd):
    """Runs argv (set-up, not measured); returns (seconds, stdout)."""
    started = time.perf_counter()
    proc = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.exit(f"bench: {' '.join(argv)} failed ({proc.returncode}):\n{proc.stderr}")
    return time.perf_counter() - started, proc.stdout


PEAK = None  # scripts/peak.rs, built by scripts/bench


def measure(argv, env, cwd):
    """Runs argv in cwd and returns (seconds, peak KiB), as the small helper
    scripts/peak.rs measures them (a child of this Python process would
    count Python's own memory as its peak)."""
    result = os.path.join(cwd, "last-peak")
    with open(os.path.join(cwd, "last-stderr"), "w") as stderr:
        proc = subprocess.run([PEAK, result] + argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=stderr, check=False)
    with open(result) as f:
        seconds, kib, code = f.read().split()
    if proc.returncode != 0 or code != "0":
        with open(os.path.join(cwd, "last-stderr")) as f:
            sys.exit(f"bench: {' '.join(argv)} failed ({code}):\n{f.read()}")
    return float(seconds), int(kib)


class Emulator:
    def __init__(self, python, work):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = os.path.join(work, "requests.log")
        self.times = os.path.join(work, "request-times.log")
        for path in (self.log, self.times):
            open(path, "w").close()
        env = dict(os.environ, MAINT_EMULATOR_REQUEST_LOG=self.log, MAINT_EMULATOR_REQUEST_TIMES=self.times)
        self.proc = subprocess.Popen(
            [python, os.path.join(ROOT, "emulator/server.py"), "-H", "127.0.0.1", "-p", str(self.port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=open(os.path.join(work, "emulator.log"), "w"),
        )
        for _ in range(200):
            try:
                urllib.request.urlopen(self.url + "/moto-api/", timeout=1)
                return
            except OSError:
                time.sleep(0.1)
        sys.exit("bench: the emulator did not start")

    def clear(self):
        for path in (self.log, self.times):
            open(path, "w").close()

    def requests(self):
        with open(self.log) as f:
            return [line.rstrip("\n") for line in f if line.strip()]

    def times_of(self):
        with open(self.times) as f:
            return [(float(t), rest.strip()) for t, rest in (line.split(" ", 1) for line in f if line.strip())]

    def transition(self, body):
        request = urllib.request.Request(
            self.url + "/moto-api/state-manager/set-transition",
            data=json.dumps(body).encode(),
            method="POST",
        )
        urllib.request.urlopen(request, timeout=5)

    def latency(self, ms):
        request = urllib.request.Request(self.url + "/maint-api/latency", data=str(ms).encode(), method="POST")
        urllib.request.urlopen(request, timeout=5)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


def median(values):
    return statistics.median(values) if values else float("nan")


def mib(kib):
    return kib / 1024


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--aws", required=True)
    parser.add_argument("--python", required=True)
    parser.add_argument("--peak", required=True)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    args.binary, args.aws, args.python = (os.path.abspath(p) for p in (args.binary, args.aws, args.python))
    global PEAK
    PEAK = os.path.abspath(args.peak)
    rounds = 3 if args.quick else 15
    deploys = [2] if args.quick else [5, 15, 30, 60]
    many = int(os.environ.get("BENCH_MANY", 5 if args.quick else 50))

    work = tempfile.mkdtemp(prefix="maint-bench-")
    os.chdir(work)
    emulator = Emulator(args.python, work)
    try:
        results = bench(args, emulator, work, rounds, deploys, many)
    finally:
        emulator.stop()
        shutil.rmtree(work, ignore_errors=True)
    results["function"] = function_cost(args)
    out_dir = os.path.join(ROOT, "target/bench")
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "results.json"), "w") as f:
        json.dump(results, f, indent=2)
    print(f"\n(results also in target/bench/results.json; mode: {'quick' if args.quick else 'full'})")


def function_cost(args):
    """The window function's cost per path on njs (scripts/function-cost.mjs
    prints its table and writes its numbers, which go into results.json)."""
    print("\n", flush=True)
    with tempfile.TemporaryDirectory(prefix="maint-function-cost-") as tmp:
        out = os.path.join(tmp, "cost.json")
        argv = [os.environ.get("MAINT_NODE", "node"), os.path.join(ROOT, "scripts/function-cost.mjs"),
                "--binary", args.binary, "--json", out] + (["--quick"] if args.quick else [])
        proc = subprocess.run(argv, cwd=ROOT, check=False)
        if proc.returncode != 0:
            sys.exit(f"bench: scripts/function-cost.mjs failed ({proc.returncode})")
        with open(out) as f:
            return json.load(f)


def bench(args, emulator, work, rounds, deploys, many):
    for name in ("aws-config", "aws-credentials"):
        open(os.path.join(work, name), "w").close()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": work,
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ENDPOINT_URL": emulator.url,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": os.path.join(work, "aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": os.path.join(work, "aws-credentials"),
        "AWS_PAGER": "",
        "NO_COLOR": "1",
    }
    lines = ["environments:", "  bench:", f"    region: {REGION}", f"    bucket: {BUCKET}",
             "  bench-cli:", f"    region: {REGION}", f"    bucket: {CLI_BUCKET}"]
    for i in range(many):
        lines += [f"  many-{i:02}:", f"    region: {REGION}", f"    bucket: maint-bench-many-{i:02}"]
    for secs in deploys:
        lines += [f"  wait-{secs}:", f"    region: {REGION}", f"    bucket: maint-bench-wait-{secs}"]
    config = os.path.join(work, "maint.yaml")
    with open(config, "w") as f:
        f.write("\n".join(lines) + "\n")
    maint = [args.binary, "--config", config]
    aws = [args.aws, "--endpoint-url", emulator.url, "--region", REGION]

    # Set up: the site, and the many environments.
    run(maint + ["-e", "bench", "provision"], env, work)
    run(maint + ["-e", "bench-cli", "provision"], env, work)
    many_envs = [f"many-{i:02}" for i in range(many)]
    run(maint + sum((["-e", e] for e in many_envs), []) + ["provision", "--no-wait"], env, work)
    _, status = run(maint + ["-e", "bench-cli", "status", "--output", "json"], env, work)
    distribution = json.loads(status)["site"]["distribution"]["distribution_id"]
    page = os.path.join(work, "page.html")

    # 1. set-message --invalidate against aws s3 cp + create-invalidation;
    #    status against head-object + get-distribution + list-invalidations.
    jobs = {
        "set-message --invalidate": (
            lambda i: [maint + ["-e", "bench", "set-message", "-m", f"Back soon ({i}).", "--invalidate"]],
            lambda i: [
                aws + ["s3", "cp", page, f"s3://{CLI_BUCKET}/{KEY}", "--content-type", "text/html; charset=utf-8",
                       "--cache-control", "public, max-age=30"],
                aws + ["cloudfront", "create-invalidation", "--distribution-id", distribution, "--paths", "/*"],
            ],
        ),
        "status": (
            lambda i: [maint + ["-e", "bench", "status"]],
            lambda i: [
                aws + ["s3api", "head-object", "--bucket", CLI_BUCKET, "--key", KEY],
                aws + ["cloudfront", "get-distribution", "--id", distribution],
                aws + ["cloudfront", "list-invalidations", "--distribution-id", distribution],
            ],
        ),
    }
    results = {"jobs": {}}
    for name, (ours, theirs) in jobs.items():
        times = {"maint": [], "aws": []}
        peaks = {"maint": [], "aws": []}
        for i in range(rounds):
            with open(page, "w") as f:
                f.write(f"<!doctype html><title>Maintenance</title><p>Back soon ({i}).\n")
            for who, commands in (("maint", ours(i)), ("aws", theirs(i))):
                total, peak = 0.0, 0
                for argv in commands:
                    seconds, kib = measure(argv, env, work)
                    total += seconds
                    peak = max(peak, kib)
                times[who].append(total)
                peaks[who].append(peak)
        # Requests per command, from the emulator's log.
        counts = {}
        for who, commands in (("maint", ours(rounds)), ("aws", theirs(rounds))):
            emulator.clear()
            for argv in commands:
                measure(argv, env, work)
            counts[who] = len(emulator.requests())
        results["jobs"][name] = {
            "maint_s": median(times["maint"]),
            "aws_s": median(times["aws"]),
            "maint_mib": mib(median(peaks["maint"])),
            "aws_mib": mib(median(peaks["aws"])),
            "maint_requests": counts["maint"],
            "aws_requests": counts["aws"],
        }

    # 2. How late waiting notices a deploy that takes N s: the emulator keeps
    #    a new distribution InProgress for N s (moto's state manager), and
    #    its timed log shows when CreateDistribution arrived and when maint
    #    first asked after the deploy ended.
    results["waits"] = {}
    for secs in deploys:
        emulator.transition({"model_name": "cloudfront::distribution",
                             "transition": {"progression": "time", "seconds": secs}})
        emulator.clear()
        run(maint + ["-e", f"wait-{secs}", "provision"], env, work)
        times = emulator.times_of()
        created = next(t for t, r in times if r == "POST /2020-05-31/distribution")
        deployed = created + secs
        noticed = next(t for t, r in times if r.startswith("GET /2020-05-31/distribution/") and t > deployed)
        results["waits"][secs] = noticed - deployed
    emulator.transition({"model_name": "cloudfront::distribution", "transition": {"progression": "immediate"}})

    # 3. status over many environments: --all against one run each.
    all_args = maint + sum((["-e", e] for e in many_envs), []) + ["status"]
    once, separate = [], []
    for _ in range(max(1, rounds // 3)):
        once.append(measure(all_args, env, work)[0])
        started = time.perf_counter()
        for e in many_envs:
            measure(maint + ["-e", e, "status"], env, work)
        separate.append(time.perf_counter() - started)
    results["many"] = {"environments": many, "all_s": median(once), "separate_s": median(separate)}
    # The same with a network round trip: the emulator answers in about a
    # millisecond, AWS from a laptop or a CI runner in tens of them, and that
    # is where running environments concurrently pays.
    emulator.latency(LATENCY_MS)
    once, separate = [], []
    for _ in range(max(1, rounds // 5)):
        once.append(measure(all_args, env, work)[0])
        started = time.perf_counter()
        for e in many_envs:
            measure(maint + ["-e", e, "status"], env, work)
        separate.append(time.perf_counter() - started)
    # set-message --invalidate with the same round trip: what overlapping
    # requests saves where requests cost time, not the emulator's CPU.
    ours, theirs = jobs["set-message --invalidate"]
    mine, cli = [], []
    for i in range(max(1, rounds // 5)):
        mine.append(sum(measure(argv, env, work)[0] for argv in ours(100 + i)))
        cli.append(sum(measure(argv, env, work)[0] for argv in theirs(100 + i)))
    results["jobs"]["set-message --invalidate"]["maint_latency_s"] = median(mine)
    results["jobs"]["set-message --invalidate"]["aws_latency_s"] = median(cli)
    emulator.latency(0)
    results["many"]["latency_ms"] = LATENCY_MS
    results["many"]["all_latency_s"] = median(once)
    results["many"]["separate_latency_s"] = median(separate)

    # 4. The binary: size, and start-up (--version); what measuring adds.
    results["measuring_overhead_mib"] = mib(measure(["/bin/true"], env, work)[1])
    startup = [measure([args.binary, "--version"], env, work)[0] for _ in range(20)]
    results["binary"] = {
        "path": os.path.relpath(args.binary, ROOT),
        "bytes": os.path.getsize(args.binary),
        "version_s": median(startup),
        "version_mib": mib(measure([args.binary, "--version"], env, work)[1]),
    }
    report(results, rounds)
    return results


def report(results, rounds):
    print(f"\nmaint against the AWS CLI on the local emulator, medians of {rounds} interleaved rounds\n")
    print(f"{'job':26} {'maint':>9} {'aws cli':>9} {'ratio':>7} {'maint MiB':>10} {'aws MiB':>8} {'requests':>10}")
    for name, r in results["jobs"].items():
        ratio = r["aws_s"] / r["maint_s"] if r["maint_s"] else float("nan")
        print(f"{name:26} {r['maint_s'] * 1000:7.0f}ms {r['aws_s'] * 1000:7.0f}ms {ratio:6.1f}x "
              f"{r['maint_mib']:10.1f} {r['aws_mib']:8.1f} {r['maint_requests']:>4} / {r['aws_requests']:<4}")
    sm = results["jobs"]["set-message --invalidate"]
    print(f"  with {results['many']['latency_ms']} ms per request, as over a network: set-message --invalidate "
          f"{sm['maint_latency_s'] * 1000:.0f}ms, aws cli {sm['aws_latency_s'] * 1000:.0f}ms "
          f"({sm['aws_latency_s'] / sm['maint_latency_s']:.1f}x)")
    print("\nwaiting: how late a finished deploy is noticed")
    for secs, late in results["waits"].items():
        print(f"  deploy of {secs:>3} s: noticed {late:.2f} s after it finished")
    m = results["many"]
    ratio = m["separate_s"] / m["all_s"] if m["all_s"] else float("nan")
    print(f"\nstatus over {m['environments']} environments: --all {m['all_s']:.2f} s, "
          f"{m['environments']} separate runs {m['separate_s']:.2f} s ({ratio:.1f}x)")
    ratio_latency = m["separate_latency_s"] / m["all_latency_s"] if m["all_latency_s"] else float("nan")
    print(f"  with {m['latency_ms']} ms per request, as over a network: --all {m['all_latency_s']:.2f} s, "
          f"separate runs {m['separate_latency_s']:.2f} s ({ratio_latency:.1f}x)")
    b = results["binary"]
    print(f"\nbinary {b['path']}: {b['bytes'] / 1e6:.1f} MB; --version in {b['version_s'] * 1000:.1f} ms, "
          f"{b['version_mib']:.1f} MiB")
    print(f"(peak memory as measured by scripts/peak.rs, which itself adds up to "
          f"{results['measuring_overhead_mib']:.1f} MiB: /bin/true measures that much)")
    sm = results["jobs"]["set-message --invalidate"]
    targets = [
        ("set-message --invalidate >= 50x faster than the AWS CLI", sm["aws_s"] / sm["maint_s"] >= 50),
        ("set-message --invalidate peak memory <= 12 MiB", sm["maint_mib"] <= 12),
        ("binary <= 15 MB", b["bytes"] <= 15e6),
        ("deploys noticed <= 2 s late", all(late <= 2 for late in results["waits"].values())),
        (f"status --all >= 5x faster than {m['environments']} runs (emulator as is)", ratio >= 5),
        (f"status --all >= 5x faster than {m['environments']} runs ({m['latency_ms']} ms per request)",
         ratio_latency >= 5),
    ]
    print("\ntargets (issue 10; judged on the full run, never in CI):")
    for text, met in targets:
        print(f"  {'met ' if met else 'MISSED'}  {text}")


if __name__ == "__main__":
    main()
