// A token bucket per caller (per API token; per client address for anonymous requests).
#pragma once

#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>

namespace carbonmeter::server {

struct RateLimit {
  double requests_per_s = 50.0;  // refill rate; 0 turns rate limiting off
  double burst = 200.0;          // bucket size: requests allowed at once after a quiet spell
};

class RateLimiter {
 public:
  explicit RateLimiter(RateLimit limit);

  struct Decision {
    bool allowed = true;
    double retry_after_s = 0.0;  // when refused: time until one request is allowed again
  };

  // Takes one request from `key`'s bucket at time `now_s` (any monotonic clock, in seconds).
  Decision take(const std::string& key, double now_s);

  // The current monotonic time in seconds.
  static double monotonic_now_s();

 private:
  struct Bucket {
    double tokens = 0.0;
    double updated_s = 0.0;
  };
  void forget_full_buckets(double now_s);

  RateLimit limit_;
  std::mutex mutex_;
  std::unordered_map<std::string, Bucket> buckets_;
  double last_sweep_s_ = 0.0;
};

}  // namespace carbonmeter::server
