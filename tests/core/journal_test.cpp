#include "core/journal.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

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

// The header waits for the first sync; then a sync is asked for once a second of sample time. Both
// are done by sync_if_due(), which the sampler's thread calls outside its lock.
TEST(Journal, AsksForASyncOnceASecond) {
  FakeRoot root("intel_server_1s");
  RunHeader header;
  header.run_id = "sync-test";
  auto writer = JournalWriter::create(root.path() + "/out", header);
  ASSERT_TRUE(writer.ok()) << writer.error().message;
  JournalWriter& journal = *writer.value();
  EXPECT_TRUE(journal.sync_pending());
  journal.sync_if_due();
  EXPECT_FALSE(journal.sync_pending());
  // Sample time, and whether a sync is then pending (each pending one is done before the next).
  const std::pair<double, bool> steps[] = {{0.5, false}, {1.0, true}, {1.5, false}, {2.0, true}};
  for (const auto& [t_s, pending] : steps) {
    Sample sample;
    sample.t_s = t_s;
    journal.append(sample);
    EXPECT_EQ(journal.sync_pending(), pending) << "t = " << t_s;
    journal.sync_if_due();
  }
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
