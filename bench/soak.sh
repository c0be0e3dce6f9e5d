#!/usr/bin/env bash
# Soak test of run --server: 8 concurrent `carbonmeter run --server` clients for 10 minutes while
# the server is killed (SIGKILL) and restarted twice; then every run on the server must equal its
# local report (the same sample count and energy) and no spool may be left.
#
# Usage: bench/soak.sh BUILD_DIR [sqlite|postgresql]
#   BUILD_DIR: a build with carbonmeter and carbonmeter-serve (e.g. build/release after make build).
#   postgresql: uses $CARBONMETER_TEST_POSTGRES_URL (eval "$(scripts/test_services)" sets it); the
#   script makes a schema of its own there and drops it afterwards.
#   Environment: SOAK_SECONDS (default 600), SOAK_CLIENTS (default 8), SOAK_INTERVAL_S (default 0.05).
set -euo pipefail

BUILD_DIR=${1:?usage: bench/soak.sh BUILD_DIR [sqlite|postgresql]}
BACKEND=${2:-sqlite}
SECONDS_TOTAL=${SOAK_SECONDS:-600}
CLIENTS=${SOAK_CLIENTS:-8}
INTERVAL=${SOAK_INTERVAL_S:-0.05}
CLI=$(cd "$BUILD_DIR" && pwd)/carbonmeter
[[ -x $CLI ]] || { echo "soak.sh: $CLI is missing: build $BUILD_DIR first" >&2; exit 2; }
for tool in curl jq; do
  command -v $tool >/dev/null || { echo "soak.sh: needs $tool (apt-get install $tool)" >&2; exit 2; }
done

WORK=$(mktemp -d /tmp/carbonmeter-soak.XXXXXX)
ADMIN=soak-admin-token-0123456789
export CARBONMETER_ADMIN_TOKEN=$ADMIN
case $BACKEND in
  sqlite) DB="sqlite:$WORK/soak.db" ;;
  postgresql)
    : "${CARBONMETER_TEST_POSTGRES_URL:?set it: eval \"\$(scripts/test_services)\"}"
    SCHEMA=carbonmeter_soak_$$
    psql -q "$CARBONMETER_TEST_POSTGRES_URL" -c "CREATE SCHEMA $SCHEMA" >/dev/null
    sep=?; [[ $CARBONMETER_TEST_POSTGRES_URL == *\?* ]] && sep=\&
    DB="$CARBONMETER_TEST_POSTGRES_URL${sep}options=-csearch_path%3D$SCHEMA" ;;
  *) echo "soak.sh: backend is sqlite or postgresql" >&2; exit 2 ;;
esac
SERVER_PID=
cleanup() {
  [[ -n $SERVER_PID ]] && kill "$SERVER_PID" 2>/dev/null || true
  jobs -p | xargs -r kill 2>/dev/null || true
  wait 2>/dev/null || true
  [[ $BACKEND == postgresql ]] && psql -q "$CARBONMETER_TEST_POSTGRES_URL" -c "SET client_min_messages = warning; DROP SCHEMA IF EXISTS $SCHEMA CASCADE" >/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

start_server() {  # $1: port (0: pick one)
  "$CLI" serve --db "$DB" --listen "127.0.0.1:$1" --rate-limit 0 >"$WORK/serve.out" 2>>"$WORK/serve.err" &
  SERVER_PID=$!
  for _ in $(seq 300); do
    PORT=$(grep -o 'listening on http://127.0.0.1:[0-9]*' "$WORK/serve.out" | grep -o '[0-9]*$' || true)
    [[ -n $PORT ]] && return 0
    sleep 0.1
  done
  echo "soak.sh: the server did not start: $(cat "$WORK/serve.err")" >&2
  exit 1
}
api() {  # METHOD PATH [JSON] with the admin token
  curl -sf -X "$1" -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' \
    ${3:+--data "$3"} "http://127.0.0.1:$PORT/api/v1$2"
}

start_server 0
api POST /projects '{"name":"soak"}' >/dev/null
TOKEN=$(api POST /projects/soak/tokens '{"label":"soak"}' | jq -r .token)
export CARBONMETER_API_KEY=$TOKEN
echo "soak: $CLIENTS clients, ${SECONDS_TOTAL} s, ${INTERVAL} s samples, $BACKEND, server on port $PORT"

CLIENT_PIDS=()
for i in $(seq "$CLIENTS"); do
  mkdir -p "$WORK/c$i"
  (cd "$WORK/c$i" && "$CLI" run --server "http://127.0.0.1:$PORT" --project-name soak --experiment soak \
     --scope machine --interval "$INTERVAL" --json report.json --no-csv --quiet --carbon-intensity 300 --server-wait 60 \
     -- sleep "$SECONDS_TOTAL" 2>client.err) &
  CLIENT_PIDS+=($!)
done

for restart in 1 2; do
  sleep $((SECONDS_TOTAL / 3))
  kill -9 "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true
  echo "soak: t=${SECONDS} s: server killed (restart $restart); down for 10 s"
  sleep 10
  start_server "$PORT"
  echo "soak: server restarted"
done
wait "${CLIENT_PIDS[@]}" || true

lost=0 runs=0 samples=0
for i in $(seq "$CLIENTS"); do
  report=$WORK/c$i/report.json
  [[ -s $report ]] || { echo "client $i wrote no report: $(cat "$WORK/c$i/client.err")"; lost=1; continue; }
  run_id=$(jq -r .run_id "$report")
  local_n=$(jq .sample_count "$report")
  local_j=$(jq .energy_j.total "$report")
  server=$(api GET "/runs/$run_id")
  server_n=$(jq .sample_count <<<"$server")
  server_j=$(jq .energy_j.total <<<"$server")
  ended=$(jq .ended_unix_s <<<"$server")
  same_j=$(jq -n "($server_j - $local_j) | fabs <= 1e-6 * $local_j + 1e-9")
  spools=$(ls "$WORK/c$i" | grep -c spool || true)
  echo "client $i: run $run_id: $local_n samples local, $server_n on the server; energy $local_j J vs $server_j J; ended $ended; spools left $spools"
  [[ $local_n == "$server_n" && $same_j == true && $ended != null && $spools == 0 ]] || lost=1
  runs=$((runs + 1)); samples=$((samples + server_n))
done
echo "soak: $runs runs, $samples samples on the server, 2 restarts: $([[ $lost == 0 ]] && echo 'nothing lost, nothing counted twice' || echo 'MISMATCH')"
exit $lost
