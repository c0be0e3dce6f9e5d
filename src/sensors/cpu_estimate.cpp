#include "sensors/cpu_estimate.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "core/csv.hpp"
#include "core/roots.hpp"
#include "sensors/cpu_power_curve.hpp"
#include "sensors/cpu_tdp_table.hpp"

namespace carbonmeter {
namespace {

class CpuEstimateSensor final : public EnergySensor {
 public:
  CpuEstimateSensor(PowerCurve curve, double full_power_w, double uncertainty)
      : curve_(std::move(curve)), full_power_w_(full_power_w), uncertainty_(uncertainty) {}
  std::string method() const override { return "cpu-estimate"; }
  std::string kind() const override { return "estimate"; }
  double relative_uncertainty(Component) const override { return uncertainty_; }
  const std::vector<Channel>& channels() const override { return channels_; }
  ContextNeeds needs() const override { return {true, true, false}; }
  void read(const SampleContext& context, std::span<ChannelReading> out) override {
    const MachineCpuTime& delta = context.cpu_time_delta;
    const double total = delta.total_s();
    const double utilization = total > 0 ? delta.busy_s / total : 0.0;
    const double concentration = load_concentration(delta.per_cpu);
    out[0] = {full_power_w_ * curve_.fraction_of_tdp(utilization, concentration) * context.elapsed_s,
              std::nullopt};
  }

 private:
  PowerCurve curve_;
  double full_power_w_;
  double uncertainty_;
  std::vector<Channel> channels_{{Component::cpu, "host", "estimate", "", ""}};
};

}  // namespace

ProbeOutcome probe_cpu_estimate(const CpuInfo& cpu) {
  ProbeOutcome outcome;
  outcome.status.method = "cpu-estimate";
  outcome.status.components = "cpu";
  const std::string dir = data_dir();
  auto cpu_spec = CpuTdpTable::find(dir + "/cpu_tdp.csv", cpu.model_name);
  // Curves for /proc/cpuinfo's vendor_id; vendor-neutral ones for a vendor the model was not fitted on.
  auto curve = PowerCurve::load(dir + "/cpu_power_model.csv", cpu.vendor_id);
  auto errors = read_metric_file(dir + "/cpu_power_model_error.csv");
  auto defaults = read_metric_file(dir + "/cpu_tdp_defaults.csv");
  for (const auto* problem : {cpu_spec ? nullptr : &cpu_spec.error(), curve ? nullptr : &curve.error(),
                              errors ? nullptr : &errors.error(), defaults ? nullptr : &defaults.error()}) {
    if (problem) {
      outcome.status.detail = "shipped data missing: " + problem->message;
      outcome.status.fix = "reinstall carbonmeter, or point CARBONMETER_DATA_DIR at its data/ folder";
      return outcome;
    }
  }
  const int threads = std::max(1, cpu.logical_cpus);
  const int sockets = std::max(1, cpu.sockets);
  double model_error =
      errors.value().count("mape_leave_one_cpu_out") ? errors.value().at("mape_leave_one_cpu_out") : 0.5;
  double full_power_w = 0.0;
  std::string how;
  if (const auto& spec = cpu_spec.value()) {
    full_power_w = spec->tdp_w * sockets;
    how = fmt::format("'{}' matched '{}' ({} W TDP, {})", cpu.model_name, spec->name, spec->tdp_w,
                      spec->source);
    // A virtual machine sees only some of the host's threads: count only its share of the chip.
    const int chip_threads = spec->threads * sockets;
    if (cpu.hypervisor && spec->threads > 0 && threads < chip_threads) {
      full_power_w *= static_cast<double>(threads) / chip_threads;
      how += fmt::format(", scaled to the {} of its {} threads visible here", threads, chip_threads);
    } else if (sockets > 1) {
      how += fmt::format(" × {} sockets", sockets);
    }
  } else {
    double per_thread_w = defaults.value().count("median_tdp_per_thread_w")
                              ? defaults.value().at("median_tdp_per_thread_w")
                              : 5.0;
    double rule_error = defaults.value().count("mape_of_tdp_per_thread_rule")
                            ? defaults.value().at("mape_of_tdp_per_thread_rule")
                            : 0.5;
    full_power_w = per_thread_w * threads;
    model_error = std::sqrt(model_error * model_error + rule_error * rule_error);
    how = fmt::format("CPU '{}' is not in the table: default {:.1f} W per thread × {} threads",
                      cpu.model_name.empty() ? "unknown" : cpu.model_name, per_thread_w, threads);
  }
  outcome.status.found = true;
  outcome.status.detail = fmt::format(
      "{}; P = {:.1f} W × f(utilisation, load concentration) with the {} curves, "
      "±{:.0f} % (out-of-sample error)",
      how, full_power_w,
      curve.value().vendor_specific() ? curve.value().vendor() : std::string("vendor-neutral"),
      model_error * 100);
  outcome.sensor = std::make_unique<CpuEstimateSensor>(std::move(curve).value(), full_power_w, model_error);
  return outcome;
}

}  // namespace carbonmeter
