// carbonmeter estimate: the calculator, through the real program and the shipped tables.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "estimate/duration.hpp"
#include "support/fake_root.hpp"
#include "support/run_cli.hpp"

namespace carbonmeter {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using testing::run_carbonmeter;

json estimate(std::vector<std::string> args) {
  args.insert(args.begin(), "estimate");
  args.push_back("--json");
  auto outcome = run_carbonmeter(args);
  EXPECT_EQ(outcome.exit_code, 0) << outcome.err;
  return outcome.exit_code == 0 ? json::parse(outcome.out) : json::object();
}

json intensity_of(const std::vector<std::string>& place) {
  std::vector<std::string> args{"intensity", "--json"};
  args.insert(args.end(), place.begin(), place.end());
  auto outcome = run_carbonmeter(args);
  EXPECT_EQ(outcome.exit_code, 0) << outcome.err;
  return json::parse(outcome.out);
}

TEST(Estimate, TheWorkedExampleComesOutRight) {
  // Titan V (250 W) for 48 h at 560 gCO2e/kWh: 12 kWh × 0.56 kg/kWh = 6.72 kg CO2e.
  json e = estimate({"--hardware", "Titan V", "--hours", "48", "--carbon-intensity", "560"});
  EXPECT_DOUBLE_EQ(e["power_w"].get<double>(), 250.0);
  EXPECT_DOUBLE_EQ(e["hours"].get<double>(), 48.0);
  EXPECT_NEAR(e["energy_kwh"].get<double>(), 12.0, 1e-12);
  EXPECT_DOUBLE_EQ(e["intensity_g_per_kwh"].get<double>(), 560.0);
  EXPECT_DOUBLE_EQ(e["pue"].get<double>(), 1.0);
  EXPECT_NEAR(e["emissions_kg"].get<double>(), 6.72, 1e-12);
  EXPECT_LT(e["emissions_range_kg"][0].get<double>(), 6.72);
  EXPECT_GT(e["emissions_range_kg"][1].get<double>(), 6.72);
  EXPECT_EQ(e["formula"], "250 W × 48 h = 12 kWh × 0.56 kg CO2e/kWh = 6.72 kg CO2e");
  EXPECT_FALSE(e["alternatives"].empty());
  EXPECT_FALSE(e["equivalents"].empty());
  auto text =
      run_carbonmeter({"estimate", "--hardware", "titan v", "--duration", "2d", "--carbon-intensity", "560"});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_THAT(text.out, HasSubstr("6.72 kg CO2e"));
  EXPECT_THAT(text.out, HasSubstr("not measured"));
}

TEST(Estimate, CountUtilisationCpuAndMemoryFollowGreenAlgorithms) {
  json e = estimate({"--hardware", "H100 SXM", "--count", "4", "--gpu-utilization", "0.5", "--cores", "10",
                     "--cpu-utilization", "0.5", "--memory-gb", "100", "--hours", "10", "--carbon-intensity",
                     "100"});
  const double power_w = 4 * 700 * 0.5 + 10 * 12.0 * 0.5 + 100 * 0.3725;
  EXPECT_NEAR(e["power_w"].get<double>(), power_w, 1e-9);
  EXPECT_NEAR(e["energy_kwh"].get<double>(), power_w * 10 / 1000, 1e-9);
  ASSERT_EQ(e["parts"].size(), 3u);
  EXPECT_EQ(e["parts"][1]["how"], "Green Algorithms' 12 W per core of an unknown CPU");
  for (const char* cpu :
       {"Xeon Gold 6248", "Intel Xeon Gold 6248", "EPYC 7763", "i9-9900K"}) {  // vendor or not
    json known = estimate({"--cpu", cpu, "--hours", "1", "--carbon-intensity", "100"});
    ASSERT_EQ(known["parts"].size(), 1u) << cpu;
    EXPECT_GT(known["parts"][0]["unit_power_w"].get<double>(), 1.0) << cpu;
    EXPECT_THAT(known["parts"][0]["how"].get<std::string>(), HasSubstr("TDP")) << cpu;
  }
  json power = estimate({"--power-w", "300", "--count", "2", "--hours", "1", "--carbon-intensity", "1000"});
  EXPECT_NEAR(power["emissions_kg"].get<double>(), 0.6, 1e-12);
  json energy = estimate({"--energy-kwh", "10", "--carbon-intensity", "200", "--pue", "1.5"});
  EXPECT_NEAR(energy["energy_kwh"].get<double>(), 15.0, 1e-12);
  EXPECT_NEAR(energy["emissions_kg"].get<double>(), 3.0, 1e-12);
  EXPECT_DOUBLE_EQ(energy["emissions_range_kg"][0].get<double>(), 3.0);  // both figures given: exact
}

TEST(Estimate, EachPlaceGivesItsIntensityAndPueIsAppliedOnce) {
  for (const std::vector<std::string>& place :
       std::vector<std::vector<std::string>>{{"--country", "FRA"},
                                             {"--country", "in"},
                                             {"--zone", "US-CAL-CISO"},
                                             {"--cloud", "gcp:us-central1"},
                                             {"--cloud", "aws:eu-west-1", "--pue", "1.3"}}) {
    json where = intensity_of(place);
    std::vector<std::string> args{"--hardware", "a100 pcie 40gb", "--hours", "10"};
    args.insert(args.end(), place.begin(), place.end());
    json e = estimate(args);
    const double pue = where["pue"].get<double>();
    EXPECT_DOUBLE_EQ(e["intensity_g_per_kwh"].get<double>(), where["g_per_kwh"].get<double>()) << place[1];
    EXPECT_DOUBLE_EQ(e["pue"].get<double>(), pue) << place[1];
    EXPECT_NEAR(e["energy_kwh"].get<double>(), 2.5 * pue, 1e-9) << place[1];
    EXPECT_NEAR(e["emissions_kg"].get<double>(), 2.5 * pue * where["g_per_kwh"].get<double>() / 1000, 1e-9)
        << place[1];
  }
  EXPECT_GT(intensity_of({"--cloud", "gcp:us-central1"})["pue"].get<double>(), 1.0);
  // A number beside a cloud region: its intensity is replaced, its PUE stays.
  json given = estimate(
      {"--power-w", "100", "--hours", "10", "--carbon-intensity", "100", "--cloud", "gcp:us-central1"});
  EXPECT_DOUBLE_EQ(given["pue"].get<double>(),
                   intensity_of({"--cloud", "gcp:us-central1"})["pue"].get<double>());
  EXPECT_DOUBLE_EQ(given["intensity_g_per_kwh"].get<double>(), 100.0);
}

TEST(Estimate, ASeriesIsAveragedOverTheRunFromItsStart) {
  testing::FakeRoot root("");
  root.write("grid.csv",
             "timestamp,carbon_intensity\n2026-01-01T00:00:00Z,100\n2026-01-01T01:00:00Z,300\n"
             "2026-01-01T02:00:00Z,500\n");
  const std::string series = root.path() + "/grid.csv";
  json e = estimate(
      {"--power-w", "250", "--hours", "2", "--intensity-series", series, "--start", "2026-01-01T00:00:00Z"});
  EXPECT_NEAR(e["intensity_g_per_kwh"].get<double>(), 200.0, 1e-9);
  EXPECT_NEAR(e["emissions_kg"].get<double>(), 0.5 * 200 / 1000, 1e-12);
  auto no_start =
      run_carbonmeter({"estimate", "--power-w", "250", "--hours", "2", "--intensity-series", series});
  EXPECT_EQ(no_start.exit_code, 2);
  EXPECT_THAT(no_start.err, HasSubstr("--start"));
  auto beyond = run_carbonmeter({"estimate", "--power-w", "250", "--hours", "5", "--intensity-series", series,
                                 "--start", "2026-01-01T00:00:00Z"});
  EXPECT_EQ(beyond.exit_code, 2);
  EXPECT_THAT(beyond.err, HasSubstr("does not cover"));
  json fallback = estimate({"--power-w", "250", "--hours", "5", "--intensity-series", series, "--start",
                            "2026-01-01T00:00:00Z", "--carbon-intensity", "100"});
  EXPECT_NEAR(fallback["intensity_g_per_kwh"].get<double>(), (100 + 300 + 500 + 100 + 100) / 5.0, 1e-9);
}

TEST(Estimate, AlternativesAreTheProvidersCleanestRegionsOrAFewCountries) {
  json cloud = estimate({"--hardware", "h100", "--hours", "100", "--cloud", "aws:us-east-1"});
  ASSERT_FALSE(cloud["alternatives"].empty());
  double previous = 0;
  for (const json& a : cloud["alternatives"]) {
    EXPECT_EQ(a["location"].get<std::string>().rfind("aws:", 0), 0u) << a;
    EXPECT_NE(a["location"], "aws:us-east-1");
    EXPECT_GE(a["emissions_kg"].get<double>(), previous);
    EXPECT_LT(a["emissions_kg"].get<double>(), cloud["emissions_kg"].get<double>());  // the cleanest ones
    previous = a["emissions_kg"].get<double>();
  }
  json here = estimate({"--hardware", "h100", "--hours", "100", "--country", "DEU"});
  ASSERT_GE(here["alternatives"].size(), 4u);
  EXPECT_LT(here["alternatives"].front()["emissions_kg"].get<double>(), here["emissions_kg"].get<double>());
  EXPECT_GT(here["alternatives"].back()["emissions_kg"].get<double>(), here["emissions_kg"].get<double>());
}

TEST(Estimate, BadValuesAreClearErrors) {
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"--hardware", "h100", "--hours", "-3", "--country", "FRA"}, "--hours -3"},
      {{"--hardware", "h100", "--hours", "0", "--country", "FRA"}, "more than 0"},
      {{"--hardware", "h100", "--count", "0", "--hours", "1", "--country", "FRA"}, "--count 0"},
      {{"--hardware", "h100", "--hours", "1", "--gpu-utilization", "1.5", "--country", "FRA"}, "0 to 1"},
      {{"--cores", "8", "--hours", "1", "--cpu-utilization", "2", "--country", "FRA"}, "0 to 1"},
      {{"--hardware", "h100", "--hours", "1", "--cloud", "aws:moon-1"}, "not a known cloud region"},
      {{"--hardware", "h100", "--hours", "1", "--country", "Atlantis"}, "not a known country"},
      {{"--hardware", "quantum toaster 9000", "--hours", "1", "--country", "FRA"}, "unknown: closest"},
      {{"--hardware", "mi300", "--hours", "1", "--country", "FRA"}, "ambiguous: did you mean"},
      {{"--hardware", "h100", "--country", "FRA"}, "--hours"},
      {{"--hours", "1", "--country", "FRA"}, "what ran?"},
      {{"--hardware", "h100", "--duration", "3 days", "--country", "FRA"}, "--duration"},
      {{"--hardware", "h100", "--energy-kwh", "3", "--country", "FRA"}, "either"},
      {{"--hardware", "h100", "--hours", "1", "--pue", "0.5"}, "--pue"},
      {{"--list-regions", "nocloud"}, "not a known provider"},
      {{"--hardware", "t4", "--count", "1000", "--hours", "1e306", "--country", "FRA"}, "too large"},
      {{"--power-w", "100", "--hours", "1", "--start", "2022-01-01T00:00:00Z", "--country", "FRA"},
       "--start goes with --intensity-series"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> args{"estimate"};
    args.insert(args.end(), c.args.begin(), c.args.end());
    auto outcome = run_carbonmeter(args);
    EXPECT_EQ(outcome.exit_code, 2) << c.message << "\n" << outcome.err;
    EXPECT_FALSE(outcome.signalled);
    EXPECT_THAT(outcome.err, HasSubstr(c.message));
    const std::string first_line = outcome.err.substr(0, outcome.err.find('\n') + 1);
    EXPECT_THAT(first_line, HasSubstr(c.message));  // the first line says it all (a usage hint may follow)
  }
}

TEST(Estimate, ListsHardwareAndRegions) {
  auto hardware = run_carbonmeter({"estimate", "--list-hardware", "--json"});
  ASSERT_EQ(hardware.exit_code, 0) << hardware.err;
  json rows = json::parse(hardware.out);
  EXPECT_GT(rows.size(), 40u);
  bool titan_v = false;
  for (const json& row : rows) titan_v |= row["name"] == "NVIDIA TITAN V 12GB" && row["power_w"] == 250.0;
  EXPECT_TRUE(titan_v);
  auto regions = run_carbonmeter({"estimate", "--list-regions", "GCP"});  // any case, as --cloud
  ASSERT_EQ(regions.exit_code, 0) << regions.err;
  EXPECT_THAT(regions.out, HasSubstr("gcp:us-central1"));
  EXPECT_THAT(regions.out, ::testing::Not(HasSubstr("aws:")));
}

TEST(Duration, UnitsAddUpAndABareNumberIsRefused) {
  EXPECT_DOUBLE_EQ(parse_duration_hours("3d4h").value(), 76.0);
  EXPECT_DOUBLE_EQ(parse_duration_hours("1h30m").value(), 1.5);
  EXPECT_DOUBLE_EQ(parse_duration_hours("90m").value(), 1.5);
  EXPECT_DOUBLE_EQ(parse_duration_hours("2.5h").value(), 2.5);
  EXPECT_DOUBLE_EQ(parse_duration_hours("1w").value(), 168.0);
  EXPECT_DOUBLE_EQ(parse_duration_hours("3600s").value(), 1.0);
  for (const char* bad : {"", "48", "3x", "h", "-1h", "0h", "1e999h", "nanh"})
    EXPECT_FALSE(parse_duration_hours(bad).ok()) << bad;
}

}  // namespace
}  // namespace carbonmeter
