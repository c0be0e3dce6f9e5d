-- wrk script for bench/ingest_bench.sh (issue 8): POST /api/v1/runs/{run_id}/samples with batches
-- of new samples, or (CM_WRK_MODE=health) plain GETs of the URL given to wrk as the HTTP baseline.
--
--   CM_WRK_MODE=ingest CM_TOKEN=cm_... CM_RUN_PREFIX=ingest-123 CM_RUNS_PER_THREAD=4 CM_BATCH=100 \
--     wrk -t2 -c8 -d20s -s bench/ingest_wrk.lua http://127.0.0.1:PORT
--
-- wrk thread T (0-based) sends the samples of runs CM_RUN_PREFIX-T-0 .. CM_RUN_PREFIX-T-(K-1),
-- K = CM_RUNS_PER_THREAD (connections / threads: about one run per connection, as when each
-- client process sends its own run), taking them in turn. They must be registered before wrk
-- starts (ingest_bench.sh does it with curl). A thread's connections share its Lua state and
-- request() runs in that one thread, so a counter per run gives every request new seqs: no
-- (run_id, seq) is sent twice and every sample is a real insert.
--
-- done() prints one line that ingest_bench.sh reads:
--   CM_RESULT requests=.. duration_us=.. p50_us=.. p90_us=.. p99_us=.. max_us=.. non2xx=..
--     connect_errors=.. read_errors=.. write_errors=.. timeouts=.. ok_batches=.. bad_batches=..
-- ok_batches counts answers {"inserted": CM_BATCH, "duplicates": 0}; bad_batches every other answer.

local mode = os.getenv("CM_WRK_MODE") or "ingest"
local batch = tonumber(os.getenv("CM_BATCH") or "100")
local token = os.getenv("CM_TOKEN") or ""
local prefix = os.getenv("CM_RUN_PREFIX") or "ingest"
local runs_per_thread = tonumber(os.getenv("CM_RUNS_PER_THREAD") or "1")

-- Main thread: number the threads and keep them, to read their counters in done().
local threads = {}
local next_id = 0
function setup(thread)
  thread:set("thread_id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

-- Per thread (its own Lua state).
local paths, seqs, headers = {}, {}, nil
local turn = 0
ok_batches = 0
bad_batches = 0

function init(args)
  for k = 1, runs_per_thread do
    paths[k] = string.format("/api/v1/runs/%s-%d-%d/samples", prefix, thread_id, k - 1)
    seqs[k] = 0
  end
  headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token}
end

if mode == "ingest" then
  local parts = {}
  function request()
    turn = turn % runs_per_thread + 1
    local seq = seqs[turn]
    for i = 1, batch do
      local s = seq + i - 1
      -- Realistic values; the energies vary a little so that the sums are not trivially constant.
      parts[i] = string.format(
          '{"seq":%d,"t_unix_s":%.3f,"dt_s":1.0,"energy_j":{"cpu":%.3f,"ram":1.25,"gpu":250.0},' ..
          '"emissions_g":0.021,"intensity_g_per_kwh":280.0}',
          s, 1700000000 + s, 12.5 + (s % 7) * 0.125)
    end
    seqs[turn] = seq + batch
    return wrk.format("POST", paths[turn], headers, '{"samples":[' .. table.concat(parts, ",", 1, batch) .. ']}')
  end

  local expected = string.format('"inserted":%d', batch)
  function response(status, _, body)
    if status == 200 and body and body:find(expected, 1, true) and body:find('"duplicates":0', 1, true) then
      ok_batches = ok_batches + 1
    else
      bad_batches = bad_batches + 1
      if bad_batches <= 3 then io.stderr:write(string.format("ingest_wrk.lua: HTTP %d: %s\n", status, body or "")) end
    end
  end
end

function done(summary, latency, _)
  local ok, bad = 0, 0
  for _, thread in ipairs(threads) do
    ok = ok + (tonumber(thread:get("ok_batches")) or 0)
    bad = bad + (tonumber(thread:get("bad_batches")) or 0)
  end
  local e = summary.errors
  io.write(string.format(
      "CM_RESULT requests=%d duration_us=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d non2xx=%d " ..
      "connect_errors=%d read_errors=%d write_errors=%d timeouts=%d ok_batches=%d bad_batches=%d\n",
      summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
      latency:percentile(99), latency.max, e.status, e.connect, e.read, e.write, e.timeout, ok, bad))
end
