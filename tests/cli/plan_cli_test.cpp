// carbonmeter plan, run --plan and whatif, run as a user would run them, on series scaled to
// seconds so that a plan plays out within a test.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "support/fake_root.hpp"
#include "support/run_cli.hpp"

namespace carbonmeter {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using testing::run_carbonmeter;
using testing::slurp;

double now_s() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<double>(ts.tv_sec) + ts.tv_nsec / 1e9;
}

// One row per second from `first`, then `tail` seconds at the last value.
std::string seconds_series(long first, const std::vector<int>& values, int tail = 60) {
  std::string csv = "timestamp,carbon_intensity\n";
  long t = first;
  for (int v : values) csv += std::to_string(t++) + "," + std::to_string(v) + "\n";
  for (int i = 0; i < tail; ++i) csv += std::to_string(t++) + "," + std::to_string(values.back()) + "\n";
  return csv;
}

std::string hourly_series(long first, const std::vector<int>& values) {
  std::string csv = "timestamp,carbon_intensity\n";
  for (std::size_t i = 0; i < values.size(); ++i)
    csv += std::to_string(first + 3600 * static_cast<long>(i)) + "," + std::to_string(values[i]) + "\n";
  return csv;
}

TEST(PlanCli, FlexibleStartFindsTheCleanHoursAndSaysWhatItSaves) {
  testing::FakeRoot root("");
  const long t0 = 1767225600;  // 2026-01-01T00:00:00Z
  root.write("grid.csv", hourly_series(t0, {500, 500, 400, 100, 100, 300, 500, 500, 500, 500}));
  auto outcome = run_carbonmeter({"plan", "--intensity-series", root.path() + "/grid.csv", "--strategy",
                                  "flexible-start", "--duration", "2h", "--window", "6h", "--not-before",
                                  "2026-01-01T00:00:00Z", "--power-w", "500", "--json"});
  ASSERT_EQ(outcome.exit_code, 0) << outcome.err;
  json plan = json::parse(outcome.out);
  EXPECT_EQ(plan["start"], "2026-01-01T03:00:00.000Z");
  EXPECT_EQ(plan["end"], "2026-01-01T05:00:00.000Z");
  ASSERT_EQ(plan["intervals"].size(), 1u);
  EXPECT_DOUBLE_EQ(plan["expected_intensity_g_per_kwh"].get<double>(), 100.0);
  EXPECT_DOUBLE_EQ(plan["baseline_intensity_g_per_kwh"].get<double>(), 500.0);
  EXPECT_DOUBLE_EQ(plan["savings_pct"].get<double>(), 80.0);
  EXPECT_DOUBLE_EQ(plan["expected_emissions_g"].get<double>(), 0.5 * 2 * 100);
  EXPECT_FALSE(plan["forecast"].get<bool>());
  auto text =
      run_carbonmeter({"plan", "--intensity-series", root.path() + "/grid.csv", "--strategy", "pause-resume",
                       "--duration", "3h", "--max-delay", "3h", "--not-before", "2026-01-01T00:00:00Z"});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_THAT(text.out, HasSubstr("saving"));
  EXPECT_THAT(text.out, HasSubstr("2026-01-01T03:00:00.000Z to 2026-01-01T06:00:00.000Z"));  // 100, 100, 300
}

TEST(PlanCli, BeyondTheSeriesAForecastIsUsedAndItsBacktestReported) {
  testing::FakeRoot root("");
  const long t0 = 1767225600;
  std::vector<int> days;
  for (int d = 0; d < 4; ++d)
    for (int h = 0; h < 24; ++h) days.push_back(h >= 10 && h < 16 ? 100 : 400);  // clean middays
  root.write("grid.csv", hourly_series(t0, days));
  auto outcome = run_carbonmeter({"plan", "--intensity-series", root.path() + "/grid.csv", "--strategy",
                                  "flexible-start", "--duration", "4h", "--window", "20h", "--not-before",
                                  "2026-01-04T20:00:00Z", "--json"});
  ASSERT_EQ(outcome.exit_code, 0) << outcome.err;
  json plan = json::parse(outcome.out);
  EXPECT_TRUE(plan["forecast"].get<bool>());
  EXPECT_EQ(plan["forecast_quality"]["method"], "daily-profile");
  EXPECT_NEAR(plan["forecast_quality"]["backtest_mape"].get<double>(), 0.0,
              1e-9);  // a perfectly daily series
  EXPECT_EQ(plan["start"], "2026-01-05T10:00:00.000Z");
}

TEST(PlanCli, BadPlansAreClearErrors) {
  testing::FakeRoot root("");
  root.write("grid.csv", hourly_series(1767225600, {100, 200, 300}));
  const std::string series = root.path() + "/grid.csv";
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {{"plan", "--intensity-series", series, "--strategy", "flexible-start"}, "--duration"},
           {{"plan", "--intensity-series", series, "--strategy", "sometime", "--duration", "1h"},
            "--strategy"},
           {{"plan", "--intensity-series", series, "--strategy", "flexible-start", "--duration", "-1h"},
            "--duration"},
           {{"plan", "--intensity-series", series, "--strategy", "flexible-start", "--duration", "1h",
             "--not-before", "yesterday"},
            "--not-before"},
           {{"plan", "--intensity-series", root.path() + "/missing.csv", "--strategy", "flexible-start",
             "--duration", "1h"},
            "missing.csv"},
           {{"run", "--duration", "1h", "--", "true"}, "need --plan"},
           {{"run", "--plan", "flexible-start", "--duration", "1h", "--", "true"}, "--intensity-series"},
           {{"run", "--plan", "pause-resume", "--intensity-series", series, "--pause-signal", "BOGUS",
             "--duration", "1h", "--", "true"},
            "--pause-signal"},
       }) {
    auto outcome = run_carbonmeter(c.args);
    EXPECT_EQ(outcome.exit_code, 2) << c.message << ": " << outcome.err;
    EXPECT_THAT(outcome.err, HasSubstr(c.message));
  }
}

TEST(RunPlan, FlexibleStartWaitsForTheCleanSecondsAndMeasuresTheSaving) {
  testing::FakeRoot root("", false);
  const long t0 = static_cast<long>(std::ceil(now_s())) + 1;
  root.write("grid.csv", seconds_series(t0 - 5, {900, 900, 900, 900, 900, 900, 900, 100, 100, 900}));
  // Not before t0: t0 and t0 + 1 are dirty, t0 + 2 and t0 + 3 clean.
  auto outcome = run_carbonmeter({"run",
                                  "--plan",
                                  "flexible-start",
                                  "--intensity-series",
                                  root.path() + "/grid.csv",
                                  "--duration",
                                  "1s",
                                  "--window",
                                  "4s",
                                  "--not-before",
                                  std::to_string(t0),
                                  "--interval",
                                  "0.1",
                                  "--output-dir",
                                  root.path(),
                                  "--json",
                                  root.path() + "/run.json",
                                  "--",
                                  "date",
                                  "+%s.%N"});
  ASSERT_EQ(outcome.exit_code, 0) << outcome.err;
  EXPECT_GE(std::stod(outcome.out), t0 + 2 - 0.05);  // it did wait
  EXPECT_THAT(outcome.err, HasSubstr("waiting until"));
  json run = json::parse(slurp(root.path() + "/run.json"));
  EXPECT_EQ(run["plan"]["strategy"], "flexible-start");
  EXPECT_DOUBLE_EQ(run["plan"]["savings_pct"].get<double>(), 100.0 * 800 / 900);
  ASSERT_EQ(run["plan"]["measured"]["actual_intervals"].size(), 1u);
  EXPECT_TRUE(run["plan"]["measured"].contains("immediate_start_emissions_g"));
}

// `run --plan pause-resume` on a series of seconds from t0 (returned): clean at t0, t0 + 2 and
// t0 + 4, so a 2 s job is planned as [t0, t0 + 1) and [t0 + 2, t0 + 3) with one pause between.
testing::CliOutcome run_paused_plan(const testing::FakeRoot& root, std::vector<std::string> options,
                                    const std::vector<std::string>& command, long& t0) {
  t0 = static_cast<long>(std::ceil(now_s())) + 2;
  root.write("grid.csv", seconds_series(t0 - 5, {900, 900, 900, 900, 900, 100, 900, 100, 900, 100, 900}));
  std::vector<std::string> args{"run",
                                "--plan",
                                "pause-resume",
                                "--intensity-series",
                                root.path() + "/grid.csv",
                                "--duration",
                                "2s",
                                "--max-delay",
                                "3s",
                                "--not-before",
                                std::to_string(t0),
                                "--output-dir",
                                root.path(),
                                "--json",
                                root.path() + "/run.json"};
  args.insert(args.end(), options.begin(), options.end());
  args.push_back("--");
  args.insert(args.end(), command.begin(), command.end());
  return run_carbonmeter(args);
}

TEST(RunPlan, PauseAndResumeStopsTheCommandBetweenItsIntervals) {
  testing::FakeRoot root("", false);
  const std::string ticks = root.path() + "/ticks";
  long t0 = 0;
  auto outcome = run_paused_plan(
      root, {"--interval", "0.1", "--scope", "machine"},
      {"sh", "-c", "for i in $(seq 30); do date +%s.%N >> " + ticks + "; sleep 0.05; done"}, t0);
  ASSERT_EQ(outcome.exit_code, 0) << outcome.err;
  json run = json::parse(slurp(root.path() + "/run.json"));
  ASSERT_EQ(run["plan"]["intervals"].size(), 2u) << run["plan"];
  EXPECT_EQ(run["plan"]["pauses"], 1);
  EXPECT_DOUBLE_EQ(run["plan"]["savings_pct"].get<double>(), 100.0 * (1000 - 200) / 1000);
  EXPECT_EQ(run["plan"]["measured"]["actual_intervals"].size(), 2u);
  // The ticks stop for the planned pause [t0 + 1, t0 + 2) and start again after it.
  std::istringstream lines(slurp(ticks));
  std::vector<double> times;
  for (double t; lines >> t;) times.push_back(t);
  ASSERT_EQ(times.size(), 30u);
  EXPECT_GE(times.front(), t0 - 0.05);
  double longest_gap = 0, gap_start = 0;
  for (std::size_t i = 1; i < times.size(); ++i)
    if (times[i] - times[i - 1] > longest_gap) {
      longest_gap = times[i] - times[i - 1];
      gap_start = times[i - 1];
    }
  EXPECT_GT(longest_gap, 0.7);
  EXPECT_NEAR(gap_start, t0 + 1, 0.3);
}

TEST(RunPlan, AFailingResumeCommandNeverLeavesTheCommandStopped) {
  testing::FakeRoot root("", false);
  long t0 = 0;
  auto outcome =
      run_paused_plan(root, {"--resume-command", "exit 3", "--pause-signal", "STOP"}, {"sleep", "2.5"}, t0);
  ASSERT_EQ(outcome.exit_code, 0) << outcome.err;  // it ended: continued despite the resume command
  // "failed (exit 3)", or "left the command stopped" when the exit status was reaped by the run's
  // own reaper first: either way the command was continued.
  EXPECT_THAT(outcome.err, HasSubstr("SIGCONT was sent instead"));
  json run = json::parse(slurp(root.path() + "/run.json"));
  ASSERT_EQ(run["plan"]["measured"]["notes"].size(), 1u);
  EXPECT_EQ(run["plan"]["measured"]["actual_intervals"].size(), 2u);
}

TEST(PlanCli, NoDelayAtAllIsAPlanToo) {
  testing::FakeRoot root("");
  root.write("grid.csv", hourly_series(1767225600, {100, 200, 300, 400}));
  auto outcome = run_carbonmeter({"plan", "--intensity-series", root.path() + "/grid.csv", "--strategy",
                                  "pause-resume", "--duration", "2h", "--max-delay", "0m", "--not-before",
                                  "2026-01-01T00:00:00Z", "--json"});
  ASSERT_EQ(outcome.exit_code, 0) << outcome.err;
  EXPECT_DOUBLE_EQ(json::parse(outcome.out)["savings_pct"].get<double>(), 0.0);
}

TEST(Whatif, TheSameRunAtOtherHoursAndOnOtherGrids) {
  testing::FakeRoot root("", false);
  auto measured = run_carbonmeter({"run", "--scope", "machine", "--carbon-intensity", "300", "--output-dir",
                                   root.path(), "--json", root.path() + "/run.json", "--", "sleep", "0.3"});
  ASSERT_EQ(measured.exit_code, 0) << measured.err;
  const double kwh = json::parse(slurp(root.path() + "/run.json"))["energy_j"]["total"].get<double>() / 3.6e6;
  ASSERT_GT(kwh, 0.0);
  const long t0 = 1640995200;  // 2022-01-01T00:00:00Z
  root.write("a.csv", hourly_series(t0, {100, 200, 300, 400}));
  root.write("b.csv", hourly_series(t0, {50, 50, 50, 50}));
  auto outcome = run_carbonmeter({"whatif", root.path() + "/run.json", "--intensity-series",
                                  root.path() + "/a.csv", "--intensity-series", root.path() + "/b.csv",
                                  "--from", "2022-01-01T00:00:00Z", "--count", "5", "--json"});
  ASSERT_EQ(outcome.exit_code, 0) << outcome.err;
  json table = json::parse(outcome.out);
  ASSERT_EQ(table["zones"].size(), 2u);
  const json& a = table["zones"][0];
  for (int k = 0; k < 4; ++k)
    EXPECT_NEAR(a["emissions_g"][k].get<double>(), kwh * 100 * (k + 1), 1e-6 * kwh * 100 * (k + 1)) << k;
  EXPECT_TRUE(a["emissions_g"][4].is_null());  // beyond the series
  EXPECT_EQ(a["best"]["start"], "2022-01-01T00:00:00.000Z");
  EXPECT_NEAR(a["spread_pct"].get<double>(), 75.0, 1e-6);
  EXPECT_NEAR(table["zones"][1]["best"]["emissions_g"].get<double>(), kwh * 50, 1e-6 * kwh * 50);
  auto bad =
      run_carbonmeter({"whatif", root.path() + "/a.csv", "--intensity-series", root.path() + "/a.csv"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_THAT(bad.err, HasSubstr("not a carbonmeter run report"));
}

}  // namespace
}  // namespace carbonmeter
