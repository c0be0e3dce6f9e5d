// carbonmeter hub search: finds models by the emissions their model cards report
// (co2_eq_emissions), in the local Hugging Face cache, a folder of cards, or the Hub's API.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
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

struct HubSearchFlags {
  double min_g = 0.0;
  double max_g = 0.0;
  std::string cache_dir;
  std::string cards_dir;
  std::string sort = "name";
  bool descending = false;
  bool json = false;
  bool online = false;
  std::string endpoint;
  std::string search;
  std::string author;
  int limit = 1000;
  // Which options were given.
  CLI::Option* min_option = nullptr;
  CLI::Option* max_option = nullptr;
  CLI::Option* cache_dir_option = nullptr;
  CLI::Option* cards_option = nullptr;
  CLI::Option* endpoint_option = nullptr;
  CLI::Option* search_option = nullptr;
  CLI::Option* author_option = nullptr;
  CLI::Option* limit_option = nullptr;
};

std::optional<std::string> environment(const char* name) {
  const char* value = std::getenv(name);
  if (!value || !*value) return std::nullopt;
  return std::string(value);
}

double checked_threshold(double grams, const char* option) {
  if (!std::isfinite(grams) || grams < 0)
    throw UsageError(std::string(option) + " must be a number of grams, 0 or more");
  return grams;
}

hub::Thresholds thresholds_of(const HubSearchFlags& flags) {
  hub::Thresholds within;
  if (flags.min_option->count() > 0) within.min_g = checked_threshold(flags.min_g, "--min-grams");
  if (flags.max_option->count() > 0) within.max_g = checked_threshold(flags.max_g, "--max-grams");
  if (within.min_g && within.max_g && *within.min_g > *within.max_g)
    throw UsageError("--min-grams " + hub::format_grams(*within.min_g) + " is above --max-grams " +
                     hub::format_grams(*within.max_g) + ": give a range with min <= max");
  return within;
}

void check_sources(const HubSearchFlags& flags) {
  const bool cache_dir = flags.cache_dir_option->count() > 0;
  const bool cards = flags.cards_option->count() > 0;
  if (cache_dir && cards)
    throw UsageError("--cache-dir and --cards: choose one (the Hugging Face cache, or a folder of cards)");
  if (flags.online && (cache_dir || cards))
    throw UsageError("--online reads the Hub's API, not local cards: drop --cache-dir/--cards, or --online");
  if (!flags.online) {
    for (const CLI::Option* option :
         {flags.endpoint_option, flags.search_option, flags.author_option, flags.limit_option})
      if (option->count() > 0) throw UsageError(option->get_name() + " goes with --online");
  }
  if (flags.online && flags.limit < 1) throw UsageError("--limit must be 1 or more");
}

hub::CardListing local_cards(const HubSearchFlags& flags) {
  if (flags.cards_option->count() > 0) {
    auto listing = hub::list_folder_cards(flags.cards_dir);
    if (!listing) throw FatalError(listing.error().message);
    return listing.value();
  }
  const hub::CacheLocation cache =
      flags.cache_dir_option->count() > 0
          ? hub::CacheLocation{hub::hub_cache_within(flags.cache_dir), "from --cache-dir"}
          : hub::default_hub_cache(hub::cache_environment());
  std::error_code ec;
  if (!std::filesystem::is_directory(cache.path, ec))
    throw FatalError("no Hugging Face cache: tried " + cache.path + " (" + cache.chosen_by +
                     "): set HF_HOME (or HF_HUB_CACHE) to where your cache is, or pass --cache-dir DIR (the "
                     "folder that holds models--ORG--NAME), or --cards DIR for a folder of model cards");
  auto listing = hub::list_cache_cards(cache.path);
  if (!listing) throw FatalError(listing.error().message);
  return listing.value();
}

hub::SearchTally online_tally(const HubSearchFlags& flags) {
  hub::OnlineQuery query;
  if (flags.endpoint_option->count() > 0)
    query.endpoint = flags.endpoint;
  else if (auto endpoint = environment("HF_ENDPOINT"))
    query.endpoint = *endpoint;
  if (flags.search_option->count() > 0) query.search = flags.search;
  if (flags.author_option->count() > 0) query.author = flags.author;
  query.limit = flags.limit;
  query.token = environment("HF_TOKEN");
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
  const hub::SearchTally tally = flags.online ? online_tally(flags) : hub::read_cards(local_cards(flags));
  const std::vector<hub::ModelEmissions> models = hub::select_models(
      tally.reporting, within, flags.sort == "emissions" ? hub::SortOrder::kEmissions : hub::SortOrder::kName,
      flags.descending);
  if (flags.json) {
    std::fputs(hub::models_json(models).c_str(), stdout);
    std::fputs(hub::unreadable_lines(tally.unreadable).c_str(), stderr);
    return 0;
  }
  if (!models.empty()) std::fputs((hub::models_table(models) + "\n").c_str(), stdout);
  std::fputs(hub::text_summary(tally, models.size(), within).c_str(), stdout);
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
  flags->min_option =
      search->add_option("--min-grams", flags->min_g, "Only models that report at least G grams CO2e")
          ->option_text("G");
  flags->max_option =
      search->add_option("--max-grams", flags->max_g, "Only models that report at most G grams CO2e")
          ->option_text("G");
  flags->cache_dir_option = search
                                ->add_option("--cache-dir", flags->cache_dir,
                                             "The Hugging Face hub cache (the folder with models--ORG--NAME)")
                                ->option_text("DIR");
  flags->cards_option = search
                            ->add_option("--cards", flags->cards_dir,
                                         "A folder of model cards: every README.md and *.md below it")
                            ->option_text("DIR");
  search->add_option("--sort", flags->sort, "name (default) or emissions (smallest first)")
      ->option_text("name|emissions");
  search->add_flag("--descending", flags->descending, "Reverse the order (largest or last first)");
  search->add_flag("--json", flags->json,
                   "A JSON list of the matching models on stdout; unreadable cards on stderr");
  search->add_flag("--online", flags->online,
                   "Ask the Hub's API (HF_ENDPOINT, default https://huggingface.co; HF_TOKEN if set)");
  flags->endpoint_option = search
                               ->add_option("--endpoint", flags->endpoint,
                                            "With --online: the Hub's address (default: HF_ENDPOINT)")
                               ->option_text("URL");
  flags->search_option =
      search->add_option("--search", flags->search, "With --online: models whose id contains TEXT")
          ->option_text("TEXT");
  flags->author_option =
      search->add_option("--author", flags->author, "With --online: models of this organisation or user")
          ->option_text("ORG");
  flags->limit_option =
      search->add_option("--limit", flags->limit, "With --online: read at most N models (default 1000)")
          ->option_text("N");
  search->callback([flags, &exit_code] { exit_code = hub_search(*flags); });
}

}  // namespace carbonmeter::cli
