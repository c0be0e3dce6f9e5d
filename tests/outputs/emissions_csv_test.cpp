// emissions.csv: appending to files CodeCarbon wrote (2.x and 3.x headers, CRLF, BOM) in their
// own column order, backing up what is not ours, the energy-only uncertainty, embodied
// emissions, and runs that append at the same moment.
#include "outputs/emissions_csv.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "carbonmeter/version.hpp"
#include "core/csv.hpp"
#include "support/fake_root.hpp"

namespace carbonmeter {
namespace {

using ::testing::HasSubstr;

// CodeCarbon 2.8.x's header, as it writes it.
const std::string kCodeCarbon28 =
    "timestamp,project_name,run_id,experiment_id,duration,emissions,emissions_rate,cpu_power,gpu_power,"
    "ram_power,cpu_energy,gpu_energy,ram_energy,energy_consumed,country_name,country_iso_code,region,"
    "cloud_provider,cloud_region,os,python_version,codecarbon_version,cpu_count,cpu_model,gpu_count,"
    "gpu_model,longitude,latitude,ram_total_size,tracking_mode,on_cloud,pue";
// CodeCarbon 3.x's header (38 columns).
const std::string kCodeCarbon3 =
    "timestamp,project_name,run_id,experiment_id,duration,emissions,emissions_rate,cpu_power,gpu_power,"
    "ram_power,cpu_energy,gpu_energy,ram_energy,energy_consumed,water_consumed,country_name,"
    "country_iso_code,region,cloud_provider,cloud_region,os,python_version,codecarbon_version,cpu_count,"
    "cpu_model,gpu_count,gpu_model,longitude,latitude,ram_total_size,tracking_mode,"
    "cpu_utilization_percent,gpu_utilization_percent,ram_utilization_percent,ram_used_gb,on_cloud,pue,wue";

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

std::size_t count_of(const std::string& text, const std::string& part) {
  std::size_t n = 0;
  for (std::size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

// 900 J of CPU (±5 %) and 100 J of RAM (±20 %) over 10 s; 2 g CO2e.
struct FakeRun {
  RunReport report;
  CarbonAccount account;
  ResolvedLocation location;
  FakeRun() {
    report.header.run_id = "20260101T000000-42";
    report.header.project_name = "demo";
    report.header.start_unix_s = 1767225600.0;
    report.header.scope = "process";
    report.header.methods[Component::cpu] = {"rapl-powercap", "measured counter", 0.05};
    report.header.methods[Component::ram] = {"ram-estimate", "estimate", 0.20};
    report.duration_s = 10.0;
    report.energy_j[Component::cpu] = 900.0;
    report.energy_j[Component::ram] = 100.0;
    report.machine_energy_j = report.energy_j;
    account.it_energy_kwh = 1000.0 / kJoulesPerKwh;
    account.energy_kwh = account.it_energy_kwh;
    account.emissions_g = 2.0;
    account.energy_relative_uncertainty = 0.065;  // (900 J × 5 % + 100 J × 20 %) / 1000 J
    account.relative_uncertainty = 0.5;           // energy and intensity combined: not the energy's alone
    account.low_g = 1.0;
    account.high_g = 3.0;
    account.intensity_g_per_kwh = 7200.0;
    location.how = "--country FRA";
    location.country_iso3 = "FRA";
    location.country_name = "France";
    location.pue = 1.0;
  }
};

std::vector<std::string> split_header(const std::string& header) {
  std::vector<std::string> out(1);
  for (char c : header) {
    if (c == ',')
      out.emplace_back();
    else
      out.back().push_back(c);
  }
  return out;
}

std::string cell(const CsvTable& table, std::size_t row, const std::string& column) {
  const int at = table.column(column);
  EXPECT_GE(at, 0) << column;
  if (at < 0 || row >= table.rows.size() || static_cast<std::size_t>(at) >= table.rows[row].size())
    return "?";
  return table.rows[row][static_cast<std::size_t>(at)];
}

void expect_appended_in_own_columns(const std::string& header, const std::string& eol) {
  testing::FakeRoot root("");
  const std::string existing_row(std::count(header.begin(), header.end(), ','), ',');
  root.write("emissions.csv", header + eol + existing_row + eol);
  FakeRun run;
  auto outcome = append_emissions_csv(root.path(), run.report, run.account, run.location);
  ASSERT_TRUE(outcome.ok()) << outcome.error().message;
  EXPECT_TRUE(outcome.value().backup.empty());
  EXPECT_TRUE(outcome.value().codecarbon_layout);
  EXPECT_EQ(outcome.value().columns, split_header(header));
  EXPECT_FALSE(std::filesystem::exists(root.path() + "/emissions.csv.backup-20260101T000000-42"));
  const std::string text = slurp(root.path() + "/emissions.csv");
  EXPECT_EQ(text.substr(0, header.size() + eol.size() + existing_row.size() + eol.size()),
            header + eol + existing_row + eol);  // what was there, untouched
  EXPECT_EQ(count_of(text, "\n"), 3u);
  if (eol == "\r\n") {
    EXPECT_EQ(count_of(text, "\r\n"), 3u);  // our row ends like the file's rows
  }
  auto table = read_csv_file(root.path() + "/emissions.csv");
  ASSERT_TRUE(table.ok()) << table.error().message;
  EXPECT_EQ(table.value().header, split_header(header));
  ASSERT_EQ(table.value().rows.size(), 2u);
  EXPECT_EQ(table.value().rows[1].size(), split_header(header).size());
  EXPECT_EQ(cell(table.value(), 1, "project_name"), "demo");
  EXPECT_EQ(cell(table.value(), 1, "run_id"), "20260101T000000-42");
  EXPECT_EQ(cell(table.value(), 1, "emissions"), "0.002");  // kg
  EXPECT_EQ(cell(table.value(), 1, "duration"), "10");
  EXPECT_EQ(cell(table.value(), 1, "country_iso_code"), "FRA");
  EXPECT_EQ(cell(table.value(), 1, "pue"), "1");
}

TEST(EmissionsCsv, AppendsToACodeCarbon28FileInItsOwnColumns) {
  expect_appended_in_own_columns(kCodeCarbon28, "\n");
}

TEST(EmissionsCsv, AppendsToACodeCarbon3FileInItsOwnColumns) {
  expect_appended_in_own_columns(kCodeCarbon3, "\n");
}

TEST(EmissionsCsv, KeepsACrlfFileCrlf) { expect_appended_in_own_columns(kCodeCarbon28, "\r\n"); }

TEST(EmissionsCsv, AppendsInTheFilesOwnOrderOfKnownColumns) {
  testing::FakeRoot root("");
  root.write("emissions.csv", "energy_relative_uncertainty,run_id,emissions,carbonmeter_version\n");
  FakeRun run;
  auto outcome = append_emissions_csv(root.path(), run.report, run.account, run.location);
  ASSERT_TRUE(outcome.ok()) << outcome.error().message;
  EXPECT_TRUE(outcome.value().backup.empty());
  EXPECT_EQ(
      slurp(root.path() + "/emissions.csv"),
      "energy_relative_uncertainty,run_id,emissions,carbonmeter_version\n0.065,20260101T000000-42,0.002," +
          std::string(kVersion) + "\n");
}

TEST(EmissionsCsv, AHeaderAfterAByteOrderMarkIsRecognisedAndTheMarkKept) {
  testing::FakeRoot root("");
  const std::string bom = "\xEF\xBB\xBF";
  root.write("emissions.csv", bom + kCodeCarbon28 + "\r\n");
  FakeRun run;
  auto outcome = append_emissions_csv(root.path(), run.report, run.account, run.location);
  ASSERT_TRUE(outcome.ok()) << outcome.error().message;
  EXPECT_TRUE(outcome.value().backup.empty());
  const std::string text = slurp(root.path() + "/emissions.csv");
  EXPECT_EQ(text.substr(0, bom.size() + kCodeCarbon28.size() + 2), bom + kCodeCarbon28 + "\r\n");
  EXPECT_EQ(count_of(text, "\r\n"), 2u);
  auto table = read_csv_file(root.path() + "/emissions.csv");
  ASSERT_TRUE(table.ok()) << table.error().message;
  ASSERT_EQ(table.value().rows.size(), 1u);
  EXPECT_EQ(table.value().rows[0].size(), 32u);
  EXPECT_EQ(cell(table.value(), 0, "emissions"), "0.002");
}

TEST(EmissionsCsv, AnEmptyFileIsANewFile) {
  testing::FakeRoot root("");
  root.write("emissions.csv", "");
  FakeRun run;
  auto outcome = append_emissions_csv(root.path(), run.report, run.account, run.location);
  ASSERT_TRUE(outcome.ok()) << outcome.error().message;
  EXPECT_TRUE(outcome.value().backup.empty());
  EXPECT_FALSE(outcome.value().codecarbon_layout);
  auto table = read_csv_file(root.path() + "/emissions.csv");
  ASSERT_TRUE(table.ok()) << table.error().message;
  EXPECT_EQ(table.value().header, emissions_csv_columns());
  ASSERT_EQ(table.value().rows.size(), 1u);
  EXPECT_EQ(table.value().rows[0].size(), emissions_csv_columns().size());
}

TEST(EmissionsCsv, AFileWithUnknownColumnsIsKeptAsABackupNeverOverwritten) {
  testing::FakeRoot root("");
  FakeRun run;
  // An earlier backup of the same run's name is there already: it must survive.
  root.write("emissions.csv.backup-20260101T000000-42", "earlier backup\n");
  root.write("emissions.csv", kCodeCarbon28 + ",my_column\n1,2\n");
  auto outcome = append_emissions_csv(root.path(), run.report, run.account, run.location);
  ASSERT_TRUE(outcome.ok()) << outcome.error().message;
  EXPECT_EQ(outcome.value().backup, root.path() + "/emissions.csv.backup-20260101T000000-42-2");
  EXPECT_EQ(slurp(root.path() + "/emissions.csv.backup-20260101T000000-42"), "earlier backup\n");
  EXPECT_EQ(slurp(outcome.value().backup), kCodeCarbon28 + ",my_column\n1,2\n");
  auto table = read_csv_file(root.path() + "/emissions.csv");
  ASSERT_TRUE(table.ok()) << table.error().message;
  EXPECT_EQ(table.value().header, emissions_csv_columns());
  EXPECT_EQ(table.value().rows.size(), 1u);

  // A repeated column is not a layout we can fill either.
  root.write("dup/emissions.csv", "timestamp,emissions,emissions\n");
  auto dup = append_emissions_csv(root.path() + "/dup", run.report, run.account, run.location);
  ASSERT_TRUE(dup.ok()) << dup.error().message;
  EXPECT_FALSE(dup.value().backup.empty());
}

TEST(EmissionsCsv, TheUncertaintyColumnIsTheEnergysAlone) {
  testing::FakeRoot root("");
  FakeRun run;
  // The energy's 6.5 %, not the 50 % of energy and intensity combined.
  ASSERT_TRUE(append_emissions_csv(root.path(), run.report, run.account, run.location).ok());
  auto table = read_csv_file(root.path() + "/emissions.csv");
  ASSERT_TRUE(table.ok()) << table.error().message;
  EXPECT_EQ(cell(table.value(), 0, "energy_relative_uncertainty"), "0.065");
  EXPECT_EQ(cell(table.value(), 0, "emissions_low"), "0.001");
  EXPECT_EQ(cell(table.value(), 0, "emissions_high"), "0.003");
}

TEST(EmissionsCsv, EmbodiedEmissionsInKgWhenTheRunHasThem) {
  testing::FakeRoot root("");
  FakeRun run;
  ASSERT_TRUE(append_emissions_csv(root.path(), run.report, run.account, run.location, 1234.0).ok());
  ASSERT_TRUE(append_emissions_csv(root.path(), run.report, run.account, run.location).ok());
  auto table = read_csv_file(root.path() + "/emissions.csv");
  ASSERT_TRUE(table.ok()) << table.error().message;
  ASSERT_EQ(table.value().rows.size(), 2u);
  EXPECT_EQ(cell(table.value(), 0, "embodied_emissions_kg"), "1.234");
  EXPECT_EQ(cell(table.value(), 1, "embodied_emissions_kg"), "");
}

TEST(EmissionsCsv, RunsEndingAtOnceWriteOneHeaderAndWholeRows) {
  for (int round = 0; round < 3; ++round) {
    testing::FakeRoot root("");
    std::atomic<int> ready{0};
    std::atomic<int> failures{0};
    auto appender = [&](const std::string& project) {
      FakeRun run;
      run.report.header.project_name = project;
      ++ready;
      while (ready < 2) {
      }
      for (int i = 0; i < 50; ++i)
        if (!append_emissions_csv(root.path(), run.report, run.account, run.location).ok()) ++failures;
    };
    std::thread a(appender, "a, with a comma"), b(appender, "b \"quoted\"");
    a.join();
    b.join();
    EXPECT_EQ(failures, 0);
    const std::string text = slurp(root.path() + "/emissions.csv");
    EXPECT_EQ(count_of(text, "timestamp,project_name"), 1u);
    EXPECT_EQ(count_of(text, "\n"), 101u);
    auto table = read_csv_file(root.path() + "/emissions.csv");
    ASSERT_TRUE(table.ok()) << table.error().message;
    EXPECT_EQ(table.value().header, emissions_csv_columns());
    ASSERT_EQ(table.value().rows.size(), 100u);
    int from_a = 0;
    for (const auto& row : table.value().rows) {
      ASSERT_EQ(row.size(), emissions_csv_columns().size());
      from_a += row[1] == "a, with a comma";
      EXPECT_TRUE(row[1] == "a, with a comma" || row[1] == "b \"quoted\"") << row[1];
    }
    EXPECT_EQ(from_a, 50);
  }
}

}  // namespace
}  // namespace carbonmeter
