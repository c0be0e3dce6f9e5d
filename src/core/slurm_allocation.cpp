#include "core/slurm_allocation.hpp"

#include <charconv>

#include "core/cgroup_files.hpp"
#include "core/roots.hpp"
#include "core/text_file.hpp"

namespace carbonmeter {
namespace {

// "/slurm_vm/uid_0/job_7/step_0/task_1" → "/slurm_vm/uid_0/job_7"; "" when no job_ segment.
std::string job_prefix(const std::string& path) {
  std::size_t at = path.find("/job_");
  if (at == std::string::npos) return "";
  const std::size_t end = path.find('/', at + 1);
  return end == std::string::npos ? path : path.substr(0, end);
}

// "/…/job_7/step_batch/task_0" → "batch"; "/…/job_7/step_0" → "0".
std::string step_of(const std::string& path) {
  const std::size_t at = path.find("/step_");
  if (at == std::string::npos) return "";
  const std::size_t end = path.find('/', at + 1);
  return path.substr(at + 6, end == std::string::npos ? std::string::npos : end - at - 6);
}

}  // namespace

std::string nvidia_minors_allowed(std::string_view devices_list) {
  std::string out;
  std::size_t pos = 0;
  while (pos < devices_list.size()) {
    std::size_t end = devices_list.find('\n', pos);
    if (end == std::string_view::npos) end = devices_list.size();
    const std::string_view line = trim(devices_list.substr(pos, end - pos));
    pos = end + 1;
    if (line.substr(0, 1) == "a") return "";  // every device: not constrained
    constexpr std::string_view kNvidia = "c 195:";
    if (line.substr(0, kNvidia.size()) != kNvidia) continue;
    const std::string_view minor =
        line.substr(kNvidia.size(), line.find(' ', kNvidia.size()) - kNvidia.size());
    int number = 0;
    auto [ptr, ec] = std::from_chars(minor.data(), minor.data() + minor.size(), number);
    if (ec != std::errc() || ptr != minor.data() + minor.size() || number >= 255) continue;  // 255: nvidiactl
    out += (out.empty() ? "" : ",") + std::to_string(number);
  }
  return out;
}

std::optional<int> cpuset_size(const std::string& list) {
  const std::string_view text = trim(list);
  if (text.empty()) return std::nullopt;
  int count = 0;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t end = text.find(',', pos);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view range = text.substr(pos, end - pos);
    const std::size_t dash = range.find('-');
    int first = 0, last = 0;
    auto whole_number = [](std::string_view digits, int& out) {
      auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), out);
      return ec == std::errc() && ptr == digits.data() + digits.size() && out >= 0;
    };
    if (!whole_number(range.substr(0, dash), first)) return std::nullopt;
    last = first;
    if (dash != std::string_view::npos && (!whole_number(range.substr(dash + 1), last) || last < first))
      return std::nullopt;
    count += last - first + 1;
    pos = end + 1;
  }
  return count;
}

SlurmAllocation read_slurm_allocation(
    const std::function<std::optional<std::string>(const std::string&)>& env) {
  SlurmAllocation out;
  auto value = [&](const char* name) { return env(name).value_or(""); };
  out.step = value("SLURM_STEP_ID");
  out.nodelist = value("SLURM_JOB_NODELIST");
  out.gpus = !value("SLURM_STEP_GPUS").empty() ? value("SLURM_STEP_GPUS") : value("SLURM_JOB_GPUS");

  auto cgroups = read_text_file(procfs_root() + "/self/cgroup");
  auto mountinfo = read_text_file(procfs_root() + "/self/mountinfo");
  if (cgroups && mountinfo) {
    const CgroupMounts mounts = parse_cgroup_mounts(mountinfo.value());
    // cgroup v1: the cpuset hierarchy holds the CPUs; v2: cpuset.cpus.effective in the one hierarchy.
    const bool v1 = !mounts.cpuset.empty();
    const std::string path = cgroup_path_of(cgroups.value(), v1 ? "cpuset" : "");
    const std::string job = job_prefix(path);
    if (!job.empty()) {
      out.cgroup = job;
      if (out.step.empty()) out.step = step_of(path);
      const std::string folder = v1 ? cgroup_folder(mounts.cpuset, mounts.cpuset_root, job)
                                    : cgroup_folder(mounts.v2, mounts.v2_root, job);
      if (!mounts.devices.empty())
        if (auto devices =
                read_text_file(cgroup_folder(mounts.devices, mounts.devices_root, job) + "/devices.list"))
          out.gpu_devices = nvidia_minors_allowed(devices.value());
      if (auto cpus = read_text_file(folder + (v1 ? "/cpuset.cpus" : "/cpuset.cpus.effective"))) {
        if (auto count = cpuset_size(std::string(cpus.value()))) {
          out.cpus = std::string(trim(cpus.value()));
          out.cpu_count = *count;
          out.cpus_source = "cgroup cpuset";
        }
      }
    }
  }
  if (out.cpu_count == 0) {
    int count = 0;
    const std::string on_node = value("SLURM_CPUS_ON_NODE");
    auto [ptr, ec] = std::from_chars(on_node.data(), on_node.data() + on_node.size(), count);
    if (ec == std::errc() && ptr == on_node.data() + on_node.size() && count > 0) {
      out.cpu_count = count;
      out.cpus_source = "SLURM_CPUS_ON_NODE";
    }
  }
  return out;
}

}  // namespace carbonmeter
