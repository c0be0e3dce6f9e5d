// carbonmeter vm-export: on a host, gives each running VM its share of the host's CPU and RAM energy
// as a powercap-shaped folder, updated every interval, until Ctrl-C or SIGTERM (docs/vm_export.md).
#include <fmt/format.h>
#include <signal.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <string>

#include "cli/commands.hpp"
#include "core/run_report.hpp"
#include "vmexport/vm_exporter.hpp"

namespace carbonmeter::cli {
namespace {

struct VmExportOptions {
  std::string dir;
  double interval_s = 1.0;
  double duration_s = 0.0;
  bool json_lines = false;
};

void print_messages(vmexport::VmExporter& exporter) {
  for (const std::string& line : exporter.take_messages())
    std::fprintf(stderr, "carbonmeter vm-export: %s\n", line.c_str());
}

std::string describe(const MethodInfo& method) {
  return method.method + " (" + method.kind +
         (method.relative_uncertainty > 0 ? fmt::format(", ±{:.0f} %", method.relative_uncertainty * 100)
                                          : "") +
         ")";
}

timespec to_timespec(double seconds) {
  seconds = std::max(0.0, seconds);
  timespec out{};
  out.tv_sec = static_cast<time_t>(seconds);
  out.tv_nsec = static_cast<long>((seconds - static_cast<double>(out.tv_sec)) * 1e9);
  return out;
}

int vm_export(const VmExportOptions& options) {
  check_interval(options.interval_s);
  if (!std::isfinite(options.duration_s) || options.duration_s < 0 || options.duration_s > 1e9)
    throw UsageError("--duration must be a number of seconds between 0 (no limit) and 1e9");

  // Block the stop signals in every thread (the sampler's too); the main thread waits for them.
  const sigset_t stop_signals = block_stop_signals();

  vmexport::VmExporter exporter({options.dir, options.interval_s});
  if (auto started = exporter.start(); !started) {
    print_messages(exporter);
    throw FatalError("vm-export: " + started.error().message);
  }
  const auto& methods = exporter.host_methods();
  std::fprintf(stderr, "carbonmeter vm-export: host cpu from %s, ram from %s%s\n",
               describe(methods[Component::cpu]).c_str(), describe(methods[Component::ram]).c_str(),
               exporter.exports_ram() ? "" : " (not exported: the guests estimate their own)");
  std::fprintf(stderr, "carbonmeter vm-export: writing to %s every %g s; Ctrl-C or SIGTERM to stop\n",
               options.dir.c_str(), options.interval_s);
  print_messages(exporter);

  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  const auto period =
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(options.interval_s));
  auto next = start + period;
  while (true) {
    const double wait_s = std::chrono::duration<double>(next - Clock::now()).count();
    timespec timeout = to_timespec(wait_s);
    const int signal = sigtimedwait(&stop_signals, nullptr, &timeout);
    if (signal > 0) break;
    if (signal < 0 && errno == EINTR) continue;
    if (Clock::now() < next) continue;  // woken early
    const double elapsed_s = std::chrono::duration<double>(Clock::now() - start).count();
    if (options.duration_s > 0 && elapsed_s >= options.duration_s) break;
    exporter.update();
    print_messages(exporter);
    if (options.json_lines) {
      std::puts(dump_json(exporter.last_update()).c_str());
      std::fflush(stdout);
    }
    next += period;
    // After a stall (suspend, a stopped process) the schedule restarts instead of catching up.
    if (Clock::now() > next + period) next = Clock::now() + period;
  }
  exporter.finish();
  print_messages(exporter);
  if (options.json_lines) {
    std::puts(dump_json(exporter.last_update()).c_str());
    std::fflush(stdout);
  }
  std::fprintf(stderr,
               "carbonmeter vm-export: stopped; the folders in %s stay, marked as no longer updated\n",
               options.dir.c_str());
  return 0;
}

}  // namespace

void add_vm_export_command(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<VmExportOptions>();
  CLI::App* cmd = app.add_subcommand(
      "vm-export",
      "On a host: give each running VM (QEMU/KVM) its share of the host's CPU and RAM energy as a "
      "powercap folder its guest can mount (docs/vm_export.md)");
  cmd->add_option(
         "--dir", options->dir,
         "Folder to write the VMs' folders in (DIR/<vm>/intel-rapl:0/energy_uj, ...); made if missing")
      ->required()
      ->check(
          CLI::Validator([](std::string& v) { return v.empty() ? std::string("empty folder") : ""; }, "DIR"));
  cmd->add_option("--interval", options->interval_s, "Seconds between updates (0.01 to 3600)")
      ->capture_default_str();
  cmd->add_option("--duration", options->duration_s, "Stop after this many seconds (default: until Ctrl-C)");
  cmd->add_flag("--json-lines", options->json_lines,
                "Print each update as a JSON object (host power, each VM's shares and energy)");
  cmd->callback([options, &exit_code] { exit_code = vm_export(*options); });
}

}  // namespace carbonmeter::cli
