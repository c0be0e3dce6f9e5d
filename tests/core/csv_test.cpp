#include "core/csv.hpp"

#include <gtest/gtest.h>

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

TEST(Csv, EmptyFileIsAnError) { EXPECT_FALSE(parse_csv("", "empty.csv").ok()); }

}  // namespace
}  // namespace carbonmeter
