// carbonmeter hub search: finds models by the emissions their model cards report
// (co2_eq_emissions), in the local Hugging Face cache, a folder of cards, or the Hub's API.
#include <cmath>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cli/commands.hpp"
#include "hub/cards_folder.hpp"
#include "hub/hf_cache.hpp"
#include "hub/hub_api.hpp"
#include "hub/model_search.hpp"
#include "hub/search_output.hpp"
#include "net/http_module.hpp"

namespace carbonmeter::cli {
namespace {

// Options not given stay nullopt.
struct HubSearchFlags {
  std::optional<double> min_g;
  std::optional<double> max_g;
  std::optional<std::string> cache_dir;
  std::optional<std::string> cards_dir;
  std::string sort = "name";
  bool descending = false;
  bool json = false;
  bool online = false;
  std::optional<std::string> endpoint;
  std::optional<std::string> search;
  std::optional<std::string> author;
  std::optional<int> limit;
};

std::optional<double> checked_threshold(const std::optional<double>& grams, const char* option) {
  if (grams && (!std::isfinite(*grams) || *grams < 0))
    throw UsageError(std::string(option) + " must be a number of grams, 0 or more");
  return grams;
}

hub::Thresholds thresholds_of(const HubSearchFlags& flags) {
  const hub::Thresholds within{checked_threshold(flags.min_g, "--min-grams"),
                               checked_threshold(flags.max_g, "--max-grams")};
  if (within.min_g && within.max_g && *within.min_g > *within.max_g)
    throw UsageError("--min-grams " + hub::format_grams(*within.min_g) + " is above --max-grams " +
                     hub::format_grams(*within.max_g) + ": give a range with min <= max");
  return within;
}

void check_sources(const HubSearchFlags& flags) {
  if (flags.cache_dir && flags.cards_dir)
    throw UsageError("--cache-dir and --cards: choose one (the Hugging Face cache, or a folder of cards)");
  if (flags.online && (flags.cache_dir || flags.cards_dir))
    throw UsageError("--online reads the Hub's API, not local cards: drop --cache-dir/--cards, or --online");
  if (!flags.online) {
    const std::pair<bool, const char*> online_only[] = {{flags.endpoint.has_value(), "--endpoint"},
                                                        {flags.search.has_value(), "--search"},
                                                        {flags.author.has_value(), "--author"},
                                                        {flags.limit.has_value(), "--limit"}};
    for (const auto& [given, name] : online_only)
      if (given) throw UsageError(std::string(name) + " goes with --online");
  }
  if (flags.limit && *flags.limit < 1) throw UsageError("--limit must be 1 or more");
}

Result<hub::CardListing> list_local_cards(const HubSearchFlags& flags) {
  if (flags.cards_dir) return hub::list_folder_cards(*flags.cards_dir);
  if (flags.cache_dir)
    return hub::list_cache_cards({hub::hub_cache_within(*flags.cache_dir), "from --cache-dir"});
  return hub::list_cache_cards(hub::default_hub_cache(hub::cache_environment()));
}

hub::CardListing local_cards(const HubSearchFlags& flags) {
  auto listing = list_local_cards(flags);
  if (!listing) throw FatalError(listing.error().message);
  return listing.value();
}

hub::OnlineQuery online_query(const HubSearchFlags& flags) {
  hub::OnlineQuery query;
  if (const auto endpoint = flags.endpoint ? flags.endpoint : hub::environment_variable("HF_ENDPOINT"))
    query.endpoint = *endpoint;
  query.search = flags.search;
  query.author = flags.author;
  if (flags.limit) query.limit = *flags.limit;
  query.token = hub::environment_variable("HF_TOKEN");
  return query;
}

hub::SearchTally online_tally(const hub::OnlineQuery& query) {
  auto http = net::http_module();
  if (!http) throw FatalError(http.error().message);
  auto tally = hub::fetch_hub_models(*http.value(), query);
  if (!tally) throw FatalError("hub search --online: " + tally.error().message);
  return tally.value();
}

int hub_search(const HubSearchFlags& flags) {
  const hub::Thresholds within = thresholds_of(flags);
  if (flags.sort != "name" && flags.sort != "emissions")
    throw UsageError("--sort " + flags.sort + ": sort by name or emissions");
  check_sources(flags);
  const hub::OnlineQuery query = online_query(flags);
  const hub::SearchTally tally = flags.online ? online_tally(query) : hub::read_cards(local_cards(flags));
  const std::vector<hub::ModelEmissions> models = hub::select_models(
      tally.reporting, within, flags.sort == "emissions" ? hub::SortOrder::kEmissions : hub::SortOrder::kName,
      flags.descending);
  if (flags.json) {
    std::fputs(hub::models_json(models).c_str(), stdout);
    std::fputs(hub::unreadable_lines(tally.unreadable).c_str(), stderr);
    if (tally.truncated)
      std::fputs(("carbonmeter: " + hub::limit_note(query.limit) + ": raise --limit to read more\n").c_str(),
                 stderr);
    return 0;
  }
  if (!models.empty()) std::fputs((hub::models_table(models) + "\n").c_str(), stdout);
  std::fputs(hub::text_summary(tally, models.size(), within, query.limit).c_str(), stdout);
  return 0;
}

}  // namespace

void add_hub_command(CLI::App& app, int& exit_code) {
  CLI::App* hub = app.add_subcommand("hub", "Hugging Face Hub models and the emissions their cards report");
  hub->require_subcommand(1);
  auto flags = std::make_shared<HubSearchFlags>();
  CLI::App* search = hub->add_subcommand(
      "search",
      "List models by the co2_eq_emissions their model cards report: from the local Hugging Face cache "
      "(HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub), a folder of cards, or the Hub "
      "(--online)");
  search->add_option("--min-grams", flags->min_g, "Only models that report at least G grams CO2e")
      ->option_text("G");
  search->add_option("--max-grams", flags->max_g, "Only models that report at most G grams CO2e")
      ->option_text("G");
  search
      ->add_option("--cache-dir", flags->cache_dir,
                   "The Hugging Face hub cache (the folder with models--ORG--NAME)")
      ->option_text("DIR");
  search
      ->add_option("--cards", flags->cards_dir, "A folder of model cards: every README.md and *.md below it")
      ->option_text("DIR");
  search->add_option("--sort", flags->sort, "name (default) or emissions (smallest first)")
      ->option_text("name|emissions");
  search->add_flag("--descending", flags->descending, "Reverse the order (largest or last first)");
  search->add_flag("--json", flags->json,
                   "A JSON list of the matching models on stdout; unreadable cards on stderr");
  search->add_flag("--online", flags->online,
                   "Ask the Hub's API (HF_ENDPOINT, default https://huggingface.co; HF_TOKEN if set)");
  search->add_option("--endpoint", flags->endpoint, "With --online: the Hub's address (default: HF_ENDPOINT)")
      ->option_text("URL");
  search->add_option("--search", flags->search, "With --online: models whose id contains TEXT")
      ->option_text("TEXT");
  search->add_option("--author", flags->author, "With --online: models of this organisation or user")
      ->option_text("ORG");
  search->add_option("--limit", flags->limit, "With --online: read at most N models (default 1000)")
      ->option_text("N");
  search->callback([flags, &exit_code] { exit_code = hub_search(*flags); });
}

}  // namespace carbonmeter::cli
