#pragma once

namespace carbonmeter {
inline constexpr const char* kVersion = "0.1.0";
}  // namespace carbonmeter
