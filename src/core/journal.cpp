#include "core/journal.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/bounded_line.hpp"
#include "core/json_integer.hpp"

namespace carbonmeter {

Result<std::unique_ptr<JournalWriter>> JournalWriter::create(const std::string& dir, const RunHeader& header,
                                                             double sync_period_s) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec)
    return Error{"cannot create output folder " + dir + ": " + ec.message() +
                 " (choose another with --output-dir)"};
  std::string path = dir + "/carbonmeter-" + header.run_id + ".journal";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0)
    return Error{"cannot write the run journal " + path + ": " + std::strerror(errno) +
                 " (choose a writable folder with --output-dir)"};
  std::unique_ptr<JournalWriter> writer(new JournalWriter(fd, path, sync_period_s));
  nlohmann::json line = header_to_json(header);
  line["type"] = "header";
  line["journal_version"] = 1;
  // Synced with the samples (the first sync period's end, or finish()), not here: the disk's latency
  // stays off the path from exec to the command's start, and a power cut before then loses no more
  // than a sync period, as at any other time.
  writer->write_line(dump_json(line));
  if (writer->failed_) return Error{"cannot write the run journal " + path + ": " + std::strerror(errno)};
  return writer;
}

JournalWriter::~JournalWriter() {
  if (fd_ >= 0) {
    if (!finished_) ::fdatasync(fd_);  // finish() synced its end line
    ::close(fd_);
  }
}

void JournalWriter::write_line(const std::string& line) {
  // One write per line: with O_APPEND a line is never interleaved, and a crash tears at most the
  // last one, which recovery skips.
  if (failed_) return;  // a partial line is never followed by more
  std::string buffer = line + "\n";
  const char* data = buffer.data();
  std::size_t left = buffer.size();
  while (left > 0) {
    ssize_t n = ::write(fd_, data, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (!failed_) {
        failure_ = n < 0 ? std::strerror(errno) : "short write";
        std::fprintf(stderr, "carbonmeter: cannot append to the journal %s: %s (the measurement goes on)\n",
                     path_.c_str(), failure_.c_str());
      }
      failed_ = true;
      return;
    }
    data += n;
    left -= static_cast<std::size_t>(n);
  }
}

void JournalWriter::append(const Sample& s) {
  write_line(fmt::format(
      R"({{"type":"sample","t":{:.6f},"dt":{:.6f},"e":[{},{},{}],"m":[{},{},{}],"s":[{:.6g},{:.6g}]}})",
      s.t_s, s.dt_s, s.energy_j.values[0], s.energy_j.values[1], s.energy_j.values[2],
      s.machine_energy_j.values[0], s.machine_energy_j.values[1], s.machine_energy_j.values[2], s.cpu_share,
      s.ram_share));
  // Syncing at most once a period keeps sampling cheap; a power cut loses at most the period and an
  // interval.
  if (s.t_s - last_sync_t_s_ >= sync_period_s_) {
    sync_due_.store(true, std::memory_order_relaxed);
    last_sync_t_s_ = s.t_s;
  }
}

void JournalWriter::sync_if_due() {
  if (sync_due_.exchange(false, std::memory_order_relaxed)) ::fdatasync(fd_);
}

void JournalWriter::note(const std::string& text) {
  write_line(dump_json(nlohmann::json{{"type", "note"}, {"text", text}}));
}

void JournalWriter::finish(double duration_s, std::optional<int> exit_code) {
  nlohmann::json line = {{"type", "end"}, {"duration_s", duration_s}};
  line["exit_code"] = exit_code ? nlohmann::json(*exit_code) : nlohmann::json(nullptr);
  write_line(dump_json(line));
  ::fdatasync(fd_);
  finished_ = true;
}

namespace {

// A sample line from a journal we did not write must not poison the totals: every figure finite
// and non-negative, time moving forward, shares within [0, 1], no more than a megawatt.
bool plausible(const Sample& s, double previous_t_s) {
  constexpr double kMaxPowerW = 1e6;
  auto ok = [](double x) { return std::isfinite(x) && x >= 0; };
  if (!ok(s.t_s) || !ok(s.dt_s) || s.t_s < previous_t_s || s.t_s > 1e9) return false;
  if (!ok(s.cpu_share) || !ok(s.ram_share) || s.cpu_share > 1 || s.ram_share > 1) return false;
  for (std::size_t i = 0; i < kComponentCount; ++i) {
    if (!ok(s.energy_j.values[i]) || !ok(s.machine_energy_j.values[i])) return false;
    if (s.machine_energy_j.values[i] > kMaxPowerW * std::max(s.dt_s, 1.0)) return false;
    if (s.energy_j.values[i] > s.machine_energy_j.values[i] * (1 + 1e-9) + 1e-9) return false;
  }
  return true;
}

}  // namespace

// A journal line is a sample (about 200 bytes), the header or a note; anything longer is damage.
constexpr std::size_t kMaxJournalLineBytes = std::size_t{1} << 20;

Result<RunReport> recover_journal(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Error{"cannot read journal " + path + ": " + std::strerror(errno)};
  RunReport report;
  report.recovered = true;
  report.complete = false;
  SampleSeries series;
  std::string line;
  int line_number = 0;
  int skipped = 0;
  bool have_header = false;
  std::vector<std::string> recovered_notes;
  for (LineRead read; (read = read_bounded_line(in, line, kMaxJournalLineBytes)) != LineRead::end;) {
    ++line_number;
    if (read == LineRead::too_long) {
      if (!have_header)
        return Error{fmt::format("{}: not a carbonmeter journal (line 1 is longer than {} KiB)", path,
                                 kMaxJournalLineBytes >> 10)};
      skip_rest_of_line(in);
      ++skipped;
      continue;
    }
    nlohmann::json json = nlohmann::json::parse(line, nullptr, false);
    if (json.is_discarded() || !json.is_object() || !json.contains("type")) {
      if (!have_header) return Error{path + ": not a carbonmeter journal (line 1 is not its header)"};
      ++skipped;
      continue;
    }
    const std::string type = json["type"].is_string() ? json["type"].get<std::string>() : "";
    if (!have_header) {
      if (type != "header") return Error{path + ": not a carbonmeter journal (line 1 is not its header)"};
      auto header = header_from_json(json);
      if (!header) return Error{path + ": " + header.error().message};
      report.header = header.value();
      have_header = true;
      continue;
    }
    try {
      if (type == "sample") {
        Sample s;
        s.t_s = json.at("t").get<double>();
        s.dt_s = json.at("dt").get<double>();
        for (std::size_t i = 0; i < kComponentCount; ++i) {
          s.energy_j.values[i] = json.at("e").at(i).get<double>();
          s.machine_energy_j.values[i] = json.at("m").at(i).get<double>();
        }
        s.cpu_share = json.at("s").at(0).get<double>();
        s.ram_share = json.at("s").at(1).get<double>();
        if (!plausible(s, report.duration_s)) {
          ++skipped;
          continue;
        }
        report.energy_j += s.energy_j;
        report.machine_energy_j += s.machine_energy_j;
        report.duration_s = s.t_s;
        ++report.sample_count;
        series.add(s);
      } else if (type == "note") {
        if (json.contains("text") && json["text"].is_string())
          recovered_notes.push_back(json["text"].get<std::string>());
      } else if (type == "end") {
        report.complete = true;
        const double duration_s = json.at("duration_s").get<double>();
        if (std::isfinite(duration_s) && duration_s >= report.duration_s && duration_s < 1e9)
          report.duration_s = duration_s;
        constexpr auto kIntMin = std::numeric_limits<int>::min(), kIntMax = std::numeric_limits<int>::max();
        if (const auto exit_code = json_integer_at(json, "exit_code", kIntMin, kIntMax))
          report.exit_code = static_cast<int>(*exit_code);
      } else {
        ++skipped;
      }
    } catch (const nlohmann::json::exception&) {
      ++skipped;
    }
  }
  if (in.bad() && !have_header)
    return Error{"cannot read journal " + path + ": read error (is it a regular file?)"};
  if (!have_header) return Error{path + ": empty journal, nothing to recover"};
  for (std::string& note : recovered_notes) report.header.notes.push_back(std::move(note));
  report.samples = series.points();
  report.samples_per_point = series.samples_per_point();
  if (in.bad())
    report.header.notes.push_back(fmt::format(
        "reading journal {} failed after line {}: what it held up to there is recovered", path, line_number));
  report.header.notes.push_back(
      fmt::format("rebuilt from journal {} ({} samples{}{})", path, report.sample_count,
                  report.complete ? "" : "; the run did not end normally: energy up to its last sample",
                  skipped ? fmt::format("; {} unreadable lines skipped", skipped) : ""));
  return report;
}

Result<std::string> newest_journal(const std::string& dir) {
  std::error_code ec;
  std::filesystem::directory_iterator it(dir, ec);
  if (ec) return Error{"cannot read folder " + dir + ": " + ec.message()};
  std::string newest;
  std::filesystem::file_time_type newest_time{};
  for (const auto& entry : it) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("carbonmeter-", 0) != 0 || entry.path().extension() != ".journal") continue;
    auto time = entry.last_write_time(ec);
    if (newest.empty() || time > newest_time) {
      newest = entry.path().string();
      newest_time = time;
    }
  }
  if (newest.empty())
    return Error{"no carbonmeter-*.journal in " + dir + ": is this the run's --output-dir?"};
  return newest;
}

}  // namespace carbonmeter
