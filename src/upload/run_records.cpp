#include "upload/run_records.hpp"

#include <cmath>

#include "carbon/emissions.hpp"

namespace carbonmeter::upload {

nlohmann::json run_registration(const RunHeader& header, const std::string& experiment) {
  nlohmann::json job = {{"node", header.job.node.empty() ? header.hostname : header.job.node}};
  if (header.job.id) job["id"] = *header.job.id;
  if (header.job.rank) job["rank"] = *header.job.rank;
  if (header.job.local_rank) job["local_rank"] = *header.job.local_rank;
  if (header.job.world_size) job["world_size"] = *header.job.world_size;
  nlohmann::json body = {{"run_id", header.run_id},
                         {"project", header.project_name},
                         {"scope", header.scope},
                         {"job", job},
                         {"started_unix_s", header.start_unix_s},
                         {"metadata", header_to_json(header)}};
  if (!experiment.empty()) body["experiment"] = experiment;
  return body;
}

nlohmann::json sample_record(std::int64_t seq, const Sample& sample, double run_start_unix_s,
                             const ResolvedLocation& location) {
  const SampleCarbon carbon = sample_carbon(sample, run_start_unix_s, location);
  nlohmann::json energy = nlohmann::json::object();
  for (Component c : kComponents) energy[std::string(component_name(c))] = std::max(0.0, sample.energy_j[c]);
  nlohmann::json record = {{"seq", seq},
                           {"t_unix_s", run_start_unix_s + sample.t_s},
                           {"dt_s", std::max(0.0, sample.dt_s)},
                           {"energy_j", energy},
                           {"emissions_g", std::max(0.0, carbon.emissions_g)}};
  const bool known = (location.series || location.constant) && std::isfinite(carbon.intensity_g_per_kwh);
  record["intensity_g_per_kwh"] = known ? nlohmann::json(carbon.intensity_g_per_kwh) : nlohmann::json();
  return record;
}

}  // namespace carbonmeter::upload
