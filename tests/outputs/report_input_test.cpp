// `carbonmeter report RUN.json --html/--model-card`, run as a user would run it, on run reports
// that are damaged or hostile: one clear line on stderr and a non-zero exit, never a crash; and
// the model card written atomically, keeping its mode and writing through a symbolic link.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "support/fake_root.hpp"
#include "support/run_cli.hpp"

namespace carbonmeter {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

using Outcome = testing::CliOutcome;
using testing::slurp;

Outcome carbonmeter(const std::vector<std::string>& args) { return testing::run_carbonmeter(args); }

json good_run() {
  return {{"project_name", "demo"},
          {"command", {"python", "train.py"}},
          {"duration_s", 10},
          {"energy_j", {{"cpu", 900}, {"ram", 100}, {"gpu", 0}, {"total", 1000}}},
          {"method", {{"cpu", "rapl-powercap"}, {"ram", "ram-estimate"}, {"gpu", "none"}}},
          {"samples", {{{"t_s", 5}, {"power_w", {{"cpu", 90}, {"ram", 10}, {"gpu", 0}}}}}},
          {"emissions_g", 1234567.8},
          {"emissions_range_g", {1000000, 1500000}},
          {"intensity", {{"how", "--country FRA"}, {"source", "ember-2024"}, {"year", 2024}}},
          {"location", {{"country_name", "France"}}},
          {"equivalents",
           {{{"item", "car_km"},
             {"unit", "km"},
             {"amount", 5},
             {"g_co2e_per_unit", 244.2},
             {"source", "US EPA"},
             {"vintage", "2023"}}}},
          {"notes", {"a note"}}};
}

// Each damaged report, with the field its error must name.
struct Hostile {
  std::string name;
  std::string text;
  std::string message;
};

std::vector<Hostile> hostile_reports() {
  std::vector<Hostile> out;
  auto with = [&](const std::string& name, const std::string& key, const json& value,
                  const std::string& field) {
    json run = good_run();
    run[key] = value;
    out.push_back({name, run.dump(), "field " + field + ": expected"});
  };
  with("empty range", "emissions_range_g", json::array(), "emissions_range_g");
  with("range of strings", "emissions_range_g", {"1", "2"}, "emissions_range_g[0]");
  with("empty equivalent", "equivalents", json::array({json::object()}), "equivalents[0].item");
  with("equivalent not an object", "equivalents", {5}, "equivalents[0]");
  with("amount a string", "equivalents",
       {{{"item", "car_km"}, {"unit", "km"}, {"amount", "5"}, {"g_co2e_per_unit", 244.2}}},
       "equivalents[0].amount");
  with("emissions a string", "emissions_g", "1234", "emissions_g");
  with("duration NaN as text", "duration_s", "NaN", "duration_s");
  with("samples not an array", "samples", "many", "samples");
  with("sample not an object", "samples", {1, 2}, "samples[0]");
  with("sample time a string", "samples", {{{"t_s", "later"}}}, "samples[0].t_s");
  with("power not an object", "samples", {{{"t_s", 1}, {"power_w", {1, 2}}}}, "samples[0].power_w");
  with("energy not an object", "energy_j", 5, "energy_j");
  with("energy null", "energy_j", nullptr, "energy_j");
  with("cpu energy a string", "energy_j", {{"cpu", "lots"}}, "energy_j.cpu");
  with("command of numbers", "command", {1, 2}, "command[0]");
  with("method a number", "method", {{"cpu", 5}}, "method.cpu");
  with("notes a string", "notes", "text", "notes");
  with("note null", "notes", {nullptr}, "notes[0]");
  with("gpu a number", "gpus", {5}, "gpus[0]");
  with("gpu name a number", "gpus", {{{"name", 5}}}, "gpus[0].name");
  with("host a string", "host", "box", "host");
  with("intensity an array", "intensity", json::array(), "intensity");
  with("location name a number", "location", {{"country_name", 5}}, "location.country_name");
  with("intensity samples of strings", "sample_intensity_g_per_kwh", {"x"}, "sample_intensity_g_per_kwh[0]");
  with("project a number", "project_name", 5, "project_name");
  // Numbers too large for a double: the parser refuses them.
  std::string infinite = good_run().dump();
  infinite.replace(infinite.find("1234567.8"), 9, "1e999");
  out.push_back({"infinite emissions", infinite, "not a carbonmeter run report"});
  // Deep nesting where a string is expected.
  json deep = good_run();
  std::string nested = std::string(100000, '[') + std::string(100000, ']');
  std::string deep_text = deep.dump();
  deep_text.replace(deep_text.find("[\"a note\"]"), 10, "[" + nested + "]");
  out.push_back({"deep nesting", deep_text, "field notes[0]: expected a string"});
  out.push_back({"NaN literal", "{\"energy_j\": {}, \"emissions_g\": NaN}", "not a carbonmeter run report"});
  out.push_back({"an array", "[1, 2]", "not a carbonmeter run report"});
  out.push_back({"empty", "", "not a carbonmeter run report"});
  return out;
}

TEST(ReportInput, HostileRunReportsAreOneClearErrorNeverACrash) {
  testing::FakeRoot root("");
  for (const Hostile& hostile : hostile_reports()) {
    SCOPED_TRACE(hostile.name);
    const std::string path = root.path() + "/run.json";
    testing::write_file(path, hostile.text);
    for (const char* option : {"--html", "--model-card"}) {
      SCOPED_TRACE(option);
      const std::string output =
          root.path() + (option == std::string("--html") ? "/report.html" : "/README.md");
      Outcome outcome = carbonmeter({"report", path, option, output});
      EXPECT_FALSE(outcome.signalled) << outcome.err;
      EXPECT_EQ(outcome.exit_code, 1) << outcome.err;
      EXPECT_THAT(outcome.err, HasSubstr(path));
      EXPECT_THAT(outcome.err, HasSubstr(hostile.message));
      EXPECT_THAT(outcome.err, ::testing::Not(HasSubstr("internal error")));
      EXPECT_EQ(std::count(outcome.err.begin(), outcome.err.end(), '\n'), 1) << outcome.err;
      EXPECT_FALSE(std::filesystem::exists(output));
    }
  }
}

TEST(ReportInput, MissingFieldsAreLeftOutOfThePageAndTheCardSaysWhatIsMissing) {
  testing::FakeRoot root("");
  testing::write_file(root.path() + "/run.json", R"({"energy_j": {}, "samples": null, "equivalents": []})");
  Outcome html = carbonmeter({"report", root.path() + "/run.json", "--html", root.path() + "/report.html"});
  EXPECT_EQ(html.exit_code, 0) << html.err;
  EXPECT_THAT(slurp(root.path() + "/report.html"), HasSubstr("</html>"));
  Outcome card =
      carbonmeter({"report", root.path() + "/run.json", "--model-card", root.path() + "/README.md"});
  EXPECT_FALSE(card.signalled);
  EXPECT_EQ(card.exit_code, 1);
  EXPECT_THAT(card.err, HasSubstr("has no emissions_g"));
}

TEST(ReportInput, TheModelCardKeepsItsModeAndItsLink) {
  testing::FakeRoot root("");
  testing::write_file(root.path() + "/run.json", good_run().dump());
  std::filesystem::create_directory(root.path() + "/model");
  const std::string card = root.path() + "/model/README.md";
  testing::write_file(card, "---\nlicense: mit\n---\n# Card\n");
  ASSERT_EQ(::chmod(card.c_str(), 0640), 0);
  const std::string link = root.path() + "/README.md";
  std::filesystem::create_symlink("model/README.md", link);

  Outcome outcome = carbonmeter({"report", root.path() + "/run.json", "--model-card", link});
  ASSERT_EQ(outcome.exit_code, 0) << outcome.err;
  EXPECT_TRUE(std::filesystem::is_symlink(link));
  EXPECT_EQ(std::filesystem::read_symlink(link), "model/README.md");
  const std::string text = slurp(card);
  EXPECT_THAT(text, HasSubstr("---\nlicense: mit\nco2_eq_emissions:\n  emissions: 1234567.8\n"));
  EXPECT_THAT(text, HasSubstr("\n---\n# Card\n"));
  struct stat st {};
  ASSERT_EQ(::stat(card.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  // Nothing left behind: no temporary files beside the card or the link.
  std::size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(root.path() + "/model")) {
    ++files;
    EXPECT_EQ(entry.path().filename(), "README.md");
  }
  EXPECT_EQ(files, 1u);

  // A new card gets the usual mode (umask applied), not the temporary file's 0600.
  const std::string fresh = root.path() + "/model/NEW.md";
  const mode_t mask = ::umask(022);
  Outcome created = carbonmeter({"report", root.path() + "/run.json", "--model-card", fresh});
  ::umask(mask);
  ASSERT_EQ(created.exit_code, 0) << created.err;
  ASSERT_EQ(::stat(fresh.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0644u);

  // A dangling link is written through too: the file it names is created.
  std::filesystem::create_symlink("model/LATER.md", root.path() + "/LATER.md");
  Outcome dangling =
      carbonmeter({"report", root.path() + "/run.json", "--model-card", root.path() + "/LATER.md"});
  ASSERT_EQ(dangling.exit_code, 0) << dangling.err;
  EXPECT_TRUE(std::filesystem::is_symlink(root.path() + "/LATER.md"));
  EXPECT_THAT(slurp(root.path() + "/model/LATER.md"), HasSubstr("co2_eq_emissions:"));
}

}  // namespace
}  // namespace carbonmeter
