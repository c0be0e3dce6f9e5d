#include "core/command_cgroup.hpp"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "core/process_tree.hpp"

namespace carbonmeter {
namespace {

// Burns this much of the process's own CPU time (not wall time: the machine may be loaded).
void burn_cpu_s(double seconds) {
  auto cpu_s = [] {
    timespec t{};
    ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
  };
  const double end = cpu_s() + seconds;
  volatile double x = 1.0;
  while (cpu_s() < end) x = x * 1.0000001 + 1e-9;
}

// A child held on a pipe until released; once released it forks a grandchild, both burn CPU, and
// the grandchild is reaped by the child (its time then lives in the child's rusage).
struct HeldChild {
  pid_t pid = -1;
  int go_fd = -1;
  explicit HeldChild(double burn_s = 0.3) {
    int fds[2];
    if (::pipe(fds) != 0) return;
    pid = ::fork();
    if (pid == 0) {
      ::close(fds[1]);
      char byte;
      if (::read(fds[0], &byte, 1) != 1) ::_exit(1);
      const pid_t grandchild = ::fork();
      burn_cpu_s(burn_s);
      if (grandchild == 0) ::_exit(0);
      ::waitpid(grandchild, nullptr, 0);
      ::_exit(0);
    }
    ::close(fds[0]);
    go_fd = fds[1];
  }
  void release() {
    const char byte = 1;
    EXPECT_EQ(::write(go_fd, &byte, 1), 1);
    ::close(go_fd);
  }
  double wait_cpu_s() {
    int status = 0;
    rusage usage{};
    ::wait4(pid, &status, 0, &usage);
    auto s = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
    return s(usage.ru_utime) + s(usage.ru_stime);
  }
};

TEST(CommandCgroup, CountsTheWholeTreeIncludingExitedMembers) {
  HeldChild child;
  ASSERT_GT(child.pid, 0);
  auto cgroup = CommandCgroup::create_for(child.pid);
  if (!cgroup) {
    child.release();
    child.wait_cpu_s();
    GTEST_SKIP() << "cgroups not writable here (needs root or a delegated cgroup): "
                 << cgroup.error().message;
  }
  const auto pids = cgroup.value().pids();
  ASSERT_EQ(pids.size(), 1u);
  EXPECT_EQ(pids[0], child.pid);
  auto before = cgroup.value().read();
  ASSERT_TRUE(before.ok()) << before.error().message;
  child.release();
  // The child's rusage holds its own time and its reaped grandchild's (0.6 s of CPU in all).
  const double rusage_cpu_s = child.wait_cpu_s();
  auto after = cgroup.value().read();
  ASSERT_TRUE(after.ok()) << after.error().message;
  const double cgroup_cpu_s = after.value().cpu_s - before.value().cpu_s;
  EXPECT_GT(rusage_cpu_s, 0.4);
  EXPECT_NEAR(cgroup_cpu_s, rusage_cpu_s, 0.05 + 0.05 * rusage_cpu_s);
  // The kernel drops exited members from cgroup.procs shortly after they are reaped.
  for (int i = 0; i < 100 && !cgroup.value().pids().empty(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_TRUE(cgroup.value().pids().empty());
  EXPECT_NE(cgroup.value().description().find("cgroup"), std::string::npos);
}

TEST(CommandCgroup, ItsFoldersAreRemovedAtTheEnd) {
  HeldChild child;
  ASSERT_GT(child.pid, 0);
  std::vector<std::string> folders;
  {
    auto cgroup = CommandCgroup::create_for(child.pid);
    child.release();
    child.wait_cpu_s();
    if (!cgroup) GTEST_SKIP() << "cgroups not writable here: " << cgroup.error().message;
    folders = cgroup.value().folders();
    ASSERT_FALSE(folders.empty());
    struct stat info {};
    for (const std::string& folder : folders) EXPECT_EQ(::stat(folder.c_str(), &info), 0) << folder;
  }
  struct stat info {};
  for (const std::string& folder : folders) EXPECT_NE(::stat(folder.c_str(), &info), 0) << folder;
}

// Moves the processes of the cgroups carbonmeter made for pid to their parent cgroups and removes
// them: what happens when someone else cleans them up during a run.
void remove_command_cgroups(pid_t pid) {
  namespace fs = std::filesystem;
  const std::string name = "carbonmeter-" + std::to_string(::getpid()) + "-" + std::to_string(pid);
  std::vector<fs::path> found;
  std::error_code error;
  for (auto it = fs::recursive_directory_iterator("/sys/fs/cgroup",
                                                  fs::directory_options::skip_permission_denied, error);
       !error && it != fs::recursive_directory_iterator(); it.increment(error)) {
    if (it->is_directory(error) && it->path().filename() == name) found.push_back(it->path());
    if (it.depth() > 8) it.disable_recursion_pending();
  }
  ASSERT_FALSE(found.empty()) << "no " << name << " under /sys/fs/cgroup";
  for (const fs::path& folder : found) {
    std::ifstream procs(folder / "cgroup.procs");
    for (pid_t member = 0; procs >> member;) {
      std::ofstream parent(folder.parent_path() / "cgroup.procs");
      parent << member << std::flush;
    }
    EXPECT_EQ(::rmdir(folder.c_str()), 0) << folder << ": " << std::strerror(errno);
  }
}

// The cgroup is removed under a running tree: the tree is read from /proc from then on, each
// process once, and the total still matches the kernel's rusage.
TEST(ProcessTree, FallsBackToProcWhenItsCgroupGoesAway) {
  HeldChild child(1.0);
  ASSERT_GT(child.pid, 0);
  ProcessTree tree(child.pid, 0.05, /*tracker_reaps=*/true);
  ASSERT_TRUE(tree.start().ok());
  if (tree.source().rfind("cgroup", 0) != 0) {
    child.release();
    child.wait_cpu_s();
    GTEST_SKIP() << "cgroups not writable here: " << tree.source();
  }
  child.release();
  double now_s = 0.0;
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_EQ(tree.sample(now_s += 0.1).processes, 2);  // the child and its grandchild
  remove_command_cgroups(child.pid);
  EXPECT_EQ(tree.sample(now_s += 0.1).processes, 2);
  EXPECT_EQ(tree.source().rfind("/proc", 0), 0u) << tree.source();
  EXPECT_EQ(tree.pids().size(), 2u);
  std::string state;
  do {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    tree.sample(now_s += 0.02);
    std::ifstream stat("/proc/" + std::to_string(child.pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), {});
    state = text.substr(text.rfind(')') + 2, 1);
  } while (state != "Z");
  tree.sample(now_s += 0.02, /*force_discovery=*/true);
  const double rusage_cpu_s = child.wait_cpu_s();
  tree.add_reaped(child.pid, rusage_cpu_s);
  EXPECT_GT(rusage_cpu_s, 1.5);
  EXPECT_NEAR(tree.sample(now_s += 0.02).cpu_s, rusage_cpu_s, 0.05 + 0.05 * rusage_cpu_s);
}

TEST(ProcessTree, SaysWhereItReadsTheTreeFrom) {
  ::setenv("CARBONMETER_NO_CGROUP", "1", 1);
  HeldChild child;
  ProcessTree tree(child.pid, 1.0, true);
  ASSERT_TRUE(tree.start().ok());
  EXPECT_EQ(tree.source(), "/proc (no cgroup: CARBONMETER_NO_CGROUP is set)");
  child.release();
  child.wait_cpu_s();
  ::unsetenv("CARBONMETER_NO_CGROUP");
}

}  // namespace
}  // namespace carbonmeter
