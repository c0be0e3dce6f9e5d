#include "server/dashboard_sections.hpp"

#include <fmt/format.h>

#include "carbon/emissions.hpp"
#include "outputs/html_equivalents.hpp"
#include "outputs/html_escape.hpp"
#include "server/dashboard_html.hpp"

namespace carbonmeter::server::dashboard {
namespace {

std::string card(const std::string& id, const std::string& label, const std::string& value) {
  return fmt::format(
      "<div class=\"card\"{}><span class=\"label\">{}</span><span class=\"value\">{}</span></div>",
      id.empty() ? "" : " id=\"" + id + "\"", html_escape(label), html_escape(value));
}

}  // namespace

Totals sum_of(const std::vector<Totals>& groups) {
  Totals sum;
  for (const Totals& group : groups) {
    sum.energy_cpu_j += group.energy_cpu_j;
    sum.energy_ram_j += group.energy_ram_j;
    sum.energy_gpu_j += group.energy_gpu_j;
    sum.emissions_g += group.emissions_g;
    sum.run_count += group.run_count;
    sum.sample_count += group.sample_count;
  }
  return sum;
}

std::string totals_cards(const Totals& totals, bool show_runs) {
  std::string out = "<div class=\"totals\" id=\"totals\">";
  out += card("total-energy", "Energy",
              format_kwh(totals.energy_cpu_j + totals.energy_ram_j + totals.energy_gpu_j));
  out += card("total-emissions", "Emissions", format_emissions(totals.emissions_g));
  out += card("", "CPU", format_kwh(totals.energy_cpu_j));
  out += card("", "RAM", format_kwh(totals.energy_ram_j));
  out += card("", "GPU", format_kwh(totals.energy_gpu_j));
  if (show_runs) out += card("total-runs", "Runs", format_count(totals.run_count));
  out += card("total-samples", "Samples", format_count(totals.sample_count));
  return out +
         "</div>\n<p class=\"note\" id=\"totals-method\">Energy: as each run's client measured it "
         "(the methods are on each run's page), before PUE. Emissions: each sample's energy × PUE × "
         "its grid intensity, summed.</p>\n";
}

std::string equivalents_section(double emissions_g) {
  const std::vector<Equivalent> equivalents = equivalents_of(emissions_g);
  if (equivalents.empty()) return "";
  std::string out =
      "<section id=\"equivalents-section\"><p>About as much CO2e as:</p><ul class=\"equivalents\" "
      "id=\"equivalent-phrases\">";
  for (const Equivalent& e : equivalents) out += "<li>" + html_escape(equivalent_phrase(e)) + "</li>";
  return out + "</ul>\n<details><summary>Factors and sources of these equivalents</summary>\n" +
         html_equivalents_table(equivalents) + "</details></section>\n";
}

}  // namespace carbonmeter::server::dashboard
