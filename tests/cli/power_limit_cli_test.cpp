// carbonmeter power-limit choose / show, run as a user would.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "support/fake_gpu.hpp"
#include "support/run_cli.hpp"

namespace carbonmeter {
namespace {

using testing::run_carbonmeter;

std::string write_file(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + name;
  std::ofstream(path) << text;
  return path;
}

// eta 0.5 (P_max 300 W): 1650, 1705, 1910, 2500 -> 300; eta 0.9: 570, 549, 558, 660 -> 250.
const char* kProfileW =
    R"({"measurements":[{"power_limit":300,"energy":300,"time":10},{"power_limit":250,"energy":260,"time":10.5},
       {"power_limit":200,"energy":220,"time":12},{"power_limit":150,"energy":200,"time":16}]})";

TEST(PowerLimitCli, ChooseNamesTheLimitInTheProfilesUnitWithItsEnergyTimeAndCost) {
  const std::string profile = write_file("plc_w.json", kProfileW);
  auto out = run_carbonmeter({"power-limit", "choose", "--profile", profile, "--eta", "0.9", "--json"});
  ASSERT_EQ(out.exit_code, 0) << out.err;
  auto json = nlohmann::json::parse(out.out);
  EXPECT_EQ(json["power_limit"], 250);
  EXPECT_EQ(json["unit"], "W");
  EXPECT_DOUBLE_EQ(json["energy"].get<double>(), 260);
  EXPECT_DOUBLE_EQ(json["time"].get<double>(), 10.5);
  EXPECT_DOUBLE_EQ(json["cost"].get<double>(), 549);
  EXPECT_EQ(json["measurements"].size(), 4u);

  out = run_carbonmeter({"power-limit", "choose", "--profile", profile, "--max-slowdown", "1.2", "--json"});
  ASSERT_EQ(out.exit_code, 0) << out.err;
  EXPECT_EQ(nlohmann::json::parse(out.out)["power_limit"], 200);

  out = run_carbonmeter({"power-limit", "choose", "--profile", profile});  // eta 0.5 by default, as a table
  ASSERT_EQ(out.exit_code, 0) << out.err;
  EXPECT_NE(out.out.find("Chosen for eta 0.5: 300 W"), std::string::npos) << out.out;
}

TEST(PowerLimitCli, MilliwattProfilesAnswerInMilliwatts) {
  const std::string profile = write_file(
      "plc_mw.json",
      R"({"measurements":[{"power_limit":300000,"energy":300,"time":10},{"power_limit":250000,"energy":260,"time":10.5}]})");
  auto out = run_carbonmeter({"power-limit", "choose", "--profile", profile, "--eta", "0.9", "--json"});
  ASSERT_EQ(out.exit_code, 0) << out.err;
  auto json = nlohmann::json::parse(out.out);
  EXPECT_EQ(json["power_limit"], 250000);
  EXPECT_EQ(json["unit"], "mW");
  EXPECT_DOUBLE_EQ(json["cost"].get<double>(), 549);  // P_max in W all the same
}

TEST(PowerLimitCli, BadInputIsOneLineAndTheRightExitCode) {
  const std::string profile = write_file("plc_ok.json", kProfileW);
  auto out = run_carbonmeter({"power-limit", "choose", "--profile", profile, "--eta", "1.5"});
  EXPECT_EQ(out.exit_code, 2);
  EXPECT_NE(out.err.find("between 0"), std::string::npos) << out.err;
  out = run_carbonmeter(
      {"power-limit", "choose", "--profile", profile, "--eta", "0.5", "--max-slowdown", "1.1"});
  EXPECT_EQ(out.exit_code, 2);
  out = run_carbonmeter({"power-limit", "choose", "--profile", "/nonexistent/profile.json"});
  EXPECT_EQ(out.exit_code, 1);
  EXPECT_NE(out.err.find("/nonexistent/profile.json"), std::string::npos) << out.err;
  out = run_carbonmeter(
      {"power-limit", "choose", "--profile", write_file("plc_bad.json", "{\"measurements\": 3}")});
  EXPECT_EQ(out.exit_code, 1);
  EXPECT_NE(out.err.find("measurements"), std::string::npos) << out.err;
  out = run_carbonmeter({"power-limit", "choose"});
  EXPECT_EQ(out.exit_code, 2);
}

TEST(PowerLimitCli, ShowListsEachGpusLimitsWithoutChangingThem) {
  testing::FakeGpus gpus(FAKE_NVML_PATH);
  for (unsigned i = 0; i < 2; ++i) {
    testing::FakeGpuDevice gpu;
    gpu.index = i;
    gpu.min_limit_mw = 200000;
    gpu.max_limit_mw = 700000;
    gpu.default_limit_mw = 700000;
    gpu.limit_mw = 650000 - i * 100000;
    gpus.devices.push_back(gpu);
  }
  gpus.write();
  auto out = run_carbonmeter({"power-limit", "show", "--json"});
  ASSERT_EQ(out.exit_code, 0) << out.err;
  auto json = nlohmann::json::parse(out.out);
  ASSERT_EQ(json.size(), 2u);
  EXPECT_DOUBLE_EQ(json[1]["current_w"].get<double>(), 550);
  EXPECT_DOUBLE_EQ(json[1]["default_w"].get<double>(), 700);
  EXPECT_DOUBLE_EQ(json[1]["min_w"].get<double>(), 200);
  EXPECT_DOUBLE_EQ(json[1]["max_w"].get<double>(), 700);
  out = run_carbonmeter({"power-limit", "show", "--gpu-ids", "0"});
  ASSERT_EQ(out.exit_code, 0) << out.err;
  EXPECT_NE(out.out.find("650"), std::string::npos) << out.out;
  EXPECT_EQ(out.out.find("550"), std::string::npos) << out.out;
  EXPECT_FALSE(std::ifstream(gpus.state_path() + ".limits").good());  // nothing was set

  // choose --dry-run: what would change, and still nothing set.
  const std::string profile = write_file("plc_dry.json", kProfileW);
  out =
      run_carbonmeter({"power-limit", "choose", "--profile", profile, "--eta", "0.9", "--dry-run", "--json"});
  ASSERT_EQ(out.exit_code, 0) << out.err;
  json = nlohmann::json::parse(out.out);
  ASSERT_EQ(json["dry_run"].size(), 2u);
  EXPECT_DOUBLE_EQ(json["dry_run"][0]["current_w"].get<double>(), 650);
  EXPECT_DOUBLE_EQ(json["dry_run"][0]["would_set_w"].get<double>(), 250);
  EXPECT_TRUE(json["dry_run"][0]["within_limits"].get<bool>());
  out = run_carbonmeter({"power-limit", "choose", "--profile", profile, "--eta", "0.9", "--dry-run"});
  ASSERT_EQ(out.exit_code, 0) << out.err;
  EXPECT_NE(out.out.find("dry run: would set GPU 1 (NVIDIA H100 80GB HBM3) from 550 W to 250 W"),
            std::string::npos)
      << out.out;
  EXPECT_NE(out.out.find("nothing was changed"), std::string::npos);
  EXPECT_FALSE(std::ifstream(gpus.state_path() + ".limits").good());
}

TEST(PowerLimitCli, ShowWithoutNvmlSaysWhy) {
  ::setenv("CARBONMETER_NVML_LIBRARY", "/nonexistent/libnvidia-ml.so.1", 1);
  auto out = run_carbonmeter({"power-limit", "show"});
  ::unsetenv("CARBONMETER_NVML_LIBRARY");
  EXPECT_EQ(out.exit_code, 1);
  EXPECT_NE(out.err.find("NVIDIA driver"), std::string::npos) << out.err;
}

}  // namespace
}  // namespace carbonmeter
