// What the API refuses, and how it says so: each answer names the field.
#include "api_fixture.hpp"

namespace carbonmeter::testing {
namespace {

using nlohmann::json;

class ApiValidationTest : public ApiTest {};

void expect_field_error(const Reply& reply, int status, const std::string& mentions) {
  EXPECT_EQ(reply.status, status) << reply.raw;
  ASSERT_TRUE(reply.body.is_object()) << reply.raw;
  const std::string message = reply.body["error"]["message"];
  EXPECT_NE(message.find(mentions), std::string::npos) << "message: " << message;
}

TEST_P(ApiValidationTest, RefusesBadBodies) {
  start();
  const std::string token = project_with_token("vision");
  ASSERT_EQ(post(client(), "/api/v1/runs", run_body("run-1", "vision"), token).status, 201);
  const std::string samples_path = "/api/v1/runs/run-1/samples";

  // Larger than 4 MiB: 413 before it is parsed.
  const std::string huge = "{\"samples\": [" + std::string(5 * 1024 * 1024, ' ') + "]}";
  Reply too_large = post_raw(client(), samples_path, huge, "application/json", token);
  EXPECT_EQ(too_large.status, 413) << too_large.raw.substr(0, 200);
  EXPECT_EQ(too_large.body["error"]["code"], "payload_too_large");

  Reply not_json = post_raw(client(), samples_path, "{\"samples\": [", "application/json", token);
  EXPECT_EQ(not_json.status, 400);
  EXPECT_EQ(not_json.body["error"]["code"], "invalid_json");
  Reply nan = post_raw(
      client(), samples_path,
      R"({"samples": [{"seq": 0, "t_unix_s": 1, "dt_s": 1, "energy_j": {"cpu": NaN, "ram": 0, "gpu": 0}, "emissions_g": 0}]})",
      "application/json", token);
  EXPECT_EQ(nan.status, 400) << nan.raw;
  Reply infinite = post_raw(
      client(), samples_path,
      R"({"samples": [{"seq": 0, "t_unix_s": 1, "dt_s": 1, "energy_j": {"cpu": 1e999, "ram": 0, "gpu": 0}, "emissions_g": 0}]})",
      "application/json", token);
  EXPECT_EQ(infinite.status, 400) << infinite.raw;
  Reply wrong_type = post_raw(client(), samples_path, "seq=1", "application/x-www-form-urlencoded", token);
  EXPECT_EQ(wrong_type.status, 415) << wrong_type.raw;
  EXPECT_EQ(wrong_type.body["error"]["code"], "unsupported_media_type");

  json negative = samples_body(0, 2);
  negative["samples"][1]["energy_j"]["gpu"] = -1.0;
  expect_field_error(post(client(), samples_path, negative, token), 400, "samples[1].energy_j.gpu");
  json negative_seq = samples_body(0, 1);
  negative_seq["samples"][0]["seq"] = -3;
  expect_field_error(post(client(), samples_path, negative_seq, token), 400, "samples[0].seq");
  json fractional_seq = samples_body(0, 1);
  fractional_seq["samples"][0]["seq"] = 1.5;
  expect_field_error(post(client(), samples_path, fractional_seq, token), 400, "samples[0].seq");
  json missing = samples_body(0, 1);
  missing["samples"][0].erase("emissions_g");
  expect_field_error(post(client(), samples_path, missing, token), 400, "samples[0].emissions_g");
  json text_energy = samples_body(0, 1);
  text_energy["samples"][0]["energy_j"]["cpu"] = "10";
  expect_field_error(post(client(), samples_path, text_energy, token), 400, "samples[0].energy_j.cpu");
  // Times past 9999 do not fit the day numbers and calendars they turn into (1e300 once reached a
  // float-to-integer cast that is undefined behaviour).
  json far_future = samples_body(0, 1);
  far_future["samples"][0]["t_unix_s"] = 1e300;
  expect_field_error(post(client(), samples_path, far_future, token), 400, "samples[0].t_unix_s");
  far_future["samples"][0]["t_unix_s"] = 253402300800.0;
  expect_field_error(post(client(), samples_path, far_future, token), 400, "year 9999");
  expect_field_error(post(client(), "/api/v1/runs/run-1/finish", json{{"ended_unix_s", 1e300}}, token), 400,
                     "ended_unix_s");
  expect_field_error(post(client(), samples_path, samples_body(0, 1001), token), 400, "at most 1000");
  expect_field_error(post(client(), samples_path, json{{"samples", 3}}, token), 400, "samples");
  EXPECT_EQ(post(client(), samples_path, samples_body(0, 1000), token).status, 200);

  // Nothing of the refused batches was stored.
  Reply run = get(client(), "/api/v1/runs/run-1", token);
  ASSERT_EQ(run.status, 200);
  EXPECT_EQ(run.body["sample_count"], 1000);
}

TEST_P(ApiValidationTest, RefusesBadRunsAndNames) {
  start();
  const std::string token = project_with_token("vision");
  json bad_id = run_body("run 1/../x", "vision");
  expect_field_error(post(client(), "/api/v1/runs", bad_id, token), 400, "run_id");
  expect_field_error(post(client(), "/api/v1/runs", run_body(std::string(65, 'r'), "vision"), token), 400,
                     "run_id");
  expect_field_error(post(client(), "/api/v1/runs", run_body("", "vision"), token), 400, "run_id");
  json bad_scope = run_body("run-1", "vision");
  bad_scope["scope"] = "cluster";
  expect_field_error(post(client(), "/api/v1/runs", bad_scope, token), 400, "scope");
  json no_node = run_body("run-1", "vision");
  no_node["job"].erase("node");
  expect_field_error(post(client(), "/api/v1/runs", no_node, token), 400, "job.node");
  json bad_rank = run_body("run-1", "vision");
  bad_rank["job"]["rank"] = 4;  // world_size is 4
  expect_field_error(post(client(), "/api/v1/runs", bad_rank, token), 400, "job.rank");
  json bad_start = run_body("run-1", "vision");
  bad_start["started_unix_s"] = -5;
  expect_field_error(post(client(), "/api/v1/runs", bad_start, token), 400, "started_unix_s");
  bad_start["started_unix_s"] = 1e300;
  expect_field_error(post(client(), "/api/v1/runs", bad_start, token), 400, "started_unix_s");
  json bad_metadata = run_body("run-1", "vision");
  bad_metadata["metadata"] = "text";
  expect_field_error(post(client(), "/api/v1/runs", bad_metadata, token), 400, "metadata");
  expect_field_error(post(client(), "/api/v1/runs", run_body("run-1", "absent"), token), 404, "absent");
  EXPECT_EQ(get(client(), "/api/v1/runs/bad%20id", token).status, 400);

  expect_field_error(post(client(), "/api/v1/projects", {{"name", std::string(129, 'p')}}, kAdminToken), 400,
                     "name");
  expect_field_error(post(client(), "/api/v1/projects", {{"name", ""}}, kAdminToken), 400, "name");
  expect_field_error(post(client(), "/api/v1/projects", {{"name", "a\nb"}}, kAdminToken), 400, "name");
  expect_field_error(post(client(), "/api/v1/projects", {{"name", 7}}, kAdminToken), 400, "name");
  EXPECT_EQ(post(client(), "/api/v1/projects", {{"name", std::string(128, 'p')}}, kAdminToken).status, 201);
  EXPECT_EQ(post(client(), "/api/v1/projects", {{"name", "Équipe vision"}}, kAdminToken).status, 201);
  EXPECT_EQ(get(client(), "/api/v1/projects/%C3%89quipe%20vision", kAdminToken).status, 200);

  expect_field_error(get(client(), "/api/v1/runs?limit=0", token), 400, "limit");
  expect_field_error(get(client(), "/api/v1/runs?limit=abc", token), 400, "limit");
  expect_field_error(get(client(), "/api/v1/runs?offset=-1", token), 400, "offset");
  Reply unknown = get(client(), "/api/v1/nothing", token);
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(unknown.body["error"]["code"], "not_found");
}

INSTANTIATE_TEST_SUITE_P(Backends, ApiValidationTest, ::testing::Values("sqlite", "postgresql"),
                         backend_name);

}  // namespace
}  // namespace carbonmeter::testing
