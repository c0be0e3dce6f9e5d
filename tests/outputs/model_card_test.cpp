#include "outputs/model_card.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "hub/card_front_matter.hpp"

namespace carbonmeter {
namespace {

using ::testing::HasSubstr;

ModelCardEmissions sample() {
  return {1234.5, "carbonmeter 0.1.0 (rapl-powercap)", "fine-tuning", "France", "2 x NVIDIA H100"};
}

TEST(ModelCard, CreatesFrontMatterWhenThereIsNone) {
  const std::string card = "# My model\n\nIt is good.\n";
  const std::string out = update_model_card(card, sample());
  EXPECT_EQ(out.substr(0, 4), "---\n");
  EXPECT_THAT(
      out,
      HasSubstr("co2_eq_emissions:\n  emissions: 1234.5\n  source: \"carbonmeter 0.1.0 (rapl-powercap)\"\n"
                "  training_type: \"fine-tuning\"\n  geographical_location: \"France\"\n"
                "  hardware_used: \"2 x NVIDIA H100\"\n---\n"));
  EXPECT_EQ(out.substr(out.size() - card.size()), card);  // the card itself, byte for byte
}

TEST(ModelCard, AddsTheBlockAndKeepsEveryOtherLine) {
  const std::string card = "---\nlicense: apache-2.0\ntags:\n- text\n---\n\n# Model\n";
  const std::string out = update_model_card(card, sample());
  EXPECT_EQ(out.substr(0, 37), "---\nlicense: apache-2.0\ntags:\n- text\n");
  EXPECT_THAT(out, HasSubstr("- text\nco2_eq_emissions:\n"));
  EXPECT_THAT(out, HasSubstr("\n---\n\n# Model\n"));
}

TEST(ModelCard, ReplacesAnOldBlockOnly) {
  const std::string card =
      "---\nlanguage: en\nco2_eq_emissions:\n  emissions: 10\n  source: \"old\"\n\n  training_type: "
      "\"pre-training\"\n"
      "datasets:\n- squad\n---\nbody\n";
  const std::string out = update_model_card(card, sample());
  EXPECT_THAT(out, ::testing::Not(HasSubstr("old")));
  EXPECT_THAT(out, ::testing::Not(HasSubstr("emissions: 10\n")));
  EXPECT_EQ(out, "---\nlanguage: en\n" +
                     std::string("co2_eq_emissions:\n  emissions: 1234.5\n  source: \"carbonmeter 0.1.0 "
                                 "(rapl-powercap)\"\n  training_type: \"fine-tuning\"\n  "
                                 "geographical_location: \"France\"\n  hardware_used: \"2 x "
                                 "NVIDIA H100\"\n") +
                     "datasets:\n- squad\n---\nbody\n");
  EXPECT_EQ(update_model_card(out, sample()), out);  // idempotent
}

TEST(ModelCard, EntriesTheNewBlockDoesNotWriteAreKept) {
  const std::string card =
      "---\nco2_eq_emissions:\n  emissions: 10\n  source: old\n  training_type: pre-training\n  "
      "notes:\n    - first run\n---\n";
  ModelCardEmissions e = sample();
  e.training_type.clear();
  const std::string out = update_model_card(card, e);
  EXPECT_THAT(out, HasSubstr("  training_type: pre-training\n"));  // not given now: the old one stays
  EXPECT_THAT(out, HasSubstr("  notes:\n    - first run\n"));
  EXPECT_THAT(out, ::testing::Not(HasSubstr("source: old")));
  EXPECT_EQ(update_model_card(out, e), out);
}

TEST(ModelCard, WindowsLineEndingsAreKept) {
  const std::string card = "---\r\nlicense: mit\r\n---\r\nText\r\n";
  const std::string out = update_model_card(card, sample());
  EXPECT_EQ(out.substr(0, 19), "---\r\nlicense: mit\r\n");
  EXPECT_THAT(out, HasSubstr("co2_eq_emissions:\r\n  emissions: 1234.5\r\n"));
  EXPECT_THAT(out, HasSubstr("\r\n---\r\nText\r\n"));
  EXPECT_EQ(out.find("\n", 0), 4u);  // every line ends in CRLF
  for (std::size_t at = out.find('\n'); at != std::string::npos; at = out.find('\n', at + 1))
    EXPECT_EQ(out[at - 1], '\r');
}

TEST(ModelCard, QuotesTextThatWouldBreakYaml) {
  ModelCardEmissions e = sample();
  e.geographical_location = "Paris: \"south\"";
  EXPECT_THAT(update_model_card("", e), HasSubstr("geographical_location: \"Paris: \\\"south\\\"\""));
}

const std::string kBlock =
    "co2_eq_emissions:\n  emissions: 1234.5\n  source: \"carbonmeter 0.1.0 (rapl-powercap)\"\n"
    "  training_type: \"fine-tuning\"\n  geographical_location: \"France\"\n"
    "  hardware_used: \"2 x NVIDIA H100\"\n";

TEST(ModelCard, KeepsAByteOrderMarkInFront) {
  const std::string bom = "\xEF\xBB\xBF";
  EXPECT_EQ(update_model_card(bom + "---\nlicense: mit\n---\n# Card\n", sample()),
            bom + "---\nlicense: mit\n" + kBlock + "---\n# Card\n");
  // No front matter: the new one goes after the mark, not before it.
  EXPECT_EQ(update_model_card(bom + "# Card\n", sample()), bom + "---\n" + kBlock + "---\n# Card\n");
}

TEST(ModelCard, FrontMatterMayEndWithDots) {
  const std::string card = "---\nlicense: mit\n...\n# Card\n\n---\nnot front matter\n---\n";
  const std::string out = update_model_card(card, sample());
  EXPECT_EQ(out, "---\nlicense: mit\n" + kBlock + "...\n# Card\n\n---\nnot front matter\n---\n");
  EXPECT_EQ(update_model_card(out, sample()), out);
}

TEST(ModelCard, AFirstLineOtherThanDashesMeansNoFrontMatter) {
  const std::string card = "\n\n---\nlicense: mit\n---\n# Card\n";
  EXPECT_EQ(update_model_card(card, sample()), "---\n" + kBlock + "---\n" + card);
  const std::string indented = " ---\nlicense: mit\n---\n";
  EXPECT_EQ(update_model_card(indented, sample()), "---\n" + kBlock + "---\n" + indented);
}

TEST(ModelCard, DuplicateKeysBecomeOneBlockInThePlaceOfTheFirst) {
  const std::string card =
      "---\nlanguage: en\nco2_eq_emissions:\n  emissions: 10\ntags:\n- a\n"
      "co2_eq_emissions: {emissions: 20}\n\"co2_eq_emissions\" :\n  emissions: 30\n"
      "co2_eq_emissions_note: kept\n---\nbody\n";
  EXPECT_EQ(update_model_card(card, sample()),
            "---\nlanguage: en\n" + kBlock + "tags:\n- a\nco2_eq_emissions_note: kept\n---\nbody\n");
}

// What the writer writes, the card reader of `carbonmeter hub search` reads back, whatever the card
// was: both find the front matter and the co2_eq_emissions key the same way (front_matter.hpp).
TEST(ModelCard, ReadingBackTheUpdatedCardGivesTheEmissions) {
  ModelCardEmissions bare{0.25, "", "", "", ""};
  ModelCardEmissions quoted = sample();
  quoted.source = "the team's \"logs\" \\ notes";
  quoted.geographical_location = "Paris: south # not a comment";
  const std::string cards[] = {
      "",
      "# My model\n",
      "---\nlicense: mit\n---\n# Card\n",
      "\xEF\xBB\xBF---\r\nlicense: mit\r\n---\r\nText\r\n",
      "---\nco2_eq_emissions: 10\nco2_eq_emissions:\n  emissions: 20\n  notes: kept\n---\n",
      "---\nco2_eq_emissions:5\n---\n",
      "---\nlicense: mit\n  ---\nmore: x\n---\n",  // an indented `---` closes it too
      " ---\nlicense: mit\n---\n",                 // an indented first `---`: a new front matter on top
      "---\nlicense: mit\n",                       // never closed: no front matter
      "---\nco2_eq_emissions: 5\n# never closed\n",
  };
  for (const std::string& card : cards) {
    for (const ModelCardEmissions& e : {sample(), bare, quoted}) {
      const std::string updated = update_model_card(card, e);
      auto read = hub::read_card_emissions(updated);
      ASSERT_TRUE(read.ok()) << read.error().message << "\n" << updated;
      ASSERT_TRUE(read.value()) << updated;
      const hub::ReportedEmissions& got = *read.value();
      EXPECT_EQ(got.emissions_g, e.emissions_g) << updated;
      EXPECT_EQ(got.source.value_or(""), e.source) << updated;
      EXPECT_EQ(got.training_type.value_or(""), e.training_type) << updated;
      EXPECT_EQ(got.geographical_location.value_or(""), e.geographical_location) << updated;
      EXPECT_EQ(got.hardware_used.value_or(""), e.hardware_used) << updated;
    }
  }
}

TEST(ModelCard, NumbersArePlainDotted) {
  ModelCardEmissions e = sample();
  e.emissions_g = 1234567.8;
  EXPECT_THAT(update_model_card("", e), HasSubstr("  emissions: 1234567.8\n"));
  EXPECT_EQ(yaml_plain_number(1234567.8), "1234567.8");
  EXPECT_EQ(yaml_plain_number(2e6), "2000000");
  EXPECT_EQ(yaml_plain_number(1e21), "1000000000000000000000");
  EXPECT_EQ(yaml_plain_number(1.5e-7), "0.00000015");
  EXPECT_EQ(yaml_plain_number(0.1 + 0.2), "0.3");
  EXPECT_EQ(yaml_plain_number(0.0), "0");
  EXPECT_EQ(yaml_plain_number(-0.0), "0");
  EXPECT_EQ(yaml_plain_number(12.0), "12");
}

}  // namespace
}  // namespace carbonmeter
