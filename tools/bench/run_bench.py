#!/usr/bin/python3
"""dxhub benchmark: a full sync of N generated household rows into the mock
province, beside two references measured in the same run on the same data:

  floor   -- step through the source table fetching every column (C++),
  python  -- the same job in plain Python (sqlite3 + python3-avro, snappy).

Prints rows/s, CPU seconds and peak RSS for each, the hub's and the
province's CPU separately, and the ratios. Figures, not pass/fail.
"""
import argparse
import hashlib
import hmac
import json
import os
import secrets
import selectors
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def child_usage(cmd, env=None):
    """Runs cmd and returns (rc, stdout, stderr, wall, cpu, maxrss_mib) using wait4."""
    started = time.monotonic()
    r_out, w_out = os.pipe()
    r_err, w_err = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.dup2(w_out, 1)
        os.dup2(w_err, 2)
        os.close(r_out)
        os.close(r_err)
        os.execvpe(cmd[0], cmd, env if env is not None else os.environ)
    os.close(w_out)
    os.close(w_err)
    out_chunks, err_chunks = [], []
    sel = selectors.DefaultSelector()
    sel.register(r_out, selectors.EVENT_READ, out_chunks)
    sel.register(r_err, selectors.EVENT_READ, err_chunks)
    open_fds = 2
    while open_fds:
        for key, _ in sel.select():
            data = os.read(key.fd, 65536)
            if not data:
                sel.unregister(key.fd)
                os.close(key.fd)
                open_fds -= 1
            else:
                key.data.append(data)
    _, status, usage = os.wait4(pid, 0)
    wall = time.monotonic() - started
    rc = os.waitstatus_to_exitcode(status)
    cpu = usage.ru_utime + usage.ru_stime
    return rc, b"".join(out_chunks).decode(), b"".join(err_chunks).decode(), wall, cpu, usage.ru_maxrss / 1024


def signed_get(port, path, app_key, secret):
    """A GET signed as the province protocol requires (HMAC-SHA256)."""
    import urllib.request
    ts = str(int(time.time() * 1000))
    nonce = secrets.token_hex(16)
    digest = hashlib.sha256(b"").hexdigest()
    to_sign = "\n".join(["GET", path, ts, nonce, digest, "", "", ""])  # no batch headers
    signature = hmac.new(secret.encode(), to_sign.encode(), hashlib.sha256).hexdigest()
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={
        "X-Dxhub-AppKey": app_key, "X-Dxhub-Timestamp": ts, "X-Dxhub-Nonce": nonce,
        "X-Dxhub-Signature-Method": "HMAC-SHA256", "X-Dxhub-Content-Digest": digest,
        "X-Dxhub-Signature": signature})
    with urllib.request.urlopen(request, timeout=600) as response:
        return json.load(response)["data"]


def proc_cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime + stime


def proc_peak_rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def run_hub(args, bindir, work, source, name, extra, results):
    """One full sync through the hub into a fresh mock province; figures into results[name]."""
    secret = secrets.token_hex(32)
    env = dict(os.environ, DXHUB_PROVINCE_APP_SECRET=secret, DXHUB_APP_SECRET=secret)
    port_file = os.path.join(work, name + "-province.port")
    province = subprocess.Popen(
        [os.path.join(bindir, "dxhub-province"), "--listen", "127.0.0.1:0", "--db",
         os.path.join(work, name + "-province.db"), "--app-key", "bench", "--port-file", port_file,
         "--log-level", "warn"], env=env, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while not (os.path.exists(port_file) and open(port_file).read().strip()):
            if time.monotonic() > deadline or province.poll() is not None:
                sys.exit("mock province did not start")
            time.sleep(0.05)
        port = int(open(port_file).read().strip())
        config = {
            "state_db": os.path.join(work, name + "-state.db"),
            "mappings_dir": os.path.join(ROOT, "mappings"),
            "log_level": "warn",
            "province": {"url": f"http://127.0.0.1:{port}", "app_key": "bench",
                         "app_secret_env": "DXHUB_APP_SECRET"},
            "sync": {"batch_rows": args.batch_rows, "codec": args.codec},
            "plugins": [{"name": "public_security",
                         "path": os.path.join(args.build, "plugins", "libdxhub_public_security.so"),
                         "settings": {"household_db": source}}],
        }
        config.update(extra)
        config_path = os.path.join(work, name + ".json")
        with open(config_path, "w") as f:
            json.dump(config, f)
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
        province.terminate()
        province.wait(timeout=30)


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
    main()
