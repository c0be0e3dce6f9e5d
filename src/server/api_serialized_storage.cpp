// SerializedStorage: migrations and the writes that check before they write (projects, tokens,
// runs, finishing a run) hold one mutex, one at a time. Sample batches and reads go straight
// through: each back end guards its own connections (SQLite: one, behind a mutex; PostgreSQL: a
// few, PostgresPool), so that batches need not wait for each other's round trips here.
#include "server/api_serialized_storage.hpp"

namespace carbonmeter::server {
namespace {

class SerializedStorage final : public Storage {
 public:
  explicit SerializedStorage(Storage& inner) : inner_(inner) {}

  Status migrate() override {
    std::lock_guard lock(mutex_);
    return inner_.migrate();
  }
  int schema_version() override {
    std::lock_guard lock(mutex_);
    return inner_.schema_version();
  }
  Result<Project> create_project(const std::string& name) override {
    std::lock_guard lock(mutex_);
    return inner_.create_project(name);
  }
  Result<std::optional<Project>> find_project(const std::string& name) override {
    return inner_.find_project(name);
  }
  Result<std::vector<Project>> list_projects() override { return inner_.list_projects(); }
  Result<TokenRecord> add_token(const TokenRecord& token) override {
    std::lock_guard lock(mutex_);
    return inner_.add_token(token);
  }
  Result<std::optional<TokenRecord>> find_token(const std::string& sha256_hex) override {
    return inner_.find_token(sha256_hex);
  }
  Result<RegisteredRun> register_run(const RunRecord& run) override {
    std::lock_guard lock(mutex_);
    return inner_.register_run(run);
  }
  Result<std::optional<RunRecord>> find_run(const std::string& run_id) override {
    return inner_.find_run(run_id);
  }
  Result<std::vector<RunRecord>> list_runs(const RunFilter& filter) override {
    return inner_.list_runs(filter);
  }
  Status finish_run(const std::string& run_id, double ended_unix_s) override {
    std::lock_guard lock(mutex_);
    return inner_.finish_run(run_id, ended_unix_s);
  }
  Result<InsertOutcome> insert_samples(const std::string& run_id,
                                       const std::vector<SampleRecord>& samples) override {
    return inner_.insert_samples(run_id, samples);
  }
  Result<std::vector<SampleRecord>> samples(const std::string& run_id, std::int64_t after_seq,
                                            std::int64_t limit) override {
    return inner_.samples(run_id, after_seq, limit);
  }
  Result<std::vector<std::string>> list_experiments(std::int64_t project_id) override {
    return inner_.list_experiments(project_id);
  }
  Result<std::vector<Totals>> totals(std::int64_t project_id, GroupBy group_by) override {
    return inner_.totals(project_id, group_by);
  }
  Result<std::vector<DayTotals>> daily_totals(std::int64_t project_id,
                                              const std::optional<std::string>& experiment) override {
    return inner_.daily_totals(project_id, experiment);
  }
  Result<std::vector<SampleBucket>> sample_buckets(const std::string& run_id,
                                                   std::int64_t max_buckets) override {
    return inner_.sample_buckets(run_id, max_buckets);
  }

 private:
  Storage& inner_;
  std::mutex mutex_;
};

}  // namespace

std::unique_ptr<Storage> make_serialized_storage(Storage& inner) {
  return std::make_unique<SerializedStorage>(inner);
}

}  // namespace carbonmeter::server
