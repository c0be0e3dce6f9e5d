// The PowerLimitOptimizer against the fake NVML's power-limit model: the GPU draws min(limit,
// 280 W), and the training step here takes longer at lower limits (time_factor), so the energy and
// time of each limit, and the optimum for each objective, are known.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <thread>

#include "carbonmeter/power_limit.hpp"
#include "optimize/limit_restorer.hpp"
#include "optimize/power_limit_choice.hpp"
#include "optimize/power_limit_profile.hpp"
#include "support/fake_gpu.hpp"

namespace carbonmeter {
namespace {

using testing::FakeGpus;
using Kind = PowerLimitObjective::Kind;

constexpr unsigned kDemandMw = 280000;
constexpr double kBaseStepS = 0.025;
constexpr int kProfileSteps = 10;

// Per step, relative to 300 W; energy (P x t per base step): 280, 250, 200, 180, 300. The optima
// are at least 8 % ahead of the next best, well above what timing noise does to 0.2 s windows:
// eta 0.5 (0.5 E + 150 t): 290, 275, 250, 270, 600 -> 200 W.
// energy -> 150 W. max slowdown 1.1: 300, 250, 200 qualify -> 200 W; 1.3: 150 too -> 150 W.
double time_factor(unsigned limit_mw) {
  if (limit_mw >= 200000) return 1.0;
  if (limit_mw >= 150000) return 1.2;
  return 3.0;
}

struct ModelGpus {
  explicit ModelGpus(int count = 1, bool permission = true, unsigned start_limit_mw = 270000)
      : fake(FAKE_NVML_PATH) {
    for (int i = 0; i < count; ++i) {
      testing::FakeGpuDevice gpu;
      gpu.index = static_cast<unsigned>(i);
      gpu.min_limit_mw = 100000;
      gpu.max_limit_mw = 300000;
      gpu.default_limit_mw = 300000;
      gpu.limit_mw = start_limit_mw;
      gpu.limit_permission = permission;
      gpu.demand_mw = kDemandMw;
      fake.devices.push_back(gpu);
    }
    fake.write();
  }
  bool limits_were_set() const { return std::filesystem::exists(fake.state_path() + ".limits"); }
  FakeGpus fake;
};

PowerLimitOptimizerOptions fast_options() {
  PowerLimitOptimizerOptions options;
  options.step_w = 50;
  options.warmup_steps = 2;
  options.profile_steps = kProfileSteps;
  options.log = [](const std::string&) {};
  return options;
}

PowerLimitOptimizerOptions logging_options(std::vector<std::string>& log) {
  auto options = fast_options();
  options.log = [&log](const std::string& line) { log.push_back(line); };
  return options;
}

// Runs training steps until the optimizer is done (or max_steps); an epoch ends every
// epoch_steps steps when that is above 0.
void train(PowerLimitOptimizer& optimizer, const ModelGpus& gpus, int max_steps = 200, int epoch_steps = 0) {
  for (int step = 0; step < max_steps && optimizer.state() != PowerLimitOptimizer::State::done; ++step) {
    optimizer.on_step_begin();
    std::this_thread::sleep_for(
        std::chrono::duration<double>(kBaseStepS * time_factor(gpus.fake.power_limit_mw(0))));
    optimizer.on_step_end();
    if (epoch_steps > 0 && (step + 1) % epoch_steps == 0) optimizer.on_epoch_end();
  }
}

std::unique_ptr<PowerLimitOptimizer> make(PowerLimitObjective objective,
                                          PowerLimitOptimizerOptions options = fast_options(),
                                          std::vector<unsigned> gpus = {}) {
  auto optimizer = PowerLimitOptimizer::create(std::move(gpus), objective, std::move(options));
  EXPECT_TRUE(optimizer) << (optimizer ? "" : optimizer.error().message);
  return optimizer ? std::move(optimizer).value() : nullptr;
}

TEST(PowerLimitOptimizer, ProfilesFromTheMaximumDownAndAppliesTheKnownOptimum) {
  ModelGpus gpus;
  auto optimizer = make({Kind::eta, 0.5});
  ASSERT_TRUE(optimizer);
  EXPECT_EQ(optimizer->power_limits_w(), (std::vector<double>{300, 250, 200, 150, 100}));
  EXPECT_EQ(gpus.fake.power_limit_mw(0), 300000u);  // the maximum before the first step
  train(*optimizer, gpus);
  ASSERT_EQ(optimizer->state(), PowerLimitOptimizer::State::done);
  ASSERT_EQ(optimizer->measurements().size(), 5u);
  // The model's power and time, measured: energy per window = min(limit, 280 W) x time.
  for (const PowerLimitMeasurement& m : optimizer->measurements()) {
    const double expected_time_s =
        kProfileSteps * kBaseStepS * time_factor(static_cast<unsigned>(m.power_limit * 1000));
    EXPECT_NEAR(m.time_s, expected_time_s, 0.25 * expected_time_s) << m.power_limit;
    EXPECT_NEAR(m.energy_j / m.time_s, std::min(m.power_limit, 280.0), 0.05 * 280) << m.power_limit;
  }
  ASSERT_TRUE(optimizer->optimal_power_limit_w());
  EXPECT_EQ(*optimizer->optimal_power_limit_w(), 200);
  EXPECT_EQ(gpus.fake.power_limit_mw(0), 200000u);  // applied
  optimizer.reset();
  EXPECT_EQ(gpus.fake.power_limit_mw(0), 270000u);  // the original limit is back
}

TEST(PowerLimitOptimizer, MaxSlowdownFindsItsOptimumOnTwoGpus) {
  ModelGpus gpus(2);
  auto optimizer = make({Kind::max_slowdown, 1.3});
  ASSERT_TRUE(optimizer);
  train(*optimizer, gpus);
  ASSERT_TRUE(optimizer->optimal_power_limit_w());
  EXPECT_EQ(*optimizer->optimal_power_limit_w(), 150);
  EXPECT_EQ(gpus.fake.power_limit_mw(0), 150000u);
  EXPECT_EQ(gpus.fake.power_limit_mw(1), 150000u);
  // Both GPUs' energy: twice one GPU's power.
  for (const PowerLimitMeasurement& m : optimizer->measurements())
    EXPECT_NEAR(m.energy_j / m.time_s, 2 * std::min(m.power_limit, 280.0), 0.1 * 280) << m.power_limit;
  optimizer->restore();
  EXPECT_EQ(gpus.fake.power_limit_mw(0), 270000u);
  EXPECT_EQ(gpus.fake.power_limit_mw(1), 270000u);
}

TEST(PowerLimitOptimizer, ASavedProfileIsReusedWithoutProfilingForEachObjective) {
  ModelGpus gpus;
  const std::string profile = gpus.fake.state_path() + ".profile.json";
  {
    auto options = fast_options();
    options.profile_path = profile;
    auto optimizer = make({Kind::eta, 0.5}, options);
    ASSERT_TRUE(optimizer);
    train(*optimizer, gpus);
    ASSERT_EQ(optimizer->state(), PowerLimitOptimizer::State::done);
  }
  auto saved = read_power_limit_profile(profile);
  ASSERT_TRUE(saved) << saved.error().message;
  EXPECT_EQ(saved.value().measurements.size(), 5u);
  EXPECT_FALSE(saved.value().milliwatts);
  struct Case {
    PowerLimitObjective objective;
    double optimum_w;
  };
  for (const Case& c : {Case{{Kind::eta, 0.5}, 200}, Case{{Kind::max_slowdown, 1.1}, 200},
                        Case{{Kind::max_slowdown, 1.3}, 150}, Case{{Kind::energy, 0}, 150}}) {
    auto options = fast_options();
    options.profile_path = profile;
    auto optimizer = make(c.objective, options);
    ASSERT_TRUE(optimizer);
    // Done at once: no step is profiled.
    EXPECT_EQ(optimizer->state(), PowerLimitOptimizer::State::done) << c.objective.describe();
    ASSERT_TRUE(optimizer->optimal_power_limit_w()) << c.objective.describe();
    EXPECT_EQ(*optimizer->optimal_power_limit_w(), c.optimum_w) << c.objective.describe();
    EXPECT_EQ(gpus.fake.power_limit_mw(0), static_cast<unsigned>(c.optimum_w * 1000))
        << c.objective.describe();
  }
  EXPECT_EQ(gpus.fake.power_limit_mw(0), 270000u);
}

TEST(PowerLimitOptimizer, AnEpochEndInsideAWindowProfilesThatLimitAgain) {
  ModelGpus gpus;
  std::vector<std::string> log;
  auto optimizer = make({Kind::eta, 0.5}, logging_options(log));
  ASSERT_TRUE(optimizer);
  // Epochs of 15 steps: a limit needs 13 step starts (it begins at one, warms up for 2, its window
  // closes at the 13th), so the second limit of every epoch is cut short.
  train(*optimizer, gpus, 400, 15);
  ASSERT_EQ(optimizer->state(), PowerLimitOptimizer::State::done);
  EXPECT_EQ(optimizer->measurements().size(), 5u);  // each limit once, after its interrupted tries
  int interrupted = 0;
  for (const std::string& line : log) interrupted += line.find("profiled again") != std::string::npos;
  EXPECT_GE(interrupted, 1);
  for (const PowerLimitMeasurement& m : optimizer->measurements()) {
    const double expected_time_s =
        kProfileSteps * kBaseStepS * time_factor(static_cast<unsigned>(m.power_limit * 1000));
    EXPECT_NEAR(m.time_s, expected_time_s, 0.25 * expected_time_s) << m.power_limit;  // whole windows only
  }
  EXPECT_TRUE(optimizer->optimal_power_limit_w());
}

TEST(PowerLimitOptimizer, EpochsOfExactlyWarmupPlusProfiledStepsProfileOneLimitEach) {
  ModelGpus gpus;
  std::vector<std::string> log;
  auto optimizer = make({Kind::eta, 0.5}, logging_options(log));
  ASSERT_TRUE(optimizer);
  train(*optimizer, gpus, 100, 2 + kProfileSteps);  // each window closes at its epoch's end
  ASSERT_EQ(optimizer->state(), PowerLimitOptimizer::State::done);
  EXPECT_EQ(optimizer->measurements().size(), 5u);
  for (const std::string& line : log) EXPECT_EQ(line.find("profiled again"), std::string::npos) << line;
}

TEST(PowerLimitOptimizer, EpochsTooShortToProfileStopTuningAndRestore) {
  ModelGpus gpus;
  auto optimizer = make({Kind::eta, 0.5});
  ASSERT_TRUE(optimizer);
  train(*optimizer, gpus, 100, 5);  // 5 steps: never a whole warm-up and window
  EXPECT_EQ(optimizer->state(), PowerLimitOptimizer::State::done);
  EXPECT_FALSE(optimizer->optimal_power_limit_w());
  EXPECT_EQ(gpus.fake.power_limit_mw(0), 270000u);
  ASSERT_FALSE(optimizer->decisions().empty());
  EXPECT_NE(optimizer->decisions().back().find("lower warmup_steps or profile_steps"), std::string::npos)
      << optimizer->decisions().back();
}

TEST(PowerLimitOptimizer, WithoutThePrivilegeTheErrorNamesTheCapabilityAndNothingChanges) {
  ModelGpus gpus(1, /*permission=*/false);
  auto optimizer = PowerLimitOptimizer::create({}, {Kind::eta, 0.5}, fast_options());
  ASSERT_FALSE(optimizer);
  EXPECT_NE(optimizer.error().message.find("CAP_SYS_ADMIN"), std::string::npos) << optimizer.error().message;
  EXPECT_NE(optimizer.error().message.find("--dry-run"), std::string::npos);
  EXPECT_EQ(gpus.fake.power_limit_mw(0), 270000u);
}

TEST(PowerLimitOptimizer, DryRunMeasuresAtTheCurrentLimitAndNeverTouchesTheGpu) {
  ModelGpus gpus(1, /*permission=*/false, /*start_limit_mw=*/300000);
  std::vector<std::string> log;
  auto options = fast_options();
  options.dry_run = true;
  options.log = [&](const std::string& line) { log.push_back(line); };
  auto optimizer = make({Kind::eta, 0.5}, options);
  ASSERT_TRUE(optimizer);
  train(*optimizer, gpus);
  ASSERT_EQ(optimizer->state(), PowerLimitOptimizer::State::done);
  ASSERT_EQ(optimizer->measurements().size(), 1u);
  EXPECT_EQ(optimizer->measurements()[0].power_limit, 300);
  EXPECT_NEAR(optimizer->measurements()[0].energy_j / optimizer->measurements()[0].time_s, 280, 14);
  ASSERT_TRUE(optimizer->optimal_power_limit_w());
  EXPECT_LT(*optimizer->optimal_power_limit_w(), 300);  // the model trades some speed for energy
  ASSERT_FALSE(optimizer->decisions().empty());
  EXPECT_NE(optimizer->decisions().back().find("dry run: would set GPU 0 from 300 W to"), std::string::npos)
      << optimizer->decisions().back();
  EXPECT_NE(optimizer->decisions().back().find("estimate"), std::string::npos);
  optimizer.reset();
  EXPECT_FALSE(gpus.limits_were_set());
}

TEST(PowerLimitOptimizer, DryRunWithAProfileSaysWhatItWouldSet) {
  ModelGpus gpus(1, /*permission=*/false);
  const std::string profile = gpus.fake.state_path() + ".zeus.json";
  ASSERT_TRUE(write_power_limit_profile(profile, {{300, 300, 10}, {250, 260, 10.5}, {200, 220, 12}}));
  auto options = fast_options();
  options.dry_run = true;
  options.profile_path = profile;
  auto optimizer = make({Kind::max_slowdown, 1.1}, options);
  ASSERT_TRUE(optimizer);
  EXPECT_EQ(optimizer->state(), PowerLimitOptimizer::State::done);
  EXPECT_EQ(*optimizer->optimal_power_limit_w(), 250);
  EXPECT_NE(optimizer->decisions().back().find("would set GPU 0 from 270 W to 250 W"), std::string::npos)
      << optimizer->decisions().back();
  optimizer.reset();
  EXPECT_FALSE(gpus.limits_were_set());
}

TEST(PowerLimitOptimizer, AProfileChoiceTheGpuCannotTakeKeepsTheOriginalLimit) {
  ModelGpus gpus;
  const std::string profile = gpus.fake.state_path() + ".other_gpu.json";
  ASSERT_TRUE(write_power_limit_profile(profile, {{400, 300, 10}, {350, 250, 10.1}}));  // from a bigger GPU
  auto options = fast_options();
  options.profile_path = profile;
  auto optimizer = make({Kind::eta, 0.5}, options);
  ASSERT_TRUE(optimizer);
  EXPECT_EQ(optimizer->state(), PowerLimitOptimizer::State::done);
  EXPECT_FALSE(optimizer->optimal_power_limit_w());
  EXPECT_NE(optimizer->decisions().back().find("outside the limits"), std::string::npos);
  EXPECT_EQ(gpus.fake.power_limit_mw(0), 270000u);  // not left at the maximum set on creation
}

// In a child process: the optimizer changes the limit, then the signal arrives.
void expect_restored_on(int signal_number) {
  ModelGpus gpus;
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto optimizer = PowerLimitOptimizer::create({}, {Kind::eta, 0.5}, fast_options());
    if (!optimizer) ::_exit(3);
    for (int step = 0; step < 14; ++step) optimizer.value()->on_step_begin();  // now at 250 W
    if (gpus.fake.power_limit_mw(0) == 270000u) ::_exit(4);
    ::raise(signal_number);
    ::_exit(5);  // not reached: the default action ends the process
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status)) << "exit " << WEXITSTATUS(status);
  EXPECT_EQ(WTERMSIG(status), signal_number);
  EXPECT_EQ(gpus.fake.power_limit_mw(0), 270000u);
}

TEST(PowerLimitOptimizer, TheOriginalLimitIsBackAfterSigterm) { expect_restored_on(SIGTERM); }
TEST(PowerLimitOptimizer, TheOriginalLimitIsBackAfterSigint) { expect_restored_on(SIGINT); }

// The restorer thread does not survive fork(): a child that tunes its own GPUs starts another,
// and a child that tunes none (a data loader worker) ends on the signal without waiting for one.
TEST(PowerLimitOptimizer, AForkedChildRestoresItsOwnChangesAndAnIdleChildEndsAtOnce) {
#if defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "ThreadSanitizer does not support a child of a threaded process that starts threads "
                  "or takes signals; the plain and ASan builds run this test";
#endif
  LimitsToRestore parents;  // nothing to restore, but the parent's restorer thread now runs
  ASSERT_TRUE(watch_for_signals(&parents));
  expect_restored_on(SIGTERM);
  const pid_t idle = ::fork();
  ASSERT_GE(idle, 0);
  if (idle == 0) {
    ::raise(SIGTERM);
    ::_exit(5);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(idle, &status, 0), idle);
  ASSERT_TRUE(WIFSIGNALED(status)) << "exit " << WEXITSTATUS(status);
  EXPECT_EQ(WTERMSIG(status), SIGTERM);
  unwatch_for_signals(&parents);
}

TEST(PowerLimitOptimizer, AnExceptionUnwindingTheTrainingLoopRestoresTheLimit) {
  ModelGpus gpus;
  try {
    auto optimizer = make({Kind::eta, 0.5});
    for (int step = 0; step < 14; ++step) optimizer->on_step_begin();
    EXPECT_NE(gpus.fake.power_limit_mw(0), 270000u);
    throw std::runtime_error("training failed");
  } catch (const std::runtime_error&) {
  }
  EXPECT_EQ(gpus.fake.power_limit_mw(0), 270000u);
}

TEST(PowerLimitOptimizer, BadOptionsAndMissingNvmlAreErrors) {
  {
    ModelGpus gpus;
    auto options = fast_options();
    options.profile_steps = 0;
    EXPECT_FALSE(PowerLimitOptimizer::create({}, {Kind::eta, 0.5}, options));
    EXPECT_FALSE(PowerLimitOptimizer::create({}, {Kind::eta, 1.5}, fast_options()));
    EXPECT_FALSE(PowerLimitOptimizer::create({7}, {Kind::eta, 0.5}, fast_options()));  // no GPU 7
    options = fast_options();
    options.profile_path = gpus.fake.state_path();  // not a profile
    EXPECT_FALSE(PowerLimitOptimizer::create({}, {Kind::eta, 0.5}, options));
    EXPECT_EQ(gpus.fake.power_limit_mw(0), 270000u);
  }
  ::setenv("CARBONMETER_NVML_LIBRARY", "/nonexistent/libnvidia-ml.so.1", 1);
  auto optimizer = PowerLimitOptimizer::create({}, {Kind::eta, 0.5}, fast_options());
  ::unsetenv("CARBONMETER_NVML_LIBRARY");
  ASSERT_FALSE(optimizer);
  EXPECT_NE(optimizer.error().message.find("NVIDIA driver"), std::string::npos);
}

}  // namespace
}  // namespace carbonmeter
