// run --server end to end: the real `carbonmeter run` sends its samples to the real
// `carbonmeter serve` (SQLite and PostgreSQL); the server is killed and restarted mid-run, or is
// down at the end and the spool is sent later with `carbonmeter upload`. Nothing is lost and
// nothing counts twice: the server's sums equal the run report's.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "api_fixture.hpp"
#include "upload/run_uploader.hpp"

namespace carbonmeter::testing {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// `carbonmeter ARGS...` in the background, stdout and stderr to files.
class CliProcess {
 public:
  CliProcess(const std::vector<std::string>& args, const std::string& dir, const std::string& api_key)
      : err_path_(dir + "/cli_" + std::to_string(counter_++) + ".err") {
    std::vector<std::string> words = {CARBONMETER_CLI_PATH};
    words.insert(words.end(), args.begin(), args.end());
    pid_ = fork();
    if (pid_ == 0) {
      const int err = open(err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      if (err < 0 || chdir(dir.c_str()) != 0) _exit(127);
      dup2(err, 2);
      dup2(err, 1);
      setenv("CARBONMETER_CONTAINER", "none", 1);  // CI's machine is a container: monitor measures the host
      if (api_key.empty())
        unsetenv("CARBONMETER_API_KEY");
      else
        setenv("CARBONMETER_API_KEY", api_key.c_str(), 1);
      std::vector<char*> argv;
      for (std::string& word : words) argv.push_back(word.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
  }
  ~CliProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  int wait() {
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  std::string err() const { return slurp(err_path_); }
  void signal(int number) const { kill(pid_, number); }

 private:
  static inline int counter_ = 0;
  pid_t pid_ = -1;
  std::string err_path_;
};

class UploadTest : public ApiTest {
 protected:
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  void start_server() {
    if (port_ == 0) {
      start();
      port_ = server_->port();
    } else {  // the same port and database, as after a crash and a restart
      start({"--listen", "127.0.0.1:" + std::to_string(port_)});
    }
    ASSERT_EQ(server_->port(), port_);
  }
  void kill_server() { server_->stop(SIGKILL); }

  std::vector<std::string> run_args(const std::string& interval, const std::string& seconds,
                                    std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {
        "run",      "--server",           url(),    "--project-name", "vision",      "--experiment",
        "baseline", "--interval",         interval, "--json",         "report.json", "--no-csv",
        "--quiet",  "--carbon-intensity", "400"};
    args.insert(args.end(), extra.begin(), extra.end());
    args.insert(args.end(), {"--", "sleep", seconds});
    return args;
  }
  json report() const { return json::parse(slurp(database_->dir() + "/report.json")); }
  std::vector<std::string> spools() const {
    std::vector<std::string> found;
    for (const auto& entry : fs::directory_iterator(database_->dir()))
      if (entry.path().string().find(".spool.jsonl") != std::string::npos) found.push_back(entry.path());
    return found;
  }

  // The server's run equals the report: every sample once, the same energy and emissions.
  void expect_server_has_the_whole_run(const std::string& token) {
    const json local = report();
    const std::string run_id = local["run_id"];
    Reply run = get(client(), "/api/v1/runs/" + run_id, token);
    ASSERT_EQ(run.status, 200) << run.raw;
    EXPECT_EQ(run.body["sample_count"].get<long>(), local["sample_count"].get<long>());
    for (const char* component : {"cpu", "ram", "gpu"}) {
      const double expected = local["energy_j"][component].get<double>();
      EXPECT_NEAR(run.body["energy_j"][component].get<double>(), expected, 1e-9 * expected + 1e-9)
          << component;
    }
    const double emissions = local["emissions_g"].get<double>();
    EXPECT_GT(emissions, 0.0);
    EXPECT_NEAR(run.body["emissions_g"].get<double>(), emissions, 1e-9 * emissions);
    EXPECT_TRUE(run.body["ended_unix_s"].is_number()) << run.raw;
    EXPECT_EQ(run.body["experiment"], "baseline");
    EXPECT_EQ(run.body["scope"], "process");
    EXPECT_EQ(run.body["metadata"]["run_id"], run_id);
    // Samples are numbered 0..n-1 with no gap.
    long expected_seq = 0;
    for (long after = -1;;) {
      Reply page =
          get(client(), "/api/v1/runs/" + run_id + "/samples?after_seq=" + std::to_string(after), token);
      ASSERT_EQ(page.status, 200) << page.raw;
      for (const json& sample : page.body["samples"]) EXPECT_EQ(sample["seq"].get<long>(), expected_seq++);
      if (page.body["next_after_seq"].is_null()) break;
      after = page.body["next_after_seq"].get<long>();
    }
    EXPECT_EQ(expected_seq, local["sample_count"].get<long>());
  }

  int port_ = 0;
};

TEST_P(UploadTest, RunSendsEverySampleOnce) {
  start_server();
  const std::string token = project_with_token("vision");
  CliProcess run(run_args("0.05", "1.5"), database_->dir(), token);
  ASSERT_EQ(run.wait(), 0) << run.err();
  expect_server_has_the_whole_run(token);
  EXPECT_TRUE(spools().empty()) << run.err();
}

TEST_P(UploadTest, ServerKilledAndRestartedMidRunLosesNothing) {
  start_server();
  const std::string token = project_with_token("vision");
  // 0.02 s samples: a batch of 100 leaves about every 2 s, so batches meet the dead server.
  CliProcess run(run_args("0.02", "7"), database_->dir(), token);
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  kill_server();
  // A batch meets the dead server and waits in the spool (within a flush interval, 5 s).
  const auto killed = std::chrono::steady_clock::now();
  while (spools().empty() && std::chrono::steady_clock::now() - killed < std::chrono::milliseconds(4000))
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_EQ(spools().size(), 1u) << "no batch met the dead server";
  start_server();
  ASSERT_EQ(run.wait(), 0) << run.err();
  expect_server_has_the_whole_run(token);
  EXPECT_TRUE(spools().empty()) << run.err();
}

TEST_P(UploadTest, ServerDownAtTheEndLeavesASpoolThatUploadSends) {
  start_server();
  const std::string token = project_with_token("vision");
  CliProcess run(run_args("0.05", "2", {"--server-wait", "1"}), database_->dir(), token);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  kill_server();
  ASSERT_EQ(run.wait(), 0) << run.err();  // the command's own exit code: the samples are kept
  const std::vector<std::string> left = spools();
  ASSERT_EQ(left.size(), 1u) << run.err();
  EXPECT_NE(run.err().find("carbonmeter upload --server " + url() + " '/"), std::string::npos) << run.err();
  EXPECT_NE(run.err().find(fs::path(left[0]).filename().string()), std::string::npos) << run.err();
  const fs::path copy = fs::path(database_->dir()) / "copy" / fs::path(left[0]).filename();
  fs::create_directories(copy.parent_path());
  fs::copy_file(left[0], copy);

  start_server();
  CliProcess upload({"upload", "--server", url(), left[0]}, database_->dir(), token);
  ASSERT_EQ(upload.wait(), 0) << upload.err();
  EXPECT_NE(upload.err().find("spool removed"), std::string::npos) << upload.err();
  EXPECT_TRUE(spools().empty());
  expect_server_has_the_whole_run(token);
  // Sending it again is harmless: the spool is gone, and the server counts nothing twice.
  CliProcess again({"upload", "--server", url(), left[0]}, database_->dir(), token);
  EXPECT_NE(again.wait(), 0);
  CliProcess twice({"upload", "--server", url(), copy.string()}, database_->dir(), token);
  ASSERT_EQ(twice.wait(), 0) << twice.err();
  EXPECT_FALSE(fs::exists(copy));
  expect_server_has_the_whole_run(token);
}

TEST_P(UploadTest, ServerDownAtTheStartGetsTheRegistrationAndEverySampleLater) {
  start_server();
  const std::string token = project_with_token("vision");
  kill_server();
  CliProcess run(run_args("0.05", "3"), database_->dir(), token);
  // The registration waits in the spool from the start.
  const auto started = std::chrono::steady_clock::now();
  while (spools().empty() && std::chrono::steady_clock::now() - started < std::chrono::milliseconds(2000))
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_EQ(spools().size(), 1u) << run.err();
  start_server();
  ASSERT_EQ(run.wait(), 0) << run.err();
  expect_server_has_the_whole_run(token);
  EXPECT_TRUE(spools().empty()) << run.err();
}

TEST_P(UploadTest, ReplayStopsAtTheFirstRefusalAndKeepsTheRestAsItWas) {
  start_server();
  const std::string token = project_with_token("vision");
  const auto line = [](const json& record) { return record.dump() + "\n"; };
  const json run = {{"kind", "run"}, {"run", run_body("r-replay", "vision")}};
  const json first = {
      {"kind", "samples"}, {"run_id", "r-replay"}, {"samples", samples_body(0, 3)["samples"]}};
  const json unknown = {
      {"kind", "samples"}, {"run_id", "r-nope"}, {"samples", samples_body(0, 1)["samples"]}};
  const json rest = {{"kind", "samples"}, {"run_id", "r-replay"}, {"samples", samples_body(3, 2)["samples"]}};
  const std::string path = database_->dir() + "/carbonmeter-r-replay.spool.jsonl";
  {
    std::ofstream out(path);
    out << line(run) << line(first) << line(unknown) << line(rest) << R"({"kind":"finish","run_id")";
  }
  auto sender = upload::ServerClient::connect(upload::parse_server_url(url()).value(), token);
  ASSERT_TRUE(sender) << sender.error().message;
  upload::Spool spool(path);
  const upload::ReplayOutcome outcome = upload::replay_spool(*sender.value(), spool);
  EXPECT_FALSE(outcome.complete);
  EXPECT_FALSE(outcome.retryable) << outcome.error;  // 404: no such run
  EXPECT_EQ(outcome.sent, 3);
  // What was sent is gone but the registration; the rest is as it was, without the cut-short line.
  EXPECT_EQ(slurp(path), line(run) + line(unknown) + line(rest));
  EXPECT_FALSE(fs::exists(path + ".tmp"));
  Reply stored = get(client(), "/api/v1/runs/r-replay", token);
  ASSERT_EQ(stored.status, 200) << stored.raw;
  EXPECT_EQ(stored.body["sample_count"].get<long>(), 3);
}

TEST_P(UploadTest, CtrlCEndsTheFinalWaitAndTheSpoolKeepsTheSamples) {
  start_server();
  const std::string token = project_with_token("vision");
  CliProcess run(run_args("0.05", "1", {"--server-wait", "60"}), database_->dir(), token);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  kill_server();
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));  // the command ended; carbonmeter waits
  const auto interrupted = std::chrono::steady_clock::now();
  run.signal(SIGINT);
  EXPECT_EQ(run.wait(), 128 + SIGINT) << run.err();
  EXPECT_LT(std::chrono::steady_clock::now() - interrupted, std::chrono::seconds(5));
  const std::vector<std::string> left = spools();
  ASSERT_EQ(left.size(), 1u) << run.err();
  EXPECT_TRUE(fs::exists(database_->dir() + "/report.json"));  // written before the wait
  start_server();
  CliProcess upload({"upload", "--server", url(), left[0]}, database_->dir(), token);
  ASSERT_EQ(upload.wait(), 0) << upload.err();
  const json local = report();
  Reply stored = get(client(), "/api/v1/runs/" + local["run_id"].get<std::string>(), token);
  ASSERT_EQ(stored.status, 200) << stored.raw;
  EXPECT_EQ(stored.body["sample_count"].get<long>(), local["sample_count"].get<long>());
}

TEST_P(UploadTest, CtrlCEndsMonitorsFinalWaitAfterItsJsonIsWritten) {
  start_server();
  const std::string token = project_with_token("fleet");
  CliProcess monitor(
      {"monitor", "--server", url(), "--project-name", "fleet", "--interval", "0.05", "--duration", "1",
       "--json", "monitor.json", "--server-wait", "60", "--carbon-intensity", "300"},
      database_->dir(), token);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  kill_server();
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));  // the duration is over; monitor waits
  const auto interrupted = std::chrono::steady_clock::now();
  monitor.signal(SIGINT);
  EXPECT_EQ(monitor.wait(), 128 + SIGINT) << monitor.err();
  EXPECT_LT(std::chrono::steady_clock::now() - interrupted, std::chrono::seconds(5));
  ASSERT_TRUE(fs::exists(database_->dir() + "/monitor.json"));  // written before the wait
  const std::vector<std::string> left = spools();
  ASSERT_EQ(left.size(), 1u) << monitor.err();
  start_server();
  CliProcess upload({"upload", "--server", url(), left[0]}, database_->dir(), token);
  ASSERT_EQ(upload.wait(), 0) << upload.err();
  const json local = json::parse(slurp(database_->dir() + "/monitor.json"));
  Reply stored = get(client(), "/api/v1/runs/" + local["run_id"].get<std::string>(), token);
  ASSERT_EQ(stored.status, 200) << stored.raw;
  EXPECT_EQ(stored.body["sample_count"].get<long>(), local["sample_count"].get<long>());
}

TEST_P(UploadTest, MonitorSendsTheMachineAsAMachineScopeRun) {
  start_server();
  const std::string token = project_with_token("fleet");
  CliProcess monitor(
      {"monitor", "--server", url(), "--project-name", "fleet", "--interval", "0.05", "--duration", "1",
       "--json", "monitor.json", "--carbon-intensity", "300", "--node-name", "node-7"},
      database_->dir(), token);
  ASSERT_EQ(monitor.wait(), 0) << monitor.err();
  const json local = json::parse(slurp(database_->dir() + "/monitor.json"));
  Reply run = get(client(), "/api/v1/runs/" + local["run_id"].get<std::string>(), token);
  ASSERT_EQ(run.status, 200) << run.raw;
  EXPECT_EQ(run.body["scope"], "machine");
  EXPECT_EQ(run.body["job"]["node"], "node-7");
  EXPECT_EQ(run.body["sample_count"].get<long>(), local["sample_count"].get<long>());
  const double cpu_j = local["energy_j"]["cpu"].get<double>();
  EXPECT_NEAR(run.body["energy_j"]["cpu"].get<double>(), cpu_j, 1e-9 * cpu_j);
  // 300 g/kWh on every sample: the server's emissions are the energy's.
  const double total_j = local["energy_j"]["total"].get<double>();
  EXPECT_NEAR(run.body["emissions_g"].get<double>(), total_j / 3.6e6 * 300.0, 1e-9 * total_j);
  EXPECT_TRUE(spools().empty());
}

TEST_P(UploadTest, WrongKeyStopsBeforeTheCommandRuns) {
  start_server();
  project_with_token("vision");
  CliProcess run({"run", "--server", url(), "--project-name", "vision", "--no-csv", "--", "touch", "ran"},
                 database_->dir(), "cm_" + std::string(64, '0'));
  EXPECT_EQ(run.wait(), 1);
  EXPECT_NE(run.err().find("check --api-key"), std::string::npos) << run.err();
  EXPECT_FALSE(fs::exists(database_->dir() + "/ran"));
}

TEST_P(UploadTest, UnknownProjectStopsBeforeTheCommandRuns) {
  start_server();
  const std::string token = project_with_token("vision");
  CliProcess run({"run", "--server", url(), "--project-name", "nope", "--no-csv", "--", "touch", "ran"},
                 database_->dir(), token);
  EXPECT_EQ(run.wait(), 1);
  EXPECT_NE(run.err().find("--project-name"), std::string::npos) << run.err();
  EXPECT_FALSE(fs::exists(database_->dir() + "/ran"));
}

TEST_P(UploadTest, BadServerFlagsAreUsageErrors) {
  CliProcess no_key({"run", "--server", "http://127.0.0.1:9", "--", "true"}, database_->dir(), "");
  EXPECT_EQ(no_key.wait(), 2);
  EXPECT_NE(no_key.err().find("CARBONMETER_API_KEY"), std::string::npos) << no_key.err();
  CliProcess bad_url({"run", "--server", "127.0.0.1:9", "--", "true"}, database_->dir(), "k");
  EXPECT_EQ(bad_url.wait(), 2);
  EXPECT_NE(bad_url.err().find("http://HOST:PORT"), std::string::npos) << bad_url.err();
  CliProcess key_alone({"run", "--api-key", "k", "--", "true"}, database_->dir(), "");
  EXPECT_EQ(key_alone.wait(), 2);
  EXPECT_NE(key_alone.err().find("go with --server"), std::string::npos) << key_alone.err();
  // Given alone even at its default value.
  CliProcess wait_alone({"run", "--server-wait", "15", "--", "true"}, database_->dir(), "");
  EXPECT_EQ(wait_alone.wait(), 2);
  EXPECT_NE(wait_alone.err().find("go with --server"), std::string::npos) << wait_alone.err();
  // The server's rule for names, checked before anything runs.
  for (const std::string flag : {"--project-name", "--experiment"}) {
    CliProcess bad_name(
        {"run", "--server", "http://127.0.0.1:9", flag, std::string(129, 'x'), "--", "touch", "ran"},
        database_->dir(), "k");
    EXPECT_EQ(bad_name.wait(), 2) << flag;
    EXPECT_NE(bad_name.err().find(flag + " must be 1 to 128 characters"), std::string::npos)
        << bad_name.err();
    CliProcess tab({"run", "--server", "http://127.0.0.1:9", flag, "a\tb", "--", "touch", "ran"},
                   database_->dir(), "k");
    EXPECT_EQ(tab.wait(), 2) << flag;
    EXPECT_NE(tab.err().find("control characters"), std::string::npos) << tab.err();
  }
  // 128 characters of two bytes each are within the rule.
  std::string wide;
  for (int i = 0; i < 128; ++i) wide += "\xc3\xa9";
  CliProcess wide_name({"run", "--server", "http://127.0.0.1:9", "--experiment", wide, "--server-wait", "0",
                        "--no-csv", "--", "true"},
                       database_->dir(), "k");
  wide_name.wait();
  EXPECT_EQ(wide_name.err().find("--experiment"), std::string::npos) << wide_name.err();
  EXPECT_FALSE(fs::exists(database_->dir() + "/ran"));
}

TEST_P(UploadTest, AnOutputDirNotThereYetIsCreatedForTheSpool) {
  start_server();
  const std::string token = project_with_token("vision");
  CliProcess run(run_args("0.05", "0.5", {"--output-dir", "new/folder"}), database_->dir(), token);
  ASSERT_EQ(run.wait(), 0) << run.err();
  EXPECT_TRUE(fs::is_directory(database_->dir() + "/new/folder"));
  expect_server_has_the_whole_run(token);
}

INSTANTIATE_TEST_SUITE_P(Backends, UploadTest, ::testing::Values("sqlite", "postgresql"), backend_name);

}  // namespace
}  // namespace carbonmeter::testing
