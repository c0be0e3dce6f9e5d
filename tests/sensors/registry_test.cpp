#include "sensors/registry.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "sensors/rapl_msr.hpp"
#include "support/fake_root.hpp"

namespace carbonmeter {
namespace {

using testing::FakeRoot;
using ::testing::HasSubstr;

SensorSet probe(const std::string& domains = "") {
  auto set = probe_sensors({domains, false, ""});
  EXPECT_TRUE(set.ok()) << set.error().message;
  return std::move(set).value();
}

TEST(Registry, ServerUsesPowercapForCpuAndRam) {
  FakeRoot root("intel_server_1s");
  SensorSet set = probe();
  EXPECT_EQ(set.methods[Component::cpu].method, "rapl-powercap");
  EXPECT_EQ(set.methods[Component::ram].method, "rapl-powercap");
  EXPECT_EQ(set.methods[Component::cpu].kind, "measured counter");
  EXPECT_EQ(set.methods[Component::gpu].method, "none");
  EXPECT_EQ(set.sensors.size(), 1u);
  ASSERT_EQ(set.notes.size(), 1u);  // no GPU library here: one line says so
  EXPECT_THAT(set.notes[0], HasSubstr("GPU energy: none"));
}

TEST(Registry, VirtualMachineFallsBackVisiblyToEstimates) {
  FakeRoot root("vm_no_rapl");
  SensorSet set = probe();
  EXPECT_EQ(set.methods[Component::cpu].method, "cpu-estimate");
  EXPECT_EQ(set.methods[Component::cpu].kind, "estimate");
  EXPECT_GT(set.methods[Component::cpu].relative_uncertainty, 0.0);
  EXPECT_EQ(set.methods[Component::ram].method, "ram-estimate");
  ASSERT_FALSE(set.notes.empty());
  EXPECT_THAT(set.notes[0], HasSubstr("ESTIMATE"));
}

TEST(Registry, LaptopWithoutDramEstimatesRamAndPsysIncludesIt) {
  FakeRoot root("intel_laptop_psys");
  SensorSet by_default = probe();
  EXPECT_EQ(by_default.methods[Component::cpu].method, "rapl-powercap");
  EXPECT_EQ(by_default.methods[Component::ram].method, "ram-estimate");
  SensorSet psys = probe("psys");
  EXPECT_EQ(psys.methods[Component::cpu].method, "rapl-powercap");
  EXPECT_EQ(psys.methods[Component::ram].method, "included-in-psys");
}

TEST(Registry, UnreadablePowercapFallsBackToMsrWithANote) {
  FakeRoot root("intel_server_1s");
  std::filesystem::remove_all(root.sys("class/powercap"));
  std::filesystem::create_directories(root.sys("class/powercap"));
  root.set_msr(0, msr::kIntelPowerUnit, 0xA0E03);
  root.set_msr(0, msr::kIntelPackageEnergy, 5);
  root.set_msr(0, msr::kIntelDramEnergy, 5);
  SensorSet set = probe();
  EXPECT_EQ(set.methods[Component::cpu].method, "rapl-msr");
  EXPECT_EQ(set.methods[Component::ram].method, "rapl-msr");
  ASSERT_FALSE(set.notes.empty());
  EXPECT_THAT(set.notes[0], HasSubstr("through MSRs"));
}

TEST(Registry, PartlyUnreadableSensorIsNamedInANote) {
  FakeRoot root("intel_server_2s");
  std::filesystem::remove(root.zone("intel-rapl:1") + "/energy_uj");  // socket 1's package
  SensorSet set = probe();
  EXPECT_EQ(set.methods[Component::cpu].method, "rapl-powercap");
  ASSERT_FALSE(set.notes.empty());
  EXPECT_THAT(set.notes[0], HasSubstr("leave out"));
  EXPECT_THAT(set.notes[0], HasSubstr("intel-rapl:1/energy_uj"));
}

TEST(Registry, MissingDataFolderSaysCpuIsNotMeasured) {
  FakeRoot root("vm_no_rapl");
  ::setenv("CARBONMETER_DATA_DIR", (root.path() + "/no-data").c_str(), 1);
  SensorSet set = probe();
  ::unsetenv("CARBONMETER_DATA_DIR");
  EXPECT_EQ(set.methods[Component::cpu].method, "none");
  EXPECT_THAT(set.notes, ::testing::Contains(
                             ::testing::AllOf(HasSubstr("NOT measured"), HasSubstr("CARBONMETER_DATA_DIR"))));
}

TEST(Registry, BadDomainListIsAnError) {
  FakeRoot root("intel_server_1s");
  EXPECT_FALSE(probe_sensors({"psys,package", false, ""}).ok());
}

TEST(Registry, ProbeAllListsEverySensor) {
  FakeRoot root("intel_server_1s");
  auto set = probe_sensors({"", true, ""});
  ASSERT_TRUE(set.ok());
  std::vector<std::string> methods;
  for (const SensorStatus& status : set.value().statuses) methods.push_back(status.method);
  EXPECT_THAT(methods,
              ::testing::IsSupersetOf({"rapl-powercap", "rapl-msr", "cpu-estimate", "ram-estimate"}));
  EXPECT_EQ(set.value().methods[Component::cpu].method, "rapl-powercap");
}

}  // namespace
}  // namespace carbonmeter
