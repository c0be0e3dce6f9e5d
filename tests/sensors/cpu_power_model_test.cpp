#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/csv.hpp"
#include "core/proc_stat.hpp"
#include "core/roots.hpp"
#include "sensors/cpu_estimate.hpp"
#include "sensors/cpu_power_curve.hpp"
#include "sensors/cpu_tdp_table.hpp"
#include "support/fake_root.hpp"

namespace carbonmeter {
namespace {

TEST(CpuName, NormalisationDropsMarketingNoise) {
  EXPECT_EQ(normalize_cpu_name("Intel(R) Xeon(R) CPU E5-2686 v4 @ 2.30GHz"), "intel xeon e5-2686 v4");
  EXPECT_EQ(normalize_cpu_name("AMD EPYC 7763 64-Core Processor"), "amd epyc 7763");
  EXPECT_EQ(normalize_cpu_name("AMD Ryzen 7 PRO 4750U with Radeon Graphics"), "amd ryzen 7 pro 4750u");
}

class ShippedTable : public ::testing::Test {
 protected:
  void SetUp() override {
    auto loaded = CpuTdpTable::load(data_dir() + "/cpu_tdp.csv");
    ASSERT_TRUE(loaded.ok()) << loaded.error().message;
    table_ = std::move(loaded).value();
  }
  CpuTdpTable table_;
};

TEST_F(ShippedTable, MatchesRealCpuinfoNames) {
  auto xeon = table_.match("Intel(R) Xeon(R) CPU E5-2686 v4 @ 2.30GHz");
  ASSERT_TRUE(xeon);
  EXPECT_DOUBLE_EQ(xeon->tdp_w, 145.0);
  auto epyc = table_.match("AMD EPYC 7763 64-Core Processor");
  ASSERT_TRUE(epyc);
  EXPECT_DOUBLE_EQ(epyc->tdp_w, 280.0);
  auto threadripper = table_.match("AMD Ryzen Threadripper 1950X 16-Core Processor");
  ASSERT_TRUE(threadripper);
  EXPECT_DOUBLE_EQ(threadripper->tdp_w, 180.0);
}

TEST_F(ShippedTable, UnknownOrVagueNamesDoNotMatch) {
  EXPECT_FALSE(table_.match("AMD EPYC"));
  EXPECT_FALSE(table_.match("QEMU Virtual CPU version 2.5+"));
  EXPECT_FALSE(table_.match(""));
}

TEST(PowerCurve, InterpolatesLinearlyBlendsAndClamps) {
  testing::FakeRoot root("");
  // The older layout, without a vendor column: vendor-neutral curves, whatever the vendor.
  root.write("curve.csv",
             "utilization_pct,fraction_of_tdp_spread,fraction_of_tdp_concentrated\n0,0.1,0.1\n50,0.5,0."
             "7\n100,0.9,0.9\n");
  auto curve = PowerCurve::load(root.path() + "/curve.csv", "AuthenticAMD");
  ASSERT_TRUE(curve.ok()) << curve.error().message;
  EXPECT_EQ(curve.value().vendor(), "any");
  EXPECT_FALSE(curve.value().vendor_specific());
  EXPECT_DOUBLE_EQ(curve.value().fraction_of_tdp(0.25, 0.0), 0.3);
  EXPECT_DOUBLE_EQ(curve.value().fraction_of_tdp(0.25, 1.0), 0.4);
  EXPECT_DOUBLE_EQ(curve.value().fraction_of_tdp(0.5, 0.5), 0.6);
  EXPECT_DOUBLE_EQ(curve.value().fraction_of_tdp(1.5, 0.0), 0.9);
  EXPECT_DOUBLE_EQ(curve.value().fraction_of_tdp(-1, 2.0), 0.1);
  root.write("bad.csv", "u,f\n1,2\n");
  EXPECT_FALSE(PowerCurve::load(root.path() + "/bad.csv").ok());
}

TEST(PowerCurve, SelectsTheVendorsCurvesAndFallsBackToNeutral) {
  testing::FakeRoot root("");
  root.write("curves.csv",
             "vendor,utilization_pct,fraction_of_tdp_spread,fraction_of_tdp_concentrated\n"
             "any,0,0.1,0.1\nany,100,0.9,0.9\n"
             "AuthenticAMD,100,0.8,0.6\nAuthenticAMD,0,0.3,0.2\n"  // any order
             "GenuineIntel,0,0.05,0.05\nGenuineIntel,100,1.0,1.0\n");
  const std::string path = root.path() + "/curves.csv";
  struct Case {
    std::string vendor_id, chosen;
    double at_half_spread;
  };
  for (const Case& c :
       {Case{"AuthenticAMD", "AuthenticAMD", 0.55}, Case{"GenuineIntel", "GenuineIntel", 0.525},
        Case{"HygonGenuine", "any", 0.5}, Case{"", "any", 0.5}, Case{"authenticamd", "any", 0.5}}) {
    auto curve = PowerCurve::load(path, c.vendor_id);
    ASSERT_TRUE(curve.ok()) << curve.error().message;
    EXPECT_EQ(curve.value().vendor(), c.chosen) << c.vendor_id;
    EXPECT_EQ(curve.value().vendor_specific(), c.chosen != "any");
    EXPECT_DOUBLE_EQ(curve.value().fraction_of_tdp(0.5, 0.0), c.at_half_spread) << c.vendor_id;
  }
  auto amd = PowerCurve::load(path, "AuthenticAMD");
  ASSERT_TRUE(amd.ok());
  EXPECT_DOUBLE_EQ(amd.value().fraction_of_tdp(0.0, 1.0), 0.2);
  EXPECT_DOUBLE_EQ(amd.value().fraction_of_tdp(0.5, 0.5), 0.475);
}

TEST(PowerCurve, MalformedFilesAreClearErrors) {
  testing::FakeRoot root("");
  const std::string header = "vendor,utilization_pct,fraction_of_tdp_spread,fraction_of_tdp_concentrated\n";
  const std::string neutral = "any,0,0.1,0.1\nany,100,0.9,0.9\n";
  struct Case {
    std::string body, message;
  };
  for (const Case& c : {
           Case{"vendor,utilization_pct,fraction_of_tdp_spread\nany,0,0.1\n", "expected columns"},
           Case{header + neutral + "AuthenticAMD,0,abc,0.2\nAuthenticAMD,100,0.9,0.9\n",
                "'abc' is not a number (column fraction_of_tdp_spread)"},
           Case{header + neutral + "AuthenticAMD,0,0.2x,0.2\nAuthenticAMD,100,0.9,0.9\n", "is not a number"},
           Case{header + neutral + "AuthenticAMD,0,0.2\n", "expected 4 fields, found 3"},
           Case{header + neutral + "AuthenticAMD,0,0.2,0.2\n",
                "vendor 'AuthenticAMD' needs at least two points"},
           Case{header + neutral + "GenuineIntel,50,0.2,0.2\nGenuineIntel,50,0.3,0.3\n",
                "utilization_pct 50 repeated for vendor 'GenuineIntel'"},
           Case{header + neutral + "GenuineIntel,150,0.2,0.2\n", "outside 0..100"},
           Case{header + neutral + "GenuineIntel,0,-0.2,0.2\n", "fraction of TDP outside 0..2"},
           Case{header + ",0,0.1,0.1\n,100,0.9,0.9\n", "empty vendor"},
           Case{header + "GenuineIntel,0,0.1,0.1\nGenuineIntel,100,0.9,0.9\n", "no vendor-neutral curves"},
       }) {
    root.write("model.csv", c.body);
    // Every block is checked, whichever vendor is asked for.
    for (const char* vendor : {"GenuineIntel", "AuthenticAMD", ""}) {
      auto curve = PowerCurve::load(root.path() + "/model.csv", vendor);
      ASSERT_FALSE(curve.ok()) << c.body;
      EXPECT_THAT(curve.error().message, ::testing::HasSubstr(c.message));
      EXPECT_THAT(curve.error().message, ::testing::HasSubstr("model.csv"));
    }
  }
}

// The shipped model (bench/RESULTS.md, CPU power model): f_v = a_v + (1 - a_v) g, a_AMD = 0.27,
// a_Intel = 0, and the vendor-neutral curves of the previous model for every other vendor, all fitted
// without the profiles whose RAPL truth counted the core sub-domain twice.
TEST(PowerCurve, ShippedCurvesPerVendor) {
  const std::string path = data_dir() + "/cpu_power_model.csv";
  auto amd = PowerCurve::load(path, "AuthenticAMD");
  auto intel = PowerCurve::load(path, "GenuineIntel");
  auto other = PowerCurve::load(path, "CentaurHauls");
  ASSERT_TRUE(amd.ok()) << amd.error().message;
  ASSERT_TRUE(intel.ok()) << intel.error().message;
  ASSERT_TRUE(other.ok()) << other.error().message;
  EXPECT_EQ(amd.value().vendor(), "AuthenticAMD");
  EXPECT_EQ(intel.value().vendor(), "GenuineIntel");
  EXPECT_EQ(other.value().vendor(), "any");
  // Idle: the AMD curves give about a third of TDP (the Threadripper drew 24 %: the minimum-MAPE fit
  // trades its idle rows for the rest), the Intel ones under a tenth.
  EXPECT_DOUBLE_EQ(amd.value().fraction_of_tdp(0.0, 0.0), 0.3248);
  EXPECT_DOUBLE_EQ(intel.value().fraction_of_tdp(0.0, 0.0), 0.075);
  EXPECT_DOUBLE_EQ(other.value().fraction_of_tdp(0.0, 0.0), 0.075);
  EXPECT_DOUBLE_EQ(amd.value().fraction_of_tdp(0.5, 1.0), 0.7226);
  EXPECT_DOUBLE_EQ(intel.value().fraction_of_tdp(0.5, 1.0), 0.62);
  EXPECT_DOUBLE_EQ(other.value().fraction_of_tdp(0.5, 1.0), 0.62);
  EXPECT_DOUBLE_EQ(amd.value().fraction_of_tdp(1.0, 0.0), 0.7938);
  EXPECT_DOUBLE_EQ(intel.value().fraction_of_tdp(1.0, 0.0), 0.7175);
  EXPECT_DOUBLE_EQ(other.value().fraction_of_tdp(1.0, 0.0), 0.7175);
  // The AMD curves are the shared (Intel) ones lifted by the idle share: f = 0.27 + 0.73 g, to the
  // file's 4 decimals, at every utilisation and concentration.
  for (double u = 0.0; u <= 1.0; u += 0.05)
    for (double c : {0.0, 0.5, 1.0})
      EXPECT_NEAR(amd.value().fraction_of_tdp(u, c), 0.27 + 0.73 * intel.value().fraction_of_tdp(u, c), 1e-4)
          << u << " " << c;
}

TEST(LoadConcentration, ZeroWhenEvenOneWhenAllOrNothing) {
  EXPECT_DOUBLE_EQ(load_concentration({{0.5, 0.5}, {0.5, 0.5}}), 0.0);
  EXPECT_DOUBLE_EQ(load_concentration({{1.0, 0.0}, {0.0, 1.0}}), 1.0);
  EXPECT_DOUBLE_EQ(load_concentration({{0.0, 1.0}, {0.0, 1.0}}), 0.0);  // idle: no spread to measure
  EXPECT_NEAR(load_concentration({{0.75, 0.25}, {0.25, 0.75}}), 0.25, 1e-12);
}

// The whole estimate on a fake machine: 4 CPUs, 2 fully busy and 2 idle for 10 s.
SampleContext half_busy_concentrated() {
  SampleContext context;
  context.elapsed_s = 10.0;
  context.cpu_time_delta.busy_s = 20.0;
  context.cpu_time_delta.idle_s = 20.0;
  context.cpu_time_delta.per_cpu = {{10, 0}, {10, 0}, {0, 10}, {0, 10}};
  return context;
}

double energy_j(ProbeOutcome& probe) {
  std::vector<ChannelReading> out(1);
  probe.sensor->read(half_busy_concentrated(), out);
  return out[0].energy_j;
}

TEST(CpuEstimate, EnergyIsTdpTimesTheCurveTimesTime) {
  testing::FakeRoot root("vm_no_rapl");  // GenuineIntel
  auto cpu = read_cpuinfo();
  ASSERT_TRUE(cpu.ok());
  ProbeOutcome probe = probe_cpu_estimate(cpu.value());
  ASSERT_TRUE(probe.sensor) << probe.status.detail;
  EXPECT_THAT(probe.status.detail, ::testing::HasSubstr("e5-2686 v4"));
  EXPECT_THAT(probe.status.detail, ::testing::HasSubstr("with the GenuineIntel curves"));
  EXPECT_THAT(probe.status.detail, ::testing::HasSubstr("(out-of-sample error)"));
  auto curve = PowerCurve::load(data_dir() + "/cpu_power_model.csv", "GenuineIntel");
  ASSERT_TRUE(curve.ok());
  // 2 of the E5-2686 v4's 36 threads are visible here (a VM): its share of the 145 W TDP.
  const double expected_j = 145.0 * 2.0 / 36.0 * curve.value().fraction_of_tdp(0.5, 1.0) * 10.0;
  EXPECT_NEAR(energy_j(probe), expected_j, 1e-9);
  EXPECT_NEAR(expected_j, 145.0 * 2.0 / 36.0 * 0.62 * 10.0, 1e-9);  // the Intel curve, not the neutral one
  EXPECT_GT(probe.sensor->relative_uncertainty(Component::cpu), 0.1);
}

TEST(CpuEstimate, AmdCpusUseTheAmdCurves) {
  testing::FakeRoot root("amd_epyc");  // AuthenticAMD, 2 × EPYC 7763 (280 W), not a VM
  auto cpu = read_cpuinfo();
  ASSERT_TRUE(cpu.ok());
  ASSERT_EQ(cpu.value().vendor_id, "AuthenticAMD");
  ProbeOutcome probe = probe_cpu_estimate(cpu.value());
  ASSERT_TRUE(probe.sensor) << probe.status.detail;
  EXPECT_THAT(probe.status.detail, ::testing::HasSubstr("with the AuthenticAMD curves"));
  ASSERT_EQ(cpu.value().sockets, 2);
  EXPECT_NEAR(energy_j(probe), 2 * 280.0 * 0.7226 * 10.0, 1e-9);
}

// Another vendor (or none) gets the vendor-neutral curves, and the uncertainty says so.
TEST(CpuEstimate, OtherVendorsUseTheNeutralCurves) {
  testing::FakeRoot root("amd_epyc");
  root.write("proc/cpuinfo",
             "processor\t: 0\nvendor_id\t: HygonGenuine\nmodel name\t: AMD EPYC 7763 64-Core Processor\n"
             "physical id\t: 0\n\n");
  auto cpu = read_cpuinfo();
  ASSERT_TRUE(cpu.ok());
  ASSERT_EQ(cpu.value().vendor_id, "HygonGenuine");
  ProbeOutcome probe = probe_cpu_estimate(cpu.value());
  ASSERT_TRUE(probe.sensor) << probe.status.detail;
  EXPECT_THAT(probe.status.detail, ::testing::HasSubstr("with the vendor-neutral curves"));
  EXPECT_NEAR(energy_j(probe), 280.0 * 0.62 * 10.0, 1e-9);
  auto errors = read_metric_file(data_dir() + "/cpu_power_model_error.csv");
  ASSERT_TRUE(errors.ok());
  EXPECT_DOUBLE_EQ(probe.sensor->relative_uncertainty(Component::cpu),
                   errors.value().at("mape_leave_one_cpu_out"));
}

// CpuTdpTable::find (the start-up path: one streamed pass, kept per process) answers exactly what
// load() then match() answer.
void expect_same_spec(const std::optional<CpuSpec>& found, const std::optional<CpuSpec>& matched,
                      const std::string& name) {
  ASSERT_EQ(found.has_value(), matched.has_value()) << name;
  if (!found) return;
  EXPECT_EQ(found->name, matched->name) << name;
  EXPECT_EQ(found->tdp_w, matched->tdp_w) << name;
  EXPECT_EQ(found->cores, matched->cores) << name;
  EXPECT_EQ(found->threads, matched->threads) << name;
  EXPECT_EQ(found->source, matched->source) << name;
}

void expect_find_agrees(const std::string& path, const std::vector<std::string>& names) {
  auto table = CpuTdpTable::load(path);
  ASSERT_TRUE(table.ok()) << table.error().message;
  for (const std::string& name : names) {
    auto found = CpuTdpTable::find(path, name);
    ASSERT_TRUE(found.ok()) << found.error().message;
    expect_same_spec(found.value(), table.value().match(name), name);
    auto again = CpuTdpTable::find(path, name);  // the kept answer
    ASSERT_TRUE(again.ok());
    expect_same_spec(again.value(), table.value().match(name), name + " (kept)");
  }
}

TEST(CpuTdpTableFind, AgreesWithLoadThenMatchOnTheShippedTable) {
  const std::string path = data_dir() + "/cpu_tdp.csv";
  std::vector<std::string> names = {"Intel(R) Xeon(R) CPU E5-2686 v4 @ 2.30GHz",
                                    "AMD EPYC 7763 64-Core Processor",
                                    "AMD Ryzen Threadripper 1950X 16-Core Processor",
                                    "AMD Ryzen 7 PRO 4750U with Radeon Graphics",
                                    "Intel(R) Core(TM) i9-9900K CPU @ 3.60GHz",
                                    "AMD EPYC",
                                    "Intel Xeon",
                                    "QEMU Virtual CPU version 2.5+",
                                    "",
                                    "   "};
  auto csv = read_csv_file(path);
  ASSERT_TRUE(csv.ok());
  const int name = csv.value().column("name");
  ASSERT_GE(name, 0);
  // Every 41st entry as it stands, as /proc/cpuinfo would decorate it, and with a word dropped.
  for (std::size_t i = 0; i < csv.value().rows.size(); i += 41) {
    const std::string& entry = csv.value().rows[i][static_cast<std::size_t>(name)];
    names.push_back(entry);
    names.push_back("Intel(R) " + entry + " CPU @ 2.10GHz");
    names.push_back(entry.substr(entry.find(' ') + 1));
  }
  expect_find_agrees(path, names);
}

TEST(CpuTdpTableFind, AgreesOnOtherTables) {
  testing::FakeRoot root("");
  const std::vector<std::string> names = {"Intel(R) Xeon(R) CPU E5-2686 v4 @ 2.30GHz", "xeon e5-2686 v4",
                                          "AMD EPYC 7763 64-Core Processor", "AMD EPYC 7713", "unknown"};
  // Names as vendors write them (normalised on load), a BOM, CRLF, blank lines, a row without a TDP.
  const std::string raw = root.path() + "/raw.csv";
  testing::write_file(raw,
                      "\xEF\xBB\xBFname,tdp_w,cores,threads,source\r\n"
                      "Intel(R) Xeon(R) CPU E5-2686 v4 @ 2.30GHz,145,18,36,intel\r\n\r\n"
                      "AMD EPYC 7763 64-Core Processor,0,64,128,zero\r\n"
                      "AMD EPYC 7763,280,64,128,amd\r\n"
                      "EPYC 7713,225,,,amd\r\n");
  expect_find_agrees(raw, names);
  // Quotes: parsed by the full CSV parser.
  const std::string quoted = root.path() + "/quoted.csv";
  testing::write_file(quoted,
                      "source,name,tdp_w\n\"vendor, sheet\",xeon e5-2686 v4,145\n"
                      "\"say \"\"hi\"\"\",amd epyc 7763,280\n");
  expect_find_agrees(quoted, names);
  auto found = CpuTdpTable::find(quoted, "AMD EPYC 7763 64-Core Processor");
  ASSERT_TRUE(found.ok() && found.value());
  EXPECT_EQ(found.value()->source, "say \"hi\"");
  // More than the rows checked for normalised names, with an unnormalised one after them.
  std::string many = "name,tdp_w\n";
  for (int i = 0; i < 60; ++i) many += "xeon test-" + std::to_string(i) + "," + std::to_string(10 + i) + "\n";
  many += "Intel(R) Xeon(R) CPU E5-2686 v4 @ 2.30GHz,145\n";
  const std::string long_table = root.path() + "/long.csv";
  testing::write_file(long_table, many);
  expect_find_agrees(long_table, {"xeon test-7", "Intel Xeon test-59", "xeon e5-2686 v4",
                                  "Intel(R) Xeon(R) CPU E5-2686 v4 @ 2.30GHz"});
}

TEST(CpuTdpTableFind, KeptAnswerFollowsTheFile) {
  testing::FakeRoot root("");
  const std::string path = root.path() + "/table.csv";
  testing::write_file(path, "name,tdp_w\namd epyc 7763,280\n");
  auto first = CpuTdpTable::find(path, "AMD EPYC 7763 64-Core Processor");
  ASSERT_TRUE(first.ok() && first.value());
  EXPECT_EQ(first.value()->tdp_w, 280.0);
  testing::write_file(path, "name,tdp_w\namd epyc 7763,2800\n");
  auto second = CpuTdpTable::find(path, "AMD EPYC 7763 64-Core Processor");
  ASSERT_TRUE(second.ok() && second.value());
  EXPECT_EQ(second.value()->tdp_w, 2800.0);
}

// Counts no int holds (nan, 1e20) are unknown (0), and a TDP of inf is no TDP: never cast or used.
TEST(CpuTdpTableFind, CountsAndTdpsOutOfRangeAreUnknown) {
  testing::FakeRoot root("");
  const std::string path = root.path() + "/cpu_tdp.csv";
  testing::write_file(path,
                      "name,tdp_w,cores,threads,source\n"
                      "Odd Chip 1000,95,nan,1e20,test\n"
                      "Hot Chip 2000,inf,8,16,test\n"
                      "Good Chip 3000,65,8,16,test\n");
  for (bool find : {false, true}) {
    SCOPED_TRACE(find ? "find" : "load");
    auto lookup = [&](const std::string& name) -> std::optional<CpuSpec> {
      if (find) return CpuTdpTable::find(path, name).value();
      return CpuTdpTable::load(path).value().match(name);
    };
    const auto odd = lookup("Odd Chip 1000");
    ASSERT_TRUE(odd);
    EXPECT_EQ(odd->tdp_w, 95.0);
    EXPECT_EQ(odd->cores, 0);
    EXPECT_EQ(odd->threads, 0);
    const auto hot = lookup("Hot Chip 2000");
    EXPECT_FALSE(hot && hot->name == "Hot Chip 2000");
    const auto good = lookup("Good Chip 3000");
    ASSERT_TRUE(good);
    EXPECT_EQ(good->threads, 16);
  }
}

TEST(CpuTdpTableFind, ErrorsAreTheLoadErrors) {
  testing::FakeRoot root("");
  auto missing = CpuTdpTable::find(root.path() + "/none.csv", "AMD EPYC 7763");
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.error().message, ::testing::HasSubstr("none.csv"));
  const std::string bad = root.path() + "/bad.csv";
  testing::write_file(bad, "model,watts\namd epyc 7763,280\n");
  auto header = CpuTdpTable::find(bad, "AMD EPYC 7763");
  ASSERT_FALSE(header.ok());
  EXPECT_EQ(header.error().message, CpuTdpTable::load(bad).error().message);
  const std::string empty = root.path() + "/empty.csv";
  testing::write_file(empty, "");
  EXPECT_FALSE(CpuTdpTable::find(empty, "AMD EPYC 7763").ok());
  EXPECT_FALSE(CpuTdpTable::load(empty).ok());
}

}  // namespace
}  // namespace carbonmeter
