// libFuzzer target for model card front matter: the rules the card writer and reader share
// (src/outputs/front_matter.cpp), the writer that adds or replaces `co2_eq_emissions` in a card it
// reads (src/outputs/model_card.cpp) and the Hub card reader (src/hub/card_front_matter.cpp).
// Whatever the card holds, none crashes; and what the writer writes, the reader reads back: the
// card's own figure (or an error, never a crash) before, the written figure after.
//
// Input: the bytes of a README.md.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_support.hpp"
#include "hub/card_front_matter.hpp"
#include "outputs/front_matter.hpp"
#include "outputs/model_card.hpp"

using namespace carbonmeter;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string card(fuzz::as_text(data, size));

  // The shared rules, on the card's lines as the reader and writer split them.
  std::vector<std::string_view> lines;
  for (std::size_t start = 0; start <= card.size();) {
    std::size_t end = card.find('\n', start);
    if (end == std::string::npos) end = card.size();
    std::string_view line(card.data() + start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    (void)is_emissions_key(line);
    start = end + 1;
  }
  if (const auto close = front_matter_close(lines); close && (*close == 0 || *close >= lines.size()))
    std::abort();

  // The Hub reader on the card as it is.
  auto before = hub::read_card_emissions(card);
  if (!before && before.error().message.empty()) std::abort();

  // The writer, then the reader on what it wrote.
  ModelCardEmissions emissions;
  emissions.emissions_g = 1234.5;
  emissions.source = "carbonmeter 0.1.0";
  emissions.training_type = "fine-tuning";
  emissions.geographical_location = "Paris, France";
  emissions.hardware_used = "8 x H100";
  const std::string updated = update_model_card(card, emissions);
  auto after = hub::read_card_emissions(updated);
  if (!after || !after.value() || std::fabs(after.value()->emissions_g - 1234.5) > 1e-9 ||
      after.value()->source != emissions.source || after.value()->training_type != emissions.training_type ||
      after.value()->geographical_location != emissions.geographical_location ||
      after.value()->hardware_used != emissions.hardware_used)
    std::abort();
  // Writing again changes nothing.
  if (update_model_card(updated, emissions) != updated) std::abort();
  return 0;
}
