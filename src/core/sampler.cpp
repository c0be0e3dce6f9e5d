#include "core/sampler.hpp"

#include <algorithm>

namespace carbonmeter {
namespace {

CpuTime cpu_delta(const CpuTime& before, const CpuTime& after) {
  return {std::max(0.0, after.busy_s - before.busy_s), std::max(0.0, after.idle_s - before.idle_s)};
}

MachineCpuTime cpu_time_delta(const MachineCpuTime& before, const MachineCpuTime& after) {
  MachineCpuTime delta;
  static_cast<CpuTime&>(delta) = cpu_delta(before, after);
  if (before.per_cpu.size() == after.per_cpu.size())  // CPUs hot-plugged: no per-CPU view this time
    for (std::size_t i = 0; i < after.per_cpu.size(); ++i)
      delta.per_cpu.push_back(cpu_delta(before.per_cpu[i], after.per_cpu[i]));
  return delta;
}

}  // namespace

Sampler::Sampler(SensorSet sensors, std::unique_ptr<UsageSource> usage, double interval_s,
                 SampleCallback on_sample)
    : sensors_(std::move(sensors)),
      interval_s_(interval_s),
      on_sample_(std::move(on_sample)),
      tree_(std::move(usage)) {
  // Attribution needs the machine's CPU time and memory in use; sensors say what they need.
  needs_.cpu_time = needs_.memory = tree_ != nullptr;
  for (const ActiveSensor& active : sensors_.sensors) {
    const ContextNeeds sensor_needs = active.sensor->needs();
    needs_.cpu_time = needs_.cpu_time || sensor_needs.cpu_time || sensor_needs.per_cpu_time;
    needs_.per_cpu_time = needs_.per_cpu_time || sensor_needs.per_cpu_time;
    needs_.memory = needs_.memory || sensor_needs.memory;
    needs_.tree_pids = needs_.tree_pids || sensor_needs.tree_pids;
    readings_.emplace_back(active.sensor->channels().size());
    held_.emplace_back(active.sensor->channels().size());
    sensors_need_cpu_time_ = sensors_need_cpu_time_ || sensor_needs.cpu_time || sensor_needs.per_cpu_time;
    for (const Channel& channel : active.sensor->channels())
      if (active.counted[channel.component])
        devices_.push_back({active.sensor->method(), channel.component, channel.device, channel.domain, 0.0,
                            channel.model, channel.uuid, 0.0});
  }
}

Sampler::~Sampler() { stop(); }

void Sampler::note_once(bool& said, const std::string& note) {
  if (said) return;
  said = true;
  keep_note(note);
}

void Sampler::keep_note(std::string note) {
  if (std::find(notes_.begin(), notes_.end(), note) != notes_.end()) return;
  if (notes_.size() >= kMaxNotes) {
    ++notes_left_out_;
    return;
  }
  if (on_note_) on_note_(note);
  notes_.push_back(std::move(note));
}

void Sampler::read_machine(SampleContext& context, bool refresh_memory) {
  if (needs_.cpu_time) {
    auto cpu = machine_.cpu_time(needs_.per_cpu_time);
    if (cpu) {
      context.cpu_time_delta = cpu_time_delta(last_cpu_time_, cpu.value());
      last_cpu_time_ = std::move(cpu).value();
    } else {
      note_once(cpu_time_failed_,
                cpu.error().message +
                    ": CPU utilisation unknown from then on (CPU estimate at idle, process share 0)");
    }
  }
  if (needs_.memory && refresh_memory) {
    auto memory = machine_.memory();
    if (memory)
      memory_ = memory.value();
    else
      note_once(memory_failed_, memory.error().message + ": memory in use unknown from then on");
  }
  context.memory = memory_;
}

Status Sampler::start() {
  std::lock_guard lock(mutex_);
  if (started_) return Ok{};
  start_time_ = last_time_ = last_read_time_ = std::chrono::steady_clock::now();
  // The baseline: counters, CPU times and the process tree as they are now.
  SampleContext context;
  read_machine(context, true);
  if (tree_) {
    tree_->set_wants_pids(needs_.tree_pids);
    if (auto started = tree_->start(); !started) return started.error();
    tree_usage_ = tree_->sample(0.0);
    tree_pids_ = tree_->pids();
    last_tree_cpu_s_ = tree_usage_.cpu_s;
  }
  context = SampleContext{};
  if (tree_ && needs_.tree_pids) context.tree_pids = &tree_pids_;
  for (std::size_t i = 0; i < sensors_.sensors.size(); ++i)
    sensors_.sensors[i].sensor->read(context, readings_[i]);
  started_ = true;
  stopping_ = false;
  thread_ = std::thread([this] { run_thread(); });
  return Ok{};
}

void Sampler::stop() {
  {
    std::lock_guard lock(mutex_);
    if (!started_ || stopping_) return;
    stopping_ = true;
    for (ActiveSensor& active : sensors_.sensors) active.sensor->flush();
    sample_locked(true);
    for (ActiveSensor& active : sensors_.sensors) active.sensor->stop();
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Sampler::run_thread() {
  std::unique_lock lock(mutex_);
  auto next = start_time_;
  const auto period = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(interval_s_));
  while (!stopping_) {
    next += period;
    if (wake_.wait_until(lock, next, [this] { return stopping_; })) break;
    sample_locked(false);
    if (after_sample_) {
      lock.unlock();
      after_sample_();
      lock.lock();
    }
    // After a stall (suspend, a stopped process) restart the schedule instead of catching up.
    if (std::chrono::steady_clock::now() > next + period) next = std::chrono::steady_clock::now();
  }
}

Totals Sampler::sample_now(bool refresh_all) {
  std::lock_guard lock(mutex_);
  if (started_ && !stopping_) sample_locked(refresh_all);
  return totals_;
}

void Sampler::sample_locked(bool refresh_all) {
  const auto now = std::chrono::steady_clock::now();
  const double elapsed_s = std::chrono::duration<double>(now - last_time_).count();
  last_time_ = now;

  Sample sample;
  sample.t_s = std::chrono::duration<double>(now - start_time_).count();
  sample.dt_s = elapsed_s;
  // The process tree (one procfs read per process) and memory change slowly: they are read at most
  // every kSlowRefreshS, so that short intervals stay cheap whatever the size of the tree.
  // (Half an interval of slack, so that timer jitter does not skip a refresh at 0.1 s intervals.)
  const bool refresh_slow = refresh_all || sample.t_s - last_slow_refresh_t_s_ >=
                                               kSlowRefreshS - 0.5 * std::min(interval_s_, kSlowRefreshS);
  if (refresh_slow) last_slow_refresh_t_s_ = sample.t_s;

  SampleContext context;
  context.elapsed_s = std::chrono::duration<double>(now - last_read_time_).count();
  last_read_time_ = now;
  read_machine(context, refresh_slow);
  if (tree_ && needs_.tree_pids) context.tree_pids = &tree_pids_;

  // Energy of channels without a share of their own waits in a pool until the next tree refresh,
  // then gets the tree's share of the CPU time and memory over the whole pooled period: shares
  // taken over 0.1 s or more are not swamped by the 10 ms tick of CPU accounting.
  EnergyJ shareless_j;
  read_sensors_into_held(context);
  std::size_t device_index = 0;
  for (std::size_t i = 0; i < sensors_.sensors.size(); ++i) {
    ActiveSensor& active = sensors_.sensors[i];
    const auto& channels = active.sensor->channels();
    for (std::size_t ch = 0; ch < channels.size(); ++ch) {
      const Component component = channels[ch].component;
      if (!active.counted[component]) continue;
      HeldEnergy& held = held_[i][ch];
      sample.machine_energy_j[component] += held.energy_j;
      DeviceEnergy& device = devices_[device_index++];
      device.energy_j += held.energy_j;
      if (!tree_) {
        sample.energy_j[component] += held.energy_j;
        device.attributed_j += held.energy_j;
      } else {
        const double unshared_j = held.energy_j - held.shared_energy_j;
        sample.energy_j[component] += held.attributed_j;
        if (held.has_share && unshared_j <= 0) {
          device.attributed_j += held.attributed_j;
        } else {
          shareless_j[component] += unshared_j;
          device.attributed_j = -1.0;  // the component's share applies (docs/report.md)
        }
      }
      held = HeldEnergy{};
    }
    for (std::string& note : active.sensor->take_notes()) keep_note(std::move(note));
  }

  if (tree_) {
    pending_machine_j_ += shareless_j;
    pending_busy_s_ += context.cpu_time_delta.busy_s;
    if (refresh_slow) {
      tree_usage_ = tree_->sample(sample.t_s, stopping_);
      tree_pids_ = tree_->pids();
      for (std::string& note : tree_->take_notes()) keep_note(std::move(note));
      // CPU time arrives in lumps (a child found late, a reaped child's rusage): what exceeds the
      // machine's busy time in this period waits for the next ones instead of being lost.
      tree_cpu_backlog_s_ += std::max(0.0, tree_usage_.cpu_s - last_tree_cpu_s_);
      last_tree_cpu_s_ = tree_usage_.cpu_s;
      // The tree's share of the CPU time spent on the machine: idle power is shared among the work
      // that ran, in proportion to CPU time (docs/methodology.md).
      const double attributed_s = std::min(tree_cpu_backlog_s_, pending_busy_s_);
      tree_cpu_backlog_s_ -= attributed_s;
      cpu_share_ = pending_busy_s_ > 0 ? attributed_s / pending_busy_s_ : 0.0;
      const double used = static_cast<double>(context.memory.used_bytes());
      ram_share_ = used > 0 ? std::min(1.0, static_cast<double>(tree_usage_.rss_bytes) / used) : 0.0;
      const double share[kComponentCount] = {cpu_share_, ram_share_, 1.0};
      for (std::size_t c = 0; c < kComponentCount; ++c)
        sample.energy_j.values[c] += pending_machine_j_.values[c] * share[c];
      run_shared_cpu_j_ += pending_machine_j_[Component::cpu];
      run_busy_s_ += pending_busy_s_;
      run_attributed_cpu_j_ += pending_machine_j_[Component::cpu] * cpu_share_;
      run_attributed_s_ += attributed_s;
      pending_machine_j_ = EnergyJ{};
      pending_busy_s_ = 0.0;
      if (stopping_) charge_cpu_time_left_over(sample);
    }
    sample.cpu_share = cpu_share_;
    sample.ram_share = ram_share_;
  }

  totals_.elapsed_s = sample.t_s;
  totals_.energy_j += sample.energy_j;
  totals_.machine_energy_j += sample.machine_energy_j;
  series_.add(sample);
  ++sample_count_;
  if (on_sample_) on_sample_(sample);
}

void Sampler::read_sensors_into_held(const SampleContext& context) {
  for (std::size_t i = 0; i < sensors_.sensors.size(); ++i) {
    ActiveSensor& active = sensors_.sensors[i];
    active.sensor->read(context, readings_[i]);
    const auto& channels = active.sensor->channels();
    for (std::size_t ch = 0; ch < channels.size(); ++ch) {
      if (!active.counted[channels[ch].component]) continue;
      const ChannelReading& reading = readings_[i][ch];
      HeldEnergy& held = held_[i][ch];
      held.energy_j += reading.energy_j;
      if (reading.process_share) {
        held.has_share = true;
        held.shared_energy_j += reading.energy_j;
        held.attributed_j += reading.energy_j * std::clamp(*reading.process_share, 0.0, 1.0);
      }
    }
  }
}

// CPU time of the tree that met no busy time of its own by the last sample (the rusage of a
// command reaped after the last /proc/stat tick; a short command on an idle machine, whose ticks
// may show no busy time at all) would otherwise be lost. It gets its share of the run's shared CPU
// energy, the machine's busy time being at least the tree's (ticks can miss it), within what the
// tree has not been given yet.
void Sampler::charge_cpu_time_left_over(Sample& sample) {
  if (tree_cpu_backlog_s_ <= 0.0) return;
  const double busy_s = std::max(run_busy_s_, run_attributed_s_ + tree_cpu_backlog_s_);
  const double headroom_j = std::max(0.0, run_shared_cpu_j_ - run_attributed_cpu_j_);
  const double left_over_j = std::min(headroom_j, run_shared_cpu_j_ * tree_cpu_backlog_s_ / busy_s);
  sample.energy_j[Component::cpu] += left_over_j;
  run_attributed_cpu_j_ += left_over_j;
  tree_cpu_backlog_s_ = 0.0;
}

Totals Sampler::boundary_totals() {
  std::lock_guard lock(mutex_);
  if (!started_ || stopping_) return totals_;
  const auto now = std::chrono::steady_clock::now();
  SampleContext context;
  context.elapsed_s = std::chrono::duration<double>(now - last_read_time_).count();
  last_read_time_ = now;
  if (sensors_need_cpu_time_) {  // an estimate: its utilisation up to now
    if (auto cpu = machine_.cpu_time(needs_.per_cpu_time)) {
      context.cpu_time_delta = cpu_time_delta(last_cpu_time_, cpu.value());
      last_cpu_time_ = std::move(cpu).value();
      if (tree_) pending_busy_s_ += context.cpu_time_delta.busy_s;
    }
  }
  context.memory = memory_;
  if (tree_ && needs_.tree_pids) context.tree_pids = &tree_pids_;
  read_sensors_into_held(context);
  EnergyJ machine_j, attributed_j, shareless_j;
  for (std::size_t i = 0; i < sensors_.sensors.size(); ++i) {
    const ActiveSensor& active = sensors_.sensors[i];
    const auto& channels = active.sensor->channels();
    for (std::size_t ch = 0; ch < channels.size(); ++ch) {
      const Component component = channels[ch].component;
      if (!active.counted[component]) continue;
      const HeldEnergy& held = held_[i][ch];
      machine_j[component] += held.energy_j;
      attributed_j[component] += held.attributed_j;
      shareless_j[component] += held.energy_j - held.shared_energy_j;
    }
  }
  Totals out = totals_;
  out.elapsed_s = std::chrono::duration<double>(now - start_time_).count();
  out.machine_energy_j += machine_j;
  if (!tree_) {
    out.energy_j += machine_j;
  } else {
    const double share[kComponentCount] = {cpu_share_, ram_share_, 1.0};
    for (std::size_t c = 0; c < kComponentCount; ++c)
      out.energy_j.values[c] +=
          attributed_j.values[c] + (pending_machine_j_.values[c] + shareless_j.values[c]) * share[c];
  }
  return out;
}

Totals Sampler::totals() const {
  std::lock_guard lock(mutex_);
  return totals_;
}

std::vector<Sample> Sampler::series() const {
  std::lock_guard lock(mutex_);
  return series_.points();
}

std::size_t Sampler::samples_per_point() const {
  std::lock_guard lock(mutex_);
  return series_.samples_per_point();
}

std::size_t Sampler::sample_count() const {
  std::lock_guard lock(mutex_);
  return sample_count_;
}

std::vector<DeviceEnergy> Sampler::devices() const {
  std::lock_guard lock(mutex_);
  std::vector<DeviceEnergy> out = devices_;
  std::size_t index = 0;
  for (const ActiveSensor& active : sensors_.sensors) {
    const auto& channels = active.sensor->channels();
    for (std::size_t ch = 0; ch < channels.size(); ++ch)
      if (active.counted[channels[ch].component]) out[index++].method = active.sensor->channel_method(ch);
  }
  return out;
}

PerComponent<MethodInfo> Sampler::methods() const {
  std::lock_guard lock(mutex_);
  PerComponent<MethodInfo> out = sensors_.methods;
  for (const ActiveSensor& active : sensors_.sensors)
    for (Component c : kComponents)
      if (active.counted[c])  // a GPU's method can change during a run (a counter found implausible)
        out[c] = {active.sensor->method(), active.sensor->kind(), active.sensor->relative_uncertainty(c)};
  return out;
}

std::vector<std::string> Sampler::notes() const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> out = notes_;
  if (notes_left_out_ > 0)
    out.push_back(std::to_string(notes_left_out_) + " further notes of sensors were left out (at most " +
                  std::to_string(kMaxNotes) + " are kept)");
  return out;
}

void Sampler::add_reaped(pid_t pid, double cpu_s) {
  std::lock_guard lock(mutex_);
  if (tree_) tree_->add_reaped(pid, cpu_s);
}

std::string Sampler::tree_source() const {
  std::lock_guard lock(mutex_);
  return tree_ ? tree_->source() : "";
}

int Sampler::processes_alive() const {
  std::lock_guard lock(mutex_);
  return tree_usage_.processes;
}

}  // namespace carbonmeter
