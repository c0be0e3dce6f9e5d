// Rules both storage back ends share (see storage_rules.hpp).
#include "server/storage_rules.hpp"

#include <fmt/format.h>

#include <charconv>
#include <chrono>
#include <cmath>
#include <set>

#include "carbon/timestamp.hpp"

namespace carbonmeter::server {

Status validate_run(const RunRecord& run) {
  if (run.run_id.empty()) {
    return Error{"the run has no run_id: send the run report's run_id (a UUID the client chooses)"};
  }
  if (run.run_id.size() > 200) {
    return Error{fmt::format("run_id '{}...' is {} characters long: use at most 200 (a UUID)",
                             run.run_id.substr(0, 40), run.run_id.size())};
  }
  if (run.scope != "process" && run.scope != "cgroup" && run.scope != "machine") {
    return Error{fmt::format("run {} has scope '{}': send \"process\", \"cgroup\" or \"machine\"", run.run_id,
                             run.scope)};
  }
  if (run.job.node.empty()) {
    return Error{fmt::format("run {} has no node: send the host name the run measured", run.run_id)};
  }
  if (run.job.rank && *run.job.rank < 0) {
    return Error{fmt::format("run {} has rank {}: ranks start at 0", run.run_id, *run.job.rank)};
  }
  if (run.job.local_rank && *run.job.local_rank < 0) {
    return Error{fmt::format("run {} has local_rank {}: ranks start at 0", run.run_id, *run.job.local_rank)};
  }
  if (run.job.world_size && *run.job.world_size < 1) {
    return Error{fmt::format("run {} has world_size {}: send the number of ranks (1 or more)", run.run_id,
                             *run.job.world_size)};
  }
  if (run.job.rank && run.job.world_size && *run.job.rank >= *run.job.world_size) {
    return Error{fmt::format("run {} has rank {} but world_size {}: a rank is below world_size", run.run_id,
                             *run.job.rank, *run.job.world_size)};
  }
  if ((run.job.rank || run.job.world_size) && !run.job.job_id) {
    return Error{
        fmt::format("run {} has a rank or world_size but no job_id: send the job id "
                    "(SLURM_JOB_ID, TORCHELASTIC_RUN_ID) with them",
                    run.run_id)};
  }
  if (run.job.job_id && run.job.job_id->empty()) {
    return Error{fmt::format("run {} has an empty job_id: leave it out or send the job's id", run.run_id)};
  }
  auto unix_time = [](double s) { return std::isfinite(s) && s >= 0 && s < kYear10000UnixS; };
  if (!unix_time(run.started_unix_s) || (run.ended_unix_s && !unix_time(*run.ended_unix_s))) {
    return Error{
        fmt::format("run {} has a start or end time that is not Unix seconds from 1970 to the end of 9999: "
                    "send Unix seconds",
                    run.run_id)};
  }
  return Ok{};
}

Status validate_samples(const std::vector<SampleRecord>& samples) {
  std::set<std::int64_t> seen;
  for (const auto& s : samples) {
    if (s.seq < 0) {
      return Error{fmt::format("sample seq {} is negative: number samples from 0", s.seq)};
    }
    if (!seen.insert(s.seq).second) {
      return Error{fmt::format("sample seq {} appears twice in the batch: send each seq once", s.seq)};
    }
    const double values[] = {s.t_unix_s,     s.dt_s,         s.energy_cpu_j,
                             s.energy_ram_j, s.energy_gpu_j, s.emissions_g};
    for (double v : values) {
      if (!std::isfinite(v)) {
        return Error{
            fmt::format("sample seq {} holds a value that is not a finite number "
                        "(NaN or infinity): fix the client; nothing of this batch was stored",
                        s.seq)};
      }
    }
    if (s.intensity_g_per_kwh && !std::isfinite(*s.intensity_g_per_kwh)) {
      return Error{
          fmt::format("sample seq {} has an intensity that is not a finite number: leave "
                      "it out or send gCO2e/kWh; nothing of this batch was stored",
                      s.seq)};
    }
    if (s.t_unix_s < 0 || s.t_unix_s >= kYear10000UnixS) {
      return Error{
          fmt::format("sample seq {} has a time that is not Unix seconds from 1970 to the end of 9999: "
                      "fix the client; nothing of this batch was stored",
                      s.seq)};
    }
    if (s.dt_s < 0 || s.energy_cpu_j < 0 || s.energy_ram_j < 0 || s.energy_gpu_j < 0 || s.emissions_g < 0) {
      return Error{
          fmt::format("sample seq {} has a negative duration, energy or emissions: "
                      "energies are deltas (>= 0); nothing of this batch was stored",
                      s.seq)};
    }
  }
  return Ok{};
}

namespace {
std::string job_text(const RunRecord& run) { return run.job.job_id.value_or(""); }
}  // namespace

Status check_multi_node_rule(const RunRecord& run, const std::vector<RunRecord>& same_job_runs) {
  if (!run.job.job_id) return Ok{};
  for (const auto& other : same_job_runs) {
    if (other.run_id == run.run_id || other.job.job_id != run.job.job_id) continue;
    if (run.job.rank && other.job.rank && *run.job.rank == *other.job.rank) {
      return Error{
          fmt::format("run {} already holds rank {} of job {} (node {}): each rank of a job is one run; send "
                      "this run with its own rank, or under another job_id",
                      other.run_id, *other.job.rank, job_text(run), other.job.node)};
    }
    if (other.job.node != run.job.node) continue;
    // A cgroup-scope run measures a whole cgroup (a container, a Slurm job's allocation), which
    // may hold the other run's processes: one per job and node, alone.
    if (run.scope == "cgroup" || other.scope == "cgroup") {
      return Error{fmt::format(
          "run {} ({}-scope) already measures part of node {} for job {}: a {}-scope run beside it could "
          "count the same energy twice; measure the node's share of this job once, with one --cgroup run or "
          "with --scope process runs only",
          other.run_id, other.scope, run.job.node, job_text(run), run.scope)};
    }
    if (run.scope == "machine" && other.scope == "machine") {
      return Error{fmt::format(
          "run {} already measures the whole machine {} for job {}: a second machine-scope run on "
          "that node would count its energy twice; measure only one process per node with "
          "--scope machine (e.g. local rank 0) and the others with --scope process, or not at all",
          other.run_id, run.job.node, job_text(run))};
    }
    if (run.scope == "process" && other.scope == "machine") {
      return Error{
          fmt::format("run {} already measures the whole machine {} for job {}, which includes this "
                      "process-scope run's energy: drop this run, or measure every process on the node with "
                      "--scope process instead",
                      other.run_id, run.job.node, job_text(run))};
    }
    if (run.scope == "machine" && other.scope == "process") {
      return Error{
          fmt::format("run {} of job {} already measures a process on node {}: a machine-scope run there "
                      "would count that process's energy twice; measure every process on the node with "
                      "--scope process, or only one with --scope machine",
                      other.run_id, job_text(run), run.job.node)};
    }
  }
  return Ok{};
}

Status check_retry_of(const RunRecord& stored, const RunRecord& sent) {
  if (stored.project_id != sent.project_id) {
    return Error{fmt::format(
        "run_id {} belongs to another project: choose a new run_id (a UUID) for this run", sent.run_id)};
  }
  const bool same_run = stored.scope == sent.scope && stored.job.node == sent.job.node &&
                        stored.job.rank == sent.job.rank && stored.job.job_id == sent.job.job_id &&
                        std::abs(stored.started_unix_s - sent.started_unix_s) < 1e-3;
  if (!same_run) {
    return Error{
        fmt::format("run_id {} is registered already with another node, rank, scope, job or start: choose a "
                    "new run_id (a UUID) for this run",
                    sent.run_id)};
  }
  return Ok{};
}

std::vector<Totals> totals_by_day(const std::vector<DayTotals>& days) {
  std::vector<Totals> result;
  result.reserve(days.size());
  for (const DayTotals& day : days) {
    Totals t;
    t.key = utc_day_string(day.day);
    t.energy_cpu_j = day.energy_cpu_j;
    t.energy_ram_j = day.energy_ram_j;
    t.energy_gpu_j = day.energy_gpu_j;
    t.emissions_g = day.emissions_g;
    t.run_count = day.run_count;
    t.sample_count = day.sample_count;
    result.push_back(std::move(t));
  }
  return result;
}

std::string utc_day_string(std::int64_t days_since_epoch) {
  // Howard Hinnant's civil_from_days.
  std::int64_t z = days_since_epoch + 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const std::int64_t doe = z - era * 146097;
  const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  std::int64_t y = yoe + era * 400;
  const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const std::int64_t mp = (5 * doy + 2) / 153;
  const std::int64_t d = doy - (153 * mp + 2) / 5 + 1;
  const std::int64_t m = mp < 10 ? mp + 3 : mp - 9;
  if (m <= 2) ++y;
  return fmt::format("{:04}-{:02}-{:02}", y, m, d);
}

double now_unix_s() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string redact_url_password(const std::string& url) {
  const auto scheme = url.find("://");
  if (scheme == std::string::npos) return url;
  const auto at = url.find('@', scheme + 3);
  if (at == std::string::npos) return url;
  const auto colon = url.find(':', scheme + 3);
  if (colon == std::string::npos || colon > at) return url;
  return url.substr(0, colon + 1) + "***" + url.substr(at);
}

std::string double_to_text(double value) {
  char buffer[64];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  (void)ec;
  return std::string(buffer, end);
}

}  // namespace carbonmeter::server
