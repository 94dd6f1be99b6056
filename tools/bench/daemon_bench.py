#!/usr/bin/python3
"""dxhub daemon benchmark (`dxhub run`): figures, not pass/fail, each beside
its aim and, where one makes sense, as a ratio to a reference measured in the
same run.

  idle         the daemon with every sample plugin loaded and nothing to do
               (after its first runs; schedules an hour apart): CPU % and RSS
               from /proc/<pid>/stat and /proc/<pid>/status over --idle-seconds.
               Reference: peak RSS of `dxhub plugins` (binary + plugins loaded).
  incremental  1000 changed rows of an N-row table delivered, for N = --small-rows
               and --large-rows: one-shot `dxhub sync` wall time (reference: a
               one-shot sync with nothing to do), and through a daemon on a
               1-second schedule the time from the change's commit to the
               province counting the rows (signed GET polled every 20 ms).
               Ratio large / small: near 1 = independent of table size.
  memory       peak RSS (VmHWM) of the daemon once its first run has delivered a
               --memory-rows table, beside the one-shot `dxhub sync` of the same
               table (wait4 ru_maxrss), and their ratio.

Everything talks to 127.0.0.1 only; the secret is made per run and never printed;
every process started is stopped on exit, also on Ctrl-C or SIGTERM.
"""
import argparse
import os
import random
import re
import secrets
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

from bench_common import (BenchError, child_usage, hub_config, hub_env, plugin_entry, proc_cpu_seconds,
                          proc_status_mib, signed_get, start_province, stop_process, wait_until, write_json)

RESOURCE_PATH = "/api/v1/resources/household_population"
CHANGED_ROWS = 1000
IDLE_CPU_AIM_PERCENT = 0.5
IDLE_RSS_AIM_MIB = 40
INCREMENTAL_AIM_MS = 200
MEMORY_AIM_MIB = 64
POLL_SECONDS = 0.02


class Bench:
    """One run: its work directory, its secret, the processes it started."""

    def __init__(self, args):
        self.args = args
        self.bindir = os.path.join(args.build, "bin")
        self.work = tempfile.mkdtemp(prefix="dxhub-daemon-bench-")
        self.secret = secrets.token_hex(32)
        self.env = hub_env(self.secret)
        self.processes = []
        self.household_dbs = {}  # rows -> path
        self.change_round = 0

    # ----- processes ---------------------------------------------------------

    def province(self, name):
        process, port = start_province(self.bindir, self.work, name, self.env)
        self.processes.append(process)
        return process, port

    def start_daemon(self, config_path, name):
        log_path = os.path.join(self.work, name + "-daemon.log")
        log = open(log_path, "wb")
        try:
            process = subprocess.Popen([self.dxhub(), "-c", config_path, "run"], env=self.env,
                                       stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        finally:
            log.close()
        self.processes.append(process)
        return process, log_path

    def stop(self, process):
        code = stop_process(process)
        if process in self.processes:
            self.processes.remove(process)
        return code

    def stop_all(self):
        for process in reversed(self.processes):
            try:
                stop_process(process, timeout=20)
            except Exception:  # cleanup goes on for the others
                pass
        self.processes.clear()

    def dxhub(self):
        return os.path.join(self.bindir, "dxhub")

    def run(self, cmd, what):
        rc, out, err, wall, cpu, rss = child_usage(cmd, env=self.env)
        if rc != 0:
            raise BenchError(f"{what} failed (exit {rc}): {err[-1500:]}")
        return out, wall, cpu, rss

    # ----- sources and configs -----------------------------------------------

    def household_db(self, rows):
        """A generated household table of `rows` rows, made once per size."""
        if rows not in self.household_dbs:
            path = os.path.join(self.work, f"household-{rows}.db")
            _, wall, _, _ = self.run([os.path.join(self.bindir, "dxhub-sample"), "household", "--db", path,
                                      "--rows", str(rows)], "sample generation")
            print(f"  generated {rows} household rows in {wall:.1f} s ({os.path.getsize(path) / 2**20:.0f} MiB)")
            self.household_dbs[rows] = path
        return self.household_dbs[rows]

    def change_rows(self, source):
        """Changes CHANGED_ROWS existing rows and returns the monotonic time right
        after the change committed (the generator exits after its commit).
        Each round stamps a later gxsj, after every generated row."""
        self.change_round += 1
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(1893456000 + self.change_round))  # 2030-01-01
        self.run([os.path.join(self.bindir, "dxhub-sample"), "household-changes", "--db", source, "--change",
                  str(CHANGED_ROWS), "--add", "0", "--seed", str(self.change_round), "--timestamp", stamp],
                 "household-changes")
        return time.monotonic()

    def config(self, name, port, plugins, schedules):
        config = hub_config(self.work, name, port, plugins, sync={"batch_rows": self.args.batch_rows})
        config["log_level"] = "info"  # the daemon's "run ended" lines tell when a run is over
        config["daemon"] = {"jitter_seconds": 0, "shutdown_grace_seconds": 20,
                            "schedules": {resource: {"every_seconds": seconds}
                                          for resource, seconds in schedules.items()}}
        return write_json(os.path.join(self.work, name + ".json"), config)

    def public_security(self, source):
        return plugin_entry(self.args.build, "public_security", {"household_db": source})

    def received(self, port, timeout=60, poll="resource"):
        """Rows the province has received for household_population: `rows_received` of
        GET /api/v1/resources/household_population (which first applies the deferred
        upserts and counts the current records), or with poll="batches" the sum of
        `records_accepted` over the receipts of GET .../batches (the same figure
        without that work)."""
        try:
            if poll == "batches":
                receipts = signed_get(port, RESOURCE_PATH + "/batches", "bench", self.secret, timeout=timeout)
                return sum(r["records_accepted"] for r in receipts["batches"])
            return signed_get(port, RESOURCE_PATH, "bench", self.secret, timeout=timeout)["rows_received"]
        except OSError as e:
            if getattr(e, "code", None) == 404:  # nothing received yet
                return 0
            raise


def run_ended_count(log_path, resource=None):
    with open(log_path, errors="replace") as f:
        text = f.read()
    pattern = r"daemon: resource (\S+): run ended: "
    return sum(1 for m in re.finditer(pattern, text) if resource is None or m.group(1) == resource)


LOG_LINE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d{3}) \S+\s+(.*)$")


def delivering_run(log_path, after_wall):
    """From the daemon's log (local-time stamps, ms): the first run that
    delivered CHANGED_ROWS or more rows after wall time `after_wall`, as
    (sync started, delivered) wall times, or None."""
    started = None
    with open(log_path, errors="replace") as f:
        for line in f:
            m = LOG_LINE.match(line.rstrip("\n"))
            if not m:
                continue
            stamp = time.mktime(time.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S")) + int(m.group(2)) / 1000
            text = m.group(3)
            if text.endswith(": sync started"):
                started = stamp
                continue
            done = re.search(r": read \d+ rows, .* delivered (\d+) rows", text)
            if done and int(done.group(1)) >= CHANGED_ROWS and stamp >= after_wall - 0.001 and started is not None:
                return started, stamp
    return None


def sync_timeout(rows):
    """A generous bound for a full sync of `rows` rows on a busy machine."""
    return 120 + rows / 2000


def aim(value, limit, unit):
    return f"aim < {limit} {unit}: {'met' if value < limit else 'MISSED'}"


# ----- 1. idle -----------------------------------------------------------------

def bench_idle(bench):
    args = bench.args
    print(f"\nidle: the daemon with every sample plugin, nothing to do, sampled over {args.idle_seconds} s")
    source = bench.household_db(args.idle_rows)
    enterprise_db = os.path.join(bench.work, "enterprise.db")
    bench.run([os.path.join(bench.bindir, "dxhub-sample"), "enterprise", "--db", enterprise_db, "--rows",
               str(args.idle_enterprise_rows)], "enterprise sample generation")
    api = subprocess.Popen([os.path.join(bench.bindir, "dxhub-agency-api"), "--db", enterprise_db, "--table",
                            "enterprise_basic", "--key", "id", "--updated-column", "gxsj", "--listen",
                            "127.0.0.1:0", "--auth", "none"], env=bench.env, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    bench.processes.append(api)
    ready = select.select([api.stdout], [], [], 20)[0]  # "listening on PORT", printed once bound
    line = api.stdout.readline() if ready else ""
    match = re.match(r"listening on (\d+)", line)
    if not match:
        raise BenchError(f"dxhub-agency-api did not start: {line!r}")
    drop_dir = os.path.join(bench.work, "housing-drop")
    os.makedirs(drop_dir)

    province, port = bench.province("idle")
    plugins = [bench.public_security(source),
               plugin_entry(args.build, "market_regulation", {"register_api_url": f"http://127.0.0.1:{match.group(1)}"}),
               plugin_entry(args.build, "housing", {"drop_dir": drop_dir, "encoding": "utf-8"})]
    resources = ("household_population", "enterprise_basic", "housing_units")
    config_path = bench.config("idle", port, plugins, {r: 3600 for r in resources})

    # Reference: the same binary with the same plugins loaded, doing nothing else.
    _, _, _, plugins_rss = bench.run([bench.dxhub(), "-c", config_path, "plugins"], "dxhub plugins")

    daemon, log_path = bench.start_daemon(config_path, "idle")
    wait_until(lambda: all(run_ended_count(log_path, r) >= 1 for r in resources), sync_timeout(args.idle_rows),
               "the daemon's first runs", interval=0.2, process=daemon)
    first_runs_peak = proc_status_mib(daemon.pid, "VmHWM")
    delivered = bench.received(port, poll="batches")
    if delivered < args.idle_rows:
        raise BenchError(f"first run delivered {delivered} of {args.idle_rows} household rows")
    with open(log_path, errors="replace") as f:
        endings = sorted(set(re.findall(r"daemon: resource (\S+): run ended: (\S+)", f.read())))
    time.sleep(1)  # let the last run's worker hand back and the loop settle

    cpu0, t0 = proc_cpu_seconds(daemon.pid), time.monotonic()
    rss_samples = []
    deadline = t0 + args.idle_seconds
    while time.monotonic() < deadline:
        if daemon.poll() is not None:
            raise BenchError(f"the daemon exited while idle (code {daemon.returncode})")
        rss_samples.append(proc_status_mib(daemon.pid, "VmRSS"))
        time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
    cpu1, t1 = proc_cpu_seconds(daemon.pid), time.monotonic()
    rss_samples.append(proc_status_mib(daemon.pid, "VmRSS"))
    runs_while_idle = run_ended_count(log_path) - len(resources)
    code = bench.stop(daemon)

    cpu_percent = 100 * (cpu1 - cpu0) / (t1 - t0)
    rss_max = max(rss_samples)
    print(f"  first runs: {', '.join(f'{r} {s}' for r, s in endings)}; {delivered} household rows delivered")
    print(f"  daemon CPU        {cpu_percent:8.3f} %    ({cpu1 - cpu0:.2f} s over {t1 - t0:.1f} s; "
          f"{aim(cpu_percent, IDLE_CPU_AIM_PERCENT, '%')})")
    print(f"  daemon RSS        {rss_max:8.1f} MiB  (max of {len(rss_samples)} samples, last {rss_samples[-1]:.1f}; "
          f"{aim(rss_max, IDLE_RSS_AIM_MIB, 'MiB')})")
    print(f"  reference `dxhub plugins` peak RSS {plugins_rss:.1f} MiB; ratio idle RSS / reference "
          f"{rss_max / plugins_rss:.2f}; daemon peak RSS during its first runs {first_runs_peak:.1f} MiB")
    print(f"  runs while idle: {runs_while_idle} (expected 0); daemon exit on SIGTERM: {code}")
    bench.stop(province)
    bench.stop(api)
    return {"cpu_percent": cpu_percent, "rss_mib": rss_max}


# ----- 2. incremental ----------------------------------------------------------

def bench_incremental_size(bench, rows):
    args = bench.args
    print(f"\nincremental, {rows} rows:")
    source = bench.household_db(rows)
    name = f"incremental-{rows}"
    province, port = bench.province(name)
    config_path = bench.config(name, port, [bench.public_security(source)], {"household_population": 1})
    sync = [bench.dxhub(), "-c", config_path, "sync", "--json"]

    _, full_wall, _, full_rss = bench.run(sync, "full one-shot sync")
    apply_t0 = time.monotonic()
    received = bench.received(port, timeout=sync_timeout(rows))  # applies the province's deferred upserts
    print(f"  full one-shot sync: {full_wall:.2f} s, peak RSS {full_rss:.1f} MiB; "
          f"province applied {received} rows in {time.monotonic() - apply_t0:.2f} s (not timed below)")
    if received < rows:
        raise BenchError(f"full sync delivered {received} of {rows} rows")

    # Reference: a one-shot sync with nothing to do (process start, plugins, state, one query).
    noop_walls = [bench.run(sync, "no-op sync")[1] for _ in range(args.repeats)]
    oneshot_walls = []
    for _ in range(args.repeats):
        before = bench.received(port, poll="batches")
        bench.change_rows(source)
        out, wall, _, _ = bench.run(sync, "incremental one-shot sync")
        after = bench.received(port, poll="batches")
        if after - before != CHANGED_ROWS:
            raise BenchError(f"incremental one-shot sync delivered {after - before} rows, not {CHANGED_ROWS}")
        oneshot_walls.append(wall)

    # Through the daemon on a 1-second schedule: commit -> province counted the rows.
    daemon, log_path = bench.start_daemon(config_path, name)
    wait_until(lambda: run_ended_count(log_path) >= 1, 60, "the daemon's first run", interval=0.05, process=daemon)
    latencies, poll_costs, run_walls = [], [], []
    phase = random.Random()
    for _ in range(args.repeats):
        # A random phase against the 1-second schedule, so the figures span the
        # wait for the next slot instead of always landing at the same point.
        time.sleep(phase.uniform(0, 1))
        before = bench.received(port, poll="batches")
        committed = bench.change_rows(source)
        committed_wall = time.time() - (time.monotonic() - committed)
        seen = None
        deadline = committed + args.daemon_timeout
        while time.monotonic() < deadline:
            asked = time.monotonic()
            count = bench.received(port, timeout=max(1.0, deadline - asked), poll=args.poll)
            poll_costs.append(time.monotonic() - asked)
            if count >= before + CHANGED_ROWS:
                seen = time.monotonic()
                break
            if daemon.poll() is not None:
                raise BenchError(f"the daemon exited (code {daemon.returncode})")
            time.sleep(POLL_SECONDS)
        if seen is None:
            raise BenchError(f"the daemon did not deliver {CHANGED_ROWS} changed rows within {args.daemon_timeout} s")
        latencies.append(seen - committed)
        # The next change comes once the run that delivered these rows has ended.
        ended = run_ended_count(log_path)
        wait_until(lambda: run_ended_count(log_path) >= ended + 1, 30, "the run's end", interval=0.02,
                   process=daemon)
        run = delivering_run(log_path, committed_wall)
        if run is not None:
            run_walls.append(run[1] - run[0])
    bench.stop(daemon)
    bench.stop(province)

    result = {"rows": rows, "full_wall": full_wall, "full_rss": full_rss,
              "noop": statistics.median(noop_walls), "oneshot": statistics.median(oneshot_walls),
              "daemon": statistics.median(latencies), "daemon_min": min(latencies), "daemon_max": max(latencies),
              "poll": statistics.median(poll_costs),
              "run": statistics.median(run_walls) if run_walls else float("nan")}
    ms = 1000
    print(f"  one-shot `dxhub sync` of {CHANGED_ROWS} changed rows: median {result['oneshot'] * ms:7.0f} ms "
          f"of {args.repeats} ({aim(result['oneshot'] * ms, INCREMENTAL_AIM_MS, 'ms')})")
    print(f"    reference: one-shot sync with nothing to do {result['noop'] * ms:.0f} ms; "
          f"ratio {result['oneshot'] / result['noop']:.2f}; the {CHANGED_ROWS} rows cost "
          f"{(result['oneshot'] - result['noop']) * ms:.0f} ms beyond it")
    print(f"  daemon (1 s schedule) commit -> province: median {result['daemon'] * ms:7.0f} ms, min "
          f"{result['daemon_min'] * ms:.0f}, max {result['daemon_max'] * ms:.0f} of {args.repeats} "
          f"({aim(result['daemon'] * ms, INCREMENTAL_AIM_MS, 'ms')}; includes 0-1 s waiting for the next slot)")
    print(f"    the daemon's run that delivered them (its log: sync started -> delivered): median "
          f"{result['run'] * ms:.0f} ms of {len(run_walls)} ({aim(result['run'] * ms, INCREMENTAL_AIM_MS, 'ms')})")
    print(f"    poll: signed GET {RESOURCE_PATH}{'/batches' if args.poll == 'batches' else ''} every "
          f"{POLL_SECONDS * ms:.0f} ms, each took median {result['poll'] * ms:.1f} ms")
    return result


def bench_incremental(bench):
    args = bench.args
    small = bench_incremental_size(bench, args.small_rows)
    large = bench_incremental_size(bench, args.large_rows)
    print(f"\nincremental, ratio {args.large_rows} / {args.small_rows} rows (near 1 = independent of table size):")
    print(f"  one-shot sync of {CHANGED_ROWS} changed rows  {large['oneshot'] / small['oneshot']:6.2f}")
    print(f"  daemon commit -> province (median)     {large['daemon'] / small['daemon']:6.2f}  "
          f"(min: {large['daemon_min'] / small['daemon_min']:.2f})")
    print(f"  daemon run delivering them (median)    {large['run'] / small['run']:6.2f}")
    print(f"  one-shot sync with nothing to do       {large['noop'] / small['noop']:6.2f}")
    print(f"  full one-shot sync peak RSS            {large['full_rss'] / small['full_rss']:6.2f}  "
          f"({small['full_rss']:.1f} -> {large['full_rss']:.1f} MiB)")
    return {"small": small, "large": large}


# ----- 3. memory ---------------------------------------------------------------

def bench_memory(bench):
    args = bench.args
    rows = args.memory_rows
    print(f"\nmemory: peak RSS of a full sync of {rows} rows")
    source = bench.household_db(rows)
    plugins = [bench.public_security(source)]

    province, port = bench.province("memory-oneshot")
    config_path = bench.config("memory-oneshot", port, plugins, {"household_population": 3600})
    _, oneshot_wall, _, oneshot_rss = bench.run([bench.dxhub(), "-c", config_path, "sync"], "one-shot full sync")
    bench.stop(province)

    province, port = bench.province("memory-daemon")
    config_path = bench.config("memory-daemon", port, plugins, {"household_population": 3600})
    daemon, log_path = bench.start_daemon(config_path, "memory-daemon")
    started = time.monotonic()
    wait_until(lambda: run_ended_count(log_path) >= 1, sync_timeout(rows), "the daemon's first run",
               interval=0.1, process=daemon)
    daemon_wall = time.monotonic() - started
    daemon_hwm = proc_status_mib(daemon.pid, "VmHWM")
    daemon_rss_after = proc_status_mib(daemon.pid, "VmRSS")
    delivered = bench.received(port, poll="batches")  # receipts only: no deferred upserts applied
    bench.stop(daemon)
    bench.stop(province)
    if delivered < rows:
        raise BenchError(f"the daemon's first run delivered {delivered} of {rows} rows")

    print(f"  daemon first run  peak RSS (VmHWM) {daemon_hwm:7.1f} MiB  ({aim(daemon_hwm, MEMORY_AIM_MIB, 'MiB')}); "
          f"RSS after the run {daemon_rss_after:.1f} MiB; {daemon_wall:.1f} s from start")
    print(f"  one-shot sync     peak RSS (wait4) {oneshot_rss:7.1f} MiB  ({aim(oneshot_rss, MEMORY_AIM_MIB, 'MiB')}); "
          f"{oneshot_wall:.1f} s")
    print(f"  ratio daemon / one-shot            {daemon_hwm / oneshot_rss:7.2f}")
    return {"daemon_hwm": daemon_hwm, "oneshot_rss": oneshot_rss}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", action="append", choices=("idle", "incremental", "memory"),
                    help="run only this part (repeatable); default all three")
    ap.add_argument("--idle-seconds", type=float, default=60)
    ap.add_argument("--idle-rows", type=int, default=100_000, help="household rows the idle daemon has synced")
    ap.add_argument("--idle-enterprise-rows", type=int, default=1000,
                    help="enterprise rows served by dxhub-agency-api to market_regulation")
    ap.add_argument("--small-rows", type=int, default=1_000_000)
    ap.add_argument("--large-rows", type=int, default=10_000_000)
    ap.add_argument("--memory-rows", type=int, default=10_000_000)
    ap.add_argument("--repeats", type=int, default=5, help="incremental measurements per size (median printed)")
    ap.add_argument("--daemon-timeout", type=float, default=60,
                    help="bound on waiting for the daemon to deliver one change (s)")
    ap.add_argument("--poll", choices=("resource", "batches"), default="resource",
                    help="how the daemon's delivery is seen: rows_received of GET .../household_population "
                         "(default; the province applies pending upserts and counts its records on each), or "
                         "the receipts of GET .../household_population/batches (lighter on a large table)")
    ap.add_argument("--batch-rows", type=int, default=50_000)
    ap.add_argument("--build", default=os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__)))), "build"))
    ap.add_argument("--keep", action="store_true", help="keep the work directory (databases, configs, daemon logs)")
    args = ap.parse_args()
    args.build = os.path.abspath(args.build)
    if args.repeats < 1 or min(args.small_rows, args.large_rows, args.memory_rows, args.idle_rows) < CHANGED_ROWS:
        ap.error(f"--repeats must be >= 1 and every table at least {CHANGED_ROWS} rows")
    parts = args.only or ["idle", "incremental", "memory"]

    # SIGTERM ends the run like Ctrl-C does: through the finally below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    bench = None
    try:
        bench = Bench(args)
        print(f"dxhub daemon benchmark: {', '.join(parts)} (build {args.build})")
        for part in ("idle", "incremental", "memory"):
            if part in parts:
                {"idle": bench_idle, "incremental": bench_incremental, "memory": bench_memory}[part](bench)
    except BenchError as e:
        sys.exit(f"benchmark stopped: {e}")
    except KeyboardInterrupt:
        sys.exit("benchmark interrupted")
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # cleanup is not itself interrupted
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        if bench is not None:
            bench.stop_all()
            if args.keep:
                print(f"work directory kept: {bench.work}")
            else:
                shutil.rmtree(bench.work, ignore_errors=True)


if __name__ == "__main__":
    main()
