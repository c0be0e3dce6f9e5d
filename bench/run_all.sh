#!/usr/bin/env bash
# Runs every benchmark of bench/ with short settings and prints the figures for bench/RESULTS.md.
#
# Usage: bench/run_all.sh BUILD_DIR
#   BUILD_DIR: a Release build of the root project with CARBONMETER_BUILD_BENCHMARKS=ON, e.g.
#     cmake -S . -B build/bench -DCMAKE_BUILD_TYPE=Release -DCARBONMETER_BUILD_TESTS=OFF
#     cmake --build build/bench -j2
#   Environment: CARBONMETER_BENCH_SECONDS (default 30) and CARBONMETER_BENCH_REPEATS (default 20),
#   passed on to run_overhead.sh; CARBONMETER_INGEST_SECONDS (default 10 here) for ingest_bench.sh,
#   which also measures PostgreSQL when CARBONMETER_TEST_POSTGRES_URL is set (scripts/test_services).
set -euo pipefail

BUILD_DIR=${1:?usage: bench/run_all.sh BUILD_DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
SAMPLE_BENCH=$BUILD_DIR/bench/carbonmeter_sample_bench
PLAN_BENCH=$BUILD_DIR/bench/carbonmeter_plan_bench
CLI=$BUILD_DIR/carbonmeter

for f in "$SAMPLE_BENCH" "$PLAN_BENCH" "$CLI"; do
  if [[ ! -x $f ]]; then
    echo "run_all.sh: $f is missing: build $BUILD_DIR first (Release, CARBONMETER_BUILD_BENCHMARKS=ON)" >&2
    exit 2
  fi
done

echo "== 1. One sample (bench/sample_bench.cpp) =="
"$SAMPLE_BENCH" --benchmark_min_time=0.2 --benchmark_repetitions=3 --benchmark_report_aggregates_only=true \
  --benchmark_display_aggregates_only=true 2>&1 | grep -v -E '_(mean|stddev|cv)( |$)'
echo

echo "== 2. carbonmeter run -- sleep: this machine's sensors =="
"$HERE/run_overhead.sh" "$CLI"
echo

echo "== 2b. carbonmeter run -- sleep: fake RAPL tree (the path taken on a machine with RAPL) =="
CARBONMETER_BENCH_FAKE_RAPL=1 "$HERE/run_overhead.sh" "$CLI"
echo

echo "== 3. The planner on a year of 5-minute data (bench/plan_bench.cpp) =="
"$PLAN_BENCH" --benchmark_min_time=0.2 --benchmark_repetitions=3 --benchmark_report_aggregates_only=true \
  --benchmark_display_aggregates_only=true 2>&1 | grep -v -E '_(mean|stddev|cv)( |$)'
echo

echo "== 4. HTTP ingest through carbonmeter serve, SQLite and PostgreSQL (bench/ingest_bench.sh, wrk) =="
if command -v wrk >/dev/null; then
  CARBONMETER_INGEST_SECONDS=${CARBONMETER_INGEST_SECONDS:-10} "$HERE/ingest_bench.sh" "$BUILD_DIR"
else
  echo "skipped: wrk is not installed (apt-get install wrk)"
fi
