// What `carbonmeter hub search` prints: an aligned table with a summary (text), or a JSON list.
#pragma once

#include <string>
#include <vector>

#include "hub/model_search.hpp"

namespace carbonmeter::hub {

// Grams with a unit people read: "850 g", "1.234 kg", "149.2 t".
std::string format_grams(double grams);

// The matching models as a JSON list of objects: model_id, emissions_g, source, training_type,
// geographical_location, hardware_used (null when the card does not give them), path. Ends with a
// newline.
std::string models_json(const std::vector<ModelEmissions>& models);

// The table: MODEL, EMISSIONS, SOURCE, TRAINING, LOCATION, HARDWARE, CARD (long texts shortened).
std::string models_table(const std::vector<ModelEmissions>& models);

// After the table: how many matched, of how many, what reported nothing, whether --limit `limit`
// cut the search short; then the unreadable cards.
std::string text_summary(const SearchTally& tally, std::size_t matched, const Thresholds& within, int limit);

// "stopped after --limit N models (the Hub has more)": for a tally whose `truncated` is set.
std::string limit_note(int limit);

// One line per unreadable card: "PATH: REASON".
std::string unreadable_lines(const std::vector<UnreadableCard>& unreadable);

}  // namespace carbonmeter::hub
