// Energy to emissions: timestamps, intensity series, location sources in their order,
// emissions (exact for known inputs, split at a series' step), and emissions.csv.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "carbon/embodied.hpp"
#include "carbon/emissions.hpp"
#include "carbon/intensity_series.hpp"
#include "carbon/location.hpp"
#include "carbon/timestamp.hpp"
#include "core/csv.hpp"
#include "outputs/emissions_csv.hpp"
#include "support/fake_root.hpp"

namespace carbonmeter {
namespace {

using ::testing::HasSubstr;

const std::string kData = std::string(CARBONMETER_FIXTURES_DIR) + "/carbon_data";
constexpr double kJan1 = 1767225600.0;  // 2026-01-01T00:00:00Z

ReferenceData data() {
  auto loaded = ReferenceData::load_from(kData);
  EXPECT_TRUE(loaded.ok()) << loaded.error().message;
  return std::move(loaded).value();
}

TEST(Timestamp, Iso8601WithOffsetsAndUnixSeconds) {
  EXPECT_DOUBLE_EQ(*parse_timestamp("2026-01-01T00:00:00Z"), kJan1);
  EXPECT_DOUBLE_EQ(*parse_timestamp("2026-01-01 01:00:00+01:00"), kJan1);
  EXPECT_DOUBLE_EQ(*parse_timestamp("2025-12-31T19:00:00-0500"), kJan1);
  EXPECT_DOUBLE_EQ(*parse_timestamp("2026-01-01T00:00:00.5+00:00"), kJan1 + 0.5);
  EXPECT_DOUBLE_EQ(*parse_timestamp("1767225600"), kJan1);
  EXPECT_FALSE(parse_timestamp("2026-01-01T00:00:00"));  // no offset: refused
  EXPECT_FALSE(parse_timestamp("yesterday"));
  EXPECT_FALSE(parse_timestamp("2026-13-01T00:00:00Z"));
  EXPECT_FALSE(parse_timestamp("2026-02-30T00:00:00Z"));
  EXPECT_FALSE(parse_timestamp("2025-02-29T00:00:00Z"));
  EXPECT_TRUE(parse_timestamp("2024-02-29T00:00:00Z"));
  EXPECT_FALSE(parse_timestamp("2026-04-31T00:00:00Z"));
  EXPECT_FALSE(parse_timestamp("2026-01-01T24:30:00Z"));
  EXPECT_FALSE(parse_timestamp("1e300"));
  EXPECT_FALSE(parse_timestamp("-5"));
  EXPECT_FALSE(parse_timestamp("0x10"));
  EXPECT_FALSE(parse_timestamp(""));
}

// Past 2262 the clock's nanoseconds overflow: such times (a plan's start in 2300) are its latest time.
TEST(Timestamp, SystemTimesPastTheClocksRangeAreItsEnds) {
  using Clock = std::chrono::system_clock;
  EXPECT_EQ(Clock::to_time_t(system_time_of(kJan1)), static_cast<std::time_t>(kJan1));
  EXPECT_EQ(system_time_of(0.5).time_since_epoch(), std::chrono::milliseconds(500));
  EXPECT_EQ(system_time_of(*parse_timestamp("2300-01-01T00:00:00Z")), Clock::time_point::max());
  EXPECT_EQ(system_time_of(1e300), Clock::time_point::max());
  EXPECT_EQ(system_time_of(-1e300), Clock::time_point::min());
  EXPECT_EQ(system_time_of(std::nan("")), Clock::time_point::min());
  EXPECT_GT(system_time_of(9.1e9), system_time_of(kJan1));
}

TEST(IntensitySeries, StepFunctionWithGapsAndCoverage) {
  auto series = IntensitySeries::load(kData + "/series_step.csv");
  ASSERT_TRUE(series.ok()) << series.error().message;
  EXPECT_EQ(series.value().column(), "carbon_intensity");
  EXPECT_DOUBLE_EQ(series.value().step_s(), 3600.0);
  // 30 min at 100 then 30 min at 300.
  SeriesIntegral across = series.value().integrate(kJan1 + 1800, kJan1 + 5400);
  EXPECT_DOUBLE_EQ(across.g_per_kwh_seconds, 100 * 1800.0 + 300 * 1800.0);
  EXPECT_DOUBLE_EQ(across.uncovered_s, 0.0);
  // The empty row at 02:00 is a gap; the last row holds one step; before and after: uncovered.
  SeriesIntegral gap = series.value().integrate(kJan1 + 7200, kJan1 + 10800);
  EXPECT_DOUBLE_EQ(gap.uncovered_s, 3600.0);
  SeriesIntegral beyond = series.value().integrate(kJan1 + 3 * 3600, kJan1 + 5 * 3600);
  EXPECT_DOUBLE_EQ(beyond.covered_s, 3600.0);
  EXPECT_DOUBLE_EQ(beyond.uncovered_s, 3600.0);
  EXPECT_DOUBLE_EQ(series.value().integrate(kJan1 - 10, kJan1).uncovered_s, 10.0);
  EXPECT_FALSE(series.value().covers(kJan1 + 7200 + 60));  // in the empty row's gap
  EXPECT_TRUE(series.value().covers(kJan1 + 3 * 3600 + 60));
}

TEST(IntensitySeries, AHoleInTheRowsIsAGapNotAStretchedValue) {
  // Hourly rows, then nothing for a day: 05:00's value holds one hour, the rest is uncovered.
  auto series = IntensitySeries::parse(
      "timestamp,ci\n2026-01-01T03:00:00Z,10\n2026-01-01T04:00:00Z,20\n2026-01-01T05:00:00Z,30\n"
      "2026-01-02T05:00:00Z,40\n",
      "hole.csv", "");
  ASSERT_TRUE(series.ok()) << series.error().message;
  SeriesIntegral hole = series.value().integrate(kJan1 + 5 * 3600, kJan1 + 8 * 3600);
  EXPECT_DOUBLE_EQ(hole.covered_s, 3600.0);
  EXPECT_DOUBLE_EQ(hole.g_per_kwh_seconds, 30 * 3600.0);
  EXPECT_DOUBLE_EQ(hole.uncovered_s, 2 * 3600.0);
  // covers(): the same coverage at one instant.
  const IntensitySeries& s = series.value();
  EXPECT_FALSE(s.covers(kJan1 + 3 * 3600 - 1));  // before the first row
  EXPECT_TRUE(s.covers(kJan1 + 3 * 3600));
  EXPECT_TRUE(s.covers(kJan1 + 6 * 3600 - 1));  // 05:00's hour
  EXPECT_FALSE(s.covers(kJan1 + 6 * 3600));     // the hole
  EXPECT_TRUE(s.covers(kJan1 + 29 * 3600));     // the last row, for one step
  EXPECT_FALSE(s.covers(kJan1 + 30 * 3600));    // after the end
  auto hex = IntensitySeries::parse("timestamp,ci\n2026-01-01T00:00:00Z,0x1A\n", "s.csv", "");
  EXPECT_THAT(hex.error().message, HasSubstr("s.csv:2"));
  auto nan = IntensitySeries::parse("timestamp,ci\n2026-01-01T00:00:00Z,nan\n", "s.csv", "");
  EXPECT_FALSE(nan.ok());
}

TEST(IntensitySeries, ColumnByNameAndClearErrorsNamingTheLine) {
  auto other = IntensitySeries::load(kData + "/series_step.csv:other");
  ASSERT_TRUE(other.ok()) << other.error().message;
  EXPECT_EQ(other.value().column(), "other");
  EXPECT_THAT(IntensitySeries::load(kData + "/series_step.csv:nope").error().message,
              HasSubstr("no column 'nope'"));
  auto bad_time = IntensitySeries::parse("timestamp,ci\n2026-01-01T00:00:00Z,1\nsoon,2\n", "s.csv", "");
  EXPECT_THAT(bad_time.error().message, HasSubstr("s.csv:3"));
  EXPECT_THAT(bad_time.error().message, HasSubstr("not a timestamp"));
  auto bad_number = IntensitySeries::parse("timestamp,ci\n2026-01-01T00:00:00Z,12abc\n", "s.csv", "");
  EXPECT_THAT(bad_number.error().message, HasSubstr("s.csv:2"));
  auto unsorted =
      IntensitySeries::parse("timestamp,ci\n2026-01-01T01:00:00Z,1\n2026-01-01T00:00:00Z,2\n", "s.csv", "");
  EXPECT_THAT(unsorted.error().message, HasSubstr("increasing time order"));
  EXPECT_THAT(IntensitySeries::parse("a,b,c\n1,2,3\n", "s.csv", "").error().message,
              HasSubstr("which column"));
  EXPECT_FALSE(IntensitySeries::load("/nonexistent/series.csv").ok());
}

TEST(Location, MostExplicitSourceWins) {
  const ReferenceData d = data();
  LocationOptions o;
  o.country = {"FRA", "--country"};
  o.zone = {"SE3", "--zone"};
  o.cloud = {"aws:us-east-1", "--cloud"};
  o.carbon_intensity_g_per_kwh = {123.0, "--carbon-intensity"};
  auto given = resolve_location(o, d).value();
  EXPECT_DOUBLE_EQ(given.constant->g_per_kwh, 123.0);
  EXPECT_DOUBLE_EQ(given.pue, 1.135);  // the named region keeps its PUE, WUE and columns
  EXPECT_EQ(given.cloud_provider, "aws");
  EXPECT_EQ(given.country_iso3, "USA");
  o.carbon_intensity_g_per_kwh = {};
  auto cloud = resolve_location(o, d).value();
  EXPECT_DOUBLE_EQ(cloud.constant->g_per_kwh, 379.1);
  EXPECT_DOUBLE_EQ(cloud.pue, 1.135);  // the provider's PUE in a cloud region
  EXPECT_DOUBLE_EQ(cloud.wue_l_per_kwh, 0.12);
  EXPECT_EQ(cloud.country_iso3, "USA");
  o.cloud = {};
  EXPECT_DOUBLE_EQ(resolve_location(o, d).value().constant->g_per_kwh, 18.0);
  o.zone = {};
  auto country = resolve_location(o, d).value();
  EXPECT_DOUBLE_EQ(country.constant->g_per_kwh, 44.2);
  EXPECT_EQ(country.constant->source, "ember-2024");
  EXPECT_DOUBLE_EQ(country.pue, 1.0);  // on premises
  o.country = {"fr", "--country"};     // ISO2, any case
  EXPECT_EQ(resolve_location(o, d).value().country_iso3, "FRA");
  o.intensity_series = {kData + "/series_step.csv", "--intensity-series"};
  auto series = resolve_location(o, d).value();
  ASSERT_TRUE(series.series);
  ASSERT_TRUE(series.series_fallback);  // the country stands in outside the series
  EXPECT_DOUBLE_EQ(series.series_fallback->g_per_kwh, 44.2);
}

TEST(Location, MarginalFactorOnRequest) {
  LocationOptions o;
  o.country = {"FRA", "--country"};
  o.marginal = true;
  auto marginal = resolve_location(o, data());
  ASSERT_TRUE(marginal.ok()) << marginal.error().message;
  EXPECT_DOUBLE_EQ(marginal.value().constant->g_per_kwh, 158.0);
  EXPECT_EQ(marginal.value().constant->basis, "marginal");
  o.country = {"DEU", "--country"};
  EXPECT_THAT(resolve_location(o, data()).error().message, HasSubstr("no published marginal factor"));
}

TEST(Embodied, AmortisedOverTheRunAndReportedApart) {
  ::setenv("CARBONMETER_DATA_DIR", kData.c_str(), 1);
  RunReport report;
  report.duration_s = 3600;
  auto account = amortise_embodied("server_test,gpu_testx2", report);
  auto bad = amortise_embodied("spaceship", report);
  auto too_many = amortise_embodied("gpu_testx99999999999", report);  // more than an int holds
  auto many = amortise_embodied("gpu_testx1000000", report);
  ::unsetenv("CARBONMETER_DATA_DIR");
  ASSERT_TRUE(account.ok()) << account.error().message;
  EXPECT_DOUBLE_EQ(account.value().total_g, 1000.0 * 1000 / 35040 + 2 * 500.0 * 1000 / 26280);
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.error().message, HasSubstr("known: auto"));
  ASSERT_FALSE(too_many.ok());
  EXPECT_THAT(too_many.error().message, HasSubstr("more than 1000000"));
  ASSERT_TRUE(many.ok()) << many.error().message;
  EXPECT_EQ(many.value().items.at(0).count, 1000000);
}

// Numbers no calendar or meter holds (nan, inf, 1e10) are read as unknown, never cast: a year of
// 1e10 cast to int is undefined behaviour, and an intensity of inf is no figure.
TEST(ReferenceData, YearsAndFiguresOutOfRangeAreUnknown) {
  testing::FakeRoot root("");
  std::filesystem::copy(kData, root.path() + "/data");
  std::ofstream(root.path() + "/data/intensity_countries.csv", std::ios::app)
      << "AAA,Year far,100,1e10,lifecycle,average,test\n"
      << "BBB,Year nan,100,nan,lifecycle,average,test\n"
      << "CCC,Figure inf,inf,2024,lifecycle,average,test\n";
  auto loaded = ReferenceData::load_from(root.path() + "/data");
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  ASSERT_TRUE(loaded.value().country("AAA"));
  EXPECT_EQ(loaded.value().country("AAA")->intensity.year, 0);
  EXPECT_DOUBLE_EQ(loaded.value().country("AAA")->intensity.g_per_kwh, 100.0);
  ASSERT_TRUE(loaded.value().country("BBB"));
  EXPECT_EQ(loaded.value().country("BBB")->intensity.year, 0);
  EXPECT_FALSE(loaded.value().country("CCC"));
  EXPECT_EQ(loaded.value().country("FRA")->intensity.year, 2024);
}

TEST(Location, UnknownPlacesAreClearErrors) {
  const ReferenceData d = data();
  LocationOptions o;
  o.cloud = {"aws:us-east-11", "--cloud"};
  EXPECT_THAT(resolve_location(o, d).error().message, HasSubstr("did you mean aws:us-east-1"));
  o.cloud = {"aws", "--cloud"};
  EXPECT_THAT(resolve_location(o, d).error().message, HasSubstr("PROVIDER:REGION"));
  o.cloud = {};
  o.country = {"XYZ", "--country"};
  EXPECT_THAT(resolve_location(o, d).error().message, HasSubstr("not a known country"));
}

TEST(Location, EnvironmentAndConfigFileFillTheRest) {
  testing::FakeRoot root("");
  const auto old_cwd = std::filesystem::current_path();
  std::filesystem::current_path(root.path());
  root.write("carbonmeter.toml", "country = \"DEU\"\npue = 1.4\nwue = 0.5\nzone = \"SE3\"\n");
  ::setenv("CARBONMETER_ZONE", "US-CAL-CISO", 1);
  LocationOptions o;
  o.pue = {1.2, "--pue"};
  auto completed = complete_location_options(o);
  ::unsetenv("CARBONMETER_ZONE");
  ASSERT_TRUE(completed.ok()) << completed.error().message;
  EXPECT_EQ(*o.zone.value, "US-CAL-CISO");  // the environment before the file
  EXPECT_EQ(o.zone.origin, "CARBONMETER_ZONE");
  EXPECT_FALSE(o.country.value);        // the variable named the place: the file's place is not mixed in
  EXPECT_DOUBLE_EQ(*o.pue.value, 1.2);  // the flag before both
  EXPECT_DOUBLE_EQ(*o.wue_l_per_kwh.value, 0.5);  // not a place: taken from the file
  EXPECT_EQ(o.wue_l_per_kwh.origin, "carbonmeter.toml");

  LocationOptions from_file;
  ASSERT_TRUE(complete_location_options(from_file).ok());
  EXPECT_EQ(*from_file.country.value, "DEU");
  EXPECT_EQ(from_file.country.origin, "carbonmeter.toml");
  EXPECT_DOUBLE_EQ(resolve_location(from_file, data()).value().constant->g_per_kwh, 18.0);  // its zone

  root.write("carbonmeter.toml", "country = [\n");
  LocationOptions broken;
  EXPECT_THAT(complete_location_options(broken).error().message, HasSubstr("carbonmeter.toml:"));
  ::setenv("CARBONMETER_PUE", "abc", 1);
  LocationOptions bad_env;
  EXPECT_THAT(complete_location_options(bad_env).error().message, HasSubstr("CARBONMETER_PUE"));
  ::unsetenv("CARBONMETER_PUE");
  std::filesystem::current_path(old_cwd);
}

TEST(Location, AFlagNamingAPlaceBeatsEveryPlaceInVariablesAndFile) {
  testing::FakeRoot root("");
  const auto old_cwd = std::filesystem::current_path();
  std::filesystem::current_path(root.path());
  root.write("carbonmeter.toml", "carbon_intensity = 900\n");
  ::setenv("CARBONMETER_CARBON_INTENSITY", "800", 1);
  LocationOptions o;
  o.country = {"FRA", "--country"};
  ASSERT_TRUE(complete_location_options(o).ok());
  EXPECT_FALSE(o.carbon_intensity_g_per_kwh.value);  // more explicit kind, but a less explicit source
  EXPECT_DOUBLE_EQ(resolve_location(o, data()).value().constant->g_per_kwh, 44.2);
  LocationOptions none;
  ASSERT_TRUE(complete_location_options(none).ok());
  EXPECT_DOUBLE_EQ(*none.carbon_intensity_g_per_kwh.value, 800.0);  // the variable before the file
  ::unsetenv("CARBONMETER_CARBON_INTENSITY");
  std::filesystem::current_path(old_cwd);
}

TEST(Location, ConfigFileTypesKeysAndRelativePaths) {
  testing::FakeRoot root("");
  const auto old_cwd = std::filesystem::current_path();
  root.write("work/.keep", "");
  std::filesystem::current_path(root.path() + "/work");
  const char* old_home = std::getenv("HOME");
  const std::string saved_home = old_home ? old_home : "";
  ::setenv("HOME", (root.path() + "/nohome").c_str(), 1);
  ::setenv("XDG_CONFIG_HOME", (root.path() + "/xdg").c_str(), 1);
  root.write("xdg/carbonmeter/carbonmeter.toml",
             "intensity_series = \"grid.csv\"\ncountry = \"FRA\"\ncolour = \"green\"\n");
  LocationOptions o;
  ASSERT_TRUE(complete_location_options(o).ok());
  EXPECT_EQ(*o.intensity_series.value, root.path() + "/xdg/carbonmeter/grid.csv");  // beside the file
  ASSERT_EQ(o.warnings.size(), 1u);
  EXPECT_THAT(o.warnings[0], HasSubstr("carbonmeter.toml:3: unknown key 'colour'"));
  root.write("xdg/carbonmeter/carbonmeter.toml", "country = 250\n");
  LocationOptions wrong_type;
  EXPECT_THAT(complete_location_options(wrong_type).error().message,
              HasSubstr("carbonmeter.toml:1: country must be a non-empty string"));
  root.write("xdg/carbonmeter/carbonmeter.toml", "pue = \"high\"\n");
  LocationOptions wrong_number;
  EXPECT_THAT(complete_location_options(wrong_number).error().message, HasSubstr("pue must be a number"));
  ::unsetenv("XDG_CONFIG_HOME");
  ::setenv("HOME", saved_home.c_str(), 1);
  std::filesystem::current_path(old_cwd);
}

TEST(Location, WithNothingGivenItGuessesAndSaysSo) {
  const ReferenceData d = data();
  testing::FakeRoot root("");
  root.write("sys/class/dmi/id/sys_vendor", "Google\n");
  root.write("sys/class/dmi/id/product_name", "Google Compute Engine\n");
  ::setenv("TZ", "Europe/Berlin", 1);
  auto guess = resolve_location({}, d);
  ASSERT_TRUE(guess.ok());
  EXPECT_TRUE(guess.value().guessed);
  EXPECT_EQ(guess.value().country_iso3, "DEU");
  EXPECT_EQ(guess.value().cloud_provider, "gcp");
  EXPECT_GT(guess.value().pue, 1.0);  // the provider's typical PUE, labelled a guess
  EXPECT_THAT(guess.value().pue_source, HasSubstr("guess"));
  EXPECT_THAT(guess.value().notes, ::testing::Contains(HasSubstr("GUESSED")));
  ::setenv("TZ", "Etc/UTC", 1);
  auto world = resolve_location({}, d);
  EXPECT_DOUBLE_EQ(world.value().constant->g_per_kwh, 473.1);
  EXPECT_THAT(world.value().notes, ::testing::Contains(HasSubstr("WORLD average")));
  ::unsetenv("TZ");
}

RunReport two_samples(double start, double energy_j_each, double dt) {
  RunReport report;
  report.header.start_unix_s = start;
  report.header.scope = "machine";
  report.header.methods[Component::cpu] = {"rapl-powercap", "measured counter", 0.05};
  for (int i = 1; i <= 2; ++i) {
    Sample s;
    s.t_s = dt * i;
    s.dt_s = dt;
    s.energy_j[Component::cpu] = energy_j_each;
    report.samples.push_back(s);
    report.energy_j += s.energy_j;
  }
  report.duration_s = 2 * dt;
  return report;
}

TEST(Emissions, KnownEnergyTimesKnownIntensityIsExact) {
  ::setenv("CARBONMETER_DATA_DIR", kData.c_str(), 1);
  LocationOptions o;
  o.carbon_intensity_g_per_kwh = {400.0, "--carbon-intensity"};
  o.pue = {1.5, "--pue"};
  o.wue_l_per_kwh = {2.0, "--wue"};
  auto location = resolve_location(o, data()).value();
  auto account = account_emissions(two_samples(kJan1, 1.8e6, 1800), location);  // 2 × 0.5 kWh
  ::unsetenv("CARBONMETER_DATA_DIR");
  ASSERT_TRUE(account.ok()) << account.error().message;
  EXPECT_DOUBLE_EQ(account.value().it_energy_kwh, 1.0);
  EXPECT_DOUBLE_EQ(account.value().energy_kwh, 1.5);
  EXPECT_DOUBLE_EQ(account.value().emissions_g, 600.0);
  EXPECT_DOUBLE_EQ(account.value().water_l, 2.0);   // IT energy × WUE: PUE does not enter
  EXPECT_NEAR(account.value().low_g, 570.0, 1e-9);  // ±5 % energy, the user's own intensity
  EXPECT_NEAR(account.value().high_g, 630.0, 1e-9);
  ASSERT_EQ(account.value().equivalents.size(), 2u);
  EXPECT_DOUBLE_EQ(account.value().equivalents[0].amount, 600.0 / 250.0);
}

TEST(Emissions, ASeriesStepInsideTheRunSplitsIt) {
  LocationOptions o;
  o.intensity_series = {kData + "/series_step.csv", "--intensity-series"};
  auto location = resolve_location(o, data()).value();
  // Two half-hour samples from 00:30: the first at 100 g/kWh, the second at 300.
  auto account = account_emissions(two_samples(kJan1 + 1800, 1.8e6, 1800), location);
  ASSERT_TRUE(account.ok()) << account.error().message;
  EXPECT_DOUBLE_EQ(account.value().emissions_g, 0.5 * 100 + 0.5 * 300);
  // One sample straddling the step: split in proportion to time.
  auto straddling = account_emissions(two_samples(kJan1 + 2700, 1.8e6, 1800), location);
  ASSERT_TRUE(straddling.ok());
  EXPECT_DOUBLE_EQ(straddling.value().sample_emissions_g[0], 0.5 * (100 * 0.5 + 300 * 0.5));
  EXPECT_DOUBLE_EQ(account.value().intensity_min_g_per_kwh, 100.0);
  EXPECT_DOUBLE_EQ(account.value().intensity_max_g_per_kwh, 300.0);
}

TEST(Emissions, ASeriesThatDoesNotCoverTheRunIsAnErrorUnlessAFallbackIsGiven) {
  LocationOptions o;
  o.intensity_series = {kData + "/series_step.csv", "--intensity-series"};
  auto location = resolve_location(o, data()).value();
  auto gap = account_emissions(two_samples(kJan1 + 7200, 1.8e6, 1800), location);  // the empty 02:00 row
  ASSERT_TRUE(gap.ok());
  auto error = coverage_error(gap.value(), location);
  ASSERT_TRUE(error.has_value());
  EXPECT_THAT(*error, HasSubstr("does not cover 3600 s"));
  EXPECT_DOUBLE_EQ(gap.value().emissions_g, 0.0);  // nothing covered: no emissions, not a guess
  EXPECT_FALSE(carbon_json(gap.value(), location)["emissions_complete"].get<bool>());
  o.country = {"FRA", "--country"};
  auto with_fallback = resolve_location(o, data()).value();
  auto filled = account_emissions(two_samples(kJan1 + 7200, 1.8e6, 1800), with_fallback);
  ASSERT_TRUE(filled.ok());
  EXPECT_DOUBLE_EQ(filled.value().emissions_g, 1.0 * 44.2);
  EXPECT_DOUBLE_EQ(filled.value().fallback_s, 3600.0);
  EXPECT_FALSE(coverage_error(filled.value(), with_fallback).has_value());
  EXPECT_NEAR(filled.value().intensity_relative_uncertainty, 0.25, 1e-12);  // all on the fallback
  // From 01:30: half the run on the series (±10 %), half on the fallback country (±25 %).
  auto half = account_emissions(two_samples(kJan1 + 5400, 1.8e6, 1800), with_fallback).value();
  EXPECT_DOUBLE_EQ(half.emissions_g, 0.5 * 300 + 0.5 * 44.2);
  EXPECT_NEAR(half.intensity_relative_uncertainty, 0.175, 1e-12);
  // Without the fallback, the covered half is kept and the rest reported missing.
  auto partial = account_emissions(two_samples(kJan1 + 5400, 1.8e6, 1800), location).value();
  EXPECT_DOUBLE_EQ(partial.emissions_g, 0.5 * 300);
  EXPECT_DOUBLE_EQ(partial.uncovered_s, 1800.0);
}

TEST(EmissionsCsv, HeaderIsCodeCarbonsThenOurs) {
  const auto& columns = codecarbon_columns();
  ASSERT_EQ(columns.size(), 38u);
  EXPECT_EQ(columns.front(), "timestamp");
  EXPECT_EQ(columns[5], "emissions");
  EXPECT_EQ(columns[13], "energy_consumed");
  EXPECT_EQ(columns.back(), "wue");
  const auto& ours = emissions_csv_columns();
  EXPECT_TRUE(std::equal(columns.begin(), columns.end(), ours.begin()));
  EXPECT_GT(ours.size(), columns.size());
}

TEST(EmissionsCsv, AppendsToItsOwnAndToCodeCarbonFilesAndBacksUpOthers) {
  testing::FakeRoot root("");
  LocationOptions o;
  o.country = {"FRA", "--country"};
  auto location = resolve_location(o, data()).value();
  RunReport report = two_samples(kJan1, 1.8e6, 1800);
  report.header.run_id = "r1";
  report.header.project_name = "p, with comma";
  auto account = account_emissions(report, location).value();
  ASSERT_TRUE(append_emissions_csv(root.path(), report, account, location).ok());
  ASSERT_TRUE(append_emissions_csv(root.path(), report, account, location).ok());
  auto ours = read_csv_file(root.path() + "/emissions.csv");
  ASSERT_TRUE(ours.ok());
  EXPECT_EQ(ours.value().header, emissions_csv_columns());
  ASSERT_EQ(ours.value().rows.size(), 2u);
  EXPECT_EQ(ours.value().rows[0][1], "p, with comma");
  EXPECT_NEAR(std::stod(ours.value().rows[0][5]), 44.2 / 1000.0, 1e-12);  // kg
  EXPECT_EQ(ours.value().rows[0][16], "FRA");

  // A file CodeCarbon wrote: rows of its 38 columns are appended, its own rows untouched.
  std::string codecarbon_header;
  for (const auto& c : codecarbon_columns()) codecarbon_header += (codecarbon_header.empty() ? "" : ",") + c;
  const std::string existing_row(37, ',');
  root.write("cc/emissions.csv", codecarbon_header + "\r\n" + existing_row + "\r\n");
  ASSERT_TRUE(append_emissions_csv(root.path() + "/cc", report, account, location).ok());
  auto cc = read_csv_file(root.path() + "/cc/emissions.csv");
  ASSERT_TRUE(cc.ok());
  EXPECT_EQ(cc.value().header.size(), 38u);
  ASSERT_EQ(cc.value().rows.size(), 2u);
  EXPECT_EQ(cc.value().rows[1].size(), 38u);

  // Any other header: kept aside, never overwritten.
  root.write("other/emissions.csv", "a,b\n1,2\n");
  auto outcome = append_emissions_csv(root.path() + "/other", report, account, location);
  ASSERT_TRUE(outcome.ok());
  ASSERT_FALSE(outcome.value().backup.empty());
  std::ifstream backup(outcome.value().backup);
  std::string first;
  std::getline(backup, first);
  EXPECT_EQ(first, "a,b");
}

}  // namespace
}  // namespace carbonmeter
