#!/usr/bin/python3
"""Runs a program with a pseudo-terminal as its stdin, stdout and stderr (as
an operator's shell would) and writes everything it printed to a file.

usage: run_in_pty.py OUTPUT_FILE TIMEOUT_SECONDS PROGRAM [ARGS...]
Exits with the program's exit code (124 if it was killed at the timeout).
"""
import os
import pty
import select
import signal
import sys
import time


def main():
    out_path, timeout = sys.argv[1], float(sys.argv[2])
    argv = sys.argv[3:]
    pid, fd = pty.fork()
    if pid == 0:
        try:
            os.execv(argv[0], argv)
        finally:
            os._exit(127)
    captured = bytearray()
    deadline = time.monotonic() + timeout
    timed_out = False
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            timed_out = True
            os.kill(pid, signal.SIGKILL)
            break
        ready, _, _ = select.select([fd], [], [], min(left, 1.0))
        if not ready:
            continue
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        captured += chunk
    _, status = os.waitpid(pid, 0)
    with open(out_path, "wb") as f:
        f.write(captured)
    if timed_out:
        sys.exit(124)
    sys.exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128)


if __name__ == "__main__":
    main()
