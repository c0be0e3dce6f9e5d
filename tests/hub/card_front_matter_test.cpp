// The model card reader (co2_eq_emissions in the YAML front matter) and the figure rules it shares
// with the Hub API reader.
#include "hub/card_front_matter.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <utility>

#include "hub/emissions_figure.hpp"

namespace carbonmeter::hub {
namespace {

using ::testing::HasSubstr;

ReportedEmissions reads(const std::string& card) {
  auto reported = read_card_emissions(card);
  EXPECT_TRUE(reported.ok()) << (reported.ok() ? "" : reported.error().message);
  if (!reported.ok() || !reported.value()) {
    ADD_FAILURE() << "no emissions read from:\n" << card;
    return {};
  }
  return *reported.value();
}

std::string error_of(const std::string& card) {
  auto reported = read_card_emissions(card);
  if (reported.ok()) {
    ADD_FAILURE() << "read without error:\n" << card;
    return "";
  }
  return reported.error().message;
}

bool reports_nothing(const std::string& card) {
  auto reported = read_card_emissions(card);
  return reported.ok() && !reported.value();
}

TEST(HubCardReader, TheNumberFormIsGrams) {
  EXPECT_EQ(reads("---\nlicense: mit\nco2_eq_emissions: 149200\n---\n# Model\n").emissions_g, 149200.0);
  EXPECT_EQ(reads("---\nco2_eq_emissions: 0.5\n---\n").emissions_g, 0.5);
  EXPECT_EQ(reads("---\nco2_eq_emissions: 1.5e3\n---\n").emissions_g, 1500.0);
  EXPECT_EQ(reads("---\nco2_eq_emissions: 0\n---\n").emissions_g, 0.0);
  const ReportedEmissions plain = reads("---\nco2_eq_emissions: 12\n---\n");
  EXPECT_FALSE(plain.source);
  EXPECT_FALSE(plain.training_type);
  EXPECT_FALSE(plain.geographical_location);
  EXPECT_FALSE(plain.hardware_used);
}

TEST(HubCardReader, TheMappingFormWithEveryField) {
  const ReportedEmissions reported = reads(
      "---\nlicense: mit\nco2_eq_emissions:\n  emissions: 1234.5\n  source: \"carbonmeter 0.1.0\"\n"
      "  training_type: fine-tuning\n  geographical_location: 'Paris, France'\n  hardware_used: 8 x H100\n"
      "datasets:\n- squad\n---\n# Model\n");
  EXPECT_EQ(reported.emissions_g, 1234.5);
  EXPECT_EQ(reported.source, "carbonmeter 0.1.0");
  EXPECT_EQ(reported.training_type, "fine-tuning");
  EXPECT_EQ(reported.geographical_location, "Paris, France");
  EXPECT_EQ(reported.hardware_used, "8 x H100");
}

TEST(HubCardReader, QuotedNumbersAreNumbersAndQuotesKeepTheirEscapes) {
  EXPECT_EQ(reads("---\nco2_eq_emissions: '12.5'\n---\n").emissions_g, 12.5);
  EXPECT_EQ(reads("---\nco2_eq_emissions: \"12.5\"\n---\n").emissions_g, 12.5);
  EXPECT_EQ(reads("---\nco2_eq_emissions:\n  emissions: \"7\"\n---\n").emissions_g, 7.0);
  EXPECT_EQ(reads("---\n\"co2_eq_emissions\": 3\n---\n").emissions_g, 3.0);
  const ReportedEmissions quoted = reads(
      "---\nco2_eq_emissions:\n  emissions: 1\n  source: 'the team''s logs'\n"
      "  hardware_used: \"say \\\"A100\\\"\"\n---\n");
  EXPECT_EQ(quoted.source, "the team's logs");
  EXPECT_EQ(quoted.hardware_used, "say \"A100\"");
}

TEST(HubCardReader, TrailingCommentsAreFine) {
  EXPECT_EQ(reads("---\nco2_eq_emissions: 0.5 # grams\n---\n").emissions_g, 0.5);
  const ReportedEmissions reported = reads(
      "---\nco2_eq_emissions: # what training emitted\n  # measured with carbonmeter\n  emissions: 40  # g\n"
      "\n  source: carbonmeter # the tool\n---\n");
  EXPECT_EQ(reported.emissions_g, 40.0);
  EXPECT_EQ(reported.source, "carbonmeter");
}

TEST(HubCardReader, WindowsLineEndingsAByteOrderMarkAndDotsClose) {
  EXPECT_EQ(reads("\xEF\xBB\xBF---\r\nco2_eq_emissions:\r\n  emissions: 7\r\n...\r\nbody\r\n").emissions_g,
            7.0);
  const ReportedEmissions crlf =
      reads("---\r\nco2_eq_emissions:\r\n  emissions: 8\r\n  source: logs\r\n---\r\n");
  EXPECT_EQ(crlf.emissions_g, 8.0);
  EXPECT_EQ(crlf.source, "logs");  // no \r left in the value
  EXPECT_EQ(reads("---\nco2_eq_emissions: 9\n...\n").emissions_g, 9.0);
}

TEST(HubCardReader, CardsThatReportNothingAreNotErrors) {
  EXPECT_TRUE(reports_nothing(""));
  EXPECT_TRUE(reports_nothing("# just a README\n"));
  EXPECT_TRUE(reports_nothing("---\nlicense: mit\n---\n"));
  EXPECT_TRUE(reports_nothing("---\nnested:\n  co2_eq_emissions: 5\n---\n"));     // not top level
  EXPECT_TRUE(reports_nothing("text\n---\nco2_eq_emissions: 5\n---\n"));          // not at the start
  EXPECT_TRUE(reports_nothing("---\nlicense: mit\n---\nco2_eq_emissions: 5\n"));  // in the text
}

// Each card, and what its error says (the figure, what is wrong, what to write instead).
TEST(HubCardReader, MalformedFiguresAreErrorsThatSayWhatToWrite) {
  const std::pair<const char*, const char*> cases[] = {
      // Units written as text: the grams to write instead.
      {"---\nco2_eq_emissions: 3.5 kg\n---\n", "(line 2) '3.5 kg' has a unit written as text"},
      {"---\nco2_eq_emissions: 3.5 kg\n---\n", "(3.5 kg = 3500)"},
      {"---\nco2_eq_emissions:\n  emissions: 1200 g\n---\n", "1200 g = 1200"},
      {"---\nco2_eq_emissions: 3.5kg\n---\n", "3.5kg = 3500"},
      {"---\nco2_eq_emissions: 2 tCO2e\n---\n", "2 tCO2e = 2000000"},
      {"---\nco2_eq_emissions:\n  emissions: a lot\n---\n", "'a lot' is not a number"},
      {"---\nco2_eq_emissions: 12#x\n---\n", "is not a number"},
      // Negative, NaN, infinite, missing.
      {"---\nco2_eq_emissions: -3\n---\n", "'-3' is negative"},
      {"---\nco2_eq_emissions:\n  emissions: -0.5\n---\n", "negative"},
      {"---\nco2_eq_emissions: nan\n---\n", "'nan' is not a finite number"},
      {"---\nco2_eq_emissions: .nan\n---\n", "is not a number"},
      {"---\nco2_eq_emissions: inf\n---\n", "not a finite number"},
      {"---\nco2_eq_emissions: 1e999\n---\n", "not a finite number"},
      {"---\nco2_eq_emissions:\n  emissions:\n  source: x\n---\n", "emissions (line 3) has no value"},
      {"---\nco2_eq_emissions: ''\n---\n", "has no value"},
      // A mapping without emissions.
      {"---\nco2_eq_emissions:\n  source: x\n---\n", "has no emissions figure"},
      {"---\nco2_eq_emissions:\nlicense: mit\n---\n", "(line 2) has no emissions figure"},
      {"---\nco2_eq_emissions:\n---\n", "has no emissions figure"},
  };
  for (const auto& [card, message] : cases) EXPECT_THAT(error_of(card), HasSubstr(message)) << card;
}

TEST(HubCardReader, FrontMatterThatIsNeverClosedIsAnErrorWhenItHoldsEmissions) {
  const std::string error = error_of("---\nco2_eq_emissions: 5\n# Model\nSome text.\n");
  EXPECT_THAT(error, HasSubstr("never closed"));
  EXPECT_THAT(error, HasSubstr("'---'"));
  EXPECT_THAT(error_of("---\nlicense: mit\n\"co2_eq_emissions\" :\n  emissions: 5\n"),
              HasSubstr("never closed"));
  // Without a top-level co2_eq_emissions it is no front matter, as for the Python reader and the
  // card writer: the card reports nothing.
  EXPECT_TRUE(reports_nothing("---\nlicense: mit\n"));
  EXPECT_TRUE(reports_nothing("---\nlicense: mit\n# Model\n\nA horizontal rule above.\n"));
  EXPECT_TRUE(reports_nothing("---\nnested:\n  co2_eq_emissions: 5\n"));
}

TEST(HubCardReader, KeysIndentedUnlikeTheirSiblingsAreErrors) {
  EXPECT_THAT(error_of("---\nco2_eq_emissions:\n    emissions: 5\n  source: x\n---\n"),
              HasSubstr("'source' is indented less than 'emissions'"));
  EXPECT_THAT(error_of("---\nco2_eq_emissions:\n  emissions: 5\n    source: x\n---\n"),
              HasSubstr("'source' is indented more than 'emissions'"));
  EXPECT_THAT(error_of("---\nco2_eq_emissions:\n\temissions: 5\n---\n"), HasSubstr("tab"));
  // Nested content under a key that opens a block is not a sibling.
  const ReportedEmissions nested =
      reads("---\nco2_eq_emissions:\n  emissions: 5\n  hardware_used:\n    - A100\n  source: x\n---\n");
  EXPECT_EQ(nested.emissions_g, 5.0);
  EXPECT_EQ(nested.source, "x");
  EXPECT_FALSE(nested.hardware_used);
}

TEST(HubCardReader, UnknownKeysAndLaterDuplicatesAsThePythonReaderReadsThem) {
  const ReportedEmissions reported =
      reads("---\nco2_eq_emissions:\n  emissions: 5\n  energy_kwh: 3\n  emissions: 6\n---\n");
  EXPECT_EQ(reported.emissions_g, 6.0);  // the later one wins, as in a Python dict
}

TEST(HubEmissionsFigure, PythonFloatTolerances) {
  EXPECT_EQ(python_float(" 12 "), 12.0);
  EXPECT_EQ(python_float("+5"), 5.0);
  EXPECT_EQ(python_float("1_000.5"), 1000.5);
  EXPECT_EQ(python_float(".5"), 0.5);
  EXPECT_EQ(python_float("5."), 5.0);
  EXPECT_EQ(python_float("1E+03"), 1000.0);
  EXPECT_TRUE(std::isnan(*python_float("NaN")));
  EXPECT_TRUE(std::isinf(*python_float("-Infinity")));
  for (const char* not_a_float : {"", "1__0", "_1", "1_", "0x10", "1e", ".", "1.2.3", "12 g", "1,5"})
    EXPECT_FALSE(python_float(not_a_float)) << not_a_float;
}

TEST(HubEmissionsFigure, NegativeZeroReadsAsZero) {
  auto grams = parse_grams("-0", "x");
  ASSERT_TRUE(grams.ok());
  EXPECT_FALSE(std::signbit(grams.value()));
}

}  // namespace
}  // namespace carbonmeter::hub
