#!/usr/bin/python3
"""Reference: the same job as the hub's household sync in plain Python.

Reads household_population from SQLite in cursor order, maps each row to the
household Avro record exactly as the mapping file does (codes, dates,
timestamps in +08:00 -> UTC), and writes a snappy Avro container file with
Debian's python3-avro. Prints one JSON line with rows and seconds.
"""
import datetime
import json
import sqlite3
import sys
import time

import avro.datafile
import avro.io
import avro.schema

SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: python_reference.py SOURCE.db MAPPING_DIR OUT.avro")
    source, mapping_dir, out_path = sys.argv[1:]
    with open(f"{mapping_dir}/household_population.avsc", encoding="utf-8") as f:
        schema = avro.schema.parse(f.read())
    with open(f"{mapping_dir}/household_population.mapping.json", encoding="utf-8") as f:
        mapping = json.load(f)
    fields = {f.name: f for f in schema.fields}
    plan = []
    for entry in mapping["fields"]:
        ftype = fields[entry["field"]].type
        nullable = False
        if isinstance(ftype, avro.schema.UnionSchema):
            nullable = True
            ftype = [t for t in ftype.schemas if t.type != "null"][0]
        logical = ftype.get_prop("logicalType")
        plan.append((entry["field"], entry["column"], entry.get("codes"), logical, nullable))
    columns = ", ".join(col for _, col, _, _, _ in plan)

    started = time.monotonic()
    db = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    rows = 0
    with open(out_path, "wb") as out:
        writer = avro.datafile.DataFileWriter(out, avro.io.DatumWriter(), schema, codec="snappy")
        for row in db.execute(f"SELECT {columns} FROM household_population ORDER BY gxsj, id"):
            record = {}
            for (field, _, codes, logical, nullable), value in zip(plan, row):
                if value is None or (nullable and value == ""):
                    record[field] = None
                elif codes is not None:
                    record[field] = codes[value]
                elif logical == "date":
                    record[field] = datetime.date.fromisoformat(value)
                elif logical == "timestamp-millis":
                    record[field] = datetime.datetime.fromisoformat(value).replace(tzinfo=SHANGHAI)
                else:
                    record[field] = value
            writer.append(record)
            rows += 1
        writer.close()
    seconds = time.monotonic() - started
    print(json.dumps({"rows": rows, "seconds": round(seconds, 4), "rows_per_second": round(rows / seconds)}))


if __name__ == "__main__":
    main()
