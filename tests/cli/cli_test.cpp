// The carbonmeter program itself, run as a user would run it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/csv.hpp"
#include "support/fake_gpu.hpp"
#include "support/fake_root.hpp"
#include "support/run_cli.hpp"

namespace carbonmeter {
namespace {

using testing::FakeRoot;
using ::testing::HasSubstr;

using Outcome = testing::CliOutcome;
using testing::slurp;

Outcome carbonmeter(const std::vector<std::string>& args, const std::string& cwd = "/tmp",
                    const std::function<void(pid_t)>& while_running = nullptr) {
  return testing::run_carbonmeter(args, cwd, while_running);
}

TEST(Cli, RunPassesTheExitCodeThroughAndWritesTheReport) {
  FakeRoot root("intel_server_1s", false);
  Outcome outcome = carbonmeter({"run", "--interval", "0.05", "--output-dir", root.path(), "--json",
                                 root.path() + "/report.json", "--", "sh", "-c", "sleep 0.3; exit 7"});
  EXPECT_EQ(outcome.exit_code, 7) << outcome.err;
  EXPECT_THAT(outcome.err, HasSubstr("exited 7"));
  EXPECT_THAT(outcome.err, HasSubstr("rapl-powercap (measured counter"));
  auto report = nlohmann::json::parse(slurp(root.path() + "/report.json"));
  for (const char* key : {"duration_s", "energy_j", "power_w", "method", "uncertainty", "samples"})
    EXPECT_TRUE(report.contains(key)) << key;
  for (const char* component : {"cpu", "ram", "gpu", "total"})
    EXPECT_TRUE(report["energy_j"].contains(component));
  EXPECT_EQ(report["method"]["cpu"], "rapl-powercap");
  EXPECT_EQ(report["method"]["gpu"], "none");
  EXPECT_EQ(report["exit_code"], 7);
  EXPECT_EQ(report["scope"], "process");
  EXPECT_GE(report["duration_s"].get<double>(), 0.3);
  EXPECT_GE(report["samples"].size(), 3u);
  EXPECT_EQ(report["command"], nlohmann::json({"sh", "-c", "sleep 0.3; exit 7"}));
}

TEST(Cli, CommandNotFoundIs127AndNotExecutableIs126) {
  FakeRoot root("intel_server_1s", false);
  Outcome missing = carbonmeter({"run", "--output-dir", root.path(), "--", "no-such-command-xyz"});
  EXPECT_EQ(missing.exit_code, 127);
  EXPECT_THAT(missing.err, HasSubstr("cannot run 'no-such-command-xyz'"));
  root.write("not-executable.sh", "echo hi\n");
  Outcome denied =
      carbonmeter({"run", "--output-dir", root.path(), "--", root.path() + "/not-executable.sh"});
  EXPECT_EQ(denied.exit_code, 126);
}

TEST(Cli, KilledBySignalIs128PlusN) {
  FakeRoot root("intel_server_1s", false);
  Outcome outcome = carbonmeter({"run", "--output-dir", root.path(), "--", "sh", "-c", "kill -KILL $$"});
  EXPECT_EQ(outcome.exit_code, 128 + SIGKILL);
}

TEST(Cli, SigtermToCarbonmeterIsForwardedToTheCommand) {
  FakeRoot root("intel_server_1s", false);
  Outcome outcome =
      carbonmeter({"run", "--output-dir", root.path(), "--", "sleep", "30"}, "/tmp", [](pid_t pid) {
        testing::wait_until([pid] { return testing::has_child_process(pid); });
        ::kill(pid, SIGTERM);
      });
  EXPECT_EQ(outcome.exit_code, 128 + SIGTERM) << outcome.err;
  EXPECT_THAT(outcome.err, HasSubstr("exited 143"));
}

TEST(Cli, BadUsageIsOneClearLineAndExit2) {
  Outcome unknown_flag = carbonmeter({"run", "--bogus", "--", "true"});
  EXPECT_EQ(unknown_flag.exit_code, 2);
  EXPECT_THAT(unknown_flag.err, HasSubstr("unknown option '--bogus'"));
  Outcome no_command = carbonmeter({"run"});
  EXPECT_EQ(no_command.exit_code, 2);
  EXPECT_THAT(no_command.err, HasSubstr("no command given"));
  Outcome bad_interval = carbonmeter({"run", "--interval", "0", "--", "true"});
  EXPECT_EQ(bad_interval.exit_code, 2);
  EXPECT_THAT(bad_interval.err, HasSubstr("--interval"));
  for (const char* period : {"-1", "3601", "nan"}) {
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"run", "--journal-sync", period, "--", "true"},
          std::vector<std::string>{"monitor", "--journal-sync", period, "--duration", "0.1"}}) {
      Outcome bad_sync = carbonmeter(args);
      EXPECT_EQ(bad_sync.exit_code, 2) << args[0] << " " << period;
      EXPECT_THAT(bad_sync.err, HasSubstr("--journal-sync")) << args[0] << " " << period;
    }
  }
  Outcome bad_scope = carbonmeter({"run", "--scope", "galaxy", "--", "true"});
  EXPECT_EQ(bad_scope.exit_code, 2);
  Outcome no_subcommand = carbonmeter({"frobnicate"});
  EXPECT_EQ(no_subcommand.exit_code, 2);
  Outcome bad_domains = carbonmeter({"run", "--rapl-domains", "psys,package", "--", "true"});
  EXPECT_EQ(bad_domains.exit_code, 2);
  EXPECT_THAT(bad_domains.err, HasSubstr("psys already contains package"));
}

TEST(Cli, UnwritableOutputDirIsAFatalErrorBeforeTheCommandRuns) {
  FakeRoot root("intel_server_1s", false);
  root.write("a-file", "x");
  Outcome outcome =
      carbonmeter({"run", "--output-dir", root.path() + "/a-file/out", "--", "touch", root.path() + "/ran"});
  EXPECT_EQ(outcome.exit_code, 1);
  EXPECT_THAT(outcome.err, HasSubstr("--output-dir"));
  EXPECT_FALSE(std::filesystem::exists(root.path() + "/ran"));
  Outcome bad_json = carbonmeter({"run", "--json", root.path() + "/missing-dir/r.json", "--", "true"});
  EXPECT_EQ(bad_json.exit_code, 1);
  EXPECT_THAT(bad_json.err, HasSubstr("does not exist"));
}

// Nothing is lost: carbonmeter is killed mid-run; the journal gives the energy up to its last
// sample, which matches the fake counter's progress at that moment.
TEST(Cli, RecoverAfterCarbonmeterIsKilled) {
  FakeRoot root("intel_server_1s", false);
  const std::string out_dir = root.path() + "/out";
  std::atomic<bool> driving{true};
  std::thread driver([&] {  // 50 W on the package, whole machine
    std::uint64_t energy_uj = 100'000'000;
    while (driving) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      energy_uj += 500'000;
      root.set_energy_uj("intel-rapl:0", energy_uj);
    }
  });
  Outcome killed = carbonmeter(
      {"run", "--scope", "machine", "--interval", "0.05", "--output-dir", out_dir, "--", "sleep", "30"},
      "/tmp", [](pid_t pid) {
        testing::wait_until([pid] { return testing::has_child_process(pid); });
        std::this_thread::sleep_for(std::chrono::milliseconds(800));
        ::kill(pid, SIGKILL);
      });
  driving = false;
  driver.join();
  // The orphaned `sleep 30` is the journal's root_pid: end it (and only it).
  for (const auto& entry : std::filesystem::directory_iterator(out_dir)) {
    std::ifstream journal(entry.path());
    std::string header;
    std::getline(journal, header);
    auto json = nlohmann::json::parse(header, nullptr, false);
    if (json.is_object() && json.contains("root_pid")) ::kill(json["root_pid"].get<pid_t>(), SIGKILL);
  }
  EXPECT_EQ(killed.exit_code, 128 + SIGKILL);
  Outcome recovered =
      carbonmeter({"report", "--recover", out_dir, "--json", root.path() + "/recovered.json"});
  ASSERT_EQ(recovered.exit_code, 0) << recovered.err;
  EXPECT_THAT(recovered.err, HasSubstr("did not end normally"));
  auto report = nlohmann::json::parse(slurp(root.path() + "/recovered.json"));
  EXPECT_FALSE(report["complete"].get<bool>());
  const double duration = report["duration_s"].get<double>();
  const double energy = report["energy_j"]["cpu"].get<double>();
  EXPECT_GT(duration, 0.4);
  EXPECT_NEAR(energy / duration, 50.0, 12.0);  // the counter's 50 W, within sampling jitter
}

TEST(Cli, ReportErrorsAreClear) {
  FakeRoot root("");
  Outcome nothing = carbonmeter({"report"});
  EXPECT_EQ(nothing.exit_code, 2);
  Outcome empty_dir = carbonmeter({"report", "--recover", root.path()});
  EXPECT_EQ(empty_dir.exit_code, 1);
  EXPECT_THAT(empty_dir.err, HasSubstr("no carbonmeter-*.journal"));
  root.write("carbonmeter-x.journal", "\x01\x02 not json\n");
  Outcome corrupt = carbonmeter({"report", "--recover", root.path()});
  EXPECT_EQ(corrupt.exit_code, 1);
  EXPECT_THAT(corrupt.err, HasSubstr("not a carbonmeter journal"));
}

TEST(Cli, MonitorPrintsALinePerIntervalThenTotals) {
  FakeRoot root("intel_server_1s", false);
  Outcome outcome = carbonmeter({"monitor", "--interval", "0.1", "--duration", "0.55", "--json-lines"});
  ASSERT_EQ(outcome.exit_code, 0) << outcome.err;
  std::istringstream lines(outcome.out);
  int count = 0;
  for (std::string line; std::getline(lines, line); ++count) {
    auto json = nlohmann::json::parse(line);
    EXPECT_TRUE(json["power_w"].contains("cpu"));
  }
  EXPECT_GE(count, 4);
  EXPECT_THAT(outcome.err, HasSubstr("whole machine"));
}

TEST(Cli, MonitorStopsOnSigint) {
  FakeRoot root("intel_server_1s", false);
  Outcome outcome = carbonmeter({"monitor", "--interval", "0.1"}, "/tmp", [](pid_t pid) {
    testing::wait_until([pid] { return testing::bytes_written_to(pid, 1) > 0; });  // its first line
    ::kill(pid, SIGINT);
  });
  EXPECT_EQ(outcome.exit_code, 0) << outcome.err;
  EXPECT_THAT(outcome.out, HasSubstr("cpu"));
  EXPECT_THAT(outcome.err, HasSubstr("total"));
}

TEST(Cli, HardwareListsEverySensorWithFixes) {
  FakeRoot root("vm_no_rapl", true);
  Outcome text = carbonmeter({"hardware"});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_THAT(text.out, HasSubstr("rapl-powercap  not found"));
  EXPECT_THAT(text.out, HasSubstr("fix:"));
  EXPECT_THAT(text.out, HasSubstr("cpu-estimate   found"));
  Outcome json = carbonmeter({"hardware", "--json"});
  ASSERT_EQ(json.exit_code, 0);
  auto parsed = nlohmann::json::parse(json.out);
  EXPECT_EQ(parsed["selected"]["cpu"]["method"], "cpu-estimate");
  EXPECT_EQ(parsed["sensors"].size(),
            7u);  // rapl-powercap, rapl-msr, rapl-agent, cpu-estimate, ram-estimate, nvml, rocm-smi
}

TEST(Cli, TextThatIsNotUtf8IsReportedNotACrash) {
  FakeRoot root("intel_server_1s", false);
  Outcome outcome = carbonmeter({"run", "--output-dir", root.path(), "--project-name", "caf\xc3", "--json",
                                 root.path() + "/r.json", "--", "true", "\xff\xfe"});
  ASSERT_EQ(outcome.exit_code, 0) << outcome.err;
  auto report = nlohmann::json::parse(slurp(root.path() + "/r.json"));
  EXPECT_EQ(report["command"][1], "\xEF\xBF\xBD\xEF\xBF\xBD");  // U+FFFD twice
  Outcome recovered = carbonmeter({"report", "--recover", root.path()});
  EXPECT_EQ(recovered.exit_code, 0) << recovered.err;
}

TEST(Cli, DescendantsLeftRunningAreNamedInANote) {
  FakeRoot root("intel_server_1s", false);
  Outcome outcome =
      carbonmeter({"run", "--output-dir", root.path(), "--", "sh", "-c", "(sleep 2 &) ; exit 0"});
  EXPECT_EQ(outcome.exit_code, 0) << outcome.err;
  EXPECT_THAT(outcome.err, HasSubstr("still ran when it exited"));
}

TEST(Cli, JournalThatCannotBeWrittenIsReportedAndTheRunGoesOn) {
  FakeRoot root("intel_server_1s", false);
  // A file-size limit of 2 KiB (SIGXFSZ ignored so that writes fail with EFBIG).
  const std::string script = std::string("trap '' XFSZ; ulimit -f 4; exec ") + CARBONMETER_CLI_PATH +
                             " run --interval 0.01 --output-dir " + root.path() + " -- sleep 0.5";
  Outcome outcome = [&] {
    Outcome o;
    std::string command = "sh -c \"" + script + "\" 2>" + root.path() + "/err.txt";
    o.exit_code = WEXITSTATUS(::system(command.c_str()));
    o.err = slurp(root.path() + "/err.txt");
    return o;
  }();
  EXPECT_EQ(outcome.exit_code, 0) << outcome.err;
  EXPECT_THAT(outcome.err, HasSubstr("cannot append to the journal"));
  EXPECT_THAT(outcome.err, HasSubstr("could not be written completely"));
}

TEST(Cli, MonitorRejectsAbsurdDurations) {
  for (const char* duration : {"nan", "inf", "-1", "1e30"}) {
    Outcome outcome = carbonmeter({"monitor", "--duration", duration});
    EXPECT_EQ(outcome.exit_code, 2) << duration << ": " << outcome.err;
  }
}

TEST(Cli, JsonToStdoutIsWrittenInPlace) {
  FakeRoot root("intel_server_1s", false);
  Outcome outcome =
      carbonmeter({"run", "--quiet", "--output-dir", root.path(), "--json", "/dev/stdout", "--", "true"});
  ASSERT_EQ(outcome.exit_code, 0) << outcome.err;
  auto report = nlohmann::json::parse(outcome.out);
  EXPECT_EQ(report["exit_code"], 0);
}

TEST(Cli, GpusAreCountedNamedAndListed) {
  FakeRoot root("intel_server_1s", false);
  testing::FakeGpus gpus(FAKE_NVML_PATH);
  gpus.devices = {testing::FakeGpuDevice{}, testing::FakeGpuDevice{}};
  gpus.devices[1].index = 1;
  gpus.write();
  Outcome outcome = carbonmeter({"run", "--scope", "machine", "--output-dir", root.path(), "--json",
                                 root.path() + "/r.json", "--gpu-ids", "1", "--", "sleep", "0.2"});
  ASSERT_EQ(outcome.exit_code, 0) << outcome.err;
  EXPECT_THAT(outcome.err, HasSubstr("1 × NVIDIA H100 80GB HBM3"));
  auto report = nlohmann::json::parse(slurp(root.path() + "/r.json"));
  ASSERT_EQ(report["gpus"].size(), 1u);
  EXPECT_EQ(report["gpus"][0]["index"], 1);
  EXPECT_EQ(report["method"]["gpu"].get<std::string>().rfind("nvml-", 0), 0u);
}

// Energy to emissions end to end: a run with a known intensity, its JSON, emissions.csv, then
// the model card and the HTML page made from the run report.
TEST(Cli, RunTurnsEnergyIntoEmissionsAndReportsMakeModelCardsAndPages) {
  FakeRoot root("intel_server_1s", false);
  std::atomic<bool> driving{true};
  std::thread driver([&] {  // 100 W on the package, by the clock (a starved thread catches up)
    const auto start = std::chrono::steady_clock::now();
    while (driving) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      const double elapsed_s =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      root.set_energy_uj("intel-rapl:0", 100'000'000 + static_cast<std::uint64_t>(elapsed_s * 100e6));
    }
  });
  Outcome outcome = carbonmeter({"run", "--scope", "machine", "--interval", "0.1", "--carbon-intensity",
                                 "400", "--pue", "1.5", "--output-dir", root.path(), "--json",
                                 root.path() + "/run.json", "--", "sleep", "0.5"});
  driving = false;
  driver.join();
  ASSERT_EQ(outcome.exit_code, 0) << outcome.err;
  EXPECT_THAT(outcome.err, HasSubstr("CO2e"));
  EXPECT_THAT(outcome.err, HasSubstr("--carbon-intensity 400"));
  auto run = nlohmann::json::parse(slurp(root.path() + "/run.json"));
  const double kwh = run["energy_j"]["total"].get<double>() / 3.6e6;
  EXPECT_GT(kwh, 0.0);
  EXPECT_NEAR(run["emissions_g"].get<double>(), kwh * 1.5 * 400, 1e-9);
  EXPECT_LT(run["emissions_range_g"][0].get<double>(), run["emissions_g"].get<double>());
  EXPECT_EQ(run["intensity"]["value_g_per_kwh"], 400.0);
  EXPECT_TRUE(run.contains("water_l"));
  EXPECT_TRUE(run["equivalents"].is_array());
  auto csv = read_csv_file(root.path() + "/emissions.csv");
  ASSERT_TRUE(csv.ok()) << csv.error().message;
  ASSERT_EQ(csv.value().rows.size(), 1u);
  EXPECT_NEAR(std::stod(csv.value().rows[0][5]), run["emissions_g"].get<double>() / 1000.0, 1e-12);

  root.write("README.md", "---\nlicense: mit\n---\n# Card\n");
  Outcome card = carbonmeter({"report", root.path() + "/run.json", "--model-card", root.path() + "/README.md",
                              "--training-type", "fine-tuning", "--html", root.path() + "/report.html"});
  ASSERT_EQ(card.exit_code, 0) << card.err;
  const std::string readme = slurp(root.path() + "/README.md");
  EXPECT_THAT(readme, HasSubstr("---\nlicense: mit\nco2_eq_emissions:\n  emissions: "));
  EXPECT_THAT(readme, HasSubstr("training_type: \"fine-tuning\""));
  EXPECT_THAT(readme, HasSubstr("---\n# Card\n"));
  EXPECT_THAT(slurp(root.path() + "/report.html"), HasSubstr("<svg"));

  Outcome not_a_report =
      carbonmeter({"report", root.path() + "/README.md", "--html", root.path() + "/x.html"});
  EXPECT_EQ(not_a_report.exit_code, 1);
  EXPECT_THAT(not_a_report.err, HasSubstr("not a carbonmeter run report"));
}

TEST(Cli, LocationProblemsStopTheRunBeforeTheCommandStarts) {
  FakeRoot root("intel_server_1s", false);
  root.write("old.csv", "timestamp,carbon_intensity\n2020-01-01T00:00:00Z,100\n2020-01-01T01:00:00Z,200\n");
  Outcome stale = carbonmeter({"run", "--intensity-series", root.path() + "/old.csv", "--output-dir",
                               root.path(), "--", "touch", root.path() + "/ran"});
  EXPECT_EQ(stale.exit_code, 1);
  EXPECT_THAT(stale.err, HasSubstr("does not cover now"));
  root.write("bad.csv", "timestamp,carbon_intensity\n2020-01-01T00:00:00Z,abc\n");
  Outcome bad = carbonmeter(
      {"run", "--intensity-series", root.path() + "/bad.csv", "--", "touch", root.path() + "/ran"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_THAT(bad.err, HasSubstr("bad.csv:2"));
  Outcome unknown = carbonmeter({"run", "--country", "Atlantis", "--", "touch", root.path() + "/ran"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_THAT(unknown.err, HasSubstr("not a known country"));
  EXPECT_FALSE(std::filesystem::exists(root.path() + "/ran"));
  Outcome intensity = carbonmeter({"intensity", "--country", "FRA", "--json"});
  ASSERT_EQ(intensity.exit_code, 0) << intensity.err;
  auto json = nlohmann::json::parse(intensity.out);
  EXPECT_EQ(json["country_iso3"], "FRA");
  EXPECT_GT(json["g_per_kwh"].get<double>(), 0.0);
  EXPECT_FALSE(json["source"].get<std::string>().empty());
  Outcome list = carbonmeter({"intensity", "--list", "cloud"});
  EXPECT_EQ(list.exit_code, 0);
  EXPECT_THAT(list.out, HasSubstr("gcp:us-central1"));
  EXPECT_THAT(list.out,
              ::testing::Not(HasSubstr(" -1.0 g/kWh")));  // regions without a figure take their zone's
  Outcome ba = carbonmeter({"intensity", "--zone", "CISO", "--json"});  // the EIA balancing authority code
  ASSERT_EQ(ba.exit_code, 0) << ba.err;
  EXPECT_EQ(nlohmann::json::parse(ba.out)["region"], "US-CAL-CISO");
  for (const char* flag : {"--country", "--zone", "--cloud", "--intensity-series"}) {
    Outcome empty = carbonmeter({"intensity", flag, ""});
    EXPECT_EQ(empty.exit_code, 2) << flag;
    EXPECT_THAT(empty.err, HasSubstr("empty")) << flag;
  }
  for (const char* flag : {"--pue", "--carbon-intensity", "--wue"}) {
    Outcome nan = carbonmeter({"intensity", "--country", "FRA", flag, "nan"});
    EXPECT_EQ(nan.exit_code, 2) << flag;
    EXPECT_THAT(nan.err, HasSubstr("is not a number")) << flag;
  }
}

TEST(Cli, AFlagNamingAPlaceBeatsTheEnvironment) {
  ::setenv("CARBONMETER_TEST_KEEP_LOCATION", "1", 1);
  ::setenv("CARBONMETER_CARBON_INTENSITY", "800", 1);
  Outcome flag = carbonmeter({"intensity", "--country", "FRA", "--json"});
  Outcome variable = carbonmeter({"intensity", "--json"});
  ::unsetenv("CARBONMETER_CARBON_INTENSITY");
  ::unsetenv("CARBONMETER_TEST_KEEP_LOCATION");
  ASSERT_EQ(flag.exit_code, 0) << flag.err;
  EXPECT_EQ(nlohmann::json::parse(flag.out)["country_iso3"], "FRA");
  ASSERT_EQ(variable.exit_code, 0) << variable.err;
  EXPECT_EQ(nlohmann::json::parse(variable.out)["g_per_kwh"].get<double>(), 800.0);
}

TEST(Cli, ASeriesThatEndsMidRunKeepsTheCoveredPartAndFails) {
  FakeRoot root("intel_server_1s", false);
  const long now = static_cast<long>(::time(nullptr));
  std::string series = "timestamp,carbon_intensity\n";
  // Ends at now + 3 s: covers the start even where carbonmeter starts slowly (a sanitizer build).
  for (long t = now - 3; t <= now + 2; ++t) series += std::to_string(t) + ",100\n";
  root.write("short.csv", series);
  Outcome outcome =
      carbonmeter({"run", "--scope", "machine", "--intensity-series", root.path() + "/short.csv",
                   "--output-dir", root.path(), "--json", root.path() + "/run.json", "--", "sleep", "5"});
  EXPECT_EQ(outcome.exit_code, 1) << outcome.err;
  EXPECT_THAT(outcome.err, HasSubstr("s of the run (it spans")) << outcome.err;
  auto run = nlohmann::json::parse(slurp(root.path() + "/run.json"));
  EXPECT_FALSE(run["emissions_complete"].get<bool>());
  EXPECT_GT(run["intensity"]["uncovered_s"].get<double>(), 1.0);
  EXPECT_EQ(run["samples"].size(), run["sample_emissions_g"].size());     // every sample is kept
  EXPECT_FALSE(std::filesystem::exists(root.path() + "/emissions.csv"));  // no partial row in the CSV
  EXPECT_TRUE(run["sample_intensity_g_per_kwh"].back().is_null());        // uncovered: no figure, not 0
  root.write("card.md", "# card\n");
  Outcome card = carbonmeter({"report", root.path() + "/run.json", "--model-card", root.path() + "/card.md"});
  EXPECT_EQ(card.exit_code, 1);
  EXPECT_THAT(card.err, HasSubstr("part of the run only"));
  EXPECT_EQ(slurp(root.path() + "/card.md"), "# card\n");
  Outcome page = carbonmeter({"report", root.path() + "/run.json", "--html", root.path() + "/page.html"});
  EXPECT_EQ(page.exit_code, 0) << page.err;
  EXPECT_THAT(slurp(root.path() + "/page.html"), HasSubstr("Partial emissions"));
}

TEST(Cli, DemoWorkloadIsMeasuredWithEstimatesOnAMachineWithoutRapl) {
  FakeRoot root("vm_no_rapl", false);
  Outcome outcome = carbonmeter({"run", "--output-dir", root.path(), "--json", root.path() + "/demo.json",
                                 "--", CARBONMETER_DEMO_WORKLOAD_PATH, "1"});
  ASSERT_EQ(outcome.exit_code, 0) << outcome.err;
  auto report = nlohmann::json::parse(slurp(root.path() + "/demo.json"));
  EXPECT_EQ(report["method"]["cpu"], "cpu-estimate");
  EXPECT_GT(report["energy_j"]["cpu"].get<double>(), 0.0);
  EXPECT_GT(report["energy_j"]["ram"].get<double>(), 0.0);
  EXPECT_GT(report["uncertainty"]["cpu"]["relative"].get<double>(), 0.0);
  EXPECT_THAT(outcome.err, HasSubstr("ESTIMATE"));
}

}  // namespace
}  // namespace carbonmeter
