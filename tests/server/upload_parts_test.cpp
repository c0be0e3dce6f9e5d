// The pieces of run --server on their own: the server address, the spool file, the records sent.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>

#include "carbon/intensity_series.hpp"
#include "carbon/reference_data.hpp"
#include "upload/run_records.hpp"
#include "upload/server_client.hpp"
#include "upload/spool.hpp"

namespace carbonmeter::upload {
namespace {

namespace fs = std::filesystem;

TEST(ServerUrl, ParsesHostsPortsAndPaths) {
  auto plain = parse_server_url("http://127.0.0.1:8080");
  ASSERT_TRUE(plain) << plain.error().message;
  EXPECT_EQ(plain.value().host, "127.0.0.1");
  EXPECT_EQ(plain.value().port, 8080);
  EXPECT_EQ(plain.value().base_path, "");

  auto tls = parse_server_url("https://carbon.example.org/team/");
  ASSERT_TRUE(tls);
  EXPECT_EQ(tls.value().port, 443);
  EXPECT_EQ(tls.value().base_path, "/team");

  auto api = parse_server_url("http://h:1/api/v1");  // the API prefix is added by the client
  ASSERT_TRUE(api);
  EXPECT_EQ(api.value().base_path, "");

  auto v6 = parse_server_url("http://[::1]:9000");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6.value().host, "::1");
  EXPECT_EQ(v6.value().text(), "http://[::1]:9000");
}

TEST(ServerUrl, RefusesWhatIsNotAnAddress) {
  for (const char* bad : {"127.0.0.1:8080", "ftp://h", "http://", "http://h:0", "http://h:70000",
                          "http://h:80x", "http://user:pw@h:80", "http://h:80/x?y=1", "http://[::1"}) {
    auto parsed = parse_server_url(bad);
    EXPECT_FALSE(parsed) << bad;
    if (!parsed) {
      EXPECT_NE(parsed.error().message.find("http://HOST:PORT"), std::string::npos) << bad;
    }
  }
}

TEST(ApiKey, FlagThenEnvironment) {
  ::unsetenv("CARBONMETER_API_KEY");
  EXPECT_FALSE(resolve_api_key(""));
  EXPECT_EQ(resolve_api_key("cm_flag").value(), "cm_flag");
  ::setenv("CARBONMETER_API_KEY", "cm_env", 1);
  EXPECT_EQ(resolve_api_key("").value(), "cm_env");
  EXPECT_EQ(resolve_api_key("cm_flag").value(), "cm_flag");
  ::unsetenv("CARBONMETER_API_KEY");
  EXPECT_FALSE(resolve_api_key("has space"));
}

class SpoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("cm_spool_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

// Every record a reader gives, or its error.
Result<std::vector<nlohmann::json>> read_all(const fs::path& path) {
  SpoolReader reader(path.string());
  std::vector<nlohmann::json> records;
  for (;;) {
    auto next = reader.next();
    if (!next) return next.error();
    if (!next.value()) return records;
    records.push_back(next.value()->record);
  }
}

std::string slurp(const fs::path& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

TEST_F(SpoolTest, AppendsReadsRewritesAndRemoves) {
  Spool spool((dir_ / "s.spool.jsonl").string());
  EXPECT_FALSE(spool.exists());
  const nlohmann::json run = {{"kind", "run"}, {"run", {{"run_id", "r1"}}}};
  const nlohmann::json samples = {{"kind", "samples"}, {"run_id", "r1"}, {"samples", {{{"seq", 0}}}}};
  const nlohmann::json finish = {{"kind", "finish"}, {"run_id", "r1"}, {"ended_unix_s", 5.0}};
  ASSERT_TRUE(spool.append(run));
  ASSERT_TRUE(spool.append(samples));
  ASSERT_TRUE(spool.append(finish));
  auto loaded = read_all(spool.path());
  ASSERT_TRUE(loaded) << loaded.error().message;
  ASSERT_EQ(loaded.value().size(), 3u);
  EXPECT_EQ(loaded.value()[1], samples);

  // Rewritten as given lines, then what the reader has not read yet, copied as it was.
  SpoolReader reader(spool.path());
  auto first = reader.next();
  ASSERT_TRUE(first && first.value());
  const std::string run_line = first.value()->text;
  ASSERT_TRUE(reader.next());  // the samples: read, so left out
  ASSERT_TRUE(spool.rewrite({run_line}, reader));
  EXPECT_EQ(slurp(spool.path()), run_line + "\n" + dump_json(finish) + "\n");
  EXPECT_FALSE(fs::exists(spool.path() + ".tmp"));

  ASSERT_TRUE(spool.remove());
  EXPECT_FALSE(spool.exists());
  EXPECT_TRUE(spool.remove());  // already gone: fine
}

TEST_F(SpoolTest, ALastLineCutShortIsLeftOutAndOtherDamageIsAnError) {
  const fs::path path = dir_ / "cut.spool.jsonl";
  const std::string whole = R"({"kind":"run","run":{"run_id":"r1"}})";
  {
    std::ofstream out(path);
    out << whole << "\n"
        << R"({"kind":"samples","run_id":"r1","sam)";
  }
  auto loaded = read_all(path);
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(loaded.value().size(), 1u);
  // A rewrite copies whole lines only: a record appended next starts on a line of its own.
  Spool cut(path.string());
  SpoolReader reader(path.string());
  ASSERT_TRUE(cut.rewrite({}, reader));
  EXPECT_EQ(slurp(path), whole + "\n");

  const fs::path bad = dir_ / "bad.spool.jsonl";
  {
    std::ofstream out(bad);
    out << "not json\n"
        << R"({"kind":"run","run":{}})"
        << "\n";
  }
  auto refused = read_all(bad);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("line 1"), std::string::npos) << refused.error().message;

  const fs::path unknown = dir_ / "unknown.spool.jsonl";
  {
    std::ofstream out(unknown);
    out << R"({"kind":"samples","run_id":"r1"})"
        << "\n";  // no samples array
  }
  EXPECT_FALSE(read_all(unknown));
  EXPECT_FALSE(read_all(dir_ / "missing.spool.jsonl"));
}

TEST_F(SpoolTest, AFailedRewriteLeavesTheSpoolAndNothingBesideIt) {
  // A folder where the spool should be: it cannot be read, so the rewrite fails.
  const fs::path path = dir_ / "folder.spool.jsonl";
  fs::create_directories(path / "inside");
  Spool spool(path.string());
  SpoolReader reader(path.string());
  EXPECT_FALSE(spool.rewrite({R"({"kind":"run","run":{}})"}, reader));
  EXPECT_FALSE(fs::exists(path.string() + ".tmp"));
  EXPECT_TRUE(fs::is_directory(path / "inside"));
}

TEST(RunRecords, RegistrationCarriesTheJobAndTheHeader) {
  RunHeader header;
  header.run_id = "20261202T000000.000-42";
  header.project_name = "vision";
  header.scope = "machine";
  header.hostname = "host-a";
  header.start_unix_s = 1.7e9;
  header.job.id = "slurm-7";
  header.job.rank = 3;
  header.job.world_size = 8;
  const nlohmann::json body = run_registration(header, "lr-sweep");
  EXPECT_EQ(body["run_id"], header.run_id);
  EXPECT_EQ(body["project"], "vision");
  EXPECT_EQ(body["experiment"], "lr-sweep");
  EXPECT_EQ(body["scope"], "machine");
  EXPECT_EQ(body["job"]["node"], "host-a");  // the host name when no --node-name
  EXPECT_EQ(body["job"]["id"], "slurm-7");
  EXPECT_EQ(body["job"]["rank"], 3);
  EXPECT_FALSE(body["job"].contains("local_rank"));
  EXPECT_EQ(body["metadata"]["run_id"], header.run_id);
  EXPECT_FALSE(run_registration(header, "").contains("experiment"));
}

TEST(RunRecords, SampleEmissionsFollowTheIntensityInForce) {
  Sample sample;
  sample.t_s = 10.0;
  sample.dt_s = 2.0;
  sample.energy_j[Component::cpu] = 3.6e6;  // 1 kWh
  sample.energy_j[Component::gpu] = 3.6e6;
  ResolvedLocation constant;
  constant.constant = IntensityFigure{};
  constant.constant->g_per_kwh = 300.0;
  constant.pue = 1.5;
  const nlohmann::json record = sample_record(7, sample, 1000.0, constant);
  EXPECT_EQ(record["seq"], 7);
  EXPECT_DOUBLE_EQ(record["t_unix_s"].get<double>(), 1010.0);
  EXPECT_DOUBLE_EQ(record["dt_s"].get<double>(), 2.0);
  EXPECT_DOUBLE_EQ(record["energy_j"]["cpu"].get<double>(), 3.6e6);
  EXPECT_DOUBLE_EQ(record["emissions_g"].get<double>(), 2 * 1.5 * 300.0);  // energy x PUE x intensity
  EXPECT_DOUBLE_EQ(record["intensity_g_per_kwh"].get<double>(), 300.0);

  const nlohmann::json unknown = sample_record(0, sample, 1000.0, ResolvedLocation{});
  EXPECT_TRUE(unknown["intensity_g_per_kwh"].is_null());
  EXPECT_EQ(unknown["emissions_g"].get<double>(), 0.0);
}

TEST(RunRecords, SampleEmissionsFollowASeriesAcrossStepsAndGaps) {
  // 100 g/kWh from 1000, 300 from 2000, a gap from 3000, 50 from 4000.
  auto series = IntensitySeries::parse("timestamp,g\n1000,100\n2000,300\n3000,\n4000,50\n", "grid.csv", "g");
  ASSERT_TRUE(series) << series.error().message;
  ResolvedLocation location;
  location.series = std::make_shared<IntensitySeries>(series.value());
  location.pue = 1.0;
  Sample sample;
  sample.dt_s = 1000.0;
  sample.energy_j[Component::cpu] = 3.6e6;  // 1 kWh
  const double run_start_unix_s = 1000.0;

  sample.t_s = 1500.0;  // [1500, 2500]: half at 100, half at 300
  const nlohmann::json two_steps = sample_record(0, sample, run_start_unix_s, location);
  EXPECT_DOUBLE_EQ(two_steps["intensity_g_per_kwh"].get<double>(), 200.0);
  EXPECT_DOUBLE_EQ(two_steps["emissions_g"].get<double>(), 200.0);

  sample.t_s = 2500.0;  // [2500, 3500]: half at 300, half in the gap (no emissions counted for it)
  const nlohmann::json into_gap = sample_record(1, sample, run_start_unix_s, location);
  EXPECT_DOUBLE_EQ(into_gap["intensity_g_per_kwh"].get<double>(), 300.0);
  EXPECT_DOUBLE_EQ(into_gap["emissions_g"].get<double>(), 150.0);

  sample.t_s = 2900.0;  // [3000, 3900]: all in the gap
  sample.dt_s = 900.0;
  const nlohmann::json uncovered = sample_record(2, sample, run_start_unix_s, location);
  EXPECT_TRUE(uncovered["intensity_g_per_kwh"].is_null()) << uncovered.dump();
  EXPECT_EQ(uncovered["emissions_g"].get<double>(), 0.0);
}

}  // namespace
}  // namespace carbonmeter::upload
