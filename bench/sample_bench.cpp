// The cost of one sample, as `carbonmeter run` takes it every interval, and of its pieces.
//
// Target (issue): one full sample of 2 sockets x 4 RAPL zones through powercap + /proc/stat + a
// process tree of 50 processes in <= 50 us.
//
// Setup: a fake powercap tree in a temporary folder (CARBONMETER_SYSFS_ROOT; intel-rapl:{0,1} =
// package-{0,1} with core, uncore and dram subzones), and 50 real sleeping processes (one root
// that forks 49 children) read through the real /proc. The Sampler is the one the CLI uses,
// built from probe_sensors({}) with Scope::process and an interval of 3600 s so that its own
// thread never samples during the measurement.
//
// Caveat: reading a real energy_uj makes the kernel read an MSR (on the package's CPU, through
// an IPI when the reading thread runs on another socket), which costs more than reading the
// fake file; see bench/RESULTS.md.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/journal.hpp"
#include "core/proc_stat.hpp"
#include "core/process_tree.hpp"
#include "core/sampler.hpp"
#include "sensors/rapl_domains.hpp"
#include "sensors/rapl_powercap.hpp"
#include "sensors/registry.hpp"

namespace cm = carbonmeter;
namespace fs = std::filesystem;

namespace {

constexpr int kTreeProcesses = 50;  // the root and 49 children

std::string g_root_dir;  // the temporary folder (fake sysfs and journals)
pid_t g_tree_root = -1;

void write_file(const fs::path& path, const std::string& text) {
  std::ofstream out(path);
  out << text << "\n";
}

void make_zone(const fs::path& powercap, const std::string& dir, const std::string& name,
               std::uint64_t energy_uj) {
  const fs::path zone = powercap / dir;
  fs::create_directories(zone);
  write_file(zone / "name", name);
  write_file(zone / "energy_uj", std::to_string(energy_uj));
  write_file(zone / "max_energy_range_uj", "262143328850");
  write_file(zone / "enabled", "1");
}

void make_fake_sysfs(const fs::path& sysfs) {
  const fs::path powercap = sysfs / "class" / "powercap";
  for (int socket = 0; socket < 2; ++socket) {
    const std::string package = "intel-rapl:" + std::to_string(socket);
    const std::uint64_t base = 100000000000ULL + 1000000ULL * static_cast<std::uint64_t>(socket);
    make_zone(powercap, package, "package-" + std::to_string(socket), base);
    make_zone(powercap, package + ":0", "core", base / 2);
    make_zone(powercap, package + ":1", "uncore", base / 10);
    make_zone(powercap, package + ":2", "dram", base / 4);
  }
}

// Forks the root of the tree, which forks 49 sleeping children and then sleeps itself. Returns
// once all 50 exist. Everything dies with the benchmark (PR_SET_PDEATHSIG) if it crashes.
// before_children: called with the root's pid before it forks its children (e.g. to move it into
// a cgroup, as `carbonmeter run` does with its command before exec).
pid_t start_process_tree(const std::function<void(pid_t)>& before_children = nullptr) {
  int ready[2], go[2];
  if (::pipe(ready) != 0 || ::pipe(go) != 0) std::abort();
  const pid_t parent = ::getpid();
  const pid_t root = ::fork();
  if (root < 0) std::abort();
  if (root == 0) {
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(1);
    ::close(ready[0]);
    ::close(go[1]);
    char go_byte = 0;
    if (::read(go[0], &go_byte, 1) != 1) ::_exit(1);
    const pid_t self = ::getpid();
    for (int i = 1; i < kTreeProcesses; ++i) {
      const pid_t child = ::fork();
      if (child == 0) {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != self) ::_exit(1);
        for (;;) ::pause();
      }
    }
    char byte = 1;
    (void)!::write(ready[1], &byte, 1);
    ::close(ready[1]);
    for (;;) ::pause();
  }
  ::close(ready[1]);
  ::close(go[0]);
  if (before_children) before_children(root);
  char byte = 1;
  if (::write(go[1], &byte, 1) != 1) std::abort();
  ::close(go[1]);
  if (::read(ready[0], &byte, 1) != 1) std::abort();
  ::close(ready[0]);
  return root;
}

void stop_process_tree(pid_t root) {
  if (root <= 0) return;
  ::kill(-root, SIGKILL);  // the root's process group: the root and its 49 children
  ::waitpid(root, nullptr, 0);
}

cm::SensorSet probe_default() {
  auto sensors = cm::probe_sensors({});
  if (!sensors || sensors.value().sensors.empty() ||
      sensors.value().sensors.front().sensor->method() != "rapl-powercap") {
    std::fprintf(stderr, "sample_bench: the fake powercap tree was not picked up\n");
    std::exit(1);
  }
  return std::move(sensors).value();
}

// All four zones of both sockets (package, core, uncore, dram). The CLI never selects package
// together with core/uncore (that would count them twice), but the target reads all of
// them, so this is the upper bound on RAPL reads per sample.
std::unique_ptr<cm::EnergySensor> rapl_all_zones() {
  cm::RaplDomains all;
  all.package = all.dram = all.core = all.uncore = true;
  all.psys = false;
  cm::ProbeOutcome outcome = cm::probe_rapl_powercap(all);
  if (!outcome.sensor) {
    std::fprintf(stderr, "sample_bench: %s\n", outcome.status.detail.c_str());
    std::exit(1);
  }
  return std::move(outcome.sensor);
}

cm::SensorSet all_zones_set() {
  cm::SensorSet set;
  cm::ActiveSensor active;
  active.sensor = rapl_all_zones();
  active.counted[cm::Component::cpu] = true;
  active.counted[cm::Component::ram] = true;
  set.sensors.push_back(std::move(active));
  return set;
}

// --- the full sample -------------------------------------------------------------------------

// Process scope, as the tracker sets it up for a 1 s interval.
std::unique_ptr<cm::UsageSource> tree_of(pid_t root, bool tracker_reaps) {
  return std::make_unique<cm::ProcessTree>(root, 1.0, tracker_reaps);
}

// refresh_all: every sample reads the whole process tree (what a window boundary does); otherwise
// the periodic sample, which reads the tree and /proc/meminfo at most every 0.1 s.
void run_sampler(benchmark::State& state, cm::SensorSet sensors, cm::Sampler::SampleCallback callback,
                 bool refresh_all = false) {
  std::size_t zones = 0;
  for (const cm::ActiveSensor& active : sensors.sensors) zones += active.sensor->channels().size();
  cm::Sampler sampler(std::move(sensors), tree_of(g_tree_root, false), 3600.0, std::move(callback));
  if (auto started = sampler.start(); !started) {
    state.SkipWithError(started.error().message.c_str());
    return;
  }
  for (auto _ : state) benchmark::DoNotOptimize(sampler.sample_now(refresh_all));
  sampler.stop();
  state.counters["rapl_zones"] = static_cast<double>(zones);
  state.counters["processes"] = kTreeProcesses;
}

// What the target names, as the sampler's thread takes it: the sensors the CLI picks by
// default (package + dram of both sockets: 4 energy_uj reads), /proc/stat, and the 50-process tree
// with /proc/meminfo read at most every 0.1 s. Back-to-back calls make the tree refresh rarer than
// at a 10 ms interval: BM_SampleNow_TreeRefresh gives the cost of a sample that refreshes it.
void BM_SampleNow(benchmark::State& state) { run_sampler(state, probe_default(), nullptr); }
BENCHMARK(BM_SampleNow);

// A sample that reads the whole 50-process tree and /proc/meminfo (every 10th sample at 10 ms,
// every sample at 0.1 s and longer intervals, and window boundaries).
void BM_SampleNow_TreeRefresh(benchmark::State& state) { run_sampler(state, probe_default(), nullptr, true); }
BENCHMARK(BM_SampleNow_TreeRefresh);

// The same sample when the 50 processes live in a cgroup made for them (what `carbonmeter run`
// does where it may create cgroups): the tree's CPU time and memory are one read each.
void BM_SampleNow_TreeRefresh_Cgroup(benchmark::State& state) {
  std::unique_ptr<cm::Sampler> sampler;
  const pid_t root = start_process_tree([&](pid_t held_root) {
    sampler = std::make_unique<cm::Sampler>(probe_default(), tree_of(held_root, true), 3600.0, nullptr);
    if (auto started = sampler->start(); !started) state.SkipWithError(started.error().message.c_str());
  });
  if (!state.error_occurred()) {
    sampler->sample_now(true);
    if (sampler->tree_source().rfind("cgroup", 0) != 0)
      state.SkipWithError(("the tree is not read from a cgroup here: " + sampler->tree_source()).c_str());
  }
  if (!state.error_occurred())
    for (auto _ : state) benchmark::DoNotOptimize(sampler->sample_now(true));
  sampler.reset();
  stop_process_tree(root);
  state.counters["processes"] = kTreeProcesses;
}
BENCHMARK(BM_SampleNow_TreeRefresh_Cgroup);

// The same with all 8 zones (2 sockets x package, core, uncore, dram) read every sample.
void BM_SampleNow_AllZones(benchmark::State& state) { run_sampler(state, all_zones_set(), nullptr); }
BENCHMARK(BM_SampleNow_AllZones);

// The sample as `carbonmeter run` takes it: plus the journal line (fdatasync at most once a sync period).
void BM_SampleNow_WithJournal(benchmark::State& state) {
  static int run = 0;  // the library calls this more than once; each call needs its own journal
  cm::RunHeader header;
  header.run_id = "bench-" + std::to_string(::getpid()) + "-" + std::to_string(++run);
  auto journal =
      cm::JournalWriter::create(g_root_dir + "/journal", header, cm::TrackerOptions{}.journal_sync_s);
  if (!journal) {
    state.SkipWithError(journal.error().message.c_str());
    return;
  }
  std::shared_ptr<cm::JournalWriter> writer = std::move(journal).value();
  run_sampler(state, probe_default(), [writer](const cm::Sample& sample) { writer->append(sample); });
}
BENCHMARK(BM_SampleNow_WithJournal);

// The same periodic sample with 8 GPUs behind the fake NVML library of the tests (counter
// method, process scope: energy counter, running processes and utilisation samples per GPU).
// The difference from BM_SampleNow is what 8 GPUs add to the sampler's loop.
void BM_SampleNow_8FakeGpus(benchmark::State& state) {
  const std::string state_path = g_root_dir + "/gpu-state";
  {
    std::ofstream out(state_path);
    for (int i = 0; i < 8; ++i)
      out << "gpu index=" << i << " uuid=GPU-" << i
          << " energy_mj=1000 power_mw=300000 counter=1 name=Fake H100\n";
    out << "proc gpu=0 pid=" << g_tree_root << " sm=50\n";
  }
  ::setenv("CARBONMETER_FAKE_GPU_STATE", state_path.c_str(), 1);
  ::setenv("CARBONMETER_NVML_LIBRARY", FAKE_NVML_PATH, 1);
  auto sensors = cm::probe_sensors({});
  if (!sensors || sensors.value().methods[cm::Component::gpu].method == "none") {
    state.SkipWithError("the fake NVML library was not picked up");
  } else {
    cm::Sampler sampler(std::move(sensors).value(), tree_of(g_tree_root, false), 3600.0, nullptr);
    if (auto started = sampler.start(); !started) {
      state.SkipWithError(started.error().message.c_str());
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(2100));  // past the counter check
      sampler.sample_now(false);
      for (auto _ : state) benchmark::DoNotOptimize(sampler.sample_now(false));
      sampler.stop();
      state.counters["gpus"] = 8;
    }
  }
  ::unsetenv("CARBONMETER_NVML_LIBRARY");
  ::unsetenv("CARBONMETER_FAKE_GPU_STATE");
}
BENCHMARK(BM_SampleNow_8FakeGpus);

// A window's begin and end (Tracker::begin_window/end_window, Python `tracker.window()`): two
// boundary reads of the counters, no sample taken; process scope on the 50-process tree.
void BM_WindowBoundaryPair(benchmark::State& state) {
  cm::Sampler sampler(probe_default(), tree_of(g_tree_root, false), 3600.0, nullptr);
  if (auto started = sampler.start(); !started) {
    state.SkipWithError(started.error().message.c_str());
    return;
  }
  sampler.sample_now(true);
  for (auto _ : state) {
    benchmark::DoNotOptimize(sampler.boundary_totals());
    benchmark::DoNotOptimize(sampler.boundary_totals());
  }
  sampler.stop();
}
BENCHMARK(BM_WindowBoundaryPair);

// --- the pieces ------------------------------------------------------------------------------

void read_sensor(benchmark::State& state, cm::EnergySensor& sensor) {
  std::vector<cm::ChannelReading> out(sensor.channels().size());
  cm::SampleContext context;
  sensor.read(context, out);  // the baseline
  context.elapsed_s = 1.0;
  for (auto _ : state) {
    sensor.read(context, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["rapl_zones"] = static_cast<double>(out.size());
  state.counters["per_zone_ns"] =
      benchmark::Counter(static_cast<double>(out.size()),
                         benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

// The RAPL powercap sensor alone, default domains (4 pread + parse + wrap check).
void BM_RaplRead_Default(benchmark::State& state) {
  cm::SensorSet set = probe_default();
  read_sensor(state, *set.sensors.front().sensor);
}
BENCHMARK(BM_RaplRead_Default);

// The RAPL powercap sensor alone, all 8 zones.
void BM_RaplRead_AllZones(benchmark::State& state) {
  auto sensor = rapl_all_zones();
  read_sensor(state, *sensor);
}
BENCHMARK(BM_RaplRead_AllZones);

// ProcessTree::sample with 50 sleeping processes between discoveries, samples `state.range(0)`
// ms apart by the tree's clock: one /proc/PID/schedstat pread per member (it has not run, so its
// stat is not reread), plus /proc/PID/stat for the members whose turn to be reread has come (a
// fifth of them per second: 0 at 0 ms, 10 at 1000 ms).
void BM_ProcessTree_Steady(benchmark::State& state) {
  cm::ProcessTree tree(g_tree_root, 3600.0);
  (void)tree.start();
  const double step_s = static_cast<double>(state.range(0)) / 1000.0;
  double now_s = 1.0;
  int processes = tree.sample(now_s).processes;
  for (auto _ : state) processes = tree.sample(now_s += step_s).processes;
  state.counters["processes"] = processes;
  state.counters["per_process_ns"] = benchmark::Counter(
      processes, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_ProcessTree_Steady)->Arg(0)->Arg(100)->Arg(1000);

// ProcessTree::sample when every call is a discovery (the sampler does one every
// 0.25-1 s): the children files of all 50 members, and a full /proc scan every thirtieth.
void BM_ProcessTree_DiscoverEveryCall(benchmark::State& state) {
  cm::ProcessTree tree(g_tree_root, 1.0);
  double now_s = 0.0;
  (void)tree.start();
  int processes = 0;
  for (auto _ : state) processes = tree.sample(now_s += 1.0).processes;
  state.counters["processes"] = processes;
}
BENCHMARK(BM_ProcessTree_DiscoverEveryCall);

// The first sample of a tree (what Sampler::start() does once): a full scan of /proc.
void BM_ProcessTree_FirstSample(benchmark::State& state) {
  int processes = 0;
  for (auto _ : state) {
    cm::ProcessTree tree(g_tree_root, 1.0);
    (void)tree.start();
    processes = tree.sample(0.0).processes;
  }
  state.counters["processes"] = processes;
}
BENCHMARK(BM_ProcessTree_FirstSample);

// One pread of /proc/PID/stat of one process, without parsing: the kernel's share.
void BM_ProcPidStat_PreadOnly(benchmark::State& state) {
  cm::RereadableFile file("/proc/" + std::to_string(g_tree_root) + "/stat");
  for (auto _ : state) benchmark::DoNotOptimize(file.read());
}
BENCHMARK(BM_ProcPidStat_PreadOnly);

// Parsing one /proc/PID/stat line, without the read.
void BM_ProcPidStat_ParseOnly(benchmark::State& state) {
  cm::RereadableFile file("/proc/" + std::to_string(g_tree_root) + "/stat");
  const std::string text(file.read().value());
  for (auto _ : state) benchmark::DoNotOptimize(cm::parse_pid_stat(text));
}
BENCHMARK(BM_ProcPidStat_ParseOnly);

// Cheaper per-process files: schedstat (read first for single-threaded members) holds the CPU
// time in ns (no mm walk), statm the resident pages.
void BM_Alt_ProcPidSchedstat(benchmark::State& state) {
  cm::RereadableFile file("/proc/" + std::to_string(g_tree_root) + "/schedstat");
  for (auto _ : state) benchmark::DoNotOptimize(file.read());
}
BENCHMARK(BM_Alt_ProcPidSchedstat);

void BM_Alt_ProcPidStatm(benchmark::State& state) {
  cm::RereadableFile file("/proc/" + std::to_string(g_tree_root) + "/statm");
  for (auto _ : state) benchmark::DoNotOptimize(file.read());
}
BENCHMARK(BM_Alt_ProcPidStatm);

// MachineStatReader::cpu_time(): pread of /proc/stat (one line per CPU) + parse of the first line.
void BM_MachineCpuTime(benchmark::State& state) {
  cm::MachineStatReader reader;
  for (auto _ : state) benchmark::DoNotOptimize(reader.cpu_time());
}
BENCHMARK(BM_MachineCpuTime);

// MachineStatReader::memory(): /proc/meminfo, read on every sample with Scope::process.
void BM_MachineMemory(benchmark::State& state) {
  cm::MachineStatReader reader;
  for (auto _ : state) benchmark::DoNotOptimize(reader.memory());
}
BENCHMARK(BM_MachineMemory);

}  // namespace

int main(int argc, char** argv) {
  char pattern[] = "/tmp/carbonmeter-bench-XXXXXX";
  if (!::mkdtemp(pattern)) {
    std::perror("mkdtemp");
    return 1;
  }
  g_root_dir = pattern;
  make_fake_sysfs(fs::path(g_root_dir) / "sys");
  ::setenv("CARBONMETER_SYSFS_ROOT", (g_root_dir + "/sys").c_str(), 1);
  g_tree_root = start_process_tree();

  benchmark::Initialize(&argc, argv);
  int status = 0;
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) {
    status = 1;
  } else {
    benchmark::RunSpecifiedBenchmarks();
  }
  benchmark::Shutdown();

  stop_process_tree(g_tree_root);
  std::error_code ec;
  fs::remove_all(g_root_dir, ec);
  return status;
}
