// SQLite back end of Storage: one connection per Storage behind a mutex (WAL, busy_timeout,
// foreign keys, synchronous=NORMAL); every statement prepared once, values always bound.
#include <fmt/format.h>
#include <sqlite3.h>

#include <cmath>
#include <map>
#include <mutex>
#include <utility>

#include "server/migrations.hpp"
#include "server/storage.hpp"
#include "server/storage_rules.hpp"

namespace carbonmeter::server {
namespace {

constexpr int kBusyTimeoutMs = 10000;

// A prepared statement, reset and unbound when the scope ends.
class Statement {
 public:
  explicit Statement(sqlite3_stmt* stmt) : stmt_(stmt) {}
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }

  Statement& bind(int index, std::int64_t value) {
    sqlite3_bind_int64(stmt_, index, value);
    return *this;
  }
  Statement& bind(int index, double value) {
    sqlite3_bind_double(stmt_, index, value);
    return *this;
  }
  Statement& bind(int index, const std::string& value) {
    sqlite3_bind_text(stmt_, index, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT);
    return *this;
  }
  template <class T>
  Statement& bind(int index, const std::optional<T>& value) {
    if (!value) {
      sqlite3_bind_null(stmt_, index);
      return *this;
    }
    if constexpr (std::is_same_v<T, int>) {
      return bind(index, static_cast<std::int64_t>(*value));
    } else {
      return bind(index, *value);
    }
  }
  // SQLITE_ROW, SQLITE_DONE or an error code.
  int step() { return sqlite3_step(stmt_); }

  std::int64_t int64(int column) const { return sqlite3_column_int64(stmt_, column); }
  double real(int column) const { return sqlite3_column_double(stmt_, column); }
  bool is_null(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }
  std::string text(int column) const {
    const auto* data = sqlite3_column_text(stmt_, column);
    return data ? std::string(reinterpret_cast<const char*>(data),
                              static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column)))
                : std::string();
  }
  std::optional<double> optional_real(int column) const {
    if (is_null(column)) return std::nullopt;
    return real(column);
  }
  std::optional<int> optional_int(int column) const {
    if (is_null(column)) return std::nullopt;
    return static_cast<int>(int64(column));
  }
  std::optional<std::string> optional_text(int column) const {
    if (is_null(column)) return std::nullopt;
    return text(column);
  }

 private:
  sqlite3_stmt* stmt_;
};

constexpr const char* kRunColumns =
    "run_id, project_id, experiment, scope, job_id, node, rank, local_rank, world_size, "
    "started_unix_s, ended_unix_s, metadata_json, energy_cpu_j, energy_ram_j, energy_gpu_j, "
    "emissions_g, sample_count";

RunRecord read_run(const Statement& s) {
  RunRecord run;
  run.run_id = s.text(0);
  run.project_id = s.int64(1);
  run.experiment = s.text(2);
  run.scope = s.text(3);
  run.job.job_id = s.optional_text(4);
  run.job.node = s.text(5);
  run.job.rank = s.optional_int(6);
  run.job.local_rank = s.optional_int(7);
  run.job.world_size = s.optional_int(8);
  run.started_unix_s = s.real(9);
  run.ended_unix_s = s.optional_real(10);
  run.metadata_json = s.text(11);
  run.energy_cpu_j = s.real(12);
  run.energy_ram_j = s.real(13);
  run.energy_gpu_j = s.real(14);
  run.emissions_g = s.real(15);
  run.sample_count = s.int64(16);
  return run;
}

// The UTC day of a sample, as migration 2 and PostgreSQL compute it: floor(t / 86400).
std::int64_t utc_day_of(double t_unix_s) { return static_cast<std::int64_t>(std::floor(t_unix_s / 86400.0)); }

// A batch's new samples summed: one day's share (added to run_days), or all of them (the run's row).
struct DaySums {
  double energy_cpu_j = 0, energy_ram_j = 0, energy_gpu_j = 0, emissions_g = 0;
  std::int64_t sample_count = 0;
  double intensity_sum_g_per_kwh = 0;
  std::int64_t intensity_count = 0;

  void add(const SampleRecord& sample) {
    energy_cpu_j += sample.energy_cpu_j;
    energy_ram_j += sample.energy_ram_j;
    energy_gpu_j += sample.energy_gpu_j;
    emissions_g += sample.emissions_g;
    ++sample_count;
    if (sample.intensity_g_per_kwh) {
      intensity_sum_g_per_kwh += *sample.intensity_g_per_kwh;
      ++intensity_count;
    }
  }
};

class SqliteStorage final : public Storage {
 public:
  SqliteStorage(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  ~SqliteStorage() override {
    for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
    sqlite3_close_v2(db_);
  }

  Status configure() {
    sqlite3_busy_timeout(db_, kBusyTimeoutMs);
    for (const char* pragma :
         {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL", "PRAGMA foreign_keys=ON"}) {
      if (auto status = exec_locked(pragma); !status) return status;
    }
    return Ok{};
  }

  Status migrate() override {
    std::lock_guard lock(mutex_);
    if (auto status =
            exec_locked("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
                        "applied_at REAL NOT NULL, description TEXT NOT NULL DEFAULT '')");
        !status) {
      return status;
    }
    const auto& steps = sqlite_migrations();
    const int latest = steps.empty() ? 0 : steps.back().version;
    for (const auto& step : steps) {
      // PRAGMA foreign_keys is a no-op inside a transaction: it is switched around it.
      if (step.sqlite_foreign_keys_off)
        if (auto off = exec_locked("PRAGMA foreign_keys=OFF"); !off) return off;
      auto status = transaction([&]() -> Status {
        auto current = version_locked();
        if (!current) return current.error();
        if (current.value() > latest) {
          return Error{
              fmt::format("the database {} has schema version {}, newer than this "
                          "carbonmeter knows ({}): upgrade carbonmeter",
                          path_, current.value(), latest)};
        }
        if (current.value() >= step.version) return Ok{};
        for (const auto& sql : step.statements) {
          if (auto applied = exec_locked(sql); !applied) {
            return Error{fmt::format("migration {} ({}) failed: {}", step.version, step.description,
                                     applied.error().message)};
          }
        }
        if (step.sqlite_foreign_keys_off) {
          auto check = prepare("PRAGMA foreign_key_check");
          if (!check) return check.error();
          Statement s(check.value());
          if (s.step() == SQLITE_ROW)
            return Error{fmt::format("migration {} ({}) left rows without their parent in table {}", step.version,
                                     step.description, s.text(0))};
        }
        auto insert = prepare(
            "INSERT INTO schema_migrations (version, applied_at, description) "
            "VALUES (?, ?, ?)");
        if (!insert) return insert.error();
        Statement s(insert.value());
        s.bind(1, static_cast<std::int64_t>(step.version)).bind(2, now_unix_s()).bind(3, step.description);
        return done(s.step(), "record the migration");
      });
      if (step.sqlite_foreign_keys_off)
        if (auto on = exec_locked("PRAGMA foreign_keys=ON"); !on) return on;
      if (!status) return status;
    }
    return Ok{};
  }

  int schema_version() override {
    std::lock_guard lock(mutex_);
    auto version = version_locked();
    return version ? version.value() : 0;
  }

  Result<Project> create_project(const std::string& name) override {
    if (name.empty()) return Error{"the project name is empty: give the project a name"};
    std::lock_guard lock(mutex_);
    auto stmt = prepare(
        "INSERT INTO projects (name, created_unix_s) VALUES (?, ?) "
        "ON CONFLICT (name) DO NOTHING RETURNING id, name, created_unix_s");
    if (!stmt) return stmt.error();
    Statement s(stmt.value());
    s.bind(1, name).bind(2, now_unix_s());
    const int rc = s.step();
    if (rc == SQLITE_DONE) {
      return Error{
          fmt::format("a project named '{}' exists already: pick another name, or use the "
                      "existing project",
                      name)};
    }
    if (rc != SQLITE_ROW) return error("create the project");
    Project project{s.int64(0), s.text(1), s.real(2)};
    return project;
  }

  Result<std::optional<Project>> find_project(const std::string& name) override {
    std::lock_guard lock(mutex_);
    auto stmt = prepare("SELECT id, name, created_unix_s FROM projects WHERE name = ?");
    if (!stmt) return stmt.error();
    Statement s(stmt.value());
    s.bind(1, name);
    const int rc = s.step();
    if (rc == SQLITE_DONE) return std::optional<Project>();
    if (rc != SQLITE_ROW) return error("find the project");
    return std::optional<Project>(Project{s.int64(0), s.text(1), s.real(2)});
  }

  Result<std::vector<Project>> list_projects() override {
    std::lock_guard lock(mutex_);
    auto stmt = prepare("SELECT id, name, created_unix_s FROM projects ORDER BY name");
    if (!stmt) return stmt.error();
    Statement s(stmt.value());
    std::vector<Project> projects;
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) projects.push_back({s.int64(0), s.text(1), s.real(2)});
    if (rc != SQLITE_DONE) return error("list the projects");
    return projects;
  }

  Result<TokenRecord> add_token(const TokenRecord& token) override {
    if (token.sha256_hex.size() != 64) {
      return Error{"a token is stored by its SHA-256 as 64 hex digits: hash the secret first"};
    }
    std::lock_guard lock(mutex_);
    auto stmt = prepare(
        "INSERT INTO tokens (project_id, sha256_hex, label, created_unix_s) "
        "VALUES (?, ?, ?, ?) ON CONFLICT (sha256_hex) DO NOTHING RETURNING id, "
        "created_unix_s");
    if (!stmt) return stmt.error();
    Statement s(stmt.value());
    s.bind(1, token.project_id).bind(2, token.sha256_hex).bind(3, token.label).bind(4, now_unix_s());
    const int rc = s.step();
    if (rc == SQLITE_DONE) return Error{"this token exists already: generate a new secret"};
    if (rc == SQLITE_CONSTRAINT) {
      return Error{fmt::format("project {} does not exist: create the project before its tokens",
                               token.project_id.value_or(0))};
    }
    if (rc != SQLITE_ROW) return error("add the token");
    TokenRecord stored = token;
    stored.id = s.int64(0);
    stored.created_unix_s = s.real(1);
    return stored;
  }

  Result<std::optional<TokenRecord>> find_token(const std::string& sha256_hex) override {
    std::lock_guard lock(mutex_);
    auto stmt = prepare(
        "SELECT id, project_id, sha256_hex, label, created_unix_s FROM tokens "
        "WHERE sha256_hex = ?");
    if (!stmt) return stmt.error();
    Statement s(stmt.value());
    s.bind(1, sha256_hex);
    const int rc = s.step();
    if (rc == SQLITE_DONE) return std::optional<TokenRecord>();
    if (rc != SQLITE_ROW) return error("find the token");
    TokenRecord token;
    token.id = s.int64(0);
    if (!s.is_null(1)) token.project_id = s.int64(1);
    token.sha256_hex = s.text(2);
    token.label = s.text(3);
    token.created_unix_s = s.real(4);
    return std::optional<TokenRecord>(token);
  }

  Result<RegisteredRun> register_run(const RunRecord& run) override {
    if (auto valid = validate_run(run); !valid) return valid.error();
    std::lock_guard lock(mutex_);
    RegisteredRun result;
    auto status = transaction([&]() -> Status {
      auto existing = find_run_locked(run.run_id);
      if (!existing) return existing.error();
      if (existing.value()) {
        if (auto retry = check_retry_of(*existing.value(), run); !retry) return retry;
        result.run = *existing.value();
        return Ok{};
      }
      if (run.job.job_id) {
        auto stmt =
            prepare(fmt::format("SELECT {} FROM runs WHERE project_id = ? AND job_id = ?", kRunColumns));
        if (!stmt) return stmt.error();
        Statement s(stmt.value());
        s.bind(1, run.project_id).bind(2, *run.job.job_id);
        std::vector<RunRecord> same_job;
        int rc;
        while ((rc = s.step()) == SQLITE_ROW) same_job.push_back(read_run(s));
        if (rc != SQLITE_DONE) return error("read the job's runs");
        if (auto rule = check_multi_node_rule(run, same_job); !rule) return rule;
      }
      auto stmt = prepare(
          "INSERT INTO runs (run_id, project_id, experiment, scope, job_id, node, rank, "
          "local_rank, world_size, started_unix_s, ended_unix_s, metadata_json) "
          "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
      if (!stmt) return stmt.error();
      Statement s(stmt.value());
      s.bind(1, run.run_id).bind(2, run.project_id).bind(3, run.experiment).bind(4, run.scope);
      s.bind(5, run.job.job_id).bind(6, run.job.node).bind(7, run.job.rank);
      s.bind(8, run.job.local_rank).bind(9, run.job.world_size).bind(10, run.started_unix_s);
      s.bind(11, run.ended_unix_s).bind(12, run.metadata_json);
      const int rc = s.step();
      if (rc == SQLITE_CONSTRAINT) {
        return Error{
            fmt::format("run {} cannot be stored: project {} does not exist, or another "
                        "run of job {} holds the same node or rank; check the project "
                        "and the job identity",
                        run.run_id, run.project_id, run.job.job_id.value_or(""))};
      }
      if (auto inserted = done(rc, "store the run"); !inserted) return inserted;
      RunRecord stored = run;
      stored.energy_cpu_j = stored.energy_ram_j = stored.energy_gpu_j = stored.emissions_g = 0.0;
      stored.sample_count = 0;
      result = RegisteredRun{std::move(stored), true};
      return Ok{};
    });
    if (!status) return status.error();
    return result;
  }

  Result<std::optional<RunRecord>> find_run(const std::string& run_id) override {
    std::lock_guard lock(mutex_);
    return find_run_locked(run_id);
  }

  Result<std::vector<RunRecord>> list_runs(const RunFilter& filter) override {
    std::lock_guard lock(mutex_);
    auto stmt = prepare(
        fmt::format("SELECT {} FROM runs WHERE (?1 IS NULL OR project_id = ?1) AND (?2 IS NULL OR "
                    "experiment = ?2) AND (?3 IS NULL OR job_id = ?3) ORDER BY started_unix_s DESC, run_id "
                    "LIMIT ?4 OFFSET ?5",
                    kRunColumns));
    if (!stmt) return stmt.error();
    Statement s(stmt.value());
    s.bind(1, filter.project_id).bind(2, filter.experiment).bind(3, filter.job_id);
    s.bind(4, filter.limit).bind(5, filter.offset);
    std::vector<RunRecord> runs;
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) runs.push_back(read_run(s));
    if (rc != SQLITE_DONE) return error("list the runs");
    return runs;
  }

  Status finish_run(const std::string& run_id, double ended_unix_s) override {
    std::lock_guard lock(mutex_);
    auto stmt = prepare("UPDATE runs SET ended_unix_s = ? WHERE run_id = ?");
    if (!stmt) return stmt.error();
    Statement s(stmt.value());
    s.bind(1, ended_unix_s).bind(2, run_id);
    if (auto status = done(s.step(), "finish the run"); !status) return status;
    if (sqlite3_changes(db_) == 0) {
      return Error{fmt::format("run {} does not exist: register the run first", run_id)};
    }
    return Ok{};
  }

  Result<InsertOutcome> insert_samples(const std::string& run_id,
                                       const std::vector<SampleRecord>& samples) override {
    if (auto valid = validate_samples(samples); !valid) return valid.error();
    std::lock_guard lock(mutex_);
    InsertOutcome outcome;
    auto status = transaction([&]() -> Status {
      {
        auto stmt = prepare("SELECT 1 FROM runs WHERE run_id = ?");
        if (!stmt) return stmt.error();
        Statement s(stmt.value());
        s.bind(1, run_id);
        const int rc = s.step();
        if (rc == SQLITE_DONE) {
          return Error{fmt::format("run {} does not exist: register the run before its samples", run_id)};
        }
        if (rc != SQLITE_ROW) return error("find the run");
      }
      auto stmt = prepare(
          "INSERT INTO samples (run_id, seq, t_unix_s, dt_s, energy_cpu_j, energy_ram_j, "
          "energy_gpu_j, emissions_g, intensity_g_per_kwh) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
          "ON CONFLICT (run_id, seq) DO NOTHING");
      if (!stmt) return stmt.error();
      // The new samples' sums, per day (run_days) and in all (the run's row).
      std::map<std::int64_t, DaySums> days;
      DaySums total;
      for (const auto& sample : samples) {
        Statement s(stmt.value());
        s.bind(1, run_id).bind(2, sample.seq).bind(3, sample.t_unix_s).bind(4, sample.dt_s);
        s.bind(5, sample.energy_cpu_j).bind(6, sample.energy_ram_j).bind(7, sample.energy_gpu_j);
        s.bind(8, sample.emissions_g).bind(9, sample.intensity_g_per_kwh);
        if (auto inserted = done(s.step(), "store the samples"); !inserted) return inserted;
        if (sqlite3_changes(db_) == 1) {
          total.add(sample);
          days[utc_day_of(sample.t_unix_s)].add(sample);
        }
      }
      outcome.inserted = total.sample_count;
      outcome.duplicates = static_cast<std::int64_t>(samples.size()) - total.sample_count;
      if (total.sample_count == 0) return Ok{};
      if (auto added = add_run_days(run_id, days); !added) return added;
      auto update = prepare(
          "UPDATE runs SET energy_cpu_j = energy_cpu_j + ?, energy_ram_j = energy_ram_j + ?, "
          "energy_gpu_j = energy_gpu_j + ?, emissions_g = emissions_g + ?, sample_count = "
          "sample_count + ? WHERE run_id = ?");
      if (!update) return update.error();
      Statement s(update.value());
      s.bind(1, total.energy_cpu_j).bind(2, total.energy_ram_j).bind(3, total.energy_gpu_j);
      s.bind(4, total.emissions_g).bind(5, total.sample_count).bind(6, run_id);
      return done(s.step(), "update the run's sums");
    });
    if (!status) return status.error();
    return outcome;
  }

  Result<std::vector<SampleRecord>> samples(const std::string& run_id, std::int64_t after_seq,
                                            std::int64_t limit) override {
    std::lock_guard lock(mutex_);
    auto stmt = prepare(
        "SELECT seq, t_unix_s, dt_s, energy_cpu_j, energy_ram_j, energy_gpu_j, emissions_g, "
        "intensity_g_per_kwh FROM samples WHERE run_id = ? AND seq > ? ORDER BY seq LIMIT ?");
    if (!stmt) return stmt.error();
    Statement s(stmt.value());
    s.bind(1, run_id).bind(2, after_seq).bind(3, limit);
    std::vector<SampleRecord> result;
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) {
      SampleRecord sample;
      sample.seq = s.int64(0);
      sample.t_unix_s = s.real(1);
      sample.dt_s = s.real(2);
      sample.energy_cpu_j = s.real(3);
      sample.energy_ram_j = s.real(4);
      sample.energy_gpu_j = s.real(5);
      sample.emissions_g = s.real(6);
      sample.intensity_g_per_kwh = s.optional_real(7);
      result.push_back(sample);
    }
    if (rc != SQLITE_DONE) return error("read the samples");
    return result;
  }

  Result<std::vector<std::string>> list_experiments(std::int64_t project_id) override {
    std::lock_guard lock(mutex_);
    auto stmt = prepare(
        "SELECT DISTINCT experiment FROM runs WHERE project_id = ? AND "
        "experiment <> '' ORDER BY experiment");
    if (!stmt) return stmt.error();
    Statement s(stmt.value());
    s.bind(1, project_id);
    std::vector<std::string> result;
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) result.push_back(s.text(0));
    if (rc != SQLITE_DONE) return error("list the experiments");
    return result;
  }

  Result<std::vector<Totals>> totals(std::int64_t project_id, GroupBy group_by) override {
    if (group_by == GroupBy::day) {
      auto days = daily_totals(project_id, std::nullopt);
      if (!days) return days.error();
      return totals_by_day(days.value());
    }
    std::lock_guard lock(mutex_);
    const char* sql = nullptr;
    switch (group_by) {
      case GroupBy::experiment:
        sql =
            "SELECT experiment, sum(energy_cpu_j), sum(energy_ram_j), sum(energy_gpu_j), "
            "sum(emissions_g), count(*), sum(sample_count) FROM runs WHERE project_id = ? "
            "GROUP BY experiment ORDER BY experiment";
        break;
      case GroupBy::job:
        sql =
            "SELECT coalesce(job_id, ''), sum(energy_cpu_j), sum(energy_ram_j), "
            "sum(energy_gpu_j), sum(emissions_g), count(*), sum(sample_count) FROM runs WHERE "
            "project_id = ? GROUP BY coalesce(job_id, '') ORDER BY 1";
        break;
      case GroupBy::run:
        sql =
            "SELECT run_id, energy_cpu_j, energy_ram_j, energy_gpu_j, emissions_g, 1, "
            "sample_count FROM runs WHERE project_id = ? ORDER BY run_id";
        break;
      case GroupBy::day:  // answered above, from daily_totals
        return std::vector<Totals>{};
    }
    auto stmt = prepare(sql);
    if (!stmt) return stmt.error();
    Statement s(stmt.value());
    s.bind(1, project_id);
    std::vector<Totals> result;
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) {
      Totals t;
      t.key = s.text(0);
      t.energy_cpu_j = s.real(1);
      t.energy_ram_j = s.real(2);
      t.energy_gpu_j = s.real(3);
      t.emissions_g = s.real(4);
      t.run_count = s.int64(5);
      t.sample_count = s.int64(6);
      result.push_back(std::move(t));
    }
    if (rc != SQLITE_DONE) return error("compute the totals");
    return result;
  }

  Result<std::vector<DayTotals>> daily_totals(std::int64_t project_id,
                                              const std::optional<std::string>& experiment) override {
    std::lock_guard lock(mutex_);
    auto stmt = prepare(
        "SELECT d.day, sum(d.energy_cpu_j), sum(d.energy_ram_j), sum(d.energy_gpu_j), "
        "sum(d.emissions_g), count(*), sum(d.sample_count), sum(d.intensity_sum_g_per_kwh), "
        "sum(d.intensity_count) FROM run_days d JOIN runs r ON r.run_id = d.run_id WHERE "
        "r.project_id = ?1 AND (?2 IS NULL OR r.experiment = ?2) GROUP BY d.day ORDER BY d.day");
    if (!stmt) return stmt.error();
    Statement s(stmt.value());
    s.bind(1, project_id).bind(2, experiment);
    std::vector<DayTotals> result;
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) {
      DayTotals day;
      day.day = s.int64(0);
      day.energy_cpu_j = s.real(1);
      day.energy_ram_j = s.real(2);
      day.energy_gpu_j = s.real(3);
      day.emissions_g = s.real(4);
      day.run_count = s.int64(5);
      day.sample_count = s.int64(6);
      if (const std::int64_t count = s.int64(8); count > 0) {
        day.mean_intensity_g_per_kwh = s.real(7) / static_cast<double>(count);
      }
      result.push_back(day);
    }
    if (rc != SQLITE_DONE) return error("compute the daily totals");
    return result;
  }

  Result<std::vector<SampleBucket>> sample_buckets(const std::string& run_id,
                                                   std::int64_t max_buckets) override {
    std::lock_guard lock(mutex_);
    auto bounds = prepare("SELECT count(*), min(t_unix_s), max(t_unix_s) FROM samples WHERE run_id = ?");
    if (!bounds) return bounds.error();
    std::int64_t count = 0;
    double first_t = 0.0, span_s = 0.0;
    {
      Statement s(bounds.value());
      s.bind(1, run_id);
      if (s.step() != SQLITE_ROW) return error("read the run's sample times");
      count = s.int64(0);
      first_t = s.real(1);
      span_s = s.real(2) - first_t;
    }
    std::vector<SampleBucket> result;
    if (count == 0 || max_buckets < 1) return result;
    const bool one_per_sample = count <= max_buckets;
    // Bucket k holds the samples whose end time falls in the k-th of max_buckets equal spans.
    auto stmt = prepare(fmt::format(
        "SELECT {}, min(t_unix_s - dt_s), max(t_unix_s), sum(dt_s), sum(energy_cpu_j), "
        "sum(energy_ram_j), sum(energy_gpu_j), sum(emissions_g), avg(intensity_g_per_kwh), count(*) "
        "FROM samples WHERE run_id = ?1 GROUP BY 1 ORDER BY 1",
        one_per_sample ? "seq" : "min(CAST((t_unix_s - ?2) * ?3 / ?4 AS INTEGER), ?3 - 1)"));
    if (!stmt) return stmt.error();
    Statement s(stmt.value());
    s.bind(1, run_id);
    if (!one_per_sample) s.bind(2, first_t).bind(3, max_buckets).bind(4, span_s > 0 ? span_s : 1.0);
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) {
      SampleBucket bucket;
      bucket.start_unix_s = s.real(1);
      bucket.end_unix_s = s.real(2);
      bucket.duration_s = s.real(3);
      bucket.energy_cpu_j = s.real(4);
      bucket.energy_ram_j = s.real(5);
      bucket.energy_gpu_j = s.real(6);
      bucket.emissions_g = s.real(7);
      bucket.mean_intensity_g_per_kwh = s.optional_real(8);
      bucket.sample_count = s.int64(9);
      result.push_back(bucket);
    }
    if (rc != SQLITE_DONE) return error("group the run's samples");
    return result;
  }

 private:
  // Adds one batch's new samples to the run's per-day sums (inside insert_samples' transaction).
  Status add_run_days(const std::string& run_id, const std::map<std::int64_t, DaySums>& days) {
    auto stmt = prepare(
        "INSERT INTO run_days (run_id, day, energy_cpu_j, energy_ram_j, energy_gpu_j, emissions_g, "
        "sample_count, intensity_sum_g_per_kwh, intensity_count) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (run_id, day) DO UPDATE SET energy_cpu_j = energy_cpu_j + excluded.energy_cpu_j, "
        "energy_ram_j = energy_ram_j + excluded.energy_ram_j, energy_gpu_j = energy_gpu_j + "
        "excluded.energy_gpu_j, emissions_g = emissions_g + excluded.emissions_g, sample_count = "
        "sample_count + excluded.sample_count, intensity_sum_g_per_kwh = intensity_sum_g_per_kwh + "
        "excluded.intensity_sum_g_per_kwh, intensity_count = intensity_count + excluded.intensity_count");
    if (!stmt) return stmt.error();
    for (const auto& [day, sums] : days) {
      Statement s(stmt.value());
      s.bind(1, run_id).bind(2, day).bind(3, sums.energy_cpu_j).bind(4, sums.energy_ram_j);
      s.bind(5, sums.energy_gpu_j).bind(6, sums.emissions_g).bind(7, sums.sample_count);
      s.bind(8, sums.intensity_sum_g_per_kwh).bind(9, sums.intensity_count);
      if (auto added = done(s.step(), "update the run's daily sums"); !added) return added;
    }
    return Ok{};
  }

  Error error(const std::string& what) const {
    return Error{
        fmt::format("SQLite could not {} in {}: {} (check that the file is writable and "
                    "the disk is not full)",
                    what, path_, sqlite3_errmsg(db_))};
  }

  Status done(int rc, const std::string& what) const {
    if (rc == SQLITE_DONE || rc == SQLITE_ROW) return Ok{};
    return error(what);
  }

  Result<sqlite3_stmt*> prepare(const std::string& sql) {
    if (auto it = statements_.find(sql); it != statements_.end()) return it->second;
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &stmt,
                           nullptr) != SQLITE_OK) {
      return error("prepare a statement");
    }
    statements_.emplace(sql, stmt);
    return stmt;
  }

  // Runs a statement without values (DDL, pragmas, BEGIN/COMMIT).
  Status exec_locked(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), static_cast<int>(sql.size()), &stmt, nullptr) != SQLITE_OK) {
      return error("prepare '" + sql.substr(0, 60) + "'");
    }
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    }
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE) return error("run '" + sql.substr(0, 60) + "'");
    return Ok{};
  }

  // BEGIN IMMEDIATE (takes the write lock at once, so checks and writes see one state) ...
  // COMMIT, or ROLLBACK when `body` fails.
  template <class Body>
  Status transaction(Body&& body) {
    if (auto begin = exec_locked("BEGIN IMMEDIATE"); !begin) return begin;
    Status status = body();
    if (!status) {
      (void)exec_locked("ROLLBACK");
      return status;
    }
    if (auto commit = exec_locked("COMMIT"); !commit) {
      (void)exec_locked("ROLLBACK");
      return commit;
    }
    return Ok{};
  }

  Result<int> version_locked() {
    auto stmt = prepare("SELECT coalesce(max(version), 0) FROM schema_migrations");
    if (!stmt) return stmt.error();
    Statement s(stmt.value());
    if (s.step() != SQLITE_ROW) return error("read the schema version");
    return static_cast<int>(s.int64(0));
  }

  Result<std::optional<RunRecord>> find_run_locked(const std::string& run_id) {
    auto stmt = prepare(fmt::format("SELECT {} FROM runs WHERE run_id = ?", kRunColumns));
    if (!stmt) return stmt.error();
    Statement s(stmt.value());
    s.bind(1, run_id);
    const int rc = s.step();
    if (rc == SQLITE_DONE) return std::optional<RunRecord>();
    if (rc != SQLITE_ROW) return error("find the run");
    return std::optional<RunRecord>(read_run(s));
  }

  std::mutex mutex_;
  sqlite3* db_;
  std::string path_;
  std::map<std::string, sqlite3_stmt*> statements_;
};

}  // namespace

Result<std::unique_ptr<Storage>> open_sqlite_storage(const std::string& path) {
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &db,
                                 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close_v2(db);
    return Error{
        fmt::format("cannot open the SQLite database {}: {} (check that its folder exists "
                    "and is writable)",
                    path, message)};
  }
  auto storage = std::make_unique<SqliteStorage>(db, path);
  if (auto status = storage->configure(); !status) return status.error();
  return std::unique_ptr<Storage>(std::move(storage));
}

}  // namespace carbonmeter::server
