"""Decodes an Avro object container file with python3-avro (an independent
reader) and prints it as JSON: header metadata, sync marker and records.
Logical types are rendered so the caller can tell they came back typed:
dates as "date:YYYY-MM-DD", aware datetimes as "timestamp:...Z", naive
ones as "naive:..."."""
import datetime
import json
import sys

from avro.datafile import DataFileReader
from avro.io import DatumReader


def render(value):
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            return "naive:" + value.isoformat()
        utc = value.astimezone(datetime.timezone.utc)
        return "timestamp:%s.%03dZ" % (utc.strftime("%Y-%m-%dT%H:%M:%S"), utc.microsecond // 1000)
    if isinstance(value, datetime.date):
        return "date:" + value.isoformat()
    if isinstance(value, dict):
        return {k: render(v) for k, v in value.items()}
    if isinstance(value, list):
        return [render(v) for v in value]
    return value


def main():
    with open(sys.argv[1], "rb") as f:
        reader = DataFileReader(f, DatumReader())
        out = {
            "meta": {k: v.decode("utf-8", "replace") for k, v in reader.meta.items()},
            "sync_marker": reader.sync_marker.hex(),
            "records": [render(r) for r in reader],
        }
    json.dump(out, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
