#include "hub/cards_folder.hpp"

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "hub/plain_text.hpp"

namespace carbonmeter::hub {
namespace fs = std::filesystem;
namespace {

std::string model_id_of(const fs::path& root, const fs::path& card) {
  const fs::path relative = card.lexically_relative(root);
  if (lower(card.filename().string()) == "readme.md") {
    const std::string folder = relative.parent_path().generic_string();
    if (!folder.empty()) return folder;
    const fs::path absolute = fs::absolute(root).lexically_normal();
    const std::string name =
        (absolute.has_filename() ? absolute : absolute.parent_path()).filename().string();
    return name.empty() ? "README" : name;
  }
  return (relative.parent_path() / relative.stem()).generic_string();
}

}  // namespace

Result<CardListing> list_folder_cards(const std::string& dir) {
  std::error_code ec;
  if (!fs::exists(dir, ec))
    return Error{"--cards: " + dir + " does not exist: give the folder that holds the model cards"};
  if (!fs::is_directory(dir, ec))
    return Error{"--cards: " + dir + " is not a folder (give the folder of cards)"};
  CardListing listing;
  const fs::path root(dir);
  fs::recursive_directory_iterator it(root, fs::directory_options::skip_permission_denied, ec);
  if (ec) return Error{"--cards: cannot list " + dir + ": " + ec.message()};
  for (const fs::recursive_directory_iterator end; it != end; it.increment(ec)) {
    if (ec) return Error{"--cards: cannot list " + dir + ": " + ec.message()};
    const fs::path& path = it->path();
    const std::string name = path.filename().string();
    std::error_code type_ec;
    if (it->is_directory(type_ec)) {
      if (name.starts_with(".")) it.disable_recursion_pending();
      continue;
    }
    if (name.starts_with(".") || name.size() <= 3 || lower(name.substr(name.size() - 3)) != ".md") continue;
    if (!it->is_regular_file(type_ec)) {
      listing.unreadable.push_back(
          {path.string(), "not a regular file (a broken link?): point it at the card"});
      continue;
    }
    listing.cards.push_back({model_id_of(root, path), path.string()});
  }
  if (ec) return Error{"--cards: cannot list " + dir + ": " + ec.message()};
  std::sort(listing.cards.begin(), listing.cards.end(),
            [](const CardRef& a, const CardRef& b) { return a.path < b.path; });
  return listing;
}

}  // namespace carbonmeter::hub
