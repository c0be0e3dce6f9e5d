#include "vmexport/energy_split.hpp"

#include <algorithm>
#include <utility>

namespace carbonmeter::vmexport {

Split EnergySplitter::split(const HostInterval& host, const std::vector<VmUsage>& vms) {
  Split out;
  out.vms.resize(vms.size());
  pending_cpu_j_ += std::max(0.0, host.cpu_j);
  pending_ram_j_ += std::max(0.0, host.ram_j);
  if (vms.empty()) {  // nobody to share with
    out.host_cpu_j = std::exchange(pending_cpu_j_, 0.0);
    out.host_ram_j = std::exchange(pending_ram_j_, 0.0);
    pending_busy_s_ = 0.0;
    return out;
  }
  for (const VmUsage& vm : vms) backlog_s_[vm.id] += std::max(0.0, vm.cpu_s);

  // CPU: shared once the host's busy time over the pending period is known and not zero.
  if (host.busy_s) pending_busy_s_ += std::max(0.0, *host.busy_s);
  if (host.busy_s && pending_busy_s_ > 0) {
    double vm_s = 0.0;
    for (const VmUsage& vm : vms) vm_s += backlog_s_[vm.id];
    // More VM CPU time than busy time: the shares are scaled to 1 and the excess waits.
    const double scale = vm_s > pending_busy_s_ ? pending_busy_s_ / vm_s : 1.0;
    double shared_j = 0.0;
    for (std::size_t i = 0; i < vms.size(); ++i) {
      double& backlog = backlog_s_[vms[i].id];
      const double matched_s = backlog * scale;
      backlog -= matched_s;
      out.vms[i].cpu_share = matched_s / pending_busy_s_;
      out.vms[i].cpu_j = pending_cpu_j_ * out.vms[i].cpu_share;
      shared_j += out.vms[i].cpu_j;
    }
    out.host_cpu_j = std::max(0.0, pending_cpu_j_ - shared_j);
    pending_cpu_j_ = 0.0;
    pending_busy_s_ = 0.0;
  }

  // RAM: by resident memory over memory in use, once that is known.
  if (host.used_bytes && *host.used_bytes > 0) {
    const double used = static_cast<double>(*host.used_bytes);
    double total_share = 0.0;
    for (const VmUsage& vm : vms) total_share += static_cast<double>(vm.rss_bytes) / used;
    const double scale = total_share > 1.0 ? 1.0 / total_share : 1.0;
    double shared_j = 0.0;
    for (std::size_t i = 0; i < vms.size(); ++i) {
      out.vms[i].ram_share = static_cast<double>(vms[i].rss_bytes) / used * scale;
      out.vms[i].ram_j = pending_ram_j_ * out.vms[i].ram_share;
      shared_j += out.vms[i].ram_j;
    }
    out.host_ram_j = std::max(0.0, pending_ram_j_ - shared_j);
    pending_ram_j_ = 0.0;
  }
  out.pending_cpu_j = pending_cpu_j_;
  out.pending_ram_j = pending_ram_j_;
  return out;
}

}  // namespace carbonmeter::vmexport
