// The dashboard over HTTP, on SQLite and on PostgreSQL: who may read which page (token, cookie,
// ?token=, the login form), what the pages say (totals, tables, charts, paging), hostile names
// escaped, and errors as small HTML pages.
#include <gmock/gmock.h>

#include "dashboard_fixture.hpp"

namespace carbonmeter::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

// "carbonmeter_token=VALUE" from a Set-Cookie value.
std::string cookie_pair(const std::string& set_cookie) { return set_cookie.substr(0, set_cookie.find(';')); }

TEST_P(DashboardTest, PagesFollowTheApisReadRule) {
  start();
  const std::string vision = fill_project("vision", 2, 3);
  fill_project("audio", 1, 3, "a-");

  Page anonymous = page("/");
  EXPECT_EQ(anonymous.status, 401);
  EXPECT_THAT(anonymous.header("Content-Type"), StartsWith("text/html"));
  EXPECT_THAT(anonymous.body, HasSubstr("id=\"login\""));
  EXPECT_THAT(anonymous.header("Content-Security-Policy"), HasSubstr("default-src 'none'"));

  Page admin = page("/", kAdminToken);
  ASSERT_EQ(admin.status, 200) << admin.body;
  EXPECT_EQ(count_of(admin.body, "class=\"project\""), 2u);
  Page own = page("/", vision);
  ASSERT_EQ(own.status, 200) << own.body;
  EXPECT_EQ(count_of(own.body, "class=\"project\""), 1u);
  EXPECT_THAT(own.body, HasSubstr("/dashboard/projects/vision"));
  EXPECT_THAT(own.body, Not(HasSubstr("audio")));

  EXPECT_EQ(page("/dashboard/projects/vision", vision).status, 200);
  Page foreign = page("/dashboard/projects/audio", vision);
  EXPECT_EQ(foreign.status, 403);
  EXPECT_THAT(foreign.header("Content-Type"), StartsWith("text/html"));
  EXPECT_THAT(foreign.body, HasSubstr("another project"));
  EXPECT_EQ(page("/dashboard/runs/a-0", vision).status, 403);
  EXPECT_EQ(page("/dashboard/runs/a-0", kAdminToken).status, 200);

  Page invalid = page("/", "cm_" + std::string(64, '0'));
  EXPECT_EQ(invalid.status, 401);
  EXPECT_THAT(invalid.body, HasSubstr("id=\"login\""));
  EXPECT_THAT(invalid.body, HasSubstr("not valid"));
}

TEST_P(DashboardTest, PublicReadNeedsNoToken) {
  start({"--public-read"});
  fill_project("vision", 1, 3);
  EXPECT_EQ(page("/").status, 200);
  EXPECT_EQ(page("/dashboard/projects/vision").status, 200);
  EXPECT_EQ(page("/dashboard/runs/r-0").status, 200);
}

TEST_P(DashboardTest, ATokenInTheUrlOrTheLoginFormBecomesACookie) {
  start();
  const std::string token = fill_project("vision", 1, 3);

  Page handed = page("/dashboard/projects/vision?token=" + token + "&offset=0");
  ASSERT_EQ(handed.status, 303) << handed.body;
  EXPECT_EQ(handed.header("Location"), "/dashboard/projects/vision?offset=0");
  const std::string set_cookie = handed.header("Set-Cookie");
  EXPECT_THAT(set_cookie, StartsWith("carbonmeter_token="));
  EXPECT_THAT(set_cookie, HasSubstr("HttpOnly"));
  EXPECT_THAT(set_cookie, HasSubstr("SameSite=Lax"));
  EXPECT_THAT(set_cookie, HasSubstr("Path=/"));
  EXPECT_THAT(set_cookie, Not(HasSubstr("Secure")));
  EXPECT_THAT(set_cookie, Not(HasSubstr(token.substr(3))));  // a session id, never the token
  const std::string cookie = cookie_pair(set_cookie);
  EXPECT_EQ(page("/dashboard/projects/vision", "", cookie).status, 200);
  EXPECT_EQ(page("/", "", "other=1; " + cookie + "; more=2").status, 200);
  // Behind a TLS proxy the cookie is Secure.
  Page proxied = page("/?token=" + token, "", "", {{"X-Forwarded-Proto", "https"}});
  EXPECT_THAT(proxied.header("Set-Cookie"), HasSubstr("; Secure"));
  // The JSON API reads Authorization only: the cookie is the dashboard's.
  EXPECT_EQ(page("/api/v1/projects", "", cookie).status, 401);
  EXPECT_EQ(page("/?token=cm_nope").status, 401);

  Page form = page("/dashboard/login?next=/dashboard/projects/vision");
  ASSERT_EQ(form.status, 200);
  EXPECT_THAT(form.body, HasSubstr("value=\"/dashboard/projects/vision\""));
  Page login =
      post_form("/dashboard/login", "token=" + url_encode(token) + "&next=%2Fdashboard%2Fprojects%2Fvision");
  ASSERT_EQ(login.status, 303) << login.body;
  EXPECT_EQ(login.header("Location"), "/dashboard/projects/vision");
  const std::string login_cookie = cookie_pair(login.header("Set-Cookie"));
  EXPECT_NE(login_cookie, cookie);  // a session of its own
  EXPECT_EQ(page("/", "", login_cookie).status, 200);
  for (const std::string next :
       {"%2F%2Fevil.example%2F", "https%3A%2F%2Fevil.example", "%2F%5Cevil.example"}) {
    Page elsewhere = post_form("/dashboard/login", "token=" + url_encode(token) + "&next=" + next);
    EXPECT_EQ(elsewhere.header("Location"), "/") << next;
  }
  Page wrong = post_form("/dashboard/login", "token=cm_wrong&next=%2F");
  EXPECT_EQ(wrong.status, 401);
  EXPECT_THAT(wrong.body, HasSubstr("not valid"));
  EXPECT_EQ(post_form("/dashboard/login", "token=&next=%2F").status, 400);

  Page logout = post_form("/dashboard/logout", "", {{"Cookie", login_cookie}});
  EXPECT_EQ(logout.status, 303);
  EXPECT_EQ(logout.header("Location"), "/dashboard/login");
  EXPECT_THAT(logout.header("Set-Cookie"), HasSubstr("Max-Age=0"));
  EXPECT_EQ(page("/", "", login_cookie).status, 401);  // the session ended on the server too
  EXPECT_EQ(page("/", "", cookie).status, 200);        // the other session lives on
  // A cookie whose token no longer works: the login form, and the cookie is dropped.
  Page stale = page("/", "", "carbonmeter_token=cm_revoked");
  EXPECT_EQ(stale.status, 401);
  EXPECT_THAT(stale.header("Set-Cookie"), HasSubstr("Max-Age=0"));
}

TEST_P(DashboardTest, ProjectPageHasTotalsChartsTablesAndPages) {
  start();
  const std::string token = fill_project("vision", 55, 4);
  Page project = page("/dashboard/projects/vision", token);
  ASSERT_EQ(project.status, 200) << project.body;
  const std::string& html = project.body;
  // 55 runs × 4 samples × 42 J = 9240 J; × 0.5 g = 110 g.
  EXPECT_THAT(element(html, "total-energy", "</div>"), HasSubstr("0.00257 kWh"));
  EXPECT_THAT(element(html, "total-emissions", "</div>"), HasSubstr("110 g CO2e"));
  EXPECT_THAT(element(html, "total-runs", "</div>"), HasSubstr(">55<"));
  EXPECT_THAT(element(html, "total-samples", "</div>"), HasSubstr(">220<"));
  EXPECT_THAT(html, HasSubstr("id=\"equivalent-phrases\""));
  EXPECT_THAT(html, HasSubstr("km driven by an average car"));

  // Emissions per run: a bar for each run of the page; energy per day: 55 hours → three days.
  EXPECT_EQ(count_of(element(html, "chart-run-emissions", "</figure>"), "class=\"bar\""), 50u);
  const std::string daily = element(html, "chart-daily-energy", "</figure>");
  EXPECT_EQ(count_of(daily, "class=\"bar\""), 3u);
  EXPECT_THAT(daily, HasSubstr("2024-06-01"));
  EXPECT_THAT(daily, HasSubstr("2024-06-03"));
  EXPECT_THAT(element(html, "chart-intensity", "</figure>"), HasSubstr(">300<"));

  EXPECT_EQ(count_of(element(html, "experiments", "</table>"), "?experiment="), 2u);
  EXPECT_EQ(count_of(element(html, "jobs", "</table>"), "<tr>"), 1u + 14u);  // header + jobs 0..13
  const std::string runs = element(html, "runs", "</table>");
  EXPECT_EQ(count_of(runs, "class=\"run\""), 50u);
  EXPECT_LT(runs.find("/dashboard/runs/r-54\""), runs.find("/dashboard/runs/r-53\""));  // newest first
  EXPECT_THAT(element(html, "pager", "</div>"), HasSubstr("?offset=50"));

  Page older = page("/dashboard/projects/vision?offset=50", token);
  ASSERT_EQ(older.status, 200);
  EXPECT_EQ(count_of(element(older.body, "runs", "</table>"), "class=\"run\""), 5u);
  EXPECT_THAT(element(older.body, "pager", "</div>"), HasSubstr("rel=\"prev\""));
  EXPECT_THAT(element(older.body, "pager", "</div>"), Not(HasSubstr("rel=\"next\"")));

  // One experiment: its 28 runs (the even ones), its totals, its charts.
  Page bert = page("/dashboard/projects/vision?experiment=bert", token);
  ASSERT_EQ(bert.status, 200);
  EXPECT_THAT(element(bert.body, "total-runs", "</div>"), HasSubstr(">28<"));
  EXPECT_THAT(element(bert.body, "total-emissions", "</div>"), HasSubstr("56 g CO2e"));
  EXPECT_EQ(count_of(element(bert.body, "chart-run-emissions", "</figure>"), "class=\"bar\""), 28u);
  EXPECT_THAT(element(bert.body, "runs", "</table>"), Not(HasSubstr("r-53")));

  EXPECT_EQ(page("/dashboard/projects/vision?offset=-1", token).status, 400);
  EXPECT_EQ(page("/dashboard/projects/vision?offset=x", token).status, 400);
}

TEST_P(DashboardTest, RunPageShowsTheRunAndChartsOfAtMost500Points) {
  start();
  const std::string token = fill_project("vision", 1, 1200);
  ASSERT_EQ(post(client(), "/api/v1/runs/r-0/finish", {{"ended_unix_s", 1717200000.0 + 72000}}, token).status,
            200);
  Page run = page("/dashboard/runs/r-0", token);
  ASSERT_EQ(run.status, 200) << run.body;
  const std::string meta = element(run.body, "run-meta", "</table>");
  for (const char* expected : {"vision", "bert", "r-job-0", "node-0", "0 / 0 / 4", "2024-06-01 00:00:00 UTC",
                               "2024-06-01 20:00:00 UTC", "20 h 00 min", "python train.py", "cpu: rapl"})
    EXPECT_THAT(meta, HasSubstr(expected));
  // 1200 samples × 42 J = 50400 J = 0.014 kWh; × 0.5 g = 600 g.
  EXPECT_THAT(element(run.body, "total-energy", "</div>"), HasSubstr("0.014 kWh"));
  EXPECT_THAT(element(run.body, "total-emissions", "</div>"), HasSubstr("600 g CO2e"));
  EXPECT_THAT(element(run.body, "total-samples", "</div>"), HasSubstr("1 200"));

  // The stacked power chart: its CPU area has a start, two points per merged interval, an end.
  const std::string power = element(run.body, "chart-power", "</figure>");
  const std::string key = "data-series=\"cpu\" points=\"";
  const std::size_t at = power.find(key);
  ASSERT_NE(at, std::string::npos);
  const std::string points =
      power.substr(at + key.size(), power.find('"', at + key.size()) - at - key.size());
  const std::size_t intervals = (count_of(points, ",") - 2) / 2;
  EXPECT_LE(intervals, 500u);
  EXPECT_GE(intervals, 400u);
  EXPECT_THAT(power, HasSubstr(">0.7<"));  // 42 J per 60 s, stacked
  EXPECT_THAT(run.body, HasSubstr("id=\"chart-intensity\""));
  EXPECT_THAT(run.body, HasSubstr("id=\"chart-emissions\""));
  EXPECT_THAT(run.body, HasSubstr("id=\"metadata\""));
}

TEST_P(DashboardTest, HostileNamesAreEscapedEverywhere) {
  start();
  const std::string project = "<script>alert(\"p\")<&'";
  const std::string experiment = "<img src=x onerror=alert(1)>";
  const std::string token = project_with_token_encoded(project);
  nlohmann::json body = run_body("evil", project, experiment, "<svg onload=alert(2)>", "<b>node");
  body["metadata"]["command"] = "<script>cmd";
  ASSERT_EQ(post(client(), "/api/v1/runs", body, token).status, 201);
  ASSERT_EQ(post(client(), "/api/v1/runs/evil/samples", samples_body(0, 3), token).status, 200);

  const std::string project_path = "/dashboard/projects/" + url_encode(project);
  for (const auto& [path, status] : std::vector<std::pair<std::string, int>>{
           {"/", 200},
           {project_path, 200},
           {project_path + "?experiment=" + url_encode(experiment), 200},
           {"/dashboard/runs/evil", 200},
           {"/dashboard/projects/" + url_encode("<script>absent"), 404}}) {
    Page shown = page(path, kAdminToken);
    EXPECT_EQ(shown.status, status) << path;
    EXPECT_THAT(shown.body, Not(HasSubstr("<script"))) << path;
    EXPECT_THAT(shown.body, Not(HasSubstr("<img"))) << path;
    EXPECT_THAT(shown.body, Not(HasSubstr("<svg onload"))) << path;
    EXPECT_THAT(shown.body, Not(HasSubstr("<b>"))) << path;
    EXPECT_THAT(shown.body, HasSubstr("&lt;script&gt;")) << path;
  }
  Page listed = page("/", kAdminToken);
  EXPECT_THAT(listed.body, HasSubstr("&lt;script&gt;alert(&quot;p&quot;)&lt;&amp;&#39;"));
  EXPECT_THAT(listed.body, HasSubstr("href=\"" + project_path + "\""));
  Page run = page("/dashboard/runs/evil", kAdminToken);
  EXPECT_THAT(run.body, HasSubstr("&lt;img src=x onerror=alert(1)&gt;"));
  EXPECT_THAT(run.body, HasSubstr("&lt;svg onload=alert(2)&gt;"));
}

TEST_P(DashboardTest, ErrorsAreSmallHtmlPages) {
  start();
  fill_project("vision", 1, 2);
  for (const auto& [path, status] :
       std::vector<std::pair<std::string, int>>{{"/dashboard/nope", 404},
                                                {"/dashboard/projects/absent", 404},
                                                {"/dashboard/runs/absent", 404},
                                                {"/dashboard/runs/bad%24id", 404},
                                                {"/dashboard/projects/vision/x", 404}}) {
    Page error = page(path, kAdminToken);
    EXPECT_EQ(error.status, status) << path;
    EXPECT_THAT(error.header("Content-Type"), StartsWith("text/html")) << path;
    EXPECT_THAT(error.body, HasSubstr("id=\"message\"")) << path;
  }
  Page dashboard = page("/dashboard", kAdminToken);
  EXPECT_EQ(dashboard.status, 303);
  EXPECT_EQ(dashboard.header("Location"), "/");
  // The API's own errors stay JSON.
  EXPECT_THAT(page("/api/v1/nope", kAdminToken).header("Content-Type"), StartsWith("application/json"));
}

TEST_P(DashboardTest, TheRateLimitAnswersWithAnHtmlPage) {
  start({"--rate-limit", "0.01", "--rate-burst", "1"});
  EXPECT_EQ(page("/", kAdminToken).status, 200);
  Page limited = page("/", kAdminToken);
  EXPECT_EQ(limited.status, 429);
  EXPECT_THAT(limited.header("Content-Type"), StartsWith("text/html"));
  EXPECT_FALSE(limited.header("Retry-After").empty());
}

INSTANTIATE_TEST_SUITE_P(Backends, DashboardTest, ::testing::Values("sqlite", "postgresql"), backend_name);

}  // namespace
}  // namespace carbonmeter::testing
