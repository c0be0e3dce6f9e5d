// What the server stores, behind one interface with two back ends: SQLite (the default, no
// set-up) and PostgreSQL (for teams). The HTTP API and the dashboard only ever talk to this.
// Energy in joules, emissions in grams, intensity in gCO2e/kWh, times in Unix seconds (UTC).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "carbonmeter/result.hpp"

namespace carbonmeter::server {

struct Project {
  std::int64_t id = 0;
  std::string name;
  double created_unix_s = 0.0;
};

// A token's secret is never stored: only its SHA-256 (hex). `project_id` empty: admin token.
struct TokenRecord {
  std::int64_t id = 0;
  std::optional<std::int64_t> project_id;
  std::string sha256_hex;
  std::string label;
  double created_unix_s = 0.0;
};

// Multi-node identity of a run (docs/api.md states the no-double-count rule).
struct JobIdentity {
  std::optional<std::string> job_id;
  std::string node;  // host name
  std::optional<int> rank;
  std::optional<int> local_rank;
  std::optional<int> world_size;
};

struct RunRecord {
  std::string run_id;  // client-chosen, unique (the run report's run_id)
  std::int64_t project_id = 0;
  std::string experiment;  // "" when none
  std::string scope;       // "process" | "machine"
  JobIdentity job;
  double started_unix_s = 0.0;
  std::optional<double> ended_unix_s;
  std::string metadata_json;  // the run report's header (methods, command, location...), as sent
  // Sums over the run's stored samples (kept up to date on every insert).
  double energy_cpu_j = 0.0, energy_ram_j = 0.0, energy_gpu_j = 0.0;
  double emissions_g = 0.0;
  std::int64_t sample_count = 0;
};

// One sampler interval. (run_id, seq) identifies it: inserting it twice stores it once.
struct SampleRecord {
  std::int64_t seq = 0;
  double t_unix_s = 0.0;  // end of the interval
  double dt_s = 0.0;
  double energy_cpu_j = 0.0, energy_ram_j = 0.0, energy_gpu_j = 0.0;
  double emissions_g = 0.0;
  std::optional<double> intensity_g_per_kwh;
};

// What register_run did: stored a new run, or found the same run stored already (a retry).
struct RegisteredRun {
  RunRecord run;         // as stored (a retry's: with its sums so far)
  bool created = false;  // false: a client's retry of a stored run
};

struct InsertOutcome {
  std::int64_t inserted = 0;
  std::int64_t duplicates = 0;  // already stored (a replay)
};

struct Totals {
  std::string key;  // the group: experiment name, job id, run id or day (YYYY-MM-DD, UTC)
  double energy_cpu_j = 0.0, energy_ram_j = 0.0, energy_gpu_j = 0.0;
  double emissions_g = 0.0;
  std::int64_t run_count = 0;
  std::int64_t sample_count = 0;
};

enum class GroupBy { experiment, job, day, run };

// One UTC day of a project's samples, read from sums kept per run and day as samples arrive.
struct DayTotals {
  std::int64_t day = 0;  // days since 1970-01-01 (UTC) of the samples' t_unix_s
  double energy_cpu_j = 0.0, energy_ram_j = 0.0, energy_gpu_j = 0.0;
  double emissions_g = 0.0;
  std::int64_t run_count = 0;
  std::int64_t sample_count = 0;
  std::optional<double> mean_intensity_g_per_kwh;  // over the day's samples that carry one
};

// Consecutive samples of a run merged into one point of a chart (see sample_buckets).
struct SampleBucket {
  double start_unix_s = 0.0;  // start of the first sample's interval (t_unix_s - dt_s)
  double end_unix_s = 0.0;    // end of the last sample's interval
  double duration_s = 0.0;    // sum of the samples' dt_s
  double energy_cpu_j = 0.0, energy_ram_j = 0.0, energy_gpu_j = 0.0;
  double emissions_g = 0.0;
  std::optional<double> mean_intensity_g_per_kwh;  // over the samples that carry one
  std::int64_t sample_count = 0;
};

struct RunFilter {
  std::optional<std::int64_t> project_id;
  std::optional<std::string> experiment;
  std::optional<std::string> job_id;
  std::int64_t limit = 100;
  std::int64_t offset = 0;
};

class Storage {
 public:
  virtual ~Storage() = default;

  // Applies the numbered migrations not yet applied; the version is kept in the database.
  virtual Status migrate() = 0;
  virtual int schema_version() = 0;  // 0 before the first migration (or when unreadable)

  virtual Result<Project> create_project(const std::string& name) = 0;
  virtual Result<std::optional<Project>> find_project(const std::string& name) = 0;
  virtual Result<std::vector<Project>> list_projects() = 0;

  virtual Result<TokenRecord> add_token(const TokenRecord& token) = 0;
  virtual Result<std::optional<TokenRecord>> find_token(const std::string& sha256_hex) = 0;

  // Creates the run, or returns the stored one when run_id exists for the same run (a client's
  // retry, check_retry_of). Fails on a run_id of another project or of another run, and on a run
  // that breaks the multi-node rule (a second machine-scope run of a job on the same node, a
  // process-scope run on a node that has a machine-scope one, two runs of a job with the same rank).
  // The check and the insert happen in one transaction.
  virtual Result<RegisteredRun> register_run(const RunRecord& run) = 0;
  virtual Result<std::optional<RunRecord>> find_run(const std::string& run_id) = 0;
  virtual Result<std::vector<RunRecord>> list_runs(const RunFilter& filter) = 0;
  virtual Status finish_run(const std::string& run_id, double ended_unix_s) = 0;

  // Atomic: all samples or none. Duplicates of (run_id, seq) are counted, not stored twice.
  // Refuses the whole batch when a value is not finite, an energy/emissions/dt is negative or a
  // seq repeats within the batch (the message names the seq), and when the run is not registered.
  virtual Result<InsertOutcome> insert_samples(const std::string& run_id,
                                               const std::vector<SampleRecord>& samples) = 0;
  virtual Result<std::vector<SampleRecord>> samples(const std::string& run_id, std::int64_t after_seq,
                                                    std::int64_t limit) = 0;

  virtual Result<std::vector<std::string>> list_experiments(std::int64_t project_id) = 0;
  // Sums of a project's runs grouped as asked (day: by sample time, UTC, from daily_totals), ordered
  // by key (bytewise). Runs without an experiment or a job are grouped under the key "".
  virtual Result<std::vector<Totals>> totals(std::int64_t project_id, GroupBy group_by) = 0;
  // The project's samples summed per UTC day, ordered by day; `experiment` set: only that
  // experiment's runs ("" : the runs without one). Reads a per-run, per-day table, not the samples.
  virtual Result<std::vector<DayTotals>> daily_totals(std::int64_t project_id,
                                                      const std::optional<std::string>& experiment) = 0;
  // The run's samples in time order, merged into at most `max_buckets` groups that each span an
  // equal share of the run's time (one group per sample when there are no more samples than that).
  virtual Result<std::vector<SampleBucket>> sample_buckets(const std::string& run_id,
                                                           std::int64_t max_buckets) = 0;
};

Result<std::unique_ptr<Storage>> open_sqlite_storage(const std::string& path);
Result<std::unique_ptr<Storage>> open_postgres_storage(const std::string& url);
// "sqlite:PATH" (or a bare path) or "postgresql://..." / "postgres://...". Does not migrate.
Result<std::unique_ptr<Storage>> open_storage(const std::string& url);

}  // namespace carbonmeter::server
