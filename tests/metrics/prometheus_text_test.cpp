// The Prometheus exposition text, the publisher's never-falling counters and the listen address.
#include "metrics/prometheus_text.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "metrics/live_metrics.hpp"
#include "metrics/metrics_server.hpp"

namespace carbonmeter::metrics {
namespace {

using ::testing::HasSubstr;

MetricsSnapshot two_socket_snapshot() {
  MetricsSnapshot snapshot;
  snapshot.labels = {"20260101T000000.000-42", "train", std::string("12345"), "node-a", 3};
  snapshot.devices = {{Component::cpu, "package-0", "package", 1234.5, 61.25},
                      {Component::cpu, "package-1", "package", 1000, 50},
                      {Component::ram, "package-0", "dram", 0.125, 2},
                      {Component::gpu, "gpu-0", "gpu", 3.5e6, 300}};
  snapshot.emissions_g = 42.5;
  snapshot.intensity_g_per_kwh = 400;
  return snapshot;
}

TEST(PrometheusText, RendersEveryFamilyOnceWithItsSamples) {
  const std::string run =
      R"(run_id="20260101T000000.000-42",project="train",job="12345",node="node-a",rank="3")";
  const std::string expected =
      "# HELP carbonmeter_energy_joules_total Energy used since the run started, attributed to its scope, "
      "per "
      "device and domain.\n"
      "# TYPE carbonmeter_energy_joules_total counter\n"
      "carbonmeter_energy_joules_total{" +
      run +
      R"(,component="cpu",device="package-0",domain="package"} 1234.5)"
      "\n"
      "carbonmeter_energy_joules_total{" +
      run +
      R"(,component="cpu",device="package-1",domain="package"} 1000)"
      "\n"
      "carbonmeter_energy_joules_total{" +
      run +
      R"(,component="ram",device="package-0",domain="dram"} 0.125)"
      "\n"
      "carbonmeter_energy_joules_total{" +
      run +
      R"(,component="gpu",device="gpu-0",domain="gpu"} 3500000)"
      "\n"
      "# HELP carbonmeter_power_watts Power over the last sample, attributed to the run's scope, per device "
      "and "
      "domain.\n"
      "# TYPE carbonmeter_power_watts gauge\n"
      "carbonmeter_power_watts{" +
      run +
      R"(,component="cpu",device="package-0",domain="package"} 61.25)"
      "\n"
      "carbonmeter_power_watts{" +
      run +
      R"(,component="cpu",device="package-1",domain="package"} 50)"
      "\n"
      "carbonmeter_power_watts{" +
      run +
      R"(,component="ram",device="package-0",domain="dram"} 2)"
      "\n"
      "carbonmeter_power_watts{" +
      run +
      R"(,component="gpu",device="gpu-0",domain="gpu"} 300)"
      "\n"
      "# HELP carbonmeter_emissions_grams_total CO2-equivalent emissions since the run started, in grams: "
      "energy "
      "x PUE x the carbon intensity in force during each sample.\n"
      "# TYPE carbonmeter_emissions_grams_total counter\n"
      "carbonmeter_emissions_grams_total{" +
      run +
      "} 42.5\n"
      "# HELP carbonmeter_carbon_intensity_grams_per_kwh Carbon intensity of the electricity in force now, "
      "in "
      "gCO2e/kWh (before PUE).\n"
      "# TYPE carbonmeter_carbon_intensity_grams_per_kwh gauge\n"
      "carbonmeter_carbon_intensity_grams_per_kwh{" +
      run + "} 400\n";
  EXPECT_EQ(render_prometheus_text(two_socket_snapshot()), expected);
}

TEST(PrometheusText, JobAndRankOnlyWhenKnownAndEmptyFamiliesLeftOut) {
  MetricsSnapshot snapshot;
  snapshot.labels = {"r1", "monitor", std::nullopt, "host-1", std::nullopt};
  snapshot.devices = {{Component::cpu, "host", "estimate", 10, 1}};
  const std::string text = render_prometheus_text(snapshot);
  EXPECT_THAT(
      text,
      HasSubstr(
          R"(carbonmeter_energy_joules_total{run_id="r1",project="monitor",node="host-1",component="cpu",device="host",domain="estimate"} 10)"));
  EXPECT_EQ(text.find("job="), std::string::npos);
  EXPECT_EQ(text.find("rank="), std::string::npos);
  EXPECT_EQ(text.find("carbonmeter_emissions_grams_total"), std::string::npos);
  EXPECT_EQ(text.find("carbonmeter_carbon_intensity_grams_per_kwh"), std::string::npos);
  EXPECT_EQ(render_prometheus_text(MetricsSnapshot{}), "");
}

TEST(PrometheusText, PerCgroupFamiliesCarryTheContainersLabels) {
  MetricsSnapshot snapshot = two_socket_snapshot();
  snapshot.cgroups = {{"/kubepods/pod1/abc", "kubernetes", "abc", "1f2e", Component::cpu, 12.5, 3},
                      {"/kubepods/pod1/abc", "kubernetes", "abc", "1f2e", Component::ram, 1.5, 0.25},
                      {"/docker/def", "docker", "def", "", Component::cpu, 7, 1}};
  const std::string text = render_prometheus_text(snapshot);
  const std::string run =
      R"(run_id="20260101T000000.000-42",project="train",job="12345",node="node-a",rank="3")";
  EXPECT_THAT(text, HasSubstr("# TYPE carbonmeter_cgroup_energy_joules_total counter\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE carbonmeter_cgroup_power_watts gauge\n"));
  EXPECT_THAT(
      text,
      HasSubstr(
          "carbonmeter_cgroup_energy_joules_total{" + run +
          R"(,cgroup="/kubepods/pod1/abc",runtime="kubernetes",container_id="abc",pod_uid="1f2e",component="cpu"} 12.5)"));
  EXPECT_THAT(text,
              HasSubstr("carbonmeter_cgroup_power_watts{" + run +
                        R"(,cgroup="/docker/def",runtime="docker",container_id="def",component="cpu"} 1)"));
  snapshot.cgroups.clear();
  EXPECT_THAT(render_prometheus_text(snapshot), ::testing::Not(HasSubstr("cgroup")));
}

TEST(PrometheusText, HelpAndTypeOncePerFamily) {
  const std::string text = render_prometheus_text(two_socket_snapshot());
  for (const char* family :
       {"carbonmeter_energy_joules_total", "carbonmeter_power_watts", "carbonmeter_emissions_grams_total",
        "carbonmeter_carbon_intensity_grams_per_kwh"}) {
    for (const char* kind : {"# HELP ", "# TYPE "}) {
      const std::string line = std::string(kind) + family + " ";
      const std::size_t first = text.find(line);
      ASSERT_NE(first, std::string::npos) << line;
      EXPECT_EQ(text.find(line, first + 1), std::string::npos) << line;
    }
  }
}

TEST(PrometheusText, LabelValuesAreEscaped) {
  EXPECT_EQ(escape_label_value(R"(a\b"c)"), R"(a\\b\"c)");
  EXPECT_EQ(escape_label_value("line1\nline2"), "line1\\nline2");
  EXPECT_EQ(escape_label_value("Zürich 東京"), "Zürich 東京");  // UTF-8 stays
  EXPECT_EQ(escape_label_value("bad\xff\xc3"), "bad\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(escape_label_value("\xed\xa0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // a surrogate
  MetricsSnapshot snapshot;
  snapshot.labels = {"r", "my \"big\" model\\v2\n", std::string("job\"1"), "n", 0};
  snapshot.emissions_g = 1;
  EXPECT_EQ(
      render_prometheus_text(snapshot),
      "# HELP carbonmeter_emissions_grams_total CO2-equivalent emissions since the run started, in grams: "
      "energy x PUE x the carbon intensity in force during each sample.\n"
      "# TYPE carbonmeter_emissions_grams_total counter\n"
      R"(carbonmeter_emissions_grams_total{run_id="r",project="my \"big\" model\\v2\n",job="job\"1",node="n",rank="0"} 1)"
      "\n");
}

TEST(PrometheusText, SampleValues) {
  EXPECT_EQ(format_sample_value(0), "0");
  EXPECT_EQ(format_sample_value(0.1), "0.1");
  EXPECT_EQ(format_sample_value(123456789.125), "123456789.125");
  EXPECT_EQ(format_sample_value(1e300), "1e+300");
  EXPECT_EQ(format_sample_value(std::nan("")), "NaN");
  EXPECT_EQ(format_sample_value(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(format_sample_value(-std::numeric_limits<double>::infinity()), "-Inf");
}

TEST(MetricsPublisher, CountersNeverGoDown) {
  MetricsPublisher publisher;
  EXPECT_EQ(publisher.render(), "");
  MetricsSnapshot first = two_socket_snapshot();
  publisher.publish(first);
  MetricsSnapshot lower = first;
  lower.devices[0].energy_j = 1000;  // below 1234.5
  lower.devices[1].energy_j = 2000;  // above
  lower.devices[0].power_w = 1;      // gauges may fall
  lower.emissions_g = 10;
  lower.intensity_g_per_kwh = 100;
  publisher.publish(lower);
  const MetricsSnapshot latest = *publisher.latest();
  EXPECT_EQ(latest.devices[0].energy_j, 1234.5);
  EXPECT_EQ(latest.devices[1].energy_j, 2000);
  EXPECT_EQ(latest.devices[0].power_w, 1);
  EXPECT_EQ(*latest.emissions_g, 42.5);
  EXPECT_EQ(*latest.intensity_g_per_kwh, 100);
}

TEST(ListenAddress, ParsesHostAndPortAndExplainsMistakes) {
  auto v4 = parse_listen_address("127.0.0.1:9464");
  ASSERT_TRUE(v4.ok());
  EXPECT_EQ(v4.value().host, "127.0.0.1");
  EXPECT_EQ(v4.value().port, 9464);
  auto v6 = parse_listen_address("[::1]:80");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6.value().host, "::1");
  EXPECT_EQ(v6.value().port, 80);
  EXPECT_EQ(parse_listen_address("localhost:65535").value().host, "localhost");
  for (const char* bad : {"", "9464", ":9464", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536",
                          "127.0.0.1:94x", "127.0.0.1:-1", "::1:9464", "[::1]9464", "[::1]"}) {
    auto parsed = parse_listen_address(bad);
    EXPECT_FALSE(parsed.ok()) << bad;
    if (!parsed.ok()) {
      EXPECT_THAT(parsed.error().message, HasSubstr("--prometheus")) << bad;
    }
  }
}

TEST(LiveMetrics, SnapshotAttributesSharedChannelsAndAccountsEmissionsAsTheRunDoes) {
  RunReport report;
  report.header.run_id = "r";
  report.header.project_name = "p";
  report.header.hostname = "host-1";
  report.header.job = JobInfo{};
  report.duration_s = 10;
  report.energy_j.values = {50, 4, 0};  // process scope: half the CPU, a tenth of the RAM
  report.machine_energy_j.values = {100, 40, 0};
  DeviceEnergy package0{"rapl-powercap", Component::cpu, "package-0", "package", 60, "", "", -1};
  DeviceEnergy package1{"rapl-powercap", Component::cpu, "package-1", "package", 40, "", "", -1};
  DeviceEnergy dram{"rapl-powercap", Component::ram, "package-0", "dram", 40, "", "", -1};
  report.devices = {package0, package1, dram};
  Sample sample;
  sample.t_s = 10;
  sample.dt_s = 10;
  sample.energy_j = report.energy_j;
  sample.machine_energy_j = report.machine_energy_j;
  report.samples = {sample};
  ResolvedLocation location;
  location.constant = IntensityFigure{400, 2024, "lifecycle", "average", "test"};
  location.pue = 1.5;
  const MetricsSnapshot snapshot = snapshot_of(report, &location, 1.7e9);
  EXPECT_EQ(snapshot.labels.node, "host-1");
  EXPECT_FALSE(snapshot.labels.job.has_value());
  ASSERT_EQ(snapshot.devices.size(), 3u);
  EXPECT_DOUBLE_EQ(snapshot.devices[0].energy_j, 30);
  EXPECT_DOUBLE_EQ(snapshot.devices[1].energy_j, 20);
  EXPECT_DOUBLE_EQ(snapshot.devices[2].energy_j, 4);
  EXPECT_DOUBLE_EQ(snapshot.devices[0].power_w, 3);
  ASSERT_TRUE(snapshot.emissions_g.has_value());
  EXPECT_DOUBLE_EQ(*snapshot.emissions_g, 54 / 3.6e6 * 1.5 * 400);
  EXPECT_EQ(*snapshot.intensity_g_per_kwh, 400);
  EXPECT_FALSE(snapshot_of(report, nullptr, 1.7e9).emissions_g.has_value());

  MetricsSnapshot later = snapshot;
  later.devices[0].energy_j += 12;
  set_power_since(later, snapshot, 2);
  EXPECT_DOUBLE_EQ(later.devices[0].power_w, 6);
  EXPECT_DOUBLE_EQ(later.devices[1].power_w, 0);
}

TEST(LiveMetrics, IntensityInForceNowFollowsTheSeries) {
  auto series = IntensitySeries::parse("timestamp,g\n1000,100\n2000,300\n3000,\n4000,50\n", "grid.csv", "g");
  ASSERT_TRUE(series.ok()) << series.error().message;
  ResolvedLocation location;
  location.series = std::make_shared<IntensitySeries>(series.value());
  EXPECT_DOUBLE_EQ(*intensity_in_force(location, 1500), 100);
  EXPECT_DOUBLE_EQ(*intensity_in_force(location, 2500), 300);
  EXPECT_FALSE(intensity_in_force(location, 3500).has_value());  // a gap, no fallback
  location.series_fallback = IntensityFigure{250, 2024, "lifecycle", "average", "test"};
  EXPECT_DOUBLE_EQ(*intensity_in_force(location, 3500), 250);
  EXPECT_FALSE(intensity_in_force(ResolvedLocation{}, 1500).has_value());
}

}  // namespace
}  // namespace carbonmeter::metrics
