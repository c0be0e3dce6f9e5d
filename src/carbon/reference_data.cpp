#include "carbon/reference_data.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>

#include "core/csv.hpp"
#include "core/roots.hpp"

namespace carbonmeter {
namespace {

std::string lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

// Reads a table in place and hands each row to `row` as a column-name lookup (a copy of the cell).
template <class F>
Status each_row(const std::string& path, const std::vector<std::string>& required, F row) {
  std::vector<std::string> header;
  Status missing = Ok{};
  auto visited = visit_csv_file(path, [&](std::span<const std::string_view> cells, int) {
    if (header.empty()) {
      header.assign(cells.begin(), cells.end());
      for (const std::string& name : required)
        if (std::find(header.begin(), header.end(), name) == header.end()) {
          missing = Error{path + ": missing column '" + name + "'"};
          return false;
        }
      return true;
    }
    auto get = [&](std::string_view name) -> std::string {
      const auto at =
          static_cast<std::size_t>(std::find(header.begin(), header.end(), name) - header.begin());
      return at < cells.size() ? std::string(cells[at]) : std::string();
    };
    row(get);
    return true;
  });
  if (!visited) return visited.error();
  return missing;
}

template <class Get>
IntensityFigure figure(const Get& get) {
  const double year =
      parse_finite_number(get("year")).value_or(0);  // 0: unknown, as is a year no calendar has
  return {parse_finite_number(get("g_per_kwh")).value_or(-1.0),
          year >= 0 && year <= 9999 ? static_cast<int>(year) : 0, get("kind"), get("basis"), get("source")};
}

// Edit distance, for suggestions.
std::size_t distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t previous = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t was = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] == b[j - 1] ? 0 : 1)});
      previous = was;
    }
  }
  return row[b.size()];
}

}  // namespace

std::string upper(std::string text) {
  for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return text;
}

Result<ReferenceData> ReferenceData::load() { return load_from(data_dir()); }

Result<ReferenceData> ReferenceData::load_from(const std::string& dir) {
  ReferenceData data;
  const std::vector<std::string> place_columns{"g_per_kwh", "year", "kind", "basis", "source"};
  auto load_places = [&](const std::string& file, const std::string& code_column, std::vector<Place>& out) {
    std::vector<std::string> required = place_columns;
    required.push_back(code_column);
    return each_row(dir + "/" + file, required, [&](const auto& get) {
      Place place{upper(get(code_column)), get("name"), upper(get("iso3")), figure(get)};
      if (code_column == "iso3") place.iso3 = place.code;
      if (place.intensity.g_per_kwh >= 0) out.push_back(std::move(place));
    });
  };
  for (auto [status, what] :
       {std::pair{load_places("intensity_countries.csv", "iso3", data.countries_), "countries"},
        std::pair{load_places("intensity_marginal.csv", "iso3", data.marginal_), "marginal"},
        std::pair{load_places("intensity_zones.csv", "zone", data.zones_), "zones"}}) {
    if (!status) return Error{"shipped data broken (" + std::string(what) + "): " + status.error().message};
  }
  auto cloud =
      each_row(dir + "/cloud_regions.csv", {"provider", "region", "g_per_kwh", "pue"}, [&](const auto& get) {
        CloudRegion region{lower(get("provider")),
                           lower(get("region")),
                           get("location"),
                           upper(get("iso3")),
                           upper(get("zone")),
                           figure(get),
                           parse_finite_number(get("pue")).value_or(0.0),
                           get("pue_source"),
                           parse_finite_number(get("wue_l_per_kwh")).value_or(-1.0),
                           get("wue_source")};
        region.intensity.basis = region.intensity.basis.empty() ? "average" : region.intensity.basis;
        data.cloud_.push_back(std::move(region));  // without a figure of its own: its zone's or country's
      });
  if (!cloud) return Error{"shipped data broken (cloud regions): " + cloud.error().message};
  auto countries = each_row(dir + "/countries.csv", {"iso2", "iso3"}, [&](const auto& get) {
    data.iso2_to_iso3_[upper(get("iso2"))] = upper(get("iso3"));
  });
  if (!countries) return Error{"shipped data broken (country codes): " + countries.error().message};
  auto zones = each_row(dir + "/timezones.csv", {"timezone", "iso3"},
                        [&](const auto& get) { data.timezones_[get("timezone")] = upper(get("iso3")); });
  if (!zones) return Error{"shipped data broken (time zones): " + zones.error().message};
  return data;
}

std::optional<Place> ReferenceData::country(const std::string& code) const {
  std::string wanted = upper(code);
  if (wanted.size() == 2 && iso2_to_iso3_.count(wanted)) wanted = iso2_to_iso3_.at(wanted);
  for (const Place& place : countries_)
    if (place.code == wanted) return place;
  return std::nullopt;
}

std::vector<CloudRegion> ReferenceData::cloud_regions_with_figures() const {
  std::vector<CloudRegion> out;
  for (const CloudRegion& listed : cloud_) {
    CloudRegion region = cloud(listed.provider, listed.region).value_or(listed);
    if (region.intensity.g_per_kwh >= 0) out.push_back(std::move(region));
  }
  return out;
}

std::optional<double> ReferenceData::typical_pue(const std::string& provider) const {
  std::vector<double> pues;
  for (const CloudRegion& region : cloud_)
    if (region.provider == lower(provider) && region.pue > 0) pues.push_back(region.pue);
  if (pues.empty()) return std::nullopt;
  std::sort(pues.begin(), pues.end());
  return pues[pues.size() / 2];
}

std::optional<Place> ReferenceData::marginal(const std::string& iso3) const {
  for (const Place& place : marginal_)
    if (place.code == upper(iso3)) return place;
  return std::nullopt;
}

std::optional<Place> ReferenceData::zone(const std::string& zone) const {
  const std::string wanted = upper(zone);
  for (const Place& place : zones_)
    if (place.code == wanted) return place;
  // Zones are often written without their prefixes: SE3 for SE-SE3, CISO (the EIA balancing
  // authority code) for US-CAL-CISO.
  for (const bool after_first_dash : {true, false}) {
    std::optional<Place> suffix_match;
    bool ambiguous = false;
    for (const Place& place : zones_) {
      const auto dash = after_first_dash ? place.code.find('-') : place.code.rfind('-');
      if (dash != std::string::npos && place.code.substr(dash + 1) == wanted) {
        ambiguous = ambiguous || suffix_match.has_value();
        suffix_match = place;
      }
    }
    if (ambiguous) return std::nullopt;
    if (suffix_match) return suffix_match;
  }
  // A country written as a zone (Electricity Maps' zone FR is the country).
  if (auto country_place = country(wanted)) {
    if (country_place->iso3.empty()) country_place->iso3 = country_place->code;
    return country_place;
  }
  return std::nullopt;
}

std::optional<CloudRegion> ReferenceData::cloud(const std::string& provider,
                                                const std::string& region) const {
  for (CloudRegion r : cloud_) {
    if (r.provider != lower(provider) || r.region != lower(region)) continue;
    if (r.intensity.g_per_kwh < 0) {
      // No published figure for the region: the grid zone it sits in, else its country.
      if (auto zone = this->zone(r.zone))
        r.intensity = zone->intensity;
      else if (auto country = this->country(r.iso3))
        r.intensity = country->intensity;
      else
        return std::nullopt;
      r.intensity.source +=
          " (of the region's " + std::string(this->zone(r.zone) ? "grid zone" : "country") + ")";
    }
    return r;
  }
  return std::nullopt;
}

std::optional<std::string> ReferenceData::country_of_timezone(const std::string& timezone) const {
  auto it = timezones_.find(timezone);
  if (it == timezones_.end() || it->second.empty()) return std::nullopt;
  return it->second;
}

std::string ReferenceData::country_name(const std::string& iso3) const {
  auto place = country(iso3);
  return place ? place->name : "";
}

std::vector<std::string> ReferenceData::suggestions(const std::string& wanted,
                                                    const std::vector<std::string>& known) const {
  std::vector<std::pair<std::size_t, std::string>> scored;
  for (const std::string& name : known) scored.emplace_back(distance(lower(wanted), lower(name)), name);
  std::sort(scored.begin(), scored.end());
  std::vector<std::string> out;
  for (const auto& [score, name] : scored) {
    if (out.size() == 3 || score > std::max<std::size_t>(2, wanted.size() / 3)) break;
    out.push_back(name);
  }
  return out;
}

}  // namespace carbonmeter
