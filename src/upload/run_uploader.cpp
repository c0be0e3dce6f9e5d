#include "upload/run_uploader.hpp"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <optional>

#include "upload/run_records.hpp"

namespace carbonmeter::upload {
namespace {

// The API takes at most 1000 samples per request (docs/api.md).
constexpr std::size_t kMaxSamplesPerRequest = 1000;

double monotonic_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::string samples_path(const std::string& run_id) { return "/runs/" + run_id + "/samples"; }

// The [begin, end) ranges of at most kMaxSamplesPerRequest that `count` samples are sent in.
std::vector<std::pair<std::size_t, std::size_t>> request_ranges(std::size_t count) {
  std::vector<std::pair<std::size_t, std::size_t>> ranges;
  for (std::size_t begin = 0; begin < count; begin += kMaxSamplesPerRequest)
    ranges.emplace_back(begin, std::min(count, begin + kMaxSamplesPerRequest));
  return ranges;
}

struct RecordSent {
  std::int64_t samples = 0;
  std::optional<ServerAnswer> failure;
};

// Sends one record of a spool.
RecordSent send_record(ServerClient& client, const nlohmann::json& record) {
  const std::string kind = record["kind"].get<std::string>();
  RecordSent sent;
  if (kind == "run") {
    ServerAnswer answer = client.post("/runs", record["run"]);
    if (!answer.ok()) sent.failure = std::move(answer);
    return sent;
  }
  if (kind == "finish") {
    ServerAnswer answer = client.post("/runs/" + record["run_id"].get<std::string>() + "/finish",
                                      {{"ended_unix_s", record["ended_unix_s"]}});
    if (!answer.ok()) sent.failure = std::move(answer);
    return sent;
  }
  const nlohmann::json& samples = record["samples"];
  const std::string path = samples_path(record["run_id"].get<std::string>());
  for (const auto& [begin, end] : request_ranges(samples.size())) {
    nlohmann::json chunk = nlohmann::json::array();
    for (std::size_t i = begin; i < end; ++i) chunk.push_back(samples[i]);
    ServerAnswer answer = client.post(path, {{"samples", chunk}});
    if (!answer.ok()) {
      sent.failure = std::move(answer);
      return sent;
    }
  }
  sent.samples = static_cast<std::int64_t>(samples.size());
  return sent;
}

}  // namespace

ReplayOutcome replay_spool(ServerClient& client, Spool& spool) {
  ReplayOutcome outcome;
  SpoolReader reader(spool.path());
  // The registrations sent so far: kept ahead of what is left (cheap, and they keep the spool whole
  // on its own). When nothing else went through, the spool stays as it is.
  std::vector<std::string> registrations;
  bool sent_more = false;
  for (;;) {
    auto next = reader.next();
    if (!next) {  // a damaged line: the spool stays as it is, so that the line number is right
      outcome.complete = false;
      outcome.retryable = false;
      outcome.error = next.error().message;
      return outcome;
    }
    if (!next.value()) break;
    SpoolLine& line = *next.value();
    const RecordSent sent = send_record(client, line.record);
    outcome.sent += sent.samples;
    if (sent.failure) {
      outcome.complete = false;
      outcome.retryable = sent.failure->retryable();
      outcome.error = sent.failure->error;
      if (!sent_more) return outcome;
      registrations.push_back(std::move(line.text));
      if (auto kept = spool.rewrite(registrations, reader); !kept)
        outcome.error += "; and " + kept.error().message;
      return outcome;
    }
    if (line.record["kind"] == "run")
      registrations.push_back(std::move(line.text));
    else
      sent_more = true;
  }
  if (auto removed = spool.remove(); !removed) {
    outcome.complete = false;
    outcome.error = removed.error().message;
  }
  return outcome;
}

RunUploader::RunUploader(std::unique_ptr<ServerClient> client, std::string spool_dir,
                         ResolvedLocation location, UploadOptions options)
    : client_(std::move(client)),
      spool_dir_(std::move(spool_dir)),
      location_(std::move(location)),
      options_(std::move(options)) {}

RunUploader::~RunUploader() { stop_thread(); }

void RunUploader::stop_thread() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

ServerAnswer RunUploader::register_run(const RunHeader& header) {
  registration_ = run_registration(header, options_.experiment);
  run_id_ = header.run_id;
  run_start_unix_s_ = header.start_unix_s;
  const std::filesystem::path dir = spool_dir_.empty() ? std::string(".") : spool_dir_;
  std::error_code ignored;  // a folder that cannot be resolved is reported when the spool is written
  spool_ = Spool((std::filesystem::absolute(dir, ignored) / ("carbonmeter-" + run_id_ + ".spool.jsonl"))
                     .lexically_normal()
                     .string());
  ServerAnswer answer = client_->post("/runs", registration_);
  if (!answer.ok()) {
    note_failure(answer);
    // The spool starts with the registration: replaying it registers the run.
    if (answer.retryable() && !spool_records({})) answer.error += "; and " + last_error_;
  }
  return answer;
}

void RunUploader::add(const Sample& sample) {
  bool full = false;
  {
    std::lock_guard lock(mutex_);
    pending_.emplace_back(next_seq_++, sample);
    full = pending_.size() >= options_.batch_samples;
  }
  if (full) wake_.notify_one();
}

void RunUploader::start() {
  thread_ = std::thread([this] { loop(); });
}

void RunUploader::loop() {
  std::unique_lock lock(mutex_);
  const auto interval = std::chrono::duration<double>(options_.flush_interval_s);
  bool failed = false;
  while (!stopping_) {
    if (failed)  // after a failure, wait the whole interval: a dead server is not asked in a loop
      wake_.wait_for(lock, interval, [&] { return stopping_; });
    else
      wake_.wait_for(lock, interval, [&] { return stopping_ || pending_.size() >= options_.batch_samples; });
    if (stopping_) break;
    std::vector<std::pair<std::int64_t, Sample>> batch;
    batch.swap(pending_);
    lock.unlock();
    failed = !send_round(std::move(batch));
    lock.lock();
  }
}

void RunUploader::note_failure(const ServerAnswer& answer) { note_failure(answer.retryable(), answer.error); }

void RunUploader::note_failure(bool retryable, const std::string& error) {
  last_error_ = error;
  if (!retryable) refused_ = true;
}

void RunUploader::hold_again(std::vector<std::pair<std::int64_t, Sample>>::const_iterator begin,
                             std::vector<std::pair<std::int64_t, Sample>>::const_iterator end) {
  std::lock_guard lock(mutex_);
  pending_.insert(pending_.begin(), begin, end);
  if (pending_.size() > kMaxHeldSamples) {
    const std::size_t excess = pending_.size() - kMaxHeldSamples;
    lost_ += static_cast<std::int64_t>(excess);
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(excess));
  }
}

bool RunUploader::spool_records(const std::vector<nlohmann::json>& records) {
  std::vector<nlohmann::json> to_append;
  if (!spool_.exists()) to_append.push_back({{"kind", "run"}, {"run", registration_}});
  to_append.insert(to_append.end(), records.begin(), records.end());
  for (const nlohmann::json& record : to_append)
    if (auto appended = spool_.append(record); !appended) {
      last_error_ = appended.error().message;
      return false;
    }
  return true;
}

bool RunUploader::send_round(std::vector<std::pair<std::int64_t, Sample>> batch) {
  std::vector<nlohmann::json> chunks;  // sample arrays of at most kMaxSamplesPerRequest
  for (const auto& [begin, end] : request_ranges(batch.size())) {
    nlohmann::json chunk = nlohmann::json::array();
    for (std::size_t i = begin; i < end; ++i)
      chunk.push_back(sample_record(batch[i].first, batch[i].second, run_start_unix_s_, location_));
    chunks.push_back(std::move(chunk));
  }
  auto spool_from = [&](std::size_t first_chunk) {
    std::vector<nlohmann::json> records;
    for (std::size_t i = first_chunk; i < chunks.size(); ++i)
      records.push_back({{"kind", "samples"}, {"run_id", run_id_}, {"samples", chunks[i]}});
    if (!spool_records(records)) {  // the disk refuses too: keep them in memory for the next round
      const std::size_t first_sample = first_chunk * kMaxSamplesPerRequest;
      hold_again(batch.begin() + static_cast<std::ptrdiff_t>(first_sample), batch.end());
    }
    return false;
  };
  if (refused_) return spool_from(0);  // kept for `carbonmeter upload` once the cause is fixed
  if (spool_.exists()) {               // the registration or earlier batches wait there: they go first
    const ReplayOutcome replayed = replay_spool(*client_, spool_);
    if (!replayed.complete) {
      note_failure(replayed.retryable, replayed.error);
      return spool_from(0);
    }
  }
  for (std::size_t i = 0; i < chunks.size(); ++i) {
    const ServerAnswer answer = client_->post(samples_path(run_id_), {{"samples", chunks[i]}});
    if (!answer.ok()) {
      note_failure(answer);
      return spool_from(i);
    }
  }
  return true;
}

UploadOutcome RunUploader::finish(double ended_unix_s) {
  stop_thread();
  std::vector<std::pair<std::int64_t, Sample>> batch;
  std::int64_t samples = 0;
  {
    std::lock_guard lock(mutex_);
    batch.swap(pending_);
    samples = next_seq_;
  }
  const double deadline = monotonic_s() + options_.final_timeout_s;
  bool sent_all = send_round(std::move(batch));
  while (!sent_all && !refused_ && monotonic_s() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    std::vector<std::pair<std::int64_t, Sample>> left;
    {
      std::lock_guard lock(mutex_);
      left.swap(pending_);  // only what the disk refused
    }
    sent_all = send_round(std::move(left));
  }
  UploadOutcome outcome;
  const nlohmann::json finish_record = {
      {"kind", "finish"}, {"run_id", run_id_}, {"ended_unix_s", ended_unix_s}};
  if (sent_all) {
    const RecordSent finished = send_record(*client_, finish_record);
    outcome.finished = !finished.failure;
    if (finished.failure) note_failure(*finished.failure);
  }
  if (!outcome.finished) spool_records({finish_record});  // a failure is in last_error_
  {
    std::lock_guard lock(mutex_);
    lost_ += static_cast<std::int64_t>(pending_.size());  // neither sent nor spooled
    pending_.clear();
  }
  outcome.samples = samples;
  outcome.spool_left = spool_.exists();
  outcome.refused = refused_;
  outcome.lost = lost_;
  outcome.last_error = last_error_;
  return outcome;
}

}  // namespace carbonmeter::upload
