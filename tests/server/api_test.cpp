// The HTTP API end to end: the real `carbonmeter serve` on SQLite and on PostgreSQL, driven the
// way clients drive it (create a project and a token, register runs, send samples, replay them,
// read totals).
#include <cmath>
#include <fstream>
#include <map>

#include "api_fixture.hpp"

namespace carbonmeter::testing {
namespace {

using nlohmann::json;

TEST_P(ApiTest, HealthNeedsNoToken) {
  start();
  Reply health = get(client(), "/api/v1/health");
  ASSERT_EQ(health.status, 200) << health.raw;
  EXPECT_EQ(health.body["status"], "ok");
  EXPECT_GE(health.body["schema_version"].get<int>(), 1);
}

TEST_P(ApiTest, ProjectsAndTokens) {
  start();
  Reply created = post(client(), "/api/v1/projects", {{"name", "vision"}}, kAdminToken);
  ASSERT_EQ(created.status, 201) << created.raw;
  EXPECT_EQ(created.body["name"], "vision");
  EXPECT_TRUE(created.body["id"].is_number_integer());

  Reply again = post(client(), "/api/v1/projects", {{"name", "vision"}}, kAdminToken);
  EXPECT_EQ(again.status, 409) << again.raw;
  EXPECT_EQ(again.body["error"]["code"], "conflict");

  Reply token = post(client(), "/api/v1/projects/vision/tokens", {{"label", "ci runner"}}, kAdminToken);
  ASSERT_EQ(token.status, 201) << token.raw;
  const std::string secret = token.body["token"];
  EXPECT_EQ(secret.rfind("cm_", 0), 0u);
  EXPECT_EQ(secret.size(), 3u + 64u);
  EXPECT_EQ(token.body["label"], "ci runner");

  Reply missing = post(client(), "/api/v1/projects/nope/tokens", {{"label", "x"}}, kAdminToken);
  EXPECT_EQ(missing.status, 404) << missing.raw;

  ASSERT_EQ(post(client(), "/api/v1/projects", {{"name", "nlp"}}, kAdminToken).status, 201);
  Reply all = get(client(), "/api/v1/projects", kAdminToken);
  ASSERT_EQ(all.status, 200) << all.raw;
  EXPECT_EQ(all.body["projects"].size(), 2u);
  // A project token sees its own project only.
  Reply own = get(client(), "/api/v1/projects", secret);
  ASSERT_EQ(own.status, 200) << own.raw;
  ASSERT_EQ(own.body["projects"].size(), 1u);
  EXPECT_EQ(own.body["projects"][0]["name"], "vision");

  Reply one = get(client(), "/api/v1/projects/vision", secret);
  ASSERT_EQ(one.status, 200) << one.raw;
  EXPECT_EQ(one.body["name"], "vision");
  EXPECT_EQ(get(client(), "/api/v1/projects/absent", kAdminToken).status, 404);
}

TEST_P(ApiTest, RunsSamplesReplayAndTotals) {
  start();
  const std::string token = project_with_token("vision");

  Reply registered =
      post(client(), "/api/v1/runs", run_body("run-1", "vision", "baseline", "job-1", "node-a", 0), token);
  ASSERT_EQ(registered.status, 201) << registered.raw;
  EXPECT_EQ(registered.body["run_id"], "run-1");
  EXPECT_EQ(registered.body["project"], "vision");
  EXPECT_EQ(registered.body["job"]["node"], "node-a");
  EXPECT_EQ(registered.body["metadata"]["command"], "python train.py");
  // A client's retry of the same registration.
  Reply retried =
      post(client(), "/api/v1/runs", run_body("run-1", "vision", "baseline", "job-1", "node-a", 0), token);
  EXPECT_EQ(retried.status, 200) << retried.raw;

  ASSERT_EQ(
      post(client(), "/api/v1/runs", run_body("run-2", "vision", "baseline", "job-1", "node-b", 1), token)
          .status,
      201);
  ASSERT_EQ(
      post(client(), "/api/v1/runs", run_body("run-3", "vision", "bigger-lr", "job-2", "node-a", 0), token)
          .status,
      201);

  Reply inserted = post(client(), "/api/v1/runs/run-1/samples", samples_body(0, 3), token);
  ASSERT_EQ(inserted.status, 200) << inserted.raw;
  EXPECT_EQ(inserted.body["inserted"], 3);
  EXPECT_EQ(inserted.body["duplicates"], 0);
  ASSERT_EQ(post(client(), "/api/v1/runs/run-2/samples", samples_body(0, 2), token).status, 200);
  // run-3's samples fall on the next day (UTC).
  ASSERT_EQ(
      post(client(), "/api/v1/runs/run-3/samples", samples_body(0, 1, 1717200000.0 + 86400.0), token).status,
      200);

  Reply totals_before = get(client(), "/api/v1/projects/vision/totals?by=experiment", token);
  ASSERT_EQ(totals_before.status, 200) << totals_before.raw;

  // The client resends a batch it was not sure had arrived, plus one new sample.
  Reply replayed = post(client(), "/api/v1/runs/run-1/samples", samples_body(0, 3), token);
  ASSERT_EQ(replayed.status, 200) << replayed.raw;
  EXPECT_EQ(replayed.body["inserted"], 0);
  EXPECT_EQ(replayed.body["duplicates"], 3);
  Reply totals_after = get(client(), "/api/v1/projects/vision/totals?by=experiment", token);
  ASSERT_EQ(totals_after.status, 200);
  EXPECT_EQ(totals_after.body["totals"], totals_before.body["totals"]);

  Reply run = get(client(), "/api/v1/runs/run-1", token);
  ASSERT_EQ(run.status, 200) << run.raw;
  EXPECT_EQ(run.body["sample_count"], 3);
  EXPECT_DOUBLE_EQ(run.body["energy_j"]["cpu"].get<double>(), 30.0);
  EXPECT_DOUBLE_EQ(run.body["energy_j"]["gpu"].get<double>(), 90.0);
  EXPECT_DOUBLE_EQ(run.body["energy_j"]["total"].get<double>(), 126.0);
  EXPECT_DOUBLE_EQ(run.body["emissions_g"].get<double>(), 1.5);
  EXPECT_TRUE(run.body["ended_unix_s"].is_null());

  // By experiment: baseline = run-1 (3 samples) + run-2 (2), bigger-lr = run-3 (1).
  std::map<std::string, json> by_experiment;
  for (const json& group : totals_after.body["totals"]) by_experiment[group["key"]] = group;
  ASSERT_EQ(by_experiment.size(), 2u) << totals_after.raw;
  EXPECT_DOUBLE_EQ(by_experiment["baseline"]["energy_j"]["cpu"].get<double>(), 50.0);
  EXPECT_DOUBLE_EQ(by_experiment["baseline"]["emissions_g"].get<double>(), 2.5);
  EXPECT_EQ(by_experiment["baseline"]["run_count"], 2);
  EXPECT_EQ(by_experiment["baseline"]["sample_count"], 5);
  EXPECT_DOUBLE_EQ(by_experiment["bigger-lr"]["energy_j"]["gpu"].get<double>(), 30.0);

  Reply by_job = get(client(), "/api/v1/projects/vision/totals?by=job", token);
  ASSERT_EQ(by_job.status, 200) << by_job.raw;
  std::map<std::string, json> jobs;
  for (const json& group : by_job.body["totals"]) jobs[group["key"]] = group;
  ASSERT_EQ(jobs.size(), 2u) << by_job.raw;
  EXPECT_EQ(jobs["job-1"]["run_count"], 2);  // two nodes of one job, added up as one job
  EXPECT_DOUBLE_EQ(jobs["job-1"]["energy_j"]["ram"].get<double>(), 10.0);

  Reply by_day = get(client(), "/api/v1/projects/vision/totals?by=day", token);
  ASSERT_EQ(by_day.status, 200) << by_day.raw;
  std::map<std::string, json> days;
  for (const json& group : by_day.body["totals"]) days[group["key"]] = group;
  ASSERT_EQ(days.size(), 2u) << by_day.raw;
  EXPECT_EQ(days["2024-06-01"]["sample_count"], 5);
  EXPECT_EQ(days["2024-06-02"]["sample_count"], 1);

  Reply by_run = get(client(), "/api/v1/projects/vision/totals?by=run", token);
  ASSERT_EQ(by_run.status, 200) << by_run.raw;
  EXPECT_EQ(by_run.body["totals"].size(), 3u);
  EXPECT_EQ(get(client(), "/api/v1/projects/vision/totals?by=week", token).status, 400);

  Reply experiments = get(client(), "/api/v1/projects/vision/experiments", token);
  ASSERT_EQ(experiments.status, 200) << experiments.raw;
  EXPECT_EQ(experiments.body["experiments"], json::array({"baseline", "bigger-lr"}));

  Reply runs = get(client(), "/api/v1/runs?project=vision&experiment=baseline", token);
  ASSERT_EQ(runs.status, 200) << runs.raw;
  EXPECT_EQ(runs.body["runs"].size(), 2u);
  Reply job_runs = get(client(), "/api/v1/runs?job=job-2", token);
  ASSERT_EQ(job_runs.status, 200) << job_runs.raw;
  ASSERT_EQ(job_runs.body["runs"].size(), 1u);
  EXPECT_EQ(job_runs.body["runs"][0]["run_id"], "run-3");
  Reply page = get(client(), "/api/v1/runs?project=vision&limit=2&offset=2", token);
  ASSERT_EQ(page.status, 200) << page.raw;
  EXPECT_EQ(page.body["runs"].size(), 1u);

  Reply samples = get(client(), "/api/v1/runs/run-1/samples?after_seq=0&limit=10", token);
  ASSERT_EQ(samples.status, 200) << samples.raw;
  ASSERT_EQ(samples.body["samples"].size(), 2u);
  EXPECT_EQ(samples.body["samples"][0]["seq"], 1);
  EXPECT_DOUBLE_EQ(samples.body["samples"][0]["intensity_g_per_kwh"].get<double>(), 300.0);
  Reply first_page = get(client(), "/api/v1/runs/run-1/samples?limit=2", token);
  ASSERT_EQ(first_page.status, 200);
  EXPECT_EQ(first_page.body["next_after_seq"], 1);

  Reply finished = post(client(), "/api/v1/runs/run-1/finish", {{"ended_unix_s", 1717200200.0}}, token);
  ASSERT_EQ(finished.status, 200) << finished.raw;
  EXPECT_DOUBLE_EQ(finished.body["ended_unix_s"].get<double>(), 1717200200.0);
  EXPECT_EQ(post(client(), "/api/v1/runs/run-1/finish", {{"ended_unix_s", 1.0}}, token).status, 400);
  EXPECT_EQ(post(client(), "/api/v1/runs/absent/finish", {{"ended_unix_s", 1717200200.0}}, token).status,
            404);
  EXPECT_EQ(post(client(), "/api/v1/runs/absent/samples", samples_body(0, 1), token).status, 404);
}

TEST_P(ApiTest, MultiNodeRuleConflicts) {
  start();
  const std::string token = project_with_token("vision");
  ASSERT_EQ(
      post(client(), "/api/v1/runs", run_body("rank-0", "vision", "e", "job-9", "node-a", 0), token).status,
      201);
  // Another run claiming rank 0 of the same job: the job would be counted twice.
  Reply same_rank =
      post(client(), "/api/v1/runs", run_body("rank-0-again", "vision", "e", "job-9", "node-b", 0), token);
  EXPECT_EQ(same_rank.status, 409) << same_rank.raw;
  EXPECT_EQ(same_rank.body["error"]["code"], "conflict");
  // Two machine-scope runs of one job on one node.
  ASSERT_EQ(
      post(client(), "/api/v1/runs", run_body("m-1", "vision", "e", "job-10", "node-c", 0, "machine"), token)
          .status,
      201);
  Reply second_machine =
      post(client(), "/api/v1/runs", run_body("m-2", "vision", "e", "job-10", "node-c", 1, "machine"), token);
  EXPECT_EQ(second_machine.status, 409) << second_machine.raw;
  // A run_id of another project.
  const std::string other = project_with_token("other");
  Reply taken = post(client(), "/api/v1/runs", run_body("rank-0", "other", "e", "job-1", "node-z", 0), other);
  EXPECT_EQ(taken.status, 409) << taken.raw;
}

TEST_P(ApiTest, RestartKeepsData) {
  start();
  const std::string token = project_with_token("vision");
  ASSERT_EQ(post(client(), "/api/v1/runs", run_body("run-1", "vision"), token).status, 201);
  ASSERT_EQ(post(client(), "/api/v1/runs/run-1/samples", samples_body(0, 4), token).status, 200);
  EXPECT_EQ(server_->stop(SIGTERM), 0) << server_->err();
  EXPECT_NE(server_->out().find("stopped"), std::string::npos) << server_->out();
  stop_server();

  start();
  Reply run = get(client(), "/api/v1/runs/run-1", token);  // the project token still works
  ASSERT_EQ(run.status, 200) << run.raw;
  EXPECT_EQ(run.body["sample_count"], 4);
  Reply replayed = post(client(), "/api/v1/runs/run-1/samples", samples_body(2, 4), token);
  ASSERT_EQ(replayed.status, 200) << replayed.raw;
  EXPECT_EQ(replayed.body["inserted"], 2);
  EXPECT_EQ(replayed.body["duplicates"], 2);
  EXPECT_EQ(server_->stop(SIGINT), 0) << server_->err();
}

TEST_P(ApiTest, GeneratesAnAdminTokenOnceWhenNoneIsGiven) {
  start({}, {});
  const std::string out = server_->out();
  const std::size_t at = out.find("  cm_");
  ASSERT_NE(at, std::string::npos) << out;
  const std::string admin = out.substr(at + 2, 3 + 64);
  EXPECT_EQ(post(client(), "/api/v1/projects", {{"name", "p"}}, admin).status, 201);
  stop_server();

  start({}, {});
  EXPECT_EQ(server_->out().find("generated the admin token"), std::string::npos)
      << "printed a second admin token:\n"
      << server_->out();
  EXPECT_EQ(get(client(), "/api/v1/projects/p", admin).status, 200);
  stop_server();

  // A token from --admin-token-file is accepted as admin.
  const std::string file = database_->dir() + "/admin_token";
  { std::ofstream(file) << "file-admin-token-abcdefghijklmnop\n"; }
  start({"--admin-token-file", file}, {});
  EXPECT_EQ(post(client(), "/api/v1/projects", {{"name", "q"}}, "file-admin-token-abcdefghijklmnop").status,
            201);
}

TEST_P(ApiTest, TheSameRunIdFromAnotherRunIsAConflictNotARetry) {
  start();
  const std::string token = project_with_token("vision");
  ASSERT_EQ(post(client(), "/api/v1/runs", run_body("r-1", "vision"), token).status, 201);
  EXPECT_EQ(post(client(), "/api/v1/runs", run_body("r-1", "vision"), token).status, 200);  // a retry
  // Another node (or rank, or scope) with the same id: its samples would be dropped as duplicates.
  Reply other_node =
      post(client(), "/api/v1/runs", run_body("r-1", "vision", "baseline", "job-1", "node-b"), token);
  EXPECT_EQ(other_node.status, 409) << other_node.raw;
  EXPECT_NE(other_node.body["error"]["message"].get<std::string>().find("choose a new run_id"),
            std::string::npos);
  json later = run_body("r-1", "vision");
  later["started_unix_s"] = later["started_unix_s"].get<double>() + 60;
  EXPECT_EQ(post(client(), "/api/v1/runs", later, token).status, 409);
}

INSTANTIATE_TEST_SUITE_P(Backends, ApiTest, ::testing::Values("sqlite", "postgresql"), backend_name);

}  // namespace
}  // namespace carbonmeter::testing
