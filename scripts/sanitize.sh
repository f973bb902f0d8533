#!/usr/bin/env bash
# The whole test suite under AddressSanitizer + UndefinedBehaviorSanitizer (issue #10), built with clang in
# build-fuzz/ — the same build directory scripts/fuzz.sh uses, so one sanitized build serves both.
# Any sanitizer report (a daemon exits non-zero, a unit test aborts) fails a test, and so the run.
# The container test is left out: it builds its own image from docker/Dockerfile, not these binaries.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh test
scripts/fuzz.sh --configure-only
cmake --build build-fuzz -j"$(nproc)"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:quarantine_size_mb=64"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
ctest --test-dir build-fuzz --output-on-failure -j"$(nproc)" --timeout 900 -LE container "$@"
