#include "core/process_tree.hpp"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "support/cpu_burner.hpp"

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

TEST(ProcessTree, MissingRootIsAnError) {
  ProcessTree tree(999999999);
  auto started = tree.start();
  ASSERT_FALSE(started.ok());
  EXPECT_NE(started.error().message.find("cannot be read"), std::string::npos);
}

}  // namespace
}  // namespace carbonmeter
