#include "server/dashboard_html.hpp"

#include <fmt/format.h>

#include <cmath>
#include <ctime>

#include "carbon/timestamp.hpp"
#include "core/number_format.hpp"
#include "core/url_encode.hpp"
#include "outputs/html_escape.hpp"

namespace carbonmeter::server::dashboard {
namespace {

constexpr const char* kStyle = R"(<style>
body{font-family:sans-serif;margin:0;color:#222;background:#fafafa}
header{background:#2d4a3e;color:#fff;padding:.6em 1.5em;display:flex;align-items:center;gap:1em}
header a{color:#fff;text-decoration:none;font-weight:bold}header form{margin-left:auto}
main{max-width:1000px;margin:1em auto;padding:0 1.5em}nav.crumbs{font-size:.9em;color:#555}
nav.crumbs a{color:#2d6a4f}h1{margin:.3em 0 .6em}h2{margin-top:1.6em}
.totals{display:flex;flex-wrap:wrap;gap:1em}.card{background:#fff;border:1px solid #ddd;border-radius:6px;padding:.6em 1em;min-width:9em}
.card .label{display:block;font-size:.8em;color:#666}.card .value{font-size:1.3em;font-weight:bold}
table{border-collapse:collapse;background:#fff;margin:.5em 0}td,th{padding:.25em .7em;border-bottom:1px solid #ddd;text-align:left}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}a{color:#2d6a4f}
figure{margin:1.2em 0;background:#fff;border:1px solid #ddd;border-radius:6px;padding:.5em}figcaption{font-weight:bold;margin-bottom:.3em}
svg.chart{width:100%;height:auto}.note{color:#555;font-size:.9em}.pager{margin:.5em 0;display:flex;gap:1em}
ul.equivalents{margin:.3em 0;padding:0;list-style:none;display:flex;flex-wrap:wrap;gap:.3em 1.5em}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(440px,1fr));gap:0 1em}pre{background:#fff;border:1px solid #ddd;padding:.5em;overflow:auto;max-height:20em}
.error{color:#a00}
</style>)";

std::string frame(const std::string& title, const std::vector<Crumb>& crumbs, const std::string& body,
                  bool with_logout) {
  std::string out = fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" "
      "content=\"width=device-width\"><title>{} — carbonmeter</title>{}</head><body>\n"
      "<header><a href=\"/\">carbonmeter</a><span>dashboard</span>",
      html_escape(title), kStyle);
  if (with_logout) {
    out +=
        "<form method=\"post\" action=\"/dashboard/logout\"><button type=\"submit\">Log out</button></form>";
  }
  out += "</header>\n<main>\n";
  if (!crumbs.empty()) {
    out += "<nav class=\"crumbs\">";
    for (std::size_t i = 0; i < crumbs.size(); ++i) {
      if (i) out += " / ";
      out += crumbs[i].href.empty() ? html_escape(crumbs[i].label)
                                    : fmt::format("<a href=\"{}\">{}</a>", html_escape(crumbs[i].href),
                                                  html_escape(crumbs[i].label));
    }
    out += "</nav>\n";
  }
  out += fmt::format("<h1>{}</h1>\n", html_escape(title));
  return out + body + "</main></body></html>\n";
}

}  // namespace

std::string page(const std::string& title, const std::vector<Crumb>& crumbs, const std::string& body) {
  return frame(title, crumbs, body, true);
}

std::string message_page(const std::string& title, const std::string& message) {
  return frame(
      title, {},
      fmt::format("<p class=\"error\" id=\"message\">{}</p>\n<p><a href=\"/\">All projects</a></p>\n",
                  html_escape(message)),
      false);
}

std::string login_page(const std::string& next_path, const std::string& message) {
  std::string body;
  if (!message.empty())
    body += fmt::format("<p class=\"error\" id=\"message\">{}</p>\n", html_escape(message));
  body += fmt::format(
      "<form method=\"post\" action=\"/dashboard/login\" id=\"login\">\n"
      "<p><label>Token <input type=\"password\" name=\"token\" size=\"70\" autocomplete=\"off\" "
      "required></label></p>\n<input type=\"hidden\" name=\"next\" value=\"{}\">\n"
      "<p><button type=\"submit\">Log in</button></p></form>\n"
      "<p class=\"note\">The admin token or a project token (cm_...). It is kept in an HttpOnly cookie "
      "for 12 hours.</p>\n",
      html_escape(next_path));
  return frame("Log in", {}, body, false);
}

std::string format_kwh(double energy_j) { return format_significant(energy_j / 3.6e6, 3) + " kWh"; }

std::string format_emissions(double emissions_g) {
  if (std::fabs(emissions_g) >= 1e6) return format_significant(emissions_g / 1e6, 3) + " t CO2e";
  if (std::fabs(emissions_g) >= 1e3) return format_significant(emissions_g / 1e3, 3) + " kg CO2e";
  return format_significant(emissions_g, 3) + " g CO2e";
}

std::string format_utc(double unix_s) {
  if (!std::isfinite(unix_s) || std::fabs(unix_s) >= kYear10000UnixS) return "?";
  const std::time_t seconds = static_cast<std::time_t>(std::floor(unix_s));
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return text;
}

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0 || seconds >= kYear10000UnixS) return "?";
  if (seconds < 60) return format_significant(seconds, 3) + " s";
  const auto whole = static_cast<long long>(std::llround(seconds));
  if (whole < 3600) return fmt::format("{} min {} s", whole / 60, whole % 60);
  if (whole < 86400) return fmt::format("{} h {:02} min", whole / 3600, whole % 3600 / 60);
  return fmt::format("{} d {} h", whole / 86400, whole % 86400 / 3600);
}

std::string format_count(std::int64_t count) {
  std::string digits = std::to_string(count < 0 ? -count : count), out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) out += ' ';
    out += digits[i];
  }
  return count < 0 ? "-" + out : out;
}

std::string project_url(const std::string& project, const std::optional<std::string>& experiment,
                        std::int64_t offset) {
  std::string url = "/dashboard/projects/" + url_encode(project);
  char separator = '?';
  if (experiment) {
    url += separator + std::string("experiment=") + url_encode(*experiment);
    separator = '&';
  }
  if (offset > 0) url += separator + std::string("offset=") + std::to_string(offset);
  return url;
}

std::string run_url(const std::string& run_id) { return "/dashboard/runs/" + url_encode(run_id); }

}  // namespace carbonmeter::server::dashboard
