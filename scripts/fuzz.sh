#!/usr/bin/env bash
# Builds every libFuzzer target with clang + ASan + UBSan in build-fuzz/ and runs each for
# FUZZ_SECONDS (default 60) from its seed corpus. Any crash, leak or sanitizer report fails the run.
# Every library is built with coverage instrumentation (-fsanitize=fuzzer-no-link, top-level CMakeLists).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh test  # includes clang-14 and libclang-rt-14-dev
SECONDS_EACH="${FUZZ_SECONDS:-60}"
BUILD=build-fuzz
CXX=clang++-14 cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DROOST_FUZZ=ON -DROOST_SANITIZE=ON >/dev/null
# scripts/sanitize.sh shares this build directory and its configuration.
if [ "${1:-}" = "--configure-only" ]; then exit 0; fi
targets=(fuzz_smtp_command fuzz_smtp_data fuzz_imap_parser fuzz_imap_render fuzz_mime fuzz_sasl fuzz_config fuzz_admin_api)
[ -f tests/fuzz/fuzz_pop3_command.cpp ] && targets+=(fuzz_pop3_command)
cmake --build "$BUILD" -j"$(nproc)" --target "${targets[@]}"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
failed=0
for t in "${targets[@]}"; do
  case "$t" in
    fuzz_imap_parser) seeds=tests/fuzz/corpus/imap ;;
    fuzz_imap_render) seeds=tests/fuzz/corpus/mime ;;
    *) seeds="tests/fuzz/corpus/${t#fuzz_}" ;;
  esac
  work=$(mktemp -d)
  [ -d "$seeds" ] && cp -r "$seeds"/. "$work"/ 2>/dev/null || true
  echo "== $t (${SECONDS_EACH}s)"
  if ! "$BUILD/tests/fuzz/$t" -max_total_time="$SECONDS_EACH" -rss_limit_mb=2048 -max_len=65536 \
       -artifact_prefix="$BUILD/$t-" "$work" >"$BUILD/$t.log" 2>&1; then
    echo "FAILED: $t (see $BUILD/$t.log)"; tail -30 "$BUILD/$t.log"; failed=1
  else
    grep -E "^#[0-9]+.*(DONE|pulse)" "$BUILD/$t.log" | tail -1 || true
  fi
  rm -rf "$work"
done
exit $failed
