#!/usr/bin/python3
"""dxhub benchmark: a full sync of N generated household rows into the mock
province, beside two references measured in the same run on the same data:

  floor   -- step through the source table fetching every column (C++),
  python  -- the same job in plain Python (sqlite3 + python3-avro, snappy).

Prints rows/s, CPU seconds and peak RSS for each, the hub's and the
province's CPU separately, and the ratios. Figures, not pass/fail.
"""
import argparse
import json
import os
import secrets
import shutil
import sys
import tempfile
import time

from bench_common import (ROOT, BenchError, child_usage, hub_config, hub_env, plugin_entry, proc_cpu_seconds,
                          proc_peak_rss_mib, signed_get, start_province, stop_process, write_json)


def run_hub(args, bindir, work, source, name, extra, results):
    """One full sync through the hub into a fresh mock province; figures into results[name]."""
    secret = secrets.token_hex(32)
    env = hub_env(secret)
    province, port = start_province(bindir, work, name, env)
    try:
        config = hub_config(work, name, port,
                            [plugin_entry(args.build, "public_security", {"household_db": source})],
                            sync={"batch_rows": args.batch_rows, "codec": args.codec})
        config.update(extra)
        config_path = write_json(os.path.join(work, name + ".json"), config)
        province_cpu0 = proc_cpu_seconds(province.pid)
        rc, out, err, wall, cpu, rss = child_usage(
            [os.path.join(bindir, "dxhub"), "-c", config_path, "sync", "--json"], env=env)
        province_cpu = proc_cpu_seconds(province.pid) - province_cpu0
        province_rss = proc_peak_rss_mib(province.pid)
        if rc != 0:
            sys.exit(f"dxhub sync failed (exit {rc}): {err[-2000:]}")
        summary = json.loads(out)
        delivered = summary["totals"]["rows_delivered"]
        results[name] = {"rows": delivered, "wall": wall, "cpu": cpu + province_cpu, "rss": rss,
                         "hub_cpu": cpu, "province_cpu": province_cpu, "province_rss": province_rss,
                         "batches": summary["totals"]["batches"]}
        # The province defers its per-key upserts to the next read: measure that read apart.
        apply_cpu0 = proc_cpu_seconds(province.pid)
        t0 = time.monotonic()
        held = signed_get(port, "/api/v1/resources/household_population", "bench", secret)
        results[name + "_province_apply"] = {"wall": time.monotonic() - t0,
                                             "cpu": proc_cpu_seconds(province.pid) - apply_cpu0,
                                             "records": held["records"]}
    finally:
        stop_process(province)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--codec", default="snappy")
    ap.add_argument("--batch-rows", type=int, default=50_000)
    ap.add_argument("--skip-python", action="store_true", help="skip the (slow) Python reference")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    ap.add_argument("--compare-durability", action="store_true",
                    help='also run the hub with "state_synchronous": "normal" (the cost of fsync per commit)')
    args = ap.parse_args()

    bindir = os.path.join(args.build, "bin")
    work = tempfile.mkdtemp(prefix="dxhub-bench-")
    source = os.path.join(work, "public_security.db")
    results = {}
    try:
        t0 = time.monotonic()
        rc, out, err, *_ = child_usage([os.path.join(bindir, "dxhub-sample"), "household", "--db", source,
                                        "--rows", str(args.rows)])
        if rc != 0:
            sys.exit(f"sample generation failed: {err}")
        print(f"generated {args.rows} rows in {time.monotonic() - t0:.1f} s ({os.path.getsize(source) / 2**20:.0f} MiB)")

        # Floor: plain scan, and the cursor-ordered scan the connector does.
        for name, extra in (("floor", []), ("floor_ordered", ["ordered"])):
            rc, out, err, wall, cpu, rss = child_usage([os.path.join(bindir, "dxhub-bench-floor"), source] + extra)
            if rc != 0:
                sys.exit(f"floor failed: {err}")
            rows = json.loads(out)["rows"]
            results[name] = {"rows": rows, "wall": wall, "cpu": cpu, "rss": rss}

        if not args.skip_python:
            rc, out, err, wall, cpu, rss = child_usage(
                ["/usr/bin/python3", os.path.join(ROOT, "tools", "bench", "python_reference.py"), source,
                 os.path.join(ROOT, "mappings", "public_security"), os.path.join(work, "python.avro")])
            if rc != 0:
                sys.exit(f"python reference failed: {err}")
            results["python"] = {"rows": json.loads(out)["rows"], "wall": wall, "cpu": cpu, "rss": rss}

        # The hub against the mock province, both on this machine's cores:
        # once per variant, each with a fresh state and a fresh province.
        variants = [("dxhub", {})]
        if args.compare_durability:
            variants.append(("dxhub_normal", {"state_synchronous": "normal"}))
        for name, extra in variants:
            run_hub(args, bindir, work, source, name, extra, results)
    finally:
        if args.keep:
            print(f"work directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    print()
    print(f"{'job':<16}{'rows':>10}{'wall s':>9}{'rows/s':>12}{'CPU s':>9}{'peak RSS MiB':>14}")
    for name, r in results.items():
        if name.endswith("province_apply"):
            continue
        rate = r["rows"] / r["wall"] if r["wall"] > 0 else 0
        r["rate"] = rate
        print(f"{name:<16}{r['rows']:>10}{r['wall']:>9.2f}{rate:>12.0f}{r['cpu']:>9.2f}{r['rss']:>14.1f}")
    hub = results["dxhub"]
    print()
    print(f"dxhub: hub CPU {hub['hub_cpu']:.2f} s, province CPU {hub['province_cpu']:.2f} s, "
          f"hub peak RSS {hub['rss']:.1f} MiB, province peak RSS {hub['province_rss']:.1f} MiB, "
          f"{hub['batches']} batches, codec {args.codec}")
    apply = results["dxhub_province_apply"]
    print(f"province deferred upsert (first read after the sync): {apply['records']} current records, "
          f"{apply['wall']:.2f} s wall, {apply['cpu']:.2f} s CPU (not in the figures above: receipts do not wait for it)")
    print(f"ratio dxhub / floor          rows/s: {hub['rate'] / results['floor']['rate']:.3f}  (aim >= 0.5)")
    print(f"ratio dxhub / floor_ordered  rows/s: {hub['rate'] / results['floor_ordered']['rate']:.3f}")
    if "dxhub_normal" in results:
        normal = results["dxhub_normal"]
        print(f"ratio dxhub_normal / floor   rows/s: {normal['rate'] / results['floor']['rate']:.3f}  "
              f"(synchronous=NORMAL; FULL costs {100 * (1 - hub['rate'] / normal['rate']):.1f} % of rows/s)")
    if "python" in results:
        print(f"ratio dxhub / python         rows/s: {hub['rate'] / results['python']['rate']:.1f}")


if __name__ == "__main__":
    try:
        main()
    except BenchError as e:
        sys.exit(f"benchmark stopped: {e}")
