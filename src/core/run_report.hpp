// The run report: what `run --json` writes and `report --recover` rebuilds. Its shape is
// documented in docs/report.md; later features add keys, never rename them.
#pragma once

#include <sys/types.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "carbonmeter/measurement.hpp"
#include "carbonmeter/result.hpp"
#include "core/sample.hpp"
#include "core/slurm_allocation.hpp"

namespace carbonmeter {

inline constexpr int kReportSchemaVersion = 1;

struct DeviceEnergy {
  std::string method;
  Component component = Component::cpu;
  std::string device;
  std::string domain;
  double energy_j = 0.0;  // whole machine
  std::string model;      // GPUs
  std::string uuid;       // GPUs
  // Energy attributed to the scope, for channels whose sensor knows the process share (GPUs);
  // negative when the component's share applies (CPU and RAM channels in process scope).
  double attributed_j = 0.0;
};

// The multi-node job a run belongs to (a Slurm job, a torchrun job, or one named with --job-id),
// so that the runs of its nodes and ranks can be added up as one job. Unknown figures are nullopt.
struct JobInfo {
  std::optional<std::string> id;
  std::string source;  // "slurm", "torchelastic", "flag", or "" (no job known)
  std::string node;    // --node-name, else the host name ("" here: the header's hostname)
  std::optional<int> rank;
  std::optional<int> local_rank;
  std::optional<int> world_size;
  std::optional<SlurmAllocation> slurm;  // in a Slurm job: the step and its allocation on this node
};

// Reads an environment variable (nullopt: unset); tests pass a map instead of the real environment.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;
std::optional<std::string> process_env(const std::string& name);

// The job from --job-id and --node-name (empty: not given) and the environment. The id's source:
// the flag, then SLURM_JOB_ID, then TORCHELASTIC_RUN_ID. Ranks come from SLURM_PROCID,
// SLURM_LOCALID and SLURM_NTASKS when SLURM_JOB_ID is set, else from RANK, LOCAL_RANK and
// WORLD_SIZE when TORCHELASTIC_RUN_ID is set. A rank that is not a whole number (or not below the
// world size) is an error naming the variable.
Result<JobInfo> resolve_job(const std::string& job_id_flag, const std::string& node_name_flag,
                            const std::string& hostname, const EnvLookup& env = process_env);

// The job of every run this process starts: the command-line tool sets it (from resolve_job)
// before its tracker starts, so that the journal's header carries it from its first line. Every
// RunHeader made afterwards starts with it; the default is no job.
void set_process_job(const JobInfo& job);
JobInfo process_job();

// {"id", "source", "node", "rank", "local_rank", "world_size"}: nulls where unknown; node falls
// back to hostname.
nlohmann::json job_to_json(const JobInfo& job, const std::string& hostname);

struct RunHeader {
  std::string run_id;
  std::string project_name;
  std::vector<std::string> command;
  double start_unix_s = 0.0;
  std::string scope;   // "process", "cgroup" or "machine"
  std::string cgroup;  // cgroup scope: the cgroup's folder
  // Process scope: where the tree's CPU time and memory were read ("cgroup v1 (cpuacct, memory)",
  // "/proc"); known once the run has started, so it is not in the journal's header.
  std::string process_tree_source;
  pid_t root_pid = 0;
  double interval_s = 1.0;
  std::string hostname;
  std::string cpu_model;
  PerComponent<MethodInfo> methods;
  std::vector<std::string> notes;
  JobInfo job = process_job();
};

struct RunReport {
  RunHeader header;
  double duration_s = 0.0;
  EnergyJ energy_j;
  EnergyJ machine_energy_j;
  std::vector<DeviceEnergy> devices;
  std::vector<Sample> samples;
  std::size_t samples_per_point = 1;
  std::size_t sample_count = 0;
  std::optional<int> exit_code;
  bool complete = true;    // false: rebuilt from a journal whose run never ended
  bool recovered = false;  // true: rebuilt from a journal
};

nlohmann::json header_to_json(const RunHeader& header);
Result<RunHeader> header_from_json(const nlohmann::json& json);
nlohmann::json report_to_json(const RunReport& report);
Measurement report_measurement(const RunReport& report);

std::string format_iso8601_utc(double unix_s);
// JSON text that never throws on text that is not UTF-8 (command arguments, CPU names): invalid
// bytes become U+FFFD.
std::string dump_json(const nlohmann::json& json, int indent = -1);

}  // namespace carbonmeter
