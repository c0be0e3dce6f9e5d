// "Had this run elsewhere": the same IT energy where the grid is cleaner (or dirtier).
#include <algorithm>

#include "estimate/estimate.hpp"

namespace carbonmeter {
namespace {

// Large grids from the cleanest to the most carbon-intensive, for on-premises comparisons.
constexpr const char* kComparisonCountries[] = {"SWE", "FRA", "CAN", "GBR", "USA", "DEU", "CHN", "IND"};
constexpr std::size_t kCloudAlternatives = 5;

}  // namespace

std::vector<Alternative> alternatives_for(double it_energy_kwh, const ResolvedLocation& location,
                                          const ReferenceData& data) {
  std::vector<Alternative> out;
  auto add = [&](std::string code, std::string name, double g_per_kwh, double pue) {
    out.push_back(
        {std::move(code), std::move(name), g_per_kwh, pue, it_energy_kwh * pue * g_per_kwh / 1000.0});
  };
  if (!location.cloud_provider.empty() && !location.cloud_region.empty()) {
    for (const CloudRegion& r : data.cloud_regions_with_figures()) {
      if (r.provider != location.cloud_provider || r.region == location.cloud_region) continue;
      add(r.provider + ":" + r.region, r.location, r.intensity.g_per_kwh, r.pue > 0 ? r.pue : location.pue);
    }
    std::sort(out.begin(), out.end(),
              [](const Alternative& a, const Alternative& b) { return a.emissions_kg < b.emissions_kg; });
    if (out.size() > kCloudAlternatives) out.resize(kCloudAlternatives);
    return out;
  }
  for (const char* code : kComparisonCountries) {
    if (code == location.country_iso3 && location.region.empty()) continue;  // that is where it ran
    if (auto country = data.country(code))
      add(country->code, country->name, country->intensity.g_per_kwh, location.pue);
  }
  std::sort(out.begin(), out.end(),
            [](const Alternative& a, const Alternative& b) { return a.emissions_kg < b.emissions_kg; });
  return out;
}

}  // namespace carbonmeter
