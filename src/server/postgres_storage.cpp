// PostgreSQL back end of Storage (libpq): a few connections (PostgresPool), each a PostgresStorage
// behind a mutex, reset once when it broke; every statement through PQexecParams with bound values
// (text format).
#include "server/postgres_storage.hpp"

#include <fmt/format.h>
#include <libpq-fe.h>

#include <array>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <type_traits>
#include <utility>

#include "server/migrations.hpp"
#include "server/storage.hpp"
#include "server/storage_rules.hpp"

namespace carbonmeter::server {
namespace {

constexpr std::int64_t kMigrationLockKey = 0x636172626f6e;  // "carbon"
constexpr const char* kUniqueViolation = "23505";
constexpr const char* kForeignKeyViolation = "23503";

void ignore_notice(void*, const char*) {}

class PgResult {
 public:
  explicit PgResult(PGresult* result) : result_(result) {}
  PgResult(PgResult&& other) noexcept : result_(std::exchange(other.result_, nullptr)) {}
  PgResult& operator=(PgResult&& other) noexcept {
    std::swap(result_, other.result_);
    return *this;
  }
  PgResult(const PgResult&) = delete;
  PgResult& operator=(const PgResult&) = delete;
  ~PgResult() { PQclear(result_); }
  PGresult* get() const { return result_; }

  int rows() const { return PQntuples(result_); }
  bool is_null(int row, int column) const { return PQgetisnull(result_, row, column) != 0; }
  std::string text(int row, int column) const { return PQgetvalue(result_, row, column); }
  std::int64_t int64(int row, int column) const {
    return std::strtoll(PQgetvalue(result_, row, column), nullptr, 10);
  }
  double real(int row, int column) const { return std::strtod(PQgetvalue(result_, row, column), nullptr); }
  std::optional<std::string> optional_text(int row, int column) const {
    if (is_null(row, column)) return std::nullopt;
    return text(row, column);
  }
  std::optional<int> optional_int(int row, int column) const {
    if (is_null(row, column)) return std::nullopt;
    return static_cast<int>(int64(row, column));
  }
  std::optional<double> optional_real(int row, int column) const {
    if (is_null(row, column)) return std::nullopt;
    return real(row, column);
  }

 private:
  PGresult* result_;
};

// Values bound to $1, $2, ... in text format; std::nullopt is NULL.
class Params {
 public:
  Params& add(std::int64_t value) {
    values_.emplace_back(std::to_string(value));
    return *this;
  }
  Params& add(int value) { return add(static_cast<std::int64_t>(value)); }
  Params& add(double value) {
    values_.emplace_back(double_to_text(value));
    return *this;
  }
  Params& add(const std::string& value) {
    values_.emplace_back(value);
    return *this;
  }
  Params& add(const char* value) { return add(std::string(value)); }
  template <class T>
  Params& add(const std::optional<T>& value) {
    if (!value) {
      values_.emplace_back(std::nullopt);
      return *this;
    }
    return add(*value);
  }

  int size() const { return static_cast<int>(values_.size()); }
  std::vector<const char*> pointers() const {
    std::vector<const char*> result;
    result.reserve(values_.size());
    for (const auto& value : values_) result.push_back(value ? value->c_str() : nullptr);
    return result;
  }

 private:
  std::vector<std::optional<std::string>> values_;
};

// A failed statement: the message and SQLSTATE (e.g. 23505 for a unique violation).
struct PgError {
  std::string message;
  std::string sqlstate;
};

constexpr const char* kRunColumns =
    "run_id, project_id, experiment, scope, job_id, node, rank, local_rank, world_size, "
    "started_unix_s, ended_unix_s, metadata_json, energy_cpu_j, energy_ram_j, energy_gpu_j, "
    "emissions_g, sample_count";

RunRecord read_run(const PgResult& r, int row) {
  RunRecord run;
  run.run_id = r.text(row, 0);
  run.project_id = r.int64(row, 1);
  run.experiment = r.text(row, 2);
  run.scope = r.text(row, 3);
  run.job.job_id = r.optional_text(row, 4);
  run.job.node = r.text(row, 5);
  run.job.rank = r.optional_int(row, 6);
  run.job.local_rank = r.optional_int(row, 7);
  run.job.world_size = r.optional_int(row, 8);
  run.started_unix_s = r.real(row, 9);
  run.ended_unix_s = r.optional_real(row, 10);
  run.metadata_json = r.text(row, 11);
  run.energy_cpu_j = r.real(row, 12);
  run.energy_ram_j = r.real(row, 13);
  run.energy_gpu_j = r.real(row, 14);
  run.emissions_g = r.real(row, 15);
  run.sample_count = r.int64(row, 16);
  return run;
}

Project read_project(const PgResult& r, int row) {
  return Project{r.int64(row, 0), r.text(row, 1), r.real(row, 2)};
}

// "{1,2,NULL}": a PostgreSQL array literal, bound as one parameter.
template <class T, class Get>
std::string array_literal(const std::vector<SampleRecord>& samples, Get get) {
  std::string text = "{";
  for (std::size_t i = 0; i < samples.size(); ++i) {
    if (i) text += ',';
    const auto value = get(samples[i]);
    if constexpr (std::is_same_v<T, std::optional<double>>) {
      text += value ? double_to_text(*value) : "NULL";
    } else if constexpr (std::is_same_v<T, double>) {
      text += double_to_text(value);
    } else {
      text += std::to_string(value);
    }
  }
  text += '}';
  return text;
}

PGconn* connect(const std::string& url, std::string& error) {
  PGconn* conn = PQconnectdb(url.c_str());
  if (!conn) {
    error = "out of memory";
    return nullptr;
  }
  if (PQstatus(conn) != CONNECTION_OK) {
    error = PQerrorMessage(conn);
    while (!error.empty() && (error.back() == '\n' || error.back() == ' ')) error.pop_back();
    PQfinish(conn);
    return nullptr;
  }
  PQsetNoticeProcessor(conn, ignore_notice, nullptr);
  return conn;
}

Error connect_error(const std::string& url, const std::string& message) {
  return Error{fmt::format(
      "cannot connect to PostgreSQL at {}: {}. Check that the server runs and that the URL's "
      "host, port, user, password and database are right (tests: eval \"$(scripts/test_services)\")",
      redact_url_password(url), message)};
}

class PostgresStorage final : public Storage {
 public:
  PostgresStorage(PGconn* conn, std::string url) : conn_(conn), url_(std::move(url)) {}
  ~PostgresStorage() override { PQfinish(conn_); }

  Status migrate() override {
    std::lock_guard lock(mutex_);
    return with_reconnect([&]() -> Status {
      if (auto locked = exec("SELECT pg_advisory_lock($1)", Params().add(kMigrationLockKey)); !locked) {
        return failure(locked, "take the migration lock");
      }
      Status status = migrate_locked();
      (void)exec("SELECT pg_advisory_unlock($1)", Params().add(kMigrationLockKey));
      return status;
    });
  }

  int schema_version() override {
    std::lock_guard lock(mutex_);
    auto version = with_reconnect([&] { return version_locked(); });
    return version ? version.value() : 0;
  }

  Result<Project> create_project(const std::string& name) override {
    if (name.empty()) return Error{"the project name is empty: give the project a name"};
    std::lock_guard lock(mutex_);
    return with_reconnect([&]() -> Result<Project> {
      auto r = exec(
          "INSERT INTO projects (name, created_unix_s) VALUES ($1, $2) ON CONFLICT (name) "
          "DO NOTHING RETURNING id, name, created_unix_s",
          Params().add(name).add(now_unix_s()));
      if (!r) return failure(r, "create the project");
      if (r->rows() == 0) {
        return Error{
            fmt::format("a project named '{}' exists already: pick another name, or use "
                        "the existing project",
                        name)};
      }
      return read_project(*r, 0);
    });
  }

  Result<std::optional<Project>> find_project(const std::string& name) override {
    std::lock_guard lock(mutex_);
    return with_reconnect([&]() -> Result<std::optional<Project>> {
      auto r = exec("SELECT id, name, created_unix_s FROM projects WHERE name = $1", Params().add(name));
      if (!r) return failure(r, "find the project");
      if (r->rows() == 0) return std::optional<Project>();
      return std::optional<Project>(read_project(*r, 0));
    });
  }

  Result<std::vector<Project>> list_projects() override {
    std::lock_guard lock(mutex_);
    return with_reconnect([&]() -> Result<std::vector<Project>> {
      auto r = exec("SELECT id, name, created_unix_s FROM projects ORDER BY name", Params());
      if (!r) return failure(r, "list the projects");
      std::vector<Project> projects;
      for (int i = 0; i < r->rows(); ++i) projects.push_back(read_project(*r, i));
      return projects;
    });
  }

  Result<TokenRecord> add_token(const TokenRecord& token) override {
    if (token.sha256_hex.size() != 64) {
      return Error{"a token is stored by its SHA-256 as 64 hex digits: hash the secret first"};
    }
    std::lock_guard lock(mutex_);
    return with_reconnect([&]() -> Result<TokenRecord> {
      auto r = exec(
          "INSERT INTO tokens (project_id, sha256_hex, label, created_unix_s) VALUES "
          "($1, $2, $3, $4) ON CONFLICT (sha256_hex) DO NOTHING RETURNING id, "
          "created_unix_s",
          Params().add(token.project_id).add(token.sha256_hex).add(token.label).add(now_unix_s()));
      if (!r) {
        if (r.error().sqlstate == kForeignKeyViolation) {
          return Error{fmt::format("project {} does not exist: create the project before its tokens",
                                   token.project_id.value_or(0))};
        }
        return failure(r, "add the token");
      }
      if (r->rows() == 0) return Error{"this token exists already: generate a new secret"};
      TokenRecord stored = token;
      stored.id = r->int64(0, 0);
      stored.created_unix_s = r->real(0, 1);
      return stored;
    });
  }

  Result<std::optional<TokenRecord>> find_token(const std::string& sha256_hex) override {
    std::lock_guard lock(mutex_);
    return with_reconnect([&]() -> Result<std::optional<TokenRecord>> {
      auto r = exec(
          "SELECT id, project_id, sha256_hex, label, created_unix_s FROM tokens WHERE "
          "sha256_hex = $1",
          Params().add(sha256_hex));
      if (!r) return failure(r, "find the token");
      if (r->rows() == 0) return std::optional<TokenRecord>();
      TokenRecord token;
      token.id = r->int64(0, 0);
      if (!r->is_null(0, 1)) token.project_id = r->int64(0, 1);
      token.sha256_hex = r->text(0, 2);
      token.label = r->text(0, 3);
      token.created_unix_s = r->real(0, 4);
      return std::optional<TokenRecord>(token);
    });
  }

  Result<RegisteredRun> register_run(const RunRecord& run) override {
    if (auto valid = validate_run(run); !valid) return valid.error();
    std::lock_guard lock(mutex_);
    return with_reconnect([&]() -> Result<RegisteredRun> {
      RegisteredRun result;
      auto status = transaction([&]() -> Status {
        // Locks the project's row: register_run of one project runs one at a time, so the
        // multi-node check and the insert see the same runs.
        auto project = exec("SELECT id FROM projects WHERE id = $1 FOR UPDATE", Params().add(run.project_id));
        if (!project) return failure(project, "lock the project");
        auto existing =
            exec(fmt::format("SELECT {} FROM runs WHERE run_id = $1", kRunColumns), Params().add(run.run_id));
        if (!existing) return failure(existing, "find the run");
        if (existing->rows() > 0) {
          result.run = read_run(*existing, 0);
          return check_retry_of(result.run, run);
        }
        if (project->rows() == 0) {
          return Error{fmt::format("project {} does not exist: create the project first", run.project_id)};
        }
        if (run.job.job_id) {
          auto same =
              exec(fmt::format("SELECT {} FROM runs WHERE project_id = $1 AND job_id = $2", kRunColumns),
                   Params().add(run.project_id).add(*run.job.job_id));
          if (!same) return failure(same, "read the job's runs");
          std::vector<RunRecord> same_job;
          for (int i = 0; i < same->rows(); ++i) same_job.push_back(read_run(*same, i));
          if (auto rule = check_multi_node_rule(run, same_job); !rule) return rule;
        }
        auto inserted = exec(
            "INSERT INTO runs (run_id, project_id, experiment, scope, job_id, node, rank, "
            "local_rank, world_size, started_unix_s, ended_unix_s, metadata_json) VALUES ($1, $2, "
            "$3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            Params()
                .add(run.run_id)
                .add(run.project_id)
                .add(run.experiment)
                .add(run.scope)
                .add(run.job.job_id)
                .add(run.job.node)
                .add(run.job.rank)
                .add(run.job.local_rank)
                .add(run.job.world_size)
                .add(run.started_unix_s)
                .add(run.ended_unix_s)
                .add(run.metadata_json));
        if (!inserted) {
          if (inserted.error().sqlstate == kUniqueViolation) {
            return Error{
                fmt::format("run {} cannot be stored: another run of job {} holds the same "
                            "node or rank; check the job identity",
                            run.run_id, run.job.job_id.value_or(""))};
          }
          return failure(inserted, "store the run");
        }
        RunRecord stored = run;
        stored.energy_cpu_j = stored.energy_ram_j = stored.energy_gpu_j = stored.emissions_g = 0.0;
        stored.sample_count = 0;
        result = RegisteredRun{std::move(stored), true};
        return Ok{};
      });
      if (!status) return status.error();
      return result;
    });
  }

  Result<std::optional<RunRecord>> find_run(const std::string& run_id) override {
    std::lock_guard lock(mutex_);
    return with_reconnect([&]() -> Result<std::optional<RunRecord>> {
      auto r = exec(fmt::format("SELECT {} FROM runs WHERE run_id = $1", kRunColumns), Params().add(run_id));
      if (!r) return failure(r, "find the run");
      if (r->rows() == 0) return std::optional<RunRecord>();
      return std::optional<RunRecord>(read_run(*r, 0));
    });
  }

  Result<std::vector<RunRecord>> list_runs(const RunFilter& filter) override {
    std::lock_guard lock(mutex_);
    return with_reconnect([&]() -> Result<std::vector<RunRecord>> {
      auto r = exec(fmt::format("SELECT {} FROM runs WHERE ($1::bigint IS NULL OR project_id = $1) "
                                "AND ($2::text IS NULL OR experiment = $2) AND ($3::text IS NULL "
                                "OR job_id = $3) ORDER BY started_unix_s DESC, run_id LIMIT "
                                "$4::bigint OFFSET $5::bigint",
                                kRunColumns),
                    Params()
                        .add(filter.project_id)
                        .add(filter.experiment)
                        .add(filter.job_id)
                        .add(filter.limit)
                        .add(filter.offset));
      if (!r) return failure(r, "list the runs");
      std::vector<RunRecord> runs;
      for (int i = 0; i < r->rows(); ++i) runs.push_back(read_run(*r, i));
      return runs;
    });
  }

  Status finish_run(const std::string& run_id, double ended_unix_s) override {
    std::lock_guard lock(mutex_);
    return with_reconnect([&]() -> Status {
      auto r = exec("UPDATE runs SET ended_unix_s = $1 WHERE run_id = $2 RETURNING 1",
                    Params().add(ended_unix_s).add(run_id));
      if (!r) return failure(r, "finish the run");
      if (r->rows() == 0) {
        return Error{fmt::format("run {} does not exist: register the run first", run_id)};
      }
      return Ok{};
    });
  }

  Result<InsertOutcome> insert_samples(const std::string& run_id,
                                       const std::vector<SampleRecord>& samples) override {
    if (auto valid = validate_samples(samples); !valid) return valid.error();
    InsertOutcome outcome;
    if (samples.empty()) return outcome;
    Params params;
    params.add(run_id)
        .add(array_literal<std::int64_t>(samples, [](const auto& s) { return s.seq; }))
        .add(array_literal<double>(samples, [](const auto& s) { return s.t_unix_s; }))
        .add(array_literal<double>(samples, [](const auto& s) { return s.dt_s; }))
        .add(array_literal<double>(samples, [](const auto& s) { return s.energy_cpu_j; }))
        .add(array_literal<double>(samples, [](const auto& s) { return s.energy_ram_j; }))
        .add(array_literal<double>(samples, [](const auto& s) { return s.energy_gpu_j; }))
        .add(array_literal<double>(samples, [](const auto& s) { return s.emissions_g; }))
        .add(array_literal<std::optional<double>>(samples,
                                                  [](const auto& s) { return s.intensity_g_per_kwh; }));
    std::lock_guard lock(mutex_);
    return with_reconnect([&]() -> Result<InsertOutcome> {
      InsertOutcome result;
      // One statement, so one transaction and one round trip: insert the new samples, sum them
      // per day once (per_day), and add those sums to the run's per-day sums and, added up, to the
      // run's sums (its row lock orders concurrent batches of the run; a sample another batch
      // stores at the same moment is a conflict, not counted here).
      auto r = exec(
          "WITH input AS (SELECT * FROM unnest($2::bigint[], $3::float8[], $4::float8[], "
          "$5::float8[], $6::float8[], $7::float8[], $8::float8[], $9::float8[]) AS u(seq, t, "
          "dt, cpu, ram, gpu, em, intensity)), "
          "ins AS (INSERT INTO samples (run_id, seq, t_unix_s, dt_s, energy_cpu_j, energy_ram_j, "
          "energy_gpu_j, emissions_g, intensity_g_per_kwh) SELECT $1, seq, t, dt, cpu, ram, gpu, "
          "em, intensity FROM input ON CONFLICT (run_id, seq) DO NOTHING RETURNING t_unix_s, "
          "energy_cpu_j, energy_ram_j, energy_gpu_j, emissions_g, intensity_g_per_kwh), "
          "per_day AS (SELECT floor(t_unix_s / 86400.0)::bigint AS day, sum(energy_cpu_j) AS cpu, "
          "sum(energy_ram_j) AS ram, sum(energy_gpu_j) AS gpu, sum(emissions_g) AS em, count(*) AS n, "
          "coalesce(sum(intensity_g_per_kwh), 0) AS intensity_sum, count(intensity_g_per_kwh) AS "
          "intensity_n FROM ins GROUP BY 1), "
          "days AS (INSERT INTO run_days AS d (run_id, day, energy_cpu_j, energy_ram_j, energy_gpu_j, "
          "emissions_g, sample_count, intensity_sum_g_per_kwh, intensity_count) SELECT $1, day, cpu, ram, "
          "gpu, em, n, intensity_sum, intensity_n FROM per_day "
          "ON CONFLICT (run_id, day) DO UPDATE SET energy_cpu_j = d.energy_cpu_j + "
          "excluded.energy_cpu_j, energy_ram_j = d.energy_ram_j + excluded.energy_ram_j, energy_gpu_j = "
          "d.energy_gpu_j + excluded.energy_gpu_j, emissions_g = d.emissions_g + excluded.emissions_g, "
          "sample_count = d.sample_count + excluded.sample_count, intensity_sum_g_per_kwh = "
          "d.intensity_sum_g_per_kwh + excluded.intensity_sum_g_per_kwh, intensity_count = "
          "d.intensity_count + excluded.intensity_count RETURNING 1), "
          "sums AS (SELECT coalesce(sum(n), 0)::bigint AS n, coalesce(sum(cpu), 0) AS cpu, "
          "coalesce(sum(ram), 0) AS ram, coalesce(sum(gpu), 0) AS gpu, coalesce(sum(em), 0) AS em "
          "FROM per_day), "
          "upd AS (UPDATE runs SET energy_cpu_j = runs.energy_cpu_j + sums.cpu, energy_ram_j = "
          "runs.energy_ram_j + sums.ram, energy_gpu_j = runs.energy_gpu_j + sums.gpu, "
          "emissions_g = runs.emissions_g + sums.em, sample_count = runs.sample_count + sums.n "
          "FROM sums WHERE runs.run_id = $1 AND sums.n > 0 RETURNING 1) "
          "SELECT n FROM sums",
          params);
      if (!r) {
        if (r.error().sqlstate == kForeignKeyViolation) {
          return Error{fmt::format("run {} does not exist: register the run before its samples", run_id)};
        }
        return failure(r, "store the samples");
      }
      result.inserted = r->int64(0, 0);
      result.duplicates = static_cast<std::int64_t>(samples.size()) - result.inserted;
      return result;
    });
  }

  Result<std::vector<SampleRecord>> samples(const std::string& run_id, std::int64_t after_seq,
                                            std::int64_t limit) override {
    std::lock_guard lock(mutex_);
    return with_reconnect([&]() -> Result<std::vector<SampleRecord>> {
      auto r = exec(
          "SELECT seq, t_unix_s, dt_s, energy_cpu_j, energy_ram_j, energy_gpu_j, "
          "emissions_g, intensity_g_per_kwh FROM samples WHERE run_id = $1 AND seq > $2 "
          "ORDER BY seq LIMIT $3",
          Params().add(run_id).add(after_seq).add(limit));
      if (!r) return failure(r, "read the samples");
      std::vector<SampleRecord> result;
      for (int i = 0; i < r->rows(); ++i) {
        SampleRecord sample;
        sample.seq = r->int64(i, 0);
        sample.t_unix_s = r->real(i, 1);
        sample.dt_s = r->real(i, 2);
        sample.energy_cpu_j = r->real(i, 3);
        sample.energy_ram_j = r->real(i, 4);
        sample.energy_gpu_j = r->real(i, 5);
        sample.emissions_g = r->real(i, 6);
        sample.intensity_g_per_kwh = r->optional_real(i, 7);
        result.push_back(sample);
      }
      return result;
    });
  }

  Result<std::vector<std::string>> list_experiments(std::int64_t project_id) override {
    std::lock_guard lock(mutex_);
    return with_reconnect([&]() -> Result<std::vector<std::string>> {
      auto r = exec(
          "SELECT DISTINCT experiment FROM runs WHERE project_id = $1 AND experiment <> "
          "'' ORDER BY experiment",
          Params().add(project_id));
      if (!r) return failure(r, "list the experiments");
      std::vector<std::string> result;
      for (int i = 0; i < r->rows(); ++i) result.push_back(r->text(i, 0));
      return result;
    });
  }

  Result<std::vector<Totals>> totals(std::int64_t project_id, GroupBy group_by) override {
    if (group_by == GroupBy::day) {
      auto days = daily_totals(project_id, std::nullopt);
      if (!days) return days.error();
      return totals_by_day(days.value());
    }
    const char* sql = nullptr;
    switch (group_by) {
      case GroupBy::experiment:
        sql =
            "SELECT experiment, sum(energy_cpu_j), sum(energy_ram_j), sum(energy_gpu_j), "
            "sum(emissions_g), count(*), sum(sample_count) FROM runs WHERE project_id = $1 "
            "GROUP BY experiment ORDER BY experiment COLLATE \"C\"";
        break;
      case GroupBy::job:
        sql =
            "SELECT coalesce(job_id, '') AS job, sum(energy_cpu_j), sum(energy_ram_j), "
            "sum(energy_gpu_j), sum(emissions_g), count(*), sum(sample_count) FROM runs WHERE "
            "project_id = $1 GROUP BY 1 ORDER BY coalesce(job_id, '') COLLATE \"C\"";
        break;
      case GroupBy::run:
        sql =
            "SELECT run_id, energy_cpu_j, energy_ram_j, energy_gpu_j, emissions_g, 1, "
            "sample_count FROM runs WHERE project_id = $1 ORDER BY run_id COLLATE \"C\"";
        break;
      case GroupBy::day:  // answered above, from daily_totals
        return std::vector<Totals>{};
    }
    std::lock_guard lock(mutex_);
    return with_reconnect([&]() -> Result<std::vector<Totals>> {
      auto r = exec(sql, Params().add(project_id));
      if (!r) return failure(r, "compute the totals");
      std::vector<Totals> result;
      for (int i = 0; i < r->rows(); ++i) {
        Totals t;
        t.key = r->text(i, 0);
        t.energy_cpu_j = r->real(i, 1);
        t.energy_ram_j = r->real(i, 2);
        t.energy_gpu_j = r->real(i, 3);
        t.emissions_g = r->real(i, 4);
        t.run_count = r->int64(i, 5);
        t.sample_count = r->int64(i, 6);
        result.push_back(std::move(t));
      }
      return result;
    });
  }

  Result<std::vector<DayTotals>> daily_totals(std::int64_t project_id,
                                              const std::optional<std::string>& experiment) override {
    std::lock_guard lock(mutex_);
    return with_reconnect([&]() -> Result<std::vector<DayTotals>> {
      auto r = exec(
          "SELECT d.day, sum(d.energy_cpu_j), sum(d.energy_ram_j), sum(d.energy_gpu_j), "
          "sum(d.emissions_g), count(*), sum(d.sample_count), sum(d.intensity_sum_g_per_kwh), "
          "sum(d.intensity_count) FROM run_days d JOIN runs r ON r.run_id = d.run_id WHERE "
          "r.project_id = $1 AND ($2::text IS NULL OR r.experiment = $2::text) GROUP BY d.day ORDER BY d.day",
          Params().add(project_id).add(experiment));
      if (!r) return failure(r, "compute the daily totals");
      std::vector<DayTotals> result;
      for (int i = 0; i < r->rows(); ++i) {
        DayTotals day;
        day.day = r->int64(i, 0);
        day.energy_cpu_j = r->real(i, 1);
        day.energy_ram_j = r->real(i, 2);
        day.energy_gpu_j = r->real(i, 3);
        day.emissions_g = r->real(i, 4);
        day.run_count = r->int64(i, 5);
        day.sample_count = r->int64(i, 6);
        if (const std::int64_t count = r->int64(i, 8); count > 0) {
          day.mean_intensity_g_per_kwh = r->real(i, 7) / static_cast<double>(count);
        }
        result.push_back(day);
      }
      return result;
    });
  }

  Result<std::vector<SampleBucket>> sample_buckets(const std::string& run_id,
                                                   std::int64_t max_buckets) override {
    std::lock_guard lock(mutex_);
    return with_reconnect([&]() -> Result<std::vector<SampleBucket>> {
      std::vector<SampleBucket> result;
      auto bounds = exec("SELECT count(*), min(t_unix_s), max(t_unix_s) FROM samples WHERE run_id = $1",
                         Params().add(run_id));
      if (!bounds) return failure(bounds, "read the run's sample times");
      const std::int64_t count = bounds->int64(0, 0);
      if (count == 0 || max_buckets < 1) return result;
      const double first_t = bounds->real(0, 1), span_s = bounds->real(0, 2) - first_t;
      constexpr const char* kColumns =
          "min(t_unix_s - dt_s), max(t_unix_s), sum(dt_s), sum(energy_cpu_j), sum(energy_ram_j), "
          "sum(energy_gpu_j), sum(emissions_g), avg(intensity_g_per_kwh), count(*) FROM samples WHERE run_id "
          "= $1";
      // Bucket k holds the samples whose end time falls in the k-th of max_buckets equal spans.
      auto r =
          count <= max_buckets
              ? exec(fmt::format("SELECT seq, {} GROUP BY seq ORDER BY seq", kColumns), Params().add(run_id))
              : exec(fmt::format("SELECT LEAST(floor((t_unix_s - $2::float8) * $3::bigint / "
                                 "$4::float8)::bigint, $3::bigint - 1) AS b, {} GROUP BY b ORDER BY b",
                                 kColumns),
                     Params().add(run_id).add(first_t).add(max_buckets).add(span_s > 0 ? span_s : 1.0));
      if (!r) return failure(r, "group the run's samples");
      for (int i = 0; i < r->rows(); ++i) {
        SampleBucket bucket;
        bucket.start_unix_s = r->real(i, 1);
        bucket.end_unix_s = r->real(i, 2);
        bucket.duration_s = r->real(i, 3);
        bucket.energy_cpu_j = r->real(i, 4);
        bucket.energy_ram_j = r->real(i, 5);
        bucket.energy_gpu_j = r->real(i, 6);
        bucket.emissions_g = r->real(i, 7);
        bucket.mean_intensity_g_per_kwh = r->optional_real(i, 8);
        bucket.sample_count = r->int64(i, 9);
        result.push_back(bucket);
      }
      return result;
    });
  }

 private:
  // Like a Result<PgResult>, plus the SQLSTATE of a failure.
  struct Outcome {
    std::optional<PgResult> result;
    PgError pg_error;
    explicit operator bool() const { return result.has_value(); }
    PgResult* operator->() { return &*result; }
    PgResult& operator*() { return *result; }
    const PgError& error() const { return pg_error; }
  };

  Outcome exec(const std::string& sql, const Params& params) {
    const auto values = params.pointers();
    PGresult* raw = nullptr;
    if (params.size() == 0) {
      raw = PQexecParams(conn_, sql.c_str(), 0, nullptr, nullptr, nullptr, nullptr, 0);
    } else {
      // Parsed and planned once per connection, then only executed with new values.
      auto it = prepared_.find(sql);
      if (it == prepared_.end()) {
        const auto name = fmt::format("carbonmeter_{}", prepared_.size());
        PgResult prepared(PQprepare(conn_, name.c_str(), sql.c_str(), params.size(), nullptr));
        if (PQresultStatus(prepared.get()) == PGRES_COMMAND_OK) {
          it = prepared_.emplace(sql, name).first;
        }
      }
      raw =
          it != prepared_.end()
              ? PQexecPrepared(conn_, it->second.c_str(), params.size(), values.data(), nullptr, nullptr, 0)
              : PQexecParams(conn_, sql.c_str(), params.size(), nullptr, values.data(), nullptr, nullptr, 0);
    }
    PgResult result(raw);
    const auto status = raw ? PQresultStatus(raw) : PGRES_FATAL_ERROR;
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
      return Outcome{std::move(result), {}};
    }
    PgError error;
    error.message = raw ? PQresultErrorMessage(raw) : PQerrorMessage(conn_);
    while (!error.message.empty() && (error.message.back() == '\n' || error.message.back() == ' ')) {
      error.message.pop_back();
    }
    if (raw) {
      if (const char* state = PQresultErrorField(raw, PG_DIAG_SQLSTATE)) error.sqlstate = state;
    }
    return Outcome{std::nullopt, error};
  }
  // A failed statement as an Error that says what failed and where.
  Error failure(const Outcome& outcome, const std::string& what) const {
    return Error{fmt::format("PostgreSQL at {} could not {}: {}", redact_url_password(url_), what,
                             outcome.error().message)};
  }

  template <class Body>
  Status transaction(Body&& body) {
    if (auto begin = exec("BEGIN", Params()); !begin) return failure(begin, "begin a transaction");
    Status status = body();
    if (!status) {
      (void)exec("ROLLBACK", Params());
      return status;
    }
    if (auto commit = exec("COMMIT", Params()); !commit) {
      (void)exec("ROLLBACK", Params());
      return failure(commit, "commit");
    }
    return Ok{};
  }

  // Runs `body`; when it failed because the connection broke, resets the connection and runs it
  // once more (each body is one statement or one transaction, so running it again is safe).
  template <class Body>
  auto with_reconnect(Body&& body) -> decltype(body()) {
    auto result = body();
    if (result.ok() || PQstatus(conn_) == CONNECTION_OK) return result;
    PQreset(conn_);
    prepared_.clear();  // a new session has none of the old prepared statements
    if (PQstatus(conn_) != CONNECTION_OK) {
      std::string message = PQerrorMessage(conn_);
      while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
      return connect_error(url_, "the connection broke and could not be opened again: " + message);
    }
    PQsetNoticeProcessor(conn_, ignore_notice, nullptr);
    return body();
  }

  Result<int> version_locked() {
    auto exists = exec("SELECT to_regclass('schema_migrations') IS NOT NULL", Params());
    if (!exists) return failure(exists, "read the schema version");
    if (exists->text(0, 0) != "t") return 0;
    auto r = exec("SELECT coalesce(max(version), 0) FROM schema_migrations", Params());
    if (!r) return failure(r, "read the schema version");
    return static_cast<int>(r->int64(0, 0));
  }

  Status migrate_locked() {
    if (auto created = exec("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY "
                            "KEY, applied_at DOUBLE PRECISION NOT NULL, description TEXT NOT NULL "
                            "DEFAULT '')",
                            Params());
        !created) {
      return failure(created, "create schema_migrations");
    }
    const auto& steps = postgres_migrations();
    const int latest = steps.empty() ? 0 : steps.back().version;
    auto current = version_locked();
    if (!current) return current.error();
    if (current.value() > latest) {
      return Error{
          fmt::format("the PostgreSQL database at {} has schema version {}, newer than this "
                      "carbonmeter knows ({}): upgrade carbonmeter",
                      redact_url_password(url_), current.value(), latest)};
    }
    for (const auto& step : steps) {
      if (step.version <= current.value()) continue;
      auto status = transaction([&]() -> Status {
        for (const auto& sql : step.statements) {
          if (auto applied = exec(sql, Params()); !applied) {
            return Error{fmt::format("migration {} ({}) failed on PostgreSQL at {}: {}", step.version,
                                     step.description, redact_url_password(url_), applied.error().message)};
          }
        }
        auto recorded = exec(
            "INSERT INTO schema_migrations (version, applied_at, description) "
            "VALUES ($1, $2, $3)",
            Params().add(step.version).add(now_unix_s()).add(step.description));
        if (!recorded) return failure(recorded, "record the migration");
        return Ok{};
      });
      if (!status) return status;
    }
    return Ok{};
  }

  std::mutex mutex_;
  PGconn* conn_;
  std::string url_;
  std::map<std::string, std::string> prepared_;  // SQL text -> prepared statement name
};

// What open_postgres_storage returns: up to kMaxConnections PostgresStorage connections, the
// second and later opened only when calls come in while every open one is busy (one caller at a
// time: one connection, as before). Sample batches and reads take any free connection, so that
// the HTTP server's threads do not queue behind each other's round trips, and PostgreSQL flushes
// the WAL of concurrent commits together (one fdatasync for several batches; with one connection
// each batch waited alone for its flush, about half of its time: HTTP ingest went from about
// 35,000 to 55,000 samples/s on 2 cores with this pool, bench/RESULTS.md).
// Migrations and the writes whose checks must see one state (projects, tokens, runs and their
// multi-node rule, finishing a run) go through the first connection, one at a time.
class PostgresPool final : public Storage {
 public:
  PostgresPool(PGconn* first, std::string url) : url_(std::move(url)) {
    connections_[0] = std::make_unique<PostgresStorage>(first, url_);
  }

  Status migrate() override {
    return on_first([&](Storage& s) { return s.migrate(); });
  }
  int schema_version() override {
    return on_first([&](Storage& s) { return s.schema_version(); });
  }
  Result<Project> create_project(const std::string& name) override {
    return on_first([&](Storage& s) { return s.create_project(name); });
  }
  Result<std::optional<Project>> find_project(const std::string& name) override {
    return on_any([&](Storage& s) { return s.find_project(name); });
  }
  Result<std::vector<Project>> list_projects() override {
    return on_any([&](Storage& s) { return s.list_projects(); });
  }
  Result<TokenRecord> add_token(const TokenRecord& token) override {
    return on_first([&](Storage& s) { return s.add_token(token); });
  }
  Result<std::optional<TokenRecord>> find_token(const std::string& sha256_hex) override {
    return on_any([&](Storage& s) { return s.find_token(sha256_hex); });
  }
  Result<RegisteredRun> register_run(const RunRecord& run) override {
    return on_first([&](Storage& s) { return s.register_run(run); });
  }
  Result<std::optional<RunRecord>> find_run(const std::string& run_id) override {
    return on_any([&](Storage& s) { return s.find_run(run_id); });
  }
  Result<std::vector<RunRecord>> list_runs(const RunFilter& filter) override {
    return on_any([&](Storage& s) { return s.list_runs(filter); });
  }
  Status finish_run(const std::string& run_id, double ended_unix_s) override {
    return on_first([&](Storage& s) { return s.finish_run(run_id, ended_unix_s); });
  }
  Result<InsertOutcome> insert_samples(const std::string& run_id,
                                       const std::vector<SampleRecord>& samples) override {
    return on_any([&](Storage& s) { return s.insert_samples(run_id, samples); });
  }
  Result<std::vector<SampleRecord>> samples(const std::string& run_id, std::int64_t after_seq,
                                            std::int64_t limit) override {
    return on_any([&](Storage& s) { return s.samples(run_id, after_seq, limit); });
  }
  Result<std::vector<std::string>> list_experiments(std::int64_t project_id) override {
    return on_any([&](Storage& s) { return s.list_experiments(project_id); });
  }
  Result<std::vector<Totals>> totals(std::int64_t project_id, GroupBy group_by) override {
    return on_any([&](Storage& s) { return s.totals(project_id, group_by); });
  }
  Result<std::vector<DayTotals>> daily_totals(std::int64_t project_id,
                                              const std::optional<std::string>& experiment) override {
    return on_any([&](Storage& s) { return s.daily_totals(project_id, experiment); });
  }
  Result<std::vector<SampleBucket>> sample_buckets(const std::string& run_id,
                                                   std::int64_t max_buckets) override {
    return on_any([&](Storage& s) { return s.sample_buckets(run_id, max_buckets); });
  }

 private:
  // As many as `carbonmeter serve` has HTTP worker threads on a small machine (cpp-httplib: 8);
  // 8 ingested 25 % more than 4 on 2 cores (bench/ingest_bench.sh).
  static constexpr int kMaxConnections = 8;
  static constexpr std::chrono::seconds kRetryOpenAfter{30};

  // A connection held for one call.
  class Lease {
   public:
    Lease(PostgresPool& pool, bool first) : pool_(pool), index_(pool.acquire(first)) {}
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease() { pool_.release(index_); }
    Storage& storage() const { return *pool_.connections_[static_cast<std::size_t>(index_)]; }

   private:
    PostgresPool& pool_;
    int index_;
  };

  template <class Call>
  auto on_first(Call&& call) -> decltype(call(std::declval<Storage&>())) {
    Lease lease(*this, true);
    return call(lease.storage());
  }
  template <class Call>
  auto on_any(Call&& call) -> decltype(call(std::declval<Storage&>())) {
    Lease lease(*this, false);
    return call(lease.storage());
  }

  // The first connection (`first`), else any free one; opens one more when all are busy and the
  // limit allows. A connection that cannot be opened (the server's max_connections) is tried
  // again kRetryOpenAfter later; meanwhile the open ones are shared. Opening holds the pool's
  // lock: it happens at most kMaxConnections - 1 times while the server is reachable.
  int acquire(bool first) {
    std::unique_lock lock(mutex_);
    while (true) {
      for (int i = 0; i < (first ? 1 : open_); ++i) {
        if (!busy_[static_cast<std::size_t>(i)]) {
          busy_[static_cast<std::size_t>(i)] = true;
          return i;
        }
      }
      if (!first && open_ < kMaxConnections && std::chrono::steady_clock::now() >= retry_open_at_) {
        std::string message;
        if (PGconn* conn = connect(url_, message)) {
          const int index = open_++;
          connections_[static_cast<std::size_t>(index)] = std::make_unique<PostgresStorage>(conn, url_);
          busy_[static_cast<std::size_t>(index)] = true;
          return index;
        }
        retry_open_at_ = std::chrono::steady_clock::now() + kRetryOpenAfter;
      }
      released_.wait(lock);
    }
  }

  void release(int index) {
    {
      std::lock_guard lock(mutex_);
      busy_[static_cast<std::size_t>(index)] = false;
    }
    released_.notify_all();
  }

  std::string url_;
  std::mutex mutex_;
  std::condition_variable released_;
  std::array<std::unique_ptr<Storage>, kMaxConnections> connections_;
  std::array<bool, kMaxConnections> busy_{};
  int open_ = 1;
  std::chrono::steady_clock::time_point retry_open_at_{};
};

bool valid_schema_name(const std::string& schema) {
  if (schema.empty() || schema.size() > 63) return false;
  for (char c : schema) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

}  // namespace

Result<std::unique_ptr<Storage>> open_postgres_storage(const std::string& url) {
  std::string message;
  PGconn* conn = connect(url, message);
  if (!conn) return connect_error(url, message);
  return std::unique_ptr<Storage>(std::make_unique<PostgresPool>(conn, url));
}

std::string postgres_url_with_schema(const std::string& url, const std::string& schema) {
  const char separator = url.find('?') == std::string::npos ? '?' : '&';
  return url + separator + "options=-csearch_path%3D" + schema;
}

Status postgres_reset_schema(const std::string& url, const std::string& schema, bool drop_only) {
  if (!valid_schema_name(schema)) {
    return Error{
        fmt::format("schema name '{}' is not lower-case letters, digits and '_': pick "
                    "another",
                    schema)};
  }
  std::string message;
  PGconn* conn = connect(url, message);
  if (!conn) return connect_error(url, message);
  // An identifier cannot be a bound parameter: the name was checked above and is quoted here.
  std::string sql = fmt::format("DROP SCHEMA IF EXISTS \"{}\" CASCADE", schema);
  if (!drop_only) sql += fmt::format("; CREATE SCHEMA \"{}\"", schema);
  PGresult* result = PQexec(conn, sql.c_str());
  const bool ok = PQresultStatus(result) == PGRES_COMMAND_OK;
  std::string error = ok ? "" : PQresultErrorMessage(result);
  PQclear(result);
  PQfinish(conn);
  if (!ok) {
    return Error{fmt::format("cannot reset schema {} on PostgreSQL at {}: {}", schema,
                             redact_url_password(url), error)};
  }
  return Ok{};
}

}  // namespace carbonmeter::server
