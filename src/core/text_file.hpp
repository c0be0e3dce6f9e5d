// Small, allocation-light file reading for the sampler's hot path.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "carbonmeter/result.hpp"

namespace carbonmeter {

// Reads a whole (small) file. The error says which file and why, also when the file is larger
// than max_bytes (such a file is not read at all).
Result<std::string> read_text_file(const std::string& path,
                                   std::uint64_t max_bytes = std::numeric_limits<std::uint64_t>::max());

// Keeps a file open and re-reads it from offset 0 with pread: sysfs and procfs regenerate the
// content on every read at offset 0, so one open per run is enough. For files the kernel makes
// whole at each read (sysfs attributes such as energy_uj; procfs and cgroup files of one record:
// /proc/stat, /proc/meminfo, /proc/PID/stat, cpuacct.usage, memory.stat) and regular files, a
// read that returns less than asked for has returned everything: one pread per read, not a second
// one to see the end. Not for files listed record by record (cgroup.procs, /proc/PID/maps), whose
// reads stop at page boundaries.
class RereadableFile {
 public:
  RereadableFile() = default;
  // max_bytes: how much of the file is read (the start of it, when it is longer).
  explicit RereadableFile(std::string path, std::size_t max_bytes = 4096);
  RereadableFile(RereadableFile&& other) noexcept;
  RereadableFile& operator=(RereadableFile&& other) noexcept;
  RereadableFile(const RereadableFile&) = delete;
  RereadableFile& operator=(const RereadableFile&) = delete;
  ~RereadableFile();

  // Opens the file; the error names the errno ("Permission denied", ...).
  Status open();
  // Reads up to max_bytes; returns the text (a view into an internal buffer valid until
  // the next read), or an error.
  Result<std::string_view> read();
  // Reads a file that holds one unsigned decimal integer.
  Result<std::uint64_t> read_u64();
  const std::string& path() const { return path_; }
  int last_errno() const { return last_errno_; }

 private:
  std::string path_;
  int fd_ = -1;
  int last_errno_ = 0;
  std::string buffer_;
};

std::optional<std::uint64_t> parse_u64(std::string_view text);
std::string_view trim(std::string_view text);

}  // namespace carbonmeter
