// Slurm end to end: a real one-node Slurm cluster (scripts/slurm_cluster: munged, slurmctld and
// slurmd from Debian's packages, on loopback) runs `srun -n2 carbonmeter run --server URL -- CMD`;
// each task measures its own process tree, records the job, step, rank and its allocation from the
// cgroup Slurm made, and the real `carbonmeter serve` adds the two runs up as one job.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "api_fixture.hpp"

namespace carbonmeter::testing {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// Runs a shell command; its stdout, and stderr appended, and its exit status.
std::pair<int, std::string> shell(const std::string& command) {
  std::string out;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (!pipe) return {-1, "popen failed"};
  char buffer[4096];
  while (std::size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) out.append(buffer, n);
  const int status = ::pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

bool installed(const char* program) { return shell(std::string("command -v ") + program).first == 0; }

class SlurmTest : public ApiTest {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "Slurm's node daemon needs root";
    for (const char* program : {"slurmctld", "slurmd", "srun", "munged"})
      if (!installed(program))
        GTEST_SKIP() << program << " is not installed: scripts/bootstrap installs Slurm";
    ApiTest::SetUp();
    char pattern[] = "/tmp/cmslurm.XXXXXX";  // short: Unix socket paths of slurmd live below it
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    state_dir_ = pattern;
    auto [status, out] =
        shell(std::string(CARBONMETER_SOURCE_DIR) + "/scripts/slurm_cluster start " + state_dir_);
    ASSERT_EQ(status, 0) << out;
    std::istringstream lines(out);
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind("export ", 0) == 0) exports_ += line.substr(7) + " ";
      if (line.find("CARBONMETER_SLURM_PROCTRACK=cgroup") != std::string::npos) cgroups_ = true;
    }
    ASSERT_NE(exports_.find("SLURM_CONF="), std::string::npos) << out;
  }
  void TearDown() override {
    if (!state_dir_.empty()) {
      shell(std::string(CARBONMETER_SOURCE_DIR) + "/scripts/slurm_cluster stop " + state_dir_);
      std::error_code ec;
      fs::remove_all(state_dir_, ec);
    }
  }
  std::string state_dir_;
  std::string exports_;  // "SLURM_CONF=... CARBONMETER_SLURM_NODE=... "
  bool cgroups_ = false;
};

TEST_P(SlurmTest, SrunTasksMeasureTheirOwnShareAndTheServerAddsUpTheJob) {
  start();
  const std::string token = project_with_token("vision");
  const std::string url = "http://127.0.0.1:" + std::to_string(server_->port());
  const std::string dir = database_->dir();
  // Each task burns about half a second of CPU time in its own tree.
  {
    std::ofstream script(dir + "/task.sh");
    script
        << "exec " << CARBONMETER_CLI_PATH << " run --server " << url
        << " --project-name vision --interval 0.1 --no-csv --quiet --carbon-intensity 400"
        << " --json report-$SLURM_PROCID.json -- sh -c 'i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done'\n";
  }
  auto [status, out] = shell("cd " + dir + " && env " + exports_ + "CARBONMETER_API_KEY=" + token +
                             " srun -N1 -n2 --chdir " + dir + " bash " + dir + "/task.sh");
  ASSERT_EQ(status, 0) << out;

  json reports[2];
  std::string job_id;
  double sum_j = 0.0;
  for (int rank = 0; rank < 2; ++rank) {
    reports[rank] = json::parse(std::ifstream(dir + "/report-" + std::to_string(rank) + ".json"));
    const json& job = reports[rank]["job"];
    EXPECT_EQ(job["source"], "slurm");
    EXPECT_EQ(job["rank"], rank);
    EXPECT_EQ(job["world_size"], 2);
    EXPECT_EQ(job["slurm"]["step"], "0");
    EXPECT_EQ(job["slurm"]["cpu_count"], std::min(2L, ::sysconf(_SC_NPROCESSORS_ONLN))) << job.dump();
    if (cgroups_) {  // the allocation was read from the cpuset cgroup Slurm made for the job
      EXPECT_EQ(job["slurm"]["cpus_source"], "cgroup cpuset") << job.dump();
      EXPECT_NE(job["slurm"]["cgroup"].get<std::string>().find("/job_" + job["id"].get<std::string>()),
                std::string::npos)
          << job.dump();
    }
    EXPECT_EQ(reports[rank]["scope"], "process");  // its own tree, not the whole node
    const double task_j = reports[rank]["energy_j"]["total"].get<double>();
    EXPECT_GT(task_j, 0.0);
    EXPECT_LT(task_j, reports[rank]["machine_energy_j"]["total"].get<double>() + 1e-9);
    sum_j += task_j;
    if (rank == 0) job_id = job["id"];
    EXPECT_EQ(job["id"], job_id);
  }

  Reply by_job = get(client(), "/api/v1/projects/vision/totals?by=job", token);
  ASSERT_EQ(by_job.status, 200) << by_job.raw;
  ASSERT_EQ(by_job.body["totals"].size(), 1u) << by_job.raw;
  const json& total = by_job.body["totals"][0];
  EXPECT_EQ(total["key"], job_id);
  EXPECT_EQ(total["run_count"], 2);
  double server_j = 0.0;
  for (const char* component : {"cpu", "ram", "gpu"}) server_j += total["energy_j"][component].get<double>();
  EXPECT_NEAR(server_j, sum_j, 1e-9 * sum_j) << by_job.raw;
}

INSTANTIATE_TEST_SUITE_P(Backends, SlurmTest, ::testing::Values("sqlite"), backend_name);

}  // namespace
}  // namespace carbonmeter::testing
