// Crash safety of the server's database: `carbonmeter serve` is killed with SIGKILL while several
// clients post sample batches; with the server dead, the database is opened directly and must be
// consistent (each run's sums equal the sums of its stored samples, run_days equals the samples
// summed per UTC day); the server is restarted on the same database, the clients resend what was
// not acknowledged, and in the end every sample is stored once and the sums are still exact.
// SQLite and PostgreSQL (docs/reliability.md).
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <random>
#include <thread>

#include "api_fixture.hpp"
#include "server/storage.hpp"

namespace carbonmeter::testing {
namespace {

using nlohmann::json;

constexpr int kRuns = 4;
constexpr int kSamplesPerRun = 12000;  // one minute apart: more than eight UTC days
constexpr int kBatch = 200;            // the uploader sends up to 1000
constexpr double kT0UnixS = 1717200000.0;

// Energies that are multiples of 1/4: their sums are exact in double, so equality is exact.
double cpu_j(int run, int seq) { return 1.0 + 0.25 * ((seq * 7 + run) % 13); }
double ram_j(int run, int seq) { return 0.5 + 0.25 * ((seq + run) % 3); }
double emissions_g(int run, int seq) { return 0.125 * ((seq + 2 * run) % 5); }

json batch(int run, int first) {
  json samples = json::array();
  for (int seq = first; seq < first + kBatch; ++seq)
    samples.push_back({{"seq", seq},
                       {"t_unix_s", kT0UnixS + 60.0 * (seq + 1)},
                       {"dt_s", 60.0},
                       {"energy_j", {{"cpu", cpu_j(run, seq)}, {"ram", ram_j(run, seq)}, {"gpu", 0.0}}},
                       {"emissions_g", emissions_g(run, seq)},
                       {"intensity_g_per_kwh", 300.0}});
  return {{"samples", samples}};
}

std::string run_id(int run) { return "crash-run-" + std::to_string(run); }

class CrashConsistencyTest : public ApiTest {
 protected:
  // The database, read directly: every run's stored sums against its stored samples, and the
  // per-day table against the samples summed per day. Returns the number of samples stored.
  std::int64_t expect_consistent(const std::string& when) {
    SCOPED_TRACE(when);
    // The killed server's last statement may still be running; read once it has ended, else one
    // read (a run's sums) may come before its commit and the next (its samples) after it.
    EXPECT_EQ(database_->wait_for_sessions_to_end(std::chrono::seconds(30)), "");
    auto opened = server::open_storage(database_->url());
    if (!opened) {
      ADD_FAILURE() << opened.error().message;
      return 0;
    }
    server::Storage& storage = *opened.value();
    auto project = storage.find_project("crash");
    if (!project || !project.value()) {
      ADD_FAILURE() << "project missing";
      return 0;
    }
    std::map<std::int64_t, std::array<double, 4>> by_day;  // cpu, ram, emissions, count
    std::int64_t stored = 0;
    for (int run = 0; run < kRuns; ++run) {
      auto record = storage.find_run(run_id(run));
      if (!record || !record.value()) continue;  // not registered before the kill
      auto samples = storage.samples(run_id(run), -1, 1'000'000);
      if (!samples) {
        ADD_FAILURE() << samples.error().message;
        return 0;
      }
      double cpu = 0, ram = 0, gpu = 0, emissions = 0;
      for (const server::SampleRecord& s : samples.value()) {
        EXPECT_EQ(s.energy_cpu_j, cpu_j(run, static_cast<int>(s.seq))) << run << " " << s.seq;
        cpu += s.energy_cpu_j;
        ram += s.energy_ram_j;
        gpu += s.energy_gpu_j;
        emissions += s.emissions_g;
        auto& day = by_day[static_cast<std::int64_t>(std::floor(s.t_unix_s / 86400.0))];
        day[0] += s.energy_cpu_j;
        day[1] += s.energy_ram_j;
        day[2] += s.emissions_g;
        day[3] += 1;
      }
      const server::RunRecord& r = *record.value();
      EXPECT_EQ(r.sample_count, static_cast<std::int64_t>(samples.value().size())) << run_id(run);
      EXPECT_EQ(r.energy_cpu_j, cpu) << run_id(run);
      EXPECT_EQ(r.energy_ram_j, ram) << run_id(run);
      EXPECT_EQ(r.energy_gpu_j, gpu) << run_id(run);
      EXPECT_EQ(r.emissions_g, emissions) << run_id(run);
      stored += r.sample_count;
    }
    auto days = storage.daily_totals(project.value()->id, std::nullopt);
    if (!days) {
      ADD_FAILURE() << days.error().message;
      return stored;
    }
    std::size_t matched = 0;
    for (const server::DayTotals& day : days.value()) {
      const auto it = by_day.find(day.day);
      if (it == by_day.end()) {
        EXPECT_EQ(day.sample_count, 0) << "run_days has day " << day.day << " with no sample";
        continue;
      }
      ++matched;
      EXPECT_EQ(day.energy_cpu_j, it->second[0]) << "day " << day.day;
      EXPECT_EQ(day.energy_ram_j, it->second[1]) << "day " << day.day;
      EXPECT_EQ(day.emissions_g, it->second[2]) << "day " << day.day;
      EXPECT_EQ(day.sample_count, static_cast<std::int64_t>(it->second[3])) << "day " << day.day;
    }
    EXPECT_EQ(matched, by_day.size()) << "a day of samples is missing from run_days";
    return stored;
  }
};

TEST_P(CrashConsistencyTest, KilledDuringIngestTheDatabaseStaysConsistent) {
  start();
  const int port = server_->port();
  const std::string token = project_with_token("crash");
  std::atomic<int> port_now{port};
  std::atomic<bool> server_up{true};

  // Clients as the uploader behaves: register, then send batches in order, each until the server
  // acknowledges it (a batch the dead server took part of is resent whole: a replay).
  std::vector<std::thread> clients;
  std::atomic<int> finished{0};
  std::atomic<int> acknowledged{0};  // requests the server answered, since the test began
  for (int run = 0; run < kRuns; ++run)
    clients.emplace_back([&, run] {
      auto send = [&](const std::string& path, const json& body) {
        const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
        while (std::chrono::steady_clock::now() < give_up) {
          httplib::Client client("127.0.0.1", port_now.load());
          client.set_connection_timeout(1);
          client.set_read_timeout(5);
          const Reply reply = post(client, path, body, token);
          if (reply.status == 200 || reply.status == 201) {
            ++acknowledged;
            return true;
          }
          if (reply.status >= 400 && reply.status < 500) {  // a refusal: resending will not help
            ADD_FAILURE() << path << ": " << reply.status << " " << reply.raw;
            return false;
          }
          std::this_thread::sleep_for(std::chrono::milliseconds(server_up ? 5 : 50));
        }
        return false;
      };
      json registration = run_body(run_id(run), "crash", "baseline", "job-1", "node-a", run);
      EXPECT_TRUE(send("/api/v1/runs", registration)) << run_id(run);
      for (int first = 0; first < kSamplesPerRun; first += kBatch)
        EXPECT_TRUE(send("/api/v1/runs/" + run_id(run) + "/samples", batch(run, first))) << first;
      ++finished;
    });

  std::mt19937 random(20261202u);
  int mid_ingest_kills = 0;
  for (int kill = 0; kill < 3 && finished < kRuns; ++kill) {
    // Each kill comes a random while after the (restarted) server has taken a request: a server that
    // starts slowly (a sanitizer build) is not killed before the ingest.
    const int acknowledged_before = acknowledged.load();
    const auto started_by = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (acknowledged.load() == acknowledged_before && finished < kRuns &&
           std::chrono::steady_clock::now() < started_by)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    std::this_thread::sleep_for(
        std::chrono::milliseconds(std::uniform_int_distribution<int>(100, 400)(random)));
    server_up = false;
    client_.reset();
    EXPECT_EQ(server_->stop(SIGKILL), 128 + SIGKILL);
    server_.reset();
    const std::int64_t stored = expect_consistent("after kill " + std::to_string(kill));
    std::printf("kill %d: %lld of %d samples stored\n", kill, static_cast<long long>(stored),
                kRuns * kSamplesPerRun);
    if (stored > 0 && stored < kRuns * kSamplesPerRun) ++mid_ingest_kills;
    start({"--listen", "127.0.0.1:" + std::to_string(port)});
    ASSERT_EQ(server_->port(), port);
    server_up = true;
  }
  for (std::thread& client : clients) client.join();
  EXPECT_GE(mid_ingest_kills, 1) << "no kill landed during the ingest";
  EXPECT_EQ(finished, kRuns) << "the server said:\n" << server_->err();
  client_.reset();
  server_->stop(SIGKILL);
  server_.reset();
  EXPECT_EQ(expect_consistent("at the end"), static_cast<std::int64_t>(kRuns) * kSamplesPerRun);
}

INSTANTIATE_TEST_SUITE_P(Backends, CrashConsistencyTest, ::testing::Values("sqlite", "postgresql"),
                         backend_name);

}  // namespace
}  // namespace carbonmeter::testing
