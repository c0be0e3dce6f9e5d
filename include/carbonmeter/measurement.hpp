// What a measurement holds: energy per component, how each number was obtained, its uncertainty.
#pragma once

#include <array>
#include <string>
#include <string_view>

namespace carbonmeter {

enum class Component { cpu = 0, ram = 1, gpu = 2 };
inline constexpr std::size_t kComponentCount = 3;
inline constexpr std::array<Component, kComponentCount> kComponents{Component::cpu, Component::ram,
                                                                    Component::gpu};

std::string_view component_name(Component component);

// One value per component, indexed by Component.
template <class T>
struct PerComponent {
  std::array<T, kComponentCount> values{};
  T& operator[](Component c) { return values[static_cast<std::size_t>(c)]; }
  const T& operator[](Component c) const { return values[static_cast<std::size_t>(c)]; }
};

struct EnergyJ : PerComponent<double> {
  double total() const { return values[0] + values[1] + values[2]; }
  EnergyJ& operator+=(const EnergyJ& other) {
    for (std::size_t i = 0; i < kComponentCount; ++i) values[i] += other.values[i];
    return *this;
  }
  EnergyJ operator-(const EnergyJ& other) const {
    EnergyJ out = *this;
    for (std::size_t i = 0; i < kComponentCount; ++i) out.values[i] -= other.values[i];
    return out;
  }
};

// How one component's energy was obtained: "rapl-powercap", "rapl-msr", "cpu-estimate",
// "ram-estimate", "none", ... and its relative uncertainty (0.05 = ±5 %).
struct MethodInfo {
  std::string method = "none";
  std::string kind = "none";  // "measured counter", "integrated power", "estimate", "none"
  double relative_uncertainty = 0.0;
};

struct Measurement {
  std::string name;
  double start_unix_s = 0.0;
  double duration_s = 0.0;
  EnergyJ energy_j;          // attributed to the scope (process tree or machine)
  EnergyJ machine_energy_j;  // the whole machine over the same time
  PerComponent<MethodInfo> method;

  double average_power_w(Component c) const { return duration_s > 0 ? energy_j[c] / duration_s : 0.0; }
  double average_power_w() const { return duration_s > 0 ? energy_j.total() / duration_s : 0.0; }
  // Absolute uncertainty of the total, summing the components' uncertainties (conservative).
  double total_uncertainty_j() const {
    double sum = 0.0;
    for (Component c : kComponents) sum += energy_j[c] * method[c].relative_uncertainty;
    return sum;
  }
};

inline constexpr double kJoulesPerKwh = 3.6e6;

}  // namespace carbonmeter
