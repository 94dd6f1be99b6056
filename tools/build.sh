#!/usr/bin/env bash
# Bootstraps packages (if missing) and builds into ./build (Release, warnings as errors).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/bootstrap.sh
launcher=()
# ccache (if installed) makes rebuilds and several checkouts cheap; paths are
# taken relative to the checkout so worktrees share the cache.
if command -v ccache >/dev/null; then
  export CCACHE_BASEDIR="$PWD"
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
fi
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DDXHUB_WERROR=ON "${launcher[@]}" >/dev/null
cmake --build build -j "$(nproc)"
