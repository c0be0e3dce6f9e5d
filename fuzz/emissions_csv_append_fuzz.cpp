// libFuzzer target for appending to an existing emissions.csv (src/outputs/emissions_csv.cpp): the
// file a run finds in its output folder is read (header, layout, line endings) before a row is
// added. Whatever it holds, append_emissions_csv appends a row or keeps the file as a backup and
// starts a new one, or says why it cannot: it never crashes, and the file it leaves is CSV that
// reads back.
//
// Input: the bytes of the existing emissions.csv. Everything is written in a private temporary
// folder, emptied before each input.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "carbon/emissions.hpp"
#include "carbon/location.hpp"
#include "core/csv.hpp"
#include "core/run_report.hpp"
#include "fuzz_support.hpp"
#include "outputs/emissions_csv.hpp"

using namespace carbonmeter;

namespace {

// 900 J of CPU and 100 J of RAM over 10 s; 2 g CO2e (as tests/outputs/emissions_csv_test.cpp).
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
    account.it_energy_kwh = 1000.0 / 3.6e6;
    account.energy_kwh = account.it_energy_kwh;
    account.emissions_g = 2.0;
    account.energy_relative_uncertainty = 0.065;
    account.relative_uncertainty = 0.5;
    account.low_g = 1.0;
    account.high_g = 3.0;
    account.intensity_g_per_kwh = 7200.0;
    location.how = "--country FRA";
    location.country_iso3 = "FRA";
    location.country_name = "France";
    location.pue = 1.0;
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const FakeRun run;
  fuzz::clear_temp_dir();
  const std::string dir = fuzz::temp_dir();
  fuzz::write_temp_file("emissions.csv", fuzz::as_text(data, size));
  auto outcome = append_emissions_csv(dir, run.report, run.account, run.location);
  if (!outcome) {
    if (outcome.error().message.empty()) std::abort();
    return 0;
  }
  if (outcome.value().columns.empty()) std::abort();
  // What was written reads back (a kept, incompatible file is the backup's business).
  (void)read_csv_file(outcome.value().path);
  return 0;
}
