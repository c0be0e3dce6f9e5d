// `carbonmeter hub search` run as a user runs it, on a Hugging Face cache built in a temporary
// folder the way huggingface_hub lays it out (blobs, snapshots linking into them, refs/main), and
// on a folder of cards.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "support/fake_root.hpp"
#include "support/run_cli.hpp"

namespace carbonmeter {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::write_file;

// carbonmeter with `env` set in its own process; run_carbonmeter keeps the developer's Hugging Face
// settings out.
testing::CliOutcome carbonmeter(const std::vector<std::string>& args, const testing::EnvChanges& env = {}) {
  return testing::run_carbonmeter(args, "/tmp", nullptr, env);
}

std::string card(const std::string& co2_block) {
  return "---\nlicense: mit\n" + co2_block + "tags:\n- text\n---\n# A model\n\nSome text.\n";
}

class HubCli : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/carbonmeter-hub-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
    hf_home_ = dir_ + "/hf";
    hub_ = hf_home_ + "/hub";
    build_cache();
  }
  void TearDown() override { fs::remove_all(dir_); }

  // One model folder: blobs (name -> text), snapshots (revision -> blob name, or "" for no README),
  // refs/main when main_revision is given; snapshot folders get ages (older first).
  void add_model(const std::string& folder, const std::map<std::string, std::string>& blobs,
                 const std::vector<std::pair<std::string, std::string>>& snapshots,
                 const std::string& main_revision = "") {
    const std::string model = hub_ + "/" + folder;
    for (const auto& [name, text] : blobs) write_file(model + "/blobs/" + name, text);
    const auto now = fs::file_time_type::clock::now();
    int age_h = static_cast<int>(snapshots.size());
    for (const auto& [revision, blob] : snapshots) {
      const std::string snapshot = model + "/snapshots/" + revision;
      fs::create_directories(snapshot);
      write_file(snapshot + "/config.json", "{}\n");
      if (!blob.empty()) fs::create_symlink("../../blobs/" + blob, snapshot + "/README.md");
      fs::last_write_time(snapshot, now - std::chrono::hours(age_h--));
    }
    if (!main_revision.empty()) write_file(model + "/refs/main", main_revision);
  }

  void build_cache() {
    // refs/main names the older snapshot: its card counts, not the newer one's.
    add_model("models--org--alpha",
              {{"b1", card("co2_eq_emissions:\n  emissions: 1200\n  source: codecarbon\n"
                           "  training_type: fine-tuning\n  geographical_location: Paris, France\n"
                           "  hardware_used: 1 x A100\n")},
               {"b2", card("co2_eq_emissions: 999999\n")}},
              {{"1111", "b1"}, {"2222", "b2"}}, "1111");
    // No org, no refs/main: the newest snapshot.
    add_model("models--beta",
              {{"b3", card("co2_eq_emissions: 50\n")}, {"b4", card("co2_eq_emissions: 60\n")}},
              {{"aaaa", "b3"}, {"bbbb", "b4"}});
    add_model("models--org--gamma", {{"b5", card("co2_eq_emissions:\n  emissions: 2500000 # 2.5 t\n")}},
              {{"cccc", "b5"}}, "cccc");
    add_model("models--org--quiet", {{"b6", card("")}}, {{"dddd", "b6"}}, "dddd");
    add_model("models--org--units", {{"b7", card("co2_eq_emissions: 3.5 kg\n")}}, {{"eeee", "b7"}}, "eeee");
    add_model("models--org--dangling", {}, {{"ffff", "missing-blob"}}, "ffff");
    add_model("models--org--nocard", {}, {{"gggg", ""}}, "gggg");
    write_file(hub_ + "/datasets--org--data/blobs/x", card("co2_eq_emissions: 1\n"));
    write_file(hub_ + "/version.txt", "1\n");
  }

  std::string dir_, hf_home_, hub_;
};

std::vector<std::string> model_ids(const nlohmann::json& list) {
  std::vector<std::string> ids;
  for (const auto& item : list) ids.push_back(item["model_id"].get<std::string>());
  return ids;
}

TEST_F(HubCli, ReadsTheCacheThatHfHomeNames) {
  const auto outcome = carbonmeter({"hub", "search"}, {{"HF_HOME", hf_home_}});
  ASSERT_EQ(outcome.exit_code, 0) << outcome.err;
  const std::string& out = outcome.out;
  EXPECT_THAT(out, HasSubstr("MODEL"));
  EXPECT_THAT(out, HasSubstr("org/alpha"));
  EXPECT_THAT(out, HasSubstr("1.2 kg"));
  EXPECT_THAT(out, HasSubstr("codecarbon"));
  EXPECT_THAT(out, HasSubstr("fine-tuning"));
  EXPECT_THAT(out, HasSubstr("Paris, France"));
  EXPECT_THAT(out, HasSubstr("1 x A100"));
  EXPECT_THAT(out, HasSubstr(hub_ + "/models--org--alpha/snapshots/1111/README.md"));
  EXPECT_THAT(out, Not(HasSubstr("1000 kg")));  // the other snapshot's 999999 g
  EXPECT_THAT(out, HasSubstr("60 g"));          // beta's newest snapshot
  EXPECT_THAT(out, Not(HasSubstr("50 g")));
  EXPECT_THAT(out, HasSubstr("2.5 t"));
  EXPECT_THAT(out, HasSubstr("3 models report emissions"));
  EXPECT_THAT(out, HasSubstr("1 card reports no emissions"));
  EXPECT_THAT(out, HasSubstr("1 cached model has no README.md"));
  // The unreadable cards come after the table, each with what to fix.
  const std::size_t section = out.find("2 unreadable cards:");
  ASSERT_NE(section, std::string::npos) << out;
  EXPECT_GT(section, out.find("org/alpha"));
  EXPECT_THAT(out.substr(section),
              HasSubstr("models--org--units/snapshots/eeee/README.md: co2_eq_emissions"));
  EXPECT_THAT(out.substr(section), HasSubstr("3.5 kg = 3500"));
  EXPECT_THAT(out.substr(section),
              HasSubstr("models--org--dangling/snapshots/ffff/README.md: the card is a link"));
  EXPECT_THAT(out.substr(section), HasSubstr("huggingface-cli download org/dangling README.md"));
  EXPECT_EQ(outcome.err, "");
}

TEST_F(HubCli, JsonIsAListOfTheMatchesWithUnreadableCardsOnStderr) {
  const auto outcome = carbonmeter({"hub", "search", "--cache-dir", hub_, "--json"});
  ASSERT_EQ(outcome.exit_code, 0) << outcome.err;
  const nlohmann::json list = nlohmann::json::parse(outcome.out);
  ASSERT_TRUE(list.is_array());
  EXPECT_THAT(model_ids(list), ElementsAre("beta", "org/alpha", "org/gamma"));
  const nlohmann::json& alpha = list[1];
  EXPECT_EQ(alpha["emissions_g"], 1200.0);
  EXPECT_EQ(alpha["source"], "codecarbon");
  EXPECT_EQ(alpha["training_type"], "fine-tuning");
  EXPECT_EQ(alpha["geographical_location"], "Paris, France");
  EXPECT_EQ(alpha["hardware_used"], "1 x A100");
  EXPECT_EQ(alpha["path"], hub_ + "/models--org--alpha/snapshots/1111/README.md");
  EXPECT_EQ(list[0]["emissions_g"], 60.0);
  EXPECT_TRUE(list[0]["source"].is_null());
  EXPECT_TRUE(list[0]["hardware_used"].is_null());
  // stderr: one line per unreadable card, its path and why.
  std::vector<std::string> lines;
  for (std::size_t at = 0; at < outcome.err.size();) {
    const std::size_t end = outcome.err.find('\n', at);
    lines.push_back(outcome.err.substr(at, end - at));
    at = end == std::string::npos ? outcome.err.size() : end + 1;
  }
  ASSERT_EQ(lines.size(), 2u) << outcome.err;
  EXPECT_THAT(lines[0], HasSubstr(hub_ + "/models--org--dangling/snapshots/ffff/README.md: "));
  EXPECT_THAT(lines[1], HasSubstr(hub_ + "/models--org--units/snapshots/eeee/README.md: "));
  EXPECT_THAT(lines[1], HasSubstr("has a unit"));
}

TEST_F(HubCli, CacheDirAcceptsAnHfHomeToo) {
  const auto outcome = carbonmeter({"hub", "search", "--cache-dir", hf_home_, "--json"});
  ASSERT_EQ(outcome.exit_code, 0) << outcome.err;
  EXPECT_EQ(nlohmann::json::parse(outcome.out).size(), 3u);
}

TEST_F(HubCli, HfHubCacheComesBeforeHfHome) {
  const auto outcome =
      carbonmeter({"hub", "search", "--json"}, {{"HF_HUB_CACHE", hub_}, {"HF_HOME", dir_ + "/elsewhere"}});
  ASSERT_EQ(outcome.exit_code, 0) << outcome.err;
  EXPECT_EQ(nlohmann::json::parse(outcome.out).size(), 3u);
}

TEST_F(HubCli, ThresholdsAreInclusiveAndSortEmissionsGoesUp) {
  const auto within = carbonmeter(
      {"hub", "search", "--cache-dir", hub_, "--min-grams", "60", "--max-grams", "1200", "--json"});
  ASSERT_EQ(within.exit_code, 0) << within.err;
  EXPECT_THAT(model_ids(nlohmann::json::parse(within.out)), ElementsAre("beta", "org/alpha"));
  const auto above = carbonmeter({"hub", "search", "--cache-dir", hub_, "--min-grams", "60.5", "--json"});
  EXPECT_THAT(model_ids(nlohmann::json::parse(above.out)), ElementsAre("org/alpha", "org/gamma"));
  const auto below = carbonmeter({"hub", "search", "--cache-dir", hub_, "--max-grams", "59", "--json"});
  EXPECT_EQ(nlohmann::json::parse(below.out), nlohmann::json::array());

  const auto sorted = carbonmeter({"hub", "search", "--cache-dir", hub_, "--sort", "emissions", "--json"});
  EXPECT_THAT(model_ids(nlohmann::json::parse(sorted.out)), ElementsAre("beta", "org/alpha", "org/gamma"));
  const auto descending =
      carbonmeter({"hub", "search", "--cache-dir", hub_, "--sort", "emissions", "--descending", "--json"});
  EXPECT_THAT(model_ids(nlohmann::json::parse(descending.out)),
              ElementsAre("org/gamma", "org/alpha", "beta"));

  const auto text =
      carbonmeter({"hub", "search", "--cache-dir", hub_, "--sort", "emissions", "--max-grams", "2000"});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_LT(text.out.find("beta"), text.out.find("org/alpha"));
  EXPECT_THAT(text.out, HasSubstr("2 models with emissions of 2 kg or less, of 3 that report emissions"));
}

TEST_F(HubCli, AFolderOfCards) {
  const std::string cards = dir_ + "/cards";
  write_file(cards + "/org/name/README.md", card("co2_eq_emissions:\n  emissions: '12.5'\n  source: logs\n"));
  write_file(cards + "/foo.md", card("co2_eq_emissions: 7 # grams\n"));
  write_file(cards + "/deep/er/bar.md", "\xEF\xBB\xBF---\r\nco2_eq_emissions: 9\r\n---\r\n");
  write_file(cards + "/none.md", "# no front matter\n");
  write_file(cards + "/bad/README.md", "---\nco2_eq_emissions:\n  emissions: nan\n---\n");
  write_file(cards + "/open/README.md", "---\nco2_eq_emissions: 4\nno end\n");
  write_file(cards + "/.git/x.md", card("co2_eq_emissions: 1\n"));
  write_file(cards + "/notes.txt", card("co2_eq_emissions: 1\n"));
  const auto outcome = carbonmeter({"hub", "search", "--cards", cards, "--json"});
  ASSERT_EQ(outcome.exit_code, 0) << outcome.err;
  const nlohmann::json list = nlohmann::json::parse(outcome.out);
  EXPECT_THAT(model_ids(list), ElementsAre("deep/er/bar", "foo", "org/name"));
  EXPECT_EQ(list[2]["emissions_g"], 12.5);
  EXPECT_EQ(list[2]["path"], cards + "/org/name/README.md");
  EXPECT_THAT(outcome.err, HasSubstr(cards + "/bad/README.md: co2_eq_emissions emissions (line 3) 'nan'"));
  EXPECT_THAT(outcome.err, HasSubstr(cards + "/open/README.md: the front matter"));
  EXPECT_THAT(outcome.err, HasSubstr("never closed"));

  const auto text = carbonmeter({"hub", "search", "--cards", cards});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_THAT(text.out, HasSubstr("1 card reports no emissions"));
  EXPECT_THAT(text.out, HasSubstr("2 unreadable cards:"));
}

TEST_F(HubCli, AMissingCacheIsFatalAndSaysWhereItLookedAndWhatToSet) {
  {
    const auto outcome = carbonmeter({"hub", "search"}, {{"HF_HOME", dir_ + "/nowhere"}});
    EXPECT_EQ(outcome.exit_code, 1);
    EXPECT_THAT(outcome.err, HasSubstr(dir_ + "/nowhere/hub"));
    EXPECT_THAT(outcome.err, HasSubstr("HF_HOME"));
    EXPECT_THAT(outcome.err, HasSubstr("--cache-dir"));
    EXPECT_EQ(outcome.out, "");
  }
  {
    // HOME is a folder that does not exist in the tests.
    const auto outcome = carbonmeter({"hub", "search", "--json"});
    EXPECT_EQ(outcome.exit_code, 1);
    EXPECT_THAT(outcome.err, HasSubstr("/nonexistent/carbonmeter-test-home/.cache/huggingface/hub"));
    const auto cache_dir = carbonmeter({"hub", "search", "--cache-dir", dir_ + "/nope"});
    EXPECT_EQ(cache_dir.exit_code, 1);
    EXPECT_THAT(cache_dir.err, HasSubstr(dir_ + "/nope"));
    const auto cards = carbonmeter({"hub", "search", "--cards", dir_ + "/nope"});
    EXPECT_EQ(cards.exit_code, 1);
    EXPECT_THAT(cards.err, HasSubstr(dir_ + "/nope does not exist"));
  }
}

TEST_F(HubCli, BadUsageIsExit2WithOneLine) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--min-grams", "10", "--max-grams", "5"}, "is above --max-grams"},
      {{"--min-grams", "-1"}, "--min-grams must be"},
      {{"--max-grams", "-0.5"}, "--max-grams must be"},
      {{"--max-grams", "nan"}, "--max-grams"},
      {{"--cache-dir", "/tmp", "--cards", "/tmp"}, "choose one"},
      {{"--sort", "size"}, "--sort size"},
      {{"--limit", "5"}, "--limit goes with --online"},
      {{"--online", "--cards", "/tmp"}, "--online"},
      {{"--online", "--limit", "0"}, "--limit must be"},
      {{"--min-grams", "ten"}, "--min-grams"},
  };
  for (const auto& [flags, message] : cases) {
    std::vector<std::string> args = {"hub", "search", "--cache-dir", hub_};
    if (flags[0] == "--cache-dir" || flags[0] == "--online") args.resize(2);
    args.insert(args.end(), flags.begin(), flags.end());
    const auto outcome = carbonmeter(args);
    EXPECT_EQ(outcome.exit_code, 2) << flags[0] << ": " << outcome.err;
    EXPECT_THAT(outcome.err, HasSubstr(message)) << flags[0];
    EXPECT_EQ(outcome.out, "") << flags[0];
  }
  EXPECT_EQ(carbonmeter({"hub"}).exit_code, 2);
}

}  // namespace
}  // namespace carbonmeter
