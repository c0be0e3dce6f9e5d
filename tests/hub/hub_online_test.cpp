// `carbonmeter hub search --online` against a fake Hub API served by this test on loopback: pages
// linked with `Link: <URL>; rel="next"`, a malformed item, a token, a server that is down or
// answers nonsense, and TLS with a certificate made for the test.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "support/fake_root.hpp"
#include "support/process_guard.hpp"
#include "support/run_cli.hpp"

namespace carbonmeter {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

struct SeenRequest {
  std::string path;
  httplib::Params params;
  std::string authorization;
};

// Three pages of models with co2_eq_emissions; page 1 links to page 2 by an absolute URL, page 2
// to page 3 by a path. Serves over TLS when given a certificate and key.
class FakeHub {
 public:
  explicit FakeHub(const std::string& cert = "", const std::string& key = "")
      : server_(cert.empty()
                    ? std::make_unique<httplib::Server>()
                    : std::unique_ptr<httplib::Server>(new httplib::SSLServer(cert.c_str(), key.c_str()))),
        scheme_(cert.empty() ? "http" : "https"),
        port_(server_->bind_to_any_port("127.0.0.1")) {
    server_->Get("/api/models", [this](const httplib::Request& request, httplib::Response& response) {
      const std::string cursor = request.has_param("cursor") ? request.get_param_value("cursor") : "1";
      {
        std::lock_guard lock(mutex_);
        seen_.push_back({request.path, request.params, request.get_header_value("Authorization")});
      }
      if (cursor == "1") {
        response.set_header("Link", "<" + origin() + "/api/models?cursor=2&limit=3>; rel=\"next\"");
        response.set_content(R"([
          {"id": "org/small", "cardData": {"co2_eq_emissions": 5}},
          {"id": "org/mid", "cardData": {"co2_eq_emissions": {"emissions": 1200, "source": "codecarbon",
           "training_type": "fine-tuning", "geographical_location": "Quebec", "hardware_used": "4 x V100"}}},
          {"id": "org/kg-text", "cardData": {"co2_eq_emissions": "3.5 kg"}}
        ])",
                             "application/json");
      } else if (cursor == "2") {
        response.set_header("Link", "</api/models?cursor=3&limit=3>; rel=\"next\"");
        response.set_content(R"([
          {"modelId": "old-style", "cardData": {"co2_eq_emissions": "800"}},
          {"id": "org/none", "cardData": {"license": "mit"}},
          {"id": "org/big", "cardData": {"co2_eq_emissions": {"emissions": 2000000}}}
        ])",
                             "application/json");
      } else {
        response.set_content(R"([{"id": "org/last", "cardData": {"co2_eq_emissions": 900}}])",
                             "application/json");
      }
    });
    thread_ = std::thread([this] { server_->listen_after_bind(); });
    while (!server_->is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~FakeHub() {
    server_->stop();
    thread_.join();
  }

  std::string origin() const { return scheme_ + "://127.0.0.1:" + std::to_string(port_); }
  std::vector<SeenRequest> seen() const {
    std::lock_guard lock(mutex_);
    return seen_;
  }

 private:
  std::unique_ptr<httplib::Server> server_;
  std::string scheme_;
  int port_;
  std::thread thread_;
  mutable std::mutex mutex_;
  std::vector<SeenRequest> seen_;
};

// carbonmeter with `env` set in its own process; run_carbonmeter keeps the developer's Hugging Face
// settings out.
testing::CliOutcome carbonmeter(const std::vector<std::string>& args, const testing::EnvChanges& env = {}) {
  return testing::run_carbonmeter(args, "/tmp", nullptr, env);
}

std::vector<std::string> model_ids(const json& list) {
  std::vector<std::string> ids;
  for (const auto& item : list) ids.push_back(item["model_id"].get<std::string>());
  return ids;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  for (std::size_t at = 0; at < text.size();) {
    const std::size_t end = text.find('\n', at);
    lines.push_back(text.substr(at, end - at));
    at = end == std::string::npos ? text.size() : end + 1;
  }
  return lines;
}

TEST(HubOnline, FollowsEveryPageAppliesTheThresholdsAndSendsTheToken) {
  FakeHub hub;
  const auto outcome = carbonmeter({"hub", "search", "--online", "--min-grams", "5", "--max-grams", "1200",
                                    "--sort", "emissions", "--json"},
                                   {{"HF_ENDPOINT", hub.origin() + "/"}, {"HF_TOKEN", "hf_test_token"}});
  ASSERT_EQ(outcome.exit_code, 0) << outcome.err;
  const json list = json::parse(outcome.out);
  EXPECT_THAT(model_ids(list), ElementsAre("org/small", "old-style", "org/last", "org/mid"));
  const json& mid = list[3];
  EXPECT_EQ(mid["emissions_g"], 1200.0);
  EXPECT_EQ(mid["source"], "codecarbon");
  EXPECT_EQ(mid["training_type"], "fine-tuning");
  EXPECT_EQ(mid["geographical_location"], "Quebec");
  EXPECT_EQ(mid["hardware_used"], "4 x V100");
  EXPECT_EQ(mid["path"], hub.origin() + "/org/mid");
  // The malformed item: one line on stderr, with its URL and what is wrong.
  const auto errors = lines_of(outcome.err);
  ASSERT_EQ(errors.size(), 1u) << outcome.err;
  EXPECT_THAT(errors[0], HasSubstr(hub.origin() + "/org/kg-text: co2_eq_emissions '3.5 kg' has a unit"));

  const auto seen = hub.seen();
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].path, "/api/models");
  const auto param = [](const SeenRequest& request, const std::string& name) {
    const auto found = request.params.find(name);
    return found == request.params.end() ? std::string("(none)") : found->second;
  };
  EXPECT_EQ(param(seen[0], "filter"), "co2_eq_emissions");
  EXPECT_EQ(param(seen[0], "cardData"), "true");
  EXPECT_EQ(param(seen[0], "limit"), "100");
  EXPECT_EQ(param(seen[1], "cursor"), "2");
  EXPECT_EQ(param(seen[2], "cursor"), "3");
  for (const SeenRequest& request : seen) EXPECT_EQ(request.authorization, "Bearer hf_test_token");
}

TEST(HubOnline, TextOutputSearchAuthorEndpointFlagAndLimit) {
  FakeHub hub;
  const auto outcome = carbonmeter({"hub", "search", "--online", "--endpoint", hub.origin(), "--search",
                                    "bert base", "--author", "org&co", "--limit", "4"},
                                   {{"HF_ENDPOINT", "http://127.0.0.1:1"}});  // --endpoint wins
  ASSERT_EQ(outcome.exit_code, 0) << outcome.err;
  EXPECT_THAT(outcome.out, HasSubstr("org/mid"));
  EXPECT_THAT(outcome.out, HasSubstr("1.2 kg"));
  EXPECT_THAT(outcome.out, HasSubstr("old-style"));
  EXPECT_THAT(outcome.out, Not(HasSubstr("org/big")));  // past --limit 4
  EXPECT_THAT(outcome.out, HasSubstr("3 models report emissions"));
  EXPECT_THAT(outcome.out, HasSubstr("; stopped after --limit 4 models (the Hub has more)."));
  EXPECT_THAT(outcome.out, HasSubstr("1 unreadable card:"));
  EXPECT_THAT(outcome.out, HasSubstr(hub.origin() + "/org/kg-text: "));
  const auto seen = hub.seen();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].params.find("search")->second, "bert base");
  EXPECT_EQ(seen[0].params.find("author")->second, "org&co");
  EXPECT_EQ(seen[0].params.find("limit")->second, "4");
  EXPECT_EQ(seen[0].authorization, "");  // no HF_TOKEN, no header
}

// --limit cuts the search short only when the Hub has more: a page with items left over or a link
// to the next page. Under --json that is one line on stderr.
TEST(HubOnline, ALimitThatCutsTheSearchShortIsSaid) {
  FakeHub hub;
  const std::string note = "stopped after --limit";
  const auto at_page_end =
      carbonmeter({"hub", "search", "--online", "--endpoint", hub.origin(), "--limit", "3"});
  ASSERT_EQ(at_page_end.exit_code, 0) << at_page_end.err;
  EXPECT_THAT(at_page_end.out, HasSubstr("; stopped after --limit 3 models (the Hub has more)."));
  EXPECT_EQ(hub.seen().size(), 1u);  // the next page is not asked for

  const auto json_out =
      carbonmeter({"hub", "search", "--online", "--endpoint", hub.origin(), "--limit", "5", "--json"});
  ASSERT_EQ(json_out.exit_code, 0) << json_out.err;
  EXPECT_EQ(json::parse(json_out.out).size(), 3u);  // small, mid, old-style (big is past the limit)
  const auto errors = lines_of(json_out.err);
  ASSERT_EQ(errors.size(), 2u) << json_out.err;  // kg-text's unit, then the limit
  EXPECT_THAT(errors[1], HasSubstr("stopped after --limit 5 models (the Hub has more): raise --limit"));

  // Seven models in all: a limit of 7 reads every one, and says nothing.
  for (const char* limit : {"7", "8"}) {
    const auto all = carbonmeter({"hub", "search", "--online", "--endpoint", hub.origin(), "--limit", limit});
    ASSERT_EQ(all.exit_code, 0) << all.err;
    EXPECT_THAT(all.out, HasSubstr("5 models report emissions; 1 card reports no emissions.")) << limit;
    EXPECT_THAT(all.out, Not(HasSubstr(note))) << limit;
    const auto all_json =
        carbonmeter({"hub", "search", "--online", "--endpoint", hub.origin(), "--limit", limit, "--json"});
    EXPECT_THAT(all_json.err, Not(HasSubstr(note))) << limit;
  }
}

TEST(HubOnline, ADownServerIsOneClearLineAndExit1) {
  const std::string endpoint = "http://127.0.0.1:" + std::to_string(testing::free_loopback_port());
  const auto outcome = carbonmeter({"hub", "search", "--online", "--endpoint", endpoint, "--json"});
  EXPECT_EQ(outcome.exit_code, 1);
  EXPECT_EQ(outcome.out, "");
  ASSERT_EQ(lines_of(outcome.err).size(), 1u) << outcome.err;
  EXPECT_THAT(outcome.err, HasSubstr("cannot reach the Hub API at " + endpoint + "/api/models?"));
  EXPECT_THAT(outcome.err, HasSubstr("cannot connect"));
}

TEST(HubOnline, RefusalsAndAnswersThatAreNotAListAreOneLineAndExit1) {
  httplib::Server server;
  const int port = server.bind_to_any_port("127.0.0.1");
  server.Get("/e500/api/models", [](const httplib::Request&, httplib::Response& response) {
    response.status = 500;
    response.set_content("{\"error\": \"internal\\nproblem\"}", "application/json");
  });
  server.Get("/html/api/models", [](const httplib::Request&, httplib::Response& response) {
    response.set_content("<html>\n<body>a login page</body></html>", "text/html");
  });
  server.Get("/object/api/models", [](const httplib::Request&, httplib::Response& response) {
    response.set_content("{\"models\": []}", "application/json");
  });
  std::thread thread([&server] { server.listen_after_bind(); });
  while (!server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const std::string origin = "http://127.0.0.1:" + std::to_string(port);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"/e500", "answered HTTP 500: internal problem"},
      {"/html", "did not answer JSON"},
      {"/object", "not a list of models"},
  };
  for (const auto& [prefix, message] : cases) {
    const auto outcome = carbonmeter({"hub", "search", "--online", "--endpoint", origin + prefix});
    EXPECT_EQ(outcome.exit_code, 1) << prefix;
    EXPECT_EQ(outcome.out, "") << prefix;
    EXPECT_EQ(lines_of(outcome.err).size(), 1u) << outcome.err;
    EXPECT_THAT(outcome.err, HasSubstr(message)) << prefix;
  }
  server.stop();
  thread.join();
}

// TLS works through the HTTP module: with the test's certificate trusted (SSL_CERT_FILE) the
// search goes through; without it the certificate is refused.
TEST(HubOnline, HttpsWithACertificateTheSystemTrusts) {
  if (std::system("command -v openssl >/dev/null 2>&1") != 0) GTEST_SKIP() << "no openssl program";
  char pattern[] = "/tmp/carbonmeter-hub-tls-XXXXXX";
  ASSERT_NE(::mkdtemp(pattern), nullptr);
  const std::string dir = pattern;
  const std::string cert = dir + "/cert.pem", key = dir + "/key.pem";
  const std::string make_cert =
      "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 "
      "-addext subjectAltName=IP:127.0.0.1 -keyout " +
      key + " -out " + cert + " >/dev/null 2>&1";
  ASSERT_EQ(std::system(make_cert.c_str()), 0);
  {
    FakeHub hub(cert, key);
    const std::string endpoint = hub.origin();
    {
      const auto outcome = carbonmeter({"hub", "search", "--online", "--endpoint", endpoint, "--json"},
                                       {{"SSL_CERT_FILE", cert}});
      ASSERT_EQ(outcome.exit_code, 0) << outcome.err;
      EXPECT_EQ(json::parse(outcome.out).size(), 5u);
    }
    const auto untrusted = carbonmeter({"hub", "search", "--online", "--endpoint", endpoint});
    EXPECT_EQ(untrusted.exit_code, 1);
    EXPECT_THAT(untrusted.err, HasSubstr("cannot reach the Hub API at " + endpoint));
  }
  fs::remove_all(dir);
}

// The HTTP module GET came with is interface 2: a module of interface 1 (an older carbonmeter's,
// found through CARBONMETER_HTTP_MODULE) is refused with a message, never called.
TEST(HubOnline, AnHttpModuleFromAnotherVersionIsRefusedNotUsed) {
  if (std::system("command -v cc >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "no C compiler to build an old module";
  char pattern[] = "/tmp/carbonmeter-hub-module-XXXXXX";
  ASSERT_NE(::mkdtemp(pattern), nullptr);
  const std::string dir = pattern;
  testing::write_file(dir + "/old.c",
                      "struct Old { int interface_version; void* listen; void* poster; };\n"
                      "static const struct Old old = {1, 0, 0};\n"
                      "const struct Old* carbonmeter_http_module(void) { return &old; }\n");
  ASSERT_EQ(std::system(("cc -shared -fPIC -o " + dir + "/libold.so " + dir + "/old.c").c_str()), 0);
  // A copy of the program with no module beside it.
  fs::copy_file(CARBONMETER_CLI_PATH, dir + "/carbonmeter");
  fs::permissions(dir + "/carbonmeter", fs::perms::owner_all);
  const auto search_with_module = [&dir](const std::string& module) {
    testing::ProcessGuard cli(
        {dir + "/carbonmeter", "hub", "search", "--online", "--endpoint", "http://127.0.0.1:9"},
        {{"CARBONMETER_HTTP_MODULE", module}});
    const std::optional<int> exit_code = cli.wait(30);
    return std::make_pair(exit_code, cli.err());
  };
  // After CARBONMETER_HTTP_MODULE, the program tries the installed module: where a carbonmeter is
  // installed, that one answers, and the refusal cannot be seen.
  const std::string probe_err = search_with_module(dir + "/missing.so").second;
  if (probe_err.find("cannot load carbonmeter's HTTP module") == std::string::npos) {
    fs::remove_all(dir);
    GTEST_SKIP() << "an installed carbonmeter's HTTP module is found after CARBONMETER_HTTP_MODULE: "
                 << probe_err;
  }
  const auto [exit_code, err] = search_with_module(dir + "/libold.so");
  ASSERT_TRUE(exit_code);
  EXPECT_EQ(*exit_code, 1) << err;  // not a crash (139)
  EXPECT_THAT(err, HasSubstr("cannot load carbonmeter's HTTP module"));
  EXPECT_THAT(
      err,
      HasSubstr(dir + "/libold.so (from another carbonmeter version: interface 1, this program needs 2)"));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace carbonmeter
