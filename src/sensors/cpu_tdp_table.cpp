#include "sensors/cpu_tdp_table.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <span>
#include <string_view>

#include "core/csv.hpp"

namespace carbonmeter {
namespace {

std::vector<std::string> split_words(std::string_view text) {
  std::vector<std::string> words;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    std::size_t start = i;
    while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    if (i > start) words.emplace_back(text.substr(start, i - start));
  }
  return words;
}

// A count of cores or threads: 0 (unknown) unless it is a number an int holds (casting NaN or
// 1e20 to int is undefined behaviour).
int count_or_zero(std::string_view text) {
  const double value = parse_finite_number(text).value_or(0);
  return value >= 0 && value <= 1e6 ? static_cast<int>(value) : 0;
}

// Where the table's columns are (-1: absent).
struct Columns {
  int name = -1, tdp = -1, cores = -1, threads = -1, source = -1;
};

std::string_view cell(std::span<const std::string_view> row, int index) {
  return index >= 0 && index < static_cast<int>(row.size()) ? row[static_cast<std::size_t>(index)]
                                                            : std::string_view();
}

// Calls row(fields) for each row of the table at path (after its header), until it returns false.
// The fields are views, valid during the call (the file is visited in place).
using RowVisitor = std::function<bool(std::span<const std::string_view> row, const Columns& columns)>;

Status for_each_row(const std::string& path, const RowVisitor& row) {
  std::optional<Columns> columns;
  std::optional<Error> bad_header;
  auto set_columns = [&](std::span<const std::string_view> header) {
    auto column = [&](std::string_view name) {
      for (std::size_t i = 0; i < header.size(); ++i)
        if (header[i] == name) return static_cast<int>(i);
      return -1;
    };
    columns = Columns{column("name"), column("tdp_w"), column("cores"), column("threads"), column("source")};
    if (columns->name < 0 || columns->tdp < 0)
      bad_header = Error{path + ": expected columns name,tdp_w (and cores,threads,source)"};
    return !bad_header;
  };
  auto visited = visit_csv_file(path, [&](std::span<const std::string_view> fields, int) {
    return columns ? row(fields, *columns) : set_columns(fields);
  });
  if (!visited) return visited.error();
  if (bad_header) return *bad_header;
  return Ok{};
}

// The shipped table holds normalised names already (data/SOURCES.md): normalising 5000 names
// again would dominate start-up. A table is taken as normalised when its first rows are.
constexpr std::size_t kRowsCheckedForNormalisedNames = 50;

bool is_normalized_name(std::span<const std::string_view> row, const Columns& columns) {
  if (static_cast<int>(row.size()) <= columns.name) return false;
  const std::string_view name = row[static_cast<std::size_t>(columns.name)];
  return name == normalize_cpu_name(std::string(name));
}

CpuSpec make_spec(std::span<const std::string_view> row, const Columns& columns, double tdp_w) {
  CpuSpec spec;
  spec.tdp_w = tdp_w;
  spec.name = cell(row, columns.name);
  spec.cores = count_or_zero(cell(row, columns.cores));
  spec.threads = count_or_zero(cell(row, columns.threads));
  spec.source = cell(row, columns.source);
  return spec;
}

// CpuTdpTable::match's rule, given the entries one at a time (from the table, or from the file).
class NameMatcher {
 public:
  explicit NameMatcher(const std::string& model_name)
      : wanted_(normalize_cpu_name(model_name)), wanted_words_(split_words(wanted_)) {}
  bool can_match() const { return !wanted_.empty(); }
  bool is_exact(std::string_view normalized) const { return normalized == wanted_; }
  // The entry's word count when it is a word match better than the best taken so far.
  std::optional<std::size_t> better_word_match(std::string_view normalized) const {
    // Every word of the entry must appear in the model's name, and one must name a model number.
    // Vendor and brand words may be left out ("xeon gold 6248", "i9-9900k", "epyc 7763").
    std::string_view rest = normalized;
    std::size_t words = 0;
    bool all_present = true, names_model = false;
    while (all_present && !rest.empty()) {
      const std::size_t space = rest.find(' ');
      const std::string_view word = rest.substr(0, space);
      rest.remove_prefix(space == std::string_view::npos ? rest.size() : space + 1);
      if (word.empty()) continue;
      if ((word == "intel" || word == "amd" || word == "core") && !is_wanted(word)) continue;
      ++words;
      all_present = is_wanted(word);
      names_model = names_model ||
                    std::any_of(word.begin(), word.end(), [](unsigned char c) { return std::isdigit(c); });
    }
    if (!all_present || !names_model) return std::nullopt;
    if (taken_ && !(words > best_words_ || (words == best_words_ && normalized.size() > best_length_)))
      return std::nullopt;
    return words;
  }
  void take(std::size_t words, std::size_t length) {
    taken_ = true;
    best_words_ = words;
    best_length_ = length;
  }

 private:
  bool is_wanted(std::string_view word) const {
    return std::find(wanted_words_.begin(), wanted_words_.end(), word) != wanted_words_.end();
  }
  std::string wanted_;
  std::vector<std::string> wanted_words_;
  bool taken_ = false;
  std::size_t best_words_ = 0;
  std::size_t best_length_ = 0;
};

// What find() keeps per process: the answer for a file (as it was) and a model name.
struct FoundSpec {
  std::string path;
  std::string model_name;
  dev_t device = 0;
  ino_t inode = 0;
  off_t size = 0;
  std::int64_t modified_ns = 0;
  std::optional<CpuSpec> spec;
};

}  // namespace

std::string normalize_cpu_name(const std::string& name) {
  std::string lower;
  for (unsigned char c : name) lower += static_cast<char>(std::tolower(c));
  // Trademark marks become spaces: "(r)", "(tm)", ®, ™ and zero-width spaces.
  std::string text;
  for (std::size_t i = 0; i < lower.size();) {
    std::size_t skip = 0;
    for (std::string_view mark : {"(r)", "(tm)", "\xC2\xAE", "\xE2\x84\xA2", "\xE2\x80\x8B"})
      if (std::string_view(lower).substr(i, mark.size()) == mark) skip = mark.size();
    if (skip) {
      text += ' ';
      i += skip;
    } else {
      text += lower[i++];
    }
  }
  std::string out;
  const std::vector<std::string> words = split_words(text);
  for (std::size_t i = 0; i < words.size(); ++i) {
    const std::string& word = words[i];
    if (word == "cpu" || word == "processor") continue;
    if (word == "with" || word == "w/") break;  // "with Radeon Graphics"
    if (word[0] == '@') {                       // "@ 2.30GHz" or "@2.30GHz"
      if (word == "@") ++i;
      continue;
    }
    const auto dash = word.find("-core");
    if (dash != std::string::npos && dash > 0 && dash + 5 == word.size() &&
        std::all_of(word.begin(), word.begin() + static_cast<long>(dash), ::isdigit))
      continue;
    out += (out.empty() ? "" : " ") + word;
  }
  return out;
}

Result<CpuTdpTable> CpuTdpTable::load(const std::string& path) {
  CpuTdpTable out;
  std::size_t rows_seen = 0;
  bool normalized_names = true;
  auto read = for_each_row(path, [&](std::span<const std::string_view> row, const Columns& columns) {
    if (rows_seen++ < kRowsCheckedForNormalisedNames)
      normalized_names = normalized_names && is_normalized_name(row, columns);
    const double tdp_w = parse_finite_number(cell(row, columns.tdp)).value_or(0.0);
    if (!cell(row, columns.name).empty() && tdp_w > 0) out.specs_.push_back(make_spec(row, columns, tdp_w));
    return true;
  });
  if (!read) return read.error();
  out.normalized_.reserve(out.specs_.size());
  for (const CpuSpec& spec : out.specs_)
    out.normalized_.push_back(normalized_names ? spec.name : normalize_cpu_name(spec.name));
  return out;
}

Result<std::optional<CpuSpec>> CpuTdpTable::find(const std::string& path, const std::string& model_name) {
  // The answer kept for the process, while the file is the same one, unchanged.
  static std::mutex found_mutex;
  static std::vector<FoundSpec> found;
  struct stat info {};
  const bool identified = ::stat(path.c_str(), &info) == 0;
  FoundSpec key{
      path,         model_name,
      info.st_dev,  info.st_ino,
      info.st_size, static_cast<std::int64_t>(info.st_mtim.tv_sec) * 1'000'000'000 + info.st_mtim.tv_nsec,
      std::nullopt};
  auto same = [&](const FoundSpec& entry) {
    return entry.path == key.path && entry.model_name == key.model_name && entry.device == key.device &&
           entry.inode == key.inode && entry.size == key.size && entry.modified_ns == key.modified_ns;
  };
  if (identified) {
    std::lock_guard lock(found_mutex);
    auto hit = std::find_if(found.begin(), found.end(), same);
    if (hit != found.end()) return hit->spec;
  }

  // One pass over the file, matching as it goes; only the best entry so far is copied. Whether
  // the names are normalised is known after the first rows: they wait (copied) until then.
  NameMatcher matcher(model_name);
  std::optional<CpuSpec> exact, best;
  std::optional<bool> normalized_names;
  std::vector<std::vector<std::string>> waiting;
  auto consider = [&](std::span<const std::string_view> row, const Columns& columns) {
    const std::string_view name = cell(row, columns.name);
    if (name.empty()) return true;
    std::string normalized_copy;
    std::string_view normalized = name;
    if (!*normalized_names) normalized = normalized_copy = normalize_cpu_name(std::string(name));
    // A row without a positive TDP is not in the table: it is looked at only when it would match.
    auto tdp_w = [&] { return parse_finite_number(cell(row, columns.tdp)).value_or(0.0); };
    if (matcher.is_exact(normalized)) {
      if (tdp_w() <= 0) return true;
      exact = make_spec(row, columns, tdp_w());
      return false;  // the first exact match is the answer
    }
    if (auto words = matcher.better_word_match(normalized); words && tdp_w() > 0) {
      matcher.take(*words, normalized.size());
      best = make_spec(row, columns, tdp_w());
    }
    return true;
  };
  auto release_waiting = [&](const Columns& columns) {
    normalized_names = true;
    std::vector<std::string_view> fields;
    for (const auto& row : waiting) {
      fields.assign(row.begin(), row.end());
      normalized_names = *normalized_names && is_normalized_name(fields, columns);
    }
    bool more = true;
    for (std::size_t i = 0; i < waiting.size() && more; ++i) {
      fields.assign(waiting[i].begin(), waiting[i].end());
      more = consider(fields, columns);
    }
    waiting.clear();
    return more;
  };
  std::optional<Columns> table_columns;
  auto read = for_each_row(path, [&](std::span<const std::string_view> row, const Columns& columns) {
    if (!matcher.can_match()) return false;
    table_columns = columns;
    if (normalized_names) return consider(row, columns);
    waiting.emplace_back(row.begin(), row.end());
    return waiting.size() < kRowsCheckedForNormalisedNames || release_waiting(columns);
  });
  if (!read) return read.error();
  if (!normalized_names && table_columns) release_waiting(*table_columns);
  std::optional<CpuSpec> spec = exact ? exact : best;

  if (identified) {
    std::lock_guard lock(found_mutex);
    if (std::none_of(found.begin(), found.end(), same)) {
      if (found.size() >= 16) found.erase(found.begin());  // a handful of model names at most
      key.spec = spec;
      found.push_back(std::move(key));
    }
  }
  return spec;
}

std::optional<CpuSpec> CpuTdpTable::match(const std::string& model_name) const {
  NameMatcher matcher(model_name);
  if (!matcher.can_match()) return std::nullopt;
  for (std::size_t i = 0; i < specs_.size(); ++i)
    if (matcher.is_exact(normalized_[i])) return specs_[i];
  std::optional<std::size_t> best;
  for (std::size_t i = 0; i < specs_.size(); ++i) {
    if (auto words = matcher.better_word_match(normalized_[i])) {
      matcher.take(*words, normalized_[i].size());
      best = i;
    }
  }
  if (best) return specs_[*best];
  return std::nullopt;
}

}  // namespace carbonmeter
