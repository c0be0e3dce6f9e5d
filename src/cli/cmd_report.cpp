// carbonmeter report: rebuilds a run's report from its journal (--recover DIR), and turns a run
// report into a model card's co2_eq_emissions block (--model-card) or an HTML page (--html).
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
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
#include "outputs/model_card_emissions.hpp"

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

using nlohmann::json;

void write_all(int fd, const std::string& text, const std::string& what) {
  for (std::size_t done = 0; done < text.size();) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw FatalError(what + ": cannot write it: " + std::strerror(n < 0 ? errno : ENOSPC));
    done += static_cast<std::size_t>(n);
  }
}

// Writes a file atomically (a temporary file beside it, then rename), so that a reader never
// sees half of it. The file keeps its permission mode (and, where allowed, its owner); a symbolic
// link is written through: the file it points to is replaced and the link stays. What is not a
// regular file (/dev/stdout, a pipe) is written in place.
void write_file_atomically(const std::string& path, const std::string& text, const std::string& option) {
  check_writable_file(path, option);
  const std::string what = option + " " + path;
  struct stat existing {};
  const bool exists = ::stat(path.c_str(), &existing) == 0;
  // /dev/stdout, a pipe, a terminal: written in place, as are the kernel's /proc/self/fd links.
  bool in_place = exists && !S_ISREG(existing.st_mode);
  std::filesystem::path target = path;
  for (int hops = 0; !in_place; ++hops) {
    const std::string hop = target.string();
    if (hop.rfind("/dev/", 0) == 0 || hop.rfind("/proc/", 0) == 0) in_place = exists;
    struct stat link {};
    if (::lstat(target.c_str(), &link) != 0 || !S_ISLNK(link.st_mode)) break;
    if (hops == 40) throw FatalError(what + ": too many levels of symbolic links");
    std::error_code ec;
    const std::filesystem::path next = std::filesystem::read_symlink(target, ec);
    if (ec) throw FatalError(what + ": cannot read the link: " + ec.message());
    target = next.is_absolute() ? next : target.parent_path() / next;
  }
  if (in_place) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
    if (fd < 0) throw FatalError(what + ": cannot open it: " + std::strerror(errno));
    try {
      write_all(fd, text, what);
    } catch (...) {
      ::close(fd);
      throw;
    }
    ::close(fd);
    return;
  }
  const std::filesystem::path folder = target.parent_path().empty() ? "." : target.parent_path();
  std::string temporary = (folder / ("." + target.filename().string() + ".tmp-XXXXXX")).string();
  const int fd = ::mkostemp(temporary.data(), O_CLOEXEC);
  if (fd < 0)
    throw FatalError(what + ": cannot create a temporary file in " + folder.string() + ": " +
                     std::strerror(errno));
  try {
    mode_t mode = 0;
    if (exists) {
      mode = existing.st_mode & 07777;
      // Only root may give a file away; the group is kept when we are in it. Failing is harmless.
      if (::fchown(fd, existing.st_uid, existing.st_gid) != 0 &&
          ::fchown(fd, static_cast<uid_t>(-1), existing.st_gid) != 0) {
        // keeps our own group
      }
    } else {
      const mode_t mask = ::umask(0);
      ::umask(mask);
      mode = 0666 & ~mask;
    }
    if (::fchmod(fd, mode) != 0) throw FatalError(what + ": cannot set its mode: " + std::strerror(errno));
    write_all(fd, text, what);
    if (::fsync(fd) != 0) throw FatalError(what + ": cannot write it: " + std::strerror(errno));
  } catch (...) {
    ::close(fd);
    ::unlink(temporary.c_str());
    throw;
  }
  ::close(fd);
  if (std::rename(temporary.c_str(), target.c_str()) != 0) {
    const int error = errno;
    ::unlink(temporary.c_str());
    throw FatalError(what + ": cannot replace it: " + std::strerror(error));
  }
}

// What a JSON value is, for messages: `a string ("abc")`, `an empty array`, `null`, ...
std::string describe(const json& value) {
  switch (value.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::boolean:
      return value.get<bool>() ? "true" : "false";
    case json::value_t::string: {
      std::string text = value.get<std::string>();
      if (text.size() > 40) text = text.substr(0, 40) + "...";
      return "a string (" + dump_json(json(text)) + ")";
    }
    case json::value_t::array:
      return value.empty() ? "an empty array" : fmt::format("an array of {}", value.size());
    case json::value_t::object:
      return "an object";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float:
      return std::isfinite(value.get<double>()) ? "the number " + value.dump()
                                                : "a number that is not finite";
    default:
      return "a value of another kind";
  }
}

// Checks the type of every field the model card and the HTML page read, so that a hostile or
// damaged run report is one clear error ("RUN.json: field samples[3].t_s: expected a number,
// got a string") instead of a crash. A missing field (or null) is left out of the outputs.
class RunChecker {
 public:
  explicit RunChecker(const std::string& path) : path_(path) {}

  void check(const json& run) const {
    object_at(run, "energy_j", "", true, [&](const json& energy, const std::string& at) {
      for (const char* c : {"cpu", "ram", "gpu", "total"}) number_at(energy, c, at);
    });
    for (const char* key : {"project_name", "start_time"}) string_at(run, key, "");
    number_at(run, "duration_s", "");
    array_at(run, "command", "", [&](const json& word, const std::string& at) { expect_string(word, at); });
    object_at(run, "method", "", false, [&](const json& method, const std::string& at) {
      for (const char* c : {"cpu", "ram", "gpu"}) string_at(method, c, at);
    });
    array_at(run, "samples", "", [&](const json& sample, const std::string& at) {
      if (!sample.is_object()) fail(at, "an object", sample);
      number_at(sample, "t_s", at);
      object_at(sample, "power_w", at, false, [&](const json& power, const std::string& where) {
        for (const char* c : {"cpu", "ram", "gpu"}) number_at(power, c, where);
      });
    });
    array_at(run, "sample_emissions_g", "",
             [&](const json& v, const std::string& at) { expect_number(v, at); });
    array_at(run, "sample_intensity_g_per_kwh", "", [&](const json& v, const std::string& at) {
      if (!v.is_null()) expect_number(v, at);  // null: a sample the series did not cover
    });
    number_at(run, "emissions_g", "");
    if (const json* range = present(run, "emissions_range_g")) {
      if (!range->is_array() || range->size() != 2)
        fail("emissions_range_g", "[low, high] (two numbers)", *range);
      expect_number((*range)[0], "emissions_range_g[0]");
      expect_number((*range)[1], "emissions_range_g[1]");
    }
    object_at(run, "intensity", "", false, [&](const json& intensity, const std::string& at) {
      for (const char* key : {"how", "source", "series"}) string_at(intensity, key, at);
      if (const json* year = present(intensity, "year"); year && !year->is_string())
        expect_number(*year, at + ".year");
    });
    object_at(run, "location", "", false, [&](const json& location, const std::string& at) {
      for (const char* key : {"country_name", "region", "cloud_provider", "cloud_region"})
        string_at(location, key, at);
    });
    array_at(run, "gpus", "", [&](const json& gpu, const std::string& at) {
      if (!gpu.is_object()) fail(at, "an object", gpu);
      string_at(gpu, "name", at);
    });
    object_at(run, "host", "", false,
              [&](const json& host, const std::string& at) { string_at(host, "cpu_model", at); });
    array_at(run, "equivalents", "", [&](const json& e, const std::string& at) {
      if (!e.is_object()) fail(at, "an object", e);
      // An equivalent is nothing without what it is and how many.
      for (const char* key : {"item", "unit"}) string_at(e, key, at, true);
      for (const char* key : {"amount", "g_co2e_per_unit"}) number_at(e, key, at, true);
      string_at(e, "source", at);
      if (const json* vintage = present(e, "vintage"); vintage && !vintage->is_string())
        expect_number(*vintage, at + ".vintage");
    });
    array_at(run, "notes", "", [&](const json& note, const std::string& at) { expect_string(note, at); });
    array_at(run, "embodied_items", "", [&](const json& item, const std::string& at) {
      if (!item.is_object()) fail(at, "an object", item);
      string_at(item, "source", at);
    });
  }

 private:
  static std::string field(const std::string& parent, const char* key) {
    return parent.empty() ? key : parent + "." + key;
  }
  static const json* present(const json& object, const char* key) {
    auto found = object.find(key);
    return found == object.end() || found->is_null() ? nullptr : &*found;
  }
  [[noreturn]] void fail(const std::string& at, const std::string& expected, const std::string& got) const {
    throw FatalError(
        fmt::format("report: {}: field {}: expected {}, got {} (is it a run report written by "
                    "`carbonmeter run --json`?)",
                    path_, at, expected, got));
  }
  [[noreturn]] void fail(const std::string& at, const std::string& expected, const json& got) const {
    fail(at, expected, describe(got));
  }
  void expect_number(const json& value, const std::string& at) const {
    if (!value.is_number()) fail(at, "a number", value);
    if (!std::isfinite(value.get<double>())) fail(at, "a finite number", value);
  }
  void expect_string(const json& value, const std::string& at) const {
    if (!value.is_string()) fail(at, "a string", value);
  }
  void number_at(const json& object, const char* key, const std::string& parent,
                 bool required = false) const {
    if (const json* value = present(object, key))
      expect_number(*value, field(parent, key));
    else if (required)
      fail(field(parent, key), "a number", std::string("nothing"));
  }
  void string_at(const json& object, const char* key, const std::string& parent,
                 bool required = false) const {
    if (const json* value = present(object, key))
      expect_string(*value, field(parent, key));
    else if (required)
      fail(field(parent, key), "a string", std::string("nothing"));
  }
  template <class Each>
  void array_at(const json& object, const char* key, const std::string& parent, Each each) const {
    const json* value = present(object, key);
    if (!value) return;
    const std::string at = field(parent, key);
    if (!value->is_array()) fail(at, "an array", *value);
    for (std::size_t i = 0; i < value->size(); ++i) each((*value)[i], fmt::format("{}[{}]", at, i));
  }
  template <class Inside>
  void object_at(const json& object, const char* key, const std::string& parent, bool required,
                 Inside inside) const {
    const json* value = present(object, key);
    const std::string at = field(parent, key);
    if (!value) {
      if (required) fail(at, "an object", object.contains(key) ? object[key] : json());
      return;
    }
    if (!value->is_object()) fail(at, "an object", *value);
    inside(*value, at);
  }

  const std::string& path_;
};

json read_run(const std::string& path) {
  check_input_file(path, "report");
  auto text = read_text_file(path);
  if (!text) throw FatalError("report: " + text.error().message);
  json run = json::parse(text.value(), nullptr, false);
  if (run.is_discarded() || !run.is_object() || !run.contains("energy_j"))
    throw FatalError("report: " + path +
                     " is not a carbonmeter run report (write one with `carbonmeter run --json FILE`)");
  RunChecker(path).check(run);
  return run;
}

ModelCardEmissions card_emissions(const json& run, const std::string& path,
                                  const std::string& training_type) {
  auto emissions = model_card_emissions(run, training_type);
  if (!emissions) throw FatalError("report: " + path + ": " + emissions.error().message);
  return emissions.value();
}

int from_run_report(const ReportOptions& options) {
  if (options.model_card.empty() && options.html.empty())
    throw UsageError("report RUN.json: say what to make: --model-card README.md and/or --html report.html");
  const json run = read_run(options.run_json);
  if (!options.model_card.empty()) {
    std::string card;
    if (::access(options.model_card.c_str(), F_OK) == 0) {
      check_input_file(options.model_card, "--model-card");
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

// A JSON library error that slipped past the checks still becomes one line naming the file.
int from_run_report_checked(const ReportOptions& options) {
  try {
    return from_run_report(options);
  } catch (const json::exception& e) {
    throw FatalError("report: " + options.run_json + ": unexpected content: " + e.what());
  }
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
  if (!options.run_json.empty()) return from_run_report_checked(options);
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
