#!/usr/bin/python3
"""The shipped systemd units and crontab line are valid: `systemd-analyze
verify` accepts the units with no warning (the binary path pointed at the
build), and the crontab line's schedule and dxhub arguments are accepted.
Exits 77 (skipped) where systemd-analyze is not installed.
Usage: verify_units.py SOURCE_DIR DXHUB_BINARY"""
import os
import shutil
import subprocess
import sys
import tempfile

source_dir, dxhub = sys.argv[1], sys.argv[2]
deploy = os.path.join(source_dir, "deploy")
failures = []

analyze = shutil.which("systemd-analyze")
if analyze is None:
    print("systemd-analyze not installed: skipped")
    sys.exit(77)

with tempfile.TemporaryDirectory() as tmp:
    units = []
    for name in sorted(os.listdir(os.path.join(deploy, "systemd"))):
        with open(os.path.join(deploy, "systemd", name)) as f:
            text = f.read()
        if "/opt/dxhub/bin/dxhub" not in text and name.endswith(".service"):
            failures.append(f"{name}: ExecStart does not name /opt/dxhub/bin/dxhub")
        # The test machine has no dxhub user or /opt/dxhub: point at what exists.
        text = (text.replace("/opt/dxhub/bin/dxhub", dxhub)
                .replace("User=dxhub", "User=root").replace("Group=dxhub", "Group=root"))
        path = os.path.join(tmp, name)
        with open(path, "w") as f:
            f.write(text)
        units.append(path)
    r = subprocess.run([analyze, "verify", *units], capture_output=True, text=True, timeout=120,
                       env={**os.environ, "SYSTEMD_LOG_LEVEL": "warning"})
    # Any complaint about our files counts (systemd only warns about a bad key or value).
    complaints = [line for line in (r.stdout + r.stderr).splitlines() if tmp in line or "dxhub" in line]
    if r.returncode != 0 or complaints:
        failures.append(f"systemd-analyze verify exit {r.returncode}: " + "\n".join(complaints or [r.stderr]))
    print(f"systemd-analyze verify: {len(units)} units, exit {r.returncode}, {len(complaints)} complaints")

# The crontab line: five schedule fields, a user, then the dxhub command.
with open(os.path.join(deploy, "cron", "dxhub.cron")) as f:
    lines = [l for l in f.read().splitlines() if l.strip() and not l.startswith("#") and "=" not in l.split()[0]]
if len(lines) != 1:
    failures.append(f"dxhub.cron: expected one schedule line, found {len(lines)}")
else:
    fields = lines[0].split()
    minute, hour, dom, month, dow, user = fields[:6]
    if not (minute.isdigit() and hour.isdigit() and dom == month == dow == "*" and user == "dxhub"):
        failures.append(f"dxhub.cron: unexpected schedule {fields[:6]}")
    command = lines[0].split(">>")[0].split()[6:]
    args = [a for a in command if "=" not in a][1:]  # after the environment assignments and the binary
    # With a config that does not exist: arguments that parse get as far as reading it.
    missing = os.path.join(tempfile.gettempdir(), f"dxhub-cron-check-{os.getpid()}.json")
    r = subprocess.run([dxhub, *args], capture_output=True, text=True, timeout=60,
                       env={**os.environ, "DXHUB_CONFIG": missing})
    if "cannot read config file" not in r.stderr:
        failures.append(f"dxhub.cron: dxhub refuses the arguments {args}: {r.stderr.strip()}")
    print(f"dxhub.cron: schedule {' '.join(fields[:5])}, arguments {args} accepted")

for f in failures:
    print("FAIL:", f)
sys.exit(1 if failures else 0)
