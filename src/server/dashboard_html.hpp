// What the dashboard's pages share: the page frame (inline CSS, no script, no external
// resource), numbers and times as people read them, and the dashboard's URLs.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace carbonmeter::server::dashboard {

// A step of the way back to the list of projects, shown above the page's title.
struct Crumb {
  std::string label;
  std::string href;  // "" : the current page, not a link
};

// A whole HTML page. `body` is HTML already; `title` and the crumbs are escaped here.
std::string page(const std::string& title, const std::vector<Crumb>& crumbs, const std::string& body);

// A small page for an error (404, 403, 503...): the message, escaped, and a link home.
std::string message_page(const std::string& title, const std::string& message);

// The login form: a token field that POSTs to /dashboard/login, back to `next` after.
std::string login_page(const std::string& next_path, const std::string& message);

std::string format_kwh(double energy_j);           // "0.0123 kWh"
std::string format_emissions(double emissions_g);  // "850 g", "12.3 kg", "4.5 t" CO2e
std::string format_utc(double unix_s);             // "2024-06-01 12:00:05 UTC"
std::string format_duration(double seconds);       // "45 s", "12 min 5 s", "3 h 02 min"
std::string format_count(std::int64_t count);      // "1 000 000"

std::string project_url(const std::string& project,
                        const std::optional<std::string>& experiment = std::nullopt, std::int64_t offset = 0);
std::string run_url(const std::string& run_id);

}  // namespace carbonmeter::server::dashboard
