// The parameterised fixture of the HTTP API tests: each test runs against SQLite and against
// PostgreSQL, with a fresh database and its own `carbonmeter serve` process.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "api_test_support.hpp"

namespace carbonmeter::testing {

inline const std::string kAdminToken = "test-admin-token-0123456789abcdef";

class ApiTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    database_ = std::make_unique<TestDatabase>(GetParam());
    if (!database_->error().empty()) GTEST_FAIL() << database_->error();
  }

  // Starts `carbonmeter serve` on this test's database (rate limit off unless `args` set it).
  ServeProcess& start(std::vector<std::string> args = {},
                      std::map<std::string, std::string> env = {{"CARBONMETER_ADMIN_TOKEN", kAdminToken}}) {
    std::vector<std::string> all = {"--db", database_->url()};
    bool has_rate = false;
    for (const std::string& word : args) has_rate = has_rate || word == "--rate-limit";
    if (!has_rate) all.insert(all.end(), {"--rate-limit", "0"});
    all.insert(all.end(), args.begin(), args.end());
    server_ = std::make_unique<ServeProcess>(all, env, database_->dir());
    if (!server_->started()) {
      ADD_FAILURE() << "carbonmeter serve did not start.\nstdout:\n"
                    << server_->out() << "\nstderr:\n"
                    << server_->err();
    }
    client_ = std::make_unique<httplib::Client>(server_->client());
    return *server_;
  }
  void stop_server() {
    client_.reset();
    server_.reset();
  }

  httplib::Client& client() { return *client_; }

  // Creates a project and a token for it; returns the token.
  std::string project_with_token(const std::string& name) {
    Reply created = post(client(), "/api/v1/projects", {{"name", name}}, kAdminToken);
    EXPECT_EQ(created.status, 201) << created.raw;
    Reply token = post(client(), "/api/v1/projects/" + name + "/tokens", {{"label", "ci"}}, kAdminToken);
    EXPECT_EQ(token.status, 201) << token.raw;
    return token.body.value("token", "");
  }

  static nlohmann::json run_body(const std::string& run_id, const std::string& project,
                                 const std::string& experiment = "baseline", const std::string& job = "job-1",
                                 const std::string& node = "node-a", int rank = 0,
                                 const std::string& scope = "process") {
    return {{"run_id", run_id},
            {"project", project},
            {"experiment", experiment},
            {"scope", scope},
            {"job", {{"id", job}, {"node", node}, {"rank", rank}, {"local_rank", 0}, {"world_size", 4}}},
            {"started_unix_s", 1717200000.0},
            {"metadata", {{"command", "python train.py"}, {"methods", {{"cpu", "rapl"}}}}}};
  }

  // Samples seq first..first+count-1, each 10 J cpu, 2 J ram, 30 J gpu, 0.5 g, one minute apart.
  static nlohmann::json samples_body(int first, int count, double t0_unix_s = 1717200000.0) {
    nlohmann::json samples = nlohmann::json::array();
    for (int seq = first; seq < first + count; ++seq) {
      samples.push_back({{"seq", seq},
                         {"t_unix_s", t0_unix_s + 60.0 * (seq + 1)},
                         {"dt_s", 60.0},
                         {"energy_j", {{"cpu", 10.0}, {"ram", 2.0}, {"gpu", 30.0}}},
                         {"emissions_g", 0.5},
                         {"intensity_g_per_kwh", 300.0}});
    }
    return {{"samples", samples}};
  }

  std::unique_ptr<TestDatabase> database_;
  std::unique_ptr<ServeProcess> server_;
  std::unique_ptr<httplib::Client> client_;
};

inline std::string backend_name(const ::testing::TestParamInfo<std::string>& info) { return info.param; }

}  // namespace carbonmeter::testing
