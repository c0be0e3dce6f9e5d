// `/dashboard/runs/{run_id}`: the run's charts come from its samples merged server-side into at
// most kRunChartPoints points, so that a long run stays a small page.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "core/number_format.hpp"
#include "outputs/html_escape.hpp"
#include "outputs/svg_chart.hpp"
#include "server/dashboard_html.hpp"
#include "server/dashboard_pages.hpp"
#include "server/dashboard_sections.hpp"

namespace carbonmeter::server::dashboard {
namespace {

using nlohmann::json;

constexpr std::size_t kMetadataShownBytes = 20000;

std::string row(const std::string& name, const std::string& value_html) {
  return "<tr><th>" + html_escape(name) + "</th><td>" + value_html + "</td></tr>\n";
}

// The command and the measuring methods from the run's metadata (the run report's header), when
// it has them in the usual shapes.
std::string metadata_rows(const json& metadata) {
  std::string out;
  if (!metadata.is_object()) return out;
  if (auto command = metadata.find("command"); command != metadata.end()) {
    std::string text;
    if (command->is_string()) text = command->get<std::string>();
    if (command->is_array()) {
      for (const json& word : *command) {
        if (!word.is_string()) continue;
        if (!text.empty()) text += ' ';
        text += word.get<std::string>();
      }
    }
    if (!text.empty()) out += row("command", "<code>" + html_escape(text) + "</code>");
  }
  if (auto methods = metadata.find("methods"); methods != metadata.end() && methods->is_object()) {
    std::string text;
    for (const auto& [component, method] : methods->items()) {
      // carbonmeter's reports give {"method": ..., "kind": ...}; other clients may send a name.
      std::string name;
      if (method.is_string())
        name = method.get<std::string>();
      else if (method.is_object() && method.value("method", nlohmann::json()).is_string())
        name = method["method"].get<std::string>() + (method.value("kind", nlohmann::json()).is_string()
                                                          ? " (" + method["kind"].get<std::string>() + ")"
                                                          : "");
      if (name.empty()) continue;
      if (!text.empty()) text += ", ";
      text += component + ": " + name;
    }
    if (!text.empty()) out += row("methods", html_escape(text));
  }
  return out;
}

std::string identity_table(const RunRecord& run, const std::string& project_name, const json& metadata) {
  std::string out = "<table id=\"run-meta\">\n";
  out += row("project", fmt::format("<a href=\"{}\">{}</a>", html_escape(project_url(project_name)),
                                    html_escape(project_name)));
  out += row("experiment", run.experiment.empty()
                               ? std::string("(none)")
                               : fmt::format("<a href=\"{}\">{}</a>",
                                             html_escape(project_url(project_name, run.experiment)),
                                             html_escape(run.experiment)));
  out += row("scope", html_escape(run.scope));
  out += row("job", html_escape(run.job.job_id.value_or("(none)")));
  out += row("node", html_escape(run.job.node));
  auto number = [](const std::optional<int>& value) {
    return value ? std::to_string(*value) : std::string("–");
  };
  out += row("rank / local rank / world size",
             number(run.job.rank) + " / " + number(run.job.local_rank) + " / " + number(run.job.world_size));
  out += row("started", format_utc(run.started_unix_s));
  out +=
      row("ended", run.ended_unix_s ? format_utc(*run.ended_unix_s) : std::string("running (not finished)"));
  if (run.ended_unix_s)
    out += row("duration", html_escape(format_duration(*run.ended_unix_s - run.started_unix_s)));
  out += metadata_rows(metadata);
  return out + "</table>\n";
}

std::string charts(const std::vector<SampleBucket>& buckets) {
  const double t0 = buckets.front().start_unix_s;
  std::vector<double> times, intensity_times;
  ChartSeries cpu{"cpu", chart_colour::kCpu, {}}, ram{"ram", chart_colour::kRam, {}},
      gpu{"gpu", chart_colour::kGpu, {}};
  ChartSeries intensity{"g/kWh", chart_colour::kIntensity, {}},
      cumulative{"g CO2e", chart_colour::kEmissions, {}};
  double emitted_g = 0.0;
  for (const SampleBucket& bucket : buckets) {
    times.push_back(bucket.end_unix_s - t0);
    const double seconds = bucket.duration_s > 0 ? bucket.duration_s : 1.0;
    cpu.values.push_back(bucket.energy_cpu_j / seconds);
    ram.values.push_back(bucket.energy_ram_j / seconds);
    gpu.values.push_back(bucket.energy_gpu_j / seconds);
    cumulative.values.push_back(emitted_g += bucket.emissions_g);
    // Only where the samples carry an intensity: a bucket without one has no point (not a zero).
    if (bucket.mean_intensity_g_per_kwh) {
      intensity_times.push_back(times.back());
      intensity.values.push_back(*bucket.mean_intensity_g_per_kwh);
    }
  }
  std::string out =
      svg_line_chart("chart-power", "Energy use over time: mean power by component (the area is the energy)",
                     "W", times, {cpu, ram, gpu}, true, true, elapsed_label);
  if (!intensity_times.empty()) {
    out += svg_line_chart("chart-intensity", "Carbon intensity over time", "g/kWh", intensity_times,
                          {intensity}, false, true, elapsed_label);
  }
  out += svg_line_chart("chart-emissions", "Cumulative emissions", "g CO2e", times, {cumulative}, false,
                        false, elapsed_label);
  return out;
}

}  // namespace

Result<std::string> render_run_page(Storage& storage, const RunRecord& run, const std::string& project_name) {
  auto buckets = storage.sample_buckets(run.run_id, kRunChartPoints);
  if (!buckets) return buckets.error();
  const json metadata = json::parse(run.metadata_json.empty() ? "{}" : run.metadata_json, nullptr, false);

  Totals totals;
  totals.energy_cpu_j = run.energy_cpu_j;
  totals.energy_ram_j = run.energy_ram_j;
  totals.energy_gpu_j = run.energy_gpu_j;
  totals.emissions_g = run.emissions_g;
  totals.sample_count = run.sample_count;
  const double energy_kwh = (run.energy_cpu_j + run.energy_ram_j + run.energy_gpu_j) / 3.6e6;

  std::string body = totals_cards(totals, false);
  if (energy_kwh > 0) {
    body += fmt::format(
        "<p class=\"note\" id=\"effective-intensity\">Effective intensity: {} g CO2e per kWh "
        "measured (PUE included).</p>\n",
        format_significant(run.emissions_g / energy_kwh, 4));
  }
  body += equivalents_section(run.emissions_g);
  body += buckets.value().empty() ? "<p class=\"note\" id=\"no-samples\">No samples yet.</p>\n"
                                  : "<div class=\"charts\">\n" + charts(buckets.value()) + "</div>\n";
  if (const auto points = static_cast<std::int64_t>(buckets.value().size());
      points > 0 && points < run.sample_count) {
    body += fmt::format("<p class=\"note\">{} points, each the mean of about {} consecutive samples.</p>\n",
                        points, run.sample_count / points);
  }
  body += "<h2>Run</h2>\n" + identity_table(run, project_name, metadata);
  if (!metadata.is_discarded() && !run.metadata_json.empty()) {
    std::string text = metadata.dump(2, ' ', false, json::error_handler_t::replace);
    if (text.size() > kMetadataShownBytes) {
      std::size_t cut = kMetadataShownBytes;
      while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;  // UTF-8
      text = text.substr(0, cut) + "\n...";
    }
    body += "<details id=\"metadata\"><summary>Metadata (as the client sent it)</summary><pre>" +
            html_escape(text) + "</pre></details>\n";
  }

  std::vector<Crumb> crumbs = {{"Projects", "/"}, {project_name, project_url(project_name)}};
  if (!run.experiment.empty()) crumbs.push_back({run.experiment, project_url(project_name, run.experiment)});
  return page("Run " + run.run_id, crumbs, body);
}

}  // namespace carbonmeter::server::dashboard
