#!/usr/bin/env bash
# Builds the libFuzzer targets with clang in their own build directory and fuzzes each for a
# bounded time, all at once. Fails when a target finds a crash, a leak, a timeout or runs out of
# memory; the input that did it is left in <build>/fuzz-artifacts/<target>/.
# Usage: fuzz/run_fuzzers.sh [seconds per target, default 20]
# Environment: UTMPCD_FUZZ_BUILD_DIR (default build-fuzz), UTMPCD_FUZZ_JOBS (default: all).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-20}
build=${UTMPCD_FUZZ_BUILD_DIR:-$top/build-fuzz}
targets=(fuzz_access fuzz_api_request fuzz_bench_http_frame fuzz_config fuzz_finger fuzz_http_frame fuzz_ingest_message fuzz_journal_message fuzz_lastlog_decode fuzz_logind_session_file
  fuzz_fleet_config fuzz_net_api fuzz_request_head fuzz_sse fuzz_text fuzz_timestamp fuzz_undump fuzz_utmp_decode
  fuzz_utmp_listing fuzz_udp_wire fuzz_whod fuzz_wtmpdb)

cmake -S "$top" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER=clang++ -DUTMPCD_FUZZ=ON -DUTMPCD_TESTS=OFF -DUTMPCD_BENCH=OFF >/dev/null
cmake --build "$build" --parallel "$(nproc)" --target "${targets[@]}"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pids=()
for t in "${targets[@]}"; do
  mkdir -p "$work/$t" "$build/fuzz-artifacts/$t"
  # New inputs go to a scratch corpus (first directory), so the committed seeds stay as they are.
  # 2 GB RSS and 10 s per input are far above what a decoder of a few KB of input needs: hitting
  # either is a bug. The outer timeout only catches a fuzzer that ignores -max_total_time.
  timeout $((seconds + 120)) "$build/fuzz/$t" -max_total_time="$seconds" -rss_limit_mb=2048 \
    -timeout=10 -max_len=65536 -print_final_stats=1 \
    -artifact_prefix="$build/fuzz-artifacts/$t/" "$work/$t" "$top/fuzz/corpus/$t" \
    >"$work/$t.log" 2>&1 &
  pids+=($!)
done
failed=0
for i in "${!targets[@]}"; do
  t=${targets[$i]}
  if wait "${pids[$i]}"; then
    echo "fuzz $t: ok ($(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "$work/$t.log" |
      grep -o '[0-9]*$') runs in ${seconds}s)"
  else
    echo "fuzz $t: FAILED; last lines of its log:"
    tail -n 40 "$work/$t.log"
    ls -l "$build/fuzz-artifacts/$t/"
    failed=1
  fi
done
exit "$failed"
