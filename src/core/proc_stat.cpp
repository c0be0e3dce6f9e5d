#include "core/proc_stat.hpp"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <set>

#include "core/roots.hpp"

namespace carbonmeter {
namespace {

// Splits off the next whitespace-separated field.
std::string_view next_field(std::string_view& text) {
  auto start = text.find_first_not_of(" \t");
  if (start == std::string_view::npos) {
    text = {};
    return {};
  }
  text.remove_prefix(start);
  auto end = text.find_first_of(" \t\n");
  std::string_view field = text.substr(0, end);
  text.remove_prefix(end == std::string_view::npos ? text.size() : end);
  return field;
}

std::string_view line_value(std::string_view line) {
  auto colon = line.find(':');
  return colon == std::string_view::npos ? std::string_view{} : trim(line.substr(colon + 1));
}

}  // namespace

double clock_ticks_per_second() {
  static const double ticks = [] {
    long value = ::sysconf(_SC_CLK_TCK);
    return value > 0 ? static_cast<double>(value) : 100.0;
  }();
  return ticks;
}

namespace {

// The fields after "cpu" or "cpuN": user nice system idle iowait irq softirq steal guest guest_nice.
Result<CpuTime> parse_cpu_fields(std::string_view line) {
  std::uint64_t fields[10] = {};
  int count = 0;
  for (; count < 10; ++count) {
    std::string_view field = next_field(line);
    if (field.empty()) break;
    auto value = parse_u64(field);
    if (!value) return Error{"/proc/stat: unreadable cpu time '" + std::string(field) + "'"};
    fields[count] = *value;
  }
  if (count < 4) return Error{"/proc/stat: a cpu line has fewer than 4 fields"};
  const double ticks = clock_ticks_per_second();
  CpuTime out;
  out.busy_s = static_cast<double>(fields[0] + fields[1] + fields[2] + fields[5] + fields[6]) / ticks;
  out.idle_s = static_cast<double>(fields[3] + fields[4]) / ticks;
  return out;
}

}  // namespace

Result<MachineCpuTime> parse_proc_stat(std::string_view text, bool per_cpu) {
  if (text.substr(0, 4) != "cpu ")
    return Error{"/proc/stat does not start with the 'cpu' line: is CARBONMETER_PROCFS_ROOT right?"};
  auto end = text.find('\n');
  auto total = parse_cpu_fields(text.substr(4, end == std::string_view::npos ? text.npos : end - 4));
  if (!total) return total.error();
  MachineCpuTime out;
  static_cast<CpuTime&>(out) = total.value();
  while (per_cpu && end != std::string_view::npos) {
    text.remove_prefix(end + 1);
    end = text.find('\n');
    std::string_view line = text.substr(0, end);
    if (line.substr(0, 3) != "cpu") break;
    auto name_end = line.find(' ');
    auto cpu = parse_cpu_fields(line.substr(name_end == std::string_view::npos ? line.size() : name_end));
    if (!cpu) return cpu.error();
    out.per_cpu.push_back(cpu.value());
  }
  return out;
}

double load_concentration(const std::vector<CpuTime>& per_cpu_delta) {
  double sum = 0.0, sum_squares = 0.0;
  int n = 0;
  for (const CpuTime& cpu : per_cpu_delta) {
    if (cpu.total_s() <= 0) continue;
    const double u = cpu.busy_s / cpu.total_s();
    sum += u;
    sum_squares += u * u;
    ++n;
  }
  if (n == 0) return 0.0;
  const double mean = sum / n;
  const double spread_limit = mean * (1.0 - mean);
  if (spread_limit <= 1e-9) return 0.0;
  const double variance = std::max(0.0, sum_squares / n - mean * mean);
  return std::min(1.0, variance / spread_limit);
}

Result<MemoryInfo> parse_meminfo(std::string_view text) {
  MemoryInfo out;
  bool have_total = false, have_available = false;
  std::uint64_t free_kb = 0, buffers_kb = 0, cached_kb = 0;
  while (!text.empty()) {
    auto end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    auto read_kb = [&](std::string_view key, std::uint64_t& out_kb) {
      if (line.substr(0, key.size()) != key) return false;
      std::string_view rest = line_value(line);
      rest = rest.substr(0, rest.find(' '));
      auto value = parse_u64(rest);
      if (!value || *value > (std::uint64_t{1} << 40)) return false;  // over 1 PiB: not a real machine
      out_kb = *value;
      return true;
    };
    std::uint64_t kb = 0;
    if (read_kb("MemTotal:", kb)) {
      out.total_bytes = kb * 1024;
      have_total = true;
    } else if (read_kb("MemAvailable:", kb)) {
      out.available_bytes = kb * 1024;
      have_available = true;
    } else {
      (void)(read_kb("MemFree:", free_kb) || read_kb("Buffers:", buffers_kb) ||
             read_kb("Cached:", cached_kb));
    }
  }
  if (!have_total) return Error{"/proc/meminfo has no MemTotal line"};
  if (!have_available) out.available_bytes = (free_kb + buffers_kb + cached_kb) * 1024;  // kernels < 3.14
  return out;
}

CpuInfo parse_cpuinfo(std::string_view text) {
  CpuInfo out;
  std::set<std::string> physical_ids;
  while (!text.empty()) {
    auto end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    auto key = trim(line.substr(0, line.find(':')));
    auto value = line_value(line);
    if (key == "processor") {
      ++out.logical_cpus;
    } else if (key == "model name" && out.model_name.empty()) {
      out.model_name = std::string(value);
    } else if (key == "vendor_id" && out.vendor_id.empty()) {
      out.vendor_id = std::string(value);
    } else if (key == "cpu family" && out.family == 0) {
      std::from_chars(value.data(), value.data() + value.size(), out.family);
    } else if (key == "model" && out.model == 0) {
      std::from_chars(value.data(), value.data() + value.size(), out.model);
    } else if (key == "flags" && !out.hypervisor) {
      std::string_view flags = value;
      while (!flags.empty() && !out.hypervisor) {
        out.hypervisor = next_field(flags) == "hypervisor";
      }
    } else if (key == "physical id") {
      physical_ids.insert(std::string(value));
    }
  }
  out.sockets = physical_ids.empty() ? 1 : static_cast<int>(physical_ids.size());
  return out;
}

MachineStatReader::MachineStatReader()
    : stat_(procfs_root() + "/stat", 1 << 16), meminfo_(procfs_root() + "/meminfo") {}

Result<MachineCpuTime> MachineStatReader::cpu_time(bool per_cpu) {
  auto text = stat_.read();
  if (!text) return text.error();
  return parse_proc_stat(text.value(), per_cpu);
}

Result<MemoryInfo> MachineStatReader::memory() {
  auto text = meminfo_.read();
  if (!text) return text.error();
  return parse_meminfo(text.value());
}

Result<CpuInfo> read_cpuinfo() {
  auto text = read_text_file(procfs_root() + "/cpuinfo");
  if (!text) return text.error();
  return parse_cpuinfo(text.value());
}

}  // namespace carbonmeter
