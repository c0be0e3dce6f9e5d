// The dashboard in a real browser: headless Chromium loads the main pages from a running server
// (through the ?token= hand-over to the cookie, as a person following a link would), takes
// screenshots and dumps the DOM it built. SQLite only: the pages do not depend on the back end
// (the HTTP tests cover both), and each Chromium start takes seconds.
#include <gmock/gmock.h>
#include <sys/wait.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "dashboard_fixture.hpp"

namespace carbonmeter::testing {
namespace {

using ::testing::HasSubstr;

std::string chromium() {
  for (const char* candidate : {"/usr/bin/chromium", "/usr/bin/chromium-browser"})
    if (std::filesystem::exists(candidate)) return candidate;
  return "";
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

class DashboardBrowserTest : public DashboardTest {
 protected:
  // Runs Chromium on `url` with `action` (--screenshot=FILE or --dump-dom); stdout to `out`.
  bool browse(const std::string& action, const std::string& url, const std::string& out) {
    const std::string dir = database_->dir();
    const std::string command = browser_ +
                                " --headless --no-sandbox --disable-gpu --disable-quic --no-first-run "
                                "--disable-background-networking --disable-component-update --disable-sync "
                                "--hide-scrollbars --user-data-dir=" +
                                dir + "/profile --window-size=1280,900 " + action + " '" + url + "' >" + out +
                                " 2>>" + dir + "/chromium.log";
    const int status = std::system(command.c_str());
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
  }

  std::string url(const std::string& path, const std::string& token) {
    return "http://127.0.0.1:" + std::to_string(server_->port()) + path +
           (path.find('?') == std::string::npos ? "?" : "&") + "token=" + token;
  }

  // Screenshot of the page: a PNG of the window's size, at least `min_bytes` (a page with nothing
  // but the header bar compresses to about 5 kB).
  void expect_screenshot(const std::string& path, const std::string& token, const std::string& name,
                         std::size_t min_bytes) {
    const std::string shot = database_->dir() + "/" + name + ".png";
    ASSERT_TRUE(browse("--screenshot=" + shot, url(path, token), "/dev/null"))
        << "chromium failed: see " << database_->dir() << "/chromium.log";
    const std::string png = read_file(shot);
    ASSERT_GT(png.size(), 24u) << name;
    EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8)) << name;
    auto be32 = [&](std::size_t at) {
      return (static_cast<std::uint32_t>(static_cast<unsigned char>(png[at])) << 24) |
             (static_cast<std::uint32_t>(static_cast<unsigned char>(png[at + 1])) << 16) |
             (static_cast<std::uint32_t>(static_cast<unsigned char>(png[at + 2])) << 8) |
             static_cast<std::uint32_t>(static_cast<unsigned char>(png[at + 3]));
    };
    EXPECT_EQ(be32(16), 1280u) << name;  // IHDR width
    EXPECT_EQ(be32(20), 900u) << name;   // IHDR height
    EXPECT_GT(png.size(), min_bytes) << name << ": the screenshot looks empty";
    if (const char* keep = std::getenv("CARBONMETER_SCREENSHOT_DIR"); keep && *keep) {
      std::filesystem::create_directories(keep);
      std::filesystem::copy_file(shot, std::string(keep) + "/dashboard_" + name + ".png",
                                 std::filesystem::copy_options::overwrite_existing);
    }
  }

  std::string dump_dom(const std::string& path, const std::string& token) {
    const std::string out = database_->dir() + "/dom.html";
    EXPECT_TRUE(browse("--dump-dom", url(path, token), out))
        << "chromium failed: see " << database_->dir() << "/chromium.log";
    return read_file(out);
  }

  std::string browser_ = chromium();
};

TEST_P(DashboardBrowserTest, ChromiumDrawsTheMainPages) {
  if (browser_.empty())
    GTEST_SKIP() << "chromium is not installed: scripts/bootstrap installs it (Debian package chromium)";
  start();
  const std::string token = fill_project("vision", 12, 30);
  ASSERT_EQ(
      post(client(), "/api/v1/runs/r-11/samples", samples_body(30, 800, 1717200000.0 + 3600 * 11), token)
          .status,
      200);

  // The DOM Chromium built: the charts with their bars, the totals, the tables.
  const std::string project = dump_dom("/dashboard/projects/vision", token);
  ASSERT_THAT(project, HasSubstr("<h1>vision</h1>")) << "the ?token= hand-over did not log in:\n" << project;
  EXPECT_EQ(count_of(project, "<svg"), 3u);
  EXPECT_EQ(count_of(element(project, "chart-run-emissions", "</figure>"), "class=\"bar\""), 12u);
  EXPECT_EQ(count_of(element(project, "chart-daily-energy", "</figure>"), "class=\"bar\""),
            2u);  // r-11 runs past midnight
  // 12 × 30 + 800 samples × 42 J = 48720 J; × 0.5 g = 580 g.
  EXPECT_THAT(element(project, "total-energy", "</div>"), HasSubstr("0.0135 kWh"));
  EXPECT_THAT(element(project, "total-emissions", "</div>"), HasSubstr("580 g CO2e"));
  EXPECT_EQ(count_of(element(project, "runs", "</table>"), "class=\"run\""), 12u);

  const std::string run = dump_dom("/dashboard/runs/r-11", token);
  ASSERT_THAT(run, HasSubstr("<h1>Run r-11</h1>")) << run;
  EXPECT_EQ(count_of(element(run, "chart-power", "</figure>"), "<polygon"), 3u);
  EXPECT_THAT(run, HasSubstr("id=\"chart-intensity\""));
  EXPECT_THAT(element(run, "total-samples", "</div>"), HasSubstr("830"));

  expect_screenshot("/", token, "index", 12000);  // a table of one project
  expect_screenshot("/dashboard/projects/vision", token, "project", 40000);
  expect_screenshot("/dashboard/runs/r-11", token, "run", 40000);
}

INSTANTIATE_TEST_SUITE_P(Backends, DashboardBrowserTest, ::testing::Values("sqlite"), backend_name);

}  // namespace
}  // namespace carbonmeter::testing
