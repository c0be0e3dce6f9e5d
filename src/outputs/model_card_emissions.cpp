#include "outputs/model_card_emissions.hpp"

#include <fmt/format.h>

#include <cmath>
#include <map>
#include <set>

#include "carbonmeter/version.hpp"

namespace carbonmeter {
namespace {

using nlohmann::json;

std::string text_at(const json& object, const char* key) {
  if (!object.is_object()) return "";
  auto found = object.find(key);
  return found != object.end() && found->is_string() ? found->get<std::string>() : "";
}

const json& object_at(const json& object, const char* key) {
  static const json empty = json::object();
  if (!object.is_object()) return empty;
  auto found = object.find(key);
  return found != object.end() && found->is_object() ? *found : empty;
}

}  // namespace

Result<ModelCardEmissions> model_card_emissions(const json& run, const std::string& training_type) {
  auto emissions = run.find("emissions_g");
  if (emissions == run.end() || !emissions->is_number() || !std::isfinite(emissions->get<double>()))
    return Error{
        "the run has no emissions_g (written before carbon accounting, or its emissions could not be "
        "accounted); rerun with `carbonmeter run --json`"};
  if (auto complete = run.find("emissions_complete");
      complete != run.end() && complete->is_boolean() && !complete->get<bool>())
    return Error{
        "the run holds the emissions of part of the run only (its intensity series did not cover the "
        "rest: intensity.uncovered_s); a model card needs the whole run: rerun with a fallback beside "
        "the intensity series"};
  ModelCardEmissions out;
  out.emissions_g = emissions->get<double>();
  std::set<std::string> methods;
  for (const auto& [component, method] : object_at(run, "method").items())
    if (method.is_string() && method != "none") methods.insert(method.get<std::string>());
  std::string method_list;
  for (const std::string& m : methods) method_list += (method_list.empty() ? "" : ", ") + m;
  const std::string how = text_at(object_at(run, "intensity"), "how");
  out.source =
      fmt::format("carbonmeter {} ({}; intensity: {})", kVersion, method_list, how.empty() ? "unknown" : how);
  out.training_type = training_type;
  const json& location = object_at(run, "location");
  std::string place = text_at(location, "country_name");
  const std::string region =
      text_at(location, "cloud_region").empty()
          ? text_at(location, "region")
          : text_at(location, "cloud_provider") + " " + text_at(location, "cloud_region");
  if (!region.empty()) place += (place.empty() ? "" : ", ") + region;
  out.geographical_location = place;
  std::map<std::string, int> gpus;
  if (auto run_gpus = run.find("gpus"); run_gpus != run.end() && run_gpus->is_array())
    for (const json& gpu : *run_gpus) {
      const std::string name = text_at(gpu, "name");
      ++gpus[name.empty() ? "GPU" : name];
    }
  std::string hardware;
  for (const auto& [model, count] : gpus)
    hardware += fmt::format("{}{} x {}", hardware.empty() ? "" : ", ", count, model);
  const std::string cpu = text_at(object_at(run, "host"), "cpu_model");
  if (!cpu.empty()) hardware += (hardware.empty() ? "" : ", ") + cpu;
  out.hardware_used = hardware;
  return out;
}

}  // namespace carbonmeter
