// carbonmeter report: rebuilds a run's report from its journal (--recover DIR), and turns a run
// report into a model card's co2_eq_emissions block (--model-card) or an HTML page (--html).
#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "carbonmeter/version.hpp"
#include "cli/commands.hpp"
#include "cli/summary.hpp"
#include "core/journal.hpp"
#include "core/text_file.hpp"
#include "outputs/html_report.hpp"
#include "outputs/model_card.hpp"

namespace carbonmeter::cli {
namespace {

struct ReportOptions {
  std::string run_json;
  std::string recover_dir;
  std::string journal_path;
  std::string json_path;
  std::string model_card;
  std::string training_type;
  std::string html;
};

// Writes a file atomically, keeping a regular file's permissions in mind only as far as rename does.
void write_file_atomically(const std::string& path, const std::string& text, const std::string& option) {
  check_writable_file(path, option);
  const std::string temporary = path + ".tmp-" + std::to_string(::getpid());
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out.flush()) {
      ::unlink(temporary.c_str());
      throw FatalError(option + " " + path + ": cannot write it");
    }
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    ::unlink(temporary.c_str());
    throw FatalError(option + " " + path + ": cannot replace it");
  }
}

nlohmann::json read_run(const std::string& path) {
  auto text = read_text_file(path);
  if (!text) throw FatalError("report: " + text.error().message);
  nlohmann::json run = nlohmann::json::parse(text.value(), nullptr, false);
  if (run.is_discarded() || !run.is_object() || !run.contains("energy_j"))
    throw FatalError("report: " + path +
                     " is not a carbonmeter run report (write one with `carbonmeter run --json FILE`)");
  return run;
}

ModelCardEmissions card_emissions(const nlohmann::json& run, const std::string& path,
                                  const std::string& training_type) {
  if (!run.contains("emissions_g") || !run["emissions_g"].is_number())
    throw FatalError("report: " + path +
                     " has no emissions_g (it was written before carbon accounting); rerun with "
                     "`carbonmeter run --json`");
  ModelCardEmissions out;
  out.emissions_g = run["emissions_g"].get<double>();
  std::set<std::string> methods;
  const nlohmann::json run_methods = run.value("method", nlohmann::json::object());
  for (const auto& [component, method] : run_methods.items())
    if (method.is_string() && method != "none") methods.insert(method.get<std::string>());
  std::string method_list;
  for (const std::string& m : methods) method_list += (method_list.empty() ? "" : ", ") + m;
  const nlohmann::json intensity = run.value("intensity", nlohmann::json::object());
  out.source = fmt::format("carbonmeter {} ({}; intensity: {})", kVersion, method_list,
                           intensity.value("how", std::string("unknown")));
  out.training_type = training_type;
  const nlohmann::json location = run.value("location", nlohmann::json::object());
  std::string place = location.value("country_name", std::string());
  const std::string region = location.value("cloud_region", std::string()).empty()
                                 ? location.value("region", std::string())
                                 : location.value("cloud_provider", std::string()) + " " +
                                       location.value("cloud_region", std::string());
  if (!region.empty()) place += (place.empty() ? "" : ", ") + region;
  out.geographical_location = place;
  std::map<std::string, int> gpus;
  const nlohmann::json run_gpus = run.value("gpus", nlohmann::json::array());
  for (const auto& gpu : run_gpus) ++gpus[gpu.value("name", std::string("GPU"))];
  std::string hardware;
  for (const auto& [model, count] : gpus)
    hardware += fmt::format("{}{} x {}", hardware.empty() ? "" : ", ", count, model);
  const std::string cpu = run.value("host", nlohmann::json::object()).value("cpu_model", std::string());
  if (!cpu.empty()) hardware += (hardware.empty() ? "" : ", ") + cpu;
  out.hardware_used = hardware;
  return out;
}

int from_run_report(const ReportOptions& options) {
  if (options.model_card.empty() && options.html.empty())
    throw UsageError("report RUN.json: say what to make: --model-card README.md and/or --html report.html");
  const nlohmann::json run = read_run(options.run_json);
  if (!options.model_card.empty()) {
    std::string card;
    if (::access(options.model_card.c_str(), F_OK) == 0) {
      auto text = read_text_file(options.model_card);
      if (!text) throw FatalError("--model-card: " + text.error().message);
      card = text.value();
    }
    write_file_atomically(
        options.model_card,
        update_model_card(card, card_emissions(run, options.run_json, options.training_type)),
        "--model-card");
    std::fprintf(stderr, "carbonmeter: co2_eq_emissions written to %s\n", options.model_card.c_str());
  }
  if (!options.html.empty()) {
    write_file_atomically(options.html, html_report(run), "--html");
    std::fprintf(stderr, "carbonmeter: report written to %s\n", options.html.c_str());
  }
  return 0;
}

int recover(const ReportOptions& options) {
  check_writable_file(options.json_path, "--json");
  std::string path = options.journal_path;
  if (path.empty()) {
    auto newest = newest_journal(options.recover_dir);
    if (!newest) throw FatalError("report --recover: " + newest.error().message);
    path = newest.value();
  }
  auto recovered = recover_journal(path);
  if (!recovered) throw FatalError("report: " + recovered.error().message);
  std::fputs(format_summary(recovered.value()).c_str(), stderr);
  if (!options.json_path.empty())
    if (auto written = write_report_json(recovered.value(), options.json_path); !written)
      throw FatalError(written.error().message);
  return 0;
}

int report(const ReportOptions& options) {
  if (!options.run_json.empty()) return from_run_report(options);
  if (options.recover_dir.empty() && options.journal_path.empty())
    throw UsageError(
        "report: give RUN.json (with --model-card or --html), or --recover DIR (the run's "
        "--output-dir), or --journal FILE");
  return recover(options);
}

}  // namespace

void add_report_command(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<ReportOptions>();
  CLI::App* cmd = app.add_subcommand(
      "report", "Model card block or HTML page from a run report; or rebuild a report from its journal");
  cmd->add_option("run", options->run_json, "A run report written by `carbonmeter run --json`");
  cmd->add_option("--model-card", options->model_card,
                  "Add or update co2_eq_emissions in this model card (README.md)");
  cmd->add_option("--training-type", options->training_type,
                  "For the model card: pre-training, fine-tuning, ...");
  cmd->add_option("--html", options->html, "Write a self-contained HTML report with charts");
  cmd->add_option("--recover", options->recover_dir,
                  "The run's output folder: rebuild from its newest journal");
  cmd->add_option("--journal", options->journal_path, "A specific journal file to rebuild from");
  cmd->add_option("--json", options->json_path, "With --recover/--journal: write the rebuilt report (JSON)");
  cmd->callback([options, &exit_code] { exit_code = report(*options); });
}

}  // namespace carbonmeter::cli
