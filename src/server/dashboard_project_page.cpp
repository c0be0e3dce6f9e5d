// `/dashboard/projects/{name}`: everything here is read from the runs' sums and the per-day sums
// (run_days), never from the samples, so that the page stays fast with millions of samples.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "outputs/html_escape.hpp"
#include "outputs/svg_chart.hpp"
#include "server/dashboard_html.hpp"
#include "server/dashboard_pages.hpp"
#include "server/dashboard_sections.hpp"
#include "server/storage_rules.hpp"

namespace carbonmeter::server::dashboard {
namespace {

double energy_j(const Totals& t) { return t.energy_cpu_j + t.energy_ram_j + t.energy_gpu_j; }

std::string totals_row(const std::string& name_cell, const Totals& t) {
  return fmt::format(
      "<tr>{}<td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>\n", name_cell,
      format_count(t.run_count), html_escape(format_kwh(energy_j(t))),
      html_escape(format_emissions(t.emissions_g)));
}

constexpr const char* kTotalsHeader =
    "<th class=\"num\">runs</th><th class=\"num\">energy</th><th class=\"num\">emissions</th></tr>\n";

std::string experiments_table(const Project& project, const std::vector<Totals>& experiments,
                              const std::optional<std::string>& current) {
  std::string out = "<h2>Experiments</h2>\n";
  if (current) {
    out += fmt::format("<p>Showing one experiment. <a href=\"{}\">All experiments</a></p>\n",
                       html_escape(project_url(project.name)));
  }
  out += std::string("<table id=\"experiments\"><tr><th>experiment</th>") + kTotalsHeader;
  for (const Totals& e : experiments) {
    const std::string name = e.key.empty() ? "(no experiment)" : e.key;
    const std::string link =
        current == e.key ? "<td><strong>" + html_escape(name) + "</strong></td>"
                         : fmt::format("<td><a href=\"{}\">{}</a></td>",
                                       html_escape(project_url(project.name, e.key)), html_escape(name));
    out += totals_row(link, e);
  }
  return out + "</table>\n";
}

std::string jobs_table(std::vector<Totals> jobs, bool filtered) {
  std::string out = filtered ? "<h2>Jobs (whole project)</h2>\n" : "<h2>Jobs</h2>\n";
  std::stable_sort(jobs.begin(), jobs.end(),
                   [](const Totals& a, const Totals& b) { return a.emissions_g > b.emissions_g; });
  if (static_cast<std::int64_t>(jobs.size()) > kJobsShown) {
    out += fmt::format("<p class=\"note\">{} jobs: the {} with the most emissions.</p>\n",
                       format_count(static_cast<std::int64_t>(jobs.size())), kJobsShown);
    jobs.resize(static_cast<std::size_t>(kJobsShown));
  }
  out += std::string("<table id=\"jobs\"><tr><th>job</th>") + kTotalsHeader;
  for (const Totals& job : jobs) {
    out += totals_row("<td>" + html_escape(job.key.empty() ? "(no job)" : job.key) + "</td>", job);
  }
  return out + "</table>\n";
}

std::string rank_text(const JobIdentity& job) {
  if (!job.rank) return "";
  return job.world_size ? fmt::format("{}/{}", *job.rank, *job.world_size) : std::to_string(*job.rank);
}

std::string runs_table(const std::vector<RunRecord>& runs) {
  std::string out =
      "<table id=\"runs\"><tr><th>run</th><th>experiment</th><th>job</th><th>node</th><th>rank</th>"
      "<th>started</th><th class=\"num\">duration</th><th class=\"num\">energy</th><th "
      "class=\"num\">emissions</th>"
      "<th class=\"num\">samples</th></tr>\n";
  for (const RunRecord& run : runs) {
    const std::string duration =
        run.ended_unix_s ? format_duration(*run.ended_unix_s - run.started_unix_s) : std::string("running");
    out += fmt::format(
        "<tr class=\"run\"><td><a "
        "href=\"{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
        "<td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td "
        "class=\"num\">{}</td></tr>\n",
        html_escape(run_url(run.run_id)), html_escape(run.run_id), html_escape(run.experiment),
        html_escape(run.job.job_id.value_or("")), html_escape(run.job.node), rank_text(run.job),
        format_utc(run.started_unix_s), html_escape(duration),
        html_escape(format_kwh(run.energy_cpu_j + run.energy_ram_j + run.energy_gpu_j)),
        html_escape(format_emissions(run.emissions_g)), format_count(run.sample_count));
  }
  return out + "</table>\n";
}

std::string pager(const Project& project, const ProjectPageQuery& query, std::int64_t total,
                  std::size_t shown) {
  std::string out =
      fmt::format("<div class=\"pager\" id=\"pager\"><span>runs {}–{} of {}, newest first</span>",
                  shown ? query.offset + 1 : query.offset, query.offset + static_cast<std::int64_t>(shown),
                  format_count(total));
  if (query.offset > 0) {
    out += fmt::format("<a href=\"{}\" rel=\"prev\">newer</a>",
                       html_escape(project_url(project.name, query.experiment,
                                               std::max<std::int64_t>(0, query.offset - kRunsPerPage))));
  }
  if (query.offset + static_cast<std::int64_t>(shown) < total) {
    out += fmt::format("<a href=\"{}\" rel=\"next\">older</a>",
                       html_escape(project_url(project.name, query.experiment, query.offset + kRunsPerPage)));
  }
  return out + "</div>\n";
}

std::string run_emissions_chart(const std::vector<RunRecord>& newest_first) {
  std::vector<std::string> labels, links;
  ChartSeries emissions{"emissions", chart_colour::kEmissions, {}};
  for (auto run = newest_first.rbegin(); run != newest_first.rend(); ++run) {
    labels.push_back(run->run_id);
    links.push_back(run_url(run->run_id));
    emissions.values.push_back(run->emissions_g);
  }
  return svg_bar_chart("chart-run-emissions",
                       fmt::format("Emissions per run (the {} runs below, oldest first)", labels.size()),
                       "g CO2e", labels, {emissions}, links);
}

// One bar per day (per few days when the project spans more than kDayChartBars days).
std::string daily_energy_chart(const std::vector<DayTotals>& days) {
  const std::int64_t first = days.front().day, span = days.back().day - first + 1;
  const std::int64_t per_bar = (span + kDayChartBars - 1) / kDayChartBars;
  const auto bars = static_cast<std::size_t>((span + per_bar - 1) / per_bar);
  std::vector<std::string> labels(bars);
  ChartSeries cpu{"cpu", chart_colour::kCpu, std::vector<double>(bars)};
  ChartSeries ram{"ram", chart_colour::kRam, std::vector<double>(bars)};
  ChartSeries gpu{"gpu", chart_colour::kGpu, std::vector<double>(bars)};
  for (std::size_t b = 0; b < bars; ++b)
    labels[b] = utc_day_string(first + static_cast<std::int64_t>(b) * per_bar);
  for (const DayTotals& day : days) {
    const auto b = static_cast<std::size_t>((day.day - first) / per_bar);
    cpu.values[b] += day.energy_cpu_j / 3.6e6;
    ram.values[b] += day.energy_ram_j / 3.6e6;
    gpu.values[b] += day.energy_gpu_j / 3.6e6;
  }
  const std::string title = per_bar == 1 ? "Energy per day (UTC) by component"
                                         : fmt::format("Energy per {} days (UTC) by component", per_bar);
  return svg_bar_chart("chart-daily-energy", title, "kWh", labels, {cpu, ram, gpu});
}

std::string daily_intensity_chart(const std::vector<DayTotals>& days) {
  const std::int64_t first = days.front().day;
  std::vector<double> times;
  ChartSeries intensity{"g/kWh", chart_colour::kIntensity, {}};
  for (const DayTotals& day : days) {
    if (!day.mean_intensity_g_per_kwh) continue;
    times.push_back(static_cast<double>(day.day - first + 1));  // the end of the day, in days
    intensity.values.push_back(*day.mean_intensity_g_per_kwh);
  }
  if (times.empty())
    return "<p class=\"note\" id=\"no-intensity\">No sample carries a carbon intensity.</p>\n";
  auto day_label = [first](double x) {
    return utc_day_string(first + std::max<std::int64_t>(0, static_cast<std::int64_t>(std::ceil(x)) - 1));
  };
  return svg_line_chart("chart-intensity", "Carbon intensity, mean of each day's samples", "g/kWh", times,
                        {intensity}, false, true, day_label);
}

}  // namespace

Result<std::string> render_project_page(Storage& storage, const Project& project,
                                        const ProjectPageQuery& query) {
  auto experiments = storage.totals(project.id, GroupBy::experiment);
  if (!experiments) return experiments.error();
  auto jobs = storage.totals(project.id, GroupBy::job);
  if (!jobs) return jobs.error();
  RunFilter filter;
  filter.project_id = project.id;
  filter.experiment = query.experiment;
  filter.limit = kRunsPerPage;
  filter.offset = query.offset;
  auto runs = storage.list_runs(filter);
  if (!runs) return runs.error();
  auto days = storage.daily_totals(project.id, query.experiment);
  if (!days) return days.error();

  Totals shown = sum_of(experiments.value());
  if (query.experiment) {
    shown = Totals{};
    for (const Totals& e : experiments.value())
      if (e.key == *query.experiment) shown = e;
  }

  std::string body;
  if (query.experiment) {
    body += fmt::format("<p id=\"filter\">Experiment <strong>{}</strong></p>\n",
                        html_escape(query.experiment->empty() ? "(no experiment)" : *query.experiment));
  }
  body += totals_cards(shown, true);
  body += equivalents_section(shown.emissions_g);
  body += "<div class=\"charts\">\n";
  if (!runs.value().empty()) body += run_emissions_chart(runs.value());
  if (days.value().empty()) {
    body += "<p class=\"note\" id=\"no-samples\">No samples yet.</p>\n";
  } else {
    body += daily_energy_chart(days.value());
    body += daily_intensity_chart(days.value());
  }
  body += "</div>\n";
  body += experiments_table(project, experiments.value(), query.experiment);
  body += "<h2>Runs</h2>\n" + pager(project, query, shown.run_count, runs.value().size());
  body += runs_table(runs.value());
  body += jobs_table(jobs.value(), query.experiment.has_value());

  std::vector<Crumb> crumbs = {{"Projects", "/"}};
  std::string title = project.name;
  if (query.experiment) {
    crumbs.push_back({project.name, project_url(project.name)});
    title += " — " + (query.experiment->empty() ? std::string("(no experiment)") : *query.experiment);
  }
  return page(title, crumbs, body);
}

}  // namespace carbonmeter::server::dashboard
