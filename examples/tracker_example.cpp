// Measures a computation and two named windows inside it with the carbonmeter C++ API.
#include <carbonmeter/tracker.hpp>
#include <cmath>
#include <cstdio>

namespace {

double busy_work(int rounds) {
  double sum = 0.0;
  for (int i = 1; i < rounds; ++i) sum += std::sqrt(static_cast<double>(i));
  return sum;
}

void print(const carbonmeter::Measurement& m) {
  std::printf("%-8s %.3f s  cpu %.3f J (%s)  ram %.3f J (%s)  total %.3f J ±%.3f J\n", m.name.c_str(),
              m.duration_s, m.energy_j[carbonmeter::Component::cpu],
              m.method[carbonmeter::Component::cpu].method.c_str(), m.energy_j[carbonmeter::Component::ram],
              m.method[carbonmeter::Component::ram].method.c_str(), m.energy_j.total(),
              m.total_uncertainty_j());
}

}  // namespace

int main() {
  carbonmeter::TrackerOptions options;
  options.interval_s = 0.1;
  carbonmeter::Tracker tracker(options);  // this process and its children
  if (auto started = tracker.start(); !started) {
    std::fprintf(stderr, "cannot start: %s\n", started.error().message.c_str());
    return 1;
  }
  double result = 0.0;
  for (const char* name : {"warmup", "train"}) {
    if (auto opened = tracker.begin_window(name); !opened) return 1;
    result += busy_work(20'000'000);
    auto window = tracker.end_window(name);
    if (!window) return 1;
    std::printf("window ");
    print(window.value());
  }
  carbonmeter::Measurement run = tracker.stop();
  print(run);
  return result > 0 ? 0 : 1;
}
