#include "cli/scope_options.hpp"

#include "cli/commands.hpp"

namespace carbonmeter::cli {

void add_cgroup_option(CLI::App& command, std::string& cgroup) {
  command
      .add_option(
          "--cgroup", cgroup,
          "Measure this cgroup's share (its CPU time and memory) instead: a folder under /sys/fs/cgroup, "
          "a path as /proc/PID/cgroup shows it, or 'self' (carbonmeter's own: the container it runs "
          "in); docs/containers.md")
      ->check(CLI::Validator([](std::string& v) { return v.empty() ? std::string("empty cgroup path") : ""; },
                             "PATH"));
}

Scope scope_of(const std::string& scope_flag, const std::string& cgroup, Scope fallback) {
  if (!cgroup.empty()) {
    if (!scope_flag.empty() && scope_flag != "cgroup")
      throw UsageError("--cgroup measures a cgroup's share: it cannot go with --scope " + scope_flag +
                       " (drop one of them)");
    return Scope::cgroup;
  }
  if (scope_flag == "cgroup") throw UsageError("--scope cgroup needs --cgroup PATH (or --cgroup self)");
  if (scope_flag == "machine") return Scope::machine;
  if (scope_flag == "process") return Scope::process;
  return fallback;
}

}  // namespace carbonmeter::cli
