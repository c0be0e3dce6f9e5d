// Containers: what a cgroup path says (runtime, id, pod), whether carbonmeter runs inside one, and
// monitor --per-cgroup's ledger sharing the machine's energy among containers.
#include "core/container.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "core/cgroup_labels.hpp"
#include "core/cgroup_ledger.hpp"
#include "support/fake_root.hpp"

namespace carbonmeter {
namespace {

using testing::FakeRoot;
using ::testing::HasSubstr;

const std::string kId = "4f0f748c2e3b7fee0643c1f1b1832b534f0f748c2e3b7fee0643c1f1b1832b53";
constexpr std::uint64_t kGiB = 1024ull * 1024 * 1024;

TEST(CgroupLabels, RecognisesTheRuntimesAndKubernetesPods) {
  auto docker = labels_of_cgroup("/system.slice/docker-" + kId + ".scope");
  EXPECT_EQ(docker.runtime, "docker");
  EXPECT_EQ(docker.container_id, kId);
  EXPECT_FALSE(docker.is_pod());
  EXPECT_EQ(labels_of_cgroup("/docker/" + kId).runtime, "docker");
  EXPECT_EQ(labels_of_cgroup("/machine.slice/libpod-" + kId + ".scope").runtime, "podman");
  EXPECT_FALSE(labels_of_cgroup("/machine.slice/libpod-conmon-" + kId + ".scope").is_container());
  EXPECT_EQ(labels_of_cgroup("/lxc.payload.web1").container_id, "web1");
  EXPECT_EQ(labels_of_cgroup("/lxc/web2").runtime, "lxc");

  auto pod = labels_of_cgroup(
      "/kubepods.slice/kubepods-burstable.slice/"
      "kubepods-burstable-pod1f2e3d4c_5b6a_7980_a1b2_c3d4e5f60718.slice/"
      "cri-containerd-" +
      kId + ".scope");
  EXPECT_EQ(pod.runtime, "containerd");
  EXPECT_EQ(pod.container_id, kId);
  EXPECT_EQ(pod.pod_uid, "1f2e3d4c-5b6a-7980-a1b2-c3d4e5f60718");
  EXPECT_EQ(pod.qos, "burstable");
  auto cgroupfs_pod = labels_of_cgroup("/kubepods/besteffort/pod1f2e3d4c-5b6a-7980-a1b2-c3d4e5f60718/" + kId);
  EXPECT_EQ(cgroupfs_pod.qos, "besteffort");
  EXPECT_EQ(cgroupfs_pod.runtime, "kubernetes");
  EXPECT_EQ(cgroupfs_pod.container_id, kId);
  auto guaranteed =
      labels_of_cgroup("/kubepods.slice/kubepods-pod1f2e3d4c_5b6a.slice/crio-" + kId + ".scope");
  EXPECT_EQ(guaranteed.qos, "guaranteed");
  EXPECT_EQ(guaranteed.runtime, "cri-o");

  for (const char* plain :
       {"/", "/user.slice/user-1000.slice/session-3.scope", "/system.slice/docker.service",
        "/system.slice/docker-short.scope", "/slurm/uid_0/job_7/step_0"})
    EXPECT_FALSE(labels_of_cgroup(plain).is_container()) << plain;
}

class ContainerDetection : public ::testing::Test {
 protected:
  void SetUp() override {
    ::unsetenv("CARBONMETER_CONTAINER");
    ::unsetenv("KUBERNETES_SERVICE_HOST");
  }
  void TearDown() override { ::unsetenv("CARBONMETER_CONTAINER"); }
  FakeRoot root_{""};
};

TEST_F(ContainerDetection, OutsideAContainerNothingIsFound) {
  root_.write("proc/self/cgroup", "0::/user.slice/session-1.scope\n");
  EXPECT_FALSE(detect_container().inside);
  EXPECT_EQ(container_note(detect_container(), MethodInfo{"cpu-estimate", "estimate", 0.5}), "");
}

TEST_F(ContainerDetection, DockerFromPidOnesRootOrFromTheCgroupPath) {
  root_.write("proc/1/root/.dockerenv", "");
  ContainerInfo info = detect_container();
  EXPECT_TRUE(info.inside);
  EXPECT_EQ(info.runtime, "docker");
  EXPECT_EQ(info.evidence, "/.dockerenv");
  std::filesystem::remove(root_.path() + "/proc/1/root/.dockerenv");
  root_.write("proc/self/cgroup", "4:cpu,cpuacct:/docker/" + kId + "\n0::/\n");
  info = detect_container();
  EXPECT_EQ(info.container_id, kId);
  EXPECT_THAT(info.evidence, HasSubstr("/docker/" + kId));
}

TEST_F(ContainerDetection, PodmanAndTheContainerVariableAndTheOverride) {
  root_.write("proc/1/root/run/.containerenv", "");
  EXPECT_EQ(detect_container().runtime, "podman");
  std::filesystem::remove(root_.path() + "/proc/1/root/run/.containerenv");
  root_.write("proc/1/environ", std::string("PATH=/bin\0container=systemd-nspawn\0", 35));
  EXPECT_EQ(detect_container().runtime, "systemd-nspawn");
  ::setenv("CARBONMETER_CONTAINER", "none", 1);
  EXPECT_FALSE(detect_container().inside);
  ::setenv("CARBONMETER_CONTAINER", "lxc", 1);
  EXPECT_EQ(detect_container().runtime, "lxc");
}

TEST_F(ContainerDetection, TheNoteSaysWhatCannotBeSeenFromInside) {
  ::setenv("CARBONMETER_CONTAINER", "docker", 1);
  const ContainerInfo info = detect_container();
  EXPECT_THAT(container_note(info, MethodInfo{"cpu-estimate", "estimate", 0.5}),
              HasSubstr("the host's RAPL counters cannot be read from here, so CPU energy is estimated"));
  EXPECT_THAT(container_note(info, MethodInfo{"cpu-estimate", "estimate", 0.5}), HasSubstr("docs/agent.md"));
  EXPECT_THAT(container_note(info, MethodInfo{"rapl-powercap", "measured counter", 0.05}),
              HasSubstr("RAPL counts the whole host"));
}

// A cgroup v2 hierarchy with containers in it, and the machine's CPU time and memory.
class CgroupLedgerTest : public ::testing::Test {
 protected:
  FakeRoot root_{"intel_server_1s"};
  std::string hierarchy_ = root_.path() + "/cg2";
  std::string docker_ = "/system.slice/docker-" + kId + ".scope";
  std::string pod_ =
      "/kubepods.slice/kubepods-pod1f2e3d4c_5b6a.slice/cri-containerd-" + std::string(64, 'a') + ".scope";

  void SetUp() override {
    root_.write("proc/self/mountinfo", "26 25 0:23 / " + hierarchy_ + " rw - cgroup2 cgroup2 rw\n");
    set(docker_, 10'000'000, 0);
    set(pod_, 0, 0);
    set("/system.slice/cron.service", 50'000'000, 0);  // not a container: not listed
    root_.set_cpu_ticks(1000, 8000);
    root_.set_memory_kb(8 * 1024 * 1024, 4 * 1024 * 1024);
  }
  void set(const std::string& path, std::uint64_t usage_usec, std::uint64_t anon) {
    testing::write_file(hierarchy_ + path + "/cpu.stat", "usage_usec " + std::to_string(usage_usec) + "\n");
    testing::write_file(hierarchy_ + path + "/memory.stat",
                        "anon " + std::to_string(anon) + "\nfile_mapped 0\n");
  }
  static Sample sample(double t_s, double cpu_j, double ram_j) {
    Sample s;
    s.t_s = t_s;
    s.dt_s = 1.0;
    s.machine_energy_j[Component::cpu] = cpu_j;
    s.machine_energy_j[Component::ram] = ram_j;
    return s;
  }
  static const CgroupEnergy& find(const std::vector<CgroupEnergy>& all, const std::string& path) {
    for (const CgroupEnergy& entry : all)
      if (entry.path == path) return entry;
    throw std::runtime_error("no entry " + path);
  }
};

TEST_F(CgroupLedgerTest, SharesEachSampleByCpuTimeAndMemory) {
  auto ledger = CgroupLedger::open();
  ASSERT_TRUE(ledger.ok()) << ledger.error().message;
  EXPECT_EQ(ledger.value()->entries().size(), 2u);
  // 4 s busy: 1 s in docker, 2 s in the pod; 4 GiB in use: 1 GiB docker, 0.5 GiB pod.
  root_.set_cpu_ticks(1400, 8100);
  set(docker_, 11'000'000, kGiB);
  set(pod_, 2'000'000, kGiB / 2);
  ledger.value()->add(sample(1.0, 100.0, 40.0));
  auto entries = ledger.value()->entries();
  const CgroupEnergy& docker = find(entries, docker_);
  EXPECT_EQ(docker.labels.runtime, "docker");
  EXPECT_NEAR(docker.energy_j[Component::cpu], 25.0, 1e-9);
  EXPECT_NEAR(docker.energy_j[Component::ram], 10.0, 1e-9);
  EXPECT_NEAR(docker.power_w[Component::cpu], 25.0, 1e-9);
  const CgroupEnergy& pod = find(entries, pod_);
  EXPECT_EQ(pod.labels.pod_uid, "1f2e3d4c-5b6a");
  EXPECT_NEAR(pod.energy_j[Component::cpu], 50.0, 1e-9);
  EXPECT_NEAR(pod.energy_j[Component::ram], 5.0, 1e-9);
}

TEST_F(CgroupLedgerTest, ContainersComingAndGoingAreCountedOnlyWhileTheyRun) {
  auto ledger = CgroupLedger::open();
  ASSERT_TRUE(ledger.ok()) << ledger.error().message;
  root_.set_cpu_ticks(1200, 8000);
  set(docker_, 12'000'000, 0);
  ledger.value()->add(sample(0.5, 10.0, 0.0));
  std::filesystem::remove_all(hierarchy_ + docker_);
  const std::string late = "/system.slice/docker-" + std::string(64, 'b') + ".scope";
  set(late, 30'000'000, 0);                     // 30 s before it was found: not the monitor's
  ledger.value()->add(sample(1.5, 10.0, 0.0));  // the rescan finds it and sees docker gone
  root_.set_cpu_ticks(1400, 8000);
  set(late, 32'000'000, 0);
  ledger.value()->add(sample(2.5, 20.0, 0.0));
  auto entries = ledger.value()->entries();
  EXPECT_TRUE(find(entries, docker_).gone);
  EXPECT_NEAR(find(entries, docker_).energy_j[Component::cpu], 10.0, 1e-9);
  EXPECT_NEAR(find(entries, late).energy_j[Component::cpu], 20.0, 1e-9);
  EXPECT_FALSE(find(entries, late).gone);

  // docker restart: the same id comes back with a new cgroup; its totals go on from before.
  set(docker_, 500'000, 0);
  ledger.value()->add(sample(3.5, 0.0, 0.0));  // the rescan finds it again
  root_.set_cpu_ticks(1500, 8000);
  set(docker_, 1'500'000, 0);
  ledger.value()->add(sample(4.0, 10.0, 0.0));
  entries = ledger.value()->entries();
  EXPECT_FALSE(find(entries, docker_).gone);
  EXPECT_NEAR(find(entries, docker_).energy_j[Component::cpu], 20.0, 1e-9);
}

TEST_F(CgroupLedgerTest, NeverSharesOutMoreThanTheMachineUsed) {
  auto ledger = CgroupLedger::open();
  ASSERT_TRUE(ledger.ok());
  root_.set_cpu_ticks(1100, 8000);  // 1 s busy on the machine, yet 3 s in the cgroups (read later)
  set(docker_, 11'000'000, 0);
  set(pod_, 2'000'000, 0);
  ledger.value()->add(sample(1.0, 30.0, 0.0));
  auto entries = ledger.value()->entries();
  EXPECT_NEAR(find(entries, docker_).energy_j[Component::cpu] + find(entries, pod_).energy_j[Component::cpu],
              30.0, 1e-9);
}

TEST(CgroupLedgerErrors, NoHierarchyIsAClearError) {
  FakeRoot root("intel_server_1s");
  root.write("proc/self/mountinfo", "22 27 0:21 / /proc rw - proc proc rw\n");
  auto ledger = CgroupLedger::open();
  ASSERT_FALSE(ledger.ok());
  EXPECT_THAT(ledger.error().message, HasSubstr("no cgroup hierarchy with CPU accounting is mounted"));
}

}  // namespace
}  // namespace carbonmeter
