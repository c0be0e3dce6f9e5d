// Shared pieces of the Python module carbonmeter._carbonmeter: error translation, JSON to Python
// objects, the resolved location, and each part's registration function.
#pragma once

#include <pybind11/pybind11.h>

#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "carbon/location.hpp"
#include "carbonmeter/measurement.hpp"
#include "carbonmeter/result.hpp"

namespace carbonmeter::python {

namespace py = pybind11;

// The message with the command line's flag names (--gpu-utilization) turned into the Python
// keyword names (gpu_utilization), so that an error names what the caller wrote.
std::string python_names(std::string message);

// Raises ValueError with python_names(message).
[[noreturn]] void throw_value_error(const std::string& message);

// A JSON value as the Python object json.loads would give, except that numbers that are not
// finite become None (as the JSON text has null).
py::object to_python(const nlohmann::json& value);

// A table of the shipped data, read once per data folder (CARBONMETER_DATA_DIR may change between
// calls, the files do not): load(dir) gives it or an error, which becomes RuntimeError.
template <class T, class Load>
std::shared_ptr<const T> cached_table(const std::string& dir, Load load) {
  static std::mutex mutex;
  static std::string loaded_from;
  static std::shared_ptr<const T> cached;
  std::lock_guard lock(mutex);
  if (!cached || loaded_from != dir) {
    Result<T> table = load(dir);
    if (!table)
      throw std::runtime_error(table.error().message +
                               " (set CARBONMETER_DATA_DIR to carbonmeter's data/ folder)");
    cached = std::make_shared<const T>(std::move(table).value());
    loaded_from = dir;
  }
  return cached;
}

std::shared_ptr<const ReferenceData> reference_data();

// Where the electricity comes from, resolved once (flags > CARBONMETER_* > carbonmeter.toml >
// guess) and shared by a tracker and its measurements.
struct Location {
  ResolvedLocation resolved;
  // The emissions of energy used over [start, start + duration]: × PUE × the constant intensity,
  // or the series' average over that time (its fallback filling gaps); nullopt when the series
  // does not cover it and there is no fallback.
  std::optional<double> emissions_g(double energy_j, double start_unix_s, double duration_s) const;
  // The keys of `carbonmeter intensity --json` (at: the time a series is read at).
  nlohmann::json intensity_json(double at_unix_s) const;
};

// The measurement of a window or of the run so far, with its emissions.
struct PyMeasurement {
  Measurement measurement;
  std::optional<double> emissions_g;
};

void register_location(py::module_& m);
void register_measurement(py::module_& m);
void register_tracker(py::module_& m);
void register_calculators(py::module_& m);
void register_power_limit(py::module_& m);

}  // namespace carbonmeter::python
