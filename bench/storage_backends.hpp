// Runs a server benchmark on each storage back end: a fresh SQLite file in the temp folder, then,
// when CARBONMETER_TEST_POSTGRES_URL is set, a fresh schema on that PostgreSQL server. Both are
// removed afterwards.
#pragma once

#include <fmt/format.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>

#include "server/postgres_storage.hpp"
#include "server/storage.hpp"

namespace carbonmeter::server {

// measure(name, storage) returns false on a failure; the result is main()'s exit code.
inline int on_each_backend(const std::string& stem,
                           const std::function<bool(const char* name, Storage& storage)>& measure) {
  bool ok = true;
  const auto path =
      (std::filesystem::temp_directory_path() / fmt::format("carbonmeter_{}_{}.db", stem, getpid())).string();
  {
    auto sqlite = open_sqlite_storage(path);
    if (!sqlite) {
      fmt::print(stderr, "sqlite: {}\n", sqlite.error().message);
      return 1;
    }
    ok = measure("sqlite", *sqlite.value()) && ok;
  }
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);

  const char* url = std::getenv("CARBONMETER_TEST_POSTGRES_URL");
  if (!url) {
    fmt::print("postgres: skipped: set CARBONMETER_TEST_POSTGRES_URL (eval \"$(scripts/test_services)\")\n");
    return ok ? 0 : 1;
  }
  const auto schema = fmt::format("cm_{}_{}", stem, getpid());
  if (auto reset = postgres_reset_schema(url, schema); !reset) {
    fmt::print(stderr, "postgres: {}\n", reset.error().message);
    return 1;
  }
  {
    auto postgres = open_storage(postgres_url_with_schema(url, schema));
    if (!postgres) {
      fmt::print(stderr, "postgres: {}\n", postgres.error().message);
      return 1;
    }
    ok = measure("postgres", *postgres.value()) && ok;
  }
  (void)postgres_reset_schema(url, schema, true);
  return ok ? 0 : 1;
}

}  // namespace carbonmeter::server
