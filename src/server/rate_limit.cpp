// Token buckets: each key's bucket refills at requests_per_s up to burst; a request takes one.
#include "server/rate_limit.hpp"

#include <algorithm>
#include <ctime>

namespace carbonmeter::server {
namespace {
constexpr std::size_t kSweepAboveBuckets = 10000;
constexpr double kSweepEveryS = 60.0;
}  // namespace

RateLimiter::RateLimiter(RateLimit limit) : limit_(limit) {}

double RateLimiter::monotonic_now_s() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

RateLimiter::Decision RateLimiter::take(const std::string& key, double now_s) {
  if (limit_.requests_per_s <= 0.0) return {};
  const double burst = std::max(1.0, limit_.burst);
  std::lock_guard lock(mutex_);
  if (buckets_.size() > kSweepAboveBuckets && now_s - last_sweep_s_ > kSweepEveryS)
    forget_full_buckets(now_s);
  auto [it, inserted] = buckets_.try_emplace(key, Bucket{burst, now_s});
  Bucket& bucket = it->second;
  if (!inserted) {
    const double elapsed_s = std::max(0.0, now_s - bucket.updated_s);
    bucket.tokens = std::min(burst, bucket.tokens + elapsed_s * limit_.requests_per_s);
    bucket.updated_s = now_s;
  }
  if (bucket.tokens >= 1.0) {
    bucket.tokens -= 1.0;
    return {};
  }
  return {false, (1.0 - bucket.tokens) / limit_.requests_per_s};
}

void RateLimiter::forget_full_buckets(double now_s) {
  // A bucket that has refilled completely is the same as a new one: drop it.
  const double burst = std::max(1.0, limit_.burst);
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    const double tokens = it->second.tokens + (now_s - it->second.updated_s) * limit_.requests_per_s;
    it = tokens >= burst ? buckets_.erase(it) : std::next(it);
  }
  last_sweep_s_ = now_s;
}

}  // namespace carbonmeter::server
