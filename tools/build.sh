#!/usr/bin/env bash
# Bootstraps packages (if missing) and builds into ./build (Release, warnings as errors).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/bootstrap.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DDXHUB_WERROR=ON >/dev/null
cmake --build build -j "$(nproc)"
