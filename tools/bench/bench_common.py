"""Helpers shared by the benchmarks in tools/bench (run_bench.py, daemon_bench.py):
running a child under wait4, reading a live process's CPU and memory from
/proc, starting the mock province on 127.0.0.1 and signing its GETs.
"""
import hashlib
import hmac
import json
import os
import secrets
import selectors
import signal
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class BenchError(Exception):
    """A benchmark step that could not be carried out (the run stops, cleaning up)."""


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
    try:
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
    except BaseException:  # Ctrl-C or SIGTERM of the caller: the child goes too
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        for key in list(sel.get_map().values()):
            os.close(key.fd)
        raise
    wall = time.monotonic() - started
    rc = os.waitstatus_to_exitcode(status)
    cpu = usage.ru_utime + usage.ru_stime
    return rc, b"".join(out_chunks).decode(), b"".join(err_chunks).decode(), wall, cpu, usage.ru_maxrss / 1024


def signed_get(port, path, app_key, secret, timeout=600):
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
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.load(response)["data"]


def proc_cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime + stime


def proc_status_mib(pid, field):
    """A memory line of /proc/<pid>/status (VmRSS, VmHWM, ...) in MiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def proc_peak_rss_mib(pid):
    return proc_status_mib(pid, "VmHWM")


def wait_until(predicate, timeout, what, interval=0.05, process=None):
    """Polls predicate() until it is true; raises BenchError after timeout seconds
    or as soon as `process` (a Popen) has exited."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return
        if process is not None and process.poll() is not None:
            raise BenchError(f"{what}: the process exited (code {process.returncode})")
        if time.monotonic() > deadline:
            raise BenchError(f"{what}: not within {timeout:.0f} s")
        time.sleep(interval)


def start_province(bindir, work, name, env, app_key="bench", timeout=20):
    """Starts the mock province on 127.0.0.1 (an ephemeral port) with a database of
    its own; returns (process, port). The secret comes from env."""
    port_file = os.path.join(work, name + "-province.port")
    province = subprocess.Popen(
        [os.path.join(bindir, "dxhub-province"), "--listen", "127.0.0.1:0", "--db",
         os.path.join(work, name + "-province.db"), "--app-key", app_key, "--port-file", port_file,
         "--log-level", "warn"], env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)

    def port_written():
        return os.path.exists(port_file) and open(port_file).read().strip() != ""
    try:
        wait_until(port_written, timeout, "mock province start", process=province)
    except BaseException:  # also Ctrl-C: the caller never learns of this process
        stop_process(province)
        raise
    return province, int(open(port_file).read().strip())


def stop_process(process, timeout=30):
    """SIGTERM, then SIGKILL after timeout seconds; returns the exit code."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    return process.returncode


def hub_env(secret):
    """The environment for the hub and the mock province sharing one secret."""
    return dict(os.environ, DXHUB_PROVINCE_APP_SECRET=secret, DXHUB_APP_SECRET=secret)


def hub_config(work, name, port, plugins, sync=None, app_key="bench"):
    """A hub config (state in work, the repository's mappings, the province on port)."""
    return {
        "state_db": os.path.join(work, name + "-state.db"),
        "mappings_dir": os.path.join(ROOT, "mappings"),
        "log_level": "warn",
        "province": {"url": f"http://127.0.0.1:{port}", "app_key": app_key,
                     "app_secret_env": "DXHUB_APP_SECRET"},
        "sync": dict(sync or {}),
        "plugins": plugins,
    }


def plugin_entry(build, name, settings):
    return {"name": name, "path": os.path.join(build, "plugins", f"libdxhub_{name}.so"), "settings": settings}


def write_json(path, value):
    with open(path, "w") as f:
        json.dump(value, f)
    return path
