"""Decodes an Avro object container file with python3-avro (an independent
reader) and prints, as a JSON list of records, every field: decimals in
fixed notation (format 'f', so 0 at scale 2 is "0.00"), None as null, other
bytes as "bytes:<hex>", other values as python-avro returns them."""
import decimal
import json
import sys

from avro.datafile import DataFileReader
from avro.io import DatumReader


def render(value):
    if isinstance(value, decimal.Decimal):
        return "decimal:" + format(value, "f")
    if isinstance(value, bytes):
        return "bytes:" + value.hex()
    return value


def main():
    with open(sys.argv[1], "rb") as f:
        records = [{k: render(v) for k, v in r.items()} for r in DataFileReader(f, DatumReader())]
    json.dump(records, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
