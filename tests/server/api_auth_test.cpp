// Who may do what: every authentication and permission failure, and --public-read.
#include "api_fixture.hpp"

namespace carbonmeter::testing {
namespace {

using nlohmann::json;

class ApiAuthTest : public ApiTest {};

void expect_error(const Reply& reply, int status, const std::string& code) {
  EXPECT_EQ(reply.status, status) << reply.raw;
  ASSERT_TRUE(reply.body.is_object()) << reply.raw;
  EXPECT_EQ(reply.body["error"]["code"], code) << reply.raw;
  EXPECT_FALSE(reply.body["error"]["message"].get<std::string>().empty());
}

TEST_P(ApiAuthTest, EveryFailure) {
  start();
  const std::string vision = project_with_token("vision");
  const std::string nlp = project_with_token("nlp");
  ASSERT_EQ(post(client(), "/api/v1/runs", run_body("run-1", "vision"), vision).status, 201);

  // No token.
  expect_error(get(client(), "/api/v1/projects"), 401, "unauthorized");
  expect_error(get(client(), "/api/v1/runs/run-1"), 401, "unauthorized");
  expect_error(post(client(), "/api/v1/runs", run_body("run-2", "vision")), 401, "unauthorized");
  expect_error(post(client(), "/api/v1/runs/run-1/samples", samples_body(0, 1)), 401, "unauthorized");
  expect_error(post(client(), "/api/v1/projects", {{"name", "x"}}), 401, "unauthorized");

  // A wrong token, and a malformed header.
  const std::string wrong = "cm_" + std::string(64, 'a');
  expect_error(get(client(), "/api/v1/projects", wrong), 401, "invalid_token");
  expect_error(post(client(), "/api/v1/runs/run-1/samples", samples_body(0, 1), wrong), 401, "invalid_token");
  expect_error(post(client(), "/api/v1/projects", {{"name", "x"}}, vision + "x"), 401, "invalid_token");
  httplib::Headers basic = {{"Authorization", "Basic dXNlcjpwYXNz"}};
  auto basic_reply = client().Get("/api/v1/projects", basic);
  ASSERT_TRUE(basic_reply);
  EXPECT_EQ(basic_reply->status, 401);

  // Another project's token: no writes, no reads of that project.
  expect_error(post(client(), "/api/v1/runs", run_body("run-2", "vision"), nlp), 403, "forbidden");
  expect_error(post(client(), "/api/v1/runs/run-1/samples", samples_body(0, 1), nlp), 403, "forbidden");
  expect_error(post(client(), "/api/v1/runs/run-1/finish", {{"ended_unix_s", 1717300000.0}}, nlp), 403,
               "forbidden");
  expect_error(get(client(), "/api/v1/runs/run-1", nlp), 403, "forbidden");
  expect_error(get(client(), "/api/v1/runs/run-1/samples", nlp), 403, "forbidden");
  expect_error(get(client(), "/api/v1/projects/vision", nlp), 403, "forbidden");
  expect_error(get(client(), "/api/v1/projects/vision/totals?by=run", nlp), 403, "forbidden");
  expect_error(get(client(), "/api/v1/projects/vision/experiments", nlp), 403, "forbidden");
  expect_error(get(client(), "/api/v1/runs?project=vision", nlp), 403, "forbidden");
  Reply own_runs = get(client(), "/api/v1/runs", nlp);  // its own (empty) list, not vision's
  ASSERT_EQ(own_runs.status, 200) << own_runs.raw;
  EXPECT_TRUE(own_runs.body["runs"].empty());

  // Admin-only routes with a project token.
  expect_error(post(client(), "/api/v1/projects", {{"name", "x"}}, vision), 403, "forbidden");
  expect_error(post(client(), "/api/v1/projects/vision/tokens", {{"label", "x"}}, vision), 403, "forbidden");
  // Runs are sent with a project token, not the admin token.
  expect_error(post(client(), "/api/v1/runs", run_body("run-3", "vision"), kAdminToken), 403, "forbidden");

  // The admin reads everything.
  EXPECT_EQ(get(client(), "/api/v1/runs/run-1", kAdminToken).status, 200);
  Reply all_runs = get(client(), "/api/v1/runs", kAdminToken);
  ASSERT_EQ(all_runs.status, 200);
  EXPECT_EQ(all_runs.body["runs"].size(), 1u);
}

TEST_P(ApiAuthTest, PublicReadAllowsReadsOnly) {
  start({"--public-read"});
  const std::string vision = project_with_token("vision");
  ASSERT_EQ(post(client(), "/api/v1/runs", run_body("run-1", "vision"), vision).status, 201);
  ASSERT_EQ(post(client(), "/api/v1/runs/run-1/samples", samples_body(0, 2), vision).status, 200);

  EXPECT_EQ(get(client(), "/api/v1/projects").status, 200);
  EXPECT_EQ(get(client(), "/api/v1/runs/run-1").status, 200);
  EXPECT_EQ(get(client(), "/api/v1/runs/run-1/samples").status, 200);
  Reply totals = get(client(), "/api/v1/projects/vision/totals?by=experiment");
  ASSERT_EQ(totals.status, 200) << totals.raw;
  EXPECT_EQ(totals.body["totals"].size(), 1u);
  // Writes still need a token; a wrong token is still refused.
  expect_error(post(client(), "/api/v1/runs/run-1/samples", samples_body(2, 1)), 401, "unauthorized");
  expect_error(post(client(), "/api/v1/projects", {{"name", "x"}}), 401, "unauthorized");
  expect_error(get(client(), "/api/v1/projects", "cm_wrong"), 401, "invalid_token");
}

TEST_P(ApiAuthTest, RateLimitAnswers429WithRetryAfter) {
  start({"--rate-limit", "1", "--rate-burst", "5"});
  int limited = 0;
  Reply last;
  for (int i = 0; i < 8; ++i) {
    Reply reply = get(client(), "/api/v1/projects", kAdminToken);
    if (reply.status == 429) {
      ++limited;
      last = reply;
    } else {
      EXPECT_EQ(reply.status, 200) << reply.raw;
    }
  }
  EXPECT_GE(limited, 2);
  EXPECT_EQ(last.body["error"]["code"], "rate_limited");
  EXPECT_GE(std::stoi(last.retry_after.empty() ? "0" : last.retry_after), 1);
  // Buckets are per token: another caller is not limited.
  const std::string header_less = get(client(), "/api/v1/health").raw;
  EXPECT_NE(header_less.find("ok"), std::string::npos);
  Reply other = get(client(), "/api/v1/projects", "cm_other");
  EXPECT_EQ(other.status, 401) << other.raw;
}

INSTANTIATE_TEST_SUITE_P(Backends, ApiAuthTest, ::testing::Values("sqlite", "postgresql"), backend_name);

}  // namespace
}  // namespace carbonmeter::testing
