#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "carbonmeter/power_limit.hpp"
#include "optimize/device_power_model.hpp"
#include "optimize/limit_restorer.hpp"
#include "optimize/nvml_power_control.hpp"
#include "optimize/power_limit_choice.hpp"
#include "optimize/power_limit_profile.hpp"

namespace carbonmeter {
namespace {

using Clock = std::chrono::steady_clock;

// From the highest limit every GPU takes down by step_w while above the lowest, then the lowest.
std::vector<double> limits_to_profile(double min_w, double max_w, double step_w) {
  std::vector<double> limits;
  for (double limit = max_w; limit > min_w + 1e-6; limit -= step_w) limits.push_back(limit);
  limits.push_back(min_w);
  return limits;
}

}  // namespace

class PowerLimitOptimizer::Impl {
 public:
  std::unique_ptr<NvmlPowerControl> control_;
  PowerLimitObjective objective_;
  PowerLimitOptimizerOptions options_;
  std::vector<double> limits_w_;
  double min_w_ = 0.0, max_w_ = 0.0;
  LimitsToRestore original_;
  bool watched_ = false;
  bool restored_ = false;
  int retries_ = 0;  // of the current limit: interrupted by epoch ends, or a failed energy read
  State state_ = State::ready;
  std::size_t limit_index_ = 0;  // the limit being warmed up or profiled
  int steps_left_ = 0;
  Clock::time_point created_ = Clock::now();
  Clock::time_point window_start_;
  std::vector<PowerLimitMeasurement> measurements_;
  std::optional<double> optimal_w_;
  std::vector<std::string> decisions_;

  double elapsed_s() const { return std::chrono::duration<double>(Clock::now() - created_).count(); }

  // Never throws: a failing log callback must not cut the state machine (or a restore) short.
  void log(const std::string& line) noexcept {
    try {
      if (options_.log) {
        options_.log(line);
        return;
      }
    } catch (...) {
    }
    std::fprintf(stderr, "carbonmeter: power-limit: %s\n", line.c_str());
  }
  void decide(const std::string& line) noexcept {
    try {
      decisions_.push_back(line);
    } catch (...) {
    }
    log(line);
  }
  std::string gpu_list() const {
    std::vector<unsigned> indices;
    for (const GpuPowerLimits& gpu : control_->gpus()) indices.push_back(gpu.index);
    return fmt::format("{} {}", indices.size() == 1 ? "GPU" : "GPUs", fmt::join(indices, ","));
  }
  double current_limit_w() const {
    double highest = 0.0;
    for (const GpuPowerLimits& gpu : control_->gpus()) highest = std::max(highest, gpu.current_w);
    return highest;
  }

  bool stopped_by_signal() {
    if (options_.dry_run || !original_.restored_by_signal.load()) return false;
    state_ = State::done;
    return true;
  }

  // Sets every GPU to limit_w; on failure puts the original limits back and stops changing.
  bool set_all(double limit_w) {
    if (options_.dry_run) return true;
    for (std::size_t i = 0; i < control_->gpus().size(); ++i) {
      if (stopped_by_signal()) {
        original_.restore_now();  // a signal came between two changes: undo this one too
        return false;
      }
      if (auto set = control_->set_limit_w(i, limit_w); !set) {
        decide(set.error().message + "; the original limits are put back and tuning stops");
        restore();
        return false;
      }
    }
    if (stopped_by_signal()) {
      original_.restore_now();
      return false;
    }
    return true;
  }

  // Puts the original limits back (once; a signal may have done it already, which is harmless to
  // repeat), then stops watching for signals.
  void restore() noexcept {
    state_ = State::done;
    if (options_.dry_run || restored_) return;
    restored_ = true;
    if (!original_.restore_now())
      log("could not put every GPU back at its original power limit; check with `carbonmeter power-limit "
          "show`");
    if (watched_) unwatch_for_signals(&original_);
    watched_ = false;
  }

  // Gives up on the current limit after kMaxRetries tries in a row; true when tuning goes on.
  bool retry_allowed(const std::string& why) {
    if (++retries_ < kMaxRetries) return true;
    decide(
        fmt::format("{:g} W could not be profiled {} times in a row ({}); the original limits are put back "
                    "and tuning stops",
                    options_.dry_run ? current_limit_w() : limits_w_[limit_index_], kMaxRetries, why));
    restore();
    return false;
  }
  static constexpr int kMaxRetries = 3;

  void apply_choice(const PowerLimitProfile& profile, const std::string& from, bool modelled) {
    auto choice = choose_power_limit(profile, objective_, static_cast<int>(control_->gpus().size()));
    if (!choice) {
      decide("no power limit chosen: " + choice.error().message + "; the original limits are kept");
      restore();
      return;
    }
    const PowerLimitMeasurement& best = profile.measurements[choice.value().index];
    const double best_w = profile.to_w(best.power_limit);
    const std::string versus = fmt::format(
        "energy {:+.1f} %, time {:+.1f} % against {:g} W{}", choice.value().energy_change * 100,
        choice.value().time_change * 100, profile.to_w(profile.highest().power_limit),
        modelled ? fmt::format(" (a model's estimate, ±{:.0f} %)", kDevicePowerModelUncertainty * 100) : "");
    if (best_w < min_w_ - 1e-6 || best_w > max_w_ + 1e-6) {
      decide(
          fmt::format("{:g} W chosen from {} is outside the limits of {} ({:g}–{:g} W): the original "
                      "limits are kept",
                      best_w, from, gpu_list(), min_w_, max_w_));
      restore();
      return;
    }
    optimal_w_ = best_w;
    state_ = State::done;
    if (options_.dry_run) {
      decide(fmt::format(
          "dry run: would set {} from {:g} W to {:g} W, chosen for {} from {}: {}; nothing was changed",
          gpu_list(), current_limit_w(), best_w, objective_.describe(), from, versus));
      return;
    }
    if (set_all(best_w))
      decide(fmt::format("{} set to {:g} W, chosen for {} from {}: {}", gpu_list(), best_w,
                         objective_.describe(), from, versus));
  }

  void begin_window() {
    window_start_ = Clock::now();
    (void)control_->take_energy_j(elapsed_s());  // the baseline; a failed read shows at the window's end
    state_ = State::profiling;
    steps_left_ = options_.profile_steps;
  }

  void begin_limit(std::size_t index) {
    limit_index_ = index;
    if (!options_.dry_run && !set_all(limits_w_[index])) return;
    if (options_.warmup_steps == 0) {
      begin_window();
      return;
    }
    state_ = State::warmup;
    steps_left_ = options_.warmup_steps;
  }

  // Between epochs the GPUs run at the highest limit; the next step starts `index` again.
  void pause_until_next_step(std::size_t index) {
    limit_index_ = index;
    state_ = State::ready;
    if (!options_.dry_run) set_all(max_w_);
  }

  // from_epoch_end: the window is complete but an epoch ended with it, so the next limit starts at
  // the next step (with its whole warm-up) rather than now.
  void end_window(bool from_epoch_end) {
    const std::optional<double> energy = control_->take_energy_j(elapsed_s());
    const double time_s = std::chrono::duration<double>(Clock::now() - window_start_).count();
    const double limit_w = options_.dry_run ? current_limit_w() : limits_w_[limit_index_];
    if (!energy || *energy <= 0.0) {
      const std::string why =
          energy ? "no energy was measured in its window" : "a GPU's energy counter failed";
      log(fmt::format("{:g} W: {}; it is profiled again", limit_w, why));
      if (retry_allowed(why)) pause_until_next_step(limit_index_);
      return;
    }
    const double energy_j = *energy;
    retries_ = 0;
    measurements_.push_back({limit_w, energy_j, time_s});
    log(fmt::format("{:g} W: {:.1f} J in {:.3f} s over {} steps ({})", limit_w, energy_j, time_s,
                    options_.profile_steps, control_->energy_method()));
    if (options_.dry_run) {
      const DevicePowerModel model{limit_w, min_w_, max_w_, static_cast<int>(control_->gpus().size())};
      PowerLimitProfile modelled{model_power_limits(model, measurements_.back(), limits_w_), false};
      apply_choice(modelled, fmt::format("a model of the device fitted to {:g} W", limit_w), true);
      return;
    }
    if (limit_index_ + 1 < limits_w_.size()) {
      if (from_epoch_end)
        pause_until_next_step(limit_index_ + 1);
      else
        begin_limit(limit_index_ + 1);
      return;
    }
    PowerLimitProfile profiled{measurements_, false};
    if (!options_.profile_path.empty()) {
      if (auto written = write_power_limit_profile(options_.profile_path, measurements_); !written)
        log(written.error().message);
      else
        log("profile written to " + options_.profile_path);
    }
    apply_choice(profiled, fmt::format("{} profiled limits", measurements_.size()), false);
  }
};

PowerLimitOptimizer::PowerLimitOptimizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

PowerLimitOptimizer::~PowerLimitOptimizer() {
  if (impl_) impl_->restore();
}

Result<std::unique_ptr<PowerLimitOptimizer>> PowerLimitOptimizer::create(std::vector<unsigned> gpus,
                                                                         PowerLimitObjective objective,
                                                                         PowerLimitOptimizerOptions options) {
  if (auto valid = objective.validate(); !valid) return valid.error();
  if (!(options.step_w > 0) || !std::isfinite(options.step_w))
    return Error{"the power-limit step must be above 0 W"};
  if (options.warmup_steps < 0) return Error{"warm-up steps must be 0 or more"};
  if (options.profile_steps < 1) return Error{"profiled steps must be 1 or more"};

  GpuSelection selection = select_gpus("");
  if (!gpus.empty()) {
    selection = GpuSelection{false, {}, "gpus"};
    for (unsigned index : gpus) selection.ids.push_back(std::to_string(index));
  }
  auto control = NvmlPowerControl::open(selection);
  if (!control) return control.error();

  auto impl = std::make_unique<Impl>();
  impl->control_ = std::move(control).value();
  impl->objective_ = objective;
  impl->options_ = std::move(options);
  const auto& devices = impl->control_->gpus();
  impl->min_w_ = 0.0;
  impl->max_w_ = devices.front().max_w;
  for (const GpuPowerLimits& gpu : devices) {
    impl->min_w_ = std::max(impl->min_w_, gpu.min_w);
    impl->max_w_ = std::min(impl->max_w_, gpu.max_w);
    impl->original_.original_mw.push_back(static_cast<unsigned>(std::lround(gpu.current_w * 1000.0)));
  }
  if (impl->max_w_ < impl->min_w_)
    return Error{fmt::format("the GPUs have no power limit in common ({}): tune them one at a time",
                             impl->gpu_list())};
  impl->original_.control = impl->control_.get();
  impl->limits_w_ = limits_to_profile(impl->min_w_, impl->max_w_, impl->options_.step_w);
  Impl& self = *impl;
  auto optimizer = std::unique_ptr<PowerLimitOptimizer>(new PowerLimitOptimizer(std::move(impl)));

  if (!self.options_.dry_run) {
    // Changing a limit is tried at once, so that a missing privilege shows before training starts.
    if (auto set = self.control_->set_limit_w(0, self.max_w_); !set) {
      self.restored_ = true;  // nothing was changed
      self.state_ = State::done;
      return set.error();
    }
    if (self.options_.restore_on_signals) self.watched_ = watch_for_signals(&self.original_);
    for (std::size_t i = 1; i < devices.size(); ++i)
      if (auto set = self.control_->set_limit_w(i, self.max_w_); !set) return set.error();  // restores
  }

  const std::string& path = self.options_.profile_path;
  std::error_code ignored;
  if (!path.empty() && std::filesystem::exists(path, ignored)) {
    auto profile = read_power_limit_profile(path);
    if (!profile) return profile.error();
    self.measurements_ = profile.value().measurements;
    for (PowerLimitMeasurement& m : self.measurements_) m.power_limit = profile.value().to_w(m.power_limit);
    self.apply_choice(profile.value(), "the profile " + path, false);
    return optimizer;
  }
  self.log(
      self.options_.dry_run
          ? fmt::format("dry run: measuring {} at the current {:g} W ({} warm-up and {} profiled steps)",
                        self.gpu_list(), self.current_limit_w(), self.options_.warmup_steps,
                        self.options_.profile_steps)
          : fmt::format("profiling {} at {} limits from {:g} W down to {:g} W ({} warm-up and {} profiled "
                        "steps each)",
                        self.gpu_list(), self.limits_w_.size(), self.max_w_, self.min_w_,
                        self.options_.warmup_steps, self.options_.profile_steps));
  return optimizer;
}

void PowerLimitOptimizer::on_step_begin() {
  Impl& self = *impl_;
  if (self.stopped_by_signal()) return;
  switch (self.state_) {
    case State::done:
      return;
    case State::ready:
      self.begin_limit(self.limit_index_);
      return;
    case State::warmup:
      if (--self.steps_left_ <= 0) self.begin_window();
      return;
    case State::profiling:
      if (--self.steps_left_ <= 0) self.end_window(false);
      return;
  }
}

void PowerLimitOptimizer::on_epoch_end() {
  Impl& self = *impl_;
  if (self.stopped_by_signal()) return;
  if (self.state_ == State::profiling && self.steps_left_ == 1) {
    self.end_window(true);  // every profiled step has run: the window is whole
    return;
  }
  if (self.state_ != State::warmup && self.state_ != State::profiling) return;
  const double limit_w = self.options_.dry_run ? self.current_limit_w() : self.limits_w_[self.limit_index_];
  self.log(fmt::format("an epoch ended during the {} of {:g} W: it is profiled again from the next step",
                       self.state_ == State::warmup ? "warm-up" : "profile window", limit_w));
  if (self.retry_allowed(
          fmt::format("epochs of fewer than {} steps cut it short; lower warmup_steps or profile_steps",
                      self.options_.warmup_steps + self.options_.profile_steps)))
    self.pause_until_next_step(self.limit_index_);
}

void PowerLimitOptimizer::restore() { impl_->restore(); }

PowerLimitOptimizer::State PowerLimitOptimizer::state() const { return impl_->state_; }
std::optional<double> PowerLimitOptimizer::optimal_power_limit_w() const { return impl_->optimal_w_; }
const std::vector<double>& PowerLimitOptimizer::power_limits_w() const { return impl_->limits_w_; }
const std::vector<PowerLimitMeasurement>& PowerLimitOptimizer::measurements() const {
  return impl_->measurements_;
}
std::vector<std::string> PowerLimitOptimizer::decisions() const { return impl_->decisions_; }

}  // namespace carbonmeter
