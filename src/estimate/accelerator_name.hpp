// Accelerator names as comparable tokens, so that "NVIDIA H100 80GB HBM3", "tesla v100-sxm2-16gb",
// "a100-80g" and "TPUv4" can be matched against the shipped table's names and aliases.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace carbonmeter {

struct AcceleratorName {
  // Lower-case words, split where three or more letters meet digits ("v100-sxm2" -> v100, sxm, 2;
  // "rtx4090" -> rtx, 4090), without vendor and series words (NVIDIA, AMD, Intel, Google, GeForce,
  // Tesla, Radeon, Instinct, ...), filler words (GPU, chip, card, ...) and the memory size.
  std::vector<std::string> tokens;
  std::string squashed;          // the tokens joined: "h100sxm5"
  std::optional<int> memory_gb;  // from "80GB", "80 gb", "80g", "80GiB"
};

AcceleratorName normalise_accelerator_name(std::string_view text);

// True when every token of `query` is among the tokens of `name` ("H100 SXM" in "H100 SXM5 80GB"),
// where a number may gain a letter suffix ("mi300" in "MI300X", never "a10" in "A100").
bool tokens_included(const AcceleratorName& query, const AcceleratorName& name);

// Levenshtein distance between two strings.
std::size_t edit_distance(std::string_view a, std::string_view b);

// 0 (nothing alike) .. 1 (same): edit distance of the squashed forms, and shared tokens.
double name_similarity(const AcceleratorName& a, const AcceleratorName& b);

}  // namespace carbonmeter
