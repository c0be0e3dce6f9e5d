// Storage against both back ends: SQLite in a temporary file and a real PostgreSQL server (a fresh
// schema per test at $CARBONMETER_TEST_POSTGRES_URL; `make test` starts it).
#include "server/storage.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <thread>

#include "server/migrations.hpp"
#include "server/postgres_storage.hpp"
#include "server/storage_rules.hpp"

namespace carbonmeter::server {
namespace {

enum class Backend { sqlite, postgres };

std::string backend_name(const testing::TestParamInfo<Backend>& info) {
  return info.param == Backend::sqlite ? "sqlite" : "postgres";
}

const char* postgres_url_or_null() { return std::getenv("CARBONMETER_TEST_POSTGRES_URL"); }

constexpr const char* kNoPostgresMessage =
    "CARBONMETER_TEST_POSTGRES_URL is not set: the PostgreSQL storage tests need a real server. "
    "Run `make test`, or `eval \"$(scripts/test_services)\"` in this shell, then run the tests "
    "again";

std::atomic<int> database_counter{0};

class StorageTest : public testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    const int n = database_counter++;
    if (GetParam() == Backend::sqlite) {
      url_ = (std::filesystem::temp_directory_path() /
              fmt::format("carbonmeter_storage_test_{}_{}.db", getpid(), n))
                 .string();
      remove_sqlite_files();
    } else {
      const char* base = postgres_url_or_null();
      ASSERT_NE(base, nullptr) << kNoPostgresMessage;
      base_url_ = base;
      schema_ = fmt::format("cm_storage_test_{}_{}", getpid(), n);
      auto reset = postgres_reset_schema(base_url_, schema_);
      ASSERT_TRUE(reset.ok()) << reset.error().message;
      url_ = postgres_url_with_schema(base_url_, schema_);
    }
    storage_ = open();
    ASSERT_NE(storage_, nullptr);
    auto migrated = storage_->migrate();
    ASSERT_TRUE(migrated.ok()) << migrated.error().message;
  }

  void TearDown() override {
    storage_.reset();
    if (GetParam() == Backend::sqlite) {
      remove_sqlite_files();
    } else if (!schema_.empty()) {
      (void)postgres_reset_schema(base_url_, schema_, /*drop_only=*/true);
    }
  }

  void remove_sqlite_files() {
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(url_ + suffix);
  }

  // Another Storage on the same database (another server process, say).
  std::unique_ptr<Storage> open() {
    auto storage = GetParam() == Backend::sqlite ? open_sqlite_storage(url_) : open_storage(url_);
    EXPECT_TRUE(storage.ok()) << storage.error().message;
    return storage.ok() ? std::move(storage).value() : nullptr;
  }

  std::int64_t make_project(const std::string& name) {
    auto project = storage_->create_project(name);
    EXPECT_TRUE(project.ok()) << project.error().message;
    return project.ok() ? project.value().id : 0;
  }

  static RunRecord make_run(std::int64_t project_id, const std::string& run_id,
                            const std::string& scope = "process",
                            std::optional<std::string> job_id = std::nullopt,
                            const std::string& node = "node1", std::optional<int> rank = std::nullopt) {
    RunRecord run;
    run.run_id = run_id;
    run.project_id = project_id;
    run.scope = scope;
    run.job.job_id = std::move(job_id);
    run.job.node = node;
    run.job.rank = rank;
    run.started_unix_s = 1'700'000'000.0;
    run.metadata_json = R"({"command":"python train.py"})";
    return run;
  }

  RunRecord register_ok(const RunRecord& run) {
    auto stored = storage_->register_run(run);
    EXPECT_TRUE(stored.ok()) << run.run_id << ": " << stored.error().message;
    return stored.ok() ? stored.value().run : RunRecord{};
  }

  std::string register_error(const RunRecord& run) {
    auto stored = storage_->register_run(run);
    EXPECT_FALSE(stored.ok()) << run.run_id << " was accepted";
    return stored.ok() ? "" : stored.error().message;
  }

  // Samples seq in [first, last): cpu 1 J, ram 0.5 J, gpu 2 J, 0.25 g each (exact in binary).
  static std::vector<SampleRecord> make_samples(std::int64_t first, std::int64_t last,
                                                double t0_unix_s = 1'700'000'000.0) {
    std::vector<SampleRecord> samples;
    for (std::int64_t seq = first; seq < last; ++seq) {
      SampleRecord s;
      s.seq = seq;
      s.t_unix_s = t0_unix_s + static_cast<double>(seq);
      s.dt_s = 1.0;
      s.energy_cpu_j = 1.0;
      s.energy_ram_j = 0.5;
      s.energy_gpu_j = 2.0;
      s.emissions_g = 0.25;
      if (seq % 2 == 0) s.intensity_g_per_kwh = 300.0;
      samples.push_back(s);
    }
    return samples;
  }

  InsertOutcome insert_ok(const std::string& run_id, const std::vector<SampleRecord>& samples) {
    auto outcome = storage_->insert_samples(run_id, samples);
    EXPECT_TRUE(outcome.ok()) << outcome.error().message;
    return outcome.ok() ? outcome.value() : InsertOutcome{};
  }

  RunRecord stored_run(const std::string& run_id) {
    auto run = storage_->find_run(run_id);
    EXPECT_TRUE(run.ok() && run.value().has_value()) << run_id;
    return run.ok() && run.value() ? *run.value() : RunRecord{};
  }

  std::string url_, base_url_, schema_;
  std::unique_ptr<Storage> storage_;
};

INSTANTIATE_TEST_SUITE_P(Backends, StorageTest, testing::Values(Backend::sqlite, Backend::postgres),
                         backend_name);

int latest_version(Backend backend) {
  const auto& steps = backend == Backend::sqlite ? sqlite_migrations() : postgres_migrations();
  return steps.back().version;
}

TEST_P(StorageTest, MigrateTwiceIsANoOpAndVersionsMatch) {
  EXPECT_EQ(storage_->schema_version(), latest_version(GetParam()));
  EXPECT_EQ(latest_version(Backend::sqlite), latest_version(Backend::postgres));
  const auto project = make_project("kept");
  ASSERT_TRUE(storage_->migrate().ok());
  EXPECT_EQ(storage_->schema_version(), latest_version(GetParam()));
  // A restart: another connection migrates the same database again.
  auto again = open();
  ASSERT_NE(again, nullptr);
  auto migrated = again->migrate();
  ASSERT_TRUE(migrated.ok()) << migrated.error().message;
  EXPECT_EQ(again->schema_version(), latest_version(GetParam()));
  auto found = again->find_project("kept");
  ASSERT_TRUE(found.ok() && found.value());
  EXPECT_EQ(found.value()->id, project);
}

TEST_P(StorageTest, SchemaVersionIsZeroBeforeMigrating) {
  if (GetParam() == Backend::sqlite) {
    const auto path = url_ + ".fresh";
    auto fresh = open_sqlite_storage(path);
    ASSERT_TRUE(fresh.ok());
    EXPECT_EQ(fresh.value()->schema_version(), 0);
    fresh.value().reset();
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
  } else {
    const auto schema = schema_ + "_fresh";
    ASSERT_TRUE(postgres_reset_schema(base_url_, schema).ok());
    auto fresh = open_postgres_storage(postgres_url_with_schema(base_url_, schema));
    ASSERT_TRUE(fresh.ok());
    EXPECT_EQ(fresh.value()->schema_version(), 0);
    fresh.value().reset();
    (void)postgres_reset_schema(base_url_, schema, true);
  }
}

TEST_P(StorageTest, ProjectNamesAreUnique) {
  auto first = storage_->create_project("vision");
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_GT(first.value().id, 0);
  EXPECT_GT(first.value().created_unix_s, 1.6e9);
  auto second = storage_->create_project("vision");
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.error().message.find("exists already"), std::string::npos) << second.error().message;
  EXPECT_FALSE(storage_->create_project("").ok());
  make_project("audio");

  auto found = storage_->find_project("vision");
  ASSERT_TRUE(found.ok() && found.value());
  EXPECT_EQ(found.value()->id, first.value().id);
  auto missing = storage_->find_project("nope");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing.value());
  auto all = storage_->list_projects();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all.value().size(), 2u);
  EXPECT_EQ(all.value()[0].name, "audio");
  EXPECT_EQ(all.value()[1].name, "vision");
}

TEST_P(StorageTest, TokensAreFoundByTheirHash) {
  const auto project = make_project("p");
  const std::string admin_hash(64, 'a'), project_hash(64, 'b');
  TokenRecord admin;
  admin.sha256_hex = admin_hash;
  admin.label = "ops";
  auto stored_admin = storage_->add_token(admin);
  ASSERT_TRUE(stored_admin.ok()) << stored_admin.error().message;
  TokenRecord writer;
  writer.project_id = project;
  writer.sha256_hex = project_hash;
  writer.label = "ci";
  ASSERT_TRUE(storage_->add_token(writer).ok());

  auto found = storage_->find_token(project_hash);
  ASSERT_TRUE(found.ok() && found.value());
  EXPECT_EQ(found.value()->project_id, project);
  EXPECT_EQ(found.value()->label, "ci");
  auto found_admin = storage_->find_token(admin_hash);
  ASSERT_TRUE(found_admin.ok() && found_admin.value());
  EXPECT_FALSE(found_admin.value()->project_id);
  EXPECT_EQ(found_admin.value()->id, stored_admin.value().id);
  auto missing = storage_->find_token(std::string(64, 'c'));
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing.value());

  EXPECT_FALSE(storage_->add_token(writer).ok());  // the same hash twice
  TokenRecord short_hash;
  short_hash.sha256_hex = "abc";
  EXPECT_FALSE(storage_->add_token(short_hash).ok());
  TokenRecord orphan;
  orphan.project_id = project + 1000;
  orphan.sha256_hex = std::string(64, 'd');
  auto refused = storage_->add_token(orphan);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("does not exist"), std::string::npos) << refused.error().message;
}

TEST_P(StorageTest, RegisterRunRetryReturnsTheStoredRun) {
  const auto project = make_project("p");
  const auto other = make_project("q");
  auto run = make_run(project, "run-1", "machine", "job-7", "gpu01", 0);
  run.experiment = "resnet";
  run.job.world_size = 2;
  run.job.local_rank = 0;
  auto created = storage_->register_run(run);
  ASSERT_TRUE(created.ok()) << created.error().message;
  EXPECT_TRUE(created.value().created);
  const RunRecord& stored = created.value().run;
  EXPECT_EQ(stored.run_id, "run-1");
  EXPECT_EQ(stored.experiment, "resnet");
  insert_ok("run-1", make_samples(0, 4));

  auto again = storage_->register_run(run);  // the client retries after a lost answer
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_FALSE(again.value().created);
  const RunRecord& retried = again.value().run;
  EXPECT_EQ(retried.run_id, "run-1");
  EXPECT_EQ(retried.project_id, project);
  EXPECT_EQ(retried.job.job_id, "job-7");
  EXPECT_EQ(retried.job.node, "gpu01");
  EXPECT_EQ(retried.job.rank, 0);
  EXPECT_EQ(retried.job.local_rank, 0);
  EXPECT_EQ(retried.job.world_size, 2);
  EXPECT_EQ(retried.metadata_json, run.metadata_json);
  EXPECT_EQ(retried.sample_count, 4);
  EXPECT_EQ(retried.energy_cpu_j, 4.0);

  auto stolen = run;
  stolen.project_id = other;
  const auto message = register_error(stolen);
  EXPECT_NE(message.find("another project"), std::string::npos) << message;
  // Another run under the same id (another node, rank or start) is not a retry: its samples would
  // be dropped as duplicates of this run's.
  auto elsewhere = run;
  elsewhere.job.node = "gpu02";
  EXPECT_NE(register_error(elsewhere).find("choose a new run_id"), std::string::npos);
  auto later = run;
  later.started_unix_s += 60;
  EXPECT_NE(register_error(later).find("choose a new run_id"), std::string::npos);
  EXPECT_EQ(stored_run("run-1").job.node, "gpu01");

  EXPECT_FALSE(storage_->register_run(make_run(project + 1000, "orphan")).ok());
  EXPECT_FALSE(storage_->register_run(make_run(project, "bad-scope", "cluster")).ok());
  EXPECT_FALSE(storage_->register_run(make_run(project, "")).ok());
}

TEST_P(StorageTest, MultiNodeRuleRefusesDoubleCountingAndNamesTheHolder) {
  const auto project = make_project("p");
  // One machine-scope run per node: accepted on distinct nodes.
  register_ok(make_run(project, "a", "machine", "J", "n1", 0));
  register_ok(make_run(project, "d", "machine", "J", "n2", 1));
  // A second machine-scope run on n1.
  auto message = register_error(make_run(project, "b", "machine", "J", "n1", 5));
  EXPECT_NE(message.find("run a "), std::string::npos) << message;
  EXPECT_NE(message.find("n1"), std::string::npos) << message;
  // A process-scope run on a node a machine-scope run measures.
  message = register_error(make_run(project, "c", "process", "J", "n2", 6));
  EXPECT_NE(message.find("run d "), std::string::npos) << message;
  // Process-scope runs share a node; a machine-scope run may not join them.
  register_ok(make_run(project, "e", "process", "J", "n3", 2));
  register_ok(make_run(project, "f", "process", "J", "n3", 3));
  message = register_error(make_run(project, "g", "machine", "J", "n3", 4));
  EXPECT_NE(message.find("n3"), std::string::npos) << message;
  EXPECT_TRUE(message.find("run e ") != std::string::npos || message.find("run f ") != std::string::npos)
      << message;
  // A cgroup-scope run may hold other runs' processes: it stands alone on its node.
  register_ok(make_run(project, "i", "cgroup", "J", "n5", 7));
  for (const char* scope : {"machine", "process", "cgroup"})
    EXPECT_NE(register_error(make_run(project, "k", scope, "J", "n5", 8)).find("run i (cgroup-scope)"),
              std::string::npos)
        << scope;
  EXPECT_NE(register_error(make_run(project, "l", "cgroup", "J", "n1", 9)).find("run a "), std::string::npos);
  // Two runs of the job with one rank.
  message = register_error(make_run(project, "h", "process", "J", "n4", 2));
  EXPECT_NE(message.find("run e "), std::string::npos) << message;
  EXPECT_NE(message.find("rank 2"), std::string::npos) << message;

  // Allowed: another job on the same node, runs without a job, a retry of a stored run.
  register_ok(make_run(project, "k", "machine", "K", "n1", 0));
  register_ok(make_run(project, "solo1", "machine", std::nullopt, "n1"));
  register_ok(make_run(project, "solo2", "machine", std::nullopt, "n1"));
  register_ok(make_run(project, "a", "machine", "J", "n1", 0));
  // The same job id in another project is another job.
  const auto other = make_project("q");
  register_ok(make_run(other, "other-a", "machine", "J", "n1", 0));

  auto runs = storage_->list_runs(RunFilter{project, std::nullopt, std::string("J"), 100, 0});
  ASSERT_TRUE(runs.ok());
  EXPECT_EQ(runs.value().size(), 5u);  // a, d, e, f, i
}

TEST_P(StorageTest, ReplayedSamplesAreStoredAndSummedOnce) {
  const auto project = make_project("p");
  register_ok(make_run(project, "r"));
  auto first = insert_ok("r", make_samples(0, 10));
  EXPECT_EQ(first.inserted, 10);
  EXPECT_EQ(first.duplicates, 0);
  auto replay = insert_ok("r", make_samples(0, 10));
  EXPECT_EQ(replay.inserted, 0);
  EXPECT_EQ(replay.duplicates, 10);
  auto run = stored_run("r");
  EXPECT_EQ(run.sample_count, 10);
  EXPECT_EQ(run.energy_cpu_j, 10.0);
  EXPECT_EQ(run.energy_ram_j, 5.0);
  EXPECT_EQ(run.energy_gpu_j, 20.0);
  EXPECT_EQ(run.emissions_g, 2.5);

  auto overlap = insert_ok("r", make_samples(5, 15));
  EXPECT_EQ(overlap.inserted, 5);
  EXPECT_EQ(overlap.duplicates, 5);
  run = stored_run("r");
  EXPECT_EQ(run.sample_count, 15);
  EXPECT_EQ(run.energy_cpu_j, 15.0);
  EXPECT_EQ(run.emissions_g, 3.75);
  auto empty = insert_ok("r", {});
  EXPECT_EQ(empty.inserted, 0);
}

TEST_P(StorageTest, ABatchWithAnInvalidSampleIsRefusedWhole) {
  const auto project = make_project("p");
  register_ok(make_run(project, "r"));
  auto batch = make_samples(0, 6);
  batch[3].energy_gpu_j = std::numeric_limits<double>::quiet_NaN();
  auto refused = storage_->insert_samples("r", batch);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("seq 3"), std::string::npos) << refused.error().message;
  batch = make_samples(0, 6);
  batch[5].energy_cpu_j = -1.0;
  EXPECT_FALSE(storage_->insert_samples("r", batch).ok());
  batch = make_samples(0, 6);
  batch[4].seq = 1;
  EXPECT_FALSE(storage_->insert_samples("r", batch).ok());
  batch = make_samples(0, 6);
  batch[2].t_unix_s = 1e300;  // past 9999: its day number would not fit 64 bits
  refused = storage_->insert_samples("r", batch);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("seq 2 has a time"), std::string::npos) << refused.error().message;

  auto stored = storage_->samples("r", -1, 100);
  ASSERT_TRUE(stored.ok());
  EXPECT_TRUE(stored.value().empty());
  const auto run = stored_run("r");
  EXPECT_EQ(run.sample_count, 0);
  EXPECT_EQ(run.energy_gpu_j, 0.0);

  auto unknown = storage_->insert_samples("no-such-run", make_samples(0, 2));
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().message.find("register the run"), std::string::npos) << unknown.error().message;

  auto far_run = make_run(project, "far");
  far_run.started_unix_s = 1e300;
  auto far = storage_->register_run(far_run);
  ASSERT_FALSE(far.ok());
  EXPECT_NE(far.error().message.find("end of 9999"), std::string::npos) << far.error().message;
}

TEST_P(StorageTest, SamplesArePagedBySeq) {
  const auto project = make_project("p");
  register_ok(make_run(project, "r"));
  for (int batch = 0; batch < 5; ++batch) insert_ok("r", make_samples(batch * 50, batch * 50 + 50));
  std::int64_t after = -1;
  std::vector<SampleRecord> all;
  for (int page = 0; page < 10; ++page) {
    auto got = storage_->samples("r", after, 100);
    ASSERT_TRUE(got.ok()) << got.error().message;
    if (got.value().empty()) break;
    EXPECT_LE(got.value().size(), 100u);
    after = got.value().back().seq;
    all.insert(all.end(), got.value().begin(), got.value().end());
  }
  ASSERT_EQ(all.size(), 250u);
  for (std::size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(all[i].seq, static_cast<std::int64_t>(i));
    EXPECT_EQ(all[i].t_unix_s, 1'700'000'000.0 + static_cast<double>(i));
    EXPECT_EQ(all[i].energy_ram_j, 0.5);
    EXPECT_EQ(all[i].intensity_g_per_kwh.has_value(), i % 2 == 0);
  }
  auto tail = storage_->samples("r", 240, 100);
  ASSERT_TRUE(tail.ok());
  EXPECT_EQ(tail.value().size(), 9u);
}

TEST_P(StorageTest, RunsAreListedFilteredAndFinished) {
  const auto project = make_project("p");
  const auto other = make_project("q");
  for (int i = 0; i < 5; ++i) {
    auto run = make_run(project, fmt::format("r{}", i));
    run.experiment = i < 3 ? "bert" : "gpt";
    run.started_unix_s = 1'700'000'000.0 + i;
    register_ok(run);
  }
  register_ok(make_run(other, "x"));
  auto all = storage_->list_runs(RunFilter{project, std::nullopt, std::nullopt, 100, 0});
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all.value().size(), 5u);
  EXPECT_EQ(all.value().front().run_id, "r4");  // newest first
  auto bert = storage_->list_runs(RunFilter{project, std::string("bert"), std::nullopt, 100, 0});
  ASSERT_TRUE(bert.ok());
  EXPECT_EQ(bert.value().size(), 3u);
  auto page = storage_->list_runs(RunFilter{project, std::nullopt, std::nullopt, 2, 2});
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page.value().size(), 2u);
  EXPECT_EQ(page.value()[0].run_id, "r2");
  auto everyone = storage_->list_runs(RunFilter{});
  ASSERT_TRUE(everyone.ok());
  EXPECT_EQ(everyone.value().size(), 6u);
  auto experiments = storage_->list_experiments(project);
  ASSERT_TRUE(experiments.ok());
  EXPECT_EQ(experiments.value(), (std::vector<std::string>{"bert", "gpt"}));

  ASSERT_TRUE(storage_->finish_run("r1", 1'700'000'500.0).ok());
  EXPECT_EQ(stored_run("r1").ended_unix_s, 1'700'000'500.0);
  EXPECT_FALSE(stored_run("r2").ended_unix_s);
  EXPECT_FALSE(storage_->finish_run("nope", 1.0).ok());
  auto missing = storage_->find_run("nope");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing.value());
}

TEST_P(StorageTest, TotalsByExperimentJobRunAndDayAreExact) {
  const auto project = make_project("p");
  const auto other = make_project("q");
  auto run = [&](const std::string& id, const std::string& experiment, std::optional<std::string> job,
                 const std::string& node, std::optional<int> rank) {
    auto r = make_run(project, id, "machine", std::move(job), node, rank);
    r.experiment = experiment;
    register_ok(r);
  };
  run("a", "bert", "J1", "n1", 0);
  run("b", "bert", "J1", "n2", 1);
  run("c", "gpt", "J2", "n1", 0);
  run("d", "", std::nullopt, "n3", std::nullopt);
  // 2023-11-14 22:13:20 UTC + seq seconds: samples 0..5999 of "a" cross midnight at seq 6400? no:
  // midnight is at 1'700'006'400, so t0 = 1'700'003'400 puts seqs >= 3000 on 2023-11-15.
  const double t0 = 1'700'003'400.0;
  insert_ok("a", make_samples(0, 4000, t0));       // 3000 on the 14th, 1000 on the 15th
  insert_ok("b", make_samples(0, 100, t0));        // the 14th
  insert_ok("c", make_samples(0, 10, t0 + 5000));  // the 15th
  insert_ok("d", make_samples(0, 2, t0));          // the 14th
  auto foreign = make_run(other, "z", "machine", "J1", "n1", 0);
  register_ok(foreign);
  insert_ok("z", make_samples(0, 50, t0));

  auto by_experiment = storage_->totals(project, GroupBy::experiment);
  ASSERT_TRUE(by_experiment.ok()) << by_experiment.error().message;
  ASSERT_EQ(by_experiment.value().size(), 3u);
  EXPECT_EQ(by_experiment.value()[0].key, "");
  EXPECT_EQ(by_experiment.value()[0].sample_count, 2);
  EXPECT_EQ(by_experiment.value()[1].key, "bert");
  EXPECT_EQ(by_experiment.value()[1].run_count, 2);
  EXPECT_EQ(by_experiment.value()[1].sample_count, 4100);
  EXPECT_EQ(by_experiment.value()[1].energy_cpu_j, 4100.0);
  EXPECT_EQ(by_experiment.value()[1].energy_ram_j, 2050.0);
  EXPECT_EQ(by_experiment.value()[1].energy_gpu_j, 8200.0);
  EXPECT_EQ(by_experiment.value()[1].emissions_g, 1025.0);
  EXPECT_EQ(by_experiment.value()[2].key, "gpt");
  EXPECT_EQ(by_experiment.value()[2].emissions_g, 2.5);

  auto by_job = storage_->totals(project, GroupBy::job);
  ASSERT_TRUE(by_job.ok()) << by_job.error().message;
  ASSERT_EQ(by_job.value().size(), 3u);
  EXPECT_EQ(by_job.value()[0].key, "");  // runs without a job
  EXPECT_EQ(by_job.value()[0].run_count, 1);
  EXPECT_EQ(by_job.value()[1].key, "J1");  // two nodes, each counted once; not project q's J1
  EXPECT_EQ(by_job.value()[1].run_count, 2);
  EXPECT_EQ(by_job.value()[1].energy_gpu_j, 8200.0);
  EXPECT_EQ(by_job.value()[2].key, "J2");
  EXPECT_EQ(by_job.value()[2].sample_count, 10);

  auto by_run = storage_->totals(project, GroupBy::run);
  ASSERT_TRUE(by_run.ok()) << by_run.error().message;
  ASSERT_EQ(by_run.value().size(), 4u);
  EXPECT_EQ(by_run.value()[0].key, "a");
  EXPECT_EQ(by_run.value()[0].energy_cpu_j, 4000.0);
  EXPECT_EQ(by_run.value()[0].run_count, 1);
  EXPECT_EQ(by_run.value()[3].key, "d");
  EXPECT_EQ(by_run.value()[3].emissions_g, 0.5);

  auto by_day = storage_->totals(project, GroupBy::day);
  ASSERT_TRUE(by_day.ok()) << by_day.error().message;
  ASSERT_EQ(by_day.value().size(), 2u);
  EXPECT_EQ(by_day.value()[0].key, "2023-11-14");
  EXPECT_EQ(by_day.value()[0].sample_count, 3000 + 100 + 2);
  EXPECT_EQ(by_day.value()[0].run_count, 3);
  EXPECT_EQ(by_day.value()[0].energy_cpu_j, 3102.0);
  EXPECT_EQ(by_day.value()[0].emissions_g, 775.5);
  EXPECT_EQ(by_day.value()[1].key, "2023-11-15");
  EXPECT_EQ(by_day.value()[1].sample_count, 1000 + 10);
  EXPECT_EQ(by_day.value()[1].run_count, 2);
  EXPECT_EQ(by_day.value()[1].energy_gpu_j, 2020.0);

  auto none = storage_->totals(project + 1000, GroupBy::experiment);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none.value().empty());
}

TEST_P(StorageTest, ConcurrentInsertsFromFourThreadsLoseNothing) {
  const auto project = make_project("p");
  register_ok(make_run(project, "shared"));
  for (int t = 0; t < 4; ++t) register_ok(make_run(project, fmt::format("own{}", t)));
  // Threads 0 and 1 share this Storage; 2 and 3 open their own (another server process).
  std::vector<std::unique_ptr<Storage>> own;
  for (int t = 0; t < 4; ++t) own.push_back(t < 2 ? nullptr : open());
  constexpr int kBatches = 25, kBatchSize = 20;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      Storage& storage = t < 2 ? *storage_ : *own[static_cast<std::size_t>(t)];
      for (int b = 0; b < kBatches; ++b) {
        const std::int64_t first = (static_cast<std::int64_t>(t) * kBatches + b) * kBatchSize;
        // The shared run gets disjoint seqs, each batch sent twice (a replay) ...
        for (int repeat = 0; repeat < 2; ++repeat) {
          if (!storage.insert_samples("shared", make_samples(first, first + kBatchSize)).ok()) ++failures;
        }
        // ... and every thread sends the same seqs to its own run and, overlapping, to run own0.
        if (!storage
                 .insert_samples(fmt::format("own{}", t), make_samples(b * kBatchSize, (b + 1) * kBatchSize))
                 .ok()) {
          ++failures;
        }
        if (!storage.insert_samples("own0", make_samples(b * kBatchSize, (b + 1) * kBatchSize)).ok()) {
          ++failures;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  const auto shared = stored_run("shared");
  EXPECT_EQ(shared.sample_count, 4 * kBatches * kBatchSize);
  EXPECT_EQ(shared.energy_cpu_j, 4.0 * kBatches * kBatchSize);
  EXPECT_EQ(shared.emissions_g, 0.25 * 4 * kBatches * kBatchSize);
  for (int t = 0; t < 4; ++t) {
    const auto run = stored_run(fmt::format("own{}", t));
    EXPECT_EQ(run.sample_count, kBatches * kBatchSize) << t;
    EXPECT_EQ(run.energy_gpu_j, 2.0 * kBatches * kBatchSize) << t;
  }
  // The per-day sums (run_days, which the dashboard reads) saw every stored sample once.
  auto days = storage_->daily_totals(project, std::nullopt);
  ASSERT_TRUE(days.ok()) << days.error().message;
  std::int64_t day_samples = 0;
  double day_cpu_j = 0.0;
  for (const DayTotals& day : days.value()) {
    day_samples += day.sample_count;
    day_cpu_j += day.energy_cpu_j;
  }
  std::int64_t run_samples = 0;
  for (const char* id : {"shared", "own0", "own1", "own2", "own3"})
    run_samples += stored_run(id).sample_count;
  EXPECT_EQ(day_samples, 4 * kBatches * kBatchSize * 2);
  EXPECT_EQ(day_samples, run_samples);
  EXPECT_EQ(day_cpu_j, 1.0 * static_cast<double>(day_samples));
}

TEST_P(StorageTest, DailyTotalsFollowTheSamplesPerDayAndExperiment) {
  const auto project = make_project("p");
  const auto other = make_project("q");
  auto run = [&](const std::string& id, const std::string& experiment) {
    auto r = make_run(project, id);
    r.experiment = experiment;
    register_ok(r);
  };
  run("a", "bert");
  run("b", "gpt");
  run("c", "");
  register_ok(make_run(other, "z"));
  // Midnight (UTC) is at 1'700'006'400: "a" has 3000 samples on the 14th and 1000 on the 15th.
  const double t0 = 1'700'003'400.0;
  insert_ok("a", make_samples(0, 4000, t0));
  insert_ok("a", make_samples(3990, 4010, t0));  // 10 replayed, 10 new (the 15th)
  insert_ok("b", make_samples(0, 10, t0 + 5000));
  auto c_samples = make_samples(0, 4, t0);
  for (auto& sample : c_samples) sample.intensity_g_per_kwh = 100.0;
  insert_ok("c", c_samples);
  insert_ok("z", make_samples(0, 50, t0));

  auto all = storage_->daily_totals(project, std::nullopt);
  ASSERT_TRUE(all.ok()) << all.error().message;
  ASSERT_EQ(all.value().size(), 2u);
  const DayTotals& fourteenth = all.value()[0];
  EXPECT_EQ(utc_day_string(fourteenth.day), "2023-11-14");
  EXPECT_EQ(fourteenth.sample_count, 3000 + 4);
  EXPECT_EQ(fourteenth.run_count, 2);
  EXPECT_EQ(fourteenth.energy_cpu_j, 3004.0);
  EXPECT_EQ(fourteenth.energy_ram_j, 1502.0);
  EXPECT_EQ(fourteenth.energy_gpu_j, 6008.0);
  EXPECT_EQ(fourteenth.emissions_g, 751.0);
  // "a" has 1500 samples at 300 g/kWh that day, "c" 4 at 100.
  ASSERT_TRUE(fourteenth.mean_intensity_g_per_kwh);
  EXPECT_DOUBLE_EQ(*fourteenth.mean_intensity_g_per_kwh, (1500 * 300.0 + 4 * 100.0) / 1504);
  const DayTotals& fifteenth = all.value()[1];
  EXPECT_EQ(utc_day_string(fifteenth.day), "2023-11-15");
  EXPECT_EQ(fifteenth.sample_count, 1010 + 10);
  EXPECT_EQ(fifteenth.run_count, 2);
  EXPECT_EQ(fifteenth.energy_gpu_j, 2040.0);

  auto bert = storage_->daily_totals(project, std::string("bert"));
  ASSERT_TRUE(bert.ok()) << bert.error().message;
  ASSERT_EQ(bert.value().size(), 2u);
  EXPECT_EQ(bert.value()[0].sample_count, 3000);
  EXPECT_EQ(bert.value()[1].sample_count, 1010);
  EXPECT_EQ(bert.value()[1].run_count, 1);
  auto without = storage_->daily_totals(project, std::string(""));
  ASSERT_TRUE(without.ok());
  ASSERT_EQ(without.value().size(), 1u);
  EXPECT_EQ(without.value()[0].sample_count, 4);
  EXPECT_DOUBLE_EQ(*without.value()[0].mean_intensity_g_per_kwh, 100.0);
  auto none = storage_->daily_totals(project, std::string("absent"));
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none.value().empty());

  // The API's totals by day read the same sums.
  auto by_day = storage_->totals(project, GroupBy::day);
  ASSERT_TRUE(by_day.ok());
  ASSERT_EQ(by_day.value().size(), 2u);
  EXPECT_EQ(by_day.value()[1].key, "2023-11-15");
  EXPECT_EQ(by_day.value()[1].sample_count, fifteenth.sample_count);
  EXPECT_EQ(by_day.value()[1].emissions_g, fifteenth.emissions_g);
}

TEST_P(StorageTest, SampleBucketsMergeEqualTimeSpans) {
  const auto project = make_project("p");
  register_ok(make_run(project, "r"));
  register_ok(make_run(project, "empty"));
  const double t0 = 1'700'000'000.0;
  for (int batch = 0; batch < 4; ++batch) insert_ok("r", make_samples(batch * 250, batch * 250 + 250, t0));

  auto buckets = storage_->sample_buckets("r", 100);
  ASSERT_TRUE(buckets.ok()) << buckets.error().message;
  ASSERT_GE(buckets.value().size(), 90u);
  ASSERT_LE(buckets.value().size(), 100u);
  std::int64_t samples = 0;
  double cpu = 0, gpu = 0, emissions = 0, duration = 0;
  for (std::size_t i = 0; i < buckets.value().size(); ++i) {
    const SampleBucket& bucket = buckets.value()[i];
    samples += bucket.sample_count;
    cpu += bucket.energy_cpu_j;
    gpu += bucket.energy_gpu_j;
    emissions += bucket.emissions_g;
    duration += bucket.duration_s;
    EXPECT_LE(bucket.start_unix_s, bucket.end_unix_s);
    if (i > 0) {
      EXPECT_GT(bucket.start_unix_s, buckets.value()[i - 1].start_unix_s);
    }
    ASSERT_TRUE(bucket.mean_intensity_g_per_kwh);  // the even seqs carry 300
    EXPECT_DOUBLE_EQ(*bucket.mean_intensity_g_per_kwh, 300.0);
  }
  EXPECT_EQ(samples, 1000);
  EXPECT_EQ(cpu, 1000.0);
  EXPECT_EQ(gpu, 2000.0);
  EXPECT_EQ(emissions, 250.0);
  EXPECT_EQ(duration, 1000.0);
  EXPECT_EQ(buckets.value().front().start_unix_s, t0 - 1.0);
  EXPECT_EQ(buckets.value().back().end_unix_s, t0 + 999.0);

  // No more samples than buckets: one per sample.
  auto each = storage_->sample_buckets("r", 5000);
  ASSERT_TRUE(each.ok());
  ASSERT_EQ(each.value().size(), 1000u);
  EXPECT_EQ(each.value()[7].end_unix_s, t0 + 7.0);
  EXPECT_EQ(each.value()[7].sample_count, 1);
  EXPECT_FALSE(each.value()[7].mean_intensity_g_per_kwh);  // odd seqs carry none

  auto one = storage_->sample_buckets("r", 1);
  ASSERT_TRUE(one.ok());
  ASSERT_EQ(one.value().size(), 1u);
  EXPECT_EQ(one.value()[0].sample_count, 1000);

  auto empty = storage_->sample_buckets("empty", 100);
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty.value().empty());
  auto unknown = storage_->sample_buckets("no-such-run", 100);
  ASSERT_TRUE(unknown.ok());
  EXPECT_TRUE(unknown.value().empty());
}

// Runs SQL on a database that no Storage has opened (to build an old schema by hand).
void run_sql(Backend backend, const std::string& url, const std::vector<std::string>& statements) {
  if (backend == Backend::sqlite) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(url.c_str(), &db), SQLITE_OK);
    for (const auto& sql : statements) {
      char* message = nullptr;
      EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &message), SQLITE_OK)
          << sql << ": " << (message ? message : "");
      sqlite3_free(message);
    }
    sqlite3_close(db);
    return;
  }
  const auto file = std::filesystem::temp_directory_path() / fmt::format("carbonmeter_sql_{}.sql", getpid());
  {
    std::ofstream out(file);
    for (const auto& sql : statements) out << sql << ";\n";
  }
  const auto command =
      fmt::format("psql '{}' -XqAt -v ON_ERROR_STOP=1 -f '{}' >/dev/null", url, file.string());
  EXPECT_EQ(std::system(command.c_str()), 0) << command;
  std::filesystem::remove(file);
}

TEST_P(StorageTest, MigrationTwoSumsTheSamplesStoredBeforeIt) {
  // A database at schema version 1 with samples, as carbonmeter 0.1 left it.
  std::string url;
  const std::string schema = schema_ + "_v1";
  if (GetParam() == Backend::sqlite) {
    url = url_ + ".v1";
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(url + suffix);
  } else {
    ASSERT_TRUE(postgres_reset_schema(base_url_, schema).ok());
    url = postgres_url_with_schema(base_url_, schema);
  }
  const auto& steps = GetParam() == Backend::sqlite ? sqlite_migrations() : postgres_migrations();
  std::vector<std::string> sql = {
      "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at DOUBLE PRECISION NOT NULL, "
      "description TEXT NOT NULL DEFAULT '')"};
  sql.insert(sql.end(), steps[0].statements.begin(), steps[0].statements.end());
  sql.push_back("INSERT INTO schema_migrations VALUES (1, 0, 'by hand')");
  sql.push_back("INSERT INTO projects (id, name, created_unix_s) VALUES (1, 'old', 0)");
  sql.push_back(
      "INSERT INTO runs (run_id, project_id, scope, node, started_unix_s, energy_cpu_j, emissions_g, "
      "sample_count) "
      "VALUES ('r', 1, 'process', 'n', 1700000000, 6, 3, 3)");
  // Two samples on 2023-11-14 (one with an intensity), one on the 15th (UTC).
  sql.push_back(
      "INSERT INTO samples VALUES ('r', 0, 1700006000, 1, 1, 0, 0, 0.5, 200), ('r', 1, 1700006001, 1, 2, 0, "
      "0, "
      "1, NULL), ('r', 2, 1700007000, 1, 3, 0, 0, 1.5, 400)");
  run_sql(GetParam(), url, sql);

  auto storage = GetParam() == Backend::sqlite ? open_sqlite_storage(url) : open_storage(url);
  ASSERT_TRUE(storage.ok()) << storage.error().message;
  EXPECT_EQ(storage.value()->schema_version(), 1);
  auto migrated = storage.value()->migrate();
  ASSERT_TRUE(migrated.ok()) << migrated.error().message;
  EXPECT_EQ(storage.value()->schema_version(), latest_version(GetParam()));
  auto days = storage.value()->daily_totals(1, std::nullopt);
  ASSERT_TRUE(days.ok()) << days.error().message;
  ASSERT_EQ(days.value().size(), 2u);
  EXPECT_EQ(utc_day_string(days.value()[0].day), "2023-11-14");
  EXPECT_EQ(days.value()[0].sample_count, 2);
  EXPECT_EQ(days.value()[0].energy_cpu_j, 3.0);
  EXPECT_EQ(days.value()[0].emissions_g, 1.5);
  EXPECT_DOUBLE_EQ(days.value()[0].mean_intensity_g_per_kwh.value_or(0), 200.0);
  EXPECT_EQ(days.value()[1].energy_cpu_j, 3.0);
  // New samples add to the sums the migration made.
  auto more = make_samples(3, 5, 1'700'007'000.0);
  ASSERT_TRUE(storage.value()->insert_samples("r", more).ok());
  days = storage.value()->daily_totals(1, std::nullopt);
  ASSERT_TRUE(days.ok());
  ASSERT_EQ(days.value().size(), 2u);
  EXPECT_EQ(days.value()[1].sample_count, 3);
  EXPECT_EQ(days.value()[1].energy_cpu_j, 5.0);
  // Migration 3 rebuilt runs (SQLite) to let scope 'cgroup' in; the run and its samples stayed.
  RunRecord cgroup_run;
  cgroup_run.run_id = "c";
  cgroup_run.project_id = 1;
  cgroup_run.scope = "cgroup";
  cgroup_run.job.node = "n";
  cgroup_run.started_unix_s = 1'700'000'000.0;
  auto registered = storage.value()->register_run(cgroup_run);
  ASSERT_TRUE(registered.ok()) << registered.error().message;
  auto old_run = storage.value()->find_run("r");
  ASSERT_TRUE(old_run.ok() && old_run.value());
  EXPECT_GE(old_run.value()->sample_count, 3);

  storage.value().reset();
  if (GetParam() == Backend::sqlite) {
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(url + suffix);
  } else {
    (void)postgres_reset_schema(base_url_, schema, true);
  }
}

TEST(PostgresStorage, ReconnectsOnceWhenTheConnectionBroke) {
  const char* url = postgres_url_or_null();
  ASSERT_NE(url, nullptr) << kNoPostgresMessage;
  const auto schema = fmt::format("cm_storage_reconnect_{}", getpid());
  ASSERT_TRUE(postgres_reset_schema(url, schema).ok());
  const auto application = fmt::format("carbonmeter_reconnect_{}", getpid());
  auto storage = open_storage(postgres_url_with_schema(url, schema) + "&application_name=" + application);
  ASSERT_TRUE(storage.ok()) << storage.error().message;
  ASSERT_TRUE(storage.value()->migrate().ok());
  ASSERT_TRUE(storage.value()->create_project("before").ok());
  // The server ends the connection (a restart, an idle timeout, a DBA).
  const auto kill = fmt::format(
      "psql '{}' -XAtqc \"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
      "application_name = '{}'\" >/dev/null",
      url, application);
  ASSERT_EQ(std::system(kill.c_str()), 0) << kill;
  auto found = storage.value()->find_project("before");
  ASSERT_TRUE(found.ok()) << found.error().message;
  EXPECT_TRUE(found.value());
  EXPECT_TRUE(storage.value()->create_project("after").ok());
  storage.value().reset();
  (void)postgres_reset_schema(url, schema, true);
}

TEST(OpenStorage, DispatchesOnTheUrl) {
  const auto path =
      (std::filesystem::temp_directory_path() / fmt::format("carbonmeter_open_storage_{}.db", getpid()))
          .string();
  for (const auto& url : {"sqlite:" + path, path}) {
    auto storage = open_storage(url);
    ASSERT_TRUE(storage.ok()) << storage.error().message;
    ASSERT_TRUE(storage.value()->migrate().ok());
    EXPECT_GE(storage.value()->schema_version(), 1);
  }
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
  auto unknown = open_storage("mysql://x/y");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().message.find("postgresql://"), std::string::npos);
  EXPECT_FALSE(open_storage("sqlite:").ok());
  auto missing_dir = open_storage("sqlite:/nonexistent-dir/x/carbonmeter.db");
  ASSERT_FALSE(missing_dir.ok());
  EXPECT_NE(missing_dir.error().message.find("/nonexistent-dir/x/carbonmeter.db"), std::string::npos);
}

TEST(OpenStorage, ABrokenPostgresUrlGivesAClearError) {
  // Nothing listens on port 1: the connection is refused at once.
  auto storage = open_storage("postgresql://someone:s3cret@127.0.0.1:1/nothing");
  ASSERT_FALSE(storage.ok());
  const auto& message = storage.error().message;
  EXPECT_NE(message.find("cannot connect to PostgreSQL"), std::string::npos) << message;
  EXPECT_NE(message.find("127.0.0.1:1"), std::string::npos) << message;
  EXPECT_EQ(message.find("s3cret"), std::string::npos) << "the password leaked: " << message;
  auto garbage = open_storage("postgresql://[not a url");
  EXPECT_FALSE(garbage.ok());

  const char* url = postgres_url_or_null();
  ASSERT_NE(url, nullptr) << kNoPostgresMessage;
  auto wrong_database = open_storage(std::string(url) + "_missing");
  ASSERT_FALSE(wrong_database.ok());
  EXPECT_NE(wrong_database.error().message.find("does not exist"), std::string::npos)
      << wrong_database.error().message;
}

}  // namespace
}  // namespace carbonmeter::server
