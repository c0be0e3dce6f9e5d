// run --cgroup, monitor inside a container and monitor --per-cgroup, through the real program.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "support/fake_root.hpp"
#include "support/run_cli.hpp"

namespace carbonmeter {
namespace {

using testing::FakeRoot;
using ::testing::HasSubstr;
using testing::slurp;

const std::string kId = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

void write_v2_cgroup(const std::string& folder, std::uint64_t usage_usec) {
  testing::write_file(folder + "/cpu.stat", "usage_usec " + std::to_string(usage_usec) + "\n");
  testing::write_file(folder + "/memory.stat", "anon 1048576\nfile_mapped 0\n");
  testing::write_file(folder + "/cgroup.procs", "");
}

// A machine whose counters, CPU time and one container's CPU time move while the program runs.
class MovingMachine {
 public:
  MovingMachine(const FakeRoot& root, std::string container_folder)
      : root_(root), folder_(std::move(container_folder)), thread_([this] { run(); }) {}
  ~MovingMachine() {
    stop_ = true;
    thread_.join();
  }

 private:
  void run() {
    for (std::uint64_t step = 1; !stop_; ++step) {
      write_v2_cgroup(folder_, step * 10'000);            // 10 ms of its CPU time per step
      root_.set_cpu_ticks(1000 + step * 2, 8000 + step);  // 20 ms busy per step
      root_.set_energy_uj("intel-rapl:0", 100'000'000 + step * 1'000'000);
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  const FakeRoot& root_;
  std::string folder_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

TEST(CgroupCli, RunMeasuresTheCgroupGiven) {
  FakeRoot root("intel_server_1s");
  const std::string folder = root.path() + "/cg2/system.slice/docker-" + kId + ".scope";
  write_v2_cgroup(folder, 0);
  auto outcome =
      testing::run_carbonmeter({"run", "--cgroup", folder, "--interval", "0.05", "--output-dir", root.path(),
                                "--json", root.path() + "/r.json", "--", "sleep", "0.2"});
  ASSERT_EQ(outcome.exit_code, 0) << outcome.err;
  EXPECT_THAT(outcome.err, HasSubstr("scope   cgroup " + folder));
  auto report = nlohmann::json::parse(slurp(root.path() + "/r.json"));
  EXPECT_EQ(report["scope"], "cgroup");
  EXPECT_EQ(report["cgroup"], folder);
}

TEST(CgroupCli, ScopeAndCgroupFlagsMustAgree) {
  FakeRoot root("intel_server_1s");
  auto no_path = testing::run_carbonmeter({"run", "--scope", "cgroup", "--", "true"});
  EXPECT_EQ(no_path.exit_code, 2);
  EXPECT_THAT(no_path.err, HasSubstr("--scope cgroup needs --cgroup PATH"));
  auto both = testing::run_carbonmeter({"run", "--scope", "machine", "--cgroup", "self", "--", "true"});
  EXPECT_EQ(both.exit_code, 2);
  EXPECT_THAT(both.err, HasSubstr("cannot go with --scope machine"));
  auto missing = testing::run_carbonmeter(
      {"run", "--cgroup", root.path() + "/nowhere", "--output-dir", root.path(), "--", "true"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.err, HasSubstr("cannot measure cgroup " + root.path() + "/nowhere"));
  auto per_cgroup =
      testing::run_carbonmeter({"monitor", "--per-cgroup", "--cgroup", "self", "--duration", "1"});
  EXPECT_EQ(per_cgroup.exit_code, 2);
  EXPECT_THAT(per_cgroup.err, HasSubstr("--per-cgroup shares the whole machine"));
}

TEST(CgroupCli, MonitorInsideAContainerMeasuresTheContainersShare) {
  FakeRoot root("intel_server_1s");
  root.write("proc/self/mountinfo", "26 25 0:23 / " + root.path() + "/cg2 rw - cgroup2 cgroup2 rw\n");
  root.write("proc/self/cgroup", "0::/\n");  // a cgroup namespace: the container is the root
  root.write("proc/1/root/.dockerenv", "");
  write_v2_cgroup(root.path() + "/cg2", 0);
  auto inside = testing::run_carbonmeter(
      {"monitor", "--interval", "0.1", "--duration", "0.3", "--json", root.path() + "/m.json"}, "/tmp",
      nullptr, {{"CARBONMETER_CONTAINER", std::nullopt}});
  ASSERT_EQ(inside.exit_code, 0) << inside.err;
  EXPECT_THAT(inside.err,
              HasSubstr("measuring the docker container's own share (cgroup " + root.path() + "/cg2)"));
  EXPECT_THAT(inside.err, HasSubstr("inside a docker container (/.dockerenv): RAPL counts the whole host"));
  EXPECT_EQ(nlohmann::json::parse(slurp(root.path() + "/m.json"))["scope"], "cgroup");

  auto host = testing::run_carbonmeter({"monitor", "--scope", "machine", "--interval", "0.1", "--duration",
                                        "0.3", "--json", root.path() + "/h.json"},
                                       "/tmp", nullptr, {{"CARBONMETER_CONTAINER", std::nullopt}});
  ASSERT_EQ(host.exit_code, 0) << host.err;
  EXPECT_EQ(nlohmann::json::parse(slurp(root.path() + "/h.json"))["scope"], "machine");
}

TEST(CgroupCli, HardwareSaysItRunsInAContainerAndWhatItCannotSee) {
  FakeRoot root("vm_no_rapl");
  auto inside = testing::run_carbonmeter({"hardware", "--json"}, "/tmp", nullptr,
                                         {{"CARBONMETER_CONTAINER", "podman"}});
  ASSERT_EQ(inside.exit_code, 0) << inside.err;
  auto json = nlohmann::json::parse(inside.out);
  EXPECT_EQ(json["container"]["runtime"], "podman");
  EXPECT_THAT(json["notes"].dump(), HasSubstr("the host's RAPL counters cannot be read from here"));
  auto outside = testing::run_carbonmeter({"hardware", "--json"});
  ASSERT_EQ(outside.exit_code, 0) << outside.err;
  EXPECT_TRUE(nlohmann::json::parse(outside.out)["container"].is_null());
}

TEST(CgroupCli, MonitorPerCgroupLabelsEnergyByContainer) {
  FakeRoot root("intel_server_1s");
  root.write("proc/self/mountinfo", "26 25 0:23 / " + root.path() + "/cg2 rw - cgroup2 cgroup2 rw\n");
  const std::string path = "/system.slice/docker-" + kId + ".scope";
  write_v2_cgroup(root.path() + "/cg2" + path, 0);
  root.set_memory_kb(8 * 1024 * 1024, 4 * 1024 * 1024);
  MovingMachine moving(root, root.path() + "/cg2" + path);
  auto outcome = testing::run_carbonmeter({"monitor", "--per-cgroup", "--interval", "0.1", "--duration",
                                           "0.65", "--json-lines", "--json", root.path() + "/m.json"});
  ASSERT_EQ(outcome.exit_code, 0) << outcome.err;
  std::istringstream lines(outcome.out);
  std::string line, last;
  int with_cgroups = 0;
  while (std::getline(lines, line)) {
    auto json = nlohmann::json::parse(line);
    ASSERT_TRUE(json.contains("cgroups")) << line;
    ASSERT_EQ(json["cgroups"].size(), 1u) << line;
    EXPECT_EQ(json["cgroups"][0]["cgroup"], path);
    EXPECT_EQ(json["cgroups"][0]["runtime"], "docker");
    EXPECT_EQ(json["cgroups"][0]["container_id"], kId);
    ++with_cgroups;
  }
  EXPECT_GE(with_cgroups, 4);
  auto report = nlohmann::json::parse(slurp(root.path() + "/m.json"));
  const double container_cpu = report["cgroups"][0]["energy_j"]["cpu"].get<double>();
  const double machine_cpu = report["energy_j"]["cpu"].get<double>();
  // Half of the busy time is the container's: about half the energy (timing blurs the edges).
  EXPECT_GT(container_cpu, 0.2 * machine_cpu) << report.dump();
  EXPECT_LT(container_cpu, 0.8 * machine_cpu) << report.dump();
  EXPECT_THAT(outcome.err, HasSubstr("per cgroup (CPU energy by CPU time"));
}

}  // namespace
}  // namespace carbonmeter
