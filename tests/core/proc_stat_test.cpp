#include "core/proc_stat.hpp"

#include <gtest/gtest.h>

#include "core/process_tree.hpp"

namespace carbonmeter {
namespace {

TEST(ProcStat, BusyAndIdleFromTheCpuLine) {
  auto cpu = parse_proc_stat("cpu  100 20 30 400 50 6 4 7 0 0\ncpu0 1 2 3 4\n");
  ASSERT_TRUE(cpu.ok());
  const double ticks = clock_ticks_per_second();
  EXPECT_DOUBLE_EQ(cpu.value().busy_s, (100 + 20 + 30 + 6 + 4) / ticks);  // steal excluded
  EXPECT_DOUBLE_EQ(cpu.value().idle_s, (400 + 50) / ticks);
}

TEST(ProcStat, RejectsAFileThatIsNotProcStat) {
  EXPECT_FALSE(parse_proc_stat("hello").ok());
  EXPECT_FALSE(parse_proc_stat("cpu  1 x 3 4").ok());
}

TEST(ProcStat, MeminfoUsedIsTotalMinusAvailable) {
  auto memory = parse_meminfo("MemTotal:  1000 kB\nMemFree: 10 kB\nMemAvailable:  400 kB\n");
  ASSERT_TRUE(memory.ok());
  EXPECT_EQ(memory.value().used_bytes(), 600u * 1024);
}

TEST(ProcStat, MeminfoWithoutAvailableUsesFreeBuffersCached) {
  auto memory = parse_meminfo("MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 50 kB\nCached: 150 kB\n");
  ASSERT_TRUE(memory.ok());
  EXPECT_EQ(memory.value().available_bytes, 300u * 1024);
  EXPECT_FALSE(parse_meminfo("garbage").ok());
}

TEST(ProcStat, CpuinfoCountsSocketsAndThreads) {
  CpuInfo info = parse_cpuinfo(
      "processor\t: 0\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 85\nmodel name\t: Xeon X\n"
      "physical id\t: 0\n\nprocessor\t: 1\nphysical id\t: 1\nmodel name\t: Xeon X\n");
  EXPECT_EQ(info.logical_cpus, 2);
  EXPECT_EQ(info.sockets, 2);
  EXPECT_EQ(info.family, 6);
  EXPECT_EQ(info.model, 85);
  EXPECT_EQ(info.model_name, "Xeon X");
  EXPECT_EQ(info.vendor_id, "GenuineIntel");
}

TEST(ProcStat, PidStatWithSpacesAndParenthesesInTheName) {
  auto fields = parse_pid_stat(
      "42 (my (odd) name) S 7 42 42 0 -1 4194560 100 0 0 0 11 22 33 44 20 0 1 0 5555 1000000 250 "
      "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n");
  ASSERT_TRUE(fields.ok()) << fields.error().message;
  EXPECT_EQ(fields.value().pid, 42);
  EXPECT_EQ(fields.value().ppid, 7);
  EXPECT_EQ(fields.value().cpu_ticks, 11u + 22 + 33 + 44);
  EXPECT_EQ(fields.value().start_ticks, 5555u);
  EXPECT_EQ(fields.value().rss_pages, 250u);
  EXPECT_FALSE(parse_pid_stat("42 (x) S 1 2").ok());
}

}  // namespace
}  // namespace carbonmeter
