#include "core/process_tree.hpp"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <thread>

#include "support/cpu_burner.hpp"
#include "support/fake_root.hpp"

namespace carbonmeter {
namespace {

bool is_zombie(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), {});
  auto close = text.rfind(')');
  return close != std::string::npos && close + 2 < text.size() && text[close + 2] == 'Z';
}

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// A real tree: a root that burns CPU and forks children (one of them too short-lived to be
// seen), all reaped inside the tree. The tree's CPU time must match what the kernel's rusage says.
TEST(ProcessTree, CountsTheWholeTreeIncludingShortLivedChildren) {
  pid_t root = testing::spawn_burner_tree(2, 0.8);
  ProcessTree tree(root, 0.05);
  ASSERT_TRUE(tree.start().ok());
  double cpu_s = 0.0;
  int processes_seen = 0;
  while (!is_zombie(root)) {
    ProcessTreeUsage usage = tree.sample(now_s());
    cpu_s = usage.cpu_s;
    processes_seen = std::max(processes_seen, usage.processes);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  cpu_s = tree.sample(now_s() + 1).cpu_s;
  int status = 0;
  rusage usage{};
  ASSERT_EQ(::wait4(root, &status, 0, &usage), root);
  const double kernel_cpu_s = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                              static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
  EXPECT_GE(processes_seen, 3);
  EXPECT_GT(kernel_cpu_s, 0.5);
  EXPECT_NEAR(cpu_s, kernel_cpu_s, 0.1 * kernel_cpu_s + 0.05);
}

// When the tracker reaps the root itself, the root's counted time is credited so that its
// rusage does not count it twice.
TEST(ProcessTree, ReapedByTheTrackerIsNotCountedTwice) {
  pid_t root = testing::spawn_burner(0.5);
  ProcessTree tree(root, 0.05, /*tracker_reaps=*/true);
  ASSERT_TRUE(tree.start().ok());
  while (!is_zombie(root)) {
    tree.sample(now_s());
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const double seen_s = tree.sample(now_s()).cpu_s;
  int status = 0;
  rusage usage{};
  ASSERT_EQ(::wait4(root, &status, 0, &usage), root);
  const double kernel_cpu_s = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                              static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
  const double after_departure_s = tree.sample(now_s()).cpu_s;  // gone, rusage not yet added
  tree.add_reaped(root, kernel_cpu_s);
  const double total_s = tree.sample(now_s()).cpu_s;
  EXPECT_NEAR(seen_s, kernel_cpu_s, 0.05);
  EXPECT_DOUBLE_EQ(after_departure_s, seen_s);  // never goes back
  EXPECT_NEAR(total_s, kernel_cpu_s, 0.05);
}

TEST(ProcessTree, TimeBeforeTheStartIsNotCounted) {
  pid_t root = testing::spawn_burner(0.6);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // burns before tracking starts
  ProcessTree tree(root, 0.05);
  ASSERT_TRUE(tree.start().ok());
  const double at_start = tree.sample(now_s()).cpu_s;
  EXPECT_LT(at_start, 0.05);  // at most what it burned between two reads of its stat
  testing::wait_for(root);
}

// A library user's tree whose root the application reaps itself: the root's time is kept at its
// last reading instead of vanishing with it.
TEST(ProcessTree, RootReapedByTheApplicationKeepsItsTime) {
  pid_t root = testing::spawn_burner(0.4);
  ProcessTree tree(root, 0.05);
  ASSERT_TRUE(tree.start().ok());
  while (!is_zombie(root)) {
    tree.sample(now_s());
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const double seen_s = tree.sample(now_s()).cpu_s;
  int status = 0;
  rusage usage{};
  ASSERT_EQ(::wait4(root, &status, 0, &usage), root);  // the application reaps it
  const double kernel_cpu_s = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                              static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
  EXPECT_NEAR(seen_s, kernel_cpu_s, 0.05);
  EXPECT_DOUBLE_EQ(tree.sample(now_s()).cpu_s, seen_s);  // gone, and its time stays
}

// /proc/PID/stat of a fake process: fields 3 to 25 of proc(5).
std::string fake_stat(pid_t pid, std::uint64_t utime_ticks, int threads, std::uint64_t rss_pages) {
  return std::to_string(pid) + " (worker one) S 1 " + std::to_string(pid) + " " + std::to_string(pid) +
         " 0 -1 4194304 10 0 0 0 " + std::to_string(utime_ticks) + " 0 0 0 20 0 " + std::to_string(threads) +
         " 0 5000 123456 " + std::to_string(rss_pages) + " 18446744073709551615\n";
}

// A single-threaded process whose schedstat run time has not moved has not run: its stat is not
// reread (its CPU time cannot have changed), except once in 5 s for its resident memory.
TEST(ProcessTree, AnIdleSingleThreadedProcessIsRereadOnlyWhenItRanOrOnceInFiveSeconds) {
  testing::FakeRoot root("");
  const pid_t pid = 4242;
  const double tick_s = 1.0 / static_cast<double>(::sysconf(_SC_CLK_TCK));
  const auto page = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
  root.write("proc/4242/stat", fake_stat(pid, 100, 1, 10));
  root.write("proc/4242/schedstat", "5000000 0 1\n");
  ProcessTree tree(pid, 60.0);
  ASSERT_TRUE(tree.start().ok());
  EXPECT_DOUBLE_EQ(tree.sample(100.0).cpu_s, 0.0);  // its time before the start is not counted

  root.write("proc/4242/stat", fake_stat(pid, 200, 1, 20));  // schedstat says it has not run
  ProcessTreeUsage usage = tree.sample(101.0);
  EXPECT_DOUBLE_EQ(usage.cpu_s, 0.0);
  EXPECT_EQ(usage.rss_bytes, 10 * page);

  root.write("proc/4242/schedstat", "6000000 0 2\n");  // it ran
  usage = tree.sample(102.0);
  EXPECT_NEAR(usage.cpu_s, 100 * tick_s, 1e-9);
  EXPECT_EQ(usage.rss_bytes, 20 * page);

  root.write("proc/4242/stat", fake_stat(pid, 300, 1, 30));   // reclaim-like change while idle
  EXPECT_NEAR(tree.sample(103.0).cpu_s, 100 * tick_s, 1e-9);  // 3 s after the first sample
  usage = tree.sample(107.0);                                 // 7 s after it: its turn has come
  EXPECT_NEAR(usage.cpu_s, 200 * tick_s, 1e-9);
  EXPECT_EQ(usage.rss_bytes, 30 * page);
}

// Idle members are reread in turn, a fifth of them for each second that passed, so that no one
// sample rereads the whole tree.
TEST(ProcessTree, IdleMembersAreRereadInTurnAFewEachSample) {
  testing::FakeRoot root("");
  const double tick_s = 1.0 / static_cast<double>(::sysconf(_SC_CLK_TCK));
  auto write_member = [&](pid_t pid, pid_t ppid, std::uint64_t utime_ticks) {
    std::string stat = fake_stat(pid, utime_ticks, 1, 10);
    stat.replace(stat.find(" S 1 "), 5, " S " + std::to_string(ppid) + " ");
    root.write("proc/" + std::to_string(pid) + "/stat", stat);
    root.write("proc/" + std::to_string(pid) + "/schedstat", "5000000 0 1\n");
  };
  for (pid_t pid = 4000; pid < 4010; ++pid) write_member(pid, pid == 4000 ? 1 : 4000, 100);
  ProcessTree tree(4000, 60.0);
  ASSERT_TRUE(tree.start().ok());
  ASSERT_EQ(tree.sample(100.0).processes, 10);
  for (pid_t pid = 4000; pid < 4010; ++pid) write_member(pid, pid == 4000 ? 1 : 4000, 110);
  EXPECT_NEAR(tree.sample(101.0).cpu_s, 2 * 10 * tick_s, 1e-9);
  EXPECT_NEAR(tree.sample(102.5).cpu_s, 5 * 10 * tick_s, 1e-9);
  EXPECT_NEAR(tree.sample(105.0).cpu_s, 10 * 10 * tick_s, 1e-9);
}

// Threads other than the one schedstat describes may run: such a process is reread every time,
// and so is one without schedstat (a kernel without CONFIG_SCHED_INFO).
TEST(ProcessTree, AMultiThreadedProcessOrOneWithoutSchedstatIsRereadEveryTime) {
  testing::FakeRoot root("");
  root.write("proc/4242/stat", fake_stat(4242, 100, 3, 10));
  root.write("proc/4242/schedstat", "5000000 0 1\n");
  root.write("proc/4343/stat", fake_stat(4343, 100, 1, 10));
  const double tick_s = 1.0 / static_cast<double>(::sysconf(_SC_CLK_TCK));
  ProcessTree threaded(4242, 60.0);
  ProcessTree no_schedstat(4343, 60.0);
  ASSERT_TRUE(threaded.start().ok());
  ASSERT_TRUE(no_schedstat.start().ok());
  threaded.sample(100.0);
  no_schedstat.sample(100.0);
  root.write("proc/4242/stat", fake_stat(4242, 150, 3, 10));
  root.write("proc/4343/stat", fake_stat(4343, 170, 1, 10));
  EXPECT_NEAR(threaded.sample(100.5).cpu_s, 50 * tick_s, 1e-9);
  EXPECT_NEAR(no_schedstat.sample(100.5).cpu_s, 70 * tick_s, 1e-9);
}

// A one-process fake tree (utime 100 ticks) with this schedstat, sampled once at 100 s.
std::unique_ptr<ProcessTree> sampled_fake_tree(const testing::FakeRoot& root, pid_t pid,
                                               const std::string& schedstat) {
  const std::string dir = "proc/" + std::to_string(pid);
  root.write(dir + "/stat", fake_stat(pid, 100, 1, 10));
  root.write(dir + "/schedstat", schedstat);
  auto tree = std::make_unique<ProcessTree>(pid, 60.0);
  EXPECT_TRUE(tree->start().ok());
  tree->sample(100.0);
  return tree;
}

// A schedstat that never moves ("0 0 0": sched_info off at boot) says nothing; the last sample of a
// run (force_discovery) reads every stat; so does a child whose parent has exited (a zombie's
// children are re-parented at once, without running).
TEST(ProcessTree, StatIsReadWhenSchedstatCannotTellOrAtTheLastSampleOrUnderAnExitedParent) {
  testing::FakeRoot root("");
  const double tick_s = 1.0 / static_cast<double>(::sysconf(_SC_CLK_TCK));
  auto zeros = sampled_fake_tree(root, 4242, "0 0 0\n");
  root.write("proc/4242/stat", fake_stat(4242, 130, 1, 10));
  EXPECT_NEAR(zeros->sample(100.5).cpu_s, 30 * tick_s, 1e-9);

  auto last = sampled_fake_tree(root, 4343, "5000000 0 1\n");
  root.write("proc/4343/stat", fake_stat(4343, 140, 1, 10));
  EXPECT_NEAR(last->sample(100.5).cpu_s, 0.0, 1e-9);  // idle by schedstat
  EXPECT_NEAR(last->sample(101.0, /*force_discovery=*/true).cpu_s, 40 * tick_s, 1e-9);

  // 4500 (root) -> 4501 (exits, a zombie) -> 4502 (idle by schedstat, re-parented to 1)
  auto write = [&](pid_t pid, const char* state, pid_t ppid, std::uint64_t utime) {
    std::string stat = fake_stat(pid, utime, 1, 10);
    stat.replace(stat.find(" S 1 "), 5, std::string(" ") + state + " " + std::to_string(ppid) + " ");
    root.write("proc/" + std::to_string(pid) + "/stat", stat);
  };
  write(4500, "S", 1, 100);
  write(4501, "S", 4500, 100);
  write(4502, "S", 4501, 100);
  for (const char* pid : {"4500", "4501", "4502"})
    root.write(std::string("proc/") + pid + "/schedstat", "7 0 1\n");
  ProcessTree tree(4500, 60.0);
  ASSERT_TRUE(tree.start().ok());
  ASSERT_EQ(tree.sample(100.0).processes, 3);
  write(4502, "S", 4501, 150);  // the grandchild runs
  root.write("proc/4502/schedstat", "8 0 1\n");
  EXPECT_NEAR(tree.sample(100.2).cpu_s, 50 * tick_s, 1e-9);
  write(4501, "Z", 4500, 100);  // its parent exits: it is re-parented to 1 without running
  root.write("proc/4501/schedstat", "8 0 1\n");
  write(4502, "S", 1, 150);
  tree.sample(100.4);
  // It now exits and is reaped outside the tree: its 50 ticks stay its own, not handed to the
  // zombie that is no longer its parent (which would drop them once the root's time grows).
  // (A kept-open fd of a fake file cannot fail as procfs does: the pid is reused by another process.)
  std::string reused = fake_stat(4502, 0, 1, 10);
  reused.replace(reused.find(" 5000 "), 6, " 9999 ");
  root.write("proc/4502/stat", reused);
  root.write("proc/4502/schedstat", "1 0 1\n");
  write(4500, "S", 1, 110);
  root.write("proc/4500/schedstat", "9 0 1\n");
  EXPECT_NEAR(tree.sample(100.6).cpu_s, 60 * tick_s, 1e-9);
}

TEST(ProcessTree, MissingRootIsAnError) {
  ProcessTree tree(999999999);
  auto started = tree.start();
  ASSERT_FALSE(started.ok());
  EXPECT_NE(started.error().message.find("cannot be read"), std::string::npos);
}

}  // namespace
}  // namespace carbonmeter
