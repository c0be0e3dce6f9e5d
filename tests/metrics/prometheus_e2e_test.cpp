// `--prometheus` end to end: carbonmeter monitor and run serve /metrics on loopback, a real
// Prometheus server scrapes them, and its HTTP API gives back the energy the fake RAPL counters
// were driven by.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "support/fake_root.hpp"
#include "support/process_guard.hpp"
#include "support/run_cli.hpp"

namespace carbonmeter {
namespace {

using testing::FakeRoot;
using ::testing::HasSubstr;
using testing::ProcessGuard;

constexpr const char* kPrometheus = "/usr/bin/prometheus";

double unix_now_s() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Drives the package counter (intel-rapl:0) at power_w by the wall clock from now on: the energy
// at Unix time t is power_w × (t − start_unix_s()).
class CounterDriver {
 public:
  CounterDriver(const FakeRoot& root, double power_w) : root_(root), power_w_(power_w) {
    write(0.0);
    start_unix_s_ = unix_now_s();
    thread_ = std::thread([this] {
      while (driving_) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        write(unix_now_s() - start_unix_s_);
      }
    });
  }
  ~CounterDriver() {
    driving_ = false;
    thread_.join();
  }
  double start_unix_s() const { return start_unix_s_; }

 private:
  void write(double elapsed_s) {
    root_.set_energy_uj("intel-rapl:0", 100'000'000 + static_cast<std::uint64_t>(elapsed_s * power_w_ * 1e6));
  }
  const FakeRoot& root_;
  double power_w_;
  double start_unix_s_ = 0.0;
  std::atomic<bool> driving_{true};
  std::thread thread_;
};

// A real Prometheus on loopback, scraping `targets` every second, with its storage in a temporary
// folder; killed with the object.
class PrometheusServer {
 public:
  PrometheusServer(const std::string& dir, const std::vector<int>& target_ports)
      : port_(testing::free_loopback_port()) {
    std::string targets;
    for (int port : target_ports)
      targets += (targets.empty() ? "'127.0.0.1:" : ", '127.0.0.1:") + std::to_string(port) + "'";
    // honor_labels: carbonmeter's own `job` label (the job id) is kept, not renamed exported_job.
    testing::write_file(dir + "/prometheus.yml",
                        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                        "scrape_configs:\n  - job_name: carbonmeter\n    honor_labels: true\n"
                        "    static_configs:\n      - targets: [" +
                            targets + "]\n");
    process_ = std::make_unique<ProcessGuard>(std::vector<std::string>{
        kPrometheus, "--config.file=" + dir + "/prometheus.yml", "--storage.tsdb.path=" + dir + "/tsdb",
        "--web.listen-address=127.0.0.1:" + std::to_string(port_), "--log.level=warn"});
  }

  // The vector result of an instant query ([] when nothing matches yet).
  nlohmann::json query(const std::string& promql) const {
    httplib::Client client("127.0.0.1", port_);
    client.set_connection_timeout(2);
    client.set_read_timeout(5);
    auto response = client.Get("/api/v1/query", httplib::Params{{"query", promql}}, httplib::Headers{});
    if (!response || response->status != 200) return nlohmann::json::array();
    auto body = nlohmann::json::parse(response->body, nullptr, false);
    if (body.is_discarded() || body.value("status", "") != "success") return nlohmann::json::array();
    return body["data"]["result"];
  }

  // Waits until the query gives at least `count` series; the result, or [] at the timeout.
  nlohmann::json wait_for(const std::string& promql, std::size_t count, double timeout_s) const {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
    while (std::chrono::steady_clock::now() < deadline) {
      nlohmann::json result = query(promql);
      if (result.size() >= count) return result;
      if (!process_->running()) return nlohmann::json::array();
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return nlohmann::json::array();
  }

  // Waits until the server says it is ready (its storage open, scraping about to start).
  bool wait_ready(double timeout_s) const {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
    httplib::Client client("127.0.0.1", port_);
    client.set_connection_timeout(1);
    while (std::chrono::steady_clock::now() < deadline && process_->running()) {
      auto response = client.Get("/-/ready");
      if (response && response->status == 200) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }

  std::string log() const { return process_->err(); }

 private:
  int port_;
  std::unique_ptr<ProcessGuard> process_;
};

// A temporary folder, removed with the object.
struct TempDir {
  std::string path;
  TempDir() {
    char pattern[] = "/tmp/carbonmeter-prometheus-XXXXXX";
    path = ::mkdtemp(pattern);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

void require_prometheus() {
  ASSERT_TRUE(std::filesystem::exists(kPrometheus))
      << kPrometheus << " is missing: run scripts/bootstrap (it installs the Debian package prometheus), "
      << "then run the tests again";
}

// Waits until http://127.0.0.1:port/metrics answers; its body ("" at the timeout).
httplib::Result wait_for_metrics(int port, ProcessGuard& process, double timeout_s) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(1);
  while (true) {
    auto response = client.Get("/metrics");
    if ((response && response->status == 200 && !response->body.empty()) ||
        std::chrono::steady_clock::now() >= deadline || !process.running())
      return response;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

const nlohmann::json* find_series(const nlohmann::json& result, const std::string& component,
                                  const std::string& domain) {
  for (const nlohmann::json& series : result)
    if (series["metric"].value("component", "") == component &&
        series["metric"].value("domain", "") == domain)
      return &series;
  return nullptr;
}

TEST(PrometheusEndToEnd, MonitorIsScrapedWithTheEnergyTheCountersWereDrivenBy) {
  require_prometheus();
  FakeRoot root("intel_server_1s", false);
  TempDir dir;
  constexpr double kPowerW = 100.0;
  CounterDriver driver(root, kPowerW);
  const int metrics_port = testing::free_loopback_port();
  ProcessGuard monitor({CARBONMETER_CLI_PATH, "monitor", "--interval", "0.1", "--prometheus",
                        "127.0.0.1:" + std::to_string(metrics_port), "--carbon-intensity", "400", "--pue",
                        "1.5", "--job-id", "job \"A\"", "--node-name", "node-1"},
                       testing::hermetic_cli_env());
  auto direct = wait_for_metrics(metrics_port, monitor, 10);
  ASSERT_TRUE(direct && direct->status == 200) << monitor.err();
  const double ready_unix_s = unix_now_s();  // the baseline was read before this
  EXPECT_EQ(direct->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_THAT(direct->body, HasSubstr("# TYPE carbonmeter_energy_joules_total counter\n"));
  EXPECT_THAT(direct->body, HasSubstr("# TYPE carbonmeter_power_watts gauge\n"));
  EXPECT_THAT(direct->body, HasSubstr("# TYPE carbonmeter_emissions_grams_total counter\n"));
  EXPECT_THAT(direct->body, HasSubstr("carbonmeter_carbon_intensity_grams_per_kwh{"));
  EXPECT_THAT(
      direct->body,
      HasSubstr(R"(job="job \"A\"",node="node-1",component="cpu",device="package-0",domain="package"})"));
  EXPECT_EQ(direct->body.find("rank="), std::string::npos);

  PrometheusServer prometheus(dir.path, {metrics_port});
  // Wait for a scrape taken at least 2 s after start, so that the energy is well above the jitter.
  nlohmann::json energy;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    energy = prometheus.wait_for("carbonmeter_energy_joules_total", 2, 5);
    const nlohmann::json* package = find_series(energy, "cpu", "package");
    if (package && (*package)["value"][0].get<double>() > ready_unix_s + 2) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  ASSERT_TRUE(monitor.running()) << monitor.err();
  const nlohmann::json* package = find_series(energy, "cpu", "package");
  ASSERT_NE(package, nullptr) << energy.dump() << "\n" << prometheus.log();
  const nlohmann::json& labels = (*package)["metric"];
  EXPECT_EQ(labels["device"], "package-0");
  EXPECT_EQ(labels["job"], "job \"A\"");
  EXPECT_EQ(labels["node"], "node-1");
  EXPECT_EQ(labels["project"], "monitor");
  EXPECT_FALSE(labels.value("run_id", "").empty());
  // The value Prometheus scraped at its timestamp: the counter's energy since the baseline, less
  // at most a sample interval and the feed's batching (0.1 s each) and scheduling slack.
  const double scraped_at = (*package)["value"][0].get<double>();
  const double joules = std::stod((*package)["value"][1].get<std::string>());
  EXPECT_LE(joules, kPowerW * (scraped_at - driver.start_unix_s() + 0.05));
  EXPECT_GE(joules, kPowerW * (scraped_at - ready_unix_s - 0.6));
  const nlohmann::json* dram = find_series(energy, "ram", "dram");
  ASSERT_NE(dram, nullptr) << energy.dump();
  EXPECT_EQ((*dram)["value"][1], "0");  // its counter stood still

  // Emissions and intensity from the same scrape: energy × PUE × intensity.
  const nlohmann::json emissions = prometheus.query("carbonmeter_emissions_grams_total");
  const nlohmann::json total = prometheus.query("sum(carbonmeter_energy_joules_total)");
  const nlohmann::json intensity = prometheus.query("carbonmeter_carbon_intensity_grams_per_kwh");
  ASSERT_EQ(emissions.size(), 1u);
  ASSERT_EQ(total.size(), 1u);
  ASSERT_EQ(intensity.size(), 1u);
  EXPECT_EQ(intensity[0]["value"][1], "400");
  const double total_j = std::stod(total[0]["value"][1].get<std::string>());
  EXPECT_NEAR(std::stod(emissions[0]["value"][1].get<std::string>()), total_j / 3.6e6 * 1.5 * 400,
              1e-9 * total_j);
  // And the power gauge is the driven 100 W.
  const nlohmann::json power = prometheus.query(R"(carbonmeter_power_watts{domain="package"})");
  ASSERT_EQ(power.size(), 1u);
  EXPECT_NEAR(std::stod(power[0]["value"][1].get<std::string>()), kPowerW, 25);

  monitor.signal(SIGINT);
  EXPECT_EQ(monitor.wait(10), 0) << monitor.err();
}

// monitor --per-cgroup, scraped by a real Prometheus: a docker container and a Kubernetes pod's
// container in a fake cgroup v2 hierarchy, the docker one busy twice as long as the pod's.
TEST(PrometheusEndToEnd, PerCgroupSeriesCarryTheContainersLabels) {
  require_prometheus();
  FakeRoot root("intel_server_1s");
  TempDir dir;
  const std::string hierarchy = root.path() + "/cg2";
  root.write("proc/self/mountinfo", "26 25 0:23 / " + hierarchy + " rw - cgroup2 cgroup2 rw\n");
  const std::string docker_id(64, 'd'), pod_id(64, 'e');
  const std::string docker = hierarchy + "/system.slice/docker-" + docker_id + ".scope";
  const std::string pod =
      hierarchy + "/kubepods.slice/kubepods-pod1f2e3d4c_5b6a.slice/cri-containerd-" + pod_id + ".scope";
  auto set_usage = [](const std::string& folder, std::uint64_t usec) {
    testing::write_file(folder + "/cpu.stat", "usage_usec " + std::to_string(usec) + "\n");
    testing::write_file(folder + "/memory.stat", "anon 0\nfile_mapped 0\n");
  };
  set_usage(docker, 0);
  set_usage(pod, 0);
  CounterDriver driver(root, 100.0);
  std::atomic<bool> busy{true};
  std::thread load([&] {  // every 10 ms: 20 ms busy on the machine, 10 in docker, 5 in the pod
    for (std::uint64_t step = 1; busy; ++step) {
      set_usage(docker, step * 10'000);
      set_usage(pod, step * 5'000);
      root.set_cpu_ticks(1000 + 2 * step, 8000);
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  });
  const int metrics_port = testing::free_loopback_port();
  ProcessGuard monitor({CARBONMETER_CLI_PATH, "monitor", "--per-cgroup", "--interval", "0.1", "--prometheus",
                        "127.0.0.1:" + std::to_string(metrics_port)},
                       testing::hermetic_cli_env());
  auto direct = wait_for_metrics(metrics_port, monitor, 10);
  ASSERT_TRUE(direct && direct->status == 200) << monitor.err();
  EXPECT_THAT(direct->body, HasSubstr("# TYPE carbonmeter_cgroup_energy_joules_total counter\n"));

  PrometheusServer prometheus(dir.path, {metrics_port});
  nlohmann::json cpu;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    cpu = prometheus.wait_for(R"(carbonmeter_cgroup_energy_joules_total{component="cpu"} > 30)", 2, 5);
    if (cpu.size() == 2) break;
  }
  busy = false;
  load.join();
  ASSERT_EQ(cpu.size(), 2u) << cpu.dump() << "\n" << monitor.err() << prometheus.log();
  std::map<std::string, const nlohmann::json*> by_runtime;
  for (const nlohmann::json& series : cpu) by_runtime[series["metric"].value("runtime", "")] = &series;
  ASSERT_TRUE(by_runtime.count("docker") && by_runtime.count("containerd")) << cpu.dump();
  const nlohmann::json& docker_labels = (*by_runtime["docker"])["metric"];
  EXPECT_EQ(docker_labels["container_id"], docker_id);
  EXPECT_FALSE(docker_labels.contains("pod_uid"));
  const nlohmann::json& pod_labels = (*by_runtime["containerd"])["metric"];
  EXPECT_EQ(pod_labels["container_id"], pod_id);
  EXPECT_EQ(pod_labels["pod_uid"], "1f2e3d4c-5b6a");
  const double docker_j = std::stod((*by_runtime["docker"])["value"][1].get<std::string>());
  const double pod_j = std::stod((*by_runtime["containerd"])["value"][1].get<std::string>());
  EXPECT_GT(docker_j / pod_j, 1.4);  // 2 by construction; the sampler's timing blurs it a little
  EXPECT_LT(docker_j / pod_j, 2.8);
  monitor.signal(SIGINT);
  EXPECT_EQ(monitor.wait(10), 0) << monitor.err();
}

TEST(PrometheusEndToEnd, RunServesItsMetricsWhileTheCommandRuns) {
  require_prometheus();
  FakeRoot root("intel_server_1s", false);
  TempDir dir;
  CounterDriver driver(root, 50.0);
  const int metrics_port = testing::free_loopback_port();
  PrometheusServer prometheus(dir.path, {metrics_port});
  ASSERT_TRUE(prometheus.wait_ready(30)) << prometheus.log();
  auto env = testing::hermetic_cli_env();
  env["SLURM_JOB_ID"] = "777";
  env["SLURM_PROCID"] = "3";
  env["SLURM_NTASKS"] = "4";
  ProcessGuard run(
      {CARBONMETER_CLI_PATH, "run", "--scope", "machine", "--interval", "0.1", "--prometheus",
       "127.0.0.1:" + std::to_string(metrics_port), "--carbon-intensity", "250", "--project-name", "bert",
       "--output-dir", dir.path, "--json", dir.path + "/run.json", "--", "sleep", "6"},
      env);
  const nlohmann::json energy = prometheus.wait_for(R"(carbonmeter_energy_joules_total{job="777"})", 1, 30);
  ASSERT_FALSE(energy.empty()) << run.err() << "\n" << prometheus.log();
  const nlohmann::json& labels = energy[0]["metric"];
  EXPECT_EQ(labels["project"], "bert");
  EXPECT_EQ(labels["rank"], "3");
  EXPECT_FALSE(labels.value("node", "").empty());
  const nlohmann::json emissions = prometheus.query(R"(carbonmeter_emissions_grams_total{job="777"})");
  ASSERT_EQ(run.wait(20), 0) << run.err();
  ASSERT_EQ(emissions.size(), 1u);
  const auto report = nlohmann::json::parse(testing::slurp(dir.path + "/run.json"));
  EXPECT_EQ(labels["run_id"], report["run_id"]);
  EXPECT_EQ(report["job"]["id"], "777");
  // What was scraped is part of the run's final energy.
  EXPECT_LE(std::stod(energy[0]["value"][1].get<std::string>()),
            report["energy_j"]["cpu"].get<double>() + 1e-6);
  EXPECT_LE(std::stod(emissions[0]["value"][1].get<std::string>()),
            report["emissions_g"].get<double>() + 1e-9);
}

TEST(PrometheusEndToEnd, BadAddressIsUsageAndAPortInUseIsFatal) {
  FakeRoot root("intel_server_1s", false);
  testing::CliOutcome bad =
      testing::run_carbonmeter({"monitor", "--duration", "0.1", "--prometheus", "localhost"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_THAT(bad.err, HasSubstr("--prometheus 'localhost' has no port"));

  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length), 0);
  const std::string busy = "127.0.0.1:" + std::to_string(ntohs(address.sin_port));
  testing::CliOutcome monitor =
      testing::run_carbonmeter({"monitor", "--duration", "5", "--prometheus", busy});
  EXPECT_EQ(monitor.exit_code, 1);
  EXPECT_THAT(monitor.err, HasSubstr("cannot listen on " + busy + ": the port is in use"));
  testing::CliOutcome run = testing::run_carbonmeter(
      {"run", "--prometheus", busy, "--output-dir", root.path(), "--", "touch", root.path() + "/ran"});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.err, HasSubstr("the port is in use"));
  EXPECT_FALSE(std::filesystem::exists(root.path() + "/ran"));
  ::close(fd);
}

}  // namespace
}  // namespace carbonmeter
