#!/usr/bin/python3
"""Real-time benchmark (a figure, not a test): `dxhub run` with push ingest
and the mock province on these same cores; `dxhub-sample push-events` posts
household-registration change events, one per post, at each rate for the
given time. Printed per rate:

  hub latency   accepted by the endpoint -> the batch's receipt recorded at the
                hub (dxhub_ingest_event_latency_seconds, exact to 1 ms):
                p50 / p99 / max, beside the aim (p99 < 250 ms) and the run's
                own references: the linger bound (ingest.linger_ms) and the
                mean upload round trip (dxhub_upload_duration_seconds);
  ack latency   the client's post -> 200 answer (durable in the state),
  CPU           of the daemon and the province, per 1000 events/s.

usage: realtime_bench.py [--rates 500,2000] [--seconds 60] [--concurrency 4] [--linger-ms 200]
                         [--build BUILD] [--keep]
"""
import argparse
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

from bench_common import (BenchError, hub_config, hub_env, plugin_entry, proc_cpu_seconds, signed_get,
                          start_province, stop_process, wait_until, write_json)

AIM_P99_MS = 250
RESOURCE_PATH = "/api/v1/resources/household_population"


def logged_port(log_path, marker, process, timeout=30):
    found = []

    def logged():
        with open(log_path, errors="replace") as f:
            m = re.search(re.escape(marker) + r"(\d+)", f.read())
        if m:
            found.append(int(m.group(1)))
        return bool(found)
    wait_until(logged, timeout, f"daemon log line '{marker}'", process=process)
    return found[0]


def metric(text, series):
    m = re.search(r"^" + re.escape(series) + r" ([0-9.e+-]+)$", text, re.M)
    return float(m.group(1)) if m else None


def bench_rate(args, bindir, work, rate):
    name = f"rt{rate}"
    secret = secrets.token_hex(32)
    ingest_secret = secrets.token_hex(32)
    env = dict(hub_env(secret), DXHUB_INGEST_SECRET=ingest_secret)
    processes = []
    try:
        province, port = start_province(bindir, work, name, env)
        processes.append(province)
        config = hub_config(work, name, port, [dict(
            plugin_entry(args.build, "public_security", {"household_db": os.path.join(work, "unused.db")}),
            sources={"household_population": {"connector": "push", "settings": {}}})])
        config["log_level"] = "info"
        config["daemon"] = {"metrics_listen": "127.0.0.1:0", "shutdown_grace_seconds": 20}
        config["ingest"] = {"listen": "127.0.0.1:0", "linger_ms": args.linger_ms,
                            "app_keys": [{"app_key": "bench-push", "plugin": "public_security",
                                          "secret_env": "DXHUB_INGEST_SECRET"}]}
        config_path = write_json(os.path.join(work, name + ".json"), config)
        log_path = os.path.join(work, name + "-daemon.log")
        with open(log_path, "wb") as log:
            daemon = subprocess.Popen([os.path.join(bindir, "dxhub"), "-c", config_path, "run"], env=env,
                                      stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        processes.append(daemon)
        ingest_port = logged_port(log_path, "push endpoint on http://127.0.0.1:", daemon)
        metrics_port = logged_port(log_path, "metrics on http://127.0.0.1:", daemon)

        cpu_daemon0, cpu_province0, t0 = proc_cpu_seconds(daemon.pid), proc_cpu_seconds(province.pid), time.monotonic()
        latency_out = os.path.join(work, name + "-posts.jsonl")
        poster = subprocess.run(
            [os.path.join(bindir, "dxhub-sample"), "push-events", "--url", f"http://127.0.0.1:{ingest_port}",
             "--app-key", "bench-push", "--secret-env", "DXHUB_INGEST_SECRET", "--seconds", str(args.seconds),
             "--rate", str(rate), "--records-per-post", "1", "--concurrency", str(args.concurrency),
             "--seed", str(rate), "--latency-out", latency_out, "--json"],
            env=env, capture_output=True, text=True, timeout=args.seconds * 3 + 120)
        if poster.returncode != 0:
            raise BenchError(f"push-events exited {poster.returncode}: {poster.stdout[-800:]} {poster.stderr[-800:]}")
        summary = json.loads(poster.stdout)
        accepted = summary.get("accepted", summary.get("events"))
        wait_until(lambda: signed_get(port, RESOURCE_PATH, "bench", secret, timeout=60)["rows_received"] >= accepted,
                   120, "the province receiving every event", interval=0.1, process=daemon)
        t1 = time.monotonic()
        cpu_daemon = proc_cpu_seconds(daemon.pid) - cpu_daemon0
        cpu_province = proc_cpu_seconds(province.pid) - cpu_province0
        with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=30) as r:
            text = r.read().decode()
        stop_process(daemon)
        stop_process(province)
    finally:
        for p in processes:
            stop_process(p, timeout=10)

    q = {k: metric(text, f'dxhub_ingest_event_latency_seconds{{quantile="{k}"}}') for k in ("0.5", "0.99", "1")}
    count = metric(text, "dxhub_ingest_event_latency_seconds_count")
    upload_sum = metric(text, 'dxhub_upload_duration_seconds_sum{resource="household_population"}') or 0
    upload_count = metric(text, 'dxhub_upload_duration_seconds_count{resource="household_population"}') or 0
    batches = metric(text, "dxhub_ingest_batches_total")
    commits = metric(text, "dxhub_ingest_commits_total")
    upload_ms = 1000 * upload_sum / upload_count if upload_count else float("nan")
    p50, p99, mx = (1000 * q["0.5"], 1000 * q["0.99"], 1000 * q["1"])
    acks = []
    with open(latency_out) as f:
        for line in f:
            post = json.loads(line)
            if post.get("answered_at_ms"):
                acks.append(post["answered_at_ms"] - post["sent_at_ms"])
    acks.sort()

    def pct(p):
        return acks[min(len(acks) - 1, int(p * len(acks)))] if acks else float("nan")
    achieved = accepted / args.seconds
    print(f"\n{rate} events/s asked, {achieved:.0f}/s posted for {args.seconds} s: {accepted} events accepted, "
          f"{int(count or 0)} timed, {int(batches or 0)} batches, {int(commits or 0)} staging commits")
    print(f"  hub latency  p50 {p50:6.0f} ms  p99 {p99:6.0f} ms  max {mx:6.0f} ms   "
          f"(aim p99 < {AIM_P99_MS} ms: {'met' if p99 < AIM_P99_MS else 'MISSED'}; p99 / aim {p99 / AIM_P99_MS:.2f})")
    print(f"  references   linger {args.linger_ms} ms (p50 / linger {p50 / args.linger_ms:.2f}), mean upload round trip "
          f"{upload_ms:.1f} ms (p99 - linger = {p99 - args.linger_ms:.0f} ms = {(p99 - args.linger_ms) / upload_ms:.1f} uploads)")
    print(f"  ack latency  p50 {pct(0.5):6.0f} ms  p99 {pct(0.99):6.0f} ms  max {acks[-1] if acks else 0:6.0f} ms "
          f"(post -> 200, durable)")
    wall = t1 - t0
    print(f"  CPU          daemon {100 * cpu_daemon / wall:5.1f} %, province {100 * cpu_province / wall:5.1f} % of one core "
          f"over {wall:.0f} s ({100 * cpu_daemon / wall / (achieved / 1000):.1f} % per 1000 events/s in the daemon)")
    return {"rate": rate, "p50_ms": p50, "p99_ms": p99, "max_ms": mx}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rates", default="500,2000")
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--linger-ms", type=int, default=200)
    ap.add_argument("--build", default=os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__)))), "build"))
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    args.build = os.path.abspath(args.build)
    work = tempfile.mkdtemp(prefix="dxhub-realtime-bench-")
    print(f"real time: one event per post, {args.concurrency} connections, linger {args.linger_ms} ms; "
          f"daemon, province and client on these {os.cpu_count()} cores")
    ok = False
    try:
        for rate in [int(r) for r in args.rates.split(",")]:
            bench_rate(args, os.path.join(args.build, "bin"), work, rate)
        ok = True
    except BenchError as e:
        print(f"realtime bench: {e} (work dir {work})", file=sys.stderr)
    finally:
        if ok and not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
