#include "upload/spool.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "core/bounded_line.hpp"
#include "core/run_report.hpp"

namespace carbonmeter::upload {
namespace {

// Writes all of text; with sync, then syncs the file to disk.
Status write_all(int fd, const std::string& text, const std::string& path, bool sync) {
  std::size_t written = 0;
  while (written < text.size()) {
    const ssize_t n = ::write(fd, text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error{"cannot write the spool " + path + ": " + std::strerror(errno)};
    written += static_cast<std::size_t>(n);
  }
  if (sync && ::fdatasync(fd) != 0)
    return Error{"cannot sync the spool " + path + ": " + std::strerror(errno)};
  return Ok{};
}

// A record holds at most 1000 samples or one run's header: far below this.
constexpr std::size_t kMaxSpoolLineBytes = std::size_t{64} << 20;

Error too_long_error(const std::string& path, int line_number) {
  return Error{
      fmt::format("{} line {} is longer than {} MiB, which no spool record is: is this a carbonmeter "
                  "spool file (NAME.spool.jsonl)?",
                  path, line_number, kMaxSpoolLineBytes >> 20)};
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

SpoolReader::SpoolReader(std::string path) : path_(std::move(path)), in_(path_, std::ios::binary) {
  if (!in_) open_error_ = std::strerror(errno);
}

Result<bool> SpoolReader::next_whole_line(std::string& line) {
  const LineRead read = read_bounded_line(in_, line, kMaxSpoolLineBytes);
  if (read == LineRead::too_long) return too_long_error(path_, line_number_ + 1);
  if (read == LineRead::line) {
    ++line_number_;
    return true;
  }
  if (in_.bad()) return Error{"cannot read the spool " + path_ + ": " + std::strerror(errno)};
  return false;  // LineRead::last, a line cut short by a crash while appending, was never synced as kept
}

Result<std::optional<SpoolLine>> SpoolReader::next() {
  if (!open_error_.empty()) return Error{"cannot read the spool " + path_ + ": " + open_error_};
  std::string text;
  for (;;) {
    Result<bool> more = next_whole_line(text);
    if (!more) return more.error();
    if (!more.value()) return std::optional<SpoolLine>();
    if (text.empty()) continue;
    nlohmann::json record = nlohmann::json::parse(text, nullptr, false);
    if (record.is_discarded() || !is_record(record))
      return Error{path_ + " line " + std::to_string(line_number_) +
                   " is not a spool record: is this a carbonmeter spool file (NAME.spool.jsonl)?"};
    return std::optional<SpoolLine>(SpoolLine{std::move(record), std::move(text)});
  }
}

bool Spool::exists() const { return ::access(path_.c_str(), F_OK) == 0; }

Status Spool::append(const nlohmann::json& record) {
  const int fd = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0)
    return Error{"cannot open the spool " + path_ + ": " + std::strerror(errno) +
                 " (give a writable folder with --output-dir)"};
  const off_t size_before = ::lseek(fd, 0, SEEK_END);
  Status status = write_all(fd, dump_json(record) + "\n", path_, true);
  // A line written in part (a full disk) would be followed by the next record on the same line:
  // cut it off, so that the spool stays readable.
  if (!status && size_before >= 0) {
    const int cut = ::ftruncate(fd, size_before);
    static_cast<void>(cut);  // the write's error is the one to report
  }
  ::close(fd);
  return status;
}

Status Spool::remove() {
  if (::unlink(path_.c_str()) != 0 && errno != ENOENT)
    return Error{"cannot remove the spool " + path_ + ": " + std::strerror(errno)};
  return Ok{};
}

Status Spool::rewrite(const std::vector<std::string>& first_lines, SpoolReader& rest) {
  if (!rest.open_error_.empty()) return Error{"cannot read the spool " + path_ + ": " + rest.open_error_};
  const std::string temporary = path_ + ".tmp";
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_TRUNC | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Error{"cannot write " + temporary + ": " + std::strerror(errno)};
  Status status = Ok{};
  std::string text;
  for (const std::string& line : first_lines) text += line + "\n";
  std::string line;
  constexpr std::size_t kWriteBytes = 1 << 20;  // written in pieces: a long spool is not held whole
  while (status) {
    Result<bool> more = rest.next_whole_line(line);  // a last line cut short is left out
    if (!more) status = more.error();
    if (!more || !more.value()) break;
    text += line + "\n";
    if (text.size() >= kWriteBytes) {
      status = write_all(fd, text, temporary, false);
      text.clear();
    }
  }
  if (status) status = write_all(fd, text, temporary, true);
  ::close(fd);
  if (status && ::rename(temporary.c_str(), path_.c_str()) != 0)
    status = Error{"cannot replace the spool " + path_ + ": " + std::strerror(errno)};
  if (!status) ::unlink(temporary.c_str());  // nothing is left beside the spool
  return status;
}

}  // namespace carbonmeter::upload
