// libFuzzer target for the config file reader (carbonmeter.toml, src/carbon/location.cpp, with
// toml++): whatever the file holds, reading it fills the settings or gives an error that names the
// file and line; it never crashes, and a setting it fills is in range.
//
// Input: the bytes of carbonmeter.toml, written in a private temporary folder.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "carbon/location.hpp"
#include "fuzz_support.hpp"

using namespace carbonmeter;

namespace {

void check_range(const Setting<double>& setting, double low, double high) {
  if (setting.value && (!std::isfinite(*setting.value) || *setting.value < low || *setting.value > high))
    std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = fuzz::write_temp_file("carbonmeter.toml", fuzz::as_text(data, size));
  // Nothing given on the command line; then a place given (--country), which the file's place
  // must not override.
  for (const bool country_flag : {false, true}) {
    LocationOptions options;
    if (country_flag) options.country = {std::string("FRA"), "--country"};
    const Status status = read_location_config_file(options, path);
    if (!status) {
      if (status.error().message.find(path) != 0) std::abort();  // names the file first
      continue;
    }
    check_range(options.carbon_intensity_g_per_kwh, 0, 5000);
    check_range(options.pue, 1, 5);
    check_range(options.wue_l_per_kwh, 0, 100);
    if (country_flag && (options.country.origin != "--country" || options.carbon_intensity_g_per_kwh.value ||
                         options.zone.value || options.cloud.value || options.intensity_series.value))
      std::abort();
  }
  return 0;
}
