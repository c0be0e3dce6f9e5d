// Location keywords (country=, zone=, cloud=, carbon_intensity=, intensity_series=, pue=, wue=,
// marginal=) resolved as the command line resolves its flags; JSON to Python; error names.
#include <fmt/format.h>
#include <pybind11/stl.h>

#include <cmath>
#include <utility>

#include "binding.hpp"
#include "core/roots.hpp"
#include "core/run_report.hpp"

namespace carbonmeter::python {
namespace {

void check_number(const char* name, const std::optional<double>& value, double low, double high,
                  const char* what) {
  if (value && (!std::isfinite(*value) || *value < low || *value > high))
    throw_value_error(fmt::format("{}={}: give {} from {} to {}", name, *value, what, low, high));
}

void check_text(const char* name, const std::optional<std::string>& value, const char* what) {
  if (value && value->find_first_not_of(" \t") == std::string::npos)
    throw_value_error(fmt::format("{}='{}' is empty: give {}", name, *value, what));
}

std::shared_ptr<Location> resolve(std::optional<std::string> country, std::optional<std::string> zone,
                                  std::optional<std::string> cloud, std::optional<double> carbon_intensity,
                                  std::optional<std::string> intensity_series, std::optional<double> pue,
                                  std::optional<double> wue, bool marginal) {
  check_number("carbon_intensity", carbon_intensity, 0.0, 5000.0, "the intensity in gCO2e/kWh");
  check_number("pue", pue, 1.0, 5.0, "the power usage effectiveness");
  check_number("wue", wue, 0.0, 100.0, "litres per kWh");
  check_text("country", country, "an ISO 3166 code such as 'FRA' or 'FR'");
  check_text("zone", zone, "a grid zone such as 'SE3'");
  check_text("cloud", cloud, "PROVIDER:REGION such as 'gcp:us-central1'");
  check_text("intensity_series", intensity_series, "a CSV file, FILE or FILE:COLUMN");
  LocationOptions options;
  // The origin names the keyword: "country FRA" in `how`, "country 'XX' is not a known country".
  if (carbon_intensity) options.carbon_intensity_g_per_kwh = {carbon_intensity, "carbon_intensity"};
  if (intensity_series) options.intensity_series = {intensity_series, "intensity_series"};
  if (cloud) options.cloud = {cloud, "cloud"};
  if (zone) options.zone = {zone, "zone"};
  if (country) options.country = {country, "country"};
  if (pue) options.pue = {pue, "pue"};
  if (wue) options.wue_l_per_kwh = {wue, "wue"};
  options.marginal = marginal;
  if (auto completed = complete_location_options(options); !completed)
    throw_value_error(completed.error().message);
  auto resolved = resolve_location(options, *reference_data());
  if (!resolved) throw_value_error(resolved.error().message);
  auto out = std::make_shared<Location>();
  out->resolved = std::move(resolved).value();
  return out;
}

}  // namespace

std::shared_ptr<const ReferenceData> reference_data() {
  return cached_table<ReferenceData>(data_dir(),
                                     [](const std::string& dir) { return ReferenceData::load_from(dir); });
}

std::string python_names(std::string message) {
  static const std::pair<const char*, const char*> kNames[] = {
      {"--carbon-intensity", "carbon_intensity"},
      {"--intensity-series", "intensity_series"},
      {"--gpu-utilization", "gpu_utilization"},
      {"--cpu-utilization", "cpu_utilization"},
      {"--pause-cost-g", "pause_cost_g"},
      {"--not-before", "not_before"},
      {"--energy-kwh", "energy_kwh"},
      {"--memory-gb", "memory_gb"},
      {"--max-delay", "window"},
      {"--hardware", "hardware"},
      {"--duration", "duration"},
      {"--marginal", "marginal"},
      {"--power-w", "power_w"},
      {"--country", "country"},
      {"--min-run", "min_run"},
      {"--window", "window"},
      {"--hours", "hours"},
      {"--count", "count"},
      {"--cores", "cores"},
      {"--cloud", "cloud"},
      {"--start", "start"},
      {"--zone", "zone"},
      {"--cpu", "cpu"},
      {"--pue", "pue"},
      {"--wue", "wue"},
  };
  for (const auto& [flag, keyword] : kNames) {
    const std::string_view from = flag;
    for (std::size_t at = message.find(from); at != std::string::npos; at = message.find(from, at)) {
      const std::size_t end = at + from.size();
      // Whole flags only: --cpu is not the start of --cpu-utilization.
      if (end < message.size() &&
          (std::isalnum(static_cast<unsigned char>(message[end])) || message[end] == '-')) {
        at = end;
        continue;
      }
      message.replace(at, from.size(), keyword);
      at += std::string_view(keyword).size();
    }
  }
  return message;
}

void throw_value_error(const std::string& message) { throw py::value_error(python_names(message)); }

py::object to_python(const nlohmann::json& value) {
  using nlohmann::json;
  switch (value.type()) {
    case json::value_t::null:
    case json::value_t::discarded:
      return py::none();
    case json::value_t::boolean:
      return py::bool_(value.get<bool>());
    case json::value_t::number_integer:
      return py::int_(value.get<std::int64_t>());
    case json::value_t::number_unsigned:
      return py::int_(value.get<std::uint64_t>());
    case json::value_t::number_float: {
      const double number = value.get<double>();
      return std::isfinite(number) ? py::object(py::float_(number)) : py::none();
    }
    case json::value_t::string:
      // Text that is not UTF-8 (a CPU name, a command argument) gets U+FFFD, as in the JSON file.
      return py::reinterpret_steal<py::object>(PyUnicode_DecodeUTF8(
          value.get_ref<const std::string&>().data(),
          static_cast<Py_ssize_t>(value.get_ref<const std::string&>().size()), "replace"));
    case json::value_t::array: {
      py::list out(value.size());
      std::size_t i = 0;
      for (const json& item : value) out[i++] = to_python(item);
      return out;
    }
    case json::value_t::object: {
      py::dict out;
      for (const auto& [key, item] : value.items()) out[py::str(key)] = to_python(item);
      return out;
    }
    case json::value_t::binary:
      break;
  }
  return py::none();
}

std::optional<double> Location::emissions_g(double energy_j, double start_unix_s, double duration_s) const {
  const double energy_kwh = energy_j / kJoulesPerKwh * resolved.pue;
  if (!resolved.series)
    return resolved.constant ? std::optional(energy_kwh * resolved.constant->g_per_kwh) : std::nullopt;
  // A window of no length is read at its instant.
  const double span_s = duration_s > 0 ? duration_s : 1.0;
  const SeriesIntegral integral = resolved.series->integrate(start_unix_s, start_unix_s + span_s);
  double weighted = integral.g_per_kwh_seconds, known_s = integral.covered_s;
  if (integral.uncovered_s > 0) {
    if (!resolved.series_fallback) return std::nullopt;
    weighted += resolved.series_fallback->g_per_kwh * integral.uncovered_s;
    known_s += integral.uncovered_s;
  }
  return known_s > 0 ? std::optional(energy_kwh * weighted / known_s) : std::nullopt;
}

nlohmann::json Location::intensity_json(double at_unix_s) const {
  const ResolvedLocation& l = resolved;
  nlohmann::json out = {{"how", l.how},
                        {"guessed", l.guessed},
                        {"relative_uncertainty", l.intensity_relative_uncertainty},
                        {"country_iso3", l.country_iso3},
                        {"country_name", l.country_name},
                        {"region", l.region},
                        {"cloud_provider", l.cloud_provider},
                        {"cloud_region", l.cloud_region},
                        {"pue", l.pue},
                        {"pue_source", l.pue_source},
                        {"wue_l_per_kwh", l.wue_l_per_kwh},
                        {"notes", l.notes}};
  for (auto& note : out["notes"]) note = python_names(note.get<std::string>());
  if (l.constant) {
    const IntensityFigure& f = *l.constant;
    out.update({{"g_per_kwh", f.g_per_kwh},
                {"kind", f.kind},
                {"basis", f.basis},
                {"source", f.source},
                {"year", f.year}});
  } else if (l.series) {
    const SeriesIntegral value = l.series->integrate(at_unix_s, at_unix_s + 1);
    out.update({{"series", l.series->name()},
                {"column", l.series->column()},
                {"step_s", l.series->step_s()},
                {"start", format_iso8601_utc(l.series->start_unix_s())},
                {"end", format_iso8601_utc(l.series->end_unix_s())},
                {"at", format_iso8601_utc(at_unix_s)}});
    out["g_per_kwh"] = value.covered_s > 0 ? nlohmann::json(value.g_per_kwh_seconds / value.covered_s)
                                           : nlohmann::json(nullptr);
  }
  return out;
}

void register_location(py::module_& m) {
  py::class_<Location, std::shared_ptr<Location>>(m, "Location",
                                                  "Where the electricity comes from, resolved once.")
      .def(
          "intensity",
          [](const Location& l, double at_unix_s) { return to_python(l.intensity_json(at_unix_s)); },
          py::arg("at_unix_s"), "The keys of `carbonmeter intensity --json`.")
      .def("emissions_g", &Location::emissions_g, py::arg("energy_j"), py::arg("start_unix_s"),
           py::arg("duration_s"), "Grams CO2e of energy_j used over [start, start + duration], or None.")
      .def_property_readonly("has_series", [](const Location& l) { return l.resolved.series != nullptr; })
      .def_property_readonly("notes", [](const Location& l) {
        std::vector<std::string> notes;
        for (const std::string& note : l.resolved.notes) notes.push_back(python_names(note));
        return notes;
      });
  m.def("resolve_location", &resolve, py::kw_only(), py::arg("country") = py::none(),
        py::arg("zone") = py::none(), py::arg("cloud") = py::none(), py::arg("carbon_intensity") = py::none(),
        py::arg("intensity_series") = py::none(), py::arg("pue") = py::none(), py::arg("wue") = py::none(),
        py::arg("marginal") = false,
        "Resolves the location keywords as the command line resolves its flags (keywords, then "
        "CARBONMETER_* variables, then carbonmeter.toml, then a guess that says so).");
}

}  // namespace carbonmeter::python
