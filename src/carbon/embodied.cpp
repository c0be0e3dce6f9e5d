#include "carbon/embodied.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <map>
#include <sstream>

#include "core/csv.hpp"
#include "core/roots.hpp"

namespace carbonmeter {
namespace {

constexpr int kMaxEmbodiedCount = 1'000'000;  // of one item in ITEMxN

struct Row {
  double kg = 0.0;
  double lifetime_h = 0.0;
  std::string source;
};

std::string lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

// The embodied.csv row for a GPU model name.
std::string gpu_item(const std::string& model) {
  const std::string name = lower(model);
  if (name.find("h100") != std::string::npos || name.find("h200") != std::string::npos)
    return "gpu_h100_sxm_80gb";
  if (name.find("a100") != std::string::npos) return "gpu_a100_sxm4_40gb";
  if (name.find(" l4") != std::string::npos || name.rfind("l4", 0) == 0) return "gpu_l4";
  return "gpu_default";
}

}  // namespace

Result<EmbodiedAccount> amortise_embodied(const std::string& spec, const RunReport& report) {
  auto table = read_csv_file(data_dir() + "/embodied.csv");
  if (!table) return Error{"--embodied: " + table.error().message};
  std::map<std::string, Row> rows;
  const CsvTable& csv = table.value();
  const int item = csv.column("item"), kg = csv.column("kg_co2e"), life = csv.column("lifetime_hours"),
            source = csv.column("source");
  if (item < 0 || kg < 0 || life < 0)
    return Error{"--embodied: data/embodied.csv lacks item,kg_co2e,lifetime_hours"};
  for (const auto& r : csv.rows) {
    if (static_cast<int>(r.size()) <= std::max({item, kg, life})) continue;
    rows[lower(r[item])] = {std::atof(r[kg].c_str()), std::atof(r[life].c_str()),
                            source >= 0 ? r[source] : ""};
  }
  std::vector<std::pair<std::string, int>> wanted;
  if (spec == "auto") {
    wanted.emplace_back("server_pcf_median", 1);
    for (const DeviceEnergy& d : report.devices)
      if (d.component == Component::gpu) wanted.emplace_back(gpu_item(d.model), 1);
  } else {
    std::stringstream stream(spec);
    for (std::string part; std::getline(stream, part, ',');) {
      int count = 1;
      if (auto x = part.rfind('x');
          x != std::string::npos && x + 1 < part.size() &&
          std::all_of(part.begin() + static_cast<long>(x) + 1, part.end(), ::isdigit)) {
        const char* end = part.data() + part.size();
        const auto [stop, error] = std::from_chars(part.data() + x + 1, end, count);
        if (error != std::errc() || stop != end || count > kMaxEmbodiedCount)
          return Error{
              fmt::format("--embodied: '{}' counts more than {} of an item: give ITEMxN with a smaller N",
                          part, kMaxEmbodiedCount)};
        part = part.substr(0, x);
      }
      wanted.emplace_back(lower(part), count);
    }
  }
  EmbodiedAccount account;
  const double hours = report.duration_s / 3600.0;
  for (const auto& [name, count] : wanted) {
    auto it = rows.find(name);
    if (it == rows.end() || it->second.lifetime_h <= 0) {
      std::string known;
      for (const auto& [key, row] : rows) known += (known.empty() ? "" : ", ") + key;
      return Error{"--embodied: unknown item '" + name + "' (known: auto, " + known +
                   "; ITEMxN for N of them)"};
    }
    const Row& row = it->second;
    const double g = row.kg * 1000.0 * hours / row.lifetime_h * count;
    account.items.push_back({name, count, row.kg, row.lifetime_h, g, row.source});
    account.total_g += g;
  }
  return account;
}

nlohmann::json embodied_json(const EmbodiedAccount& account) {
  nlohmann::json items = nlohmann::json::array();
  for (const EmbodiedItem& i : account.items)
    items.push_back({{"item", i.item},
                     {"count", i.count},
                     {"kg_co2e", i.kg_co2e},
                     {"lifetime_hours", i.lifetime_hours},
                     {"amortised_g", i.amortised_g},
                     {"source", i.source}});
  return {{"embodied_g", account.total_g}, {"embodied_items", items}};
}

}  // namespace carbonmeter
