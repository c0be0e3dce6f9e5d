// GPU energy through the real loading and measuring code, against fake NVML and ROCm SMI
// libraries driven by a scripted state file.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "carbonmeter/tracker.hpp"
#include "sensors/gpu_meter.hpp"
#include "sensors/gpu_selection.hpp"
#include "sensors/nvml.hpp"
#include "sensors/registry.hpp"
#include "sensors/rocm_smi.hpp"
#include "sensors/sensor_test_util.hpp"
#include "support/fake_gpu.hpp"
#include "support/fake_root.hpp"

namespace carbonmeter {
namespace {

using testing::channel_names;
using ::testing::ElementsAre;
using testing::FakeGpuDevice;
using testing::FakeGpus;
using ::testing::HasSubstr;
using testing::read_channels;

GpuSelection all_gpus() { return select_gpus("", std::nullopt); }

// A GPU whose power reading is 0 W: the counter check then cannot find the counters below, which
// jump at once, implausible; tests of the check and of power integration set a power.
FakeGpuDevice gpu(unsigned index, unsigned long long energy_mj = 1000) {
  FakeGpuDevice device;
  device.index = index;
  device.energy_mj = energy_mj;
  device.power_mw = 0;
  return device;
}

void sleep_s(double seconds) { std::this_thread::sleep_for(std::chrono::duration<double>(seconds)); }

// The first read is the baseline; the counter check (power integration meanwhile) ends on the
// read that brings the elapsed time to 2 s. Counters are exact from then on.
void baseline_and_check(EnergySensor& sensor) {
  read_channels(sensor, 0.0);
  read_channels(sensor, GpuMeter::kCheckSeconds);
}

TEST(Nvml, CounterGivesExactEnergyPerDevice) {
  FakeGpus gpus(FAKE_NVML_PATH);
  gpus.devices = {gpu(0), gpu(1)};
  gpus.write();
  ProbeOutcome probe = probe_nvml(all_gpus());
  ASSERT_TRUE(probe.sensor) << probe.status.detail;
  EXPECT_THAT(channel_names(*probe.sensor), ElementsAre("gpu-0/gpu", "gpu-1/gpu"));
  EXPECT_EQ(probe.sensor->channels()[0].model, "NVIDIA H100 80GB HBM3");
  EXPECT_EQ(probe.sensor->channels()[1].uuid, "GPU-1");
  baseline_and_check(*probe.sensor);
  gpus.devices[0].energy_mj += 500'000;  // 500 J
  gpus.devices[1].energy_mj += 123'456;
  gpus.write();
  auto energy = read_channels(*probe.sensor, 1.0);
  EXPECT_DOUBLE_EQ(energy["gpu-0/gpu"], 500.0);
  EXPECT_DOUBLE_EQ(energy["gpu-1/gpu"], 123.456);
  EXPECT_EQ(probe.sensor->method(), "nvml-counter");
  EXPECT_EQ(probe.sensor->kind(), "measured counter");
  gpus.devices[0].energy_mj += 1'000;
  gpus.write();
  EXPECT_DOUBLE_EQ(read_channels(*probe.sensor, 1.0)["gpu-0/gpu"], 1.0);
}

TEST(Nvml, WithoutACounterPowerIsIntegrated) {
  FakeGpus gpus(FAKE_NVML_PATH);
  gpus.devices = {gpu(0)};
  gpus.devices[0].counter = false;
  gpus.devices[0].power_mw = 200'000;  // 200 W
  gpus.write();
  ProbeOutcome probe = probe_nvml(all_gpus());
  ASSERT_TRUE(probe.sensor);
  EXPECT_EQ(probe.sensor->method(), "nvml-power");
  EXPECT_EQ(probe.sensor->kind(), "integrated power");
  read_channels(*probe.sensor, 0.0);
  const auto start = std::chrono::steady_clock::now();
  sleep_s(0.5);
  const double energy = read_channels(*probe.sensor, 0.5)["gpu-0/gpu"];
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_NEAR(energy, 200.0 * elapsed, 200.0 * elapsed * 0.1);
}

TEST(Nvml, MissingEnergySymbolFallsBackToPower) {
  FakeGpus gpus(FAKE_NVML_NO_ENERGY_PATH);
  gpus.devices = {gpu(0)};
  gpus.write();
  ProbeOutcome probe = probe_nvml(all_gpus());
  ASSERT_TRUE(probe.sensor) << probe.status.detail;
  EXPECT_EQ(probe.sensor->method(), "nvml-power");
}

TEST(Nvml, ImplausibleCounterIsReplacedByIntegratedPower) {
  FakeGpus gpus(FAKE_NVML_PATH);
  gpus.devices = {gpu(0)};
  gpus.devices[0].power_mw = 250'000;
  gpus.write();
  ProbeOutcome probe = probe_nvml(all_gpus());
  ASSERT_TRUE(probe.sensor);
  read_channels(*probe.sensor, 0.0);
  const auto start = std::chrono::steady_clock::now();
  sleep_s(0.4);
  gpus.devices[0].energy_mj += 50'000'000;  // 50 kJ while power says 250 W
  gpus.write();
  const double energy = read_channels(*probe.sensor, GpuMeter::kCheckSeconds)["gpu-0/gpu"];
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_NEAR(energy, 250.0 * elapsed, 250.0 * elapsed * 0.15);
  EXPECT_EQ(probe.sensor->method(), "nvml-power");
  auto notes = probe.sensor->take_notes();
  ASSERT_FALSE(notes.empty());
  EXPECT_THAT(notes[0], HasSubstr("implausible"));
}

TEST(Nvml, ACounterThatFailsBrieflyLosesNothing) {
  FakeGpus gpus(FAKE_NVML_PATH);
  gpus.devices = {gpu(0)};
  gpus.write();
  ProbeOutcome probe = probe_nvml(all_gpus());
  ASSERT_TRUE(probe.sensor);
  baseline_and_check(*probe.sensor);
  gpus.devices[0].counter = false;  // the counter read fails for a while
  gpus.write();
  EXPECT_DOUBLE_EQ(read_channels(*probe.sensor, 1.0)["gpu-0/gpu"], 0.0);
  gpus.devices[0].counter = true;
  gpus.devices[0].energy_mj += 50'000;
  gpus.write();
  EXPECT_DOUBLE_EQ(read_channels(*probe.sensor, 1.0)["gpu-0/gpu"], 50.0);  // the gap is covered
  EXPECT_EQ(probe.sensor->method(), "nvml-counter");
}

TEST(Nvml, ProcessThatEndedBeforeTheLastReadKeepsItsShare) {
  FakeGpus gpus(FAKE_NVML_PATH);
  gpus.devices = {gpu(0)};
  const unsigned me = static_cast<unsigned>(::getpid());
  gpus.processes = {{0, me, 20}, {0, 424242, 20}};
  gpus.write();
  ProbeOutcome probe = probe_nvml(all_gpus());
  ASSERT_TRUE(probe.sensor);
  std::vector<pid_t> tree{static_cast<pid_t>(me)};
  SampleContext context;
  context.tree_pids = &tree;
  std::vector<ChannelReading> out(1);
  probe.sensor->read(context, out);
  EXPECT_DOUBLE_EQ(*out[0].process_share, 0.5);
  gpus.processes = {{0, 424242, 20}};  // the tree's process has ended
  gpus.write();
  probe.sensor->flush();
  context.elapsed_s = 1.0;
  probe.sensor->read(context, out);
  EXPECT_DOUBLE_EQ(*out[0].process_share, 0.5);
}

TEST(Nvml, EightGpus) {
  FakeGpus gpus(FAKE_NVML_PATH);
  for (unsigned i = 0; i < 8; ++i) gpus.devices.push_back(gpu(i, 1000 * (i + 1)));
  gpus.write();
  ProbeOutcome probe = probe_nvml(all_gpus());
  ASSERT_TRUE(probe.sensor);
  ASSERT_EQ(probe.sensor->channels().size(), 8u);
  baseline_and_check(*probe.sensor);
  for (unsigned i = 0; i < 8; ++i) gpus.devices[i].energy_mj += 10'000 * (i + 1);
  gpus.write();
  auto energy = read_channels(*probe.sensor, 1.0);
  for (unsigned i = 0; i < 8; ++i)
    EXPECT_DOUBLE_EQ(energy["gpu-" + std::to_string(i) + "/gpu"], 10.0 * (i + 1));
}

TEST(Nvml, GpuVanishingMidRunIsNotedAndTheOthersGoOn) {
  FakeGpus gpus(FAKE_NVML_PATH);
  gpus.devices = {gpu(0), gpu(1)};
  gpus.write();
  ProbeOutcome probe = probe_nvml(all_gpus());
  ASSERT_TRUE(probe.sensor);
  baseline_and_check(*probe.sensor);
  gpus.devices[0].lost = true;
  gpus.devices[1].energy_mj += 40'000;
  gpus.write();
  auto energy = read_channels(*probe.sensor, 1.0);
  EXPECT_DOUBLE_EQ(energy["gpu-0/gpu"], 0.0);
  EXPECT_DOUBLE_EQ(energy["gpu-1/gpu"], 40.0);
  EXPECT_THAT(probe.sensor->take_notes(), ::testing::Contains(HasSubstr("gpu-0 stopped answering")));
  EXPECT_DOUBLE_EQ(read_channels(*probe.sensor, 1.0)["gpu-0/gpu"], 0.0);
}

TEST(GpuSelection, CudaVisibleDevicesIndicesAndUuids) {
  EXPECT_TRUE(select_gpus("", std::nullopt).all);
  GpuSelection uuids = select_gpus("", std::string("GPU-b, GPU-a"));
  EXPECT_FALSE(uuids.all);
  EXPECT_THAT(uuids.ids, ElementsAre("GPU-b", "GPU-a"));
  EXPECT_THAT(select_gpus("", std::string("1,0,bogus,2")).ids,
              ElementsAre("1", "0"));  // cut at the invalid one
  EXPECT_TRUE(select_gpus("", std::string("")).ids.empty());
  EXPECT_TRUE(select_gpus("", std::string("-1")).ids.empty());
  EXPECT_THAT(select_gpus("3", std::string("0")).ids, ElementsAre("3"));  // --gpu-ids wins
}

TEST(Nvml, SelectionByUuidKeepsItsOrder) {
  FakeGpus gpus(FAKE_NVML_PATH);
  gpus.devices = {gpu(0), gpu(1), gpu(2)};
  gpus.devices[0].uuid = "GPU-aaaa";
  gpus.devices[2].uuid = "GPU-cccc";
  gpus.write();
  ProbeOutcome probe = probe_nvml(select_gpus("", std::string("GPU-cccc,GPU-aaaa")));
  ASSERT_TRUE(probe.sensor);
  EXPECT_THAT(channel_names(*probe.sensor), ElementsAre("gpu-2/gpu", "gpu-0/gpu"));
  ProbeOutcome none = probe_nvml(select_gpus("", std::string("")));
  EXPECT_FALSE(none.sensor);
  EXPECT_THAT(none.status.detail, HasSubstr("hides every GPU"));
  ProbeOutcome unknown = probe_nvml(select_gpus("GPU-zzzz", std::nullopt));
  EXPECT_FALSE(unknown.sensor);
  EXPECT_THAT(unknown.status.detail, HasSubstr("names no GPU"));
}

TEST(Nvml, MigInstanceMeasuresItsParentGpuAndSaysSo) {
  FakeGpus gpus(FAKE_NVML_PATH);
  gpus.devices = {gpu(0), gpu(1)};
  gpus.devices[1].mig = true;
  gpus.devices[1].mig_uuid = "MIG-1234";
  gpus.write();
  ProbeOutcome probe = probe_nvml(select_gpus("", std::string("MIG-1234")));
  ASSERT_TRUE(probe.sensor) << probe.status.detail;
  EXPECT_THAT(channel_names(*probe.sensor), ElementsAre("gpu-1/gpu"));
  EXPECT_THAT(probe.notes, ::testing::Contains(HasSubstr("MIG mode")));
}

TEST(Nvml, MissingLibraryOrSymbolIsAOneLineNoteNeverACrash) {
  FakeGpus gpus("/nonexistent/libnvidia-ml.so.1");
  ProbeOutcome missing = probe_nvml(all_gpus());
  EXPECT_FALSE(missing.sensor);
  EXPECT_THAT(missing.status.detail, HasSubstr("no NVIDIA driver library"));
  ::setenv("CARBONMETER_NVML_LIBRARY", FAKE_NVML_NO_INIT_PATH, 1);
  ProbeOutcome no_init = probe_nvml(all_gpus());
  EXPECT_FALSE(no_init.sensor);
  EXPECT_THAT(no_init.status.detail, HasSubstr("lacks nvmlInit_v2"));
  testing::FakeRoot root("intel_server_1s");
  auto set = probe_sensors({"", false, ""});
  ASSERT_TRUE(set.ok());
  EXPECT_EQ(set.value().methods[Component::gpu].method, "none");
  EXPECT_THAT(set.value().notes, ::testing::Contains(HasSubstr("GPU energy: none")));
}

TEST(Nvml, ProcessShareFromUtilisationSamplesAndContexts) {
  FakeGpus gpus(FAKE_NVML_PATH);
  gpus.devices = {gpu(0), gpu(1), gpu(2)};
  gpus.devices[2].procutil = false;
  const unsigned me = static_cast<unsigned>(::getpid());
  gpus.processes = {{0, me, 30}, {0, 424242, 10}, {1, 424242, 50}, {2, me, 0}, {2, 434343, 0}};
  gpus.write();
  ProbeOutcome probe = probe_nvml(all_gpus());
  ASSERT_TRUE(probe.sensor);
  std::vector<pid_t> tree{static_cast<pid_t>(me)};
  SampleContext context;
  context.tree_pids = &tree;
  context.elapsed_s = 1.0;
  std::vector<ChannelReading> out(3);
  probe.sensor->read(context, out);
  ASSERT_TRUE(out[0].process_share && out[1].process_share && out[2].process_share);
  EXPECT_DOUBLE_EQ(*out[0].process_share, 0.75);  // 30 of 40 % SM
  EXPECT_DOUBLE_EQ(*out[1].process_share, 0.0);   // no context of the tree on gpu-1
  EXPECT_DOUBLE_EQ(*out[2].process_share, 0.5);   // no samples: one of two contexts
}

TEST(RocmSmi, CounterPowerAndMissingLibrary) {
  FakeGpus gpus(FAKE_ROCM_SMI_PATH, /*rocm=*/true);
  gpus.devices = {gpu(0), gpu(1)};
  gpus.devices[0].name = "AMD Instinct MI300X";
  gpus.devices[1].counter = false;
  gpus.write();
  ProbeOutcome probe = probe_rocm_smi(all_gpus());
  ASSERT_TRUE(probe.sensor) << probe.status.detail;
  EXPECT_EQ(probe.sensor->channel_method(0), "rocm-smi-counter");
  EXPECT_EQ(probe.sensor->channel_method(1), "rocm-smi-power");
  EXPECT_EQ(probe.sensor->channels()[0].model, "AMD Instinct MI300X");
  baseline_and_check(*probe.sensor);
  gpus.devices[0].energy_mj += 300'000;
  gpus.write();
  EXPECT_NEAR(read_channels(*probe.sensor, 1.0)["gpu-0/gpu"], 300.0, 0.01);
  ::setenv("CARBONMETER_ROCM_SMI_LIBRARY", "/nonexistent/librocm_smi64.so", 1);
  ProbeOutcome missing = probe_rocm_smi(all_gpus());
  EXPECT_FALSE(missing.sensor);
  EXPECT_THAT(missing.status.detail, HasSubstr("no ROCm SMI library"));
}

// The whole path: a Tracker (machine scope) with two fake GPUs writes energy_j.gpu and the gpus list.
TEST(GpuReport, TrackerReportsGpusAndWindowsCallTheSyncHook) {
  testing::FakeRoot root("intel_server_1s");
  FakeGpus gpus(FAKE_NVML_PATH);
  gpus.devices = {gpu(0), gpu(1)};
  gpus.devices[0].power_mw = 700'000;  // a run under 2 s is measured by integrated power
  gpus.devices[1].power_mw = 300'000;
  gpus.write();
  TrackerOptions options;
  options.scope = Scope::machine;
  options.interval_s = 3600;
  int syncs = 0;
  options.window_sync = [&] { ++syncs; };
  Tracker tracker(options);
  ASSERT_TRUE(tracker.start().ok());
  ASSERT_TRUE(tracker.begin_window("step").ok());
  sleep_s(0.1);  // 100 J in 0.1 s: a plausible 1 kW for two GPUs
  gpus.devices[0].energy_mj += 70'000;
  gpus.devices[1].energy_mj += 30'000;
  gpus.write();
  auto step = tracker.end_window("step");
  ASSERT_TRUE(step.ok());
  EXPECT_EQ(syncs, 2);

  EXPECT_NEAR(step.value().energy_j[Component::gpu], 1000.0 * step.value().duration_s,
              100.0 * step.value().duration_s + 5.0);  // the window gets its joules at once
  Measurement m = tracker.stop();
  EXPECT_NEAR(m.energy_j[Component::gpu], 1000.0 * m.duration_s, 100.0 * m.duration_s + 5.0);
  auto report = nlohmann::json::parse(tracker.report_json());
  EXPECT_DOUBLE_EQ(report["energy_j"]["gpu"].get<double>(), m.energy_j[Component::gpu]);
  ASSERT_EQ(report["gpus"].size(), 2u);
  EXPECT_EQ(report["gpus"][0]["index"], 0);
  EXPECT_EQ(report["gpus"][0]["uuid"], "GPU-0");
  EXPECT_EQ(report["gpus"][0]["name"], "NVIDIA H100 80GB HBM3");
  EXPECT_NEAR(report["gpus"][0]["energy_j"].get<double>(), 700.0 * m.duration_s, 70.0 * m.duration_s + 5.0);
  EXPECT_EQ(report["gpus"][1]["method"], "nvml-counter");
  EXPECT_DOUBLE_EQ(report["gpus"][1]["share"].get<double>(), 1.0);
  EXPECT_TRUE(report["gpus"][0].contains("avg_power_w"));
}

// Process scope: the tree (this test process) gets its share of each GPU from NVML's samples.
TEST(GpuReport, ProcessScopeAppliesThePerGpuShare) {
  testing::FakeRoot root("intel_server_1s", false);
  FakeGpus gpus(FAKE_NVML_PATH);
  gpus.devices = {gpu(0), gpu(1)};
  gpus.devices[0].power_mw = 400'000;
  gpus.devices[1].power_mw = 400'000;
  const unsigned me = static_cast<unsigned>(::getpid());
  gpus.processes = {{0, me, 30}, {0, 424242, 10}, {1, 424242, 50}};
  gpus.write();
  TrackerOptions options;  // scope process, root = this process
  options.interval_s = 3600;
  Tracker tracker(options);
  ASSERT_TRUE(tracker.start().ok());
  sleep_s(0.1);
  gpus.devices[0].energy_mj += 40'000;
  gpus.devices[1].energy_mj += 40'000;
  gpus.write();
  Measurement m = tracker.stop();
  const double machine = m.machine_energy_j[Component::gpu];
  EXPECT_NEAR(machine, 800.0 * m.duration_s, 80.0 * m.duration_s + 5.0);
  auto report = nlohmann::json::parse(tracker.report_json());
  const double gpu0 = report["gpus"][0]["machine_energy_j"].get<double>();
  EXPECT_NEAR(m.energy_j[Component::gpu], gpu0 * 0.75, 1e-6);  // 75 % of gpu-0, nothing of gpu-1
  EXPECT_DOUBLE_EQ(report["gpus"][0]["share"].get<double>(), 0.75);
  EXPECT_DOUBLE_EQ(report["gpus"][1]["share"].get<double>(), 0.0);
}

}  // namespace
}  // namespace carbonmeter
