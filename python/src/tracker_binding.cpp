// The Tracker for Python: the C++ core's Tracker::Impl (the same one `carbonmeter run` drives),
// with the run's emissions accounted at stop() exactly as `carbonmeter run --json` does.
#include <fmt/format.h>
#include <pybind11/stl.h>

#include <cmath>
#include <shared_mutex>

#include "binding.hpp"
#include "carbon/emissions.hpp"
#include "core/tracker_impl.hpp"
#include "outputs/emissions_csv.hpp"

namespace carbonmeter::python {
namespace {

constexpr double kMinIntervalS = 0.01;
constexpr double kMaxIntervalS = 3600.0;

nlohmann::json per_component(const EnergyJ& energy) {
  nlohmann::json out = nlohmann::json::object();
  for (Component c : kComponents) out[std::string(component_name(c))] = energy[c];
  out["total"] = energy.total();
  return out;
}

nlohmann::json measurement_json(const PyMeasurement& pm) {
  const Measurement& m = pm.measurement;
  nlohmann::json power = nlohmann::json::object(), methods = nlohmann::json::object();
  for (Component c : kComponents) {
    power[std::string(component_name(c))] = m.average_power_w(c);
    methods[std::string(component_name(c))] = m.method[c].method;
  }
  power["total"] = m.average_power_w();
  return {{"name", m.name},
          {"start_unix_s", m.start_unix_s},
          {"duration_s", m.duration_s},
          {"energy_j", per_component(m.energy_j)},
          {"energy_kwh", m.energy_j.total() / kJoulesPerKwh},
          {"machine_energy_j", per_component(m.machine_energy_j)},
          {"power_w", power},
          {"methods", methods},
          {"uncertainty_j", m.total_uncertainty_j()},
          {"emissions_g", pm.emissions_g ? nlohmann::json(*pm.emissions_g) : nlohmann::json(nullptr)}};
}

// A Python callable run at both ends of every window (TrackerOptions::window_sync). The GIL is
// held around window calls when there is one, so its exception reaches the caller unchanged.
struct SyncCallable {
  py::object callable;
  ~SyncCallable() {
    py::gil_scoped_acquire gil;
    callable = py::object();
  }
};

class PyTracker {
 public:
  PyTracker(const std::string& project_name, double interval_s, const std::string& scope,
            const std::string& output_dir, const std::string& gpu_ids, py::object sync,
            std::shared_ptr<Location> location)
      : location_(std::move(location)), output_dir_(output_dir) {
    if (!std::isfinite(interval_s) || interval_s < kMinIntervalS || interval_s > kMaxIntervalS)
      throw_value_error(fmt::format("interval_s={} is out of range: give {} to {} seconds", interval_s,
                                    kMinIntervalS, kMaxIntervalS));
    if (scope != "process" && scope != "machine")
      throw_value_error("scope='" + scope +
                        "': use 'process' (this process and its children) or 'machine' (the whole host)");
    if (!location_) throw_value_error("a tracker needs a location (carbonmeter.Tracker resolves one)");
    TrackerOptions options;
    options.interval_s = interval_s;
    options.scope = scope == "machine" ? Scope::machine : Scope::process;
    options.gpu_ids = gpu_ids;
    options.output_dir = output_dir;
    options.project_name = project_name;
    if (!sync.is_none()) {
      if (!PyCallable_Check(sync.ptr())) throw_value_error("sync: give None, 'torch' or a callable");
      auto callable = std::make_shared<SyncCallable>();
      callable->callable = std::move(sync);
      options.window_sync = [callable] {
        py::gil_scoped_acquire gil;
        callable->callable();
      };
      has_sync_ = true;
    }
    impl_ = std::make_unique<Tracker::Impl>(std::move(options));
  }

  ~PyTracker() {
    if (impl_ && impl_->running()) {
      py::gil_scoped_release release;
      std::unique_lock lock(state_mutex_);
      impl_->stop();
    }
  }

  void start() {
    {
      py::gil_scoped_release release;
      std::unique_lock lock(state_mutex_);
      if (impl_->running()) throw std::runtime_error("start(): the tracker is already running");
      status_ = impl_->start();
    }
    if (!status_) throw std::runtime_error(status_.error().message);
  }

  // The full report (report_json() with carbon_json(), as `run --json` writes it) and warnings.
  py::tuple stop() {
    nlohmann::json json;
    std::vector<std::string> warnings;
    {
      py::gil_scoped_release release;
      std::unique_lock lock(state_mutex_);
      if (!impl_->running() && !stopped_) throw std::runtime_error("stop(): the tracker was never started");
      if (impl_->running()) impl_->stop();
      stopped_ = true;
      const RunReport report = impl_->report();
      json = report_to_json(report);
      const ResolvedLocation& location = location_->resolved;
      auto account = account_emissions(report, location);
      if (account) {
        json.update(carbon_json(account.value(), location));
        const std::optional<std::string> uncovered = coverage_error(account.value(), location);
        if (uncovered) warnings.push_back(python_names(*uncovered));
        if (!output_dir_.empty() && !uncovered) {
          auto csv = append_emissions_csv(output_dir_, report, account.value(), location);
          if (!csv)
            warnings.push_back(csv.error().message);
          else if (!csv.value().backup.empty())
            warnings.push_back(csv.value().path + " had another header: kept as " + csv.value().backup);
        }
      } else {
        warnings.push_back(python_names(account.error().message));
      }
    }
    return py::make_tuple(to_python(json), py::cast(warnings));
  }

  void begin_window(const std::string& name) {
    Status status = Ok{};
    if (has_sync_) {
      std::shared_lock lock(state_mutex_);
      status = impl_->begin_window(name);
    } else {
      py::gil_scoped_release release;
      std::shared_lock lock(state_mutex_);
      status = impl_->begin_window(name);
    }
    if (!status) raise_window_error(status.error().message);
  }

  PyMeasurement end_window(const std::string& name) {
    std::optional<Result<Measurement>> result;
    if (has_sync_) {
      std::shared_lock lock(state_mutex_);
      result.emplace(impl_->end_window(name));
    } else {
      py::gil_scoped_release release;
      std::shared_lock lock(state_mutex_);
      result.emplace(impl_->end_window(name));
    }
    if (!*result) raise_window_error(result->error().message);
    return with_emissions(std::move(*result).value());
  }

  void cancel_window(const std::string& name) {
    Status status = Ok{};
    {
      py::gil_scoped_release release;
      std::shared_lock lock(state_mutex_);
      status = impl_->cancel_window(name);
    }
    if (!status) throw py::value_error(status.error().message);
  }

  PyMeasurement current() {
    Measurement m;
    {
      py::gil_scoped_release release;
      std::shared_lock lock(state_mutex_);
      if (!impl_->running() && !stopped_)
        throw std::runtime_error("current(): the tracker is not running; call start() first");
      m = impl_->current();
    }
    return with_emissions(std::move(m));
  }

  bool running() const { return impl_->running(); }
  std::vector<std::string> notes() const { return impl_->notes(); }
  std::string journal_path() const { return impl_->journal_path(); }

 private:
  PyMeasurement with_emissions(Measurement m) const {
    PyMeasurement out{std::move(m), std::nullopt};
    out.emissions_g = location_->emissions_g(out.measurement.energy_j.total(), out.measurement.start_unix_s,
                                             out.measurement.duration_s);
    return out;
  }

  // Not running is a state error (RuntimeError); a name open twice or not open is a bad argument.
  void raise_window_error(const std::string& message) const {
    if (!impl_->running() && message.find("not running") != std::string::npos)
      throw std::runtime_error(message);
    throw py::value_error(message);
  }

  std::unique_ptr<Tracker::Impl> impl_;
  std::shared_ptr<Location> location_;
  std::string output_dir_;
  bool has_sync_ = false;
  bool stopped_ = false;
  Status status_ = Ok{};
  // start() and stop() replace or end the sampler: windows and current() wait for them.
  mutable std::shared_mutex state_mutex_;
};

}  // namespace

void register_measurement(py::module_& m) {
  auto per_component_dict = [](const EnergyJ& energy) {
    py::dict out;
    for (Component c : kComponents) out[py::str(std::string(component_name(c)))] = energy[c];
    out["total"] = energy.total();
    return out;
  };
  py::class_<PyMeasurement>(
      m, "Measurement", "The energy of a window, or of the run so far, with how each number was obtained.")
      .def_property_readonly(
          "name", [](const PyMeasurement& p) { return p.measurement.name; }, "The window's name.")
      .def_property_readonly(
          "start_unix_s", [](const PyMeasurement& p) { return p.measurement.start_unix_s; },
          "When it began, in Unix seconds.")
      .def_property_readonly(
          "duration_s", [](const PyMeasurement& p) { return p.measurement.duration_s; },
          "How long it lasted, in s.")
      .def_property_readonly(
          "energy_j",
          [per_component_dict](const PyMeasurement& p) { return per_component_dict(p.measurement.energy_j); },
          "Joules per component: {'cpu', 'ram', 'gpu', 'total'} (the tracker's scope).")
      .def_property_readonly(
          "machine_energy_j",
          [per_component_dict](const PyMeasurement& p) {
            return per_component_dict(p.measurement.machine_energy_j);
          },
          "Joules per component of the whole machine over the same time.")
      .def_property_readonly(
          "energy_kwh", [](const PyMeasurement& p) { return p.measurement.energy_j.total() / kJoulesPerKwh; },
          "The total energy in kWh (before PUE).")
      .def_property_readonly(
          "power_w",
          [](const PyMeasurement& p) {
            py::dict out;
            for (Component c : kComponents)
              out[py::str(std::string(component_name(c)))] = p.measurement.average_power_w(c);
            out["total"] = p.measurement.average_power_w();
            return out;
          },
          "Average power per component and in total, in W.")
      .def_property_readonly(
          "methods",
          [](const PyMeasurement& p) {
            py::dict out;
            for (Component c : kComponents)
              out[py::str(std::string(component_name(c)))] = p.measurement.method[c].method;
            return out;
          },
          "How each component was measured: 'rapl-powercap', 'nvml', 'cpu-estimate', 'none', ...")
      .def_property_readonly(
          "uncertainty_j", [](const PyMeasurement& p) { return p.measurement.total_uncertainty_j(); },
          "Absolute uncertainty of the total energy, in J (the components' summed).")
      .def_property_readonly(
          "emissions_g", [](const PyMeasurement& p) { return p.emissions_g; },
          "Grams CO2e at the tracker's location (× PUE), or None when its intensity series does not cover "
          "this time and no fallback was given.")
      .def(
          "to_dict", [](const PyMeasurement& p) { return to_python(measurement_json(p)); },
          "Every field as a dict of plain Python values.")
      .def("__repr__", [](const PyMeasurement& p) {
        const Measurement& m = p.measurement;
        return fmt::format("<Measurement '{}': {:.6g} J in {:.4g} s, {:.4g} W{}>", m.name, m.energy_j.total(),
                           m.duration_s, m.average_power_w(),
                           p.emissions_g ? fmt::format(", {:.4g} g CO2e", *p.emissions_g) : "");
      });
}

void register_tracker(py::module_& m) {
  py::class_<PyTracker>(m, "_Tracker", "The C++ tracker behind carbonmeter.Tracker.")
      .def(py::init<const std::string&, double, const std::string&, const std::string&, const std::string&,
                    py::object, std::shared_ptr<Location>>(),
           py::arg("project_name"), py::arg("interval_s"), py::arg("scope"), py::arg("output_dir"),
           py::arg("gpu_ids"), py::arg("sync"), py::arg("location"))
      .def("start", &PyTracker::start)
      .def("stop", &PyTracker::stop)
      .def("begin_window", &PyTracker::begin_window, py::arg("name"))
      .def("end_window", &PyTracker::end_window, py::arg("name"))
      .def("cancel_window", &PyTracker::cancel_window, py::arg("name"))
      .def("current", &PyTracker::current)
      .def_property_readonly("running", &PyTracker::running)
      .def_property_readonly("notes", &PyTracker::notes)
      .def_property_readonly("journal_path", &PyTracker::journal_path);
}

}  // namespace carbonmeter::python
