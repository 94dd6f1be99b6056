#!/usr/bin/env python3
"""Sample drop-folder source for the file connector (sandbox, 样例数据).

Drops export files into a folder over time, the way an agency's export job
would: each file is written in pieces (so a reader that does not wait for a
stable size would see it half-written), optionally followed by a done
marker. Rows are synthetic (no personal data): a record id, a division code,
a category, an amount and an update time; same seed, same files.

  drop_exports.py --dir DIR [--files 3] [--rows 1000] [--interval 1.0]
                  [--format csv|lines] [--done-suffix .done] [--seed 1]
                  [--write-pieces 4] [--piece-delay 0.2] [--prefix export]

Prints one line per file dropped: "dropped NAME ROWS".
"""
import argparse
import os
import random
import sys
import time

CATEGORIES = ["permit", "inspection", "license", "subsidy", "complaint"]


def rows_for(rng, file_index, rows):
    for i in range(rows):
        record_id = file_index * 1_000_000 + i + 1
        yield (record_id, "420281", rng.choice(CATEGORIES), "%.2f" % (rng.randint(0, 10_000_000) / 100.0),
               "2026-12-%02d %02d:%02d:%02d" % (1 + file_index % 28, rng.randint(0, 23), rng.randint(0, 59),
                                                rng.randint(0, 59)))


def render(fmt, rows):
    lines = []
    if fmt == "csv":
        lines.append("record_id,division,category,amount,updated_at")
    for r in rows:
        lines.append(",".join(str(v) for v in r))
    return ("\n".join(lines) + "\n").encode("utf-8")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dir", required=True)
    p.add_argument("--files", type=int, default=3)
    p.add_argument("--rows", type=int, default=1000)
    p.add_argument("--interval", type=float, default=1.0, help="seconds between files")
    p.add_argument("--format", choices=["csv", "lines"], default="csv")
    p.add_argument("--done-suffix", default="", help="write NAME+SUFFIX after each file, e.g. .done")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--write-pieces", type=int, default=4, help="each file is written in this many pieces")
    p.add_argument("--piece-delay", type=float, default=0.2, help="seconds between pieces")
    p.add_argument("--prefix", default="export")
    args = p.parse_args()
    if args.files < 0 or args.rows < 0 or args.write_pieces < 1:
        p.error("counts must be non-negative and --write-pieces at least 1")
    os.makedirs(args.dir, exist_ok=True)
    rng = random.Random(args.seed)
    extension = "csv" if args.format == "csv" else "txt"
    for f in range(args.files):
        name = "%s-%04d.%s" % (args.prefix, f + 1, extension)
        data = render(args.format, rows_for(rng, f, args.rows))
        path = os.path.join(args.dir, name)
        piece = max(1, len(data) // args.write_pieces + 1)
        with open(path, "wb") as out:
            for start in range(0, len(data), piece):
                out.write(data[start:start + piece])
                out.flush()
                if start + piece < len(data):
                    time.sleep(args.piece_delay)
        if args.done_suffix:
            open(path + args.done_suffix, "wb").close()
        print("dropped %s %d" % (name, args.rows), flush=True)
        if f + 1 < args.files:
            time.sleep(args.interval)
    return 0


if __name__ == "__main__":
    sys.exit(main())
