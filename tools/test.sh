#!/usr/bin/env bash
# The whole test suite from a fresh clone: packages, build, ctest.
#
#   bash tools/test.sh [ctest args...]             Release build in ./build
#   bash tools/test.sh --sanitize [ctest args...]  ASan+UBSan build in ./build-asan
#
# The sanitizer run builds with -DDXHUB_SANITIZE=ON at -O1 -g (asserts on) and
# runs the same ctest suite: any AddressSanitizer, LeakSanitizer or UBSan
# report fails the test that produced it. Binaries the tests start as
# subprocesses (dxhub, dxhub_province, plugins) are the sanitized ones too.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" != "--sanitize" ]; then
  bash tools/build.sh
  cd build
  exec ctest --output-on-failure -j "$(nproc)" "$@"
fi
shift

bash tools/bootstrap.sh
launcher=()
if command -v ccache >/dev/null; then
  export CCACHE_BASEDIR="$PWD"
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
fi
# Warnings are not fatal here: GCC's sanitizer instrumentation produces false
# -Wmaybe-uninitialized/-Wstringop-* reports; the Release build (tools/build.sh)
# is the one kept warning-free with -Werror.
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g" -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" \
  -DDXHUB_SANITIZE=ON -DDXHUB_WERROR=OFF "${launcher[@]}" >/dev/null
cmake --build build-asan -j "$(nproc)"

# detect_leaks: LeakSanitizer at exit of every sanitized process.
# abort_on_error=0: exit with ASan's error code (no core dump) so ctest sees a failure.
# UBSan: a stack for every report, and the first one stops the process.
# tests/lsan.supp: leaks inside third-party libraries only (see the file).
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
cd build-asan
exec ctest --output-on-failure -j "$(nproc)" "$@"
