// The shipped reference tables of data/ (data/SOURCES.md): grid intensity of countries, zones
// and cloud regions (with their PUE and WUE), marginal factors, country codes and time zones.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "carbonmeter/result.hpp"

namespace carbonmeter {

struct IntensityFigure {
  double g_per_kwh = 0.0;
  int year = 0;
  std::string kind;    // "lifecycle" or "direct"
  std::string basis;   // "average" or "marginal"
  std::string source;  // "ember-2024", "electricitymaps-2025", ...
};

struct Place {
  std::string code;  // ISO3, zone or "provider:region"
  std::string name;
  std::string iso3;
  IntensityFigure intensity;
};

struct CloudRegion {
  std::string provider;
  std::string region;
  std::string location;
  std::string iso3;
  std::string zone;
  IntensityFigure intensity;
  double pue = 0.0;  // 0 when unknown
  std::string pue_source;
  double wue_l_per_kwh = -1.0;  // negative when unknown
  std::string wue_source;
};

class ReferenceData {
 public:
  // Loads every table from data_dir(); the error names the missing or broken file.
  static Result<ReferenceData> load();
  static Result<ReferenceData> load_from(const std::string& dir);

  std::optional<Place> country(const std::string& iso3_or_iso2) const;  // also "WORLD"
  std::optional<Place> marginal(const std::string& iso3) const;
  std::optional<Place> zone(const std::string& zone) const;
  std::optional<CloudRegion> cloud(const std::string& provider, const std::string& region) const;
  std::optional<std::string> country_of_timezone(const std::string& timezone) const;
  // The median PUE of a provider's regions, for a machine known to be in its cloud but not where.
  std::optional<double> typical_pue(const std::string& provider) const;
  std::string country_name(const std::string& iso3) const;

  const std::vector<Place>& countries() const { return countries_; }
  const std::vector<Place>& zones() const { return zones_; }
  const std::vector<CloudRegion>& cloud_regions() const { return cloud_; }
  // Every region with the figure --cloud would use (its own, else its zone's or country's);
  // regions with no figure at all are left out.
  std::vector<CloudRegion> cloud_regions_with_figures() const;
  // Names that come close to a wrong one, for "did you mean".
  std::vector<std::string> suggestions(const std::string& wanted,
                                       const std::vector<std::string>& known) const;

 private:
  std::vector<Place> countries_;
  std::vector<Place> marginal_;
  std::vector<Place> zones_;
  std::vector<CloudRegion> cloud_;
  std::map<std::string, std::string> iso2_to_iso3_;
  std::map<std::string, std::string> timezones_;
};

std::string upper(std::string text);

}  // namespace carbonmeter
