// The shipped accelerator power table and the forgiving lookup behind `carbonmeter estimate`:
// every row is sane, typed names find the right row, ambiguity and unknown names are reported
// with names to choose from, and a broken table names its line.
#include "estimate/accelerator_table.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "estimate/accelerator_name.hpp"

namespace carbonmeter {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

const std::string kShippedData = std::string(CARBONMETER_FIXTURES_DIR) + "/../../data";

const AcceleratorTable& shipped() {
  static const AcceleratorTable table = [] {
    auto loaded = AcceleratorTable::load_from(kShippedData);
    if (!loaded) ADD_FAILURE() << loaded.error().message;
    return loaded ? std::move(loaded).value() : AcceleratorTable{};
  }();
  return table;
}

// The row a query finds uniquely, or a failure naming what it found instead.
Accelerator unique(std::string_view query) {
  AcceleratorMatch match = shipped().find_accelerator(query);
  EXPECT_EQ(match.kind, AcceleratorMatchKind::unique) << query << ": " << describe(match);
  return match.accelerator.value_or(Accelerator{});
}

TEST(AcceleratorTable, EveryShippedRowIsPlausibleAndSourced) {
  const auto& rows = shipped().rows();
  ASSERT_GE(rows.size(), 60u);
  const std::set<std::string> kinds{"gpu", "tpu", "npu", "apu", "soc"};
  const std::set<std::string> sources{"curated", "mlco2-impact", "green-algorithms", "datasheet"};
  for (const Accelerator& row : rows) {
    SCOPED_TRACE(row.name);
    EXPECT_GE(row.power_w, 20.0);
    EXPECT_LE(row.power_w, 1500.0);
    EXPECT_TRUE(sources.count(row.source)) << row.source;
    EXPECT_FALSE(row.reference.empty());
    EXPECT_TRUE(kinds.count(row.kind)) << row.kind;
    EXPECT_EQ(row.name.rfind(row.vendor + " ", 0), 0u) << "the name starts with the vendor";
    EXPECT_GE(row.year, 2010);
    EXPECT_GT(row.memory_gb.value_or(1.0), 0.0);
    // Its own name and every alias find it.
    EXPECT_EQ(unique(row.name).name, row.name);
    for (const std::string& alias : row.aliases) EXPECT_EQ(unique(alias).name, row.name) << alias;
  }
}

TEST(AcceleratorTable, CoversTheCommonAccelerators) {
  for (const char* query : {"K80",
                            "B200",
                            "H200 SXM",
                            "H100 SXM",
                            "H100 PCIe",
                            "H100 NVL",
                            "A100 SXM4 40GB",
                            "A100 PCIe 80GB",
                            "V100 PCIe 16GB",
                            "T4",
                            "L4",
                            "L40S",
                            "A10",
                            "A10G",
                            "RTX 4090",
                            "RTX 3090",
                            "Titan RTX",
                            "MI50 16GB",
                            "MI100",
                            "MI210",
                            "MI250",
                            "MI250X",
                            "MI300X",
                            "MI325X",
                            "Gaudi 2",
                            "Gaudi 3 OAM",
                            "TPU v2",
                            "TPU v3",
                            "TPU v4"})
    EXPECT_GT(unique(query).power_w, 0.0) << query;
}

TEST(AcceleratorTable, TitanVIs250W) {
  const Accelerator titan = unique("Titan V");
  EXPECT_EQ(titan.name, "NVIDIA TITAN V 12GB");
  EXPECT_DOUBLE_EQ(titan.power_w, 250.0);
  EXPECT_EQ(titan.power_kind, PowerKind::tdp);
  EXPECT_EQ(unique("NVIDIA TITAN V").name, titan.name);
}

TEST(AcceleratorTable, TpuFiguresAreMeasuredAverages) {
  const Accelerator v4 = unique("tpu v4");
  EXPECT_EQ(v4.name, "Google TPU v4");
  EXPECT_EQ(v4.power_kind, PowerKind::measured_average);
  EXPECT_EQ(power_kind_name(v4.power_kind), "measured_average");
  EXPECT_EQ(unique("TPUv4").name, v4.name);
  EXPECT_EQ(unique("Google Cloud TPU v3").name, "Google TPU v3");
  EXPECT_EQ(unique("H100 SXM").power_kind, PowerKind::tdp);
}

TEST(AcceleratorMatch, IgnoresCaseVendorPrefixesAndPunctuation) {
  EXPECT_EQ(unique("H100 SXM").name, "NVIDIA H100 SXM5 80GB");
  EXPECT_DOUBLE_EQ(unique("h100-sxm").power_w, 700.0);
  EXPECT_EQ(unique("NVIDIA H100 80GB HBM3").name, "NVIDIA H100 SXM5 80GB");  // nvidia-smi's name
  EXPECT_EQ(unique("h100").name, "NVIDIA H100 SXM5 80GB");                   // the bare name is the SXM card
  EXPECT_EQ(unique("NVIDIA H200").name, "NVIDIA H200 SXM 141GB");
  EXPECT_EQ(unique("H200 NVL").name, "NVIDIA H200 NVL 141GB");
  EXPECT_DOUBLE_EQ(unique("b200").power_w, 1000.0);
  EXPECT_EQ(unique("nvidia h100 pcie").name, "NVIDIA H100 PCIe 80GB");
  EXPECT_EQ(unique("tesla v100-sxm2-16gb").name, "NVIDIA V100 SXM2 16GB");
  EXPECT_DOUBLE_EQ(unique("tesla v100-sxm2-16gb").power_w, 300.0);
  EXPECT_EQ(unique("mi300x").name, "AMD Instinct MI300X 192GB");
  EXPECT_EQ(unique("AMD Instinct MI300X").name, "AMD Instinct MI300X 192GB");
  EXPECT_EQ(unique("Radeon Instinct MI100").name, "AMD Instinct MI100 32GB");
  EXPECT_EQ(unique("GeForce RTX 4090").name, "NVIDIA GeForce RTX 4090 24GB");
  EXPECT_EQ(unique("rtx4090").name, "NVIDIA GeForce RTX 4090 24GB");
  EXPECT_EQ(unique("Tesla T4").name, "NVIDIA T4 16GB");
  EXPECT_EQ(unique("gaudi2").name, "Intel Gaudi 2 96GB");
}

TEST(AcceleratorMatch, ExactSpellingBeatsLongerNames) {
  EXPECT_EQ(unique("a10").name, "NVIDIA A10 24GB");  // not also the A10G
  EXPECT_EQ(unique("l40").name, "NVIDIA L40 48GB");  // not also the L40S
  EXPECT_EQ(unique("RTX 3080").name, "NVIDIA GeForce RTX 3080 10GB");
  EXPECT_EQ(unique("mi250").name, "AMD Instinct MI250 128GB");
}

TEST(AcceleratorMatch, MemorySizeNarrowsTheChoice) {
  EXPECT_EQ(unique("a100 40gb pcie").name, "NVIDIA A100 PCIe 40GB");
  EXPECT_DOUBLE_EQ(unique("A100 PCIe 40 GB").power_w, 250.0);
  EXPECT_EQ(unique("a100-pcie-80g").name, "NVIDIA A100 PCIe 80GB");
  EXPECT_EQ(unique("h100 94gb").name, "NVIDIA H100 NVL 94GB");
  // A memory size without a form factor is the SXM4 card (servers and clouds).
  for (const char* query : {"a100 80gb", "A100 80 GB", "a100-80g", "NVIDIA A100 80GiB"})
    EXPECT_EQ(unique(query).name, "NVIDIA A100 SXM4 80GB") << query;
  EXPECT_EQ(unique("a100 40gb").name, "NVIDIA A100 SXM4 40GB");
}

TEST(AcceleratorMatch, AmbiguousWhenCandidatesDifferInPower) {
  // A bare model name is the SXM card (training servers, clouds); the form factor picks the others.
  AcceleratorMatch a100 = shipped().find_accelerator("a100");
  ASSERT_EQ(a100.kind, AcceleratorMatchKind::unique);
  EXPECT_EQ(a100.accelerator->name, "NVIDIA A100 SXM4 80GB");
  EXPECT_EQ(unique("a100 pcie 40gb").power_w, 250.0);
  EXPECT_EQ(unique("h100 80gb").name, "NVIDIA H100 SXM5 80GB");
  for (const char* query : {"v100", "Tesla V100", "v100 32gb", "p100", "Tesla P100"})
    EXPECT_EQ(unique(query).power_w, 300.0) << query;               // the SXM2 cards
  AcceleratorMatch pcie = shipped().find_accelerator("a100 pcie");  // 80 GB (300 W) or 40 GB (250 W)
  EXPECT_EQ(pcie.kind, AcceleratorMatchKind::ambiguous);
  EXPECT_THAT(pcie.candidates, UnorderedElementsAre("NVIDIA A100 PCIe 80GB", "NVIDIA A100 PCIe 40GB"));
  EXPECT_EQ(shipped().find_accelerator("gaudi 3").kind, AcceleratorMatchKind::ambiguous);
  EXPECT_EQ(shipped().find_accelerator("mi300").kind, AcceleratorMatchKind::ambiguous);  // X or A
}

TEST(AcceleratorMatch, SamePowerCandidatesGiveAnAssumedDefault) {
  AcceleratorMatch match = shipped().find_accelerator("a100 sxm");
  ASSERT_EQ(match.kind, AcceleratorMatchKind::unique);
  EXPECT_TRUE(match.assumed);
  EXPECT_EQ(match.accelerator->name, "NVIDIA A100 SXM4 80GB");
  EXPECT_DOUBLE_EQ(match.accelerator->power_w, 400.0);
  EXPECT_THAT(match.candidates, ElementsAre("NVIDIA A100 SXM4 80GB", "NVIDIA A100 SXM4 40GB"));
  EXPECT_EQ(describe(match), "NVIDIA A100 SXM4 80GB (assumed; same power as NVIDIA A100 SXM4 40GB)");
  EXPECT_FALSE(shipped().find_accelerator("Titan V").assumed);
  EXPECT_EQ(describe(shipped().find_accelerator("Titan V")), "NVIDIA TITAN V 12GB");
}

TEST(AcceleratorMatch, UnknownNamesComeWithTheClosestOnes) {
  AcceleratorMatch typo = shipped().find_accelerator("RTX 4099");
  EXPECT_EQ(typo.kind, AcceleratorMatchKind::unknown);
  EXPECT_FALSE(typo.accelerator);
  ASSERT_FALSE(typo.candidates.empty());
  EXPECT_EQ(typo.candidates.front(), "NVIDIA GeForce RTX 4090 24GB");
  EXPECT_LE(typo.candidates.size(), 3u);
  EXPECT_THAT(describe(typo), HasSubstr("unknown: closest: NVIDIA GeForce RTX 4090 24GB"));

  // The model exists, not with that memory: the sizes it comes in.
  AcceleratorMatch memory = shipped().find_accelerator("H100 PCIe 40GB");
  EXPECT_EQ(memory.kind, AcceleratorMatchKind::unknown);
  EXPECT_THAT(memory.candidates, ElementsAre("NVIDIA H100 PCIe 80GB"));

  AcceleratorMatch nothing = shipped().find_accelerator("quantum flux capacitor");
  EXPECT_EQ(nothing.kind, AcceleratorMatchKind::unknown);
  EXPECT_THAT(describe(nothing), ::testing::StartsWith("unknown: closest: "));  // always something to try
  EXPECT_EQ(nothing.candidates.size(), 3u);
  EXPECT_EQ(shipped().find_accelerator("NVIDIA").kind, AcceleratorMatchKind::unknown);
  EXPECT_EQ(shipped().find_accelerator("100").kind, AcceleratorMatchKind::unknown);  // no bare numbers
  EXPECT_EQ(shipped().find_accelerator("").kind, AcceleratorMatchKind::unknown);
}

TEST(AcceleratorName, TokensMemoryAndVendorWords) {
  const AcceleratorName v100 = normalise_accelerator_name("Tesla V100-SXM2-16GB");
  EXPECT_THAT(v100.tokens, ElementsAre("v100", "sxm", "2"));
  EXPECT_EQ(v100.squashed, "v100sxm2");
  EXPECT_EQ(v100.memory_gb, 16);
  EXPECT_EQ(normalise_accelerator_name("a100 80 gb").memory_gb, 80);
  EXPECT_EQ(normalise_accelerator_name("a100-80g").memory_gb, 80);
  EXPECT_EQ(normalise_accelerator_name("Gaudi 2").memory_gb, std::nullopt);
  EXPECT_EQ(normalise_accelerator_name("NVIDIA GeForce RTX 4090").squashed, "rtx4090");
  EXPECT_EQ(normalise_accelerator_name("Radeon Instinct MI50").squashed, "mi50");
  EXPECT_THAT(normalise_accelerator_name("rtx4090ti h100nvl mi300x").tokens,
              ElementsAre("rtx", "4090ti", "h100", "nvl", "mi300x"));
  EXPECT_TRUE(tokens_included(normalise_accelerator_name("mi300"), normalise_accelerator_name("MI300X")));
  EXPECT_FALSE(tokens_included(normalise_accelerator_name("a10"), normalise_accelerator_name("A100")));
  EXPECT_FALSE(
      tokens_included(normalise_accelerator_name("RTX 6000"), normalise_accelerator_name("RTX A6000")));
  EXPECT_EQ(edit_distance("rtx4099", "rtx4090"), 1u);
}

const char* const kHeader =
    "name,vendor,kind,memory_gb,power_w,power_kind,aliases,source,reference,year,notes\n";

TEST(AcceleratorTable, MalformedTablesNameTheLine) {
  auto good = AcceleratorTable::parse(
      std::string(kHeader) + "X Card 8GB,X,gpu,8,100,tdp,,datasheet,a page,2020,\n", "t.csv");
  ASSERT_TRUE(good.ok()) << good.error().message;
  EXPECT_EQ(good.value().rows().size(), 1u);

  auto text_power = AcceleratorTable::parse(std::string(kHeader) +
                                                "X Card 8GB,X,gpu,8,100,tdp,,datasheet,a page,2020,\n"
                                                "Y Card,Y,gpu,,about 300,tdp,,datasheet,a page,2021,\n",
                                            "t.csv");
  ASSERT_FALSE(text_power.ok());
  EXPECT_THAT(text_power.error().message, HasSubstr("t.csv:3:"));
  EXPECT_THAT(text_power.error().message, HasSubstr("power_w 'about 300'"));

  auto missing_column = AcceleratorTable::parse(
      "name,vendor,kind,memory_gb,power_kind,aliases,source,year\n"
      "X Card,X,gpu,8,tdp,,datasheet,2020\n",
      "t.csv");
  ASSERT_FALSE(missing_column.ok());
  EXPECT_THAT(missing_column.error().message, HasSubstr("t.csv:1: missing column 'power_w'"));

  auto short_row = AcceleratorTable::parse(std::string(kHeader) + "X Card,X,gpu,8,100,tdp\n", "t.csv");
  ASSERT_FALSE(short_row.ok());
  EXPECT_THAT(short_row.error().message, HasSubstr("t.csv:2: 6 fields where the header has 11"));

  auto bad_kind =
      AcceleratorTable::parse(std::string(kHeader) + "X Card,X,gpu,8,100,peak,,datasheet,,2020,\n", "t.csv");
  ASSERT_FALSE(bad_kind.ok());
  EXPECT_THAT(bad_kind.error().message, HasSubstr("t.csv:2: power_kind 'peak'"));

  auto no_source =
      AcceleratorTable::parse(std::string(kHeader) + "X Card,X,gpu,8,100,tdp,,,,2020,\n", "t.csv");
  ASSERT_FALSE(no_source.ok());
  EXPECT_THAT(no_source.error().message, HasSubstr("t.csv:2: no source"));

  auto huge_memory = AcceleratorTable::parse(
      std::string(kHeader) + "X Card,X,gpu,1e300,100,tdp,,datasheet,,2020,\n", "t.csv");
  ASSERT_FALSE(huge_memory.ok());
  EXPECT_THAT(huge_memory.error().message, HasSubstr("t.csv:2: memory_gb '1e300'"));

  auto missing_file = AcceleratorTable::load_from("/nonexistent");
  ASSERT_FALSE(missing_file.ok());
  EXPECT_THAT(missing_file.error().message, HasSubstr("/nonexistent/accelerators.csv"));
}

}  // namespace
}  // namespace carbonmeter
