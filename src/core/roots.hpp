// Where hardware and kernel files are read from. Tests point these at fake trees through
// CARBONMETER_SYSFS_ROOT, CARBONMETER_PROCFS_ROOT and CARBONMETER_DEV_ROOT.
#pragma once

#include <string>

namespace carbonmeter {

std::string sysfs_root();   // default /sys
std::string procfs_root();  // default /proc
std::string dev_root();     // default /dev
// The folder holding the shipped reference data (cpu_tdp.csv, ...): CARBONMETER_DATA_DIR, else the
// installed share/carbonmeter, else the source tree's data/.
std::string data_dir();

}  // namespace carbonmeter
