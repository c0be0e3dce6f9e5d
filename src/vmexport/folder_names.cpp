#include "vmexport/folder_names.hpp"

namespace carbonmeter::vmexport {
namespace {

constexpr std::size_t kMaxFolderNameLength = 100;

bool safe_byte(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
         c == '-' || c == '+';
}

}  // namespace

std::string folder_name_for(std::string_view vm_name) {
  std::string folder;
  for (const char c : vm_name.substr(0, kMaxFolderNameLength)) folder += safe_byte(c) ? c : '_';
  if (folder.empty()) return "vm";
  if (folder.front() == '.') folder.front() = '_';
  if (folder == kExportStatusFile) folder += '_';
  return folder;
}

std::string unique_folder_name(const std::string& base,
                               const std::function<bool(const std::string&)>& taken) {
  if (!taken(base)) return base;
  for (int n = 2;; ++n) {
    std::string candidate = base + "-" + std::to_string(n);
    if (!taken(candidate)) return candidate;
  }
}

}  // namespace carbonmeter::vmexport
