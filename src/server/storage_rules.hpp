// Rules both storage back ends share: what a valid run and sample are, the multi-node rule
// (docs/api.md, "Multi-node jobs"), and small helpers. The back ends call these inside their
// database transaction, so that one rule holds whichever database stores the data.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "server/storage.hpp"

namespace carbonmeter::server {

// run_id, scope, node and ranks make sense (a message names the field and what to send).
Status validate_run(const RunRecord& run);
// Every number is finite, energies and emissions are not negative, seq is not negative and no
// seq appears twice in the batch. The message names the first bad sample's seq.
Status validate_samples(const std::vector<SampleRecord>& samples);

// The multi-node rule: `run` (not yet stored) against the stored runs of the same project and
// job. Refuses a second machine-scope run of the job on one node, a process-scope run on a node
// with a machine-scope run of the job (and the reverse), and two runs of the job with one rank.
Status check_multi_node_rule(const RunRecord& run, const std::vector<RunRecord>& same_job_runs);

// `sent` registers a run_id that `stored` holds already. Ok when it is the same run sent again (a
// client's retry: same project, scope, node, rank, job and start); an error that says to choose a
// new run_id otherwise (another run's samples would be dropped as duplicates of this one's).
Status check_retry_of(const RunRecord& stored, const RunRecord& sent);

// daily_totals of a whole project as totals by day (the key "YYYY-MM-DD").
std::vector<Totals> totals_by_day(const std::vector<DayTotals>& days);

// Days since 1970-01-01 (UTC) as "YYYY-MM-DD".
std::string utc_day_string(std::int64_t days_since_epoch);

double now_unix_s();

// The URL with its password replaced by "***", for messages.
std::string redact_url_password(const std::string& url);

// Shortest text that reads back as the same double.
std::string double_to_text(double value);

}  // namespace carbonmeter::server
