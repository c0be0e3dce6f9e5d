// The Hugging Face cache as huggingface_hub lays it out:
//   HUB_CACHE/models--ORG--NAME/{blobs/, refs/main, snapshots/REVISION/README.md -> ../../blobs/HASH}
// and where it is: HF_HUB_CACHE, else $HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub, else
// ~/.cache/huggingface/hub.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "carbonmeter/result.hpp"
#include "hub/card_listing.hpp"

namespace carbonmeter::hub {

// The variables that place the cache (unset: nullopt; set but empty counts as unset).
struct CacheEnvironment {
  std::optional<std::string> hf_hub_cache;
  std::optional<std::string> huggingface_hub_cache;  // the older name of HF_HUB_CACHE
  std::optional<std::string> hf_home;
  std::optional<std::string> xdg_cache_home;
  std::optional<std::string> home;
};

CacheEnvironment cache_environment();  // of this process

// A variable of this process's environment as huggingface_hub reads it (HF_ENDPOINT, HF_TOKEN and
// those above): nullopt when unset or empty.
std::optional<std::string> environment_variable(const char* name);

struct CacheLocation {
  std::string path;
  std::string chosen_by;  // for messages: "from HF_HUB_CACHE", "from HF_HOME=/data/hf", "the default, ..."
};

CacheLocation default_hub_cache(const CacheEnvironment& env);

// `dir` itself when it holds models--* folders or has no hub/ folder; dir/hub when `dir` is an
// HF_HOME (it has hub/ and no models--* of its own).
std::string hub_cache_within(const std::string& dir);

// "models--google--bert-base" -> "google/bert-base"; "models--gpt2" -> "gpt2"; "" for other folders.
std::string model_id_from_cache_folder(std::string_view folder_name);

// The card of every cached model: the snapshot refs/main names when it has a README.md, else the
// newest snapshot that has one. The error names the folder: when it is missing, how it was chosen
// and what to set instead; else why it cannot be listed.
Result<CardListing> list_cache_cards(const CacheLocation& cache);

}  // namespace carbonmeter::hub
