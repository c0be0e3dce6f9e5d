// The shipped accelerator power table (data/accelerators.csv, data/SOURCES.md) and a forgiving
// lookup by name, for estimates of the form power × count × hours × intensity.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "carbonmeter/result.hpp"
#include "estimate/accelerator_name.hpp"

namespace carbonmeter {

enum class PowerKind {
  tdp,               // the vendor's TDP or maximum board power: an upper bound of the average
  measured_average,  // an average measured under real workloads (Google's TPU papers)
};

// "tdp" or "measured_average", as written in the table.
std::string_view power_kind_name(PowerKind kind);

struct Accelerator {
  std::string name;    // canonical, vendor included: "NVIDIA H100 SXM5 80GB"
  std::string vendor;  // "NVIDIA", "AMD", "Intel", "Google"
  std::string kind;    // "gpu", "tpu", "npu", "apu", "soc"
  std::optional<double> memory_gb;
  double power_w = 0.0;  // per device, as the table counts devices (see notes: K80 and MI250 boards)
  PowerKind power_kind = PowerKind::tdp;
  std::vector<std::string> aliases;
  std::string source;     // tag explained in data/SOURCES.md: curated, mlco2-impact, ...
  std::string reference;  // the datasheet or page the figure comes from
  int year = 0;           // launch year; 0 when unknown
  std::string notes;
};

enum class AcceleratorMatchKind {
  unique,     // `accelerator` is set
  ambiguous,  // `candidates` lists the names to choose from (their powers differ)
  unknown,    // `candidates` lists the closest names, best first (may be empty)
};

struct AcceleratorMatch {
  AcceleratorMatchKind kind = AcceleratorMatchKind::unknown;
  std::optional<Accelerator> accelerator;
  // unique only: the query fits several rows that all have the same power, and `accelerator` is
  // the first of them in the table; `candidates` then lists all of them.
  bool assumed = false;
  std::vector<std::string> candidates;
};

// One line for a person: "NVIDIA TITAN V 12GB", "NVIDIA A100 SXM4 80GB (assumed; same power as
// NVIDIA A100 SXM4 40GB)", "ambiguous: did you mean X, Y?", "unknown: closest: X, Y" or
// "unknown: no similar name".
std::string describe(const AcceleratorMatch& match);

class AcceleratorTable {
 public:
  // data_dir()/accelerators.csv.
  static Result<AcceleratorTable> load();
  static Result<AcceleratorTable> load_from(const std::string& dir);
  // The error names `source_name` and the line of the first bad row.
  static Result<AcceleratorTable> parse(std::string_view text, const std::string& source_name);

  const std::vector<Accelerator>& rows() const { return rows_; }

  // Case, punctuation, spacing and vendor prefixes do not matter ("h100 sxm", "Tesla
  // V100-SXM2-16GB", "mi300x", "tpu v4"); a memory size ("80GB", "80 gb", "80g") narrows the
  // choice. A name or alias spelled exactly wins over names that merely contain every word of the
  // query ("a10" is the A10, not also the A10G).
  AcceleratorMatch find_accelerator(std::string_view query) const;

 private:
  std::vector<Accelerator> rows_;
  std::vector<std::vector<AcceleratorName>> names_;  // per row: its name, then its aliases
};

}  // namespace carbonmeter
