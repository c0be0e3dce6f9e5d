// The folder each VM gets in the export: a safe name made from the VM's, unique among the VMs.
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace carbonmeter::vmexport {

// The export's own status file, beside the VMs' folders: no VM's folder takes its name.
inline constexpr const char* kExportStatusFile = "carbonmeter-vm-export.json";

// A VM's name as a folder name that is safe on the host and through virtiofs or 9p: ASCII letters,
// digits, '.', '_', '-' and '+' are kept, every other byte becomes '_', and so does a leading '.'
// (no hidden folder, no "." or ".."); cut at 100 characters, so that a "-N" suffix still fits the
// 128 of core/name_rules; "vm" when nothing is left.
std::string folder_name_for(std::string_view vm_name);

// The first of base, base-2, base-3, ... that `taken` does not claim.
std::string unique_folder_name(const std::string& base, const std::function<bool(const std::string&)>& taken);

}  // namespace carbonmeter::vmexport
