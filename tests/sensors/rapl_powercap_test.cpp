#include "sensors/rapl_powercap.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include "sensors/sensor_test_util.hpp"
#include "support/fake_root.hpp"

namespace carbonmeter {
namespace {

using testing::channel_names;
using ::testing::ElementsAre;
using testing::FakeRoot;
using ::testing::HasSubstr;
using testing::read_channels;

RaplDomains domains(const std::string& list) { return parse_rapl_domains(list).value(); }

TEST(RaplPowercap, OneSocketServerCountsPackageAndDramOnly) {
  FakeRoot root("intel_server_1s");
  ProbeOutcome probe = probe_rapl_powercap(domains(""));
  ASSERT_TRUE(probe.sensor) << probe.status.detail;
  // core/uncore are inside package, psys contains it, mmio duplicates it: none is counted.
  EXPECT_THAT(channel_names(*probe.sensor), ElementsAre("package-0/dram", "package-0/package"));
  EXPECT_EQ(probe.sensor->channels()[0].component, Component::ram);
  EXPECT_EQ(probe.sensor->channels()[1].component, Component::cpu);
}

TEST(RaplPowercap, TwoSocketServerCountsBothSockets) {
  FakeRoot root("intel_server_2s");
  ProbeOutcome probe = probe_rapl_powercap(domains(""));
  ASSERT_TRUE(probe.sensor);
  EXPECT_THAT(channel_names(*probe.sensor),
              ElementsAre("package-0/dram", "package-0/package", "package-1/dram", "package-1/package"));
}

TEST(RaplPowercap, DrivenAtKnownPowerGivesExactEnergy) {
  FakeRoot root("intel_server_2s");
  ProbeOutcome probe = probe_rapl_powercap(domains(""));
  ASSERT_TRUE(probe.sensor);
  read_channels(*probe.sensor, 0.0);  // baseline
  // 2 s at 150 W and 80 W for the packages, 12 W and 9 W for dram.
  root.set_energy_uj("intel-rapl:0", 100'000'000 + 300'000'000);
  root.set_energy_uj("intel-rapl:1", 200'000'000 + 160'000'000);
  root.set_energy_uj("intel-rapl:0:2", 20'000'000 + 24'000'000);
  root.set_energy_uj("intel-rapl:1:2", 20'000'000 + 18'000'000);
  // The mmio duplicate and psys move too, and must not be counted.
  root.set_energy_uj("intel-rapl-mmio:0", 999'000'000);
  root.set_energy_uj("intel-rapl:2", 999'000'000'000);
  auto energy = read_channels(*probe.sensor, 2.0);
  EXPECT_DOUBLE_EQ(energy["package-0/package"], 300.0);
  EXPECT_DOUBLE_EQ(energy["package-1/package"], 160.0);
  EXPECT_DOUBLE_EQ(energy["package-0/dram"], 24.0);
  EXPECT_DOUBLE_EQ(energy["package-1/dram"], 18.0);
}

TEST(RaplPowercap, LaptopPsysOnRequestAndNeverWithPackage) {
  FakeRoot root("intel_laptop_psys");
  ProbeOutcome by_default = probe_rapl_powercap(domains(""));
  ASSERT_TRUE(by_default.sensor);
  EXPECT_THAT(channel_names(*by_default.sensor), ElementsAre("package-0/package"));
  ProbeOutcome psys = probe_rapl_powercap(domains("psys"));
  ASSERT_TRUE(psys.sensor);
  EXPECT_THAT(channel_names(*psys.sensor), ElementsAre("psys/psys"));
  EXPECT_FALSE(parse_rapl_domains("psys,package").ok());
  EXPECT_FALSE(parse_rapl_domains("psys,dram").ok());  // psys holds memory on the chips that have it
  EXPECT_FALSE(parse_rapl_domains("package,core").ok());
  EXPECT_THAT(parse_rapl_domains("bogus").error().message, HasSubstr("unknown RAPL domain"));
}

TEST(RaplPowercap, CoreAndUncoreWhenAskedInsteadOfPackage) {
  FakeRoot root("intel_laptop_psys");
  ProbeOutcome probe = probe_rapl_powercap(domains("core,uncore"));
  ASSERT_TRUE(probe.sensor);
  EXPECT_THAT(channel_names(*probe.sensor), ElementsAre("package-0/core", "package-0/uncore"));
}

TEST(RaplPowercap, AmdEpycHasPackagesOnly) {
  FakeRoot root("amd_epyc");
  ProbeOutcome probe = probe_rapl_powercap(domains(""));
  ASSERT_TRUE(probe.sensor);
  EXPECT_THAT(channel_names(*probe.sensor), ElementsAre("package-0/package", "package-1/package"));
}

TEST(RaplPowercap, MmioZoneIsUsedWhenItIsTheOnlyOne) {
  FakeRoot root("");
  testing::write_file(root.zone("intel-rapl-mmio:0") + "/name", "package-0\n");
  root.set_energy_uj("intel-rapl-mmio:0", 5);
  root.set_max_range_uj("intel-rapl-mmio:0", 262143328850);
  ProbeOutcome probe = probe_rapl_powercap(domains(""));
  ASSERT_TRUE(probe.sensor);
  EXPECT_THAT(channel_names(*probe.sensor), ElementsAre("package-0/package"));
}

TEST(RaplPowercap, CounterThatWrapsTwiceDuringARun) {
  FakeRoot root("intel_server_1s");
  root.set_max_range_uj("intel-rapl:0", 999'999'999);  // wraps every 1000 J
  root.set_energy_uj("intel-rapl:0", 0);
  ProbeOutcome probe = probe_rapl_powercap(domains("package"));
  ASSERT_TRUE(probe.sensor);
  read_channels(*probe.sensor, 0.0);
  // 200 W for 10 s, sampled every second: 2000 J, two full wraps.
  double total = 0.0;
  std::uint64_t counter_uj = 0;
  for (int second = 1; second <= 10; ++second) {
    counter_uj = (counter_uj + 200'000'000) % 1'000'000'000;
    root.set_energy_uj("intel-rapl:0", counter_uj);
    total += read_channels(*probe.sensor, 1.0)["package-0/package"];
  }
  EXPECT_DOUBLE_EQ(total, 2000.0);
  EXPECT_LE(probe.sensor->max_interval_s(), 0.5);  // 1000 J at up to 1000 W: sample twice a second
}

TEST(RaplPowercap, CounterResetIsNotANegativeDeltaAndIsReported) {
  FakeRoot root("intel_server_1s");
  root.set_energy_uj("intel-rapl:0", 200'000'000'000);
  ProbeOutcome probe = probe_rapl_powercap(domains("package"));
  ASSERT_TRUE(probe.sensor);
  read_channels(*probe.sensor, 0.0);
  root.set_energy_uj("intel-rapl:0", 50'000'000);  // driver reloaded: restarted from 0, 50 J since
  EXPECT_DOUBLE_EQ(read_channels(*probe.sensor, 1.0)["package-0/package"], 50.0);
  root.set_energy_uj("intel-rapl:0", 150'000'000);
  EXPECT_DOUBLE_EQ(read_channels(*probe.sensor, 1.0)["package-0/package"], 100.0);
  auto notes = probe.sensor->take_notes();
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_THAT(notes[0], HasSubstr("reset"));
}

// A counter that resets every interval for days must not add a note per reset.
TEST(RaplPowercap, ACounterThatResetsOftenIsSaidAtPowersOfTen) {
  FakeRoot root("intel_server_1s");
  root.set_energy_uj("intel-rapl:0", 10'000'000);
  ProbeOutcome probe = probe_rapl_powercap(domains("package"));
  ASSERT_TRUE(probe.sensor);
  read_channels(*probe.sensor, 0.0);
  double total = 0.0;
  std::vector<std::string> notes;
  for (int cycle = 0; cycle < 150; ++cycle) {
    root.set_energy_uj("intel-rapl:0", 110'000'000);  // +100 J
    total += read_channels(*probe.sensor, 1.0)["package-0/package"];
    root.set_energy_uj("intel-rapl:0", 10'000'000);  // reset: 10 J since
    total += read_channels(*probe.sensor, 1.0)["package-0/package"];
    for (std::string& note : probe.sensor->take_notes()) notes.push_back(std::move(note));
  }
  EXPECT_DOUBLE_EQ(total, 150 * 110.0);
  ASSERT_EQ(notes.size(), 3u);
  EXPECT_THAT(notes[0], HasSubstr("went back (reset, not a wrap): "));
  EXPECT_THAT(notes[1], HasSubstr("(10 times so far)"));
  EXPECT_THAT(notes[2], HasSubstr("(100 times so far)"));
}

TEST(RaplPowercap, GarbageReadingsAreNotCounted) {
  FakeRoot root("intel_server_1s");
  ProbeOutcome probe = probe_rapl_powercap(domains("package"));
  ASSERT_TRUE(probe.sensor);
  read_channels(*probe.sensor, 0.0);
  root.set_energy_uj("intel-rapl:0", 99'999'999'999'999);  // far beyond the range
  EXPECT_DOUBLE_EQ(read_channels(*probe.sensor, 1.0)["package-0/package"], 0.0);
  root.write("sys/class/powercap/intel-rapl:0/energy_uj", "not a number\n");
  EXPECT_DOUBLE_EQ(read_channels(*probe.sensor, 1.0)["package-0/package"], 0.0);
  auto notes = probe.sensor->take_notes();
  ASSERT_EQ(notes.size(), 2u);
  EXPECT_THAT(notes[0], HasSubstr("jumped"));
  EXPECT_THAT(notes[1], HasSubstr("expected an unsigned integer"));
}

TEST(RaplPowercap, AFifoInsteadOfACounterDoesNotHang) {
  FakeRoot root("intel_server_1s");
  const std::string path = root.zone("intel-rapl:0") + "/energy_uj";
  std::filesystem::remove(path);
  ASSERT_EQ(::mkfifo(path.c_str(), 0644), 0);
  ProbeOutcome probe = probe_rapl_powercap(domains("package"));
  ASSERT_TRUE(probe.sensor);  // the mmio duplicate of package-0 stands in
  EXPECT_THAT(probe.status.missing, HasSubstr("not a regular file"));
}

TEST(RaplPowercap, ImplausibleRangeFallsBackToThe32BitRange) {
  FakeRoot root("intel_server_1s");
  root.set_max_range_uj("intel-rapl:0", 1);
  ProbeOutcome probe = probe_rapl_powercap(domains("package"));
  ASSERT_TRUE(probe.sensor);
  EXPECT_GT(probe.sensor->max_interval_s(), 100.0);
}

TEST(RaplPowercap, NoZonesSaysWhyAndHowToFix) {
  FakeRoot root("vm_no_rapl");
  ProbeOutcome probe = probe_rapl_powercap(domains(""));
  EXPECT_FALSE(probe.sensor);
  EXPECT_FALSE(probe.status.found);
  EXPECT_THAT(probe.status.detail, HasSubstr("no intel-rapl zone"));
  EXPECT_THAT(probe.status.fix, HasSubstr("modprobe"));
}

// energy_uj is root-only on current kernels. Tests run as root in CI, where chmod does not stop
// reads: the probe then runs in a child that has dropped to user nobody.
TEST(RaplPowercap, UnreadableEnergyUjNamesTheFix) {
  FakeRoot root("intel_server_1s");
  for (const char* zone : {"intel-rapl:0", "intel-rapl:0:2", "intel-rapl-mmio:0"})
    ::chmod((root.zone(zone) + "/energy_uj").c_str(), 0400);
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(pipe_fds[0]);
    if (::geteuid() == 0 && (::setgid(65534) != 0 || ::setuid(65534) != 0)) ::_exit(3);
    ProbeOutcome probe = probe_rapl_powercap(parse_rapl_domains("").value());
    std::string report =
        std::string(probe.sensor ? "sensor" : "none") + "\n" + probe.status.detail + "\n" + probe.status.fix;
    (void)!::write(pipe_fds[1], report.data(), report.size());
    ::_exit(0);
  }
  ::close(pipe_fds[1]);
  std::string report;
  char buffer[4096];
  for (ssize_t n; (n = ::read(pipe_fds[0], buffer, sizeof buffer)) > 0;)
    report.append(buffer, static_cast<std::size_t>(n));
  ::close(pipe_fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "could not drop privileges";
  EXPECT_THAT(report, ::testing::StartsWith("none"));
  EXPECT_THAT(report, HasSubstr("Permission denied"));
  EXPECT_THAT(report, HasSubstr("udev rule"));
}

}  // namespace
}  // namespace carbonmeter
