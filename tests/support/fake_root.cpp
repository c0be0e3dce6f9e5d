#include "support/fake_root.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace carbonmeter::testing {

// Overwrites the file in place without truncating it first, as a real sysfs read never sees an
// empty value: sensors keep the file open, so it must stay the same file (no rename), and a reader
// racing the test sees the old value or the new one.
void write_file(const std::string& path, const std::string& content) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error("cannot write " + path);
  const bool written =
      ::pwrite(fd, content.data(), content.size(), 0) == static_cast<ssize_t>(content.size()) &&
      ::ftruncate(fd, static_cast<off_t>(content.size())) == 0;
  ::close(fd);
  if (!written) throw std::runtime_error("cannot write " + path);
}

FakeRoot::FakeRoot(const std::string& fixture, bool fake_procfs) {
  char pattern[] = "/tmp/carbonmeter-test-XXXXXX";
  if (!::mkdtemp(pattern)) throw std::runtime_error("mkdtemp failed");
  root_ = pattern;
  ::chmod(root_.c_str(), 0755);
  namespace fs = std::filesystem;
  if (!fixture.empty())
    fs::copy(std::string(CARBONMETER_FIXTURES_DIR) + "/" + fixture, root_, fs::copy_options::recursive);
  fs::create_directories(root_ + "/sys/class/powercap");
  fs::create_directories(root_ + "/proc");
  fs::create_directories(root_ + "/dev/cpu");
  ::setenv("CARBONMETER_SYSFS_ROOT", (root_ + "/sys").c_str(), 1);
  ::setenv("CARBONMETER_DEV_ROOT", (root_ + "/dev").c_str(), 1);
  if (fake_procfs)
    ::setenv("CARBONMETER_PROCFS_ROOT", (root_ + "/proc").c_str(), 1);
  else
    ::unsetenv("CARBONMETER_PROCFS_ROOT");
}

FakeRoot::~FakeRoot() {
  ::unsetenv("CARBONMETER_SYSFS_ROOT");
  ::unsetenv("CARBONMETER_DEV_ROOT");
  ::unsetenv("CARBONMETER_PROCFS_ROOT");
  std::error_code ec;
  std::filesystem::remove_all(root_, ec);
}

void FakeRoot::write(const std::string& relative, const std::string& content) const {
  write_file(root_ + "/" + relative, content);
}

void FakeRoot::set_energy_uj(const std::string& zone_dir, std::uint64_t value) const {
  write_file(zone(zone_dir) + "/energy_uj", std::to_string(value) + "\n");
}

void FakeRoot::set_max_range_uj(const std::string& zone_dir, std::uint64_t value) const {
  write_file(zone(zone_dir) + "/max_energy_range_uj", std::to_string(value) + "\n");
}

void FakeRoot::set_cpu_ticks(std::uint64_t busy_ticks, std::uint64_t idle_ticks) const {
  write("proc/stat", "cpu  " + std::to_string(busy_ticks) + " 0 0 " + std::to_string(idle_ticks) +
                         " 0 0 0 0 0 0\nintr 0\n");
}

void FakeRoot::set_memory_kb(std::uint64_t total_kb, std::uint64_t available_kb) const {
  write("proc/meminfo", "MemTotal: " + std::to_string(total_kb) +
                            " kB\nMemAvailable: " + std::to_string(available_kb) + " kB\n");
}

void FakeRoot::set_msr(int cpu, std::uint32_t reg, std::uint64_t value) const {
  std::string path = root_ + "/dev/cpu/" + std::to_string(cpu) + "/msr";
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT, 0644);
  if (fd < 0 || ::pwrite(fd, &value, sizeof value, static_cast<off_t>(reg)) != sizeof value)
    throw std::runtime_error("cannot write fake msr " + path);
  ::close(fd);
}

}  // namespace carbonmeter::testing
