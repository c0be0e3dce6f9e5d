// The SQL of each schema migration, per back end (see migrations.hpp).
#include "server/migrations.hpp"

namespace carbonmeter::server {

const std::vector<Migration>& sqlite_migrations() {
  static const std::vector<Migration> migrations = {
      {1,
       "projects, tokens, runs, samples",
       {
           R"sql(CREATE TABLE projects (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL UNIQUE,
  created_unix_s REAL NOT NULL))sql",
           R"sql(CREATE TABLE tokens (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  project_id INTEGER REFERENCES projects(id) ON DELETE CASCADE,
  sha256_hex TEXT NOT NULL UNIQUE,
  label TEXT NOT NULL DEFAULT '',
  created_unix_s REAL NOT NULL))sql",
           R"sql(CREATE INDEX tokens_project ON tokens(project_id))sql",
           R"sql(CREATE TABLE runs (
  run_id TEXT PRIMARY KEY,
  project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  experiment TEXT NOT NULL DEFAULT '',
  scope TEXT NOT NULL CHECK (scope IN ('process', 'machine')),
  job_id TEXT,
  node TEXT NOT NULL,
  rank INTEGER,
  local_rank INTEGER,
  world_size INTEGER,
  started_unix_s REAL NOT NULL,
  ended_unix_s REAL,
  metadata_json TEXT NOT NULL DEFAULT '',
  energy_cpu_j REAL NOT NULL DEFAULT 0,
  energy_ram_j REAL NOT NULL DEFAULT 0,
  energy_gpu_j REAL NOT NULL DEFAULT 0,
  emissions_g REAL NOT NULL DEFAULT 0,
  sample_count INTEGER NOT NULL DEFAULT 0))sql",
           R"sql(CREATE INDEX runs_project_started ON runs(project_id, started_unix_s))sql",
           R"sql(CREATE INDEX runs_project_experiment ON runs(project_id, experiment))sql",
           R"sql(CREATE INDEX runs_project_job ON runs(project_id, job_id, node))sql",
           // Backstops of the multi-node rule (register_run checks it first, with a clear message).
           R"sql(CREATE UNIQUE INDEX runs_job_rank ON runs(project_id, job_id, rank)
  WHERE job_id IS NOT NULL AND rank IS NOT NULL)sql",
           R"sql(CREATE UNIQUE INDEX runs_job_machine_node ON runs(project_id, job_id, node)
  WHERE job_id IS NOT NULL AND scope = 'machine')sql",
           R"sql(CREATE TABLE samples (
  run_id TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
  seq INTEGER NOT NULL,
  t_unix_s REAL NOT NULL,
  dt_s REAL NOT NULL,
  energy_cpu_j REAL NOT NULL,
  energy_ram_j REAL NOT NULL,
  energy_gpu_j REAL NOT NULL,
  emissions_g REAL NOT NULL,
  intensity_g_per_kwh REAL,
  PRIMARY KEY (run_id, seq)) WITHOUT ROWID)sql",
           R"sql(CREATE INDEX samples_t ON samples(t_unix_s))sql",
       }},
      {2,
       "run_days: per run and UTC day sums of the samples (dashboard charts, totals by day)",
       {
           R"sql(CREATE TABLE run_days (
  run_id TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
  day INTEGER NOT NULL,
  energy_cpu_j REAL NOT NULL,
  energy_ram_j REAL NOT NULL,
  energy_gpu_j REAL NOT NULL,
  emissions_g REAL NOT NULL,
  sample_count INTEGER NOT NULL,
  intensity_sum_g_per_kwh REAL NOT NULL,
  intensity_count INTEGER NOT NULL,
  PRIMARY KEY (run_id, day)) WITHOUT ROWID)sql",
           // The samples stored before this migration; insert_samples keeps it up to date after.
           R"sql(INSERT INTO run_days SELECT run_id, CAST(floor(t_unix_s / 86400.0) AS INTEGER), sum(energy_cpu_j),
  sum(energy_ram_j), sum(energy_gpu_j), sum(emissions_g), count(*), coalesce(sum(intensity_g_per_kwh), 0),
  count(intensity_g_per_kwh) FROM samples GROUP BY 1, 2)sql",
       }},
      {3,
       "runs: scope 'cgroup' (--cgroup PATH) beside 'process' and 'machine'",
       {
           R"sql(CREATE TABLE runs_with_cgroup_scope (
  run_id TEXT PRIMARY KEY,
  project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  experiment TEXT NOT NULL DEFAULT '',
  scope TEXT NOT NULL CHECK (scope IN ('process', 'cgroup', 'machine')),
  job_id TEXT,
  node TEXT NOT NULL,
  rank INTEGER,
  local_rank INTEGER,
  world_size INTEGER,
  started_unix_s REAL NOT NULL,
  ended_unix_s REAL,
  metadata_json TEXT NOT NULL DEFAULT '',
  energy_cpu_j REAL NOT NULL DEFAULT 0,
  energy_ram_j REAL NOT NULL DEFAULT 0,
  energy_gpu_j REAL NOT NULL DEFAULT 0,
  emissions_g REAL NOT NULL DEFAULT 0,
  sample_count INTEGER NOT NULL DEFAULT 0))sql",
           R"sql(INSERT INTO runs_with_cgroup_scope SELECT * FROM runs)sql",
           R"sql(DROP TABLE runs)sql",
           R"sql(ALTER TABLE runs_with_cgroup_scope RENAME TO runs)sql",
           R"sql(CREATE INDEX runs_project_started ON runs(project_id, started_unix_s))sql",
           R"sql(CREATE INDEX runs_project_experiment ON runs(project_id, experiment))sql",
           R"sql(CREATE INDEX runs_project_job ON runs(project_id, job_id, node))sql",
           // Backstops of the multi-node rule (register_run checks it first, with a clear message).
           R"sql(CREATE UNIQUE INDEX runs_job_rank ON runs(project_id, job_id, rank)
  WHERE job_id IS NOT NULL AND rank IS NOT NULL)sql",
           R"sql(CREATE UNIQUE INDEX runs_job_machine_node ON runs(project_id, job_id, node)
  WHERE job_id IS NOT NULL AND scope = 'machine')sql",
       },
       true},
  };
  return migrations;
}

const std::vector<Migration>& postgres_migrations() {
  static const std::vector<Migration> migrations = {
      {1,
       "projects, tokens, runs, samples",
       {
           R"sql(CREATE TABLE projects (
  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  created_unix_s DOUBLE PRECISION NOT NULL))sql",
           R"sql(CREATE TABLE tokens (
  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  project_id BIGINT REFERENCES projects(id) ON DELETE CASCADE,
  sha256_hex TEXT NOT NULL UNIQUE,
  label TEXT NOT NULL DEFAULT '',
  created_unix_s DOUBLE PRECISION NOT NULL))sql",
           R"sql(CREATE INDEX tokens_project ON tokens(project_id))sql",
           R"sql(CREATE TABLE runs (
  run_id TEXT PRIMARY KEY,
  project_id BIGINT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  experiment TEXT NOT NULL DEFAULT '',
  scope TEXT NOT NULL CHECK (scope IN ('process', 'machine')),
  job_id TEXT,
  node TEXT NOT NULL,
  rank INTEGER,
  local_rank INTEGER,
  world_size INTEGER,
  started_unix_s DOUBLE PRECISION NOT NULL,
  ended_unix_s DOUBLE PRECISION,
  metadata_json TEXT NOT NULL DEFAULT '',
  energy_cpu_j DOUBLE PRECISION NOT NULL DEFAULT 0,
  energy_ram_j DOUBLE PRECISION NOT NULL DEFAULT 0,
  energy_gpu_j DOUBLE PRECISION NOT NULL DEFAULT 0,
  emissions_g DOUBLE PRECISION NOT NULL DEFAULT 0,
  sample_count BIGINT NOT NULL DEFAULT 0))sql",
           R"sql(CREATE INDEX runs_project_started ON runs(project_id, started_unix_s))sql",
           R"sql(CREATE INDEX runs_project_experiment ON runs(project_id, experiment))sql",
           R"sql(CREATE INDEX runs_project_job ON runs(project_id, job_id, node))sql",
           R"sql(CREATE UNIQUE INDEX runs_job_rank ON runs(project_id, job_id, rank)
  WHERE job_id IS NOT NULL AND rank IS NOT NULL)sql",
           R"sql(CREATE UNIQUE INDEX runs_job_machine_node ON runs(project_id, job_id, node)
  WHERE job_id IS NOT NULL AND scope = 'machine')sql",
           R"sql(CREATE TABLE samples (
  run_id TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
  seq BIGINT NOT NULL,
  t_unix_s DOUBLE PRECISION NOT NULL,
  dt_s DOUBLE PRECISION NOT NULL,
  energy_cpu_j DOUBLE PRECISION NOT NULL,
  energy_ram_j DOUBLE PRECISION NOT NULL,
  energy_gpu_j DOUBLE PRECISION NOT NULL,
  emissions_g DOUBLE PRECISION NOT NULL,
  intensity_g_per_kwh DOUBLE PRECISION,
  PRIMARY KEY (run_id, seq)))sql",
           R"sql(CREATE INDEX samples_t ON samples(t_unix_s))sql",
       }},
      {2,
       "run_days: per run and UTC day sums of the samples (dashboard charts, totals by day)",
       {
           R"sql(CREATE TABLE run_days (
  run_id TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
  day BIGINT NOT NULL,
  energy_cpu_j DOUBLE PRECISION NOT NULL,
  energy_ram_j DOUBLE PRECISION NOT NULL,
  energy_gpu_j DOUBLE PRECISION NOT NULL,
  emissions_g DOUBLE PRECISION NOT NULL,
  sample_count BIGINT NOT NULL,
  intensity_sum_g_per_kwh DOUBLE PRECISION NOT NULL,
  intensity_count BIGINT NOT NULL,
  PRIMARY KEY (run_id, day)))sql",
           R"sql(INSERT INTO run_days SELECT run_id, floor(t_unix_s / 86400.0)::bigint, sum(energy_cpu_j),
  sum(energy_ram_j), sum(energy_gpu_j), sum(emissions_g), count(*), coalesce(sum(intensity_g_per_kwh), 0),
  count(intensity_g_per_kwh) FROM samples GROUP BY 1, 2)sql",
       }},
      {3,
       "runs: scope 'cgroup' (--cgroup PATH) beside 'process' and 'machine'",
       {
           R"sql(ALTER TABLE runs DROP CONSTRAINT runs_scope_check)sql",
           R"sql(ALTER TABLE runs ADD CONSTRAINT runs_scope_check CHECK (scope IN ('process', 'cgroup', 'machine')))sql",
       }},
  };
  return migrations;
}

}  // namespace carbonmeter::server
