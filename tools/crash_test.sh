#!/usr/bin/env bash
# The long crash test: builds, then SIGKILLs the hub many more times than the
# suite's crash_test does (tests/crash/crash_test.py; same checks).
# Options: --kills N (default 200) --rows N (default 50000) --seed N, and any
# other crash_test.py option (--batch-rows, --no-faults, --keep).
set -euo pipefail
cd "$(dirname "$0")/.."
kills=200
rows=50000
extra=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --kills) kills="$2"; shift 2 ;;
    --rows) rows="$2"; shift 2 ;;
    -h|--help) exec /usr/bin/python3 tests/crash/crash_test.py --help ;;
    *) extra+=("$1"); shift ;;
  esac
done
log=$(mktemp)
if ! bash tools/build.sh >"$log" 2>&1; then cat "$log"; rm -f "$log"; exit 1; fi
rm -f "$log"
exec /usr/bin/python3 tests/crash/crash_test.py --build-dir build --kills "$kills" --rows "$rows" "${extra[@]}"
