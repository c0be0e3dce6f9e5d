// --scope and --cgroup, shared by run and monitor.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "carbonmeter/tracker.hpp"

namespace carbonmeter::cli {

void add_cgroup_option(CLI::App& command, std::string& cgroup);
// The scope from --scope (may be "") and --cgroup; a usage error when they disagree.
Scope scope_of(const std::string& scope_flag, const std::string& cgroup, Scope fallback);

}  // namespace carbonmeter::cli
