#include "upload/spool.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/run_report.hpp"

namespace carbonmeter::upload {
namespace {

Status write_all(int fd, const std::string& text, const std::string& path) {
  std::size_t written = 0;
  while (written < text.size()) {
    const ssize_t n = ::write(fd, text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error{"cannot write the spool " + path + ": " + std::strerror(errno)};
    written += static_cast<std::size_t>(n);
  }
  if (::fdatasync(fd) != 0) return Error{"cannot sync the spool " + path + ": " + std::strerror(errno)};
  return Ok{};
}

bool is_record(const nlohmann::json& record) {
  if (!record.is_object() || !record.contains("kind") || !record["kind"].is_string()) return false;
  const std::string kind = record["kind"].get<std::string>();
  if (kind == "run") return record.contains("run") && record["run"].is_object();
  if (kind == "samples")
    return record.contains("run_id") && record["run_id"].is_string() && record.contains("samples") &&
           record["samples"].is_array();
  if (kind == "finish")
    return record.contains("run_id") && record["run_id"].is_string() && record.contains("ended_unix_s") &&
           record["ended_unix_s"].is_number();
  return false;
}

}  // namespace

bool Spool::exists() const { return ::access(path_.c_str(), F_OK) == 0; }

Status Spool::append(const nlohmann::json& record) {
  const int fd = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0)
    return Error{"cannot open the spool " + path_ + ": " + std::strerror(errno) +
                 " (give a writable folder with --output-dir)"};
  const off_t size_before = ::lseek(fd, 0, SEEK_END);
  Status status = write_all(fd, dump_json(record) + "\n", path_);
  // A line written in part (a full disk) would be followed by the next record on the same line:
  // cut it off, so that the spool stays readable.
  if (!status && size_before >= 0) {
    const int cut = ::ftruncate(fd, size_before);
    static_cast<void>(cut);  // the write's error is the one to report
  }
  ::close(fd);
  return status;
}

Result<std::vector<nlohmann::json>> Spool::load() const {
  std::ifstream in(path_, std::ios::binary);
  if (!in) return Error{"cannot read the spool " + path_ + ": " + std::strerror(errno)};
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string text = buffer.str();
  std::vector<nlohmann::json> records;
  std::size_t begin = 0;
  int line_number = 0;
  while (begin < text.size()) {
    ++line_number;
    const std::size_t end = text.find('\n', begin);
    if (end == std::string::npos) break;  // cut short by a crash while appending: never synced as kept
    const std::string line = text.substr(begin, end - begin);
    begin = end + 1;
    if (line.empty()) continue;
    nlohmann::json record = nlohmann::json::parse(line, nullptr, false);
    if (record.is_discarded() || !is_record(record))
      return Error{path_ + " line " + std::to_string(line_number) +
                   " is not a spool record: is this a carbonmeter spool file (NAME.spool.jsonl)?"};
    records.push_back(std::move(record));
  }
  return records;
}

Status Spool::replace(const std::vector<nlohmann::json>& records) {
  if (records.empty()) {
    if (::unlink(path_.c_str()) != 0 && errno != ENOENT)
      return Error{"cannot remove the spool " + path_ + ": " + std::strerror(errno)};
    return Ok{};
  }
  const std::string temporary = path_ + ".tmp";
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_TRUNC | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Error{"cannot write " + temporary + ": " + std::strerror(errno)};
  std::string text;
  for (const nlohmann::json& record : records) text += dump_json(record) + "\n";
  Status status = write_all(fd, text, temporary);
  ::close(fd);
  if (!status) return status;
  if (::rename(temporary.c_str(), path_.c_str()) != 0)
    return Error{"cannot replace the spool " + path_ + ": " + std::strerror(errno)};
  return Ok{};
}

}  // namespace carbonmeter::upload
