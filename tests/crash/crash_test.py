#!/usr/bin/python3
"""Crash test: the real `dxhub` binary is SIGKILLed at random moments while it
syncs a sample source into the mock province (its own process, faults on when
the built province has them), restarted each time, and finally run to
completion. Then the province must hold every source row exactly once:

  (a) its record count equals the source row count,
  (b) every record equals its source row, field by field (mapped as in
      mappings/public_security/household_population.mapping.json),
  (c) the rows it RECEIVED (rows_received, and the sum of records_accepted
      over its stored batches) equal the rows the source ever had: no
      duplicate delivery hidden by the province's upsert,

and the hub's outbox is empty with no dead letters.

usage: crash_test.py --build-dir BUILD [--kills 20] [--rows 20000] [--seed N]
                     [--batch-rows 500] [--province-bin PATH] [--no-faults] [--keep]
                     [--inject-duplicates]   (test of the test: must fail in (c))
Standard library only. Everything on 127.0.0.1; every child is killed and
reaped on exit; the temp dir is removed on success and kept on failure.
"""
import argparse
import ctypes
import datetime
import hashlib
import hmac
import http.client
import json
import os
import random
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MAPPING = os.path.join(REPO, "mappings", "public_security", "household_population.mapping.json")
RESOURCE = "household_population"
SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))
EPOCH_DAY = datetime.date(1970, 1, 1)

# Faults asked of the province when its --help lists them (flag -> value).
FAULTS = [
    ("--fault-5xx", "0.05"),
    ("--fault-429", "0.03"),
    ("--fault-retry-after", "1"),
    ("--fault-latency-ms", "30"),
    ("--fault-drop", "0.03"),
    ("--fault-lose-response", "0.05"),
]


class TestFailure(Exception):
    pass


_T0 = time.monotonic()


def log(message):
    print(f"crash_test: [{time.monotonic() - _T0:6.1f} s] {message}", flush=True)


# --- children -------------------------------------------------------------

_libc = ctypes.CDLL(None, use_errno=True)
PR_SET_PDEATHSIG = 1


def _die_with_parent():
    # If this script is killed (ctest timeout), its children go too.
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


class Children:
    """Every process started; all killed and reaped by close()."""

    def __init__(self):
        self.procs = []

    def start(self, argv, env, stdout, stderr):
        proc = subprocess.Popen(argv, env=env, stdout=stdout, stderr=stderr, stdin=subprocess.DEVNULL,
                                preexec_fn=_die_with_parent)
        self.procs.append(proc)
        return proc

    def reap(self, proc):
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        if proc in self.procs:
            self.procs.remove(proc)

    def close(self):
        for proc in list(self.procs):
            self.reap(proc)


# --- province ---------------------------------------------------------------

PROVINCE_BIN = None  # --province-bin: another build's dxhub-province (e.g. one with faults)


def province_binary(build_dir):
    return PROVINCE_BIN or os.path.join(build_dir, "bin", "dxhub-province")


class Province:
    """dxhub-province as its own process, plus a signed GET client."""

    def __init__(self, children, build_dir, work, app_key, secret, fault_args, name):
        self.children = children
        self.binary = province_binary(build_dir)
        self.work = work
        self.app_key = app_key
        self.secret = secret
        self.fault_args = fault_args
        self.name = name
        self.proc = None
        self.port = None
        self.sign_form = None  # "new" (with batch fields) or "old", learnt on the first GET
        self.starts = 0

    def start(self, faults=True):
        self.starts += 1
        port_file = os.path.join(self.work, f"{self.name}.port")
        if os.path.exists(port_file):
            os.remove(port_file)
        argv = [self.binary, "--listen", "127.0.0.1:0", "--db", os.path.join(self.work, f"{self.name}.db"),
                "--app-key", self.app_key, "--port-file", port_file]
        if faults:
            argv += self.fault_args
        env = dict(os.environ, DXHUB_PROVINCE_APP_SECRET=self.secret)
        err = open(os.path.join(self.work, f"{self.name}-{self.starts}.log"), "wb")
        self.proc = self.children.start(argv, env, subprocess.DEVNULL, err)
        err.close()
        for _ in range(600):  # bounded: 60 s
            if os.path.exists(port_file):
                with open(port_file) as f:
                    text = f.read().strip()
                if text:
                    self.port = int(text)
                    return
            if self.proc.poll() is not None:
                raise TestFailure(f"province exited with {self.proc.returncode} before listening "
                                  f"(log {err.name})")
            time.sleep(0.1)
        raise TestFailure("province wrote no port file within 60 s")

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
        code = self.proc.poll()
        self.children.reap(self.proc)
        self.proc = None
        if code not in (0, None):
            raise TestFailure(f"province exited with {code} on SIGTERM")

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def _signed_request(self, path_and_query, form):
        timestamp = str(int(time.time() * 1000))
        nonce = secrets.token_hex(16)
        digest = hashlib.sha256(b"").hexdigest()
        parts = ["GET", path_and_query, timestamp, nonce, digest]
        if form == "new":
            parts += ["", "", ""]  # batch id, epoch, sequence: empty for a GET
        signature = hmac.new(self.secret.encode(), "\n".join(parts).encode(), hashlib.sha256).hexdigest()
        headers = {
            "X-Dxhub-AppKey": self.app_key,
            "X-Dxhub-Timestamp": timestamp,
            "X-Dxhub-Nonce": nonce,
            "X-Dxhub-Signature-Method": "HMAC-SHA256",
            "X-Dxhub-Content-Digest": digest,
            "X-Dxhub-Signature": signature,
        }
        return urllib.request.Request(self.url + path_and_query, headers=headers, method="GET")

    def get(self, path_and_query):
        """The `data` of a signed GET; retries transient failures (faults), bounded."""
        last = None
        for attempt in range(40):
            forms = [self.sign_form] if self.sign_form else ["new", "old"]
            for form in forms:
                try:
                    with urllib.request.urlopen(self._signed_request(path_and_query, form), timeout=30) as r:
                        body = json.loads(r.read())
                    self.sign_form = form
                    return body["data"]
                except urllib.error.HTTPError as e:
                    payload = e.read()
                    try:
                        code = json.loads(payload).get("code")
                    except ValueError:
                        code = None
                    if e.code == 401 and code == "BAD_SIGNATURE" and form == "new" and len(forms) == 2:
                        continue  # a province from before the batch fields joined the string to sign
                    if e.code == 429 or e.code >= 500:
                        last = f"HTTP {e.code} {code}"
                        break
                    raise TestFailure(f"GET {path_and_query}: HTTP {e.code} {payload[:300]!r}")
                except (urllib.error.URLError, http.client.HTTPException, ConnectionError, socket.timeout,
                        ValueError) as e:
                    last = repr(e)
                    break
            time.sleep(min(0.05 * (attempt + 1), 1.0))
        raise TestFailure(f"GET {path_and_query} kept failing; last: {last}")

    def resource(self):
        return self.get(f"/api/v1/resources/{RESOURCE}")

    def batches(self):
        return self.get(f"/api/v1/resources/{RESOURCE}/batches")["batches"]

    def record_pages(self, limit=10000):
        """Every current record, a page at a time (in primary key order)."""
        offset = 0
        while offset <= 100_000_000:  # bounded
            page = self.get(f"/api/v1/resources/{RESOURCE}/records?offset={offset}&limit={limit}")["records"]
            if not page:
                return
            yield page
            offset += len(page)


# --- source -----------------------------------------------------------------

def source_rows(path):
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        db.row_factory = sqlite3.Row
        yield from db.execute("SELECT * FROM household_population")
    finally:
        db.close()


def source_scalar(path, sql, args=()):
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return db.execute(sql, args).fetchone()[0]
    finally:
        db.close()


def days_of(text):
    return (datetime.date.fromisoformat(text) - EPOCH_DAY).days


def shanghai_millis(text):
    local = datetime.datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=SHANGHAI)
    return int(local.timestamp()) * 1000


def expected_record(row, mapping_fields):
    """The record the province should hold for a source row, as avro-c JSON values."""
    out = {}
    for spec in mapping_fields:
        raw = row[spec["column"]]
        if "codes" in spec:
            value = spec["codes"][raw]
        elif spec.get("format") == "YYYY-MM-DD":
            value = None if raw in (None, "") else days_of(raw)
        elif spec.get("format") == "YYYY-MM-DD HH:MM:SS":
            value = shanghai_millis(raw)
        else:
            value = raw
        out[spec["field"]] = value
    return out


def unwrap_union(value):
    # avro-c renders a union value as {"branch": value}.
    if isinstance(value, dict) and len(value) == 1:
        return next(iter(value.values()))
    return value


# --- hub --------------------------------------------------------------------

class Hub:
    def __init__(self, children, build_dir, work, state_db, source, province, app_key, secret, batch_rows):
        self.children = children
        self.binary = os.path.join(build_dir, "bin", "dxhub")
        self.plugin = os.path.join(build_dir, "plugins", "libdxhub_public_security.so")
        self.work = work
        self.state_db = state_db
        self.source = source
        self.province = province
        self.app_key = app_key
        self.secret = secret
        self.batch_rows = batch_rows
        self.runs = 0
        self.config = None

    def write_config(self):
        cfg = {
            "state_db": self.state_db,
            "mappings_dir": os.path.join(REPO, "mappings"),
            "log_level": "debug",  # one line per spooled and per delivered batch: shows where a kill landed
            "province": {
                "url": self.province.url,
                "app_key": self.app_key,
                "app_secret_env": "DXHUB_CRASH_SECRET",
                "signature_method": "HMAC-SHA256",
                "connect_timeout_ms": 2000,
                "request_timeout_ms": 5000,
                "max_attempts": 5,
                "backoff_initial_ms": 20,
                "backoff_max_ms": 400,
            },
            "sync": {"batch_rows": self.batch_rows, "codec": "snappy"},
            "plugins": [{"name": "public_security", "path": self.plugin,
                         "settings": {"household_db": self.source}}],
        }
        self.config = os.path.join(self.work, os.path.basename(self.state_db) + ".json")
        with open(self.config, "w") as f:
            json.dump(cfg, f, indent=2)

    def _env(self):
        return dict(os.environ, DXHUB_CRASH_SECRET=self.secret)

    def start_sync(self):
        self.runs += 1
        base = os.path.join(self.work, f"{os.path.basename(self.state_db)}-run{self.runs:03d}")
        out, err = open(base + ".out", "wb"), open(base + ".err", "wb")
        proc = self.children.start([self.binary, "-c", self.config, "sync", "--json"], self._env(), out, err)
        out.close()
        err.close()
        return proc, base

    def check_no_secret(self, base):
        for suffix in (".out", ".err"):
            with open(base + suffix, "rb") as f:
                if self.secret.encode() in f.read():
                    raise TestFailure(f"the app secret shows in {base + suffix}")

    def state(self):
        r = subprocess.run([self.binary, "-c", self.config, "state", "--json", "--runs", "1"], env=self._env(),
                           capture_output=True, timeout=120, preexec_fn=_die_with_parent)
        if r.returncode != 0:
            raise TestFailure(f"dxhub state exited {r.returncode}: {r.stderr.decode(errors='replace')[-2000:]}")
        if self.secret.encode() in r.stdout + r.stderr:
            raise TestFailure("the app secret shows in dxhub state's output")
        return json.loads(r.stdout)

    def pending_rows(self):
        """(source rows not read yet, spooled rows, spooled batches), from `dxhub state` and the source
        (not from the cursor, whose format is the connector's business). Only aims the kill delays."""
        total = source_scalar(self.source, "SELECT count(*) FROM household_population")
        if not os.path.exists(self.state_db):  # a run killed before it made its state file
            return total, 0, 0
        state = self.state()
        spooled = sum(o["records"] for o in state["outbox"] if o["resource"] == RESOURCE)
        spooled_batches = sum(o["batches"] for o in state["outbox"] if o["resource"] == RESOURCE)
        delivered = sum(d["records"] for d in state["delivered"] if d["resource"] == RESOURCE)
        return max(total - delivered - spooled, 0), spooled, spooled_batches

    def rewind_cursor(self, rows):
        """Test of the test: moves the cursor back about `rows` rows, so they are read and sent again.
        Writes the cursor's first form {"value": gxsj, "key": id}, which the connector reads."""
        unread, spooled, _ = self.pending_rows()
        read = source_scalar(self.source, "SELECT count(*) FROM household_population") - unread
        back = source_scalar(self.source, "SELECT json_array(gxsj, id) FROM household_population "
                             "ORDER BY gxsj, id LIMIT 1 OFFSET ?1", (max(read - rows - 1, 0),))
        value, key = json.loads(back)
        db = sqlite3.connect(self.state_db)
        try:
            db.execute("UPDATE cursors SET cursor_json = ? WHERE resource = ?",
                       (json.dumps({"key": key, "value": value}), RESOURCE))
            db.commit()
        finally:
            db.close()


def progress_of(err_path):
    """(sync started?, batches spooled, batches delivered) from a run's debug log."""
    with open(err_path, "rb") as f:
        text = f.read().decode(errors="replace")
    return ("sync started" in text, text.count(": spooled batch "), text.count(" delivered, "))


def run_to_completion(hub, what, limit_s=300):
    proc, base = hub.start_sync()
    try:
        proc.wait(timeout=limit_s)
    except subprocess.TimeoutExpired:
        hub.children.reap(proc)
        raise TestFailure(f"{what}: dxhub sync did not finish within {limit_s} s (log {base}.err)")
    hub.children.reap(proc)
    hub.check_no_secret(base)
    return proc.returncode, base


def run_until_ok(hub, what, attempts=20):
    """Runs sync until it exits 0; exit 4 (delivery gave up under faults) is retried, bounded.
    Returns the seconds the runs took."""
    elapsed = 0.0
    for attempt in range(1, attempts + 1):
        t0 = time.monotonic()
        code, base = run_to_completion(hub, what)
        elapsed += time.monotonic() - t0
        if code == 0:
            return elapsed
        if code != 4:
            raise TestFailure(f"{what} exited {code}:\n{tail(base + '.err')}")
        log(f"{what}: attempt {attempt} exited 4 ({delivery_failure_reason(base + '.err')}); again")
    raise TestFailure(f"{what} did not succeed in {attempts} attempts:\n{tail(base + '.err')}")


def delivery_failure_reason(err_path):
    """The province's answer that stopped delivery (e.g. 'HTTP 401 NONCE_REUSED'), from a run's log."""
    with open(err_path, "rb") as f:
        for line in f.read().decode(errors="replace").splitlines():
            if "delivery stopped:" in line:
                match = re.search(r"HTTP (\d+) ([A-Z_]+)", line)
                return f"delivery stopped on {match.group(0)}" if match else "delivery stopped: " + line[-120:]
    return "delivery failure"


def tail(path, lines=15):
    with open(path, "rb") as f:
        return "\n".join(f.read().decode(errors="replace").splitlines()[-lines:])


# --- the test ---------------------------------------------------------------

def add_rows(build_dir, source, count, seed):
    # The timestamp must not go back behind the rows already there.
    newest = source_scalar(source, "SELECT max(gxsj) FROM household_population")
    now = datetime.datetime.now(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")
    stamp = max(now, newest)
    r = subprocess.run([os.path.join(build_dir, "bin", "dxhub-sample"), "household-changes", "--db", source,
                        "--change", "0", "--add", str(count), "--seed", str(seed), "--timestamp", stamp],
                       capture_output=True, timeout=120, preexec_fn=_die_with_parent)
    if r.returncode != 0:
        raise TestFailure(f"dxhub-sample household-changes exited {r.returncode}: {r.stderr.decode(errors='replace')}")


def supported_faults(build_dir):
    r = subprocess.run([province_binary(build_dir), "--help"], capture_output=True,
                       timeout=60, text=True)
    args = []
    for flag, value in FAULTS:
        if flag in r.stdout:
            args += [flag, value]
    return args


def calibrate(children, args, work, fault_args, app_key, secret):
    """Duration of an unkilled full sync and of an idle one, on a scratch copy."""
    scratch = os.path.join(work, "calibration")
    os.mkdir(scratch)
    source = os.path.join(scratch, "source.db")
    shutil.copyfile(os.path.join(work, "source.db"), source)
    province = Province(children, args.build_dir, scratch, app_key, secret, fault_args, "province")
    province.start()
    try:
        hub = Hub(children, args.build_dir, scratch, os.path.join(scratch, "state.db"), source, province, app_key,
                  secret, args.batch_rows)
        hub.write_config()
        full = run_until_ok(hub, "calibration full sync")
        reading = reading_seconds(os.path.join(scratch, "state.db-run001.err"))
        idle = run_until_ok(hub, "calibration idle sync")
    finally:
        province.stop()
    return full, idle, reading


def log_time(line):
    # "2026-12-01T21:32:58.058 info ..." -> seconds (only differences are used)
    stamp = datetime.datetime.strptime(line[:23], "%Y-%m-%dT%H:%M:%S.%f")
    return stamp.timestamp()


def reading_seconds(err_path):
    """From a run's debug log: seconds from 'sync started' to the last spooled batch (the reader's share)."""
    with open(err_path, "rb") as f:
        lines = f.read().decode(errors="replace").splitlines()
    try:
        start = log_time(next(line for line in lines if "sync started" in line))
        last = log_time([line for line in lines if ": spooled batch " in line][-1])
    except (StopIteration, IndexError, ValueError):
        return None
    return max(last - start, 0.0)


def crash_test(args, work, children):
    rng = random.Random(args.seed)
    app_key = "crash-" + secrets.token_hex(4)
    secret = secrets.token_hex(32)
    source = os.path.join(work, "source.db")
    r = subprocess.run([os.path.join(args.build_dir, "bin", "dxhub-sample"), "household", "--db", source,
                        "--rows", str(args.rows), "--seed", str(args.seed)], capture_output=True, timeout=300,
                       preexec_fn=_die_with_parent)
    if r.returncode != 0:
        raise TestFailure(f"dxhub-sample household exited {r.returncode}: {r.stderr.decode(errors='replace')}")
    rows_sent = args.rows

    fault_args = [] if args.no_faults else supported_faults(args.build_dir)
    if args.no_faults:
        log("faults: off (--no-faults)")
    elif not fault_args:
        log("NOTE: this dxhub-province has no --fault-* flags; running without faults")
    else:
        fault_args += ["--fault-seed", str(args.seed)]
        log("faults: " + " ".join(fault_args))

    full_s, idle_s, reading_s = calibrate(children, args, work, fault_args, app_key, secret)
    per_row_s = max(full_s - idle_s, 0.0) / max(args.rows, 1)
    read_per_row_s = (reading_s if reading_s is not None else full_s - idle_s) / max(args.rows, 1)
    log(f"unkilled runs: full sync of {args.rows} rows {full_s:.2f} s (reading the first "
        f"{reading_s if reading_s is not None else float('nan'):.2f} s of it), idle sync {idle_s:.2f} s")

    province = Province(children, args.build_dir, work, app_key, secret, fault_args, "province")
    province.start()
    hub = Hub(children, args.build_dir, work, os.path.join(work, "state.db"), source, province, app_key, secret,
              args.batch_rows)
    hub.write_config()

    kills = 0
    finished = 0
    adds = 0
    phases = {"startup": 0, "reading, nothing delivered yet": 0, "reading and delivering": 0,
              "read all, delivering": 0, "after the last receipt": 0}
    max_cycles = args.kills * 6
    cycle = 0
    while kills < args.kills:
        cycle += 1
        if cycle > max_cycles:
            raise TestFailure(f"only {kills} of {args.kills} kills landed in {max_cycles} runs "
                              f"({finished} runs finished before their kill)")
        unread, spooled_rows, spooled_batches = hub.pending_rows()
        # Keep work arriving, so kills land in reading and delivery rather
        # than in startup: plenty when little is left, a few rows sometimes.
        count = 0
        if unread + spooled_rows < 4 * args.batch_rows:
            count = rng.randint(args.batch_rows, 4 * args.batch_rows)
        elif rng.random() < 0.3:
            count = rng.randint(1, args.batch_rows)
        if count:
            add_rows(args.build_dir, source, count, rng.randrange(1, 2**31))
            rows_sent += count
            unread += count
            adds += 1
        pending = unread + spooled_rows
        batches_to_read = -(-unread // args.batch_rows)
        expected_s = idle_s + pending * per_row_s
        # Where the kill lands: startup (config, plugin, state file), while
        # the reader is still reading (when delivery is slower than reading
        # it is done long before delivery is), or anywhere in the run.
        aim = rng.random()
        if aim < 0.15:
            delay = rng.uniform(0.0, 0.5 * idle_s)
        elif aim < 0.45:
            delay = rng.uniform(0.3 * idle_s, 0.5 * idle_s + unread * read_per_row_s)
        else:
            delay = rng.uniform(0.3 * idle_s, expected_s)
        proc, base = hub.start_sync()
        try:
            proc.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            pass
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        hub.children.reap(proc)
        hub.check_no_secret(base)
        started, spooled, delivered = progress_of(base + ".err")
        if proc.returncode == -signal.SIGKILL:
            kills += 1
            if not started:
                phase = "startup"
            elif spooled < batches_to_read:
                phase = "reading, nothing delivered yet" if delivered == 0 else "reading and delivering"
            elif delivered < spooled_batches + spooled:
                phase = "read all, delivering"
            else:
                phase = "after the last receipt"
            phases[phase] += 1
            if args.inject_duplicates and kills == max(args.kills // 2, 1) and os.path.exists(hub.state_db):
                hub.rewind_cursor(args.batch_rows + 7)
                log(f"--inject-duplicates: cursor moved back about {args.batch_rows + 7} rows; (c) must now fail")
            log(f"kill {kills:3d}: after {delay:6.3f} s of ~{expected_s:5.2f} s ({pending} rows pending, "
                f"{spooled_batches} spooled before): {spooled} batches spooled, {delivered} delivered, {phase}")
        else:
            finished += 1
            if proc.returncode not in (0, 4):  # 4: delivery gave up on faults; the next run goes on
                raise TestFailure(f"dxhub sync exited {proc.returncode} (not killed):\n{tail(base + '.err')}")
            log(f"run finished by itself with {proc.returncode} before its kill at {delay:.3f} s"
                + (f" ({delivery_failure_reason(base + '.err')})" if proc.returncode == 4 else ""))

    log(f"{kills} kills in {cycle} runs ({finished} finished before the kill); phases: {phases}; "
        f"{adds} appends, {rows_sent} rows in the source")

    # The final, unkilled run: retries allowed (faults may exhaust a batch's attempts), bounded.
    final_s = run_until_ok(hub, "final sync")
    log(f"final unkilled sync done in {final_s:.2f} s")

    state = hub.state()
    if state["outbox"]:
        raise TestFailure(f"the outbox is not empty after the final run: {state['outbox']}")
    if state.get("quarantine"):
        raise TestFailure(f"batches were quarantined: {state['quarantine']}")
    if state["dead_letters"]:
        raise TestFailure(f"{len(state['dead_letters'])} dead letters (the sample rows are all valid)")
    hub_delivered = sum(d["records"] for d in state["delivered"] if d["resource"] == RESOURCE)

    # Check against a fault-free restart of the province on the same database
    # (which also shows that what it acknowledged survived a restart).
    province.stop()
    province.start(faults=False)
    return verify(province, source, rows_sent, hub_delivered)


def record_digest(record):
    # Compact, so a few hundred thousand expected records fit in memory.
    return hashlib.sha1(json.dumps(record, sort_keys=True, ensure_ascii=False).encode()).digest()


def verify(province, source, rows_sent, hub_delivered):
    with open(MAPPING, encoding="utf-8") as f:
        mapping_fields = json.load(f)["fields"]
    fields = [spec["field"] for spec in mapping_fields]
    expected = {}  # id_card -> digest of the record its source row maps to
    for row in source_rows(source):
        expected[row["gmsfhm"]] = record_digest(expected_record(row, mapping_fields))
    source_count = len(expected)
    if source_count != rows_sent:
        raise TestFailure(f"the source has {source_count} distinct ids, the test put {rows_sent} rows in it")
    info = province.resource()
    batches = province.batches()

    listed = 0
    repeated = 0
    extra = 0
    mismatched = []
    seen = set()
    for page in province.record_pages():
        for rec in page:
            listed += 1
            key = rec.get("id_card")
            if key in seen:
                repeated += 1
                continue
            seen.add(key)
            want = expected.get(key)
            if want is None:
                extra += 1
            elif record_digest({f: unwrap_union(rec.get(f)) for f in fields}) != want:
                mismatched.append(rec)
    missing = source_count - (len(seen) - extra)
    problems = []

    # (a) one record per source row
    if info["records"] != source_count or listed != source_count:
        problems.append(f"(a) the province holds {info['records']} records ({listed} listed), "
                        f"the source has {source_count} rows")

    # (b) every record equals its source row, all fields
    if repeated or missing or extra or mismatched:
        details = []
        by_key = {row["gmsfhm"]: row for row in source_rows(source)} if mismatched else {}
        for rec in mismatched[:3]:
            row = by_key[rec["id_card"]]
            want = expected_record(row, mapping_fields)
            bad = [f for f in fields if unwrap_union(rec.get(f)) != want[f]]
            details.append(f"source row id {row['id']}: fields {bad} differ")
        problems.append(f"(b) {missing} source rows missing at the province, {extra} records not in the source, "
                        f"{repeated} keys listed twice, {len(mismatched)} records differ from their source row"
                        + (f" ({'; '.join(details)})" if details else ""))

    # (c) nothing delivered twice: what was RECEIVED, not what the upsert kept
    accepted = sum(b["records_accepted"] for b in batches)
    if info["rows_received"] != rows_sent or accepted != rows_sent:
        by_sequence = {}
        for b in batches:
            by_sequence.setdefault(b["sequence"], []).append(b)
        reused = {s: len(v) for s, v in by_sequence.items() if len(v) > 1}
        problems.append(
            f"(c) DUPLICATE DELIVERY: the province received {info['rows_received']} rows (sum of records_accepted "
            f"over its {len(batches)} stored batches: {accepted}); the source had exactly {rows_sent}, so "
            f"{info['rows_received'] - rows_sent} rows arrived more than once; the hub's receipts count "
            f"{hub_delivered} rows; {len(reused)} batch sequences are stored under more than one batch id"
            + (f" (sequence: copies {dict(list(reused.items())[:5])})" if reused else ""))
    elif hub_delivered != rows_sent:
        problems.append(f"(c) the hub's receipts count {hub_delivered} rows, the source had {rows_sent}")

    log(f"province: {info['records']} records, rows_received {info['rows_received']}, {len(batches)} batches, "
        f"sum records_accepted {accepted}; source {source_count} rows; hub receipts {hub_delivered} rows "
        f"(GETs signed with the {province.sign_form} string to sign)")
    if problems:
        raise TestFailure("\n  ".join(["the province does not hold every row exactly once:"] + problems))
    log(f"every one of {source_count} rows is held once, equal to its source row (all {len(fields)} fields), "
        f"and was received exactly once")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build-dir", required=True, help="the CMake build directory (bin/, plugins/)")
    parser.add_argument("--kills", type=int, default=20, help="SIGKILLs that must land on a running hub")
    parser.add_argument("--rows", type=int, default=20000, help="initial source rows")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: random, printed)")
    parser.add_argument("--batch-rows", type=int, default=500, help="sync.batch_rows")
    parser.add_argument("--province-bin", help="the dxhub-province to run (default: BUILD/bin/dxhub-province)")
    parser.add_argument("--no-faults", action="store_true", help="do not ask the province for faults")
    parser.add_argument("--inject-duplicates", action="store_true",
                        help="test of the test: move the hub's cursor back once; the test must fail in (c)")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir even on success")
    args = parser.parse_args()
    args.build_dir = os.path.abspath(args.build_dir)
    global PROVINCE_BIN
    PROVINCE_BIN = os.path.abspath(args.province_bin) if args.province_bin else None
    if args.seed is None:
        args.seed = random.SystemRandom().randrange(1, 2**31)
    log(f"seed {args.seed} (reproduce: --seed {args.seed} --kills {args.kills} --rows {args.rows})")

    # SIGTERM/SIGINT go through the finally below, so no child is left behind.
    def interrupted(signum, _frame):
        raise SystemExit(128 + signum)
    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGINT, interrupted)

    work = tempfile.mkdtemp(prefix="dxhub-crash-", dir="/tmp")
    children = Children()
    ok = False
    started = time.monotonic()
    try:
        crash_test(args, work, children)
        ok = True
    except TestFailure as e:
        log(f"FAILED: {e}")
    finally:
        children.close()
        log(f"{time.monotonic() - started:.1f} s")
        if ok and not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            log(f"files kept in {work} (seed {args.seed})")
    if ok:
        log("PASSED")
        return 0
    return 1


if __name__ == "__main__":
    sys.exit(main())
