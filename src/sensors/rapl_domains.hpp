// Which RAPL domains to count (--rapl-domains). The default is package + dram. psys (the whole
// platform on client chips) contains package, and core/uncore sit inside package: a choice that
// would count the same energy twice is an error.
#pragma once

#include <string>

#include "carbonmeter/result.hpp"

namespace carbonmeter {

struct RaplDomains {
  bool package = true;
  bool dram = true;
  bool psys = false;
  bool core = false;
  bool uncore = false;
  bool wants(const std::string& domain) const;
};

Result<RaplDomains> parse_rapl_domains(const std::string& list);

}  // namespace carbonmeter
