#include "core/journal.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

namespace carbonmeter {

Result<std::unique_ptr<JournalWriter>> JournalWriter::create(const std::string& dir, const RunHeader& header) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Error{"cannot create output folder " + dir + ": " + ec.message() + " (choose another with --output-dir)"};
  std::string path = dir + "/carbonmeter-" + header.run_id + ".journal";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0)
    return Error{"cannot write the run journal " + path + ": " + std::strerror(errno) +
                 " (choose a writable folder with --output-dir)"};
  std::unique_ptr<JournalWriter> writer(new JournalWriter(fd, path));
  nlohmann::json line = header_to_json(header);
  line["type"] = "header";
  line["journal_version"] = 1;
  writer->write_line(line.dump());
  ::fdatasync(fd);
  if (writer->failed_) return Error{"cannot write the run journal " + path + ": " + std::strerror(errno)};
  return writer;
}

JournalWriter::~JournalWriter() {
  if (fd_ >= 0) {
    ::fdatasync(fd_);
    ::close(fd_);
  }
}

void JournalWriter::write_line(const std::string& line) {
  // One write per line: with O_APPEND a line is never interleaved, and a crash tears at most the
  // last one, which recovery skips.
  std::string buffer = line + "\n";
  const char* data = buffer.data();
  std::size_t left = buffer.size();
  while (left > 0) {
    ssize_t n = ::write(fd_, data, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      failed_ = true;
      return;
    }
    data += n;
    left -= static_cast<std::size_t>(n);
  }
}

void JournalWriter::append(const Sample& s) {
  write_line(fmt::format(R"({{"type":"sample","t":{:.6f},"dt":{:.6f},"e":[{:.17g},{:.17g},{:.17g}],"m":[{:.17g},{:.17g},{:.17g}],"s":[{:.6g},{:.6g}]}})",
                         s.t_s, s.dt_s, s.energy_j.values[0], s.energy_j.values[1], s.energy_j.values[2],
                         s.machine_energy_j.values[0], s.machine_energy_j.values[1], s.machine_energy_j.values[2],
                         s.cpu_share, s.ram_share));
  // Syncing at most once a second keeps 10 ms sampling cheap and loses at most a second on power loss.
  if (s.t_s - last_sync_t_s_ >= 1.0) {
    ::fdatasync(fd_);
    last_sync_t_s_ = s.t_s;
  }
}

void JournalWriter::finish(double duration_s, std::optional<int> exit_code) {
  nlohmann::json line = {{"type", "end"}, {"duration_s", duration_s}};
  line["exit_code"] = exit_code ? nlohmann::json(*exit_code) : nlohmann::json(nullptr);
  write_line(line.dump());
  ::fdatasync(fd_);
}

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
  while (std::getline(in, line)) {
    ++line_number;
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
        if (s.dt_s < 0 || s.energy_j.total() < 0 || s.machine_energy_j.total() < 0) {
          ++skipped;
          continue;
        }
        report.energy_j += s.energy_j;
        report.machine_energy_j += s.machine_energy_j;
        report.duration_s = s.t_s;
        ++report.sample_count;
        series.add(s);
      } else if (type == "end") {
        report.complete = true;
        report.duration_s = json.at("duration_s").get<double>();
        if (json.contains("exit_code") && json["exit_code"].is_number_integer())
          report.exit_code = json["exit_code"].get<int>();
      } else {
        ++skipped;
      }
    } catch (const nlohmann::json::exception&) {
      ++skipped;
    }
  }
  if (!have_header) return Error{path + ": empty journal, nothing to recover"};
  report.samples = series.points();
  report.samples_per_point = series.samples_per_point();
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
  if (newest.empty()) return Error{"no carbonmeter-*.journal in " + dir + ": is this the run's --output-dir?"};
  return newest;
}

}  // namespace carbonmeter
