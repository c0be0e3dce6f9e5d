// Sends a run's samples to a carbonmeter server while it is measured (run/monitor --server):
// the sampler hands each sample over (cheap, under its lock); a thread of its own sends them in
// batches. What the server does not take (down, 429, 5xx) goes to the spool file and is replayed
// first on the next try; the server stores each (run_id, seq) once, so a replay never counts twice.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "carbon/location.hpp"
#include "core/run_report.hpp"
#include "upload/server_client.hpp"
#include "upload/spool.hpp"

namespace carbonmeter::upload {

struct UploadOptions {
  std::size_t batch_samples = 100;  // a batch is sent when this many are waiting...
  double flush_interval_s = 5.0;    // ...or this long after the last send
  double final_timeout_s = 15.0;    // at the end, how long to keep trying before leaving it spooled
  std::string experiment;           // "" when none
};

struct UploadOutcome {
  std::int64_t samples = 0;  // handed over by the sampler
  bool finished = false;     // the server has the run's end
  bool spool_left = false;   // the spool still holds records: replay with `carbonmeter upload`
  bool refused = false;      // the server refused something for good (a revoked key, a bad value)
  std::int64_t lost = 0;     // samples neither sent nor spooled (the spool could not be written)
  std::string last_error;    // the last failure, for people ("" when none)
};

struct ReplayOutcome {
  std::int64_t sent = 0;  // samples the server took
  bool complete = true;   // every record went through (the spool is removed)
  bool retryable = true;  // when not complete: trying again later may work
  std::string error;
};

// Replays the spool's records in order, each as it is read; the records the server took are removed
// from it (the spool file is deleted when it is empty). Stops at the first failure: the rest stays
// spooled, copied as it is.
ReplayOutcome replay_spool(ServerClient& client, Spool& spool);

class RunUploader {
 public:
  // The spool will be SPOOL_DIR/carbonmeter-RUN_ID.spool.jsonl ("" : the current folder).
  RunUploader(std::unique_ptr<ServerClient> client, std::string spool_dir, ResolvedLocation location,
              UploadOptions options);
  ~RunUploader();  // stops the thread (without the final flush: call finish() for that)
  RunUploader(const RunUploader&) = delete;
  RunUploader& operator=(const RunUploader&) = delete;

  // Registers the run (once the tracker has started and its header is known). The answer tells
  // the caller whether to go on: a 4xx other than 429 means a wrong key, project or run and is
  // worth stopping for; no answer or a 5xx is not (the registration is spooled at once, and the
  // spool is replayed first on every later round).
  ServerAnswer register_run(const RunHeader& header);
  // Called by the sampler after every sample.
  void add(const Sample& sample);
  void start();
  // Stops the thread, sends what is left (trying until final_timeout_s has passed, unless the server
  // refused something for good) and the run's end; what is still not sent stays in the spool.
  // ended_unix_s: the run's start plus its duration (the run report's), never before the start.
  UploadOutcome finish(double ended_unix_s);
  const std::string& spool_path() const { return spool_.path(); }
  std::string server_url() const { return client_->url().text(); }

 private:
  void loop();
  void stop_thread();  // without the final flush
  // One round: the spool (the registration or batches that wait there), then `batch`. Returns false when the
  // server did not take everything (the rest is spooled).
  bool send_round(std::vector<std::pair<std::int64_t, Sample>> batch);
  bool spool_records(const std::vector<nlohmann::json>& records);
  void note_failure(const ServerAnswer& answer);
  void note_failure(bool retryable, const std::string& error);
  // Keeps samples the disk refused for the next round, up to kMaxHeldSamples (the rest are lost).
  void hold_again(std::vector<std::pair<std::int64_t, Sample>>::const_iterator begin,
                  std::vector<std::pair<std::int64_t, Sample>>::const_iterator end);
  static constexpr std::size_t kMaxHeldSamples = 100'000;

  std::unique_ptr<ServerClient> client_;
  std::string spool_dir_;
  Spool spool_{""};
  ResolvedLocation location_;
  UploadOptions options_;
  nlohmann::json registration_;
  std::string run_id_;
  double run_start_unix_s_ = 0.0;

  std::mutex mutex_;  // guards the fields below
  std::condition_variable wake_;
  std::vector<std::pair<std::int64_t, Sample>> pending_;
  std::int64_t next_seq_ = 0;
  bool stopping_ = false;
  std::thread thread_;

  // Touched by one thread at a time (the uploader's, then finish()'s after the join).
  std::string last_error_;
  bool refused_ = false;  // a refusal that will not change on retry: no more network calls
  std::int64_t lost_ = 0;
};

}  // namespace carbonmeter::upload
