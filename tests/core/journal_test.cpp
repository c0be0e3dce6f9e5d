#include "core/journal.hpp"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <vector>

#include "carbonmeter/tracker.hpp"
#include "support/fake_root.hpp"

namespace carbonmeter {
namespace {

using testing::FakeRoot;
using ::testing::HasSubstr;

std::string run_with_journal(FakeRoot& root, int samples, double joules_per_sample) {
  TrackerOptions options;
  options.scope = Scope::machine;
  options.interval_s = 3600;
  options.output_dir = root.path() + "/out";
  Tracker tracker(options);
  EXPECT_TRUE(tracker.start().ok());
  std::uint64_t package_uj = 100'000'000;
  for (int i = 0; i < samples; ++i) {
    package_uj += static_cast<std::uint64_t>(joules_per_sample * 1e6);
    root.set_energy_uj("intel-rapl:0", package_uj);
    (void)tracker.current();  // takes a sample, appended to the journal
  }
  tracker.set_exit_code(0);
  tracker.stop();
  auto journal = newest_journal(options.output_dir);
  EXPECT_TRUE(journal.ok());
  return journal.value();
}

// A sync is asked for once a sync period of sample time has passed (0: after every sample); the header
// waits for the first. The sampler's thread does it (sync_if_due()) outside its lock.
void expect_syncs(double period_s, const std::vector<std::pair<double, bool>>& steps) {
  FakeRoot root("intel_server_1s");
  RunHeader header;
  header.run_id = fmt::format("sync-test-{}", period_s);
  auto writer = JournalWriter::create(root.path() + "/out", header, period_s);
  ASSERT_TRUE(writer.ok()) << writer.error().message;
  JournalWriter& journal = *writer.value();
  EXPECT_FALSE(journal.sync_pending());
  // Sample time, and whether a sync is then pending (each pending one is done before the next).
  for (const auto& [t_s, pending] : steps) {
    Sample sample;
    sample.t_s = t_s;
    journal.append(sample);
    EXPECT_EQ(journal.sync_pending(), pending) << "period " << period_s << " s, t = " << t_s;
    journal.sync_if_due();
  }
}

TEST(Journal, AsksForASyncOncePerPeriod) {
  expect_syncs(1.0, {{0.5, false}, {1.0, true}, {1.5, false}, {2.0, true}});
  expect_syncs(5.0, {{1.0, false}, {4.9, false}, {5.0, true}, {9.0, false}, {10.5, true}, {11.0, false}});
  expect_syncs(0.0, {{0.01, true}, {0.02, true}, {0.03, true}});
}

TEST(Journal, RecoversTheSameTotalsAsTheRun) {
  FakeRoot root("intel_server_1s");
  std::string path = run_with_journal(root, 5, 12.5);
  auto report = recover_journal(path);
  ASSERT_TRUE(report.ok()) << report.error().message;
  EXPECT_TRUE(report.value().complete);
  EXPECT_TRUE(report.value().recovered);
  EXPECT_DOUBLE_EQ(report.value().energy_j[Component::cpu], 62.5);
  EXPECT_EQ(report.value().exit_code, 0);
  EXPECT_EQ(report.value().header.methods[Component::cpu].method, "rapl-powercap");
}

// Energies are written as the shortest text that reads back as the same double.
TEST(Journal, EnergiesReadBackBitForBit) {
  FakeRoot root("intel_server_1s");
  RunHeader header;
  header.run_id = "exact-test";
  auto writer = JournalWriter::create(root.path() + "/out", header, 5.0);
  ASSERT_TRUE(writer.ok()) << writer.error().message;
  Sample sample;
  sample.t_s = sample.dt_s = 1000.0;  // within the megawatt that recovery believes
  sample.energy_j.values = {0.1 + 0.2, 123456789.12345679, 4.9406564584124654e-324};
  sample.machine_energy_j.values = {1.0 / 3.0, 7.0000000000000015e8, 2.5};
  writer.value()->append(sample);
  writer.value()->finish(1000.0, 0);
  const std::string path = writer.value()->path();
  writer.value().reset();
  auto report = recover_journal(path);
  ASSERT_TRUE(report.ok()) << report.error().message;
  EXPECT_EQ(report.value().energy_j[Component::cpu], 0.1 + 0.2);
  EXPECT_EQ(report.value().energy_j[Component::ram], 123456789.12345679);
  EXPECT_EQ(report.value().energy_j[Component::gpu], 4.9406564584124654e-324);
  EXPECT_EQ(report.value().machine_energy_j[Component::cpu], 1.0 / 3.0);
  EXPECT_EQ(report.value().machine_energy_j[Component::ram], 7.0000000000000015e8);
}

TEST(Journal, TornLastLineAndMissingEndKeepEverySampleBefore) {
  FakeRoot root("intel_server_1s");
  std::string path = run_with_journal(root, 4, 10.0);
  // Simulate a crash: drop the end record and tear the last sample line in half.
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  in.close();
  ASSERT_GE(lines.size(), 6u);  // header, baseline-less samples (4 + final), end
  lines.pop_back();             // end
  std::string torn = lines.back().substr(0, lines.back().size() / 2);
  lines.pop_back();
  std::ofstream out(path, std::ios::trunc);
  for (const std::string& line : lines) out << line << "\n";
  out << torn;
  out.close();
  auto report = recover_journal(path);
  ASSERT_TRUE(report.ok()) << report.error().message;
  EXPECT_FALSE(report.value().complete);
  EXPECT_DOUBLE_EQ(report.value().energy_j[Component::cpu], 40.0);  // all four samples survive
  EXPECT_THAT(report.value().header.notes.back(), HasSubstr("did not end normally"));
  EXPECT_THAT(report.value().header.notes.back(), HasSubstr("1 unreadable lines skipped"));
}

TEST(Journal, CorruptOrForeignFilesAreClearErrors) {
  FakeRoot root("");
  root.write("garbage.journal", "this is not json\n");
  auto garbage = recover_journal(root.path() + "/garbage.journal");
  ASSERT_FALSE(garbage.ok());
  EXPECT_THAT(garbage.error().message, HasSubstr("not a carbonmeter journal"));
  root.write("empty.journal", "");
  EXPECT_THAT(recover_journal(root.path() + "/empty.journal").error().message, HasSubstr("empty journal"));
  root.write("partial.journal", "{\"type\":\"header\",\"run_id\":\"x\"}\n");
  EXPECT_THAT(recover_journal(root.path() + "/partial.journal").error().message, HasSubstr("incomplete"));
  EXPECT_FALSE(recover_journal(root.path() + "/missing.journal").ok());
  EXPECT_THAT(newest_journal(root.path()).error().message, HasSubstr("no carbonmeter-*.journal"));
}

TEST(Journal, HostileValuesAreSkippedNotSummed) {
  FakeRoot root("intel_server_1s");
  std::string path = run_with_journal(root, 2, 10.0);
  std::ofstream out(path, std::ios::app);
  out << R"({"type":"sample","t":1e308,"dt":1,"e":[1,0,0],"m":[1,0,0],"s":[1,1]})"
         "\n"
      << R"({"type":"sample","t":5,"dt":1,"e":[-1e300,2e300,0],"m":[1,2e300,0],"s":[1,1]})"
         "\n"
      << R"({"type":"sample","t":5,"dt":1,"e":[5,0,0],"m":[1,0,0],"s":[1,1]})"
         "\n"
      << R"({"type":"sample","t":5,"dt":1,"e":[1,0,0],"m":[1,0,0],"s":[7,1]})"
         "\n"
      << R"({"type":"sample","t":5,"dt":"x","e":[1,0,0],"m":[1,0,0],"s":[1,1]})"
         "\n";
  out.close();
  auto report = recover_journal(path);
  ASSERT_TRUE(report.ok()) << report.error().message;
  EXPECT_DOUBLE_EQ(report.value().energy_j[Component::cpu], 20.0);
  EXPECT_TRUE(std::isfinite(report.value().energy_j.total()));
  EXPECT_THAT(report.value().header.notes.back(), HasSubstr("5 unreadable lines skipped"));
}

TEST(Journal, HostileHeaderIsRejected) {
  FakeRoot root("");
  root.write("h.journal",
             R"({"type":"header","run_id":"x","project_name":"p","command":[],"start_unix_s":1e300,)"
             R"("scope":"machine","root_pid":99999999999,"interval_s":1,"methods":{}})"
             "\n");
  auto report = recover_journal(root.path() + "/h.journal");
  ASSERT_FALSE(report.ok());
}

// Whole numbers must be written as integers: a float pid (42E42 once made nlohmann cast out of range,
// which is undefined behaviour; found by journal_recovery_fuzz) or an exit code beyond int is not read.
TEST(Journal, NumbersThatMustBeIntegersAreNotCastFromFloats) {
  FakeRoot root("");
  for (const char* pid : {"42E42", "1.5", "-1", "18446744073709551615"}) {
    root.write("h.journal", fmt::format(R"({{"type":"header","run_id":"x","project_name":"p","command":[],)"
                                        R"("start_unix_s":1,"scope":"machine","root_pid":{},"interval_s":1,)"
                                        R"("methods":{{}}}})"
                                        "\n",
                                        pid));
    auto report = recover_journal(root.path() + "/h.journal");
    ASSERT_FALSE(report.ok()) << "root_pid " << pid;
    EXPECT_THAT(report.error().message, HasSubstr("out-of-range")) << "root_pid " << pid;
  }
  FakeRoot run_root("intel_server_1s");
  for (const char* exit_code : {"4294967297", "1e40", "2.5"}) {
    const std::string path = run_with_journal(run_root, 1, 10.0);
    std::string text;
    {
      std::ifstream in(path);
      std::getline(in, text, '\0');
    }
    const auto end = text.rfind(R"("exit_code":0)");
    ASSERT_NE(end, std::string::npos);
    text.replace(end, std::string(R"("exit_code":0)").size(), std::string(R"("exit_code":)") + exit_code);
    std::ofstream(path, std::ios::trunc) << text;
    auto report = recover_journal(path);
    ASSERT_TRUE(report.ok()) << report.error().message;
    EXPECT_TRUE(report.value().complete);
    EXPECT_FALSE(report.value().exit_code.has_value()) << "exit_code " << exit_code;
    std::filesystem::remove(path);
  }
}

TEST(Journal, UnwritableOutputFolderIsAnError) {
  FakeRoot root("intel_server_1s");
  root.write("a-file", "x");
  TrackerOptions options;
  options.scope = Scope::machine;
  options.output_dir = root.path() + "/a-file/sub";  // a file where a folder should be
  Tracker tracker(options);
  auto started = tracker.start();
  ASSERT_FALSE(started.ok());
  EXPECT_THAT(started.error().message, HasSubstr("--output-dir"));
}

}  // namespace
}  // namespace carbonmeter
