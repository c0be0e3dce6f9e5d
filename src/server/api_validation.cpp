// Validation of API request bodies and query parameters.
#include "server/api_validation.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <limits>

#include "carbon/timestamp.hpp"
#include "core/json_integer.hpp"
#include "core/name_rules.hpp"

namespace carbonmeter::server {
namespace {

using nlohmann::json;

std::string describe(const json& value) {
  std::string text = value.dump();
  if (text.size() > 40) text = text.substr(0, 37) + "...";
  return text;
}

Result<std::string> required_string(const json& object, const std::string& key, const std::string& field) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return Error{"field '" + field + "' is missing: it is required"};
  if (!it->is_string()) return Error{"field '" + field + "' must be a string (got " + describe(*it) + ")"};
  return it->get<std::string>();
}

Result<std::optional<std::string>> optional_string(const json& object, const std::string& key,
                                                   const std::string& field) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return std::optional<std::string>{};
  if (!it->is_string()) return Error{"field '" + field + "' must be a string (got " + describe(*it) + ")"};
  return std::optional<std::string>{it->get<std::string>()};
}

Result<double> number_at_least_zero(const json& value, const std::string& field) {
  if (!value.is_number()) {
    return Error{"field '" + field + "' must be a number (got " + describe(value) +
                 "); NaN and infinity are not accepted"};
  }
  const double number = value.get<double>();
  if (!std::isfinite(number) || number < 0) {
    return Error{"field '" + field + "' must be a finite number >= 0 (got " + describe(value) + ")"};
  }
  return number;
}

Result<double> required_number(const json& object, const std::string& key, const std::string& field) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return Error{"field '" + field + "' is missing: it is required"};
  return number_at_least_zero(*it, field);
}

Result<double> required_unix_time(const json& object, const std::string& key, const std::string& field) {
  auto seconds = required_number(object, key, field);
  if (seconds && seconds.value() >= kYear10000UnixS)
    return Error{
        fmt::format("field '{}' ({}) is past the year 9999: send Unix seconds", field, seconds.value())};
  return seconds;
}

Result<std::optional<std::int64_t>> optional_integer(const json& object, const std::string& key,
                                                     const std::string& field, std::int64_t min,
                                                     std::int64_t max) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return std::optional<std::int64_t>{};
  const std::string range = fmt::format("an integer from {} to {}", min, max);
  const auto number = json_integer(*it, min, max);
  if (!number) return Error{"field '" + field + "' must be " + range + " (got " + describe(*it) + ")"};
  return number;
}

}  // namespace

Result<json> parse_json_object(const std::string& body) {
  json parsed;
  try {
    parsed = json::parse(body);
  } catch (const json::exception& e) {
    // Syntax errors, and numbers too large for a double (1e999).
    return Error{std::string("the body is not valid JSON: ") + e.what()};
  }
  if (!parsed.is_object()) return Error{"the body must be a JSON object (got " + describe(parsed) + ")"};
  return parsed;
}

Status check_run_id(const std::string& value, const std::string& field) {
  if (value.empty() || value.size() > 64) {
    return Error{
        fmt::format("field '{}' must be 1 to 64 characters from A-Z a-z 0-9 . _ - (got {} characters)", field,
                    value.size())};
  }
  for (const char c : value) {
    const bool allowed = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                         c == '.' || c == '_' || c == '-';
    if (!allowed) {
      return Error{"field '" + field + "' must contain only A-Z a-z 0-9 . _ - (got '" +
                   json(value).dump(-1, ' ', true, json::error_handler_t::replace) + "')"};
    }
  }
  return Ok{};
}

Result<std::string> parse_project_request(const json& body) {
  auto name = required_string(body, "name", "name");
  if (!name) return name.error();
  if (auto checked = check_name(name.value(), "field 'name'"); !checked) return checked.error();
  return name.value();
}

Result<std::string> parse_token_request(const json& body) {
  auto label = optional_string(body, "label", "label");
  if (!label) return label.error();
  if (!label.value()) return std::string();
  if (auto checked = check_name(*label.value(), "field 'label'"); !checked) return checked.error();
  return *label.value();
}

Result<RunRegistration> parse_run_registration(const json& body) {
  RunRegistration registration;
  RunRecord& run = registration.run;

  auto run_id = required_string(body, "run_id", "run_id");
  if (!run_id) return run_id.error();
  if (auto checked = check_run_id(run_id.value()); !checked) return checked.error();
  run.run_id = run_id.value();

  auto project = required_string(body, "project", "project");
  if (!project) return project.error();
  if (auto checked = check_name(project.value(), "field 'project'"); !checked) return checked.error();
  registration.project = project.value();

  auto experiment = optional_string(body, "experiment", "experiment");
  if (!experiment) return experiment.error();
  if (experiment.value() && !experiment.value()->empty()) {
    if (auto checked = check_name(*experiment.value(), "field 'experiment'"); !checked)
      return checked.error();
    run.experiment = *experiment.value();
  }

  auto scope = required_string(body, "scope", "scope");
  if (!scope) return scope.error();
  if (scope.value() != "process" && scope.value() != "cgroup" && scope.value() != "machine") {
    return Error{"field 'scope' must be \"process\", \"cgroup\" or \"machine\" (got " +
                 describe(body["scope"]) + ")"};
  }
  run.scope = scope.value();

  auto job_it = body.find("job");
  if (job_it == body.end() || job_it->is_null())
    return Error{"field 'job' is missing: it is required ({\"node\": HOST, ...})"};
  if (!job_it->is_object()) return Error{"field 'job' must be an object (got " + describe(*job_it) + ")"};
  const json& job = *job_it;
  auto job_id = optional_string(job, "id", "job.id");
  if (!job_id) return job_id.error();
  if (job_id.value()) {
    if (auto checked = check_name(*job_id.value(), "field 'job.id'"); !checked) return checked.error();
    run.job.job_id = *job_id.value();
  }
  auto node = required_string(job, "node", "job.node");
  if (!node) return node.error();
  if (auto checked = check_name(node.value(), "field 'job.node'"); !checked) return checked.error();
  run.job.node = node.value();
  constexpr std::int64_t kMaxRank = 1'000'000'000;
  auto rank = optional_integer(job, "rank", "job.rank", 0, kMaxRank);
  if (!rank) return rank.error();
  auto local_rank = optional_integer(job, "local_rank", "job.local_rank", 0, kMaxRank);
  if (!local_rank) return local_rank.error();
  auto world_size = optional_integer(job, "world_size", "job.world_size", 1, kMaxRank);
  if (!world_size) return world_size.error();
  if (rank.value()) run.job.rank = static_cast<int>(*rank.value());
  if (local_rank.value()) run.job.local_rank = static_cast<int>(*local_rank.value());
  if (world_size.value()) run.job.world_size = static_cast<int>(*world_size.value());
  if (run.job.rank && run.job.world_size && *run.job.rank >= *run.job.world_size) {
    return Error{fmt::format("field 'job.rank' ({}) must be less than 'job.world_size' ({})", *run.job.rank,
                             *run.job.world_size)};
  }
  if ((run.job.rank || run.job.world_size) && !run.job.job_id) {
    return Error{"field 'job.id' is missing: it is required when job.rank or job.world_size is given"};
  }

  auto started = required_unix_time(body, "started_unix_s", "started_unix_s");
  if (!started) return started.error();
  run.started_unix_s = started.value();

  auto metadata_it = body.find("metadata");
  if (metadata_it == body.end() || metadata_it->is_null()) {
    run.metadata_json = "{}";
  } else if (!metadata_it->is_object()) {
    return Error{"field 'metadata' must be an object (got " + describe(*metadata_it) + ")"};
  } else {
    run.metadata_json = metadata_it->dump();
  }
  return registration;
}

Result<std::vector<SampleRecord>> parse_sample_batch(const json& body, const ApiLimits& limits) {
  auto it = body.find("samples");
  if (it == body.end() || it->is_null())
    return Error{"field 'samples' is missing: it is required (an array)"};
  if (!it->is_array()) return Error{"field 'samples' must be an array (got " + describe(*it) + ")"};
  if (it->size() > limits.max_batch_samples) {
    return Error{fmt::format("field 'samples' holds {} samples: at most {} per request; send them in batches",
                             it->size(), limits.max_batch_samples)};
  }
  std::vector<SampleRecord> samples;
  samples.reserve(it->size());
  for (std::size_t i = 0; i < it->size(); ++i) {
    const json& item = (*it)[i];
    const std::string prefix = fmt::format("samples[{}].", i);
    if (!item.is_object()) return Error{fmt::format("field 'samples[{}]' must be an object", i)};
    SampleRecord sample;
    auto seq = optional_integer(item, "seq", prefix + "seq", 0, std::numeric_limits<std::int64_t>::max());
    if (!seq) return seq.error();
    if (!seq.value()) return Error{"field '" + prefix + "seq' is missing: it is required (an integer >= 0)"};
    sample.seq = *seq.value();
    auto t = required_unix_time(item, "t_unix_s", prefix + "t_unix_s");
    if (!t) return t.error();
    sample.t_unix_s = t.value();
    auto dt = required_number(item, "dt_s", prefix + "dt_s");
    if (!dt) return dt.error();
    sample.dt_s = dt.value();
    auto energy_it = item.find("energy_j");
    if (energy_it == item.end() || !energy_it->is_object()) {
      return Error{"field '" + prefix + "energy_j' must be an object {\"cpu\": J, \"ram\": J, \"gpu\": J}"};
    }
    double* const targets[] = {&sample.energy_cpu_j, &sample.energy_ram_j, &sample.energy_gpu_j};
    const char* const components[] = {"cpu", "ram", "gpu"};
    for (int c = 0; c < 3; ++c) {
      auto value = required_number(*energy_it, components[c], prefix + "energy_j." + components[c]);
      if (!value) return value.error();
      *targets[c] = value.value();
    }
    auto emissions = required_number(item, "emissions_g", prefix + "emissions_g");
    if (!emissions) return emissions.error();
    sample.emissions_g = emissions.value();
    auto intensity_it = item.find("intensity_g_per_kwh");
    if (intensity_it != item.end() && !intensity_it->is_null()) {
      auto intensity = number_at_least_zero(*intensity_it, prefix + "intensity_g_per_kwh");
      if (!intensity) return intensity.error();
      sample.intensity_g_per_kwh = intensity.value();
    }
    samples.push_back(sample);
  }
  return samples;
}

Result<double> parse_finish_request(const json& body) {
  return required_unix_time(body, "ended_unix_s", "ended_unix_s");
}

Result<std::int64_t> parse_query_integer(const std::string& text, const std::string& field, std::int64_t min,
                                         std::int64_t max) {
  std::int64_t value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end || value < min || value > max) {
    return Error{fmt::format("query parameter '{}' must be an integer from {} to {} (got '{}')", field, min,
                             max, text.substr(0, 40))};
  }
  return value;
}

}  // namespace carbonmeter::server
