// Multi-node job metadata: resolved from --job-id, --node-name, Slurm's and torchrun's variables,
// written in the report and kept by the journal.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "core/run_report.hpp"
#include "support/fake_root.hpp"
#include "support/process_guard.hpp"
#include "support/run_cli.hpp"

namespace carbonmeter {
namespace {

using testing::FakeRoot;
using ::testing::HasSubstr;
using testing::ProcessGuard;
using testing::slurp;

EnvLookup env_of(std::map<std::string, std::string> values) {
  return [values = std::move(values)](const std::string& name) -> std::optional<std::string> {
    auto it = values.find(name);
    if (it == values.end()) return std::nullopt;
    return it->second;
  };
}

const std::map<std::string, std::string> kSlurm = {
    {"SLURM_JOB_ID", "4242"},     {"SLURM_PROCID", "5"},    {"SLURM_LOCALID", "1"},
    {"SLURM_NTASKS", "8"},        {"SLURM_STEP_ID", "2"},   {"SLURM_JOB_NODELIST", "gpu[01-04]"},
    {"SLURM_CPUS_ON_NODE", "16"}, {"SLURM_JOB_GPUS", "0,1"}};
const std::map<std::string, std::string> kTorch = {
    {"TORCHELASTIC_RUN_ID", "none-abc"}, {"RANK", "3"}, {"LOCAL_RANK", "3"}, {"WORLD_SIZE", "4"}};

TEST(JobMetadata, NoJobIsNullsAndTheHostName) {
  auto job = resolve_job("", "", "host-1", env_of({}));
  ASSERT_TRUE(job.ok()) << job.error().message;
  EXPECT_EQ(
      job_to_json(job.value(), "host-1"),
      nlohmann::json::parse(
          R"({"id":null,"source":null,"node":"host-1","rank":null,"local_rank":null,"world_size":null})"));
}

TEST(JobMetadata, SlurmGivesTheIdTheRanksAndTheAllocation) {
  FakeRoot root("");  // no Slurm cgroup: the CPU count comes from SLURM_CPUS_ON_NODE
  auto job = resolve_job("", "", "host-1", env_of(kSlurm));
  ASSERT_TRUE(job.ok()) << job.error().message;
  EXPECT_EQ(job_to_json(job.value(), "host-1"),
            nlohmann::json::parse(
                R"({"id":"4242","source":"slurm","node":"host-1","rank":5,"local_rank":1,"world_size":8,
                    "slurm":{"step":"2","nodelist":"gpu[01-04]","cpus":"","cpu_count":16,
                             "cpus_source":"SLURM_CPUS_ON_NODE","gpus":"0,1","gpu_devices":"","cgroup":""}})"));
}

TEST(JobMetadata, SlurmAllocationComesFromTheCgroupSlurmMade) {
  FakeRoot root("");
  root.write("proc/self/mountinfo", "30 25 0:30 / " + root.path() + "/cpuset rw - cgroup cgroup rw,cpuset\n");
  root.write(
      "proc/self/cgroup",
      "3:cpuset:/slurm_n1/uid_0/job_42/step_0\n2:cpu,cpuacct:/slurm_n1/uid_0/job_42/step_0/task_1\n0::/\n");
  root.write("cpuset/slurm_n1/uid_0/job_42/cpuset.cpus", "0-3,8\n");
  root.write("proc/self/mountinfo", "30 25 0:30 / " + root.path() + "/cpuset rw - cgroup cgroup rw,cpuset\n" +
                                        "31 25 0:31 / " + root.path() +
                                        "/devices rw - cgroup cgroup rw,devices\n");
  // ConstrainDevices: the job may use /dev/nvidia1 and /dev/nvidia3 (and nvidiactl, 195:255).
  root.write("devices/slurm_n1/uid_0/job_42/devices.list",
             "c 1:3 rwm\nc 195:255 rwm\nc 195:1 rwm\nc 195:3 rwm\nc 511:0 rwm\n");
  SlurmAllocation v1 = read_slurm_allocation(env_of({{"SLURM_CPUS_ON_NODE", "99"}}));
  EXPECT_EQ(v1.cgroup, "/slurm_n1/uid_0/job_42");
  EXPECT_EQ(v1.step, "0");  // from the cgroup path when SLURM_STEP_ID is not set
  EXPECT_EQ(v1.cpus, "0-3,8");
  EXPECT_EQ(v1.cpu_count, 5);
  EXPECT_EQ(v1.cpus_source, "cgroup cpuset");
  EXPECT_EQ(v1.gpu_devices, "1,3");
  EXPECT_EQ(nvidia_minors_allowed("a *:* rwm\n"), "");

  root.write("proc/self/mountinfo", "26 25 0:23 / " + root.path() + "/cg2 rw - cgroup2 cgroup2 rw\n");
  root.write("proc/self/cgroup", "0::/system.slice/slurmstepd.scope/job_43/step_batch/user/task_0\n");
  root.write("cg2/system.slice/slurmstepd.scope/job_43/cpuset.cpus.effective", "2-3\n");
  SlurmAllocation v2 = read_slurm_allocation(env_of({}));
  EXPECT_EQ(v2.step, "batch");
  EXPECT_EQ(v2.cpu_count, 2);
  EXPECT_EQ(v2.cgroup, "/system.slice/slurmstepd.scope/job_43");
}

TEST(JobMetadata, CpusetListsAreCounted) {
  EXPECT_EQ(cpuset_size("0-3,8"), 5);
  EXPECT_EQ(cpuset_size("7\n"), 1);
  EXPECT_EQ(cpuset_size("0-63"), 64);
  for (const char* bad : {"", "3-1", "a", "1,", "1-", "-2", "1 2"})
    EXPECT_EQ(cpuset_size(bad), std::nullopt) << bad;
}

TEST(JobMetadata, TorchelasticGivesTheIdAndTheRanks) {
  auto job = resolve_job("", "", "host-1", env_of(kTorch));
  ASSERT_TRUE(job.ok()) << job.error().message;
  EXPECT_EQ(
      job_to_json(job.value(), "host-1"),
      nlohmann::json::parse(
          R"({"id":"none-abc","source":"torchelastic","node":"host-1","rank":3,"local_rank":3,"world_size":4})"));
  // RANK alone (no torchrun around) says nothing.
  auto bare = resolve_job("", "", "h", env_of({{"RANK", "2"}}));
  ASSERT_TRUE(bare.ok());
  EXPECT_FALSE(bare.value().rank.has_value());
}

TEST(JobMetadata, FlagBeatsSlurmBeatsTorchelastic) {
  std::map<std::string, std::string> both = kSlurm;
  both.insert(kTorch.begin(), kTorch.end());
  auto slurm = resolve_job("", "", "h", env_of(both));
  ASSERT_TRUE(slurm.ok());
  EXPECT_EQ(slurm.value().source, "slurm");
  EXPECT_EQ(*slurm.value().id, "4242");
  EXPECT_EQ(*slurm.value().rank, 5);  // Slurm's ranks, not torchrun's
  auto flag = resolve_job("my-job", "node-a", "h", env_of(both));
  ASSERT_TRUE(flag.ok());
  EXPECT_EQ(flag.value().source, "flag");
  EXPECT_EQ(*flag.value().id, "my-job");
  EXPECT_EQ(flag.value().node, "node-a");
  EXPECT_EQ(*flag.value().rank, 5);  // ranks are still known from Slurm
  auto flag_alone = resolve_job("my-job", "", "h", env_of({}));
  ASSERT_TRUE(flag_alone.ok());
  EXPECT_EQ(flag_alone.value().node, "h");
  EXPECT_FALSE(flag_alone.value().rank.has_value());
  // An empty variable is an unset one.
  auto empty = resolve_job("", "", "h", env_of({{"SLURM_JOB_ID", ""}, {"TORCHELASTIC_RUN_ID", "t"}}));
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty.value().source, "torchelastic");
}

TEST(JobMetadata, RanksThatAreNotWholeNumbersAreErrorsNamingTheVariable) {
  for (const char* bad : {"abc", "1.5", "-1", "0x2", " 3", "3 ", "99999999999"}) {
    std::map<std::string, std::string> env = kSlurm;
    env["SLURM_PROCID"] = bad;
    auto job = resolve_job("", "", "h", env_of(env));
    ASSERT_FALSE(job.ok()) << bad;
    EXPECT_THAT(job.error().message, HasSubstr("SLURM_PROCID='" + std::string(bad) + "'"));
  }
  std::map<std::string, std::string> zero_world = kTorch;
  zero_world["WORLD_SIZE"] = "0";
  auto zero = resolve_job("", "", "h", env_of(zero_world));
  ASSERT_FALSE(zero.ok());
  EXPECT_THAT(zero.error().message, HasSubstr("WORLD_SIZE"));
  std::map<std::string, std::string> beyond = kSlurm;
  beyond["SLURM_PROCID"] = "8";
  auto too_big = resolve_job("", "", "h", env_of(beyond));
  ASSERT_FALSE(too_big.ok());
  EXPECT_THAT(too_big.error().message, HasSubstr("SLURM_PROCID=8 is not below SLURM_NTASKS=8"));
}

TEST(JobMetadata, TheJournalHeaderKeepsTheJob) {
  RunHeader header;
  header.run_id = "r";
  header.hostname = "host-1";
  header.job = resolve_job("", "node-a", "host-1", env_of(kSlurm)).value();
  nlohmann::json json = header_to_json(header);
  EXPECT_EQ(json["job"]["node"], "node-a");
  auto back = header_from_json(json);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(job_to_json(back.value().job, "x"), json["job"]);
  // A journal written before jobs were recorded has none, whatever this process's job is.
  set_process_job(header.job);
  json.erase("job");
  auto old = header_from_json(json);
  set_process_job(JobInfo{});
  ASSERT_TRUE(old.ok());
  EXPECT_EQ(job_to_json(old.value().job, "host-1")["id"], nullptr);
  EXPECT_EQ(job_to_json(old.value().job, "host-1")["node"], "host-1");
}

// The program: the report and the recovered report carry the job; a bad rank stops the run
// before its command starts.
TEST(JobMetadata, RunRecordsTheJobAndRecoveryKeepsIt) {
  FakeRoot root("intel_server_1s", false);
  auto env = testing::hermetic_cli_env();
  env["SLURM_JOB_ID"] = "777";
  env["SLURM_PROCID"] = "3";
  env["SLURM_LOCALID"] = "1";
  env["SLURM_NTASKS"] = "4";
  const std::string out_dir = root.path() + "/out";
  ProcessGuard run(
      {CARBONMETER_CLI_PATH, "run", "--interval", "0.05", "--carbon-intensity", "100", "--node-name",
       "node-7", "--output-dir", out_dir, "--json", root.path() + "/run.json", "--", "sleep", "0.2"},
      env);
  ASSERT_EQ(run.wait(30), 0) << run.err();
  const auto report = nlohmann::json::parse(slurp(root.path() + "/run.json"));
  nlohmann::json job = report["job"];
  EXPECT_EQ(job["slurm"]["cpus_source"], "");  // not in a Slurm cgroup, and no SLURM_CPUS_ON_NODE
  job.erase("slurm");
  EXPECT_EQ(job,
            nlohmann::json::parse(
                R"({"id":"777","source":"slurm","node":"node-7","rank":3,"local_rank":1,"world_size":4})"));
  EXPECT_FALSE(report["host"]["hostname"].get<std::string>().empty());

  testing::CliOutcome recovered =
      testing::run_carbonmeter({"report", "--recover", out_dir, "--json", root.path() + "/recovered.json"});
  ASSERT_EQ(recovered.exit_code, 0) << recovered.err;
  EXPECT_EQ(nlohmann::json::parse(slurp(root.path() + "/recovered.json"))["job"], report["job"]);

  env["SLURM_PROCID"] = "first";
  ProcessGuard bad(
      {CARBONMETER_CLI_PATH, "run", "--output-dir", out_dir, "--", "touch", root.path() + "/ran"}, env);
  EXPECT_EQ(bad.wait(30), 2);
  EXPECT_THAT(bad.err(), HasSubstr("SLURM_PROCID='first' is not a rank"));
  EXPECT_FALSE(std::filesystem::exists(root.path() + "/ran"));
}

TEST(JobMetadata, MonitorTakesTheFlagsToo) {
  FakeRoot root("intel_server_1s", false);
  auto env = testing::hermetic_cli_env();
  env["TORCHELASTIC_RUN_ID"] = "elastic-1";
  env["RANK"] = "0";
  env["WORLD_SIZE"] = "2";
  ProcessGuard monitor({CARBONMETER_CLI_PATH, "monitor", "--interval", "0.05", "--duration", "0.2",
                        "--job-id", "sweep-9", "--json", root.path() + "/monitor.json"},
                       env);
  ASSERT_EQ(monitor.wait(30), 0) << monitor.err();
  const auto report = nlohmann::json::parse(slurp(root.path() + "/monitor.json"));
  EXPECT_EQ(report["job"]["id"], "sweep-9");
  EXPECT_EQ(report["job"]["source"], "flag");
  EXPECT_EQ(report["job"]["rank"], 0);
  EXPECT_EQ(report["job"]["local_rank"], nullptr);
  EXPECT_EQ(report["job"]["world_size"], 2);

  ProcessGuard empty({CARBONMETER_CLI_PATH, "monitor", "--duration", "0.1", "--job-id", ""}, env);
  EXPECT_EQ(empty.wait(30), 2);
  ProcessGuard place_without_metrics(
      {CARBONMETER_CLI_PATH, "monitor", "--duration", "0.1", "--country", "FRA"}, env);
  EXPECT_EQ(place_without_metrics.wait(30), 2);
  EXPECT_THAT(place_without_metrics.err(), HasSubstr("--prometheus"));
}

}  // namespace
}  // namespace carbonmeter
