#include "core/run_report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <mutex>

#include "carbonmeter/version.hpp"
#include "core/json_integer.hpp"

namespace carbonmeter {
namespace {

using nlohmann::json;

json per_component(const EnergyJ& energy, bool with_total) {
  json out = json::object();
  for (Component c : kComponents) out[std::string(component_name(c))] = energy[c];
  if (with_total) out["total"] = energy.total();
  return out;
}

json sample_to_json(const Sample& sample) {
  json power = json::object();
  for (Component c : kComponents)
    power[std::string(component_name(c))] = sample.dt_s > 0 ? sample.energy_j[c] / sample.dt_s : 0.0;
  power["total"] = sample.dt_s > 0 ? sample.energy_j.total() / sample.dt_s : 0.0;
  return {{"t_s", sample.t_s},
          {"dt_s", sample.dt_s},
          {"energy_j", per_component(sample.energy_j, true)},
          {"power_w", power},
          {"machine_energy_j", per_component(sample.machine_energy_j, true)},
          {"cpu_share", sample.cpu_share},
          {"ram_share", sample.ram_share}};
}

std::mutex& process_job_mutex() {
  static std::mutex mutex;
  return mutex;
}

JobInfo& process_job_storage() {
  static JobInfo job;
  return job;
}

// A whole number from an environment variable; the error names the variable and what to do.
Result<std::optional<int>> env_int(const EnvLookup& env, const std::string& name, int minimum,
                                   const std::string& what) {
  const std::optional<std::string> text = env(name);
  if (!text || text->empty()) return std::optional<int>{};
  int value = 0;
  const char* end = text->data() + text->size();
  const auto [ptr, ec] = std::from_chars(text->data(), end, value);
  if (ec != std::errc{} || ptr != end || value < minimum)
    return Error{fmt::format("{}='{}' is not {} (a whole number, at least {}): fix or unset it", name, *text,
                             what, minimum)};
  return std::optional<int>(value);
}

json optional_int(const std::optional<int>& value) { return value ? json(*value) : json(nullptr); }

}  // namespace

std::optional<std::string> process_env(const std::string& name) {
  const char* value = std::getenv(name.c_str());
  if (!value) return std::nullopt;
  return std::string(value);
}

Result<JobInfo> resolve_job(const std::string& job_id_flag, const std::string& node_name_flag,
                            const std::string& hostname, const EnvLookup& env) {
  JobInfo job;
  job.node = node_name_flag.empty() ? hostname : node_name_flag;
  auto non_empty = [&](const std::string& name) {
    std::optional<std::string> value = env(name);
    return value && !value->empty() ? value : std::nullopt;
  };
  const std::optional<std::string> slurm_id = non_empty("SLURM_JOB_ID");
  const std::optional<std::string> torch_id = non_empty("TORCHELASTIC_RUN_ID");
  if (!job_id_flag.empty()) {
    job.id = job_id_flag;
    job.source = "flag";
  } else if (slurm_id) {
    job.id = slurm_id;
    job.source = "slurm";
  } else if (torch_id) {
    job.id = torch_id;
    job.source = "torchelastic";
  }
  if (slurm_id) job.slurm = read_slurm_allocation(env);
  // The variables that hold the ranks: Slurm's when in a Slurm job, else torchrun's.
  struct RankNames {
    const char* rank;
    const char* local_rank;
    const char* world_size;
  };
  std::optional<RankNames> names;
  if (slurm_id)
    names = RankNames{"SLURM_PROCID", "SLURM_LOCALID", "SLURM_NTASKS"};
  else if (torch_id)
    names = RankNames{"RANK", "LOCAL_RANK", "WORLD_SIZE"};
  if (!names) return job;
  auto rank = env_int(env, names->rank, 0, "a rank");
  if (!rank) return rank.error();
  auto local_rank = env_int(env, names->local_rank, 0, "a local rank");
  if (!local_rank) return local_rank.error();
  auto world_size = env_int(env, names->world_size, 1, "a world size");
  if (!world_size) return world_size.error();
  job.rank = rank.value();
  job.local_rank = local_rank.value();
  job.world_size = world_size.value();
  if (job.rank && job.world_size && *job.rank >= *job.world_size)
    return Error{
        fmt::format("{}={} is not below {}={}: a rank counts from 0 to the world size - 1; fix or "
                    "unset them",
                    names->rank, *job.rank, names->world_size, *job.world_size)};
  return job;
}

void set_process_job(const JobInfo& job) {
  std::lock_guard lock(process_job_mutex());
  process_job_storage() = job;
}

JobInfo process_job() {
  std::lock_guard lock(process_job_mutex());
  return process_job_storage();
}

json job_to_json(const JobInfo& job, const std::string& hostname) {
  json out = {{"id", job.id ? json(*job.id) : json(nullptr)},
              {"source", job.source.empty() ? json(nullptr) : json(job.source)},
              {"node", job.node.empty() ? hostname : job.node},
              {"rank", optional_int(job.rank)},
              {"local_rank", optional_int(job.local_rank)},
              {"world_size", optional_int(job.world_size)}};
  if (job.slurm) {
    const SlurmAllocation& slurm = *job.slurm;
    out["slurm"] = {{"step", slurm.step},
                    {"nodelist", slurm.nodelist},
                    {"cpus", slurm.cpus},
                    {"cpu_count", slurm.cpu_count},
                    {"cpus_source", slurm.cpus_source},
                    {"gpus", slurm.gpus},
                    {"gpu_devices", slurm.gpu_devices},
                    {"cgroup", slurm.cgroup}};
  }
  return out;
}

std::string_view component_name(Component component) {
  switch (component) {
    case Component::cpu:
      return "cpu";
    case Component::ram:
      return "ram";
    case Component::gpu:
      return "gpu";
  }
  return "?";
}

std::string format_iso8601_utc(double unix_s) {
  if (!std::isfinite(unix_s) || unix_s < 0 || unix_s > 253402300799.0) return "invalid-time";
  std::time_t seconds = static_cast<std::time_t>(std::floor(unix_s));
  int millis = static_cast<int>(std::lround((unix_s - static_cast<double>(seconds)) * 1000));
  if (millis == 1000) {
    ++seconds;
    millis = 0;
  }
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", utc.tm_year + 1900, utc.tm_mon + 1,
                     utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, millis);
}

std::string dump_json(const json& value, int indent) {
  return value.dump(indent, ' ', false, json::error_handler_t::replace);
}

json header_to_json(const RunHeader& header) {
  json methods = json::object();
  for (Component c : kComponents) {
    const MethodInfo& m = header.methods[c];
    methods[std::string(component_name(c))] = {
        {"method", m.method}, {"kind", m.kind}, {"relative_uncertainty", m.relative_uncertainty}};
  }
  return {{"run_id", header.run_id},         {"project_name", header.project_name},
          {"command", header.command},       {"start_unix_s", header.start_unix_s},
          {"scope", header.scope},           {"root_pid", header.root_pid},
          {"interval_s", header.interval_s}, {"hostname", header.hostname},
          {"cpu_model", header.cpu_model},   {"methods", methods},
          {"notes", header.notes},           {"job", job_to_json(header.job, header.hostname)},
          {"cgroup", header.cgroup}};
}

Result<RunHeader> header_from_json(const json& in) {
  try {
    RunHeader header;
    header.run_id = in.at("run_id").get<std::string>();
    header.project_name = in.at("project_name").get<std::string>();
    header.command = in.at("command").get<std::vector<std::string>>();
    header.start_unix_s = in.at("start_unix_s").get<double>();
    header.scope = in.at("scope").get<std::string>();
    header.cgroup = in.value("cgroup", "");
    const auto root_pid = json_integer(in.at("root_pid"), 0, 0x7fffffff);
    header.interval_s = in.at("interval_s").get<double>();
    if (!std::isfinite(header.start_unix_s) || header.start_unix_s < 0 || header.start_unix_s > 1e11 ||
        !root_pid || !std::isfinite(header.interval_s) || header.interval_s <= 0 || header.interval_s > 3600)
      return Error{"journal header has out-of-range values (start time, pid or interval)"};
    header.root_pid = static_cast<pid_t>(*root_pid);
    header.hostname = in.value("hostname", "");
    header.cpu_model = in.value("cpu_model", "");
    for (Component c : kComponents) {
      const json& m = in.at("methods").at(std::string(component_name(c)));
      header.methods[c] = {m.at("method").get<std::string>(), m.at("kind").get<std::string>(),
                           m.at("relative_uncertainty").get<double>()};
    }
    header.notes = in.value("notes", std::vector<std::string>{});
    // The job is read back as written; a journal from before jobs were recorded has none (not the
    // job of the process that recovers it).
    header.job = JobInfo{};
    if (in.contains("job") && in["job"].is_object()) {
      const json& job = in["job"];
      auto int_or_null = [&](const char* key) -> std::optional<int> {
        const auto value = json_integer_at(job, key, 0, 0x7fffffff);
        return value ? std::optional<int>(static_cast<int>(*value)) : std::nullopt;
      };
      if (job.contains("id") && job["id"].is_string()) header.job.id = job["id"].get<std::string>();
      if (job.contains("source") && job["source"].is_string())
        header.job.source = job["source"].get<std::string>();
      if (job.contains("node") && job["node"].is_string()) header.job.node = job["node"].get<std::string>();
      header.job.rank = int_or_null("rank");
      header.job.local_rank = int_or_null("local_rank");
      header.job.world_size = int_or_null("world_size");
      if (job.contains("slurm") && job["slurm"].is_object()) {
        const json& slurm = job["slurm"];
        auto text = [&](const char* key) {
          return slurm.contains(key) && slurm[key].is_string() ? slurm[key].get<std::string>()
                                                               : std::string();
        };
        SlurmAllocation allocation{text("step"), text("nodelist"),    text("cpus"),  0, text("cpus_source"),
                                   text("gpus"), text("gpu_devices"), text("cgroup")};
        if (slurm.contains("cpu_count") && slurm["cpu_count"].is_number_integer())
          allocation.cpu_count =
              static_cast<int>(std::clamp<std::int64_t>(slurm["cpu_count"].get<std::int64_t>(), 0, 1 << 20));
        header.job.slurm = allocation;
      }
    }
    return header;
  } catch (const json::exception& e) {
    return Error{std::string("journal header is incomplete: ") + e.what()};
  }
}

Measurement report_measurement(const RunReport& report) {
  Measurement m;
  m.name = "run";
  m.start_unix_s = report.header.start_unix_s;
  m.duration_s = report.duration_s;
  m.energy_j = report.energy_j;
  m.machine_energy_j = report.machine_energy_j;
  m.method = report.header.methods;
  return m;
}

json report_to_json(const RunReport& report) {
  const Measurement m = report_measurement(report);
  json power = json::object(), method = json::object(), uncertainty = json::object();
  for (Component c : kComponents) {
    const std::string name(component_name(c));
    power[name] = m.average_power_w(c);
    method[name] = report.header.methods[c].method;
    uncertainty[name] = {{"relative", report.header.methods[c].relative_uncertainty},
                         {"energy_j", report.energy_j[c] * report.header.methods[c].relative_uncertainty},
                         {"kind", report.header.methods[c].kind}};
  }
  power["total"] = m.average_power_w();
  uncertainty["total"] = {
      {"energy_j", m.total_uncertainty_j()},
      {"relative", m.energy_j.total() > 0 ? m.total_uncertainty_j() / m.energy_j.total() : 0.0}};
  json devices = json::array();
  for (const DeviceEnergy& d : report.devices)
    devices.push_back({{"method", d.method},
                       {"component", component_name(d.component)},
                       {"device", d.device},
                       {"domain", d.domain},
                       {"energy_j", d.energy_j},
                       {"model", d.model},
                       {"uuid", d.uuid}});
  json gpus = json::array();
  for (const DeviceEnergy& d : report.devices) {
    if (d.component != Component::gpu) continue;
    const double attributed_j = d.attributed_j >= 0 ? d.attributed_j : d.energy_j;
    int index = -1;
    if (d.device.rfind("gpu-", 0) == 0) index = std::atoi(d.device.c_str() + 4);
    gpus.push_back({{"index", index},
                    {"uuid", d.uuid},
                    {"name", d.model},
                    {"energy_j", attributed_j},
                    {"machine_energy_j", d.energy_j},
                    {"avg_power_w", report.duration_s > 0 ? attributed_j / report.duration_s : 0.0},
                    {"method", d.method},
                    {"share", d.energy_j > 0 ? attributed_j / d.energy_j
                                             : (report.header.scope == "machine" ? 1.0 : 0.0)}});
  }
  json samples = json::array();
  for (const Sample& s : report.samples) samples.push_back(sample_to_json(s));

  json out = {{"schema_version", kReportSchemaVersion},
              {"carbonmeter_version", kVersion},
              {"run_id", report.header.run_id},
              {"project_name", report.header.project_name},
              {"command", report.header.command},
              {"exit_code", report.exit_code ? json(*report.exit_code) : json(nullptr)},
              {"start_time", format_iso8601_utc(report.header.start_unix_s)},
              {"end_time", format_iso8601_utc(report.header.start_unix_s + report.duration_s)},
              {"duration_s", report.duration_s},
              {"scope", report.header.scope},
              {"root_pid", report.header.root_pid},
              {"interval_s", report.header.interval_s},
              {"host", {{"hostname", report.header.hostname}, {"cpu_model", report.header.cpu_model}}},
              {"job", job_to_json(report.header.job, report.header.hostname)},
              {"energy_j", per_component(report.energy_j, true)},
              {"energy_kwh", per_component(report.energy_j, true)},
              {"machine_energy_j", per_component(report.machine_energy_j, true)},
              {"power_w", power},
              {"method", method},
              {"uncertainty", uncertainty},
              {"devices", devices},
              {"gpus", gpus},
              {"samples", samples},
              {"samples_per_point", report.samples_per_point},
              {"sample_count", report.sample_count},
              {"complete", report.complete},
              {"recovered", report.recovered},
              {"notes", report.header.notes}};
  for (auto& [key, value] : out["energy_kwh"].items()) value = value.get<double>() / kJoulesPerKwh;
  if (!report.header.process_tree_source.empty()) out["process_tree"] = report.header.process_tree_source;
  if (!report.header.cgroup.empty()) out["cgroup"] = report.header.cgroup;
  return out;
}

}  // namespace carbonmeter
