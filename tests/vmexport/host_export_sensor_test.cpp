// The guest's side of a host export: the ordinary RAPL sensor reading a VM's folder of
// `carbonmeter vm-export`, with method host-export.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>

#include "sensors/rapl_powercap.hpp"
#include "sensors/registry.hpp"
#include "sensors/sensor_test_util.hpp"
#include "support/fake_root.hpp"
#include "vmexport/export_folder.hpp"

namespace carbonmeter {
namespace {

using testing::channel_names;
using ::testing::ElementsAre;
using testing::FakeRoot;
using ::testing::HasSubstr;
using testing::read_channels;

double now_unix_s() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

nlohmann::json marker(const std::string& ram_method = "rapl-powercap",
                      const std::string& ram_kind = "measured counter", double ram_uncertainty = 0.10) {
  return {
      {"format", kHostExportFormat},
      {"vm", {{"name", "web-1"}, {"pid", 1001}, {"start_ticks", 5000}, {"state", "running"}}},
      {"exporting", true},
      {"interval_s", 1.0},
      {"updated_unix_s", now_unix_s()},
      {"host",
       {{"cpu", {{"method", "rapl-powercap"}, {"kind", "measured counter"}, {"relative_uncertainty", 0.05}}},
        {"ram", {{"method", ram_method}, {"kind", ram_kind}, {"relative_uncertainty", ram_uncertainty}}}}},
      {"attribution",
       {{"cpu", {{"relative_uncertainty", 0.05}}}, {"ram", {{"relative_uncertainty", 0.25}}}}}};
}

// A VM's folder as vm-export writes it, at the root of the fake sysfs (CARBONMETER_SYSFS_ROOT).
void write_vm_folder(const FakeRoot& root, const nlohmann::json& marker_json,
                     std::uint64_t cpu_uj = 1'000'000, std::uint64_t ram_uj = 500'000) {
  const std::string dir = root.sys("");
  ASSERT_TRUE(vmexport::write_zone_identity(dir + vmexport::kCpuZone, "package-0").ok());
  ASSERT_TRUE(vmexport::write_zone_identity(dir + vmexport::kRamZone, "dram").ok());
  ASSERT_TRUE(vmexport::ZoneCounter(cpu_uj).total_uj() == cpu_uj);
  ASSERT_TRUE(vmexport::write_zone_counter(dir + vmexport::kCpuZone, vmexport::ZoneCounter(cpu_uj)).ok());
  ASSERT_TRUE(vmexport::write_zone_counter(dir + vmexport::kRamZone, vmexport::ZoneCounter(ram_uj)).ok());
  ASSERT_TRUE(vmexport::write_file_atomically(dir + kHostExportMarkerFile, marker_json.dump()).ok());
}

RaplDomains default_domains() { return parse_rapl_domains("").value(); }

TEST(RaplPowercapHostExport, VmFolderIsReadWithMethodHostExport) {
  FakeRoot root("");
  write_vm_folder(root, marker());
  ProbeOutcome probe = probe_rapl_powercap(default_domains());
  ASSERT_TRUE(probe.sensor) << probe.status.detail;
  EXPECT_EQ(probe.status.method, "host-export");
  EXPECT_THAT(probe.status.detail, HasSubstr("VM 'web-1'"));
  EXPECT_EQ(probe.sensor->method(), "host-export");
  EXPECT_EQ(probe.sensor->kind(), "measured counter");
  // The subzone nested in its zone's folder is found, and belongs to package-0.
  EXPECT_THAT(channel_names(*probe.sensor), ElementsAre("package-0/dram", "package-0/package"));
  // The host's uncertainty combined with the attribution's.
  EXPECT_DOUBLE_EQ(probe.sensor->relative_uncertainty(Component::cpu), std::hypot(0.05, 0.05));
  EXPECT_DOUBLE_EQ(probe.sensor->relative_uncertainty(Component::ram), std::hypot(0.10, 0.25));
  ASSERT_EQ(probe.notes.size(), 1u);
  EXPECT_THAT(probe.notes[0], HasSubstr("share of its host's"));
}

TEST(RaplPowercapHostExport, CountersReplacedByRenameAreReadAfresh) {
  FakeRoot root("");
  write_vm_folder(root, marker());
  ProbeOutcome probe = probe_rapl_powercap(default_domains());
  ASSERT_TRUE(probe.sensor);
  read_channels(*probe.sensor, 0.0);  // baseline
  // vm-export replaces energy_uj (a new file renamed over the old): a file kept open would not see it.
  const std::string dir = root.sys("");
  vmexport::ZoneCounter cpu(1'000'000), ram(500'000);
  cpu.add(60.0);
  ram.add(5.0);
  ASSERT_TRUE(vmexport::write_zone_counter(dir + vmexport::kCpuZone, cpu).ok());
  ASSERT_TRUE(vmexport::write_zone_counter(dir + vmexport::kRamZone, ram).ok());
  auto energy = read_channels(*probe.sensor, 1.0);
  EXPECT_DOUBLE_EQ(energy["package-0/package"], 60.0);
  EXPECT_DOUBLE_EQ(energy["package-0/dram"], 5.0);
}

TEST(RaplPowercapHostExport, AHostIntervalsLumpIsNotTakenForAGlitch) {
  FakeRoot root("");
  nlohmann::json slow = marker();
  slow["interval_s"] = 60.0;  // the host writes once a minute; the guest samples every second
  write_vm_folder(root, slow);
  ProbeOutcome probe = probe_rapl_powercap(default_domains());
  ASSERT_TRUE(probe.sensor);
  read_channels(*probe.sensor, 0.0);
  vmexport::ZoneCounter cpu(1'000'000);
  cpu.add(9000.0);  // 150 W for 60 s, seen one second after the last read
  ASSERT_TRUE(vmexport::write_zone_counter(root.sys("") + vmexport::kCpuZone, cpu).ok());
  EXPECT_NEAR(read_channels(*probe.sensor, 1.0)["package-0/package"], 9000.0, 1e-6);
  EXPECT_TRUE(probe.sensor->take_notes().empty());
}

TEST(RaplPowercapHostExport, ExportedCounterWrapsLikeRapl) {
  FakeRoot root("");
  write_vm_folder(root, marker(), kHostExportRangeUj - 1'000'000);
  ProbeOutcome probe = probe_rapl_powercap(default_domains());
  ASSERT_TRUE(probe.sensor);
  read_channels(*probe.sensor, 0.0);
  vmexport::ZoneCounter cpu(kHostExportRangeUj - 1'000'000);
  cpu.add(3.0);  // through the top of the range
  EXPECT_EQ(cpu.counter_uj(), 1'999'999u);
  ASSERT_TRUE(vmexport::write_zone_counter(root.sys("") + vmexport::kCpuZone, cpu).ok());
  EXPECT_NEAR(read_channels(*probe.sensor, 1.0)["package-0/package"], 3.0, 1e-9);
  // A VM's share of a whole host may draw more than one socket's 1000 W.
  EXPECT_GT(probe.sensor->max_interval_s(), 10.0);
}

TEST(RaplPowercapHostExport, HostEstimateMakesTheKindAnEstimate) {
  FakeRoot root("");
  write_vm_folder(root, marker("ram-estimate", "estimate", 0.5));
  ProbeOutcome probe = probe_rapl_powercap(default_domains());
  ASSERT_TRUE(probe.sensor);
  EXPECT_EQ(probe.sensor->kind(), "estimate");
  EXPECT_DOUBLE_EQ(probe.sensor->relative_uncertainty(Component::ram), std::hypot(0.5, 0.25));
  EXPECT_THAT(probe.notes[0], HasSubstr("ram ram-estimate (estimate"));
}

TEST(RaplPowercapHostExport, ZonesWithoutTheMarkerAreNotAnExport) {
  FakeRoot root("");
  write_vm_folder(root, marker());
  std::remove((root.sys("") + kHostExportMarkerFile).c_str());
  ProbeOutcome probe = probe_rapl_powercap(default_domains());
  EXPECT_FALSE(probe.sensor);
  EXPECT_EQ(probe.status.method, "rapl-powercap");
  EXPECT_THAT(probe.status.fix, HasSubstr("vm-export"));
}

TEST(RaplPowercapHostExport, BrokenMarkerSaysWhatToFix) {
  FakeRoot root("");
  write_vm_folder(root, marker());
  testing::write_file(root.sys("") + kHostExportMarkerFile, "{not json");
  ProbeOutcome probe = probe_rapl_powercap(default_domains());
  EXPECT_FALSE(probe.sensor);
  EXPECT_EQ(probe.status.method, "host-export");
  EXPECT_THAT(probe.status.detail, HasSubstr("cannot be read as a host export"));
  EXPECT_THAT(probe.status.fix, HasSubstr("CARBONMETER_SYSFS_ROOT"));
}

TEST(RaplPowercapHostExport, StoppedOrStaleExportIsNoted) {
  FakeRoot root("");
  nlohmann::json stopped = marker();
  stopped["vm"]["state"] = "stopped";
  write_vm_folder(root, stopped);
  ProbeOutcome probe = probe_rapl_powercap(default_domains());
  ASSERT_TRUE(probe.sensor);
  ASSERT_EQ(probe.notes.size(), 2u);
  EXPECT_THAT(probe.notes[1], HasSubstr("as stopped"));

  nlohmann::json not_exporting = marker();
  not_exporting["exporting"] = false;
  write_vm_folder(root, not_exporting);
  EXPECT_THAT(probe_rapl_powercap(default_domains()).notes.back(), HasSubstr("no longer runs on the host"));

  nlohmann::json stale = marker();
  stale["updated_unix_s"] = now_unix_s() - 600;
  write_vm_folder(root, stale);
  EXPECT_THAT(probe_rapl_powercap(default_domains()).notes.back(), HasSubstr("last updated"));
}

TEST(RaplPowercapHostExport, RegistryChoosesHostExportForCpuAndRam) {
  FakeRoot root("");
  write_vm_folder(root, marker());
  auto set = probe_sensors({"", false, "-1"});
  ASSERT_TRUE(set.ok());
  EXPECT_EQ(set.value().methods[Component::cpu].method, "host-export");
  EXPECT_EQ(set.value().methods[Component::ram].method, "host-export");
  EXPECT_EQ(set.value().methods[Component::cpu].kind, "measured counter");
}

TEST(RaplPowercapHostExport, RealPowercapZonesComeFirst) {
  FakeRoot root("intel_server_1s");
  write_vm_folder(root, marker());  // a marker at the root of a sysfs that has its own RAPL
  ProbeOutcome probe = probe_rapl_powercap(default_domains());
  ASSERT_TRUE(probe.sensor);
  EXPECT_EQ(probe.sensor->method(), "rapl-powercap");
}

}  // namespace
}  // namespace carbonmeter
