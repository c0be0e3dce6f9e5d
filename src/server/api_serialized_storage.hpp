// A Storage for the HTTP server's threads: the writes that check before they write (projects,
// tokens, runs and the multi-node rule, finishing a run) and migrations go through one at a time;
// sample batches and reads go straight to the back end, which guards its own connections.
#pragma once

#include <memory>
#include <mutex>

#include "server/storage.hpp"

namespace carbonmeter::server {

// `inner` must outlive the returned storage.
std::unique_ptr<Storage> make_serialized_storage(Storage& inner);

}  // namespace carbonmeter::server
