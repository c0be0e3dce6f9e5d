// The dashboard tests' fixture: the API tests' (a real `carbonmeter serve` on SQLite or
// PostgreSQL), plus pages fetched as a browser would and projects filled through the API.
#pragma once

#include <algorithm>
#include <cstdlib>
#include <string>

#include "api_fixture.hpp"
#include "core/url_encode.hpp"

namespace carbonmeter::testing {

struct Page {
  int status = 0;  // 0: no answer
  std::string body;
  httplib::Headers headers;
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

inline std::size_t count_of(const std::string& text, const std::string& needle) {
  std::size_t count = 0;
  for (std::size_t at = text.find(needle); at != std::string::npos;
       at = text.find(needle, at + needle.size()))
    ++count;
  return count;
}

// The markup of the element that starts with id="ID", up to its closing `end` tag.
inline std::string element(const std::string& html, const std::string& id, const std::string& end) {
  const std::size_t start = html.find("id=\"" + id + "\"");
  if (start == std::string::npos) return "";
  const std::size_t stop = html.find(end, start);
  return html.substr(start, stop == std::string::npos ? std::string::npos : stop - start);
}

class DashboardTest : public ApiTest {
 protected:
  void SetUp() override {
    const char* url = std::getenv("CARBONMETER_TEST_POSTGRES_URL");
    if (GetParam() == "postgresql" && (url == nullptr || *url == '\0')) {
      GTEST_SKIP() << "CARBONMETER_TEST_POSTGRES_URL is not set: the PostgreSQL dashboard tests need a real "
                      "server (`make test` starts one, or `eval \"$(scripts/test_services)\"`)";
    }
    ApiTest::SetUp();
  }

  // GET `path` with a Bearer token and/or a Cookie header (none when empty); redirects not followed.
  Page page(const std::string& path, const std::string& token = "", const std::string& cookie = "",
            httplib::Headers headers = {}) {
    if (!token.empty()) headers.emplace("Authorization", "Bearer " + token);
    if (!cookie.empty()) headers.emplace("Cookie", cookie);
    return to_page(client().Get(path.c_str(), headers));
  }

  // POST an HTML form (application/x-www-form-urlencoded).
  Page post_form(const std::string& path, const std::string& form, httplib::Headers headers = {}) {
    return to_page(client().Post(path.c_str(), headers, form, "application/x-www-form-urlencoded"));
  }

  // A project with a token, and `runs` runs r-0 ... r-{runs-1} (started an hour apart; even ones in
  // experiment "bert", odd ones in "gpt"; four ranks per job), each with `samples` samples of
  // samples_body (42 J and 0.5 g each) from its start. Returns the project's token.
  std::string fill_project(const std::string& project, int runs, int samples,
                           const std::string& prefix = "r-") {
    const std::string token = project_with_token_encoded(project);
    for (int i = 0; i < runs; ++i) {
      const std::string run_id = prefix + std::to_string(i);
      nlohmann::json body =
          run_body(run_id, project, i % 2 == 0 ? "bert" : "gpt", prefix + "job-" + std::to_string(i / 4),
                   "node-" + std::to_string(i % 4), i % 4);
      const double start = 1717200000.0 + 3600.0 * i;
      body["started_unix_s"] = start;
      Reply registered = post(client(), "/api/v1/runs", body, token);
      EXPECT_EQ(registered.status, 201) << registered.raw;
      for (int first = 0; first < samples; first += 1000) {
        Reply sent = post(client(), "/api/v1/runs/" + run_id + "/samples",
                          samples_body(first, std::min(1000, samples - first), start), token);
        EXPECT_EQ(sent.status, 200) << sent.raw;
      }
    }
    return token;
  }

  // project_with_token for any name (the path is percent-encoded).
  std::string project_with_token_encoded(const std::string& name) {
    Reply created = post(client(), "/api/v1/projects", {{"name", name}}, kAdminToken);
    EXPECT_EQ(created.status, 201) << created.raw;
    Reply token =
        post(client(), "/api/v1/projects/" + url_encode(name) + "/tokens", {{"label", "ci"}}, kAdminToken);
    EXPECT_EQ(token.status, 201) << token.raw;
    return token.body.value("token", "");
  }

 private:
  static Page to_page(const httplib::Result& result) {
    Page page;
    if (!result) return page;
    page.status = result->status;
    page.body = result->body;
    page.headers = result->headers;
    return page;
  }
};

}  // namespace carbonmeter::testing
