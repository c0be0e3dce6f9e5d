// Sharing the host's energy among VMs: the arithmetic, and that no joule is lost or counted twice.
#include "vmexport/energy_split.hpp"

#include <gtest/gtest.h>

namespace carbonmeter::vmexport {
namespace {

constexpr std::uint64_t kGiB = 1024ull * 1024 * 1024;

// Every joule given goes to a VM, to the host, or is pending.
void expect_conserved(const Split& split, double given_cpu_j, double given_ram_j, double pending_cpu_before_j,
                      double pending_ram_before_j) {
  double cpu = split.host_cpu_j + split.pending_cpu_j, ram = split.host_ram_j + split.pending_ram_j;
  for (const VmShare& vm : split.vms) {
    cpu += vm.cpu_j;
    ram += vm.ram_j;
  }
  EXPECT_NEAR(cpu, given_cpu_j + pending_cpu_before_j, 1e-9);
  EXPECT_NEAR(ram, given_ram_j + pending_ram_before_j, 1e-9);
}

TEST(VmExportShares, ByCpuTimeOverBusyTimeAndResidentMemoryOverUsed) {
  EnergySplitter splitter;
  const Split split = splitter.split({100.0, 20.0, 5.0, 32 * kGiB}, {{1, 3.0, 8 * kGiB}, {2, 1.0, 4 * kGiB}});
  ASSERT_EQ(split.vms.size(), 2u);
  EXPECT_DOUBLE_EQ(split.vms[0].cpu_share, 0.6);
  EXPECT_DOUBLE_EQ(split.vms[0].cpu_j, 60.0);
  EXPECT_DOUBLE_EQ(split.vms[1].cpu_j, 20.0);
  EXPECT_DOUBLE_EQ(split.host_cpu_j, 20.0);  // the host's own work: 1 s of the 5 busy
  EXPECT_DOUBLE_EQ(split.vms[0].ram_share, 0.25);
  EXPECT_DOUBLE_EQ(split.vms[0].ram_j, 5.0);
  EXPECT_DOUBLE_EQ(split.vms[1].ram_j, 2.5);
  EXPECT_DOUBLE_EQ(split.host_ram_j, 12.5);
  expect_conserved(split, 100.0, 20.0, 0.0, 0.0);
}

TEST(VmExportShares, IdlePowerGoesToTheWorkThatRan) {
  // One VM alone on an otherwise idle host is charged the whole package, idle floor included.
  EnergySplitter splitter;
  const Split split = splitter.split({50.0, 0.0, 0.5, 8 * kGiB}, {{1, 0.5, 0}});
  EXPECT_DOUBLE_EQ(split.vms[0].cpu_j, 50.0);
  EXPECT_DOUBLE_EQ(split.host_cpu_j, 0.0);
}

TEST(VmExportShares, EnergyWithoutBusyTimeWaitsForTheNextShares) {
  EnergySplitter splitter;
  // Nothing ran (or /proc/stat could not be read): the energy waits...
  Split first = splitter.split({40.0, 0.0, 0.0, 8 * kGiB}, {{1, 0.0, 0}, {2, 0.0, 0}});
  EXPECT_DOUBLE_EQ(first.pending_cpu_j, 40.0);
  EXPECT_DOUBLE_EQ(first.vms[0].cpu_j + first.vms[1].cpu_j + first.host_cpu_j, 0.0);
  Split second = splitter.split({10.0, 0.0, std::nullopt, 8 * kGiB}, {{1, 0.0, 0}, {2, 0.0, 0}});
  EXPECT_DOUBLE_EQ(second.pending_cpu_j, 50.0);
  // ... and is shared by the next interval's CPU times.
  Split third = splitter.split({50.0, 0.0, 2.0, 8 * kGiB}, {{1, 1.5, 0}, {2, 0.5, 0}});
  EXPECT_DOUBLE_EQ(third.vms[0].cpu_j, 75.0);
  EXPECT_DOUBLE_EQ(third.vms[1].cpu_j, 25.0);
  EXPECT_DOUBLE_EQ(third.pending_cpu_j, 0.0);
  expect_conserved(third, 50.0, 0.0, 50.0, 0.0);
}

TEST(VmExportShares, CpuTimeBeyondBusyTimeWaitsInsteadOfGoingOver100Percent) {
  EnergySplitter splitter;
  // A lump of ticks: 3 s of VM time against 2 s busy. Shares are scaled to 1, the excess waits.
  Split first = splitter.split({20.0, 0.0, 2.0, 8 * kGiB}, {{1, 2.0, 0}, {2, 1.0, 0}});
  EXPECT_NEAR(first.vms[0].cpu_j + first.vms[1].cpu_j, 20.0, 1e-12);
  EXPECT_NEAR(first.vms[0].cpu_j, 20.0 * 2.0 / 3.0, 1e-12);
  EXPECT_NEAR(first.host_cpu_j, 0.0, 1e-12);
  // Next interval the VMs ran nothing new, but their waiting 1 s (2/3 and 1/3) is matched.
  Split second = splitter.split({20.0, 0.0, 2.0, 8 * kGiB}, {{1, 0.0, 0}, {2, 0.0, 0}});
  EXPECT_NEAR(second.vms[0].cpu_j, 20.0 * (2.0 / 3.0) / 2.0, 1e-12);
  EXPECT_NEAR(second.vms[1].cpu_j, 20.0 * (1.0 / 3.0) / 2.0, 1e-12);
  EXPECT_NEAR(second.host_cpu_j, 10.0, 1e-12);
  expect_conserved(second, 20.0, 0.0, 0.0, 0.0);
}

TEST(VmExportShares, MemorySharesNeverExceedTheWhole) {
  EnergySplitter splitter;
  // Shared pages counted in each VM: resident memory adds up to more than memory in use.
  const Split split = splitter.split({0.0, 30.0, 1.0, 10 * kGiB}, {{1, 0.0, 10 * kGiB}, {2, 0.0, 5 * kGiB}});
  EXPECT_NEAR(split.vms[0].ram_j, 20.0, 1e-12);
  EXPECT_NEAR(split.vms[1].ram_j, 10.0, 1e-12);
  EXPECT_NEAR(split.host_ram_j, 0.0, 1e-12);
  // Memory in use unknown: RAM energy waits for it.
  Split unknown = splitter.split({0.0, 30.0, 1.0, std::nullopt}, {{1, 0.0, kGiB}});
  EXPECT_DOUBLE_EQ(unknown.pending_ram_j, 30.0);
  Split known = splitter.split({0.0, 10.0, 1.0, 4 * kGiB}, {{1, 0.0, kGiB}});
  EXPECT_DOUBLE_EQ(known.vms[0].ram_j, 10.0);
  EXPECT_DOUBLE_EQ(known.host_ram_j, 30.0);
}

TEST(VmExportShares, WithNoVmTheEnergyIsTheHostsAtOnce) {
  EnergySplitter splitter;
  // Idle host, no VM: nothing waits for a VM that starts later.
  Split none = splitter.split({30.0, 6.0, 0.0, 8 * kGiB}, {});
  EXPECT_DOUBLE_EQ(none.host_cpu_j, 30.0);
  EXPECT_DOUBLE_EQ(none.host_ram_j, 6.0);
  EXPECT_DOUBLE_EQ(none.pending_cpu_j, 0.0);
  Split later = splitter.split({10.0, 0.0, 1.0, 8 * kGiB}, {{1, 1.0, 0}});
  EXPECT_DOUBLE_EQ(later.vms[0].cpu_j, 10.0);
}

TEST(VmExportShares, AStoppedVmsWaitingTimeIsDropped) {
  EnergySplitter splitter;
  (void)splitter.split({10.0, 0.0, 1.0, 8 * kGiB}, {{1, 3.0, 0}, {2, 0.0, 0}});  // 2 s waits for VM 1
  splitter.forget(1);
  Split after = splitter.split({10.0, 0.0, 1.0, 8 * kGiB}, {{2, 0.5, 0}});
  EXPECT_DOUBLE_EQ(after.vms[0].cpu_j, 5.0);
  EXPECT_DOUBLE_EQ(after.host_cpu_j, 5.0);
}

TEST(VmExportShares, LongRandomRunLosesNothing) {
  EnergySplitter splitter;
  double given_cpu = 0, given_ram = 0, out_cpu = 0, out_ram = 0, pending_cpu = 0, pending_ram = 0;
  unsigned state = 12345;
  auto next = [&](double scale) {
    state = state * 1103515245u + 12345u;
    return scale * static_cast<double>((state >> 8) % 1000) / 1000.0;
  };
  for (int i = 0; i < 2000; ++i) {
    HostInterval host{next(100), next(10), i % 7 == 0 ? std::nullopt : std::optional<double>(next(4)),
                      i % 11 == 0 ? std::nullopt : std::optional<std::uint64_t>(8 * kGiB)};
    std::vector<VmUsage> vms = {{1, next(3), static_cast<std::uint64_t>(next(4) * kGiB)},
                                {2, next(3), static_cast<std::uint64_t>(next(6) * kGiB)}};
    Split split = splitter.split(host, vms);
    given_cpu += host.cpu_j;
    given_ram += host.ram_j;
    out_cpu += split.host_cpu_j;
    out_ram += split.host_ram_j;
    for (const VmShare& vm : split.vms) {
      out_cpu += vm.cpu_j;
      out_ram += vm.ram_j;
      EXPECT_GE(vm.cpu_j, 0.0);
      EXPECT_LE(vm.cpu_share, 1.0 + 1e-12);
    }
    pending_cpu = split.pending_cpu_j;
    pending_ram = split.pending_ram_j;
  }
  EXPECT_NEAR(out_cpu + pending_cpu, given_cpu, 1e-6);
  EXPECT_NEAR(out_ram + pending_ram, given_ram, 1e-6);
}

}  // namespace
}  // namespace carbonmeter::vmexport
