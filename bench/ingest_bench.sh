#!/usr/bin/env bash
# HTTP ingest benchmark of `carbonmeter serve` (issue 8: >= 20,000 samples/s into SQLite and into
# PostgreSQL, batches of 100, on loopback; p99 latency reported). For bench/RESULTS.md.
#
# Usage: bench/ingest_bench.sh [BUILD_DIR]        (default build/release)
#   BUILD_DIR holds carbonmeter-serve (a Release build), e.g.
#     cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release && cmake --build build/release -j2 --target carbonmeter_serve
#   With BUILD_DIR/bench/carbonmeter_server_storage_bench (CARBONMETER_BUILD_BENCHMARKS=ON, target
#   carbonmeter_server_storage_bench) the storage-layer insert rate is measured too, as a baseline.
#
# Needs wrk (Debian package `wrk`: apt-get install wrk) and curl. PostgreSQL: set
# CARBONMETER_TEST_POSTGRES_URL (eval "$(scripts/test_services)"), else that back end is skipped;
# the bench works in a schema of its own (cm_ingest_bench_PID, made and dropped with psql).
#
# For each back end it starts carbonmeter-serve on a free loopback port (--rate-limit 0; SQLite in
# a temporary folder), measures GET /api/v1/health with wrk (the HTTP baseline), creates a project,
# a project token and one run per wrk connection (CONNECTIONS / THREADS runs per wrk thread, sent
# to in turn), then runs wrk with bench/ingest_wrk.lua: each request POSTs a batch of new samples
# (unique seqs per run) to /api/v1/runs/RUN/samples. It reports
#   samples/s (wrk) = completed requests x batch / duration
#   samples/s (stored) = the runs' sample_count (GET /api/v1/runs/RUN) / duration: what was really
#     stored, so errors or duplicates cannot inflate the figure
#   p50 / p99 latency (wrk's per-request latency), non-2xx answers and socket errors.
#
# Environment (defaults): CARBONMETER_INGEST_SECONDS (20), CARBONMETER_INGEST_THREADS (2: wrk
# threads), CARBONMETER_INGEST_CONNECTIONS (8, a multiple of THREADS; keep <= the server's 8 HTTP
# worker threads: cpp-httplib holds a worker per keep-alive connection), CARBONMETER_INGEST_BATCH (100),
# CARBONMETER_INGEST_BACKENDS ("sqlite postgres"), CARBONMETER_INGEST_STORAGE_SAMPLES (100000: the
# storage baseline's samples; 0 skips it), CARBONMETER_INGEST_PG_OPTIONS (empty: PostgreSQL settings for
# the server's session, libpq `options` syntax, e.g. "-csynchronous_commit=off" to see what the WAL
# flush at each commit costs; the figures are then not comparable with the default).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
BUILD_DIR=${1:-$ROOT/build/release}
SERVE=$BUILD_DIR/carbonmeter-serve
STORAGE_BENCH=$BUILD_DIR/bench/carbonmeter_server_storage_bench
LUA=$HERE/ingest_wrk.lua

SECONDS_PER_RUN=${CARBONMETER_INGEST_SECONDS:-20}
THREADS=${CARBONMETER_INGEST_THREADS:-2}
CONNECTIONS=${CARBONMETER_INGEST_CONNECTIONS:-8}
BATCH=${CARBONMETER_INGEST_BATCH:-100}
BACKENDS=${CARBONMETER_INGEST_BACKENDS:-sqlite postgres}
STORAGE_SAMPLES=${CARBONMETER_INGEST_STORAGE_SAMPLES:-100000}
PG_OPTIONS=${CARBONMETER_INGEST_PG_OPTIONS:-}

die() { echo "ingest_bench.sh: $*" >&2; exit 2; }

[[ -x $SERVE ]] || die "$SERVE is missing: build it first (cmake -S . -B $BUILD_DIR -DCMAKE_BUILD_TYPE=Release && cmake --build $BUILD_DIR -j2 --target carbonmeter_serve)"
command -v wrk >/dev/null || die "wrk is not installed: apt-get install wrk (Debian/Ubuntu), or build it from https://github.com/wg/wrk"
command -v curl >/dev/null || die "curl is not installed: apt-get install curl"
(( THREADS >= 1 && CONNECTIONS >= THREADS && CONNECTIONS % THREADS == 0 && BATCH >= 1 && BATCH <= 1000 )) ||
  die "need CARBONMETER_INGEST_THREADS >= 1, CONNECTIONS a multiple of THREADS, 1 <= BATCH <= 1000"
RUNS_PER_THREAD=$((CONNECTIONS / THREADS))

WORK=$(mktemp -d "${TMPDIR:-/tmp}/carbonmeter_ingest_bench.XXXXXX")
SERVER_PID=""
PG_SCHEMA=""
cleanup() {
  if [[ -n $SERVER_PID ]]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  if [[ -n $PG_SCHEMA ]]; then
    pg -c "DROP SCHEMA IF EXISTS $PG_SCHEMA CASCADE" >/dev/null 2>&1 || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
# psql on the test database, quiet (no NOTICEs about what DROP SCHEMA ... CASCADE dropped).
pg() { PGOPTIONS='-c client_min_messages=warning' psql "$CARBONMETER_TEST_POSTGRES_URL" -XAtq -v ON_ERROR_STOP=1 "$@"; }

ADMIN_TOKEN=cm_$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
export CARBONMETER_ADMIN_TOKEN=$ADMIN_TOKEN

# Starts the server on --db $1; sets SERVER_PID and BASE (http://127.0.0.1:PORT).
start_server() {
  local log=$WORK/serve.log
  "$SERVE" serve --db "$1" --listen 127.0.0.1:0 --rate-limit 0 >"$log" 2>&1 &
  SERVER_PID=$!
  BASE=""
  for _ in $(seq 1 100); do
    BASE=$(grep -o 'listening on http://[^ ]*' "$log" | sed 's/listening on //' || true)
    [[ -n $BASE ]] && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  cat "$log" >&2
  die "carbonmeter-serve did not start (its output is above)"
}

stop_server() {
  kill -TERM "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
}

# api METHOD PATH TOKEN [BODY]: prints the body; fails on an HTTP error.
api() {
  local args=(-sS --fail-with-body -X "$1" -H "Authorization: Bearer $3")
  [[ $# -ge 4 ]] && args+=(-H 'Content-Type: application/json' --data "$4")
  curl "${args[@]}" "$BASE$2" || die "$1 $2 failed"
}

# field NAME: the value of "NAME": in the JSON on stdin (the server writes compact JSON).
field() { grep -o "\"$1\":[^,}]*" | head -n 1 | sed -e "s/^\"$1\"://" -e 's/^"//' -e 's/"$//'; }

# value KEY LINE: KEY=VALUE out of the CM_RESULT line.
value() { sed -n "s/.*[ ]$1=\([0-9.]*\).*/\1/p" <<<"$2"; }

ms() { awk -v us="$1" 'BEGIN { printf "%.2f ms", us / 1000 }'; }

ROWS=()
row() { ROWS+=("$(printf '%-9s %-26s %9s %12s %13s %10s %10s  %s' "$@")"); }

wrk_run() {  # wrk_run MODE URL: prints wrk's output (its last line is CM_RESULT ...)
  CM_WRK_MODE=$1 CM_TOKEN=${TOKEN:-} CM_RUN_PREFIX=${PREFIX:-} CM_RUNS_PER_THREAD=$RUNS_PER_THREAD CM_BATCH=$BATCH \
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"${SECONDS_PER_RUN}s" --timeout 10s --latency -s "$LUA" "$2"
}

bench_backend() {
  local name=$1 db=$2
  start_server "$db"
  local shown_db  # without the URL's query and password
  shown_db=$(sed 's#^\(postgres[a-z]*://[^:/@]*\):[^@]*@#\1:***@#' <<<"${db%%\?*}")
  echo "== $name: carbonmeter-serve $("$SERVE" --version 2>/dev/null | head -n 1 || true) at $BASE, --db $shown_db${PG_OPTIONS:+ (session: $PG_OPTIONS)} =="

  # 1. The HTTP baseline: GET /api/v1/health (no token; two small storage reads).
  local out result
  out=$(wrk_run health "$BASE/api/v1/health")
  echo "$out" | grep -v '^CM_RESULT'
  result=$(grep '^CM_RESULT' <<<"$out")
  local requests duration non2xx
  requests=$(value requests "$result"); duration=$(value duration_us "$result")
  non2xx=$(value non2xx "$result")
  row "$name" "GET /health" \
    "$(awk -v r="$requests" -v d="$duration" 'BEGIN { printf "%.0f", r / (d / 1e6) }')" "-" "-" \
    "$(ms "$(value p50_us "$result")")" "$(ms "$(value p99_us "$result")")" "non-2xx $non2xx"

  # 2. A project, its token, one run per wrk connection.
  api POST /api/v1/projects "$ADMIN_TOKEN" '{"name":"ingest-bench"}' >/dev/null
  TOKEN=$(api POST /api/v1/projects/ingest-bench/tokens "$ADMIN_TOKEN" '{"label":"ingest bench"}' | field token)
  [[ $TOKEN == cm_* ]] || die "no project token in the answer"
  PREFIX=ingest-$name-$$
  local t k run runs=()
  for ((t = 0; t < THREADS; t++)); do
    for ((k = 0; k < RUNS_PER_THREAD; k++)); do runs+=("$PREFIX-$t-$k"); done
  done
  for run in "${runs[@]}"; do
    api POST /api/v1/runs "$TOKEN" "{\"run_id\":\"$run\",\"project\":\"ingest-bench\",\"scope\":\"process\",\"job\":{\"node\":\"$run\"},\"started_unix_s\":1700000000}" >/dev/null
  done

  # 3. The ingest.
  out=$(wrk_run ingest "$BASE")
  echo "$out" | grep -v '^CM_RESULT'
  result=$(grep '^CM_RESULT' <<<"$out")
  requests=$(value requests "$result"); duration=$(value duration_us "$result")
  non2xx=$(value non2xx "$result")
  local errors ok_batches bad_batches stored=0 count
  errors=$(( $(value connect_errors "$result") + $(value read_errors "$result") + $(value write_errors "$result") + $(value timeouts "$result") ))
  ok_batches=$(value ok_batches "$result"); bad_batches=$(value bad_batches "$result")
  for run in "${runs[@]}"; do
    count=$(api GET "/api/v1/runs/$run" "$TOKEN" | field sample_count)
    [[ $count =~ ^[0-9]+$ ]] || die "GET /api/v1/runs/$run gave no sample_count"
    stored=$((stored + count))
  done
  echo "stored: $stored samples in ${#runs[@]} runs; wrk: $requests requests completed ($ok_batches answered inserted=$BATCH, $bad_batches other answers), $non2xx non-2xx, $errors socket errors"
  # A request wrk sent but had no answer for when the time ran out may be stored: stored can
  # exceed requests x batch by at most connections x batch.
  local note="non-2xx $non2xx, socket errors $errors"
  if (( stored < ok_batches * BATCH || stored > (requests + CONNECTIONS) * BATCH )); then
    note+=", MISMATCH: stored $stored vs $ok_batches good batches"
  fi
  row "$name" "POST samples ($BATCH/batch)" \
    "$(awk -v r="$requests" -v d="$duration" 'BEGIN { printf "%.0f", r / (d / 1e6) }')" \
    "$(awk -v r="$requests" -v b="$BATCH" -v d="$duration" 'BEGIN { printf "%.0f", r * b / (d / 1e6) }')" \
    "$(awk -v s="$stored" -v d="$duration" 'BEGIN { printf "%.0f", s / (d / 1e6) }')" \
    "$(ms "$(value p50_us "$result")")" "$(ms "$(value p99_us "$result")")" "$note"
  stop_server
  echo
}

echo "machine: nproc=$(nproc), $(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n 1), kernel $(uname -r), $(wrk -v 2>&1 | head -n 1 | cut -d' ' -f1-2)"
echo "load average before: $(cut -d" " -f1-3 /proc/loadavg) (the figures assume an otherwise idle machine)"
echo "wrk -t$THREADS -c$CONNECTIONS -d${SECONDS_PER_RUN}s --latency -s bench/ingest_wrk.lua; batch $BATCH samples; server --rate-limit 0"
echo

for backend in $BACKENDS; do
  case $backend in
    sqlite)
      bench_backend sqlite "sqlite:$WORK/ingest.db"
      ;;
    postgres)
      if [[ -z ${CARBONMETER_TEST_POSTGRES_URL:-} ]]; then
        echo "== postgres: skipped: set CARBONMETER_TEST_POSTGRES_URL (eval \"\$(scripts/test_services)\") =="
        echo
        continue
      fi
      command -v psql >/dev/null || die "psql is missing (Debian package postgresql-client): it makes the bench's schema"
      PG_SCHEMA=cm_ingest_bench_$$
      pg -c "DROP SCHEMA IF EXISTS $PG_SCHEMA CASCADE" -c "CREATE SCHEMA $PG_SCHEMA" >/dev/null
      sep='?'; [[ $CARBONMETER_TEST_POSTGRES_URL == *\?* ]] && sep='&'
      options="-csearch_path%3D$PG_SCHEMA"
      for option in $PG_OPTIONS; do options+="%20${option//=/%3D}"; done
      bench_backend postgres "$CARBONMETER_TEST_POSTGRES_URL${sep}options=$options"
      pg -c "DROP SCHEMA IF EXISTS $PG_SCHEMA CASCADE" >/dev/null
      PG_SCHEMA=""
      ;;
    *) die "unknown back end '$backend' in CARBONMETER_INGEST_BACKENDS (sqlite, postgres)" ;;
  esac
done

if [[ $STORAGE_SAMPLES != 0 && -x $STORAGE_BENCH ]]; then
  echo "== storage-layer baseline, no HTTP: $STORAGE_BENCH $STORAGE_SAMPLES (batches of 100) =="
  "$STORAGE_BENCH" "$STORAGE_SAMPLES"
  echo
elif [[ $STORAGE_SAMPLES != 0 ]]; then
  echo "(storage-layer baseline skipped: build $STORAGE_BENCH with CARBONMETER_BUILD_BENCHMARKS=ON)"
  echo
fi

echo "== summary (target: >= 20,000 samples/s per back end) =="
printf '%-9s %-26s %9s %12s %13s %10s %10s  %s\n' "back end" "route" "req/s" "samples/s" "stored/s" "p50" "p99" "errors"
printf '%s\n' "${ROWS[@]}"
