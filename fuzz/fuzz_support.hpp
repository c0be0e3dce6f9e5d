// What the file-reading fuzz targets share: one private temporary folder per process (under
// $TMPDIR, else /tmp), removed at exit, where each input is written before the parser reads it.
// Nothing is written anywhere else.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

namespace carbonmeter::fuzz {

inline const std::string& temp_dir() {
  // Never destroyed: the exit handler that removes the folder runs after static destructors.
  static const std::string* const dir = [] {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base && *base ? base : "/tmp") + "/carbonmeter-fuzz-XXXXXX";
    if (!::mkdtemp(pattern.data())) std::abort();
    auto* path = new std::string(pattern);
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(temp_dir(), ec);
    });
    return path;
  }();
  return *dir;
}

// Empties the temporary folder (what the previous input left there).
inline void clear_temp_dir() {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(temp_dir(), ec))
    std::filesystem::remove_all(entry.path(), ec);
}

// Writes `bytes` to temp_dir()/name (replacing it) and returns the path.
inline std::string write_temp_file(const std::string& name, std::string_view bytes) {
  const std::string path = temp_dir() + "/" + name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) std::abort();
  return path;
}

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

}  // namespace carbonmeter::fuzz
