// The demo workload of `make demo`: keeps every CPU busy and walks through 256 MiB of memory for
// about 10 seconds (or argv[1] seconds).
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? std::atof(argv[1]) : 10.0;
  const std::size_t bytes = 256u << 20;
  std::vector<unsigned char> memory(bytes, 1);
  const unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  std::atomic<unsigned long> checksum{0};
  std::vector<std::thread> workers;
  for (unsigned t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      unsigned long sum = 0;
      std::size_t stride = 4096 + 64 * t;
      std::size_t i = t;
      while (std::chrono::steady_clock::now() < end) {
        for (int k = 0; k < 100000; ++k) {
          i = (i + stride) % bytes;
          memory[i] = static_cast<unsigned char>(memory[i] + 1);
          sum += memory[i];
        }
      }
      checksum += sum;
    });
  }
  for (std::thread& worker : workers) worker.join();
  std::printf("demo workload: %u threads, %zu MiB, %.1f s (checksum %lu)\n", threads, bytes >> 20, seconds,
              checksum.load());
  return 0;
}
