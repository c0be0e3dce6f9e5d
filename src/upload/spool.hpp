// The spool: what the server has not taken yet, one JSON record per line, appended and synced to
// disk before it counts as kept. Records: {"kind": "run", "run": REGISTRATION},
// {"kind": "samples", "run_id": ID, "samples": [...]}, {"kind": "finish", "run_id": ID,
// "ended_unix_s": T}. Replaying a spool is always safe: the server stores each (run_id, seq) once.
#pragma once

#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "carbonmeter/result.hpp"

namespace carbonmeter::upload {

// One record of a spool and its line as written (copied as it is when the spool is rewritten).
struct SpoolLine {
  nlohmann::json record;
  std::string text;  // without the newline
};

// Reads a spool a line at a time: sending its first record does not wait for the whole file to be
// read, and what is not sent is copied on without being parsed.
class SpoolReader {
 public:
  explicit SpoolReader(std::string path);
  // The next record; nullopt at the end. A last line cut short (a crash while appending: it was
  // never synced as kept) counts as the end; any other line that is not a record is an error
  // naming the line, as is a file that cannot be read.
  Result<std::optional<SpoolLine>> next();

 private:
  friend class Spool;
  // The next line that ends with a newline, without it; false at the end and at a last line cut
  // short (a crash while appending). A line over the bound or a read error is an error.
  Result<bool> next_whole_line(std::string& line);

  std::string path_;
  std::ifstream in_;
  std::string open_error_;  // "" when the file is open
  int line_number_ = 0;
};

class Spool {
 public:
  explicit Spool(std::string path) : path_(std::move(path)) {}
  const std::string& path() const { return path_; }
  bool exists() const;
  // Appends one record and syncs it to disk.
  Status append(const nlohmann::json& record);
  // Removes the spool (one that is not there is fine).
  Status remove();
  // Rewrites the spool as first_lines (SpoolLine::text of records) followed by the whole lines that
  // `rest` (a reader of this spool) has not read yet: written beside it, synced, then renamed over
  // it. On failure the spool stays as it was.
  Status rewrite(const std::vector<std::string>& first_lines, SpoolReader& rest);

 private:
  std::string path_;
};

}  // namespace carbonmeter::upload
