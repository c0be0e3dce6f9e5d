// The HTML report: its structure, and what headless Chromium actually draws from it (a
// screenshot, decoded here, must show the charts' colours).
#include "outputs/html_report.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <zlib.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "support/fake_root.hpp"

namespace carbonmeter {
namespace {

using ::testing::HasSubstr;

nlohmann::json run_report() {
  nlohmann::json samples = nlohmann::json::array();
  nlohmann::json intensity = nlohmann::json::array(), emissions = nlohmann::json::array();
  for (int i = 1; i <= 60; ++i) {
    samples.push_back({{"t_s", i},
                       {"dt_s", 1},
                       {"power_w", {{"cpu", 40 + i % 7}, {"ram", 5}, {"gpu", 250 + (i % 10) * 10}}}});
    intensity.push_back(i < 30 ? 100 : 300);
    emissions.push_back(0.01 * (i < 30 ? 1 : 3));
  }
  return {{"project_name", "demo <&>"},
          {"command", {"python", "train.py"}},
          {"start_time", "2026-01-01T00:00:00.000Z"},
          {"duration_s", 60},
          {"energy_j", {{"cpu", 2600}, {"ram", 300}, {"gpu", 17700}, {"total", 20600}}},
          {"method", {{"cpu", "rapl-powercap"}, {"ram", "rapl-powercap"}, {"gpu", "nvml-counter"}}},
          {"samples", samples},
          {"emissions_g", 1.2},
          {"emissions_range_g", {1.0, 1.4}},
          {"intensity", {{"how", "--intensity-series grid.csv"}}},
          {"sample_intensity_g_per_kwh", intensity},
          {"sample_emissions_g", emissions},
          {"equivalents",
           {{{"item", "car_km"},
             {"unit", "km"},
             {"amount", 0.005},
             {"g_co2e_per_unit", 244.2},
             {"source", "US EPA"},
             {"vintage", "2023"}}}},
          {"notes", {"a note"}}};
}

TEST(HtmlReport, SelfContainedWithThreeChartsAndEquivalents) {
  const std::string html = html_report(run_report());
  EXPECT_THAT(html, HasSubstr("<svg"));
  EXPECT_THAT(html, HasSubstr("id=\"power\""));
  EXPECT_THAT(html, HasSubstr("id=\"intensity\""));
  EXPECT_THAT(html, HasSubstr("id=\"emissions\""));
  EXPECT_THAT(html, HasSubstr("id=\"equivalents\""));
  EXPECT_THAT(html, HasSubstr("demo &lt;&amp;&gt;"));  // escaped
  EXPECT_THAT(html, ::testing::Not(HasSubstr("http://")));
  EXPECT_THAT(html, ::testing::Not(HasSubstr("https://")));
  EXPECT_THAT(html, ::testing::Not(HasSubstr("<script")));
}

// A minimal PNG reader (8-bit RGB/RGBA, non-interlaced: what Chromium writes).
struct Image {
  int width = 0, height = 0, channels = 0;
  std::vector<std::uint8_t> pixels;
};

std::uint32_t be32(const std::uint8_t* p) { return (p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3]; }

std::optional<Image> read_png(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<std::uint8_t> file((std::istreambuf_iterator<char>(in)), {});
  if (file.size() < 33 || std::memcmp(file.data(), "\x89PNG\r\n\x1a\n", 8) != 0) return std::nullopt;
  Image image;
  std::vector<std::uint8_t> compressed;
  for (std::size_t at = 8; at + 12 <= file.size();) {
    const std::uint32_t length = be32(&file[at]);
    const std::string type(reinterpret_cast<const char*>(&file[at + 4]), 4);
    const std::uint8_t* data = &file[at + 8];
    if (type == "IHDR") {
      image.width = static_cast<int>(be32(data));
      image.height = static_cast<int>(be32(data + 4));
      if (data[8] != 8 || data[12] != 0) return std::nullopt;
      image.channels = data[9] == 6 ? 4 : data[9] == 2 ? 3 : 0;
      if (!image.channels) return std::nullopt;
    } else if (type == "IDAT") {
      compressed.insert(compressed.end(), data, data + length);
    }
    at += 12 + length;
  }
  const std::size_t stride = static_cast<std::size_t>(image.width) * image.channels;
  std::vector<std::uint8_t> raw((stride + 1) * image.height);
  uLongf raw_size = raw.size();
  if (uncompress(raw.data(), &raw_size, compressed.data(), compressed.size()) != Z_OK) return std::nullopt;
  image.pixels.resize(stride * image.height);
  for (int y = 0; y < image.height; ++y) {
    const std::uint8_t filter = raw[y * (stride + 1)];
    const std::uint8_t* line = &raw[y * (stride + 1) + 1];
    std::uint8_t* out = &image.pixels[y * stride];
    const std::uint8_t* up = y > 0 ? &image.pixels[(y - 1) * stride] : nullptr;
    for (std::size_t x = 0; x < stride; ++x) {
      const int a = x >= static_cast<std::size_t>(image.channels) ? out[x - image.channels] : 0;
      const int b = up ? up[x] : 0;
      const int c = up && x >= static_cast<std::size_t>(image.channels) ? up[x - image.channels] : 0;
      int value = line[x];
      switch (filter) {
        case 1:
          value += a;
          break;
        case 2:
          value += b;
          break;
        case 3:
          value += (a + b) / 2;
          break;
        case 4: {
          const int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
          value += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
          break;
        }
        default:
          break;
      }
      out[x] = static_cast<std::uint8_t>(value);
    }
  }
  return image;
}

// Pixels close to a colour (anti-aliasing and the fill opacity blur the exact value).
int count_near(const Image& image, int r, int g, int b, int tolerance) {
  int count = 0;
  for (std::size_t i = 0; i + 2 < image.pixels.size(); i += image.channels)
    count += std::abs(image.pixels[i] - r) <= tolerance && std::abs(image.pixels[i + 1] - g) <= tolerance &&
             std::abs(image.pixels[i + 2] - b) <= tolerance;
  return count;
}

std::string chromium() {
  for (const char* candidate : {"/usr/bin/chromium", "/usr/bin/chromium-browser"})
    if (std::filesystem::exists(candidate)) return candidate;
  return "";
}

TEST(HtmlReport, HeadlessChromiumDrawsTheCharts) {
  const std::string browser = chromium();
  ASSERT_FALSE(browser.empty()) << "Debian's chromium is needed for this test: scripts/bootstrap installs it";
  testing::FakeRoot root("");
  const std::string page = root.path() + "/report.html", shot = root.path() + "/shot.png";
  std::ofstream(page) << html_report(run_report());
  const std::string command = browser +
                              " --headless --no-sandbox --disable-gpu --disable-quic --no-first-run "
                              "--disable-background-networking --disable-component-update --disable-sync "
                              "--hide-scrollbars --user-data-dir=" +
                              root.path() +
                              "/profile --window-size=800,1200 "
                              "--screenshot=" +
                              shot + " file://" + page + " >" + root.path() + "/chromium.log 2>&1";
  const int status = std::system(command.c_str());
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << "chromium failed: see " << root.path() << "/chromium.log";
  auto image = read_png(shot);
  ASSERT_TRUE(image) << "no readable screenshot";
  EXPECT_EQ(image->width, 800);
  // The stacked power chart's GPU area (#1b9e77), CPU area (#d95f02) and the intensity line (#e7298a).
  EXPECT_GT(count_near(*image, 0x1b, 0x9e, 0x77, 40), 2000) << "GPU area not drawn";
  EXPECT_GT(count_near(*image, 0xd9, 0x5f, 0x02, 40), 200) << "CPU area not drawn";
  EXPECT_GT(count_near(*image, 0xe7, 0x29, 0x8a, 40), 100) << "intensity line not drawn";
  EXPECT_GT(count_near(*image, 0x66, 0xa6, 0x1e, 40), 100) << "cumulative emissions line not drawn";
}

}  // namespace
}  // namespace carbonmeter
