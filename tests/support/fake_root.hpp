// A writable copy of a fixture tree (tests/fixtures/NAME with sys/, proc/ and dev/), with
// CARBONMETER_SYSFS_ROOT, CARBONMETER_PROCFS_ROOT and CARBONMETER_DEV_ROOT pointed at it for the
// lifetime of the object.
#pragma once

#include <cstdint>
#include <string>

namespace carbonmeter::testing {

class FakeRoot {
 public:
  // fixture: a folder name under tests/fixtures, or "" for an empty tree.
  explicit FakeRoot(const std::string& fixture, bool fake_procfs = true);
  ~FakeRoot();
  FakeRoot(const FakeRoot&) = delete;
  FakeRoot& operator=(const FakeRoot&) = delete;

  const std::string& path() const { return root_; }
  std::string sys(const std::string& relative) const { return root_ + "/sys/" + relative; }
  std::string zone(const std::string& zone_dir) const { return sys("class/powercap/" + zone_dir); }
  void write(const std::string& relative, const std::string& content) const;
  void set_energy_uj(const std::string& zone_dir, std::uint64_t value) const;
  void set_max_range_uj(const std::string& zone_dir, std::uint64_t value) const;
  // /proc/stat's first line with these cpu times (in clock ticks).
  void set_cpu_ticks(std::uint64_t busy_ticks, std::uint64_t idle_ticks) const;
  void set_memory_kb(std::uint64_t total_kb, std::uint64_t available_kb) const;
  // A 64-bit value at a register of a fake /dev/cpu/N/msr (a sparse file).
  void set_msr(int cpu, std::uint32_t reg, std::uint64_t value) const;

 private:
  std::string root_;
};

void write_file(const std::string& path, const std::string& content);

}  // namespace carbonmeter::testing
