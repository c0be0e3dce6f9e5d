// A folder of model cards (carbonmeter hub search --cards DIR): every README.md and *.md below it,
// hidden folders skipped. The model id is the card's folder relative to DIR for a README.md
// (DIR/org/name/README.md -> org/name; DIR/README.md -> DIR's own name), else the card's relative
// path without .md (DIR/foo.md -> foo).
#pragma once

#include <string>

#include "carbonmeter/result.hpp"
#include "hub/card_listing.hpp"

namespace carbonmeter::hub {

// Sorted by path. The error (not a folder, cannot be listed) names the folder.
Result<CardListing> list_folder_cards(const std::string& dir);

}  // namespace carbonmeter::hub
