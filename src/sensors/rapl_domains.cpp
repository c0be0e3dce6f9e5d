#include "sensors/rapl_domains.hpp"

#include <sstream>

namespace carbonmeter {

bool RaplDomains::wants(const std::string& domain) const {
  if (domain == "package") return package;
  if (domain == "dram") return dram;
  if (domain == "psys") return psys;
  if (domain == "core") return core;
  if (domain == "uncore") return uncore;
  return false;
}

Result<RaplDomains> parse_rapl_domains(const std::string& list) {
  if (list.empty()) return RaplDomains{};
  RaplDomains out{false, false, false, false, false};
  std::stringstream stream(list);
  std::string item;
  while (std::getline(stream, item, ',')) {
    if (item == "package")
      out.package = true;
    else if (item == "dram")
      out.dram = true;
    else if (item == "psys")
      out.psys = true;
    else if (item == "core")
      out.core = true;
    else if (item == "uncore")
      out.uncore = true;
    else
      return Error{"unknown RAPL domain '" + item +
                   "' in --rapl-domains: use a comma-separated list of package, dram, psys, core, uncore"};
  }
  if (out.psys && (out.package || out.core || out.uncore || out.dram))
    return Error{
        "--rapl-domains: psys already contains package (and its core/uncore) and, on the client "
        "chips that have psys, memory: use either 'psys' or 'package,dram', not both"};
  if (out.package && (out.core || out.uncore))
    return Error{
        "--rapl-domains: core and uncore are inside package: use either 'package' or "
        "'core,uncore', not both"};
  if (!out.package && !out.dram && !out.psys && !out.core && !out.uncore)
    return Error{"--rapl-domains is empty: name at least one of package, dram, psys, core, uncore"};
  return out;
}

}  // namespace carbonmeter
