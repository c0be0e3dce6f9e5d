// Sample ingest through the server's Storage, on SQLite and on PostgreSQL: batches of 100 samples
// (what a client sends), one insert_samples call each, as the HTTP API does. Prints samples/s.
//   server_storage_bench [SAMPLES]   (PostgreSQL: $CARBONMETER_TEST_POSTGRES_URL, see
//                                     scripts/test_services; skipped when unset)
// Target (issue 8): >= 20,000 samples/s on each back end.
#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "server/postgres_storage.hpp"
#include "server/storage.hpp"
#include "storage_backends.hpp"

using namespace carbonmeter::server;

namespace {

constexpr int kBatchSize = 100;

std::vector<SampleRecord> batch(std::int64_t first) {
  std::vector<SampleRecord> samples(kBatchSize);
  for (int i = 0; i < kBatchSize; ++i) {
    auto& s = samples[static_cast<std::size_t>(i)];
    s.seq = first + i;
    s.t_unix_s = 1'700'000'000.0 + static_cast<double>(s.seq);
    s.dt_s = 1.0;
    s.energy_cpu_j = 12.5;
    s.energy_ram_j = 1.25;
    s.energy_gpu_j = 250.0;
    s.emissions_g = 0.021;
    s.intensity_g_per_kwh = 280.0;
  }
  return samples;
}

// Ingests `total` samples into `runs` runs with `threads` threads sharing the Storage.
bool measure(const std::string& name, Storage& storage, std::int64_t total, int threads) {
  if (auto migrated = storage.migrate(); !migrated) {
    fmt::print(stderr, "{}: {}\n", name, migrated.error().message);
    return false;
  }
  auto project = storage.create_project(fmt::format("bench-{}", threads));
  if (!project) {
    fmt::print(stderr, "{}: {}\n", name, project.error().message);
    return false;
  }
  for (int t = 0; t < threads; ++t) {
    RunRecord run;
    run.run_id = fmt::format("bench-{}-{}", threads, t);
    run.project_id = project.value().id;
    run.scope = "process";
    run.job.node = "bench";
    run.started_unix_s = 1'700'000'000.0;
    if (auto registered = storage.register_run(run); !registered) {
      fmt::print(stderr, "{}: {}\n", name, registered.error().message);
      return false;
    }
  }
  const std::int64_t batches_per_thread = total / kBatchSize / threads;
  std::vector<std::vector<std::vector<SampleRecord>>> prepared(static_cast<std::size_t>(threads));
  for (auto& p : prepared) {
    for (std::int64_t b = 0; b < batches_per_thread; ++b) p.push_back(batch(b * kBatchSize));
  }
  std::atomic<int> failures{0};
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      const auto run_id = fmt::format("bench-{}-{}", threads, t);
      for (const auto& b : prepared[static_cast<std::size_t>(t)]) {
        auto outcome = storage.insert_samples(run_id, b);
        if (!outcome || outcome.value().inserted != kBatchSize) ++failures;
      }
    });
  }
  for (auto& w : workers) w.join();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double stored = static_cast<double>(batches_per_thread * kBatchSize * threads);
  fmt::print("{:<10} threads={}  {:>8.0f} samples in {:6.2f} s  = {:>9.0f} samples/s{}\n", name, threads,
             stored, seconds, stored / seconds, failures ? "  (FAILURES)" : "");
  return failures == 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::int64_t total = argc > 1 ? std::atoll(argv[1]) : 200'000;
  return on_each_backend("storage_bench", [total](const char* name, Storage& storage) {
    const bool one = measure(name, storage, total, 1);
    return measure(name, storage, total, 4) && one;
  });
}
