#!/usr/bin/python3
"""Decodes every batch in a hub state file's outbox with Debian's python3-avro
(an implementation independent of the hub and of avro-c) and compares each
record, field by field, with the agency source rows it came from.

usage: check_outbox.py STATE.db SOURCE.db MAPPING.json EXPECTED_CODEC
Prints one JSON line {"batches": N, "records": M} and exits 0 when every
record matches; prints the first mismatch and exits 1 otherwise.
"""
import datetime
import io
import json
import sqlite3
import sys

import avro.datafile
import avro.io

SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))


def fail(message):
    print(message)
    sys.exit(1)


def main():
    state_path, source_path, mapping_path, expected_codec = sys.argv[1:]
    with open(mapping_path, encoding="utf-8") as f:
        mapping = json.load(f)
    by_field = {m["field"]: m for m in mapping["fields"]}

    source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True)
    source.row_factory = sqlite3.Row
    rows = {r["gmsfhm"]: r for r in source.execute("SELECT * FROM household_population")}

    state = sqlite3.connect(f"file:{state_path}?mode=ro", uri=True)
    batches = state.execute(
        "SELECT batch_id, resource, sequence, record_count, codec, body FROM outbox ORDER BY sequence").fetchall()
    if not batches:
        fail("outbox is empty")
    total = 0
    seen = set()
    for batch_id, resource, sequence, record_count, codec, body in batches:
        reader = avro.datafile.DataFileReader(io.BytesIO(body), avro.io.DatumReader())
        meta = {k: v.decode() for k, v in reader.meta.items()}
        if meta.get("avro.codec") != expected_codec or codec != expected_codec:
            fail(f"batch {batch_id}: codec {meta.get('avro.codec')} / {codec}, expected {expected_codec}")
        if meta.get("dxhub.resource") != resource or meta.get("dxhub.sequence") != str(sequence) or \
                not meta.get("dxhub.epoch", "").isdigit():
            fail(f"batch {batch_id}: header metadata {meta}")
        schema = json.loads(meta["avro.schema"])
        if not any(f["name"] == "updated_at" and f["type"].get("logicalType") == "timestamp-millis"
                   for f in schema["fields"]):
            fail("header schema lost logicalType")
        count = 0
        for record in reader:
            count += 1
            source_row = rows.get(record["id_card"])
            if source_row is None:
                fail(f"record {record['id_card']} not in the source")
            seen.add(record["id_card"])
            for field, value in record.items():
                spec = by_field[field]
                raw = source_row[spec["column"]]
                if "codes" in spec:
                    want = spec["codes"][raw]
                elif field in ("birth_date", "move_in_date"):
                    want = None if raw in (None, "") else datetime.date.fromisoformat(raw)
                elif field == "updated_at":
                    want = datetime.datetime.fromisoformat(raw).replace(tzinfo=SHANGHAI)
                else:
                    want = raw
                if value != want:
                    fail(f"{record['id_card']} field {field}: avro has {value!r}, source has {want!r}")
        reader.close()
        if count != record_count:
            fail(f"batch {batch_id}: {count} records, outbox says {record_count}")
        total += count
    if seen != set(rows):
        fail(f"{len(rows) - len(seen)} source rows missing from the batches")
    print(json.dumps({"batches": len(batches), "records": total}))


if __name__ == "__main__":
    main()
