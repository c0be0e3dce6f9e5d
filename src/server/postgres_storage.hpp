// PostgreSQL back end helpers beyond the Storage interface (open_postgres_storage is declared in
// storage.hpp).
#pragma once

#include <string>

#include "carbonmeter/result.hpp"

namespace carbonmeter::server {

// Drops the schema `schema` (and everything in it) when it exists, then creates it empty unless
// `drop_only`. For tests and tools that want a fresh schema; point a Storage at it with
// postgres_url_with_schema. `schema` is lower-case letters, digits and '_' only.
Status postgres_reset_schema(const std::string& url, const std::string& schema, bool drop_only = false);

// The URL with `options=-csearch_path=SCHEMA` added, so that a connection works in that schema.
std::string postgres_url_with_schema(const std::string& url, const std::string& schema);

}  // namespace carbonmeter::server
