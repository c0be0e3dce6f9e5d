// Simulated soak: 72 hours of sampling at 10 ms (25.92 million samples) through the real Sampler
// that `carbonmeter run --scope machine` uses, against a fake powercap counter that the loop
// advances by a fixed energy per sample, with a small max_energy_range_uj (a wrap every 200
// samples) and a few resets. Prints the peak RSS (VmHWM) and the current RSS after every simulated
// hour, and checks at the end that the sampler's energy equals the energy driven.
//
// Not part of the test suite (it takes long): docs/reliability.md says how to run it and what it
// measured. Usage: carbonmeter_soak_simulated [HOURS (default 72)] [--journal DIR]
//   HOURS may be a fraction (0.5) for a shorter run.
//
// What "driven" means at a reset: the counter restarts from 0 and shows R uJ, which is the energy
// since the reset (the sampler counts it: energy_counter.cpp); the energy of the interval before
// the reset, up to the reset, is unknown to any reader and is not driven here.
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/journal.hpp"
#include "core/sampler.hpp"
#include "sensors/registry.hpp"

namespace cm = carbonmeter;
namespace fs = std::filesystem;

namespace {

constexpr std::uint64_t kMaxRangeUj =
    100'000'000;                            // 100 J, the least the sensor believes; wraps every ~200 samples
constexpr std::uint64_t kStepUj = 500'000;  // 0.5 J per 10 ms sample: 50 W
constexpr std::uint64_t kResetToUj = 250'000;      // what the counter shows after a reset
constexpr std::int64_t kSamplesPerHour = 360'000;  // 10 ms

long status_kb(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  const std::size_t length = std::strlen(field);
  while (std::getline(in, line))
    if (line.compare(0, length, field) == 0) return std::atol(line.c_str() + length + 1);
  return -1;
}

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream out(path);
  out << text << "\n";
}

class FakeCounter {
 public:
  explicit FakeCounter(const fs::path& file) : fd_(::open(file.c_str(), O_WRONLY | O_CLOEXEC)) {
    if (fd_ < 0) {
      std::perror("soak: energy_uj");
      std::exit(2);
    }
  }
  ~FakeCounter() { ::close(fd_); }
  void set(std::uint64_t value_uj) {
    char text[32];
    const int n = std::snprintf(text, sizeof text, "%" PRIu64 "\n", value_uj);
    if (::pwrite(fd_, text, static_cast<std::size_t>(n), 0) != n || ::ftruncate(fd_, n) != 0) {
      std::perror("soak: write energy_uj");
      std::exit(2);
    }
  }

 private:
  int fd_;
};

}  // namespace

int main(int argc, char** argv) {
  double hours = 72.0;
  std::string journal_dir;
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--journal" && i + 1 < argc)
      journal_dir = argv[++i];
    else
      hours = std::atof(argv[i]);
  }
  if (!(hours > 0 && hours <= 1000)) {
    std::fprintf(stderr, "usage: %s [HOURS (0 to 1000, default 72)] [--journal DIR]\n", argv[0]);
    return 2;
  }
  char pattern[] = "/tmp/carbonmeter-soak-XXXXXX";
  if (!::mkdtemp(pattern)) return 2;
  const fs::path root = pattern;
  const fs::path zone = root / "sys/class/powercap/intel-rapl:0";
  fs::create_directories(zone);
  write_text(zone / "name", "package-0");
  write_text(zone / "enabled", "1");
  write_text(zone / "max_energy_range_uj", std::to_string(kMaxRangeUj));
  write_text(zone / "energy_uj", "0");
  ::setenv("CARBONMETER_SYSFS_ROOT", (root / "sys").c_str(), 1);
  ::setenv("CARBONMETER_DEV_ROOT", (root / "dev").c_str(), 1);

  auto sensors = cm::probe_sensors({});
  if (!sensors || sensors.value().sensors.empty()) {
    std::fprintf(stderr, "soak: the fake powercap tree was not picked up\n");
    return 2;
  }
  std::unique_ptr<cm::JournalWriter> journal;
  if (!journal_dir.empty()) {
    cm::RunHeader header;
    header.run_id = "soak";
    auto created = cm::JournalWriter::create(journal_dir, header, cm::TrackerOptions{}.journal_sync_s);
    if (!created) {
      std::fprintf(stderr, "soak: %s\n", created.error().message.c_str());
      return 2;
    }
    journal = std::move(created).value();
  }
  FakeCounter counter(zone / "energy_uj");
  // Interval 3600 s: the sampler's own thread never samples; the loop below is the 10 ms clock.
  cm::Sampler sampler(std::move(sensors).value(), nullptr, 3600.0, [&](const cm::Sample& sample) {
    if (journal) journal->append(sample);
  });
  if (auto started = sampler.start(); !started) {
    std::fprintf(stderr, "soak: %s\n", started.error().message.c_str());
    return 2;
  }

  const std::int64_t total_samples = static_cast<std::int64_t>(std::llround(hours * kSamplesPerHour));
  // A few resets, spread over the run, each where the counter is far from the top of its range
  // (so that going back cannot be a wrap).
  const std::int64_t reset_every = std::max<std::int64_t>(total_samples / 5, 1000);
  std::uint64_t raw = 0;
  std::uint64_t driven_uj = 0;
  std::int64_t wraps = 0, resets = 0;
  bool reset_due = false;
  const auto started_at = std::chrono::steady_clock::now();
  std::printf("# simulated_hour samples wraps resets vmhwm_kb vmrss_kb cpu_energy_j driven_j wall_s\n");
  for (std::int64_t i = 1; i <= total_samples; ++i) {
    if (i % reset_every == 0) reset_due = true;
    // (well above the value it resets to: a "reset" upwards would be an ordinary step)
    if (reset_due && raw > 4 * kResetToUj && raw < kMaxRangeUj / 2) {
      reset_due = false;
      raw = kResetToUj;
      driven_uj += kResetToUj;
      ++resets;
    } else {
      raw += kStepUj;
      driven_uj += kStepUj;
      if (raw > kMaxRangeUj) {
        raw -= kMaxRangeUj + 1;
        ++wraps;
      }
    }
    counter.set(raw);
    sampler.sample_now(false);
    if (i % kSamplesPerHour == 0 || i == total_samples) {
      const cm::Totals totals = sampler.totals();
      std::printf("%.2f %" PRId64 " %" PRId64 " %" PRId64 " %ld %ld %.6f %.6f %.1f\n",
                  static_cast<double>(i) / kSamplesPerHour, i, wraps, resets, status_kb("VmHWM:"),
                  status_kb("VmRSS:"), totals.energy_j[cm::Component::cpu],
                  static_cast<double>(driven_uj) / 1e6,
                  std::chrono::duration<double>(std::chrono::steady_clock::now() - started_at).count());
      std::fflush(stdout);
    }
  }
  sampler.stop();
  // The counter is the CPU's (package); RAM, with no counter here, is modelled from the memory
  // size over the wall time and is not part of the check.
  const double energy_j = sampler.totals().energy_j[cm::Component::cpu];
  const double driven_j = static_cast<double>(driven_uj) / 1e6;
  const double error = std::fabs(energy_j - driven_j);
  std::printf("# samples %" PRId64 ", wraps %" PRId64 ", resets %" PRId64
              ", energy %.6f J, driven %.6f J, |difference| %.3g J (%.3g relative), series points %zu "
              "(%zu samples each), peak RSS %ld kB\n",
              total_samples, wraps, resets, energy_j, driven_j, error, error / driven_j,
              sampler.series().size(), sampler.samples_per_point(), status_kb("VmHWM:"));
  for (const std::string& note : sampler.notes()) std::printf("# note: %s\n", note.c_str());
  fs::remove_all(root);
  // Exact up to rounding: each delta is an integer number of uJ times 1e-6 J.
  if (error > 1e-9 * driven_j) {
    std::printf("FAIL: the energy is not the energy driven\n");
    return 1;
  }
  std::printf("OK\n");
  return 0;
}
