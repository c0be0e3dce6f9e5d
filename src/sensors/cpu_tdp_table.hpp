// The CPU's TDP from the shipped table, found by a forgiving match on the model name.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "carbonmeter/result.hpp"

namespace carbonmeter {

struct CpuSpec {
  std::string name;
  double tdp_w = 0.0;
  int cores = 0;
  int threads = 0;
  std::string source;
};

// "Intel(R) Xeon(R) CPU E5-2686 v4 @ 2.30GHz" -> "intel xeon e5-2686 v4".
std::string normalize_cpu_name(const std::string& name);

class CpuTdpTable {
 public:
  static Result<CpuTdpTable> load(const std::string& path);
  // load(path) then match(model_name), without building the table: the file is streamed once,
  // and the answer is kept for the process (a Python process starts many trackers), until the
  // file changes. This is what the CPU estimate does at start-up.
  static Result<std::optional<CpuSpec>> find(const std::string& path, const std::string& model_name);
  // The entry whose normalised name equals the model's, else the most specific entry whose
  // words all appear in the model's name (and that names a model number).
  std::optional<CpuSpec> match(const std::string& model_name) const;
  std::size_t size() const { return specs_.size(); }

 private:
  std::vector<CpuSpec> specs_;
  std::vector<std::string> normalized_;
};

}  // namespace carbonmeter
