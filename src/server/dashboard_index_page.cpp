// `/`: the projects with their totals.
#include <fmt/format.h>

#include "outputs/html_escape.hpp"
#include "server/dashboard_html.hpp"
#include "server/dashboard_pages.hpp"
#include "server/dashboard_sections.hpp"

namespace carbonmeter::server::dashboard {

Result<std::string> render_index_page(Storage& storage, const std::vector<Project>& projects) {
  std::string rows;
  for (const Project& project : projects) {
    auto groups = storage.totals(project.id, GroupBy::experiment);
    if (!groups) return groups.error();
    const Totals sum = sum_of(groups.value());
    rows += fmt::format(
        "<tr class=\"project\"><td><a href=\"{}\">{}</a></td><td class=\"num\">{}</td><td "
        "class=\"num\">{}</td>"
        "<td class=\"num\">{}</td></tr>\n",
        html_escape(project_url(project.name)), html_escape(project.name), format_count(sum.run_count),
        html_escape(format_kwh(sum.energy_cpu_j + sum.energy_ram_j + sum.energy_gpu_j)),
        html_escape(format_emissions(sum.emissions_g)));
  }
  std::string body;
  if (projects.empty()) {
    body =
        "<p id=\"no-projects\">No projects yet. An admin creates one with <code>POST /api/v1/projects</code> "
        "(docs/api.md).</p>\n";
  } else {
    body =
        "<table id=\"projects\"><tr><th>project</th><th class=\"num\">runs</th><th class=\"num\">energy</th>"
        "<th class=\"num\">emissions</th></tr>\n" +
        rows + "</table>\n";
  }
  return page("Projects", {}, body);
}

}  // namespace carbonmeter::server::dashboard
