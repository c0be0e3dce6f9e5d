#include "hub/search_output.hpp"

#include <array>
#include <nlohmann/json.hpp>
#include <vector>

#include "core/number_format.hpp"

namespace carbonmeter::hub {
namespace {

constexpr std::size_t kMaxCellChars = 40;

// Keys in the order people read them (model_id first), not sorted.
using OrderedJson = nlohmann::ordered_json;

OrderedJson optional_json(const std::optional<std::string>& text) {
  return text ? OrderedJson(*text) : OrderedJson(nullptr);
}

std::size_t display_width(const std::string& text) {
  std::size_t width = 0;
  for (unsigned char c : text)
    if ((c & 0xC0) != 0x80) ++width;  // count UTF-8 code points, not bytes
  return width;
}

// One line, at most max_chars characters ("..." marks a cut).
std::string cell(const std::optional<std::string>& text, std::size_t max_chars = kMaxCellChars) {
  if (!text || text->empty()) return "-";
  std::vector<std::string> chars;  // UTF-8 sequences
  for (const char byte : *text) {
    const auto c = static_cast<unsigned char>(byte);
    if ((c & 0xC0) == 0x80 && !chars.empty())
      chars.back() += byte;
    else
      chars.emplace_back(1, (c < 0x20 || c == 0x7F) ? ' ' : byte);
  }
  const bool cut = chars.size() > max_chars;
  if (cut) chars.resize(max_chars - 3);
  std::string out;
  for (const std::string& one : chars) out += one;
  return cut ? out + "..." : out;
}

std::string plural(std::size_t count, const char* one, const char* many) {
  return std::to_string(count) + " " + (count == 1 ? one : many);
}

std::string threshold_words(const Thresholds& within) {
  if (within.min_g && within.max_g)
    return "from " + format_grams(*within.min_g) + " to " + format_grams(*within.max_g);
  if (within.min_g) return "of " + format_grams(*within.min_g) + " or more";
  if (within.max_g) return "of " + format_grams(*within.max_g) + " or less";
  return "";
}

}  // namespace

std::string format_grams(double grams) {
  if (grams >= 1e6) return format_significant(grams / 1e6) + " t";
  if (grams >= 1e3) return format_significant(grams / 1e3) + " kg";
  return format_significant(grams) + " g";
}

std::string models_json(const std::vector<ModelEmissions>& models) {
  OrderedJson list = OrderedJson::array();
  for (const ModelEmissions& model : models) {
    list.push_back({{"model_id", model.model_id},
                    {"emissions_g", model.reported.emissions_g},
                    {"source", optional_json(model.reported.source)},
                    {"training_type", optional_json(model.reported.training_type)},
                    {"geographical_location", optional_json(model.reported.geographical_location)},
                    {"hardware_used", optional_json(model.reported.hardware_used)},
                    {"path", model.path}});
  }
  // Cards are not always valid UTF-8: replace what is not, rather than fail.
  return list.dump(2, ' ', false, OrderedJson::error_handler_t::replace) + "\n";
}

std::string models_table(const std::vector<ModelEmissions>& models) {
  constexpr std::size_t kColumns = 7;
  std::vector<std::array<std::string, kColumns>> rows;
  rows.push_back({"MODEL", "EMISSIONS", "SOURCE", "TRAINING", "LOCATION", "HARDWARE", "CARD"});
  for (const ModelEmissions& model : models) {
    const ReportedEmissions& reported = model.reported;
    rows.push_back({cell(model.model_id, 200), format_grams(reported.emissions_g), cell(reported.source),
                    cell(reported.training_type), cell(reported.geographical_location),
                    cell(reported.hardware_used), cell(model.path, 4096)});
  }
  std::array<std::size_t, kColumns> widths{};
  for (const auto& row : rows)
    for (std::size_t column = 0; column < kColumns; ++column)
      widths[column] = std::max(widths[column], display_width(row[column]));
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t column = 0; column < kColumns; ++column) {
      line += row[column];
      if (column + 1 < kColumns) line += std::string(widths[column] - display_width(row[column]) + 2, ' ');
    }
    out += line + "\n";
  }
  return out;
}

std::string limit_note(int limit) {
  return "stopped after --limit " + std::to_string(limit) + " models (the Hub has more)";
}

std::string text_summary(const SearchTally& tally, std::size_t matched, const Thresholds& within, int limit) {
  const std::string range = threshold_words(within);
  std::string out;
  if (range.empty())
    out = plural(matched, "model reports", "models report") + " emissions";
  else
    out = plural(matched, "model", "models") + " with emissions " + range + ", of " +
          std::to_string(tally.reporting.size()) + " that report emissions";
  if (tally.without_emissions > 0)
    out += "; " + plural(static_cast<std::size_t>(tally.without_emissions), "card reports", "cards report") +
           " no emissions";
  if (tally.without_card > 0)
    out += "; " +
           plural(static_cast<std::size_t>(tally.without_card), "cached model has", "cached models have") +
           " no README.md";
  if (tally.truncated) out += "; " + limit_note(limit);
  out += ".\n";
  if (!tally.unreadable.empty()) {
    out += "\n" + plural(tally.unreadable.size(), "unreadable card", "unreadable cards") + ":\n";
    for (const UnreadableCard& card : tally.unreadable) out += "  " + card.path + ": " + card.reason + "\n";
  }
  return out;
}

std::string unreadable_lines(const std::vector<UnreadableCard>& unreadable) {
  std::string out;
  for (const UnreadableCard& card : unreadable) out += card.path + ": " + card.reason + "\n";
  return out;
}

}  // namespace carbonmeter::hub
