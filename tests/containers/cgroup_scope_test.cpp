// --cgroup PATH as a scope: the cgroup files (v2 and v1), finding a cgroup by its path in the
// mounted hierarchies, and the tracker's exact shares of counted energy by the cgroup's CPU time
// and memory.
#include "core/cgroup_scope.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "carbonmeter/tracker.hpp"
#include "core/cgroup_files.hpp"
#include "support/fake_root.hpp"

namespace carbonmeter {
namespace {

using testing::FakeRoot;
using ::testing::HasSubstr;

constexpr std::uint64_t kGiB = 1024ull * 1024 * 1024;

void write_v2_cgroup(const std::string& folder, std::uint64_t usage_usec, std::uint64_t anon_bytes) {
  testing::write_file(folder + "/cpu.stat",
                      "usage_usec " + std::to_string(usage_usec) + "\nuser_usec 0\nsystem_usec 0\n");
  testing::write_file(folder + "/memory.stat",
                      "anon " + std::to_string(anon_bytes) + "\nfile 4096\nfile_mapped 0\nshmem 0\n");
  testing::write_file(folder + "/cgroup.procs", "");
}

TEST(CgroupFiles, MountsAndOwnPathsAreParsed) {
  const std::string mountinfo =
      "25 30 0:22 / /sys/fs/cgroup rw,nosuid - tmpfs tmpfs ro\n"
      "26 25 0:23 / /sys/fs/cgroup/unified rw,nosuid - cgroup2 cgroup2 rw\n"
      "27 25 0:24 /docker/abc /sys/fs/cgroup/cpu,cpuacct rw,nosuid - cgroup cgroup rw,cpu,cpuacct\n"
      "28 25 0:25 / /sys/fs/cgroup/memory rw,nosuid - cgroup cgroup rw,memory\n";
  const CgroupMounts mounts = parse_cgroup_mounts(mountinfo);
  EXPECT_EQ(mounts.v2, "/sys/fs/cgroup/unified");
  EXPECT_EQ(mounts.cpuacct, "/sys/fs/cgroup/cpu,cpuacct");
  EXPECT_EQ(mounts.cpuacct_root, "/docker/abc");
  EXPECT_EQ(mounts.memory, "/sys/fs/cgroup/memory");

  const std::string cgroups = "12:memory:/docker/abc\n3:cpu,cpuacct:/docker/abc/sub\n0::/init.scope\n";
  EXPECT_EQ(cgroup_path_of(cgroups, ""), "/init.scope");
  EXPECT_EQ(cgroup_path_of(cgroups, "cpuacct"), "/docker/abc/sub");
  EXPECT_EQ(cgroup_path_of(cgroups, "pids"), "");
  // A mount whose root is the container's own cgroup (a cgroup namespace, or a bind mount).
  EXPECT_EQ(cgroup_folder(mounts.cpuacct, mounts.cpuacct_root, "/docker/abc/sub"),
            "/sys/fs/cgroup/cpu,cpuacct/sub");
  EXPECT_EQ(cgroup_folder(mounts.cpuacct, mounts.cpuacct_root, "/docker/abc"), "/sys/fs/cgroup/cpu,cpuacct");
  EXPECT_EQ(cgroup_folder("/sys/fs/cgroup", "/", "/"), "/sys/fs/cgroup");
  EXPECT_EQ(cgroup_stat_field("usage_usec 42\nuser_usec 7\n", "user_usec"), 7u);
  EXPECT_EQ(cgroup_stat_field("usage_usec_x 42\n", "usage_usec"), std::nullopt);
}

TEST(CgroupFiles, ReadsV2AndV1Usage) {
  FakeRoot root("");
  const std::string v2 = root.path() + "/cg2/app.slice";
  write_v2_cgroup(v2, 2'500'000, 3 * kGiB);
  testing::write_file(v2 + "/cgroup.procs", "12\n34\n");
  testing::write_file(v2 + "/child/cgroup.procs", "56\n");
  auto reader = CgroupReader::open(v2, true);
  ASSERT_TRUE(reader.ok()) << reader.error().message;
  auto usage = reader.value().read();
  ASSERT_TRUE(usage.ok());
  EXPECT_DOUBLE_EQ(usage.value().cpu_s, 2.5);
  EXPECT_EQ(usage.value().rss_bytes, 3 * kGiB);
  EXPECT_THAT(reader.value().pids(), ::testing::UnorderedElementsAre(12, 34, 56));
  EXPECT_EQ(reader.value().description(), "cgroup v2 (cpu.stat, memory.stat)");

  const std::string cpu = root.path() + "/cpuacct/job", memory = root.path() + "/memory/job";
  testing::write_file(cpu + "/cpuacct.usage", "1500000000\n");
  testing::write_file(memory + "/memory.stat", "rss 1\ntotal_rss 2048\ntotal_mapped_file 1024\n");
  auto v1 = CgroupReader::open(cpu, false, memory);
  ASSERT_TRUE(v1.ok()) << v1.error().message;
  EXPECT_DOUBLE_EQ(v1.value().read().value().cpu_s, 1.5);
  EXPECT_EQ(v1.value().read().value().rss_bytes, 3072u);

  auto missing = CgroupReader::open(root.path() + "/nowhere", true);
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.error().message, HasSubstr("nowhere/cpu.stat"));
}

TEST(CgroupScope, FindsACgroupByItsPathInTheMountedHierarchies) {
  FakeRoot root("");
  root.write("proc/self/mountinfo", "26 25 0:23 / " + root.path() + "/cg2 rw - cgroup2 cgroup2 rw\n");
  root.write("proc/self/cgroup", "0::/user.slice/me.scope\n");
  write_v2_cgroup(root.path() + "/cg2/system.slice/docker-1.scope", 1, 1);
  write_v2_cgroup(root.path() + "/cg2/user.slice/me.scope", 1, 1);

  auto by_path = open_cgroup("/system.slice/docker-1.scope");
  ASSERT_TRUE(by_path.ok()) << by_path.error().message;
  EXPECT_EQ(by_path.value().cpu_folder(), root.path() + "/cg2/system.slice/docker-1.scope");
  auto by_folder = open_cgroup(root.path() + "/cg2/system.slice/docker-1.scope");
  ASSERT_TRUE(by_folder.ok());
  auto own = open_cgroup("self");
  ASSERT_TRUE(own.ok()) << own.error().message;
  EXPECT_EQ(own.value().cpu_folder(), root.path() + "/cg2/user.slice/me.scope");

  auto unknown = open_cgroup("/system.slice/nothing.scope");
  ASSERT_FALSE(unknown.ok());
  EXPECT_THAT(unknown.error().message,
              HasSubstr("no cgroup /system.slice/nothing.scope in " + root.path() + "/cg2"));
  EXPECT_FALSE(open_cgroup("").ok());
}

TEST(CgroupScope, V1IsPreferredWhereItsCpuacctIsMounted) {
  FakeRoot root("");
  root.write("proc/self/mountinfo", "26 25 0:23 / " + root.path() +
                                        "/unified rw - cgroup2 cgroup2 rw\n"
                                        "27 25 0:24 / " +
                                        root.path() + "/cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n" +
                                        "28 25 0:25 / " + root.path() +
                                        "/memory rw - cgroup cgroup rw,memory\n");
  root.write("proc/self/cgroup", "4:memory:/slurm/job_7\n2:cpu,cpuacct:/slurm/job_7\n0::/\n");
  write_v2_cgroup(root.path() + "/unified", 1, 1);
  testing::write_file(root.path() + "/cpuacct/slurm/job_7/cpuacct.usage", "1000\n");
  testing::write_file(root.path() + "/memory/slurm/job_7/memory.stat", "total_rss 10\ntotal_mapped_file 0\n");
  auto own = open_cgroup("self");
  ASSERT_TRUE(own.ok()) << own.error().message;
  EXPECT_EQ(own.value().cpu_folder(), root.path() + "/cpuacct/slurm/job_7");
  EXPECT_EQ(own.value().description(), "cgroup v1 (cpuacct, memory)");
  auto job = open_cgroup("/slurm/job_7");
  ASSERT_TRUE(job.ok()) << job.error().message;
  EXPECT_EQ(job.value().read().value().rss_bytes, 10u);
}

class CgroupTrackerTest : public ::testing::Test {
 protected:
  FakeRoot root_{"intel_server_1s"};
  std::string cgroup_ = root_.path() + "/cg2/system.slice/docker-1.scope";

  void SetUp() override {
    write_v2_cgroup(cgroup_, 7'000'000, 0);  // time before the run is not the run's
    root_.set_cpu_ticks(1000, 8000);
    root_.set_memory_kb(8 * 1024 * 1024, 4 * 1024 * 1024);  // 4 GiB in use
  }
  TrackerOptions options() const {
    TrackerOptions out;
    out.scope = Scope::cgroup;
    out.cgroup_path = cgroup_;
    out.interval_s = 3600;
    return out;
  }
};

TEST_F(CgroupTrackerTest, SharesTheMachinesEnergyByCpuTimeAndMemory) {
  Tracker tracker(options());
  ASSERT_TRUE(tracker.start().ok());
  // 4 s of busy CPU on the machine, 1 s of it in the cgroup; 1 GiB of the 4 GiB in use.
  root_.set_cpu_ticks(1000 + 400, 8000 + 100);
  write_v2_cgroup(cgroup_, 8'000'000, kGiB);
  root_.set_energy_uj("intel-rapl:0", 100'000'000 + 100'000'000);
  root_.set_energy_uj("intel-rapl:0:2", 20'000'000 + 40'000'000);
  Measurement m = tracker.stop();
  EXPECT_NEAR(m.energy_j[Component::cpu], 25.0, 1e-9);
  EXPECT_NEAR(m.energy_j[Component::ram], 10.0, 1e-9);
  EXPECT_DOUBLE_EQ(m.machine_energy_j[Component::cpu], 100.0);
  auto report = nlohmann::json::parse(tracker.report_json());
  EXPECT_EQ(report["scope"], "cgroup");
  EXPECT_EQ(report["cgroup"], cgroup_);
  EXPECT_THAT(report["process_tree"].get<std::string>(), HasSubstr("cgroup v2 (cpu.stat, memory.stat)"));
  // Attribution adds its own uncertainty, as in process scope.
  EXPECT_GT(report["uncertainty"]["cpu"]["relative"].get<double>(), 0.05);
}

TEST_F(CgroupTrackerTest, ACgroupThatGoesAwayKeepsWhatItHadAndSaysSo) {
  Tracker tracker(options());
  ASSERT_TRUE(tracker.start().ok());
  root_.set_cpu_ticks(1000 + 200, 8000);
  write_v2_cgroup(cgroup_, 9'000'000, 0);
  root_.set_energy_uj("intel-rapl:0", 100'000'000 + 50'000'000);
  Measurement first = tracker.current();
  EXPECT_NEAR(first.energy_j[Component::cpu], 50.0, 1e-9);  // all the busy time was the cgroup's
  // A removed cgroup's open files fail to read (ENODEV); a regular file left open would not, so the
  // fake's cpu.stat loses its usage line instead.
  testing::write_file(cgroup_ + "/cpu.stat", "gone\n");
  root_.set_cpu_ticks(1000 + 400, 8000);
  root_.set_energy_uj("intel-rapl:0", 100'000'000 + 150'000'000);
  Measurement end = tracker.stop();
  EXPECT_NEAR(end.energy_j[Component::cpu], 50.0, 1e-9);
  auto report = nlohmann::json::parse(tracker.report_json());
  EXPECT_THAT(report["notes"].dump(), HasSubstr("can no longer be read"));
}

TEST_F(CgroupTrackerTest, AMissingCgroupStopsTheStartWithItsPath) {
  TrackerOptions bad = options();
  bad.cgroup_path = root_.path() + "/no/such/cgroup";
  Tracker tracker(bad);
  Status started = tracker.start();
  ASSERT_FALSE(started.ok());
  EXPECT_THAT(started.error().message, HasSubstr("cannot measure cgroup " + bad.cgroup_path));
}

}  // namespace
}  // namespace carbonmeter
