#!/usr/bin/env bash
# carbonmeter's own cost while it measures a command that does nothing (`sleep D`):
#   - its CPU time, as % of one core, at --interval 1 and --interval 0.01
#   - its peak RSS
#   - the time from starting carbonmeter to the moment the measured command runs (the baseline
#     sample is taken before the command is released), and to the journal header's timestamp
#
# Usage: bench/run_overhead.sh [path/to/carbonmeter]   (default build/release/carbonmeter)
# Environment: CARBONMETER_BENCH_SECONDS (D, default 30), CARBONMETER_BENCH_REPEATS (default 20; runs
#   of the short measurements), CARBONMETER_BENCH_SLEEP_REPEATS (default 3; runs of `sleep D`),
#   CARBONMETER_BENCH_FAKE_RAPL=1: point CARBONMETER_SYSFS_ROOT at a fake powercap tree (2 sockets x
#   package, core, uncore, dram) so that carbonmeter takes its RAPL path, as on a machine with RAPL;
#   otherwise it uses whatever this machine has (no RAPL in a VM: the cpu-estimate path).
#
# CPU time: bash's `time` keyword (getrusage of the waited-for children, ms resolution; GNU time's
# %U/%S are rounded to 10 ms, too coarse for 0.05 % of 30 s). It includes the child `sleep` and
# /usr/bin/time itself: both are measured alone (`/usr/bin/time sleep 0`, same wrapper) and
# subtracted. `sleep` uses no CPU while it sleeps, so `sleep 0` costs what `sleep D` costs
# (about 1 ms: exec and exit). Peak RSS is GNU time's %M (the largest RSS of carbonmeter and
# its child; sleep's is ~1 MB, below carbonmeter's).
set -euo pipefail

BIN=${1:-build/release/carbonmeter}
D=${CARBONMETER_BENCH_SECONDS:-30}
REPEATS=${CARBONMETER_BENCH_REPEATS:-20}
SLEEP_REPEATS=${CARBONMETER_BENCH_SLEEP_REPEATS:-3}
GNU_TIME=/usr/bin/time

if [[ ! -x $BIN ]]; then
  echo "run_overhead.sh: no carbonmeter binary at '$BIN' (build it: cmake --build BUILD --target carbonmeter_cli)" >&2
  exit 2
fi
if [[ ! -x $GNU_TIME ]]; then
  echo "run_overhead.sh: $GNU_TIME is missing: apt-get install -y time" >&2
  exit 2
fi
BIN=$(readlink -f "$BIN")
TMP=$(mktemp -d /tmp/carbonmeter-overhead-XXXXXX)
trap 'rm -rf "$TMP"' EXIT

median() { sort -g | awk '{v[NR]=$1} END {if (NR==0) {print "nan"} else if (NR%2) {print v[(NR+1)/2]} else {print (v[NR/2]+v[NR/2+1])/2}}'; }

# timed CMD...: runs CMD under bash's time and GNU time; sets REAL_S, CPU_S (user+sys of CMD and
# its descendants, incl. GNU time itself) and RSS_KB. A run killed from outside (SIGTERM/SIGKILL:
# 143/137, e.g. someone else's `pkill sleep` on a shared machine) is run once more.
timed() {
  local TIMEFORMAT='%3R %3U %3S'
  local rc=0 attempt
  for attempt in 1 2; do
    rc=0
    { time "$GNU_TIME" -f '%U %S %M' -o "$TMP/gnu" "$@" >/dev/null 2>"$TMP/stderr"; } 2>"$TMP/bash" || rc=$?
    if ((rc == 143 || rc == 137)) && ((attempt == 1)); then
      echo "run_overhead.sh: '$*' was killed from outside (exit $rc); running it again" >&2
      continue
    fi
    break
  done
  if ((rc != 0)); then
    echo "run_overhead.sh: '$*' exited with $rc:" >&2
    cat "$TMP/stderr" "$TMP/gnu" >&2
    exit 1
  fi
  read -r REAL_S U_S S_S <"$TMP/bash"
  CPU_S=$(awk -v u="$U_S" -v s="$S_S" 'BEGIN {printf "%.3f", u + s}')
  RSS_KB=$(tail -n 1 "$TMP/gnu" | awk '{print $3}')
}

if [[ ${CARBONMETER_BENCH_FAKE_RAPL:-0} == 1 ]]; then
  for socket in 0 1; do
    for zone in "intel-rapl:$socket package-$socket" "intel-rapl:$socket:0 core" \
                "intel-rapl:$socket:1 uncore" "intel-rapl:$socket:2 dram"; do
      read -r dir name <<<"$zone"
      mkdir -p "$TMP/sys/class/powercap/$dir"
      echo "$name" >"$TMP/sys/class/powercap/$dir/name"
      echo 123456789 >"$TMP/sys/class/powercap/$dir/energy_uj"
      echo 262143328850 >"$TMP/sys/class/powercap/$dir/max_energy_range_uj"
    done
  done
  export CARBONMETER_SYSFS_ROOT=$TMP/sys
fi

echo "machine: $(nproc) CPUs, $(lscpu | sed -n 's/^Model name:[[:space:]]*//p'), kernel $(uname -r)"
echo "binary:  $BIN"
echo "date:    $(date -u +%Y-%m-%dT%H:%M:%SZ)"
"$BIN" run --quiet --output-dir "$TMP/out-probe" -- true
where="the sensors of this machine"
[[ -n ${CARBONMETER_SYSFS_ROOT:-} ]] && where="CARBONMETER_SYSFS_ROOT=$CARBONMETER_SYSFS_ROOT"
echo "sensors: cpu,gpu,ram = $(head -n 1 "$TMP"/out-probe/*.journal | grep -o '"method":"[^"]*"' | cut -d'"' -f4 | paste -sd, -) ($where)"
echo

# The wrapper and the child alone: subtracted from every figure below.
for _ in 1 2 3 4 5; do timed sleep 0; echo "$CPU_S"; done >"$TMP/calib_sleep"
CALIB_SLEEP=$(median <"$TMP/calib_sleep")
for _ in 1 2 3 4 5; do timed true; echo "$CPU_S"; done >"$TMP/calib_true"
CALIB_TRUE=$(median <"$TMP/calib_true")
echo "calibration: /usr/bin/time + sleep 0 = ${CALIB_SLEEP} s CPU, /usr/bin/time + true = ${CALIB_TRUE} s CPU (subtracted)"

# Fixed cost of one run (start, probe, journal, baseline, last sample, report): `run -- true`.
: >"$TMP/fixed_cpu"
: >"$TMP/fixed_wall"
for ((i = 0; i < REPEATS; i++)); do
  timed "$BIN" run --quiet --output-dir "$TMP/out-fixed-$i" -- true
  awk -v c="$CPU_S" -v k="$CALIB_TRUE" 'BEGIN {printf "%.4f\n", c - k}' >>"$TMP/fixed_cpu"
  echo "$REAL_S" >>"$TMP/fixed_wall"
done
FIXED_CPU=$(median <"$TMP/fixed_cpu")
echo "fixed cost of 'carbonmeter run -- true' (median of $REPEATS): $(awk -v c="$FIXED_CPU" 'BEGIN {printf "%.1f", c * 1000}') ms CPU, $(awk -v w="$(median <"$TMP/fixed_wall")" 'BEGIN {printf "%.1f", w * 1000}') ms wall"
echo

# Own CPU and peak RSS over `sleep D`: the median of SLEEP_REPEATS runs (one 30 s run moves by
# +-20 % on a shared VM), with the smallest and largest beside it.
for I in 1 0.01; do
  : >"$TMP/own_$I"
  for ((i = 0; i < SLEEP_REPEATS; i++)); do
    rm -rf "$TMP/out-$I"
    timed "$BIN" run --quiet --output-dir "$TMP/out-$I" --interval "$I" -- sleep "$D"
    samples=$(cat "$TMP"/out-"$I"/*.journal 2>/dev/null | grep -c '"type":"sample"' || true)
    awk -v r="$REAL_S" -v c="$CPU_S" -v k="$CALIB_SLEEP" -v m="$RSS_KB" -v n="$samples" \
      'BEGIN {own = c - k; if (own < 0) own = 0; printf "%.4f %.3f %d %d\n", 100 * own / r, r, m, n}' >>"$TMP/own_$I"
  done
  sort -g "$TMP/own_$I" | awk -v i="$I" -v d="$D" -v f="$FIXED_CPU" -v n="$SLEEP_REPEATS" '
    {pct[NR] = $1; real[NR] = $2; rss = ($3 > rss ? $3 : rss); samples = $4}
    END {
      m = (NR % 2) ? pct[(NR + 1) / 2] : (pct[NR / 2] + pct[NR / 2 + 1]) / 2;
      steady = m - 100 * f / real[1]; if (steady < 0) steady = 0;
      printf "interval %-5s sleep %s: own CPU %.4f %% of a core (median of %d; %.4f-%.4f; steady state, fixed cost removed: %.4f %%), peak RSS %.1f MiB, %d samples in the journal\n",
             i, d, m, n, pct[1], pct[NR], steady, rss / 1024, samples }'
done
echo

# From starting carbonmeter to the command running. The command is `date +%s%N`, which prints
# when it runs; `date` started directly (no carbonmeter) is subtracted: what remains is
# carbonmeter's exec, probe, journal header (with its fdatasync), baseline sample and release.
# The journal header's start_unix_s is stamped after probing, just before the header is written.
: >"$TMP/release"
: >"$TMP/direct"
: >"$TMP/header"
for ((i = 0; i < REPEATS; i++)); do
  t0=$EPOCHREALTIME
  date +%s%N >"$TMP/date_direct"
  awk -v t0="$t0" -v t1="$(cat "$TMP/date_direct")" 'BEGIN {printf "%.3f\n", (t1 / 1e9 - t0) * 1000}' >>"$TMP/direct"
  t0=$EPOCHREALTIME
  "$BIN" run --quiet --output-dir "$TMP/out-release-$i" -- date +%s%N >"$TMP/date_child"
  awk -v t0="$t0" -v t1="$(cat "$TMP/date_child")" 'BEGIN {printf "%.3f\n", (t1 / 1e9 - t0) * 1000}' >>"$TMP/release"
  start=$(head -n 1 "$TMP"/out-release-"$i"/*.journal | grep -o '"start_unix_s":[0-9.eE+-]*' | cut -d: -f2)
  awk -v t0="$t0" -v s="$start" 'BEGIN {printf "%.3f\n", (s - t0) * 1000}' >>"$TMP/header"
done
DIRECT_MS=$(median <"$TMP/direct")
RELEASE_MS=$(median <"$TMP/release")
HEADER_MS=$(median <"$TMP/header")
awk -v r="$RELEASE_MS" -v d="$DIRECT_MS" -v h="$HEADER_MS" -v n="$REPEATS" 'BEGIN {
  printf "exec -> command running (baseline sample taken): %.2f ms (median of %d; %.2f ms with the %.2f ms of starting date alone removed)\n", r, n, r - d, d
  printf "exec -> journal header stamped:                  %.2f ms (median of %d)\n", h, n }'
