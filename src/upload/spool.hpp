// The spool: what the server has not taken yet, one JSON record per line, appended and synced to
// disk before it counts as kept. Records: {"kind": "run", "run": REGISTRATION},
// {"kind": "samples", "run_id": ID, "samples": [...]}, {"kind": "finish", "run_id": ID,
// "ended_unix_s": T}. Replaying a spool is always safe: the server stores each (run_id, seq) once.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "carbonmeter/result.hpp"

namespace carbonmeter::upload {

class Spool {
 public:
  explicit Spool(std::string path) : path_(std::move(path)) {}
  const std::string& path() const { return path_; }
  bool exists() const;
  // Appends one record and syncs it to disk.
  Status append(const nlohmann::json& record);
  // The records in order. A last line cut short (a crash while appending) is left out; any other
  // line that is not a record is an error naming the line.
  Result<std::vector<nlohmann::json>> load() const;
  // Replaces the spool by these records (written beside it, then renamed); none: removes it.
  Status replace(const std::vector<nlohmann::json>& records);

 private:
  std::string path_;
};

}  // namespace carbonmeter::upload
