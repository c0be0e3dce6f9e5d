// Crash safety: the real `carbonmeter run` is killed with SIGKILL at seeded-random moments, alone
// or with its whole process group (a power cut, as far as a test can make one), while a fake RAPL
// counter advances at a known power. Then `carbonmeter report --journal` must give the energy up
// to the journal's last sample exactly, mark the run incomplete, and emissions.csv (which earlier,
// finished runs appended to) must hold only whole rows, its earlier rows untouched.
//
// CARBONMETER_CRASH_SEED=N picks another sequence of moments; CARBONMETER_CRASH_ITERATIONS=N runs
// more of them (docs/reliability.md).
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <thread>

#include "support/fake_root.hpp"
#include "support/process_guard.hpp"
#include "support/run_cli.hpp"

namespace carbonmeter {
namespace {

namespace fs = std::filesystem;
using testing::FakeRoot;
using ::testing::HasSubstr;
using testing::slurp;

// The fake package counter: base + k * kStepUj, k = whole 5 ms periods since the driver started,
// so the counter is a function of time (50.0026 W) and every value it shows is base + k * step.
constexpr std::uint64_t kBaseUj = 100'000'000;  // the fixture's intel-rapl:0 value
constexpr std::uint64_t kStepUj = 250'013;      // not a round number: a sum of steps is recognisable
constexpr double kPeriodS = 0.005;
constexpr double kPowerW = kStepUj / 1e6 / kPeriodS;

class CounterDriver {
 public:
  explicit CounterDriver(const FakeRoot& root) : root_(root) {
    thread_ = std::thread([this] {
      const auto start = std::chrono::steady_clock::now();
      while (running_) {
        const double elapsed =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        const auto k = static_cast<std::uint64_t>(elapsed / kPeriodS);
        if (k != k_) {
          root_.set_energy_uj("intel-rapl:0", kBaseUj + k * kStepUj);
          k_ = k;
        }
        std::this_thread::sleep_for(std::chrono::microseconds(500));
      }
    });
  }
  ~CounterDriver() {
    running_ = false;
    thread_.join();
  }

 private:
  const FakeRoot& root_;
  std::atomic<bool> running_{true};
  std::atomic<std::uint64_t> k_{0};
  std::thread thread_;
};

// `carbonmeter ARGS` in a process group of its own (so that killpg reaches it and its command).
pid_t spawn_in_own_group(const std::vector<std::string>& args, const std::string& log_path) {
  const pid_t parent = ::getpid();
  const testing::EnvChanges env = testing::hermetic_cli_env();
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(97);
    const int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (log < 0) ::_exit(96);
    ::dup2(log, 1);
    ::dup2(log, 2);
    testing::apply_env(env);
    std::vector<char*> argv{const_cast<char*>(CARBONMETER_CLI_PATH)};
    for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    ::execv(CARBONMETER_CLI_PATH, argv.data());
    ::_exit(98);
  }
  ::setpgid(pid, pid);  // also here: no race with the kill below
  return pid;
}

std::set<std::string> journals_in(const std::string& dir) {
  std::set<std::string> found;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.path().extension() == ".journal") found.insert(entry.path().string());
  return found;
}

// RFC 4180 records of a CSV text; `complete` false when the text ends inside a record.
std::vector<std::vector<std::string>> csv_records(const std::string& text, bool& complete) {
  std::vector<std::vector<std::string>> records;
  std::vector<std::string> record(1);
  bool quoted = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c != '"')
        record.back() += c;
      else if (i + 1 < text.size() && text[i + 1] == '"')
        record.back() += text[++i];
      else
        quoted = false;
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      record.emplace_back();
    } else if (c == '\n') {
      records.push_back(record);
      record.assign(1, "");
    } else {
      record.back() += c;
    }
  }
  complete = !quoted && record.size() == 1 && record[0].empty();
  return records;
}

// emissions.csv holds whole rows only: it ends with a newline, and every row has the header's
// number of fields. Returns the number of data rows.
std::size_t expect_whole_rows(const std::string& path) {
  const std::string text = slurp(path);
  bool complete = false;
  auto records = csv_records(text, complete);
  EXPECT_TRUE(complete) << path << " ends inside a row:\n"
                        << text.substr(text.size() > 400 ? text.size() - 400 : 0);
  if (records.empty()) return 0;
  for (std::size_t i = 1; i < records.size(); ++i)
    EXPECT_EQ(records[i].size(), records[0].size()) << path << " row " << i << " is not whole";
  return records.size() - 1;
}

struct JournalLines {
  double sum_cpu_j = 0.0;
  double last_t_s = 0.0;
  long samples = 0;
  bool ended = false;
  pid_t root_pid = 0;
};

JournalLines read_journal(const std::string& path) {
  JournalLines lines;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    auto json = nlohmann::json::parse(line, nullptr, false);
    if (!json.is_object()) continue;  // a torn last line
    const std::string type = json.value("type", "");
    if (type == "header") lines.root_pid = json.value("root_pid", 0);
    if (type == "end") lines.ended = true;
    if (type != "sample") continue;
    lines.sum_cpu_j += json["e"][0].get<double>();
    lines.last_t_s = json["t"].get<double>();
    ++lines.samples;
  }
  return lines;
}

enum class Kill { carbonmeter, group };

TEST(Crash, KilledRunsRecoverTheirEnergyAndLeaveEmissionsCsvWhole) {
  const char* seed_text = std::getenv("CARBONMETER_CRASH_SEED");
  const char* iterations_text = std::getenv("CARBONMETER_CRASH_ITERATIONS");
  const unsigned seed = seed_text ? static_cast<unsigned>(std::strtoul(seed_text, nullptr, 10)) : 20261202u;
  const int iterations = iterations_text ? std::atoi(iterations_text) : 9;
  RecordProperty("seed", std::to_string(seed));
  std::mt19937 random(seed);

  FakeRoot root("intel_server_1s", false);
  const std::string out_dir = root.path() + "/out";
  fs::create_directories(out_dir);
  CounterDriver driver(root);
  const std::vector<std::string> common = {"run",  "--scope",      "machine", "--interval",
                                           "0.02", "--output-dir", out_dir,   "--carbon-intensity",
                                           "400",  "--quiet"};

  // Finished runs first: emissions.csv has rows that a torn append would damage.
  for (int i = 0; i < 3; ++i) {
    std::vector<std::string> args = common;
    args.insert(args.end(), {"--", "sleep", "0.1"});
    auto done = testing::run_carbonmeter(args);
    ASSERT_EQ(done.exit_code, 0) << done.err;
  }
  const std::string csv_path = out_dir + "/emissions.csv";
  ASSERT_EQ(expect_whole_rows(csv_path), 3u);

  int recovered_runs = 0;
  for (int iteration = 0; iteration < iterations; ++iteration) {
    // Three kinds, in turn: mid-run (carbonmeter alone, its command orphaned), mid-run power cut
    // (the whole group), and near the end of a short run (the journal's end line, emissions.csv's
    // append, the --json report), alone or the group.
    const int kind = iteration % 3;
    const Kill how = kind == 1 || (kind == 2 && random() % 2) ? Kill::group : Kill::carbonmeter;
    const double kill_after_s = kind == 2 ? std::uniform_real_distribution<double>(0.05, 0.6)(random)
                                          : std::uniform_real_distribution<double>(0.3, 1.5)(random);
    SCOPED_TRACE(::testing::Message()
                 << "seed " << seed << " iteration " << iteration << " kind " << kind
                 << (how == Kill::group ? " killpg" : " kill") << " after " << kill_after_s << " s");
    const std::string csv_before = slurp(csv_path);
    const auto journals_before = journals_in(out_dir);
    std::vector<std::string> args = common;
    args.insert(args.end(), {"--json", root.path() + "/report.json", "--", "sleep", kind == 2 ? "0.1" : "5"});
    const std::string log = root.path() + "/run.log";
    const pid_t pid = spawn_in_own_group(args, log);
    // Mid-run kills count from the run's start (its journal), not from the program's: a sanitizer
    // build takes longer to get there.
    if (kind != 2)
      testing::wait_until([&] { return journals_in(out_dir).size() > journals_before.size(); }, 30.0);
    std::this_thread::sleep_for(std::chrono::duration<double>(kill_after_s));
    if (how == Kill::group)
      ::killpg(pid, SIGKILL);
    else
      ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    ::killpg(pid, SIGKILL);  // the orphaned command, if it is still in the group

    // emissions.csv: whole rows only, and the earlier rows exactly as they were.
    const std::string csv_after = slurp(csv_path);
    EXPECT_EQ(csv_after.compare(0, csv_before.size(), csv_before), 0) << "earlier rows changed";
    const std::size_t rows = expect_whole_rows(csv_path);
    EXPECT_GE(rows, 3u);

    std::string journal;
    for (const std::string& path : journals_in(out_dir))
      if (!journals_before.count(path)) journal = path;
    if (journal.empty()) {
      // Killed before the run started: nothing to recover, which is right for a run with no sample.
      EXPECT_TRUE(kind == 2) << "no journal after " << kill_after_s << " s:\n" << slurp(log);
      continue;
    }
    const JournalLines lines = read_journal(journal);
    if (lines.root_pid > 0 && how == Kill::carbonmeter) ::kill(lines.root_pid, SIGKILL);
    const std::string recovered_json = root.path() + "/recovered.json";
    auto recovered = testing::run_carbonmeter({"report", "--journal", journal, "--json", recovered_json});
    if (lines.samples == 0 && !lines.ended) {
      // A header and no sample yet: recovery gives nothing, or zero energy.
      continue;
    }
    ASSERT_EQ(recovered.exit_code, 0) << recovered.err;
    ++recovered_runs;
    auto report = nlohmann::json::parse(slurp(recovered_json));
    EXPECT_EQ(report["complete"].get<bool>(), lines.ended);
    if (!lines.ended) {
      EXPECT_THAT(recovered.err, HasSubstr("did not end normally"));
    }
    EXPECT_EQ(report["sample_count"].get<long>(), lines.samples);
    const double energy_j = report["energy_j"]["cpu"].get<double>();
    // Up to the last sample, exactly: the sum of the journal's sample lines.
    EXPECT_NEAR(energy_j, lines.sum_cpu_j, 1e-9 * lines.sum_cpu_j + 1e-9);
    // ... which is a difference of two values the counter showed: a whole number of steps.
    const double steps = energy_j * 1e6 / kStepUj;
    EXPECT_NEAR(steps, std::round(steps), 1e-6 * std::max(1.0, steps))
        << energy_j << " J is not a whole number of counter steps";
    // ... and the counter's energy over the journal's time (the counter is a function of time; the
    // bound allows 0.1 s of scheduling delay at each end).
    if (!lines.ended) {
      EXPECT_NEAR(energy_j, kPowerW * lines.last_t_s, kPowerW * 0.2) << lines.last_t_s;
    }
  }
  EXPECT_GE(recovered_runs, iterations / 2) << "too few kills landed after the first sample";
}

}  // namespace
}  // namespace carbonmeter
