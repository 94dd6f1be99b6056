#!/usr/bin/python3
"""Crash test of push ingest: the real `dxhub run` daemon, with its push
endpoint, is SIGKILLed at random moments while two agency clients post
household-registration change events to it (signed, each post with its own
post_id, repeated with the same post_id until answered 200), and the mock
province (its own process) injects faults. The daemon is restarted after
each kill; at the end one more daemon runs until everything is delivered and
is stopped with SIGTERM. Then:

  (a) every person's record at the province equals the last event posted
      for them, field by field (mapped as the mapping file says),
  (b) the rows the province RECEIVED equal the records posted (and the sum
      of records_accepted over its batches): nothing delivered twice, even
      though posts whose answer a kill swallowed were sent again,
  (c) nothing is left staged or in the outbox, no dead letters.

usage: push_crash_test.py --build-dir BUILD [--kills 8] [--people 2500] [--seed N]
                          [--no-faults] [--keep]
Standard library only; everything on 127.0.0.1; children die with it.
"""
import argparse
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
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from crash_test import (MAPPING, RESOURCE, Children, Province, TestFailure, expected_record,  # noqa: E402
                        log, supported_faults, unwrap_union)

TARGET = f"/api/v1/ingest/{RESOURCE}"


def make_events(people, rng):
    """Posts of 1..20 records: registrations, then moves, address changes and deaths."""
    def person(i):
        return {"gmsfhm": f"9{i:017d}", "xm": f"测试{i}", "xb": "1" if i % 2 == 0 else "2", "mz": "汉族",
                "csrq": "1990-01-01", "hh": f"H{i // 3}", "yhzgx": "户主", "hjdz": f"湖北省大冶市测试路{i}号",
                "sspcs": "东岳派出所", "xzjd": "东岳路街道", "qrrq": "2020-05-01", "ryzt": "1",
                "gxsj": "2026-12-01 10:00:00"}
    events, last = [], {}
    for i in range(people):
        events.append(person(i))
    alive = list(range(people))
    for n in range(people):
        i = rng.choice(alive)
        changed = dict(last.get(i) or person(i))
        kind = rng.random()
        if kind < 0.5:
            changed["hjdz"] = f"湖北省大冶市新址{n}号"
        elif kind < 0.8:
            changed["ryzt"] = "2"  # moved out
            alive.remove(i)
        else:
            changed["ryzt"] = "3"  # died
            alive.remove(i)
        changed["gxsj"] = "2026-12-02 10:%02d:%02d" % (n // 60 % 60, n % 60)
        last[i] = changed
        events.append(changed)
        if len(alive) < 10:
            break
    # Two agency clients, each with its own people: events of one person keep
    # their order (a client posts the next only once the last is accepted).
    streams = [[], []]
    for e in events:
        streams[int(e["gmsfhm"]) % 2].append(e)
    posts = []
    for k, stream in enumerate(streams):
        at = 0
        while at < len(stream):
            size = rng.randint(1, 20)
            posts.append((k, stream[at:at + size]))
            at += size
    final = {}
    for e in events:
        final[e["gmsfhm"]] = e
    return [p for _, p in posts], [k for k, _ in posts], final, len(events)


class Poster:
    """Posts its share of the posts in order, each until answered 200."""

    def __init__(self, posts, indexes, app_key, secret, port_of):
        self.posts, self.indexes, self.app_key, self.secret, self.port_of = posts, indexes, app_key, secret, port_of
        self.done = 0
        self.interval = 0.04
        self.attempts = 0
        self.duplicates = 0
        self.error = None
        self.thread = threading.Thread(target=self.run, daemon=True)

    def post_once(self, port, index):
        body = json.dumps({"records": self.posts[index]}, ensure_ascii=False).encode()
        target = f"{TARGET}?post_id=c-{index}"
        ts = str(int(time.time() * 1000))
        nonce = secrets.token_hex(16)
        digest = hashlib.sha256(body).hexdigest()
        text = "\n".join(["POST", target, ts, nonce, digest, "", "", ""])
        signature = hmac.new(self.secret.encode(), text.encode(), hashlib.sha256).hexdigest()
        headers = {"Content-Type": "application/json", "X-Dxhub-AppKey": self.app_key, "X-Dxhub-Timestamp": ts,
                   "X-Dxhub-Nonce": nonce, "X-Dxhub-Signature-Method": "HMAC-SHA256",
                   "X-Dxhub-Content-Digest": digest, "X-Dxhub-Signature": signature}
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
        try:
            conn.request("POST", target, body=body, headers=headers)
            response = conn.getresponse()
            payload = response.read()
            return response.status, payload
        finally:
            conn.close()

    def run(self):
        try:
            for index in self.indexes:
                deadline = time.monotonic() + 120
                while True:
                    if time.monotonic() > deadline:
                        raise TestFailure(f"post {index} not accepted within 120 s")
                    port = self.port_of()
                    status = 0
                    if port:
                        self.attempts += 1
                        try:
                            status, payload = self.post_once(port, index)
                        except (OSError, http.client.HTTPException):
                            status = 0
                        if 400 <= status < 500 and status != 429:
                            raise TestFailure(f"post {index} refused: {status} {payload[:200]!r}")
                    if status == 200:
                        if json.loads(payload)["data"].get("duplicate"):
                            self.duplicates += 1  # its first answer was lost to a kill
                        break
                    time.sleep(0.05)
                self.done += 1
                time.sleep(self.interval)  # paced, so that the kills land while posting goes on
        except Exception as e:  # reported by the main thread
            self.error = e


class Daemon:
    def __init__(self, children, build_dir, work, config, env):
        self.children, self.binary, self.work, self.config, self.env = (
            children, os.path.join(build_dir, "bin", "dxhub"), work, config, env)
        self.lives = 0
        self.proc = None
        self.log_path = None

    def start(self):
        self.lives += 1
        self.log_path = os.path.join(self.work, f"daemon-{self.lives}.log")
        out = open(self.log_path, "wb")
        self.proc = self.children.start([self.binary, "-c", self.config, "run"], self.env, out, subprocess.STDOUT)
        out.close()

    def port(self, timeout_s=30):
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with open(self.log_path, "rb") as f:
                m = re.search(rb"push endpoint on http://127\.0\.0\.1:(\d+)/", f.read())
            if m:
                return int(m.group(1))
            if self.proc.poll() is not None:
                raise TestFailure(f"daemon exited with {self.proc.returncode}:\n{self.tail()}")
            time.sleep(0.05)
        raise TestFailure(f"daemon logged no endpoint within {timeout_s} s:\n{self.tail()}")

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.children.reap(self.proc)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            raise TestFailure("daemon did not stop within 40 s of SIGTERM")
        code = self.proc.returncode
        self.children.reap(self.proc)
        if code != 0:
            raise TestFailure(f"daemon exited {code} on SIGTERM:\n{self.tail()}")

    def tail(self, lines=20):
        with open(self.log_path, "rb") as f:
            return b"\n".join(f.read().splitlines()[-lines:]).decode(errors="replace")

    def logs(self):
        text = b""
        for life in range(1, self.lives + 1):
            with open(os.path.join(self.work, f"daemon-{life}.log"), "rb") as f:
                text += f.read()
        return text


def push_crash_test(args, work, children):
    rng = random.Random(args.seed)
    app_key, secret = "crash-" + secrets.token_hex(4), secrets.token_hex(32)
    ingest_secret = secrets.token_hex(32)
    fault_args = [] if args.no_faults else supported_faults(args.build_dir)
    province = Province(children, args.build_dir, work, app_key, secret, fault_args, "province")
    province.start()
    config = os.path.join(work, "dxhub.json")
    with open(config, "w") as f:
        json.dump({
            "state_db": os.path.join(work, "state.db"),
            "mappings_dir": os.path.join(os.path.dirname(os.path.dirname(MAPPING))),
            "log_level": "info",
            "province": {"url": province.url, "app_key": app_key, "app_secret_env": "DXHUB_CRASH_SECRET",
                         "max_attempts": 3, "backoff_initial_ms": 20, "request_timeout_ms": 10000},
            "sync": {"codec": "snappy"},
            "daemon": {"metrics_listen": "", "delivery_check_seconds": 1, "circuit_failures": 5,
                       "circuit_open_seconds": 1, "circuit_max_open_seconds": 2, "shutdown_grace_seconds": 30},
            "ingest": {"listen": "127.0.0.1:0", "linger_ms": 100, "batch_rows": 200,
                       "app_keys": [{"app_key": "gaj-push", "plugin": "public_security",
                                     "secret_env": "DXHUB_CRASH_INGEST"}]},
            "plugins": [{"name": "public_security",
                         "path": os.path.join(args.build_dir, "plugins", "libdxhub_public_security.so"),
                         "settings": {"household_db": os.path.join(work, "unused.db")},
                         "sources": {RESOURCE: {"connector": "push", "settings": {}}}}],
        }, f)
    env = dict(os.environ, DXHUB_CRASH_SECRET=secret, DXHUB_CRASH_INGEST=ingest_secret)
    posts, client_of, final, total = make_events(args.people, rng)
    log(f"seed {args.seed}: {len(posts)} posts, {total} events for {len(final)} people; faults {fault_args or 'off'}")

    port = [0]
    posters = [Poster(posts, [i for i in range(len(posts)) if client_of[i] == k], "gaj-push", ingest_secret,
                      lambda: port[0]) for k in range(2)]
    daemon = Daemon(children, args.build_dir, work, config, env)
    for p in posters:
        p.thread.start()
    kills = 0
    while kills < args.kills and any(p.thread.is_alive() for p in posters):
        daemon.start()
        port[0] = daemon.port()
        time.sleep(rng.uniform(0.2, 1.5))
        port[0] = 0
        daemon.kill()
        kills += 1
        log(f"kill {kills}: {sum(p.done for p in posters)} of {len(posts)} posts accepted so far")
    daemon.start()
    port[0] = daemon.port()
    for p in posters:
        p.thread.join(timeout=300)
        if p.thread.is_alive():
            raise TestFailure("a poster did not finish within 300 s")
        if p.error:
            raise p.error
    log(f"all {len(posts)} posts accepted after {kills} kills ({sum(p.attempts for p in posters)} attempts, "
        f"{sum(p.duplicates for p in posters)} answered as repeats of a post already stored)")
    deadline = time.monotonic() + 180
    while province.resource().get("rows_received", 0) < total:
        if time.monotonic() > deadline:
            raise TestFailure(f"the province received {province.resource().get('rows_received')} of {total} rows")
        time.sleep(0.2)
    time.sleep(1.0)  # anything more would be a duplicate
    daemon.stop()
    logs = daemon.logs()
    if ingest_secret.encode() in logs or secret.encode() in logs:
        raise TestFailure("a secret appeared in the daemon's log")
    if b"90000000000000000" in logs:
        raise TestFailure("an ID number appeared in the daemon's log")

    state = json.loads(subprocess.run([daemon.binary, "-c", config, "state", "--json"], env=env, check=True,
                                      capture_output=True, timeout=60).stdout)
    if state.get("staged") or state["outbox"] or state.get("quarantine") or state["dead_letters"]:
        raise TestFailure(f"left behind: staged {state.get('staged')}, outbox {state['outbox']}, "
                          f"quarantine {state.get('quarantine')}, dead letters {state['dead_letters']}")

    province.stop()
    province.start(faults=False)
    with open(MAPPING, encoding="utf-8") as f:
        fields = json.load(f)["fields"]
    held = {}
    for page in province.record_pages():
        for r in page:
            held[r["id_card"]] = {k: unwrap_union(v) for k, v in r.items() if not k.startswith("dxhub")}
    if len(held) != len(final):
        raise TestFailure(f"(a) the province holds {len(held)} people, {len(final)} were posted")
    wrong = 0
    for id_card, event in final.items():
        want = expected_record(event, fields)
        got = {k: held.get(id_card, {}).get(k) for k in want}
        if got != want:
            wrong += 1
    if wrong:
        raise TestFailure(f"(a) {wrong} records differ from the last event posted for them")
    info = province.resource()
    accepted = sum(b["records_accepted"] for b in province.batches())
    if info["rows_received"] != total or accepted != total:
        raise TestFailure(f"(b) the province received {info['rows_received']} rows ({accepted} in its batches) "
                          f"for {total} posted: delivered twice or lost")
    log(f"ok: {len(final)} people, {total} events, each delivered once, across {kills} kills")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build-dir", required=True)
    parser.add_argument("--kills", type=int, default=8)
    parser.add_argument("--people", type=int, default=2500)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--no-faults", action="store_true")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    args.build_dir = os.path.abspath(args.build_dir)
    if args.seed is None:
        args.seed = random.randrange(1, 2**31)
    work = tempfile.mkdtemp(prefix="dxhub_push_crash_")
    children = Children()
    ok = False
    try:
        push_crash_test(args, work, children)
        ok = True
    except TestFailure as e:
        log(f"FAILED (seed {args.seed}, work dir {work}): {e}")
    finally:
        children.close()
        if ok and not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
