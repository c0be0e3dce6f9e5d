// carbonmeter._carbonmeter: the C++ core for the Python package (python/carbonmeter/__init__.py
// wraps it; nothing here is meant to be used directly).
#include "binding.hpp"
#include "carbonmeter/version.hpp"

PYBIND11_MODULE(_carbonmeter, m) {
  namespace cp = carbonmeter::python;
  m.doc() = "carbonmeter's C++ core; use the carbonmeter package instead.";
  m.attr("__version__") = carbonmeter::kVersion;
  cp::register_location(m);
  cp::register_measurement(m);
  cp::register_tracker(m);
  cp::register_calculators(m);
  cp::register_power_limit(m);
}
