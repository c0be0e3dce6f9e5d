// The dashboard's project page for a project with 10,000 runs and 1,000,000 samples (issue 8:
// <= 200 ms), on SQLite and on PostgreSQL: the render function alone, and the same page over HTTP
// from a server in this process (the routes `carbonmeter serve` registers). Prints the median and
// p95 of each; also the run page (100 samples) and the list of projects.
//   dashboard_bench [RUNS] [SAMPLES_PER_RUN] [REPEATS]   (default 10000 100 50; PostgreSQL:
//                                                         $CARBONMETER_TEST_POSTGRES_URL, skipped when unset)
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "server/auth.hpp"
#include "server/dashboard.hpp"
#include "server/dashboard_pages.hpp"
#include "server/http_api.hpp"
#include "server/postgres_storage.hpp"
#include "server/storage.hpp"
#include "storage_backends.hpp"

using namespace carbonmeter::server;

namespace {

constexpr const char* kAdminToken = "bench-admin-token-0123456789abcdef";
constexpr int kExperiments = 10;
constexpr int kRanksPerJob = 4;

struct Options {
  int runs = 10'000;
  int samples_per_run = 100;
  int repeats = 50;
};

// 10 experiments; jobs of 4 ranks on 4 nodes; a run starts every 15 minutes (10,000 runs span
// about 104 days), its samples a minute apart; the intensity changes with the hour.
bool fill(Storage& storage, const Options& options, std::int64_t project_id) {
  const auto start = std::chrono::steady_clock::now();
  std::vector<SampleRecord> samples(static_cast<std::size_t>(options.samples_per_run));
  for (int i = 0; i < options.runs; ++i) {
    RunRecord run;
    run.run_id = fmt::format("run-{:05}", i);
    run.project_id = project_id;
    run.experiment = fmt::format("experiment-{}", i % kExperiments);
    run.scope = "process";
    run.job.job_id = fmt::format("job-{}", i / kRanksPerJob);
    run.job.node = fmt::format("node-{}", i % kRanksPerJob);
    run.job.rank = i % kRanksPerJob;
    run.job.world_size = kRanksPerJob;
    run.started_unix_s = 1'717'200'000.0 + 900.0 * i;
    run.ended_unix_s = run.started_unix_s + 60.0 * options.samples_per_run;
    run.metadata_json = R"({"command":"python train.py","methods":{"cpu":"rapl","gpu":"nvml"}})";
    if (auto registered = storage.register_run(run); !registered) {
      fmt::print(stderr, "register: {}\n", registered.error().message);
      return false;
    }
    for (int k = 0; k < options.samples_per_run; ++k) {
      SampleRecord& s = samples[static_cast<std::size_t>(k)];
      s.seq = k;
      s.t_unix_s = run.started_unix_s + 60.0 * (k + 1);
      s.dt_s = 60.0;
      s.energy_cpu_j = 3000.0 + (i % 7) * 100.0;
      s.energy_ram_j = 300.0;
      s.energy_gpu_j = 15000.0 + (k % 10) * 500.0;
      s.intensity_g_per_kwh =
          200.0 + 100.0 * std::abs(((static_cast<long>(s.t_unix_s) / 3600) % 24) - 12) / 12.0;
      s.emissions_g = (s.energy_cpu_j + s.energy_ram_j + s.energy_gpu_j) / 3.6e6 * *s.intensity_g_per_kwh;
    }
    if (auto inserted = storage.insert_samples(run.run_id, samples); !inserted) {
      fmt::print(stderr, "insert: {}\n", inserted.error().message);
      return false;
    }
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  fmt::print("  filled {} runs, {} samples in {:.1f} s\n", options.runs,
             static_cast<std::int64_t>(options.runs) * options.samples_per_run, seconds);
  return true;
}

// A run of 100,000 samples a second apart (a day and 4 hours), for the run page's downsampling.
bool add_long_run(Storage& storage, std::int64_t project_id) {
  RunRecord run;
  run.run_id = "long-run";
  run.project_id = project_id;
  run.scope = "machine";
  run.job.node = "node-long";
  run.started_unix_s = 1'717'200'000.0;
  if (auto registered = storage.register_run(run); !registered) {
    fmt::print(stderr, "register: {}\n", registered.error().message);
    return false;
  }
  std::vector<SampleRecord> batch(1000);
  for (int first = 0; first < 100'000; first += 1000) {
    for (int k = 0; k < 1000; ++k) {
      SampleRecord& s = batch[static_cast<std::size_t>(k)];
      s.seq = first + k;
      s.t_unix_s = run.started_unix_s + static_cast<double>(s.seq + 1);
      s.dt_s = 1.0;
      s.energy_cpu_j = 50.0 + (s.seq % 600) / 10.0;
      s.energy_gpu_j = 250.0;
      s.intensity_g_per_kwh = 300.0;
      s.emissions_g = (s.energy_cpu_j + s.energy_gpu_j) / 3.6e6 * 300.0;
    }
    if (auto inserted = storage.insert_samples(run.run_id, batch); !inserted) {
      fmt::print(stderr, "insert: {}\n", inserted.error().message);
      return false;
    }
  }
  return true;
}

// Prints the median and p95 of `repeats` calls (after one warm-up call); `call` returns the page's
// size, 0 when it failed. False when the warm-up call failed (nothing is timed then).
[[nodiscard]] bool time_it(const std::string& what, int repeats, const std::function<std::size_t()>& call) {
  if (call() == 0) {
    fmt::print("  {:<44} FAILED\n", what);
    return false;
  }
  std::vector<double> ms;
  std::size_t bytes = 0;
  for (int i = 0; i < repeats; ++i) {
    const auto start = std::chrono::steady_clock::now();
    bytes = call();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(ms.begin(), ms.end());
  const double median = ms[ms.size() / 2];
  const double p95 =
      ms[std::min(ms.size() - 1, static_cast<std::size_t>(0.95 * static_cast<double>(ms.size())))];
  fmt::print("  {:<44} median {:7.1f} ms   p95 {:7.1f} ms   max {:7.1f} ms   ({} kB)\n", what, median, p95,
             ms.back(), bytes / 1024);
  return true;
}

bool measure(const std::string& name, Storage& storage, const Options& options) {
  fmt::print("{}:\n", name);
  if (auto migrated = storage.migrate(); !migrated) {
    fmt::print(stderr, "{}: {}\n", name, migrated.error().message);
    return false;
  }
  auto project = storage.create_project("bench");
  if (!project) {
    fmt::print(stderr, "{}: {}\n", name, project.error().message);
    return false;
  }
  if (!fill(storage, options, project.value().id)) return false;

  // A page or call that fails is reported and makes the program exit non-zero.
  bool ok = true;
  auto timed = [&](const std::string& what, const std::function<std::size_t()>& call) {
    ok = time_it(what, options.repeats, call) && ok;
  };

  // Where the project page's time goes: its storage calls one by one.
  const std::int64_t id = project.value().id;
  timed("  totals by experiment", [&]() -> std::size_t {
    auto t = storage.totals(id, GroupBy::experiment);
    return t ? t.value().size() + 1 : 0;
  });
  timed("  totals by job", [&]() -> std::size_t {
    auto t = storage.totals(id, GroupBy::job);
    return t ? t.value().size() + 1 : 0;
  });
  timed("  list_runs (50 newest)", [&]() -> std::size_t {
    auto runs = storage.list_runs(RunFilter{id, std::nullopt, std::nullopt, 50, 0});
    return runs ? runs.value().size() + 1 : 0;
  });
  timed("  daily_totals (run_days)", [&]() -> std::size_t {
    auto days = storage.daily_totals(id, std::nullopt);
    return days ? days.value().size() + 1 : 0;
  });

  auto render = [&](const dashboard::ProjectPageQuery& query) {
    return [&storage, &project, query]() -> std::size_t {
      auto html = dashboard::render_project_page(storage, project.value(), query);
      return html ? html.value().size() : 0;
    };
  };
  timed("project page, render function", render({}));
  timed("project page, one experiment", render({std::string("experiment-3"), 0}));
  timed("project page, last page of runs", render({std::nullopt, options.runs - 50}));
  auto run = storage.find_run("run-00042");
  timed("run page, render function", [&]() -> std::size_t {
    auto html = dashboard::render_run_page(storage, *run.value(), "bench");
    return html ? html.value().size() : 0;
  });
  auto other = storage.create_project("long");  // keeps "bench" at exactly RUNS runs
  if (!other || !add_long_run(storage, other.value().id)) return false;
  auto long_run = storage.find_run("long-run");
  timed("run page, 100,000 samples, render function", [&]() -> std::size_t {
    auto html = dashboard::render_run_page(storage, *long_run.value(), "long");
    return html ? html.value().size() : 0;
  });

  // The same pages through HTTP: the API's authentication and the dashboard's routes.
  ApiOptions api_options;
  api_options.admin_token_sha256_hex = sha256_hex(kAdminToken);
  api_options.rate_limit.requests_per_s = 0;
  HttpApi api(storage, api_options);
  httplib::Server server;
  api.register_routes(server);
  add_extra_routes(server, api, register_dashboard_routes);
  const int port = server.bind_to_any_port("127.0.0.1");
  std::thread listener([&server] { server.listen_after_bind(); });
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(60);
  const httplib::Headers headers = {{"Authorization", std::string("Bearer ") + kAdminToken}};
  auto get = [&](const std::string& path) {
    return [&client, &headers, path]() -> std::size_t {
      auto result = client.Get(path.c_str(), headers);
      return result && result->status == 200 ? result->body.size() : 0;
    };
  };
  timed("project page, GET over HTTP", get("/dashboard/projects/bench"));
  timed("run page, GET over HTTP", get("/dashboard/runs/run-00042"));
  timed("run page, 100,000 samples, GET over HTTP", get("/dashboard/runs/long-run"));
  timed("list of projects, GET / over HTTP", get("/"));
  server.stop();
  listener.join();
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  if (argc > 1) options.runs = std::max(50, std::atoi(argv[1]));
  if (argc > 2) options.samples_per_run = std::max(1, std::atoi(argv[2]));
  if (argc > 3) options.repeats = std::max(1, std::atoi(argv[3]));
  return on_each_backend("dashboard_bench", [&options](const char* name, Storage& storage) {
    return measure(name, storage, options);
  });
}
