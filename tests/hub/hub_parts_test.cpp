// The pieces of `carbonmeter hub search`: the Hub API's JSON, URLs and Link headers, the cache's
// layout and location, thresholds and order, and the output.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "hub/hf_cache.hpp"
#include "hub/http_url.hpp"
#include "hub/hub_api.hpp"
#include "hub/json_emissions.hpp"
#include "hub/model_search.hpp"
#include "hub/search_output.hpp"

namespace carbonmeter::hub {
namespace {

using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

Result<std::optional<ReportedEmissions>> from_json(const char* card_data) {
  return emissions_from_card_data(json::parse(card_data));
}

TEST(HubJsonEmissions, NumbersNumericStringsAndObjects) {
  EXPECT_EQ(from_json(R"({"co2_eq_emissions": 1200})").value()->emissions_g, 1200.0);
  EXPECT_EQ(from_json(R"({"co2_eq_emissions": "12.5"})").value()->emissions_g, 12.5);
  auto full = from_json(R"({"license": "mit", "co2_eq_emissions": {"emissions": 149200, "source": "paper",
      "training_type": "pre-training", "geographical_location": "Iowa", "hardware_used": ["A100", "H100"]}})");
  ASSERT_TRUE(full.ok() && full.value());
  EXPECT_EQ(full.value()->emissions_g, 149200.0);
  EXPECT_EQ(full.value()->source, "paper");
  EXPECT_EQ(full.value()->training_type, "pre-training");
  EXPECT_EQ(full.value()->geographical_location, "Iowa");
  EXPECT_EQ(full.value()->hardware_used, "A100, H100");
  auto sparse = from_json(R"({"co2_eq_emissions": {"emissions": "3", "source": null, "hardware_used": 8}})");
  EXPECT_FALSE(sparse.value()->source);
  EXPECT_EQ(sparse.value()->hardware_used, "8");
}

TEST(HubJsonEmissions, NothingReportedIsNotAnError) {
  for (const char* nothing : {"null", "{}", R"({"license": "mit"})", "[]"}) {
    auto reported = from_json(nothing);
    ASSERT_TRUE(reported.ok()) << nothing;
    EXPECT_FALSE(reported.value()) << nothing;
  }
}

TEST(HubJsonEmissions, MalformedFiguresAreErrors) {
  EXPECT_THAT(from_json(R"({"co2_eq_emissions": "3.5 kg"})").error().message, HasSubstr("3.5 kg = 3500"));
  EXPECT_THAT(from_json(R"({"co2_eq_emissions": -1})").error().message, HasSubstr("negative"));
  EXPECT_THAT(from_json(R"({"co2_eq_emissions": {"source": "x"}})").error().message,
              HasSubstr("no emissions figure"));
  EXPECT_THAT(from_json(R"({"co2_eq_emissions": {"emissions": null}})").error().message,
              HasSubstr("has no value"));
  EXPECT_THAT(from_json(R"({"co2_eq_emissions": null})").error().message, HasSubstr("no emissions figure"));
  EXPECT_THAT(from_json(R"({"co2_eq_emissions": [1, 2]})").error().message, HasSubstr("array"));
  EXPECT_THAT(from_json(R"({"co2_eq_emissions": "NaN"})").error().message, HasSubstr("not a finite number"));
}

TEST(HubUrl, SplitsEncodesAndResolves) {
  auto url = split_url("https://huggingface.co/api/models?limit=100&cursor=abc");
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url.value().scheme, "https");
  EXPECT_EQ(url.value().scheme_host_port, "https://huggingface.co");
  EXPECT_EQ(url.value().path_and_query, "/api/models?limit=100&cursor=abc");
  EXPECT_EQ(split_url("http://127.0.0.1:8080").value().path_and_query, "");
  EXPECT_EQ(split_url("http://[::1]:80/x#frag").value().scheme_host_port, "http://[::1]:80");
  EXPECT_EQ(split_url("http://[::1]:80/x#frag").value().path_and_query, "/x");
  EXPECT_FALSE(split_url("huggingface.co").ok());
  EXPECT_FALSE(split_url("ftp://host/x").ok());
  EXPECT_FALSE(split_url("http:///x").ok());
  EXPECT_EQ(url_encode("bert base/uncased&x=1"), "bert%20base%2Funcased%26x%3D1");
  EXPECT_EQ(url_encode("a-b_c.d~"), "a-b_c.d~");
  EXPECT_EQ(absolute_url(url.value(), "/api/models?cursor=x"), "https://huggingface.co/api/models?cursor=x");
  EXPECT_EQ(absolute_url(url.value(), "http://other:1/p"), "http://other:1/p");
}

TEST(HubUrl, TheNextLinkOfALinkHeader) {
  EXPECT_EQ(next_link(R"(<https://huggingface.co/api/models?cursor=abc>; rel="next")"),
            "https://huggingface.co/api/models?cursor=abc");
  EXPECT_EQ(next_link(R"(<http://a/1>; rel="prev", <http://a/3>; rel="next")"), "http://a/3");
  EXPECT_EQ(next_link(R"(<http://a/3>; rel=next; title="x")"), "http://a/3");
  EXPECT_EQ(next_link(R"(<http://a/3>; REL="last next")"), "http://a/3");
  EXPECT_FALSE(next_link(R"(<http://a/1>; rel="prev")"));
  EXPECT_FALSE(next_link(""));
  EXPECT_FALSE(next_link("garbage"));
}

TEST(HubApi, TheFirstPageAsksForCardDataOfModelsWithEmissions) {
  OnlineQuery query;
  query.search = "bert base";
  query.author = "google";
  EXPECT_EQ(first_page_path(query, ""),
            "/api/models?filter=co2_eq_emissions&cardData=true&limit=100&search=bert%20base&author=google");
  query = OnlineQuery{};
  query.limit = 7;
  EXPECT_EQ(first_page_path(query, "/mirror/"),
            "/mirror/api/models?filter=co2_eq_emissions&cardData=true&limit=7");
}

TEST(HubApi, PageItemsWithoutAnIdOrWithMalformedFiguresAreUnreadable) {
  SearchTally tally;
  const json page = json::parse(R"([
    {"id": "org/a", "cardData": {"co2_eq_emissions": 10}},
    {"modelId": "b", "cardData": {"co2_eq_emissions": {"emissions": 20, "source": "s"}}},
    {"id": "org/c", "cardData": {"co2_eq_emissions": "3 kg"}},
    {"id": "org/d", "cardData": {"license": "mit"}},
    {"cardData": {"co2_eq_emissions": 5}},
    {"id": "org/f", "cardData": {"co2_eq_emissions": 60}}
  ])");
  EXPECT_EQ(tally_page(tally, page, 5, "http://hub", "http://hub/api/models"), 5);
  ASSERT_EQ(tally.reporting.size(), 2u);
  EXPECT_EQ(tally.reporting[0].model_id, "org/a");
  EXPECT_EQ(tally.reporting[0].path, "http://hub/org/a");
  EXPECT_EQ(tally.reporting[1].model_id, "b");
  EXPECT_EQ(tally.reporting[1].reported.source, "s");
  ASSERT_EQ(tally.unreadable.size(), 2u);
  EXPECT_EQ(tally.unreadable[0].path, "http://hub/org/c");
  EXPECT_THAT(tally.unreadable[0].reason, HasSubstr("3 kg = 3000"));
  EXPECT_EQ(tally.unreadable[1].path, "http://hub/api/models");
  EXPECT_THAT(tally.unreadable[1].reason, HasSubstr("no \"id\""));
  EXPECT_EQ(tally.without_emissions, 1);
}

TEST(HubCache, ModelIdsFromCacheFolders) {
  EXPECT_EQ(model_id_from_cache_folder("models--google--bert-base-uncased"), "google/bert-base-uncased");
  EXPECT_EQ(model_id_from_cache_folder("models--gpt2"), "gpt2");
  EXPECT_EQ(model_id_from_cache_folder("models--org--name--x"), "org/name--x");
  EXPECT_EQ(model_id_from_cache_folder("datasets--org--name"), "");
  EXPECT_EQ(model_id_from_cache_folder("models--"), "");
}

TEST(HubCache, WhereTheCacheIsAsHuggingfaceHubPlacesIt) {
  CacheEnvironment env;
  env.home = "/home/u";
  EXPECT_EQ(default_hub_cache(env).path, "/home/u/.cache/huggingface/hub");
  env.xdg_cache_home = "/xdg";
  EXPECT_EQ(default_hub_cache(env).path, "/xdg/huggingface/hub");
  env.hf_home = "~/hf";
  EXPECT_EQ(default_hub_cache(env).path, "/home/u/hf/hub");
  EXPECT_THAT(default_hub_cache(env).chosen_by, HasSubstr("HF_HOME"));
  env.huggingface_hub_cache = "/old";
  EXPECT_EQ(default_hub_cache(env).path, "/old");
  env.hf_hub_cache = "/data/hub";
  EXPECT_EQ(default_hub_cache(env).path, "/data/hub");
  EXPECT_EQ(default_hub_cache(env).chosen_by, "from HF_HUB_CACHE");
}

ModelEmissions model(const std::string& id, double grams) {
  return {id, "/cards/" + id, {grams, {}, {}, {}, {}}};
}

std::vector<std::string> ids(const std::vector<ModelEmissions>& models) {
  std::vector<std::string> out;
  for (const ModelEmissions& one : models) out.push_back(one.model_id);
  return out;
}

TEST(HubSelect, ThresholdsAreInclusiveAndTheOrderIsChosen) {
  const std::vector<ModelEmissions> all = {model("c", 10), model("a", 30), model("b", 20), model("d", 40)};
  Thresholds within{20.0, 30.0};
  EXPECT_THAT(ids(select_models(all, within, SortOrder::kName, false)), ElementsAre("a", "b"));
  EXPECT_THAT(ids(select_models(all, {}, SortOrder::kEmissions, false)), ElementsAre("c", "b", "a", "d"));
  EXPECT_THAT(ids(select_models(all, {}, SortOrder::kEmissions, true)), ElementsAre("d", "a", "b", "c"));
  EXPECT_THAT(ids(select_models(all, {std::nullopt, 10.0}, SortOrder::kName, false)), ElementsAre("c"));
  EXPECT_THAT(ids(select_models(all, {40.0, std::nullopt}, SortOrder::kName, true)), ElementsAre("d"));
}

TEST(HubOutput, GramsWithAReadableUnit) {
  EXPECT_EQ(format_grams(0), "0 g");
  EXPECT_EQ(format_grams(850), "850 g");
  EXPECT_EQ(format_grams(0.25), "0.25 g");
  EXPECT_EQ(format_grams(1234.6), "1.235 kg");
  EXPECT_EQ(format_grams(149200), "149.2 kg");
  EXPECT_EQ(format_grams(2.5e6), "2.5 t");
}

TEST(HubOutput, TheJsonListAndTheAlignedTable) {
  ModelEmissions full = model("org/full", 1500);
  full.reported.source = "carbonmeter";
  full.reported.hardware_used = "8 x H100";
  const json list = json::parse(models_json({full, model("bare", 2)}));
  ASSERT_TRUE(list.is_array());
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0]["model_id"], "org/full");
  EXPECT_EQ(list[0]["emissions_g"], 1500.0);
  EXPECT_EQ(list[0]["source"], "carbonmeter");
  EXPECT_TRUE(list[0]["training_type"].is_null());
  EXPECT_TRUE(list[0]["geographical_location"].is_null());
  EXPECT_EQ(list[0]["hardware_used"], "8 x H100");
  EXPECT_EQ(list[0]["path"], "/cards/org/full");
  EXPECT_TRUE(list[1]["source"].is_null());

  const std::string table = models_table({full, model("bare", 2)});
  std::vector<std::string> lines;
  for (std::size_t at = 0; at < table.size();) {
    const std::size_t end = table.find('\n', at);
    lines.push_back(table.substr(at, end - at));
    at = end + 1;
  }
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_THAT(lines[0], HasSubstr("MODEL"));
  // Every column starts at the same place on every line.
  for (const char* header : {"EMISSIONS", "SOURCE", "HARDWARE", "CARD"}) {
    const std::size_t column = lines[0].find(header);
    EXPECT_NE(lines[1][column], ' ') << header;
    EXPECT_NE(lines[2][column], ' ') << header;
    EXPECT_EQ(lines[1][column - 1], ' ') << header;
  }
  EXPECT_THAT(lines[1], HasSubstr("1.5 kg"));
  EXPECT_THAT(lines[2], HasSubstr("2 g"));
  EXPECT_THAT(lines[2], HasSubstr("-"));
}

TEST(HubOutput, LongAndControlCharactersAreKeptOffTheTable) {
  ModelEmissions long_one = model("x", 1);
  long_one.reported.hardware_used = std::string(100, 'h');
  long_one.reported.source = "two\nlines";
  const std::string table = models_table({long_one});
  // 40 characters at most: 37 of the text and "...", after the column's leading space.
  EXPECT_THAT(table, HasSubstr(" " + std::string(37, 'h') + "...  "));
  EXPECT_THAT(table, Not(HasSubstr(std::string(38, 'h'))));
  EXPECT_THAT(table, HasSubstr("two lines"));
}

}  // namespace
}  // namespace carbonmeter::hub
