// Inputs that fuzz/model_card_fuzz.cpp found, fed through the normal build: what the card writer
// (outputs/model_card.cpp) writes, the card reader (hub/card_front_matter.cpp) reads back.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "hub/card_front_matter.hpp"
#include "outputs/model_card.hpp"

namespace carbonmeter {
namespace {

ModelCardEmissions fuzz_emissions() {
  ModelCardEmissions e;  // as the fuzz target writes them
  e.emissions_g = 1234.5;
  e.source = "carbonmeter 0.1.0";
  e.training_type = "fine-tuning";
  e.geographical_location = "Paris, France";
  e.hardware_used = "8 x H100";
  return e;
}

void expect_reads_back(const std::string& card) {
  const ModelCardEmissions e = fuzz_emissions();
  const std::string updated = update_model_card(card, e);
  auto read = hub::read_card_emissions(updated);
  ASSERT_TRUE(read.ok()) << read.error().message << "\n" << updated;
  ASSERT_TRUE(read.value().has_value()) << updated;
  EXPECT_DOUBLE_EQ(read.value()->emissions_g, 1234.5);
  EXPECT_EQ(read.value()->source, e.source);
  EXPECT_EQ(read.value()->training_type, e.training_type);
  EXPECT_EQ(read.value()->geographical_location, e.geographical_location);
  EXPECT_EQ(read.value()->hardware_used, e.hardware_used);
  EXPECT_EQ(update_model_card(updated, e), updated);  // writing again changes nothing
}

// crash-754490105bf10215207c711ba7924fc417889cdb: an unknown key of the old block was kept, and
// with it the line below, a key indented deeper than its siblings after a key with a value; the
// reader refused the card the writer had just written.
TEST(FuzzRegressions, ModelCardKeptEntryWithDeeperKeyReadsBack) {
  const std::string card =
      "---\nco2_eq_emissions:\n  emissi\x8b"
      "ons: 12\n   source: misaligned\n---\n";
  expect_reads_back(card);
  EXPECT_THAT(update_model_card(card, fuzz_emissions()), ::testing::HasSubstr("  emissi\x8b"
                                                                              "ons: 12\n"));
}

// Found beside it: an old block indented by four spaces kept its own keys at four, deeper than
// the new block's two.
TEST(FuzzRegressions, ModelCardKeptEntriesAreReindented) {
  const std::string card =
      "---\nco2_eq_emissions:\n    emissions: 10\n    custom: x\n    list:\n      - a\n---\n";
  expect_reads_back(card);
  EXPECT_THAT(update_model_card(card, fuzz_emissions()),
              ::testing::HasSubstr("\n  custom: x\n  list:\n    - a\n"));
}

// A lone CR ends a line for the reader: the writer must see the same lines.
TEST(FuzzRegressions, ModelCardLoneCarriageReturnsAreLineEnds) {
  expect_reads_back("---\rlicense: mit\rco2_eq_emissions: 5\r---\rtext\r");
  expect_reads_back("---\nlicense: mit\rco2_eq_emissions: 5\n---\n");
}

// crash-c6f5138af7e827e1df6471c0035938aa0eb7e98a: a comment at column 0 inside the old block ended
// it for the writer but not for the reader, which then read the block's remaining (broken) lines
// under the new one.
TEST(FuzzRegressions, ModelCardCommentInsideTheOldBlock) {
  static const char kCard[] =
      "---\n"
      "co2_eq_emissions:\n"
      " \345\001\032\000\000\000 "
      "\357\357\357\357\357\357\357\357\357\357\357\357\357\357\357\357\357\357\357\357\357\357\357\357\357"
      "\357\357\357\357\357\357\357\357\357\357\357\357\357\357\357\357\357\357+"
      "\357\357\357\357\357\357\357\357\357\357\357  emissions: 4\n"
      "\n"
      "# My model0\n"
      "    custom: x\n"
      "    list:\n"
      "    \357\357\357\357\357\357\357+\357\357\357\357\357\357\357\357\357\357\357  emissions: 40\n"
      "    custom: x\n"
      "    list  - a\n"
      "---\n";
  expect_reads_back(std::string(kCard, sizeof kCard - 1));
  expect_reads_back("---\nco2_eq_emissions:\n  emissions: 4\n# note\n  custom: x\n---\n");
}

// crash-2a73a34da437f2c851a619e3c22a217b9bf2e6de: a line of vertical tabs is blank to the reader
// (Python's whitespace) but ended the old block for the writer, which left the block's last line
// under the new one.
TEST(FuzzRegressions, ModelCardLineOfVerticalTabsIsBlank) {
  expect_reads_back("---\nco2_eq_emissions:LLLLLLLLLLLLL\n\n\n\n\n\n\n\n\n" + std::string(49, '\v') +
                    "\n\n misaligned\n---\n");
  expect_reads_back("---\nco2_eq_emissions:\n  emissions: 4\n\f\n  custom: x\n  \v source: old\n---\n");
}

// crash-61c266f2b2e53ce1cc44a485a768ab43e3330c1a: a first line ended by a lone \r made the new block
// end its lines with \r; before a blank line (\n) that made one \r\n, so writing again removed a
// line.
TEST(FuzzRegressions, ModelCardLoneCarriageReturnFirstLineWritesNewlines) {
  static const char kCard[] =
      "---\015\363\n"
      "co2_eq_emissions:\n"
      "  emissission9\n"
      "  source: "
      "\37700000000\377\377\377\377\377\377\377\377\377\377\377\376\377\377\377\377\377\377\377\377\377\377"
      "\377\377\377\377\377\377sL\n"
      "\n"
      "\n"
      ":\n"
      "  emissions: 10\n"
      "  source: "
      "\377our\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377"
      "\377ons: 09\n"
      "  source: "
      "\37700000000\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377"
      "\377\377\377\377\377\377\377\377\377\377\377\377\377\377\3772x\n"
      "---\n";
  expect_reads_back(std::string(kCard, sizeof kCard - 1));
  expect_reads_back("---\rlicense: mit\nco2_eq_emissions: 5\n\n---\n");
}

}  // namespace
}  // namespace carbonmeter
