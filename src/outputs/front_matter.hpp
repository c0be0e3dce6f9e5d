// Where a model card's YAML front matter is, and its top-level `co2_eq_emissions` key: the rules
// the card writer (model_card.hpp) and the card reader (hub/card_front_matter.hpp) share, so that
// what one writes the other reads back. They are the Python reader's (python/carbonmeter/hub.py).
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>
#include <vector>

namespace carbonmeter {

// The index of the line that closes the front matter that the first line opens, or nullopt when
// there is none: the first line is not `---`, or no later line is `---` or `...` (front matter
// that is never closed is not front matter). `lines`: the card's lines without their line endings
// (and without a byte-order mark); blanks around a marker are allowed.
std::optional<std::size_t> front_matter_close(const std::vector<std::string_view>& lines);

// A top-level `co2_eq_emissions` key: not indented, the text before the first colon is
// co2_eq_emissions (blanks and quotes around it allowed). `line`: without its line ending.
bool is_emissions_key(std::string_view line);

}  // namespace carbonmeter
