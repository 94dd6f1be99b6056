#!/usr/bin/env bash
# The main job: packages + build, then a full sync of the sample agency into an
# embedded mock province (see README). Options: --rows N --codec C --dir D.
set -euo pipefail
cd "$(dirname "$0")/.."
log=$(mktemp)
if ! bash tools/build.sh >"$log" 2>&1; then cat "$log"; rm -f "$log"; exit 1; fi
rm -f "$log"
exec build/bin/dxhub-demo "$@"
