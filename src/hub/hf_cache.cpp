#include "hub/hf_cache.hpp"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <system_error>
#include <vector>

namespace carbonmeter::hub {
namespace fs = std::filesystem;
namespace {

std::string expand_user(const std::string& path, const CacheEnvironment& env) {
  if (env.home && (path == "~" || path.starts_with("~/"))) return *env.home + path.substr(1);
  return path;
}

std::string first_line_of(const fs::path& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\n')) line.pop_back();
  return line;
}

struct Snapshot {
  std::string revision;
  fs::file_time_type modified;
};

bool has_card(const fs::path& snapshot) {
  std::error_code ec;
  return fs::exists(fs::symlink_status(snapshot / "README.md", ec));
}

// The snapshot whose card is read: refs/main's when it has a README.md, else the newest that has one.
std::optional<std::string> chosen_revision(const fs::path& model_dir, std::string& problem) {
  std::error_code ec;
  const fs::path snapshots = model_dir / "snapshots";
  if (!fs::is_directory(snapshots, ec)) return std::nullopt;
  const std::string main_revision = first_line_of(model_dir / "refs" / "main");
  if (!main_revision.empty() && main_revision.find('/') == std::string::npos &&
      has_card(snapshots / main_revision))
    return main_revision;
  std::vector<Snapshot> with_card;
  for (fs::directory_iterator it(snapshots, ec), end; !ec && it != end; it.increment(ec)) {
    if (!it->is_directory(ec) || !has_card(it->path())) continue;
    std::error_code time_ec;
    with_card.push_back({it->path().filename().string(), fs::last_write_time(it->path(), time_ec)});
  }
  if (ec) {
    problem = "cannot list " + snapshots.string() + ": " + ec.message();
    return std::nullopt;
  }
  if (with_card.empty()) return std::nullopt;
  const auto newest = std::max_element(with_card.begin(), with_card.end(), [](const auto& a, const auto& b) {
    return a.modified != b.modified ? a.modified < b.modified : a.revision < b.revision;
  });
  return newest->revision;
}

}  // namespace

std::optional<std::string> environment_variable(const char* name) {
  const char* value = std::getenv(name);
  if (!value || !*value) return std::nullopt;
  return std::string(value);
}

CacheEnvironment cache_environment() {
  return {environment_variable("HF_HUB_CACHE"), environment_variable("HUGGINGFACE_HUB_CACHE"),
          environment_variable("HF_HOME"), environment_variable("XDG_CACHE_HOME"),
          environment_variable("HOME")};
}

CacheLocation default_hub_cache(const CacheEnvironment& env) {
  if (env.hf_hub_cache) return {expand_user(*env.hf_hub_cache, env), "from HF_HUB_CACHE"};
  if (env.huggingface_hub_cache)
    return {expand_user(*env.huggingface_hub_cache, env), "from HUGGINGFACE_HUB_CACHE"};
  if (env.hf_home) return {expand_user(*env.hf_home, env) + "/hub", "from HF_HOME=" + *env.hf_home};
  if (env.xdg_cache_home)
    return {expand_user(*env.xdg_cache_home, env) + "/huggingface/hub",
            "from XDG_CACHE_HOME=" + *env.xdg_cache_home};
  return {(env.home ? *env.home : std::string("~")) + "/.cache/huggingface/hub",
          "the default, as neither HF_HUB_CACHE nor HF_HOME is set"};
}

std::string hub_cache_within(const std::string& dir) {
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    if (it->path().filename().string().starts_with("models--")) return dir;
  return fs::is_directory(fs::path(dir) / "hub", ec) ? (fs::path(dir) / "hub").string() : dir;
}

std::string model_id_from_cache_folder(std::string_view folder_name) {
  constexpr std::string_view kPrefix = "models--";
  if (!folder_name.starts_with(kPrefix) || folder_name.size() == kPrefix.size()) return "";
  std::string rest(folder_name.substr(kPrefix.size()));
  if (const std::size_t split = rest.find("--"); split != std::string::npos) rest.replace(split, 2, "/");
  return rest;
}

Result<CardListing> list_cache_cards(const CacheLocation& cache) {
  const std::string& hub_cache = cache.path;
  std::error_code ec;
  if (!fs::is_directory(hub_cache, ec))
    return Error{"no Hugging Face cache: tried " + hub_cache + " (" + cache.chosen_by +
                 "): set HF_HOME (or HF_HUB_CACHE) to where your cache is, or pass --cache-dir DIR (the "
                 "folder that holds models--ORG--NAME), or --cards DIR for a folder of model cards"};
  std::vector<fs::path> model_dirs;
  for (fs::directory_iterator it(hub_cache, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code type_ec;
    if (it->is_directory(type_ec) && !model_id_from_cache_folder(it->path().filename().string()).empty())
      model_dirs.push_back(it->path());
  }
  if (ec) return Error{"cannot list " + hub_cache + ": " + ec.message()};
  std::sort(model_dirs.begin(), model_dirs.end());
  CardListing listing;
  for (const fs::path& model_dir : model_dirs) {
    const std::string model_id = model_id_from_cache_folder(model_dir.filename().string());
    std::string problem;
    const std::optional<std::string> revision = chosen_revision(model_dir, problem);
    if (!problem.empty()) {
      listing.unreadable.push_back({model_dir.string(), problem});
      continue;
    }
    if (!revision) {
      ++listing.models_without_card;
      continue;
    }
    const fs::path card = model_dir / "snapshots" / *revision / "README.md";
    if (!fs::exists(card, ec)) {  // a link into ../../blobs whose blob is gone
      std::error_code link_ec;
      const fs::path target = fs::read_symlink(card, link_ec);
      listing.unreadable.push_back(
          {card.string(), "the card is a link to " + (link_ec ? std::string("a blob") : target.string()) +
                              ", which is missing (an interrupted download?): fetch it again with "
                              "`huggingface-cli download " +
                              model_id + " README.md`"});
      continue;
    }
    listing.cards.push_back({model_id, card.string()});
  }
  return listing;
}

}  // namespace carbonmeter::hub
