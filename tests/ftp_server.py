#!/usr/bin/env python3
"""A throwaway FTP (or explicit-TLS FTPS) server for the file connector tests.

Serves --root for one user on 127.0.0.1 at an ephemeral port, prints
"PORT <n>" on stdout once listening, and exits by itself when its parent
process dies or after --max-seconds (never outlives a test run).

  ftp_server.py --root DIR --user U --password-env VAR [--cert PEM --key PEM] [--max-seconds 600]
"""
import argparse
import logging
import os
import sys
import threading
import time


def watch_parent(parent, max_seconds):
    deadline = time.monotonic() + max_seconds
    while time.monotonic() < deadline:
        if os.getppid() != parent:
            os._exit(0)
        time.sleep(0.2)
    os._exit(0)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--password-env", required=True)
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--max-seconds", type=float, default=600)
    args = parser.parse_args()

    from pyftpdlib.authorizers import DummyAuthorizer
    from pyftpdlib.servers import FTPServer

    if args.cert:
        from pyftpdlib.handlers import TLS_FTPHandler as Handler
        Handler.certfile = args.cert
        Handler.keyfile = args.key
        Handler.tls_control_required = True
        Handler.tls_data_required = True
    else:
        from pyftpdlib.handlers import FTPHandler as Handler

    authorizer = DummyAuthorizer()
    authorizer.add_user(args.user, os.environ[args.password_env], args.root, perm="elradfmwMT")
    Handler.authorizer = authorizer
    Handler.banner = "dxhub test ftp"
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)

    server = FTPServer(("127.0.0.1", 0), Handler)
    server.max_cons = 64
    threading.Thread(target=watch_parent, args=(os.getppid(), args.max_seconds), daemon=True).start()
    print("PORT %d" % server.socket.getsockname()[1], flush=True)
    server.serve_forever(timeout=0.5)


if __name__ == "__main__":
    main()
