#include "carbonmeter/tracker.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/proc_stat.hpp"
#include "support/cpu_burner.hpp"
#include "support/fake_root.hpp"

namespace carbonmeter {
namespace {

using testing::FakeRoot;

TrackerOptions machine_options(double interval_s = 3600) {
  TrackerOptions options;
  options.scope = Scope::machine;
  options.interval_s = interval_s;
  return options;
}

TEST(Tracker, MachineScopeEnergyIsExactFromCounters) {
  FakeRoot root("intel_server_1s");
  Tracker tracker(machine_options());
  ASSERT_TRUE(tracker.start().ok());
  root.set_energy_uj("intel-rapl:0", 100'000'000 + 42'000'000);
  root.set_energy_uj("intel-rapl:0:2", 20'000'000 + 8'500'000);
  Measurement m = tracker.stop();
  EXPECT_DOUBLE_EQ(m.energy_j[Component::cpu], 42.0);
  EXPECT_DOUBLE_EQ(m.energy_j[Component::ram], 8.5);
  EXPECT_DOUBLE_EQ(m.energy_j[Component::gpu], 0.0);
  EXPECT_EQ(m.method[Component::cpu].method, "rapl-powercap");
  auto report = nlohmann::json::parse(tracker.report_json());
  EXPECT_DOUBLE_EQ(report["energy_j"]["total"].get<double>(), 50.5);
  EXPECT_EQ(report["method"]["ram"], "rapl-powercap");
  EXPECT_EQ(report["schema_version"], 1);
}

TEST(Tracker, WindowsNestOverlapAndCancel) {
  FakeRoot root("intel_server_1s");
  Tracker tracker(machine_options());
  ASSERT_TRUE(tracker.start().ok());
  std::uint64_t package_uj = 100'000'000;
  auto advance_j = [&](std::uint64_t joules) {
    package_uj += joules * 1'000'000;
    root.set_energy_uj("intel-rapl:0", package_uj);
  };
  ASSERT_TRUE(tracker.begin_window("epoch").ok());
  advance_j(10);
  ASSERT_TRUE(tracker.begin_window("step").ok());  // nested
  advance_j(5);
  ASSERT_TRUE(tracker.begin_window("eval").ok());  // overlaps step's end
  auto step = tracker.end_window("step");
  advance_j(7);
  auto eval = tracker.end_window("eval");
  ASSERT_TRUE(tracker.begin_window("dropped").ok());
  ASSERT_TRUE(tracker.cancel_window("dropped").ok());
  auto epoch = tracker.end_window("epoch");
  ASSERT_TRUE(step.ok() && eval.ok() && epoch.ok());
  EXPECT_DOUBLE_EQ(step.value().energy_j[Component::cpu], 5.0);
  EXPECT_DOUBLE_EQ(eval.value().energy_j[Component::cpu], 7.0);
  EXPECT_DOUBLE_EQ(epoch.value().energy_j[Component::cpu], 22.0);
  EXPECT_EQ(epoch.value().name, "epoch");
  EXPECT_GE(epoch.value().duration_s, step.value().duration_s);
  tracker.stop();
}

TEST(Tracker, WindowBoundariesReadCountersWithoutTakingSamples) {
  FakeRoot root("intel_server_1s");
  Tracker tracker(machine_options());
  ASSERT_TRUE(tracker.start().ok());
  root.set_energy_uj("intel-rapl:0", 100'000'000 + 10'000'000);
  ASSERT_TRUE(tracker.begin_window("w").ok());
  root.set_energy_uj("intel-rapl:0", 100'000'000 + 17'000'000);
  auto w = tracker.end_window("w");
  ASSERT_TRUE(w.ok());
  EXPECT_DOUBLE_EQ(w.value().energy_j[Component::cpu], 7.0);
  // The energy the boundaries read is held for the next sample and counted exactly once.
  Measurement total = tracker.stop();
  EXPECT_DOUBLE_EQ(total.energy_j[Component::cpu], 17.0);
  auto report = nlohmann::json::parse(tracker.report_json());
  EXPECT_EQ(report["sample_count"].get<int>(), 1);  // only stop()'s last sample
}

TEST(Tracker, WindowErrorsAreValuesWithMessages) {
  FakeRoot root("intel_server_1s");
  Tracker tracker(machine_options());
  EXPECT_FALSE(tracker.begin_window("early").ok());  // not started
  ASSERT_TRUE(tracker.start().ok());
  ASSERT_TRUE(tracker.begin_window("a").ok());
  auto duplicate = tracker.begin_window("a");
  ASSERT_FALSE(duplicate.ok());
  EXPECT_THAT(duplicate.error().message, ::testing::HasSubstr("already open"));
  EXPECT_FALSE(tracker.end_window("never-opened").ok());
  EXPECT_FALSE(tracker.cancel_window("never-opened").ok());
  tracker.stop();
}

TEST(Tracker, RestartForgetsOldWindowsAndGetsANewJournal) {
  FakeRoot root("intel_server_1s");
  TrackerOptions options = machine_options();
  options.output_dir = root.path() + "/out";
  Tracker tracker(options);
  ASSERT_TRUE(tracker.start().ok());
  ASSERT_TRUE(tracker.begin_window("left-open").ok());
  tracker.stop();
  ASSERT_TRUE(tracker.start().ok());  // same second, same folder
  EXPECT_FALSE(tracker.end_window("left-open").ok());
  ASSERT_TRUE(tracker.begin_window("left-open").ok());
  tracker.stop();
  int journals = 0;
  for (const auto& entry : std::filesystem::directory_iterator(options.output_dir))
    journals += entry.is_regular_file();
  EXPECT_EQ(journals, 2);
}

TEST(Tracker, ProcessScopeOnAMissingProcessFailsToStart) {
  FakeRoot root("intel_server_1s", false);
  TrackerOptions options;
  options.root_pid = 999999999;
  Tracker tracker(options);
  auto started = tracker.start();
  ASSERT_FALSE(started.ok());
  EXPECT_THAT(started.error().message, ::testing::HasSubstr("999999999"));
}

TEST(Tracker, RejectsBadIntervals) {
  FakeRoot root("intel_server_1s");
  for (double interval : {0.0, 0.001, -1.0, 1e9, std::nan("")}) {
    TrackerOptions options = machine_options(interval);
    Tracker tracker(options);
    EXPECT_FALSE(tracker.start().ok()) << interval;
  }
}

TEST(Tracker, RejectsBadJournalSyncPeriods) {
  FakeRoot root("intel_server_1s");
  for (double period_s : {-0.5, 3601.0, std::nan(""), HUGE_VAL}) {
    TrackerOptions options = machine_options(0.05);
    options.output_dir = root.path() + "/out";
    options.journal_sync_s = period_s;
    Tracker tracker(options);
    auto started = tracker.start();
    ASSERT_FALSE(started.ok()) << period_s;
    EXPECT_THAT(started.error().message, ::testing::HasSubstr("journal sync period")) << period_s;
  }
}

TEST(Tracker, BackgroundThreadSamplesAtTheInterval) {
  FakeRoot root("intel_server_1s");
  Tracker tracker(machine_options(0.02));
  ASSERT_TRUE(tracker.start().ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  tracker.stop();
  auto report = nlohmann::json::parse(tracker.report_json());
  EXPECT_GE(report["sample_count"].get<int>(), 8);
  EXPECT_LE(report["sample_count"].get<int>(), 20);
}

TEST(Tracker, StopIsIdempotentAndRaiiStops) {
  FakeRoot root("intel_server_1s");
  {
    Tracker tracker(machine_options());
    ASSERT_TRUE(tracker.start().ok());
    EXPECT_TRUE(tracker.running());
  }
  Tracker tracker(machine_options());
  ASSERT_TRUE(tracker.start().ok());
  root.set_energy_uj("intel-rapl:0", 100'000'000 + 3'000'000);
  EXPECT_DOUBLE_EQ(tracker.stop().energy_j[Component::cpu], 3.0);
  EXPECT_DOUBLE_EQ(tracker.stop().energy_j[Component::cpu], 3.0);
  EXPECT_FALSE(tracker.running());
}

double machine_busy_s() {
  std::ifstream in("/proc/stat");
  std::string line;
  std::getline(in, line);
  return parse_proc_stat(line + "\n").value().busy_s;
}

// Attribution with real processes: a burner inside the tree and one outside it, on the real
// /proc, with package power driven at a known rate through the fake sysfs. The tree's share must
// match its CPU time (rusage, from the kernel) over the machine's busy time in the same period,
// whatever else the machine is doing.
TEST(Tracker, ProcessScopeGetsTheTreesShareOfCpuEnergy) {
  FakeRoot root("intel_server_1s", /*fake_procfs=*/false);
  pid_t outsider = testing::spawn_burner(2.5);
  pid_t tree = testing::spawn_burner_tree(1, 1.5);
  TrackerOptions options;
  options.scope = Scope::process;
  options.root_pid = tree;
  options.interval_s = 0.1;
  Tracker tracker(options);
  const double busy_before_s = machine_busy_s();
  ASSERT_TRUE(tracker.start().ok());
  std::uint64_t package_uj = 100'000'000;
  const auto start = std::chrono::steady_clock::now();
  double elapsed = 0.0;
  while (elapsed < 2.0) {  // 100 W on the package
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    root.set_energy_uj("intel-rapl:0", package_uj + static_cast<std::uint64_t>(elapsed * 100e6));
  }
  int status = 0;
  rusage usage{};
  ASSERT_EQ(::wait4(tree, &status, 0, &usage), tree);
  Measurement m = tracker.stop();
  const double busy_s = machine_busy_s() - busy_before_s;
  testing::wait_for(outsider);
  const double tree_cpu_s = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                            static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
  const double machine = m.machine_energy_j[Component::cpu];
  const double share = m.energy_j[Component::cpu] / machine;
  const double expected_share = tree_cpu_s / busy_s;
  EXPECT_NEAR(machine, 200.0, 10.0);
  EXPECT_GT(tree_cpu_s, 0.3);
  EXPECT_NEAR(share, expected_share, 0.12) << "tree " << tree_cpu_s << " s of " << busy_s << " s busy";
}

}  // namespace
}  // namespace carbonmeter
