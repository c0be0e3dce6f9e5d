// GPU power-limit tuning: a PowerLimitOptimizer driven by the training loop profiles the GPUs'
// power limits (from the maximum down), then applies the one that best meets an objective, and
// puts the original limits back at the end. Profiles are JSON in Zeus' format. In dry-run mode
// nothing on the GPU is changed: it only says what it would do.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "carbonmeter/result.hpp"

namespace carbonmeter {

// What "best" means for a power limit, over the same profiled steps at each limit.
struct PowerLimitObjective {
  enum class Kind {
    eta,           // least η·E + (1−η)·P_max·T (Zeus' cost; P_max: the highest limit × GPUs, in W)
    max_slowdown,  // least energy with time ≤ value × the time at the highest limit
    energy,        // least energy
    time,          // least time
  };
  Kind kind = Kind::eta;
  double value = 0.5;  // η in [0, 1] or the slowdown factor ≥ 1

  // "eta", "eta:0.3", "max_slowdown:1.1" (or "max-slowdown:1.1"), "energy", "time".
  static Result<PowerLimitObjective> parse(const std::string& text);
  Status validate() const;
  std::string describe() const;  // "eta 0.5", "max-slowdown 1.1", "energy", "time"
};

// One profiled limit. power_limit is in the profile's unit: W as Zeus writes it today, mW in
// older Zeus profiles.
struct PowerLimitMeasurement {
  double power_limit = 0.0;
  double energy_j = 0.0;  // every optimized GPU together
  double time_s = 0.0;
};

struct PowerLimitOptimizerOptions {
  double step_w = 25.0;    // between the limits profiled, from the highest down
  int warmup_steps = 10;   // steps run at a limit before its profile window opens
  int profile_steps = 40;  // steps in the window
  // Read when it exists (no profiling: the optimum is chosen from it at once), else the profile
  // is written there when profiling ends. "" = neither.
  std::string profile_path;
  // Never change a GPU setting: measure at the current limit, choose from the profile at
  // profile_path when there is one, else from a model of the device, and say what would be done.
  bool dry_run = false;
  // Put the original limits back on SIGINT and SIGTERM too (then the previous handler runs).
  bool restore_on_signals = true;
  // Where progress and decisions go (one line each); default: stderr, prefixed "carbonmeter: ".
  std::function<void(const std::string&)> log;
};

class PowerLimitOptimizer {
 public:
  enum class State { ready, warmup, profiling, done };

  // gpus: NVML indices; empty = every GPU. Fails without NVML, for a GPU whose limit cannot be
  // read, for a bad objective or option, an unreadable profile, and (unless dry_run) when
  // changing limits is not allowed (it needs root or the CAP_SYS_ADMIN capability).
  static Result<std::unique_ptr<PowerLimitOptimizer>> create(std::vector<unsigned> gpus,
                                                             PowerLimitObjective objective,
                                                             PowerLimitOptimizerOptions options = {});
  ~PowerLimitOptimizer();  // restores the original limits
  PowerLimitOptimizer(const PowerLimitOptimizer&) = delete;
  PowerLimitOptimizer& operator=(const PowerLimitOptimizer&) = delete;

  void on_step_begin();
  void on_step_end() {}
  // An epoch that ends inside a limit's warm-up or window: that limit is profiled again from
  // the start of its warm-up.
  void on_epoch_end();
  // Puts every GPU back at the limit it had when the optimizer was created; idempotent. The
  // optimizer changes nothing after it.
  void restore();

  State state() const;
  // The limit chosen (W, per GPU): known once profiling ends or a profile was read.
  std::optional<double> optimal_power_limit_w() const;
  // The limits to profile, highest first (W).
  const std::vector<double>& power_limits_w() const;
  // What was profiled (or read), in W.
  const std::vector<PowerLimitMeasurement>& measurements() const;
  // What was done, or in dry-run mode what would be done, one line each.
  std::vector<std::string> decisions() const;

  class Impl;

 private:
  explicit PowerLimitOptimizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace carbonmeter
