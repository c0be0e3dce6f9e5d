// The GPU PowerLimitOptimizer for Python (carbonmeter.PowerLimitOptimizer wraps it).
#include <pybind11/functional.h>
#include <pybind11/stl.h>

#include "binding.hpp"
#include "carbonmeter/power_limit.hpp"

namespace carbonmeter::python {
namespace {

const char* state_name(PowerLimitOptimizer::State state) {
  switch (state) {
    case PowerLimitOptimizer::State::ready:
      return "ready";
    case PowerLimitOptimizer::State::warmup:
      return "warmup";
    case PowerLimitOptimizer::State::profiling:
      return "profiling";
    case PowerLimitOptimizer::State::done:
      return "done";
  }
  return "";
}

std::unique_ptr<PowerLimitOptimizer> create(std::optional<std::vector<unsigned>> gpus,
                                            const std::string& objective, double step_w, int warmup_steps,
                                            int profile_steps, std::optional<std::string> profile_path,
                                            bool dry_run, bool restore_on_signals, py::object log) {
  auto parsed = PowerLimitObjective::parse(objective);
  if (!parsed) throw_value_error(parsed.error().message);
  PowerLimitOptimizerOptions options;
  options.step_w = step_w;
  options.warmup_steps = warmup_steps;
  options.profile_steps = profile_steps;
  options.profile_path = profile_path.value_or("");
  options.dry_run = dry_run;
  options.restore_on_signals = restore_on_signals;
  if (!log.is_none()) {
    auto callable = std::make_shared<py::object>(log);
    // An exception from the callable is reported as unraisable, never thrown into the optimizer.
    options.log = [callable](const std::string& line) {
      py::gil_scoped_acquire gil;
      try {
        (*callable)(line);
      } catch (py::error_already_set& error) {
        error.discard_as_unraisable("carbonmeter.PowerLimitOptimizer log");
      }
    };
  }
  auto optimizer =
      PowerLimitOptimizer::create(gpus.value_or(std::vector<unsigned>{}), parsed.value(), options);
  if (!optimizer) throw std::runtime_error(optimizer.error().message);
  return std::move(optimizer).value();
}

}  // namespace

void register_power_limit(py::module_& m) {
  py::class_<PowerLimitOptimizer>(m, "PowerLimitOptimizer")
      .def(py::init(&create), py::arg("gpus"), py::arg("objective"), py::arg("step_w"),
           py::arg("warmup_steps"), py::arg("profile_steps"), py::arg("profile_path"), py::arg("dry_run"),
           py::arg("restore_on_signals"), py::arg("log"))
      .def("on_step_begin", &PowerLimitOptimizer::on_step_begin)
      .def("on_step_end", &PowerLimitOptimizer::on_step_end)
      .def("on_epoch_end", &PowerLimitOptimizer::on_epoch_end)
      .def("restore", &PowerLimitOptimizer::restore)
      .def_property_readonly("state", [](const PowerLimitOptimizer& o) { return state_name(o.state()); })
      .def_property_readonly("optimal_power_limit_w", &PowerLimitOptimizer::optimal_power_limit_w)
      .def_property_readonly("power_limits_w", &PowerLimitOptimizer::power_limits_w)
      .def_property_readonly("measurements",
                             [](const PowerLimitOptimizer& o) {
                               py::list out;
                               for (const PowerLimitMeasurement& m : o.measurements()) {
                                 py::dict row;
                                 row["power_limit"] = m.power_limit;
                                 row["energy"] = m.energy_j;
                                 row["time"] = m.time_s;
                                 out.append(row);
                               }
                               return out;
                             })
      .def_property_readonly("decisions", &PowerLimitOptimizer::decisions);
}

}  // namespace carbonmeter::python
