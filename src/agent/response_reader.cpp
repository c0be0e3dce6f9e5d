#include "agent/response_reader.hpp"

#include <cmath>
#include <nlohmann/json.hpp>

namespace carbonmeter::agent {
namespace {

constexpr std::size_t kMaxNameBytes = 64;

bool is_name(const nlohmann::json& json, const char* key) {
  return json.contains(key) && json[key].is_string() && !json[key].get_ref<const std::string&>().empty() &&
         json[key].get_ref<const std::string&>().size() <= kMaxNameBytes;
}

// The object of a successful answer, or why there is none.
Result<nlohmann::json> open_response(std::string_view line) {
  if (line.size() > kMaxResponseBytes) return Error{"the agent's answer is longer than the protocol allows"};
  nlohmann::json json = nlohmann::json::parse(line, nullptr, false);
  if (json.is_discarded() || !json.is_object() || !json.contains("ok") || !json["ok"].is_boolean())
    return Error{"the agent's answer is not a protocol " + std::to_string(kProtocolVersion) + " response"};
  if (!json["ok"].get<bool>()) {
    const std::string message = json.contains("error") && json["error"].is_string()
                                    ? json["error"].get<std::string>()
                                    : "no reason given";
    return Error{"the agent refused the request: " + message};
  }
  if (!json.contains("protocol") || !json["protocol"].is_number_integer() ||
      json["protocol"].get<long long>() != kProtocolVersion)
    return Error{"the agent speaks another protocol version than " + std::to_string(kProtocolVersion) +
                 ": update carbonmeter so that both are the same release"};
  if (!is_name(json, "instance")) return Error{"the agent's answer has no instance"};
  return json;
}

}  // namespace

Result<HelloInfo> parse_hello_response(std::string_view line) {
  auto opened = open_response(line);
  if (!opened) return opened.error();
  const nlohmann::json& json = opened.value();
  HelloInfo hello;
  hello.protocol = kProtocolVersion;
  hello.instance = json["instance"].get<std::string>();
  if (!is_name(json, "method")) return Error{"the agent's HELLO answer names no method"};
  hello.method = json["method"].get<std::string>();
  if (json.contains("agent") && json["agent"].is_string()) hello.agent = json["agent"].get<std::string>();
  if (json.contains("pid") && json["pid"].is_number_integer()) hello.pid = json["pid"].get<long>();
  if (json.contains("sample_period_s") && json["sample_period_s"].is_number())
    hello.sample_period_s = json["sample_period_s"].get<double>();
  if (!json.contains("channels") || !json["channels"].is_array() || json["channels"].size() > kMaxChannels)
    return Error{"the agent's HELLO answer has no valid channel list"};
  for (const nlohmann::json& item : json["channels"]) {
    if (!item.is_object() || !is_name(item, "device") || !is_name(item, "domain") ||
        !is_name(item, "component") || !item.contains("relative_uncertainty") ||
        !item["relative_uncertainty"].is_number())
      return Error{"the agent's HELLO answer has a malformed channel"};
    ChannelInfo channel;
    const std::string component = item["component"].get<std::string>();
    if (component == "cpu")
      channel.component = Component::cpu;
    else if (component == "ram")
      channel.component = Component::ram;
    else
      return Error{"the agent's HELLO answer has a channel of unknown component '" + component + "'"};
    channel.device = item["device"].get<std::string>();
    channel.domain = item["domain"].get<std::string>();
    channel.relative_uncertainty = item["relative_uncertainty"].get<double>();
    if (!std::isfinite(channel.relative_uncertainty) || channel.relative_uncertainty < 0)
      return Error{"the agent's HELLO answer has an invalid uncertainty"};
    hello.channels.push_back(std::move(channel));
  }
  return hello;
}

Result<ReadInfo> parse_read_response(std::string_view line) {
  auto opened = open_response(line);
  if (!opened) return opened.error();
  const nlohmann::json& json = opened.value();
  ReadInfo read;
  read.instance = json["instance"].get<std::string>();
  if (!json.contains("monotonic_ns") || !json["monotonic_ns"].is_number_unsigned())
    return Error{"the agent's READ answer has no timestamp"};
  read.monotonic_ns = json["monotonic_ns"].get<std::uint64_t>();
  if (!json.contains("counters") || !json["counters"].is_array() || json["counters"].size() > kMaxChannels)
    return Error{"the agent's READ answer has no valid counter list"};
  for (const nlohmann::json& item : json["counters"]) {
    if (!item.is_object() || !is_name(item, "device") || !is_name(item, "domain") ||
        !item.contains("energy_uj") || !item["energy_uj"].is_number_unsigned())
      return Error{"the agent's READ answer has a malformed counter"};
    read.counters.push_back({item["device"].get<std::string>(), item["domain"].get<std::string>(),
                             item["energy_uj"].get<std::uint64_t>()});
  }
  return read;
}

}  // namespace carbonmeter::agent
