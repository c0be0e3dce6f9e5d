// A Storage that lets one call at a time through to another: the HTTP server calls the storage
// from several threads, and a back end's connection is not shared between threads safely.
#pragma once

#include <memory>
#include <mutex>

#include "server/storage.hpp"

namespace carbonmeter::server {

// `inner` must outlive the returned storage.
std::unique_ptr<Storage> make_serialized_storage(Storage& inner);

}  // namespace carbonmeter::server
