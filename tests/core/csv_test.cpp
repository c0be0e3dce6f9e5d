#include "core/csv.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace carbonmeter {
namespace {

TEST(Csv, ParsesQuotesBomAndCrlf) {
  auto table =
      parse_csv("\xEF\xBB\xBFname,value\r\n\"a, b\",1\r\n\"say \"\"hi\"\"\",2\r\n\r\nplain,3", "t.csv");
  ASSERT_TRUE(table.ok()) << table.error().message;
  ASSERT_EQ(table.value().header.size(), 2u);
  EXPECT_EQ(table.value().header[0], "name");
  ASSERT_EQ(table.value().rows.size(), 3u);
  EXPECT_EQ(table.value().rows[0][0], "a, b");
  EXPECT_EQ(table.value().rows[1][0], "say \"hi\"");
  EXPECT_EQ(table.value().rows[2][1], "3");
  EXPECT_EQ(table.value().row_line[2], 5);
  EXPECT_EQ(table.value().column("value"), 1);
  EXPECT_EQ(table.value().column("missing"), -1);
}

TEST(Csv, UnclosedQuoteIsAnErrorNamingTheLine) {
  auto table = parse_csv("a,b\n1,\"oops\n", "bad.csv");
  ASSERT_FALSE(table.ok());
  EXPECT_NE(table.error().message.find("bad.csv:2"), std::string::npos);
}

// The one reader of numeric cells: whole cells only, finite only (nan or 1e400 never reach a cast).
TEST(Csv, FiniteNumbersOnlyFromWholeCells) {
  EXPECT_EQ(parse_finite_number("95"), 95.0);
  EXPECT_EQ(parse_finite_number(" 1.5e2 "), 150.0);
  EXPECT_EQ(parse_finite_number("-0.25"), -0.25);
  for (const char* bad : {"", " ", "12 W", "nan", "inf", "-inf", "1e400", "0x10", "1,5", "abc"})
    EXPECT_FALSE(parse_finite_number(bad)) << bad;
}

TEST(Csv, EmptyFileIsAnError) { EXPECT_FALSE(parse_csv("", "empty.csv").ok()); }

using Records = std::vector<std::pair<int, std::vector<std::string>>>;

Records visit_all(std::string_view text, Status* status = nullptr) {
  Records out;
  Status visited = visit_csv(text, "t.csv", [&](std::span<const std::string_view> fields, int line) {
    out.emplace_back(line, std::vector<std::string>(fields.begin(), fields.end()));
    return true;
  });
  if (status) *status = visited;
  return out;
}

TEST(Csv, VisitsQuotedFieldsInPlaceOrRebuilt) {
  const Records records = visit_all(
      "\xEF\xBB\xBF"
      "a,b,c\r\n"
      "\"x, y\",\"two\nlines\",plain\n"           // a comma and a line end inside quotes
      "\"say \"\"hi\"\"\",\"\"\"\",\"tail\"ed\n"  // doubled quotes; text after the closing quote
      "\n\r\n"                                    // blank lines
      "\"\"\n"                                    // one empty quoted field: blank, as parse_csv has it
      "trailing,\"q\",\n"                         // a last empty field after a quoted one
      "mid\"quote,last\r"                         // a quote inside a plain field; a lone CR ends the line
      "end,\"at eof\"");
  const Records expected = {
      {1, {"a", "b", "c"}},       {2, {"x, y", "two\nlines", "plain"}}, {4, {"say \"hi\"", "\"", "tailed"}},
      {8, {"trailing", "q", ""}}, {9, {"mid\"quote", "last"}},          {10, {"end", "at eof"}},
  };
  EXPECT_EQ(records, expected);
}

TEST(Csv, VisitErrorsAndEarlyStop) {
  Status status = Ok{};
  visit_all("a,b\n1,\"never closed\n2,3\n", &status);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message.find("t.csv:2: a quoted field is never closed"), std::string::npos);
  visit_all("\n\r\n", &status);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message.find("empty file"), std::string::npos);
  int seen = 0;
  auto stopped = visit_csv("h\n\"1\"\n2\n3\n", "s.csv",
                           [&](std::span<const std::string_view>, int) { return ++seen < 2; });
  EXPECT_TRUE(stopped.ok());
  EXPECT_EQ(seen, 2);
}

// Random tables written as RFC 4180 (quoted when a field needs it, sometimes when it does not) read
// back field for field, with the line each record starts on.
TEST(Csv, RandomTablesReadBackExactly) {
  std::mt19937 random(20261202);
  const std::string alphabet = "ab ,\"\n\r;x1";
  for (int table = 0; table < 300; ++table) {
    std::string text = "h1,h2\n";
    Records expected = {{1, {"h1", "h2"}}};
    int line = 2;
    const int rows = 1 + static_cast<int>(random() % 6);
    for (int r = 0; r < rows; ++r) {
      std::vector<std::string> fields;
      const int count = 1 + static_cast<int>(random() % 4);
      int newlines = 0;
      for (int f = 0; f < count; ++f) {
        std::string field;
        const int length = static_cast<int>(random() % 6);
        for (int i = 0; i < length; ++i) field += alphabet[random() % alphabet.size()];
        const bool needs_quotes = field.find_first_of(",\"\n\r") != std::string::npos;
        if (needs_quotes || random() % 4 == 0) {
          std::string quoted = "\"";
          for (char c : field) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
          text += quoted + "\"";
        } else {
          text += field;
        }
        for (char c : field) newlines += c == '\n';
        text += f + 1 < count ? "," : "\n";
        fields.push_back(field);
      }
      if (!(fields.size() == 1 && fields[0].empty())) expected.emplace_back(line, fields);
      line += newlines + 1;
    }
    Status status = Ok{};
    const Records records = visit_all(text, &status);
    ASSERT_TRUE(status.ok()) << status.error().message;
    ASSERT_EQ(records, expected) << "table " << table << ":\n" << text;
    auto parsed = parse_csv(text, "t.csv");
    ASSERT_TRUE(parsed.ok());
    ASSERT_EQ(parsed.value().rows.size() + 1, expected.size());
  }
}

}  // namespace
}  // namespace carbonmeter
