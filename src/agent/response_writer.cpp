#include "agent/response_writer.hpp"

#include <nlohmann/json.hpp>

#include "core/run_report.hpp"

namespace carbonmeter::agent {
namespace {

std::string line(const nlohmann::json& json) { return dump_json(json) + "\n"; }

}  // namespace

std::string hello_response(const HelloInfo& hello) {
  nlohmann::json channels = nlohmann::json::array();
  for (const ChannelInfo& channel : hello.channels)
    channels.push_back({{"component", std::string(component_name(channel.component))},
                        {"device", channel.device},
                        {"domain", channel.domain},
                        {"relative_uncertainty", channel.relative_uncertainty}});
  return line({{"ok", true},
               {"protocol", hello.protocol},
               {"agent", hello.agent},
               {"instance", hello.instance},
               {"pid", hello.pid},
               {"method", hello.method},
               {"sample_period_s", hello.sample_period_s},
               {"channels", std::move(channels)}});
}

std::string read_response(const ReadInfo& read) {
  nlohmann::json counters = nlohmann::json::array();
  for (const CounterReading& counter : read.counters)
    counters.push_back(
        {{"device", counter.device}, {"domain", counter.domain}, {"energy_uj", counter.energy_uj}});
  return line({{"ok", true},
               {"protocol", kProtocolVersion},
               {"instance", read.instance},
               {"monotonic_ns", read.monotonic_ns},
               {"counters", std::move(counters)}});
}

std::string error_response(std::string_view message) {
  return line({{"ok", false}, {"protocol", kProtocolVersion}, {"error", std::string(message)}});
}

}  // namespace carbonmeter::agent
