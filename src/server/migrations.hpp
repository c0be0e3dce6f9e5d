// The numbered schema migrations of each storage back end. A migration is applied once, in one
// transaction, and recorded in schema_migrations (version, applied_at); add new steps at the end
// with the next number and never edit a step that has shipped.
#pragma once

#include <string>
#include <vector>

namespace carbonmeter::server {

struct Migration {
  int version = 0;
  std::string description;
  std::vector<std::string> statements;  // DDL only: no values, run in order
  // SQLite: the step rebuilds a table that others reference, so foreign keys are off while it
  // runs (SQLite's documented way to change a table's constraints) and checked before it commits.
  bool sqlite_foreign_keys_off = false;
};

const std::vector<Migration>& sqlite_migrations();
const std::vector<Migration>& postgres_migrations();

}  // namespace carbonmeter::server
