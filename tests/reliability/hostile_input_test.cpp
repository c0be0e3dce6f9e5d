// Hostile input on every command, run through the real program: absurd numbers, huge and sparse
// input files, non-UTF-8 names; and output files that are symbolic links to elsewhere, in a
// read-only folder or on a full disk. Each must give a clear error (exit 1 or 2, never a signal,
// never a hang, bounded memory) and leave the data that was there before intact
// (docs/reliability.md has the rules).
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "support/fake_root.hpp"
#include "support/run_cli.hpp"

namespace carbonmeter {
namespace {

namespace fs = std::filesystem;
using testing::FakeRoot;
using ::testing::HasSubstr;
using testing::slurp;
using testing::write_file;

constexpr double kTimeoutS = 20.0;
constexpr long kMaxRssKb = 1024 * 1024;  // 1 GiB: a 2 GB file must not be read whole

struct Outcome {
  testing::CliOutcome cli;
  bool hung = false;
  long peak_rss_kb = 0;  // VmHWM, as last seen while it ran (polled every 20 ms)
};

long status_kb(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind(field, 0) == 0) return std::atol(line.c_str() + field.size());
  return 0;
}

// Runs carbonmeter; kills it (and reports a hang) when it runs longer than kTimeoutS.
Outcome run_bounded(const std::vector<std::string>& args, const std::string& cwd = "/tmp") {
  Outcome outcome;
  outcome.cli = testing::run_carbonmeter(args, cwd, [&](pid_t pid) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(kTimeoutS);
    while (std::chrono::steady_clock::now() < deadline) {
      outcome.peak_rss_kb = std::max(outcome.peak_rss_kb, status_kb(pid, "VmHWM:"));
      std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
      std::string text((std::istreambuf_iterator<char>(stat)), {});
      const auto close = text.rfind(')');
      if (close == std::string::npos || text.size() < close + 3 || text[close + 2] == 'Z') return;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    outcome.hung = true;
    ::kill(pid, SIGKILL);
  });
  return outcome;
}

// A sparse file of `bytes` zero bytes (no newline anywhere).
void sparse_file(const std::string& path, off_t bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ASSERT_GE(fd, 0) << path;
  ASSERT_EQ(::ftruncate(fd, bytes), 0) << path;
  ::close(fd);
}

// A clear refusal: exit 1 or 2, no signal, no hang, a message on stderr, memory bounded.
void expect_refused(const Outcome& outcome, const std::string& what, const std::string& message = "") {
  EXPECT_FALSE(outcome.hung) << what << ": still running after " << kTimeoutS << " s";
  EXPECT_FALSE(outcome.cli.signalled) << what << ": killed by signal " << outcome.cli.exit_code - 128 << "\n"
                                      << outcome.cli.err;
  EXPECT_TRUE(outcome.cli.exit_code == 1 || outcome.cli.exit_code == 2)
      << what << ": exit " << outcome.cli.exit_code << "\n"
      << outcome.cli.err;
  EXPECT_FALSE(outcome.cli.err.empty()) << what << ": no message";
  EXPECT_LT(std::count(outcome.cli.err.begin(), outcome.cli.err.end(), '\n'), 6)
      << what << ": not a short message:\n"
      << outcome.cli.err;
  EXPECT_EQ(outcome.cli.err.find("terminate called"), std::string::npos) << what << "\n" << outcome.cli.err;
  if (!message.empty()) {
    EXPECT_THAT(outcome.cli.err, HasSubstr(message)) << what;
  }
  EXPECT_LT(outcome.peak_rss_kb, kMaxRssKb) << what << ": used more than 1 GiB";
}

struct Case {
  std::string name;
  std::vector<std::string> args;  // "{D}" is replaced by the test's folder
  std::string message;            // a part of the expected message ("" : any)
};

class HostileInput : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = root_.path();
    write_file(dir_ + "/run.json", R"({"duration_s": 10})");
  }
  std::vector<std::string> expand(std::vector<std::string> args) const {
    for (std::string& arg : args)
      for (std::size_t at; (at = arg.find("{D}")) != std::string::npos;) arg.replace(at, 3, dir_);
    return args;
  }
  FakeRoot root_{"intel_server_1s", false};
  std::string dir_;
};

// Absurd numbers on every command that takes one.
TEST_F(HostileInput, AbsurdNumbersAreRefusedClearly) {
  const std::vector<std::string> run = {"run", "--output-dir", "{D}/out", "--quiet"};
  auto with = [](std::vector<std::string> base, std::vector<std::string> more) {
    base.insert(base.end(), more.begin(), more.end());
    return base;
  };
  const std::vector<Case> cases = {
      {"run --interval 1e308", with(run, {"--interval", "1e308", "--", "true"}), "--interval"},
      {"run --interval nan", with(run, {"--interval", "nan", "--", "true"}), "--interval"},
      {"run --interval -1", with(run, {"--interval", "-1", "--", "true"}), "--interval"},
      {"run --interval inf", with(run, {"--interval", "inf", "--", "true"}), "--interval"},
      {"run --carbon-intensity -5", with(run, {"--carbon-intensity", "-5", "--", "true"}), "intensity"},
      {"run --carbon-intensity 1e308", with(run, {"--carbon-intensity", "1e308", "--", "true"}), "intensity"},
      {"run --carbon-intensity nan", with(run, {"--carbon-intensity", "nan", "--", "true"}), "intensity"},
      {"run --pue 0", with(run, {"--carbon-intensity", "400", "--pue", "0", "--", "true"}), "pue"},
      {"run --pue nan", with(run, {"--carbon-intensity", "400", "--pue", "nan", "--", "true"}), "pue"},
      {"run --pue 1e308", with(run, {"--carbon-intensity", "400", "--pue", "1e308", "--", "true"}), "pue"},
      {"run --wue -1", with(run, {"--carbon-intensity", "400", "--wue", "-1", "--", "true"}), "wue"},
      {"run --server-wait nan",
       with(run, {"--server", "http://127.0.0.1:9", "--server-wait", "nan", "--", "true"}), "--server-wait"},
      {"run --plan --duration nan",
       with(run, {"--intensity-series", "{D}/series.csv", "--plan", "flexible-start", "--duration", "nan",
                  "--", "true"}),
       ""},
      {"monitor --duration nan", {"monitor", "--duration", "nan"}, "--duration"},
      {"monitor --duration -1", {"monitor", "--duration", "-1"}, "--duration"},
      {"monitor --duration 1e308", {"monitor", "--duration", "1e308"}, "--duration"},
      {"monitor --interval 1e308", {"monitor", "--interval", "1e308"}, "--interval"},
      {"estimate --hours -1", {"estimate", "--hardware", "A100", "--hours", "-1"}, "hours"},
      {"estimate --hours 1e308", {"estimate", "--hardware", "A100", "--hours", "1e308"}, "hours"},
      {"estimate --hours nan", {"estimate", "--hardware", "A100", "--hours", "nan"}, "hours"},
      {"estimate --duration -5h", {"estimate", "--hardware", "A100", "--duration", "-5h"}, "duration"},
      {"estimate --power-w nan",
       {"estimate", "--hardware", "A100", "--power-w", "nan", "--hours", "1"},
       "power"},
      {"estimate --count -1", {"estimate", "--hardware", "A100", "--count", "-1", "--hours", "1"}, "count"},
      {"estimate --energy-kwh -1", {"estimate", "--energy-kwh", "-1"}, "energy"},
      {"estimate --memory-gb 1e308", {"estimate", "--memory-gb", "1e308", "--hours", "1"}, "memory"},
      {"plan --window -1h",
       {"plan", "--strategy", "flexible-start", "--intensity-series", "{D}/series.csv", "--duration", "1h",
        "--window", "-1h"},
       ""},
      {"plan --duration nan",
       {"plan", "--strategy", "flexible-start", "--intensity-series", "{D}/series.csv", "--duration", "nan"},
       ""},
      {"whatif --count 1e9",
       {"whatif", "{D}/run.json", "--intensity-series", "{D}/series.csv", "--count", "1e9"},
       "--count"},
      {"whatif --every 0",
       {"whatif", "{D}/run.json", "--intensity-series", "{D}/series.csv", "--every", "0"},
       "--every"},
      {"power-limit --profile NaN", {"power-limit", "choose", "--profile", "{D}/nan_profile.json"}, ""},
      {"power-limit --eta nan",
       {"power-limit", "choose", "--profile", "{D}/nan_profile.json", "--eta", "nan"},
       ""},
      {"hub search --min-grams nan", {"hub", "search", "--cards", "{D}", "--min-grams", "nan"}, ""},
      {"serve --rate-limit nan", {"serve", "--db", "sqlite:{D}/db.sqlite", "--rate-limit", "nan"}, "rate"},
      {"serve --rate-limit 1e-20",
       {"serve", "--db", "sqlite:{D}/db.sqlite", "--rate-limit", "1e-20"},
       "one a day"},
      {"serve --listen port 99999",
       {"serve", "--db", "sqlite:{D}/db.sqlite", "--listen", "127.0.0.1:99999"},
       ""},
      {"report run.json with NaN", {"report", "{D}/nan_run.json", "--html", "{D}/nan.html"}, ""},
  };
  write_file(dir_ + "/series.csv",
             "datetime,carbon_intensity\n2026-01-01T00:00:00Z,100\n2026-01-01T01:00:00Z,200\n");
  write_file(
      dir_ + "/nan_profile.json",
      R"({"measurements": [{"power_limit": 300, "energy": 1e308, "time": NaN}, {"power_limit": 200, "energy": 1, "time": 2}]})");
  write_file(dir_ + "/nan_run.json", R"({"duration_s": NaN, "energy_j": {"cpu": 1e308}})");
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    expect_refused(run_bounded(expand(c.args)), c.name, c.message);
  }
}

// A 2 GB sparse file (no newline, all zero bytes) wherever a file is read.
TEST_F(HostileInput, HugeInputFilesAreRefusedOrReadInBoundedMemory) {
  const std::string huge = dir_ + "/huge";
  sparse_file(huge, off_t{2} << 30);
  const std::vector<Case> cases = {
      {"run --intensity-series",
       {"run", "--output-dir", "{D}/out", "--intensity-series", huge, "--", "true"},
       ""},
      {"intensity --intensity-series", {"intensity", "--intensity-series", huge}, ""},
      {"plan --intensity-series",
       {"plan", "--strategy", "flexible-start", "--intensity-series", huge, "--duration", "1h"},
       ""},
      {"power-limit --profile", {"power-limit", "choose", "--profile", huge}, ""},
      {"report RUN.json", {"report", huge, "--html", "{D}/huge.html"}, "MiB"},
      {"whatif RUN.json", {"whatif", huge, "--intensity-series", huge}, ""},
      {"upload a file that is not a spool",
       {"upload", "--server", "http://127.0.0.1:9", "--api-key", "k", huge},
       "not a spool"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    expect_refused(run_bounded(expand(c.args)), c.name, c.message);
  }
}

// Files read a line or a card at a time have a bound too: a journal line (1 MiB), a spool line
// (64 MiB), a model card (16 MiB). A journal or spool that is all one huge line is refused; a
// huge card is listed as not read and the search goes on.
TEST_F(HostileInput, HugeFilesReadByTheHubJournalAndSpoolReaders) {
  fs::create_directories(dir_ + "/cards/model");
  sparse_file(dir_ + "/cards/model/README.md", off_t{2} << 30);
  sparse_file(dir_ + "/huge.journal", off_t{2} << 30);
  sparse_file(dir_ + "/carbonmeter-x.spool.jsonl", off_t{2} << 30);
  const std::vector<Case> cases = {
      {"report --journal", {"report", "--journal", "{D}/huge.journal"}, "line 1 is longer than 1024 KiB"},
      {"upload spool",
       {"upload", "--server", "http://127.0.0.1:9", "--api-key", "k", "{D}/carbonmeter-x.spool.jsonl"},
       ""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    expect_refused(run_bounded(expand(c.args)), c.name, c.message);
  }
  const Outcome search = run_bounded(expand({"hub", "search", "--cards", "{D}/cards", "--json"}));
  EXPECT_FALSE(search.hung);
  EXPECT_FALSE(search.cli.signalled) << search.cli.err;
  EXPECT_EQ(search.cli.exit_code, 0) << search.cli.err;
  EXPECT_EQ(search.cli.out, "[]\n");
  EXPECT_THAT(
      search.cli.err,
      HasSubstr(
          "2048 MiB is more than any such file carbonmeter reads (16 MiB at most): is it the right file?"));
  EXPECT_LT(search.peak_rss_kb, kMaxRssKb);
}

// Names that are not UTF-8 are file names like any other: they work, or fail clearly.
TEST_F(HostileInput, NonUtf8NamesWorkOrFailClearly) {
  const std::string odd = dir_ + "/r\xff\xfe\xc3(";
  auto ran = run_bounded({"run", "--scope", "machine", "--interval", "0.05", "--carbon-intensity", "400",
                          "--quiet", "--output-dir", odd, "--json", odd + ".json", "--", "true"});
  EXPECT_FALSE(ran.cli.signalled) << ran.cli.err;
  EXPECT_FALSE(ran.hung);
  EXPECT_EQ(ran.cli.exit_code, 0) << ran.cli.err;
  EXPECT_TRUE(fs::exists(odd + ".json"));
  auto recovered = run_bounded({"report", "--recover", odd, "--json", odd + "/recovered.json"});
  EXPECT_FALSE(recovered.cli.signalled) << recovered.cli.err;
  EXPECT_EQ(recovered.cli.exit_code, 0) << recovered.cli.err;
  auto html = run_bounded({"report", odd + ".json", "--html", odd + ".html"});
  EXPECT_FALSE(html.cli.signalled) << html.cli.err;
  EXPECT_EQ(html.cli.exit_code, 0) << html.cli.err;
}

// emissions.csv is a name carbonmeter picks inside --output-dir: a symbolic link there points
// where the user did not say, and is refused; the file it points to and the link stay as they were.
TEST_F(HostileInput, EmissionsCsvThatIsASymlinkIsRefused) {
  const std::string out = dir_ + "/out";
  fs::create_directories(out);
  write_file(dir_ + "/elsewhere.txt", "precious\n");
  fs::create_symlink(dir_ + "/elsewhere.txt", out + "/emissions.csv");
  auto outcome = run_bounded({"run", "--scope", "machine", "--interval", "0.05", "--carbon-intensity", "400",
                              "--quiet", "--output-dir", out, "--", "true"});
  expect_refused(outcome, "emissions.csv symlink", "is a symbolic link");
  EXPECT_EQ(slurp(dir_ + "/elsewhere.txt"), "precious\n");
  EXPECT_TRUE(fs::is_symlink(out + "/emissions.csv"));
}

// A FIFO planted as emissions.csv must not block the run's end.
TEST_F(HostileInput, EmissionsCsvThatIsAFifoIsRefused) {
  const std::string out = dir_ + "/out";
  fs::create_directories(out);
  ASSERT_EQ(::mkfifo((out + "/emissions.csv").c_str(), 0644), 0);
  auto outcome = run_bounded({"run", "--scope", "machine", "--interval", "0.05", "--carbon-intensity", "400",
                              "--quiet", "--output-dir", out, "--", "true"});
  expect_refused(outcome, "emissions.csv fifo", "not a regular file");
}

// --json names a path: a symbolic link there is the user's own, and is followed (the file it
// points to is replaced whole, the link stays); /dev/stdout keeps working (cli_test).
TEST_F(HostileInput, JsonPathThatIsASymlinkIsFollowedAndReplacedWhole) {
  write_file(dir_ + "/target.json", "old\n");
  fs::create_symlink(dir_ + "/target.json", dir_ + "/link.json");
  auto outcome =
      run_bounded({"run", "--scope", "machine", "--interval", "0.05", "--carbon-intensity", "400", "--quiet",
                   "--no-csv", "--output-dir", dir_ + "/out", "--json", dir_ + "/link.json", "--", "true"});
  EXPECT_EQ(outcome.cli.exit_code, 0) << outcome.cli.err;
  EXPECT_TRUE(fs::is_symlink(dir_ + "/link.json"));
  EXPECT_TRUE(nlohmann::json::parse(slurp(dir_ + "/target.json"), nullptr, false).is_object());
}

// /dev/full (a disk that is always full) as --json: a clear error, exit 1.
TEST_F(HostileInput, JsonOnAFullDeviceFailsClearly) {
  auto outcome =
      run_bounded({"run", "--scope", "machine", "--interval", "0.05", "--carbon-intensity", "400", "--quiet",
                   "--no-csv", "--output-dir", dir_ + "/out", "--json", "/dev/full", "--", "true"});
  expect_refused(outcome, "--json /dev/full", "No space left on device");
}

// A small tmpfs (needs CAP_SYS_ADMIN: skipped where mount is not allowed).
class SmallDisk : public HostileInput {
 protected:
  void SetUp() override {
    HostileInput::SetUp();
    mount_ = dir_ + "/small";
    fs::create_directories(mount_);
    if (::mount("tmpfs", mount_.c_str(), "tmpfs", 0, "size=64k") != 0) {
      mount_.clear();
      GTEST_SKIP() << "cannot mount a tmpfs here (" << std::strerror(errno)
                   << "): the full-disk cases run as root with CAP_SYS_ADMIN";
    }
  }
  void TearDown() override {
    if (!mount_.empty()) ::umount2(mount_.c_str(), MNT_DETACH);
  }
  std::string mount_;
};

TEST_F(SmallDisk, FullDiskLeavesEmissionsCsvAndTheReportAsTheyWere) {
  const std::string out = mount_ + "/out";
  fs::create_directories(out);
  const std::vector<std::string> run = {
      "run", "--scope", "machine",      "--interval", "0.05",   "--carbon-intensity",
      "400", "--quiet", "--output-dir", out,          "--json", out + "/report.json",
      "--",  "true"};
  auto first = run_bounded(run);
  ASSERT_EQ(first.cli.exit_code, 0) << first.cli.err;
  const std::string csv_before = slurp(out + "/emissions.csv");
  const std::string report_before = slurp(out + "/report.json");
  ASSERT_FALSE(csv_before.empty());
  // Grow emissions.csv with copies of its last row (whole rows) until the next row must take a
  // new page of the tmpfs; then fill the disk and free one page, for the journal. The append
  // then meets ENOSPC part-way and must be undone.
  {
    const std::string last_row =
        csv_before.substr(csv_before.rfind('\n', csv_before.size() - 2) + 1);  // with its '\n'
    std::string grown = csv_before;
    const std::size_t row = last_row.size();
    auto room = [&] { return 4096 - grown.size() % 4096; };  // left in the file's last page
    while (room() + 32 >= row) grown += last_row;            // ends with room < row - 32
    write_file(out + "/emissions.csv", grown);
  }
  const std::string grown_csv = slurp(out + "/emissions.csv");
  {
    const int fd = ::open((mount_ + "/filler").c_str(), O_WRONLY | O_CREAT, 0644);
    std::string block(4096, 'x');
    while (::write(fd, block.data(), block.size()) > 0) {
    }
    struct stat st {};
    ::fstat(fd, &st);
    ASSERT_EQ(::ftruncate(fd, st.st_size - 4096), 0);
    ::close(fd);
  }
  auto full = run_bounded(run);
  EXPECT_FALSE(full.cli.signalled) << full.cli.err;
  EXPECT_EQ(full.cli.exit_code, 1) << full.cli.err;
  EXPECT_THAT(full.cli.err, HasSubstr("No space left on device"));
  EXPECT_THAT(full.cli.err, HasSubstr("emissions.csv: No space left on device (the file is as it was"));
  EXPECT_EQ(slurp(out + "/emissions.csv"), grown_csv);
  EXPECT_EQ(slurp(out + "/report.json"), report_before);
  for (const auto& entry : fs::directory_iterator(out))
    EXPECT_EQ(entry.path().filename().string().find(".tmp"), std::string::npos) << entry.path();
}

TEST_F(SmallDisk, ReadOnlyOutputDirFailsBeforeTheCommandRuns) {
  const std::string out = mount_ + "/out";
  auto first = run_bounded({"run", "--scope", "machine", "--interval", "0.05", "--carbon-intensity", "400",
                            "--quiet", "--output-dir", out, "--", "true"});
  ASSERT_EQ(first.cli.exit_code, 0) << first.cli.err;
  const std::string csv_before = slurp(out + "/emissions.csv");
  ASSERT_EQ(::mount(nullptr, mount_.c_str(), nullptr, MS_REMOUNT | MS_RDONLY, nullptr), 0)
      << std::strerror(errno);
  auto outcome = run_bounded({"run", "--scope", "machine", "--interval", "0.05", "--carbon-intensity", "400",
                              "--quiet", "--output-dir", out, "--", "sh", "-c", "touch " + dir_ + "/ran"});
  expect_refused(outcome, "read-only --output-dir", "Read-only file system");
  EXPECT_FALSE(fs::exists(dir_ + "/ran")) << "the command ran although nothing could be recorded";
  EXPECT_EQ(slurp(out + "/emissions.csv"), csv_before);
  auto json = run_bounded({"report", "--recover", out, "--json", out + "/r.json"});
  expect_refused(json, "report --json in a read-only folder", "");
}

}  // namespace
}  // namespace carbonmeter
