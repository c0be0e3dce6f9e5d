// carbonmeter vm-export end to end: a fake host (powercap counters advanced at known energy, a fake
// procfs with two QEMU processes whose CPU times advance), the real `carbonmeter vm-export`, then the
// real `carbonmeter run` and `hardware` in each "guest" (CARBONMETER_SYSFS_ROOT = its folder).
//
// The host moves in steps, each one only after the export shows the previous one: first the energy
// counters (the exporter measures them but has no busy CPU time to share them by yet, so they wait),
// then the VMs' CPU times and, last, /proc/stat's. Whenever the exporter samples in between, the
// shares come out the same, so the expected energies are exact.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/text_file.hpp"
#include "support/fake_root.hpp"
#include "support/process_guard.hpp"
#include "support/run_cli.hpp"

namespace carbonmeter {
namespace {

using testing::FakeRoot;
using ::testing::HasSubstr;
using testing::ProcessGuard;

constexpr std::uint64_t kPackageStepUj = 100'000'000;  // 100 J of CPU energy per step
constexpr std::uint64_t kDramStepUj = 20'000'000;      // 20 J of RAM energy per step
constexpr std::uint64_t kBusyStepTicks = 50;           // the host's busy CPU time per step
constexpr std::uint64_t kIdleStepTicks = 150;
constexpr std::uint64_t kMemTotalKb = 16'384'000;
constexpr std::uint64_t kMemAvailableKb = 8'192'000;  // 8'192'000 kB in use

bool wait_for(const std::function<bool()>& condition, double timeout_s = 20.0) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

nlohmann::json read_json(const std::string& path) {
  auto text = read_text_file(path);
  if (!text) return nullptr;
  return nlohmann::json::parse(text.value(), nullptr, false);
}

std::string slurp_trimmed(const std::string& path) {
  auto text = read_text_file(path);
  return text ? std::string(trim(text.value())) : std::string();
}

std::optional<std::uint64_t> read_counter(const std::string& path) {
  auto text = read_text_file(path);
  if (!text) return std::nullopt;
  return parse_u64(trim(text.value()));
}

struct FakeVm {
  pid_t pid;
  std::string comm;
  std::vector<std::string> args;
  std::uint64_t rss_kb;
  std::uint64_t ticks_per_step;
  std::uint64_t utime_ticks = 100'000;  // constant width: a racing reader never sees a shorter line
};

// The host: the intel_server_1s fixture (package-0 and its dram), a procfs with VMs.
class FakeHost {
 public:
  FakeHost() : root_("intel_server_1s"), dir_(root_.path() + "/export") {
    root_.set_energy_uj("intel-rapl:0", package_uj_);
    root_.set_energy_uj("intel-rapl:0:2", dram_uj_);
    root_.set_cpu_ticks(busy_ticks_, idle_ticks_);
    root_.set_memory_kb(kMemTotalKb, kMemAvailableKb);
    // A process that is no VM.
    root_.write("proc/4242/comm", "bash\n");
    root_.write("proc/4242/cmdline", std::string("bash\0-l\0", 8));
    root_.write("proc/4242/stat", stat_line(4242, "bash", 500, 1000, 100));
  }

  const FakeRoot& root() const { return root_; }
  const std::string& dir() const { return dir_; }
  std::string folder(const std::string& name) const { return dir_ + "/" + name; }

  void add_vm(FakeVm vm, std::uint64_t start_ticks) {
    const std::string base = "proc/" + std::to_string(vm.pid);
    std::string cmdline;
    for (const std::string& arg : vm.args) cmdline += arg + '\0';
    root_.write(base + "/comm", vm.comm + "\n");
    root_.write(base + "/cmdline", cmdline);
    const pid_t pid = vm.pid;
    start_ticks_[pid] = start_ticks;
    vms_[pid] = std::move(vm);
    write_vm_stat(vms_[pid]);
  }
  void remove_vm(pid_t pid) {
    std::filesystem::remove_all(root_.path() + "/proc/" + std::to_string(pid));
    vms_.erase(pid);
  }

  // Energy first; once the exporter has measured it (status file), the CPU times, /proc/stat last.
  // Returns after the export shows every running VM's share of the step: `expected` is updated with
  // the cumulative µJ each folder's counters must hold, and checked.
  void step(std::map<std::string, std::pair<std::uint64_t, std::uint64_t>>& expected,
            const std::map<pid_t, std::string>& folders) {
    const double measured_before = measured_cpu_j();
    package_uj_ += kPackageStepUj;
    dram_uj_ += kDramStepUj;
    root_.set_energy_uj("intel-rapl:0", package_uj_);
    root_.set_energy_uj("intel-rapl:0:2", dram_uj_);
    ASSERT_TRUE(wait_for([&] { return std::abs(measured_cpu_j() - measured_before - 100.0) < 1e-6; }))
        << "the exporter did not measure the step's energy";
    const double used_kb = static_cast<double>(kMemTotalKb - kMemAvailableKb);
    for (auto& [pid, vm] : vms_) {
      vm.utime_ticks += vm.ticks_per_step;
      write_vm_stat(vm);
      auto& [cpu_uj, ram_uj] = expected[folders.at(pid)];
      cpu_uj += kPackageStepUj * vm.ticks_per_step / kBusyStepTicks;
      ram_uj += static_cast<std::uint64_t>(
          std::llround(static_cast<double>(kDramStepUj) * static_cast<double>(vm.rss_kb) / used_kb));
    }
    busy_ticks_ += kBusyStepTicks;
    idle_ticks_ += kIdleStepTicks;
    root_.set_cpu_ticks(busy_ticks_, idle_ticks_);
    for (const auto& entry : folders) {
      if (!vms_.count(entry.first)) continue;
      const std::string& folder = entry.second;
      const std::uint64_t cpu_uj = expected[folder].first, ram_uj = expected[folder].second;
      EXPECT_TRUE(wait_for([&] { return near(cpu(folder), cpu_uj) && near(ram(folder), ram_uj); }))
          << folder << ": cpu " << cpu(folder) << " uJ (expected " << cpu_uj << "), ram " << ram(folder)
          << " uJ (expected " << ram_uj << ")";
    }
  }

  std::uint64_t cpu(const std::string& folder) const {
    return read_counter(dir_ + "/" + folder + "/intel-rapl:0/energy_uj").value_or(0);
  }
  std::uint64_t ram(const std::string& folder) const {
    return read_counter(dir_ + "/" + folder + "/intel-rapl:0/intel-rapl:0:0/energy_uj").value_or(0);
  }
  nlohmann::json status() const { return read_json(dir_ + "/carbonmeter-vm-export.json"); }
  nlohmann::json marker(const std::string& folder) const {
    return read_json(dir_ + "/" + folder + "/carbonmeter-host-export.json");
  }

 private:
  static bool near(std::uint64_t value, std::uint64_t expected) {
    return value + 2 >= expected && value <= expected + 2;  // rounding to whole µJ
  }
  static std::string stat_line(pid_t pid, const std::string& comm, std::uint64_t utime,
                               std::uint64_t rss_pages, std::uint64_t start_ticks) {
    return std::to_string(pid) + " (" + comm + ") S 1 " + std::to_string(pid) + " " + std::to_string(pid) +
           " 0 -1 4194560 0 0 0 0 " + std::to_string(utime) + " 0 0 0 20 0 8 0 " +
           std::to_string(start_ticks) + " 1000000 " + std::to_string(rss_pages) +
           " 18446744073709551615 0 0 0\n";
  }
  void write_vm_stat(const FakeVm& vm) {
    const auto page = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
    root_.write("proc/" + std::to_string(vm.pid) + "/stat",
                stat_line(vm.pid, vm.comm, vm.utime_ticks, vm.rss_kb * 1024 / page, start_ticks_[vm.pid]));
  }
  double measured_cpu_j() const {
    const nlohmann::json s = status();
    if (!s.is_object() || !s.contains("energy_j_since_start")) return -1.0;
    return s["energy_j_since_start"]["measured"]["cpu"].get<double>();
  }

  FakeRoot root_;
  std::string dir_;
  std::uint64_t package_uj_ = 100'000'000'000;
  std::uint64_t dram_uj_ = 20'000'000'000;
  std::uint64_t busy_ticks_ = 1'000'000;
  std::uint64_t idle_ticks_ = 5'000'000;
  std::map<pid_t, FakeVm> vms_;
  std::map<pid_t, std::uint64_t> start_ticks_;
};

// libvirt's command line, and a plain one.
FakeVm libvirt_vm() {
  return {1001,
          "qemu-system-x86",
          {"/usr/bin/qemu-system-x86_64", "-name", "guest=web-1,debug-threads=on", "-uuid",
           "0b6c0f0e-7c7c-4a3e-9d43-2f1d1c1e6a01", "-m", "2000"},
          2'048'000,  // a quarter of the memory in use
          30};        // 30 of the 50 busy ticks
}
FakeVm plain_vm() {
  return {1002, "qemu-kvm", {"/usr/libexec/qemu-kvm", "-name", "db server", "-m", "1000"}, 1'024'000, 10};
}

testing::EnvChanges exporter_env() {
  testing::EnvChanges env = testing::hermetic_cli_env();
  env["CARBONMETER_NVML_LIBRARY"] = "/nonexistent/libnvidia-ml.so.1";
  env["CARBONMETER_ROCM_SMI_LIBRARY"] = "/nonexistent/librocm_smi64.so";
  return env;
}

std::unique_ptr<ProcessGuard> start_exporter(const FakeHost& host, std::vector<std::string> extra = {}) {
  std::vector<std::string> argv = {CARBONMETER_CLI_PATH, "vm-export",  "--dir",
                                   host.dir(),           "--interval", "0.05"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return std::make_unique<ProcessGuard>(argv, exporter_env());
}

// The exporter has written its first state: the baseline is taken.
void wait_until_exporting(const FakeHost& host, ProcessGuard& exporter,
                          const std::vector<std::string>& folders) {
  ASSERT_TRUE(wait_for([&] {
    const nlohmann::json status = host.status();
    if (!status.is_object() || !status.contains("exporter")) return false;
    for (const std::string& folder : folders)
      if (!host.marker(folder).is_object()) return false;
    return true;
  })) << exporter.err();
}

int stop(ProcessGuard& exporter) {
  exporter.signal(SIGTERM);
  return exporter.wait(20).value_or(-1);
}

// A guest: `carbonmeter run` with CARBONMETER_SYSFS_ROOT at its folder, during which the host takes
// one step. The guest's command starts after the run's baseline and waits for the step to be exported.
nlohmann::json run_in_guest(const FakeHost& host, const std::string& folder,
                            const std::function<void()>& step) {
  const std::string work = host.root().path() + "/guest-" + folder;
  std::filesystem::create_directories(work);
  testing::EnvChanges env = exporter_env();
  env["CARBONMETER_SYSFS_ROOT"] = host.folder(folder);
  env["CARBONMETER_PROCFS_ROOT"] = std::nullopt;  // the guest's own /proc
  const std::string script =
      "touch '" + work + "/ready'; while [ ! -e '" + work + "/stepped' ]; do sleep 0.02; done";
  testing::CliOutcome outcome = testing::run_carbonmeter(
      {"run", "--scope", "machine", "--interval", "0.05", "--no-csv", "--output-dir", work, "--json",
       work + "/report.json", "--", "sh", "-c", script},
      "/tmp",
      [&](pid_t) {
        EXPECT_TRUE(wait_for([&] { return std::filesystem::exists(work + "/ready"); }));
        step();
        testing::write_file(work + "/stepped", "");
      },
      env);
  EXPECT_EQ(outcome.exit_code, 0) << outcome.err;
  EXPECT_THAT(outcome.err, HasSubstr("host-export"));
  return read_json(work + "/report.json");
}

TEST(VmExportEndToEnd, TwoVmsGetTheirSharesAndTheirGuestsMeasureThem) {
  FakeHost host;
  host.add_vm(libvirt_vm(), 5000);
  host.add_vm(plain_vm(), 6000);
  auto exporter = start_exporter(host);
  wait_until_exporting(host, *exporter, {"web-1", "db_server"});
  const std::map<pid_t, std::string> folders = {{1001, "web-1"}, {1002, "db_server"}};
  std::map<std::string, std::pair<std::uint64_t, std::uint64_t>> expected = {{"web-1", {0, 0}},
                                                                             {"db_server", {0, 0}}};

  // The powercap shape the guest's sensor reads.
  EXPECT_EQ(slurp_trimmed(host.folder("web-1") + "/intel-rapl:0/name"), "package-0");
  EXPECT_EQ(slurp_trimmed(host.folder("web-1") + "/intel-rapl:0/intel-rapl:0:0/name"), "dram");
  EXPECT_EQ(slurp_trimmed(host.folder("web-1") + "/intel-rapl:0/max_energy_range_uj"), "262143328850");
  const nlohmann::json marker = host.marker("web-1");
  EXPECT_EQ(marker["format"], "carbonmeter-host-export/1");
  EXPECT_EQ(marker["vm"]["name"], "web-1");
  EXPECT_EQ(marker["vm"]["uuid"], "0b6c0f0e-7c7c-4a3e-9d43-2f1d1c1e6a01");
  EXPECT_EQ(marker["vm"]["pid"], 1001);
  EXPECT_EQ(marker["vm"]["state"], "running");
  EXPECT_EQ(marker["host"]["cpu"]["method"], "rapl-powercap");
  EXPECT_EQ(marker["host"]["ram"]["method"], "rapl-powercap");
  EXPECT_EQ(marker["interval_s"], 0.05);
  EXPECT_EQ(host.marker("db_server")["vm"]["name"], "db server");

  for (int i = 0; i < 3; ++i) host.step(expected, folders);
  // 3 steps: web-1 ran 30 of 50 busy ticks and holds a quarter of the memory in use, db 10 and an eighth.
  EXPECT_EQ(expected["web-1"], std::make_pair(std::uint64_t{180'000'000}, std::uint64_t{15'000'000}));
  EXPECT_EQ(expected["db_server"], std::make_pair(std::uint64_t{60'000'000}, std::uint64_t{7'500'000}));

  // Each guest measures its own VM's share of a step, with method host-export.
  const nlohmann::json web = run_in_guest(host, "web-1", [&] { host.step(expected, folders); });
  EXPECT_EQ(web["method"]["cpu"], "host-export");
  EXPECT_EQ(web["method"]["ram"], "host-export");
  EXPECT_EQ(web["uncertainty"]["cpu"]["kind"], "measured counter");
  EXPECT_NEAR(web["uncertainty"]["cpu"]["relative"].get<double>(), std::hypot(0.05, 0.05), 1e-9);
  EXPECT_NEAR(web["machine_energy_j"]["cpu"].get<double>(), 60.0, 1e-5);
  EXPECT_NEAR(web["machine_energy_j"]["ram"].get<double>(), 5.0, 1e-5);
  const nlohmann::json db = run_in_guest(host, "db_server", [&] { host.step(expected, folders); });
  EXPECT_EQ(db["method"]["cpu"], "host-export");
  EXPECT_NEAR(db["machine_energy_j"]["cpu"].get<double>(), 20.0, 1e-5);
  EXPECT_NEAR(db["machine_energy_j"]["ram"].get<double>(), 2.5, 1e-5);

  // `hardware` in a guest.
  testing::EnvChanges env = exporter_env();
  env["CARBONMETER_SYSFS_ROOT"] = host.folder("db_server");
  testing::CliOutcome hardware = testing::run_carbonmeter({"hardware", "--json"}, "/tmp", nullptr, env);
  ASSERT_EQ(hardware.exit_code, 0) << hardware.err;
  const nlohmann::json selected = nlohmann::json::parse(hardware.out)["selected"];
  EXPECT_EQ(selected["cpu"]["method"], "host-export");
  EXPECT_EQ(selected["ram"]["method"], "host-export");

  // Nothing lost: the VMs and the host's own work account for every joule the host measured.
  ASSERT_EQ(stop(*exporter), 0) << exporter->err();
  const nlohmann::json energy = host.status()["energy_j_since_start"];
  EXPECT_NEAR(energy["measured"]["cpu"].get<double>(), 500.0, 1e-6);
  EXPECT_NEAR(energy["measured"]["ram"].get<double>(), 100.0, 1e-6);
  EXPECT_NEAR(energy["vms"]["cpu"].get<double>(), 400.0, 1e-6);   // (60 + 20) × 5
  EXPECT_NEAR(energy["vms"]["ram"].get<double>(), 37.5, 1e-6);    // (5 + 2.5) × 5
  EXPECT_NEAR(energy["host"]["cpu"].get<double>(), 100.0, 1e-6);  // the host's own 10 ticks a step
  EXPECT_NEAR(energy["host"]["ram"].get<double>(), 62.5, 1e-6);
  EXPECT_NEAR(energy["pending"]["cpu"].get<double>(), 0.0, 1e-9);
  EXPECT_EQ(host.cpu("web-1"), 300'000'000u);
  EXPECT_EQ(host.ram("web-1"), 25'000'000u);
  EXPECT_EQ(host.cpu("db_server"), 100'000'000u);
  EXPECT_EQ(host.ram("db_server"), 12'500'000u);
  EXPECT_EQ(host.marker("web-1")["exporting"], false);
  EXPECT_THAT(exporter->err(), HasSubstr("VM 'web-1' (pid 1001, qemu-system-x86)"));
}

TEST(VmExportEndToEnd, RestartContinuesTheCounters) {
  FakeHost host;
  host.add_vm(libvirt_vm(), 5000);
  const std::map<pid_t, std::string> folders = {{1001, "web-1"}};
  std::map<std::string, std::pair<std::uint64_t, std::uint64_t>> expected = {{"web-1", {0, 0}}};
  {
    auto exporter = start_exporter(host);
    wait_until_exporting(host, *exporter, {"web-1"});
    host.step(expected, folders);
    ASSERT_EQ(stop(*exporter), 0) << exporter->err();
  }
  EXPECT_EQ(host.cpu("web-1"), 60'000'000u);
  EXPECT_EQ(host.marker("web-1")["exporting"], false);
  std::filesystem::remove(host.dir() + "/carbonmeter-vm-export.json");
  auto exporter = start_exporter(host);
  wait_until_exporting(host, *exporter, {"web-1"});
  ASSERT_TRUE(wait_for([&] { return host.marker("web-1")["exporting"] == true; }));
  EXPECT_EQ(host.cpu("web-1"), 60'000'000u);  // not reset: the guest sees no jump back
  host.step(expected, folders);
  EXPECT_EQ(host.cpu("web-1"), 120'000'000u);
  EXPECT_EQ(host.ram("web-1"), 10'000'000u);
  // The marker, written after the counters, carries the unwrapped total on.
  EXPECT_TRUE(wait_for([&] { return host.marker("web-1")["energy_uj_total"]["cpu"] == 120'000'000u; }));
  EXPECT_THAT(exporter->err(), HasSubstr("go on from the values already there"));
  EXPECT_EQ(stop(*exporter), 0);
}

TEST(VmExportEndToEnd, VmsThatStopAndStartAreFollowed) {
  FakeHost host;
  auto exporter = start_exporter(host);
  wait_until_exporting(host, *exporter, {});
  ASSERT_TRUE(wait_for([&] { return exporter->err().find("no VM is running") != std::string::npos; }))
      << exporter->err();

  // VMs that start later are picked up; two with the same name get two folders.
  host.add_vm(libvirt_vm(), 5000);
  FakeVm twin = plain_vm();
  twin.args = {"qemu-kvm", "-name", "web-1"};
  host.add_vm(twin, 6000);
  wait_until_exporting(host, *exporter, {"web-1", "web-1-2"});
  EXPECT_EQ(host.marker("web-1")["vm"]["pid"], 1001);  // the older one keeps the plain name
  EXPECT_EQ(host.marker("web-1-2")["vm"]["pid"], 1002);
  const std::map<pid_t, std::string> folders = {{1001, "web-1"}, {1002, "web-1-2"}};
  std::map<std::string, std::pair<std::uint64_t, std::uint64_t>> expected;
  host.step(expected, folders);

  // A VM that stops: its folder stays, marked stopped, its counters still.
  host.remove_vm(1002);
  ASSERT_TRUE(wait_for([&] { return host.marker("web-1-2")["vm"]["state"] == "stopped"; }))
      << exporter->err();
  EXPECT_FALSE(host.marker("web-1-2")["vm"]["stopped_unix_s"].is_null());
  host.step(expected, folders);
  EXPECT_EQ(host.cpu("web-1-2"), 20'000'000u);
  EXPECT_EQ(host.cpu("web-1"), 120'000'000u);
  EXPECT_THAT(exporter->err(), HasSubstr("VM 'web-1' (pid 1002) stopped"));
  EXPECT_EQ(stop(*exporter), 0);
  EXPECT_EQ(host.marker("web-1-2")["vm"]["state"], "stopped");
}

TEST(VmExportCli, UnwritableDirIsAClearError) {
  FakeRoot root("intel_server_1s");
  testing::write_file(root.path() + "/a-file", "x");
  testing::CliOutcome outcome = testing::run_carbonmeter({"vm-export", "--dir", root.path() + "/a-file/vms"},
                                                         "/tmp", nullptr, exporter_env());
  EXPECT_EQ(outcome.exit_code, 1);
  EXPECT_THAT(outcome.err, HasSubstr("--dir " + root.path() + "/a-file/vms: cannot create it"));
  testing::CliOutcome not_a_folder = testing::run_carbonmeter({"vm-export", "--dir", root.path() + "/a-file"},
                                                              "/tmp", nullptr, exporter_env());
  EXPECT_EQ(not_a_folder.exit_code, 1);
  EXPECT_THAT(not_a_folder.err, HasSubstr("a-file"));
}

TEST(VmExportCli, OneExporterPerDir) {
  FakeHost host;
  auto exporter = start_exporter(host);
  wait_until_exporting(host, *exporter, {});
  testing::CliOutcome second =
      testing::run_carbonmeter({"vm-export", "--dir", host.dir() + "/"}, "/tmp", nullptr, exporter_env());
  EXPECT_EQ(second.exit_code, 1);
  EXPECT_THAT(second.err, HasSubstr("is already written by another carbonmeter vm-export (pid " +
                                    std::to_string(exporter->pid()) + ")"));
  EXPECT_EQ(stop(*exporter), 0) << exporter->err();
}

TEST(VmExportCli, BadFlagsExit2) {
  for (const std::vector<std::string>& args : {std::vector<std::string>{"vm-export"},
                                               {"vm-export", "--dir", "/tmp/x", "--interval", "0"},
                                               {"vm-export", "--dir", "/tmp/x", "--interval", "soon"},
                                               {"vm-export", "--dir", "/tmp/x", "--bogus"},
                                               {"vm-export", "--dir", "/tmp/x", "--duration", "-1"},
                                               {"vm-export", "--dir", ""}}) {
    testing::CliOutcome outcome = testing::run_carbonmeter(args, "/tmp", nullptr, exporter_env());
    EXPECT_EQ(outcome.exit_code, 2) << args.back() << ": " << outcome.err;
  }
}

TEST(VmExportCli, DurationEndsItWithAFinalUpdate) {
  FakeHost host;
  host.add_vm(libvirt_vm(), 5000);
  testing::CliOutcome outcome = testing::run_carbonmeter(
      {"vm-export", "--dir", host.dir(), "--interval", "0.05", "--duration", "0.3", "--json-lines"}, "/tmp",
      nullptr, exporter_env());
  EXPECT_EQ(outcome.exit_code, 0) << outcome.err;
  std::string out = outcome.out;
  while (!out.empty() && out.back() == '\n') out.pop_back();
  const auto start = out.rfind('\n');
  const nlohmann::json last = nlohmann::json::parse(out.substr(start == std::string::npos ? 0 : start + 1));
  EXPECT_EQ(last["vms"][0]["folder"], "web-1");
  EXPECT_EQ(last["vms"][0]["state"], "running");
  EXPECT_EQ(host.marker("web-1")["exporting"], false);
}

}  // namespace
}  // namespace carbonmeter
