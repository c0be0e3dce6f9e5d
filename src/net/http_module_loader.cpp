#include <dlfcn.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <mutex>
#include <string>
#include <vector>

#include "net/http_module.hpp"

// Defined when the module's code is linked in (the tests); null otherwise.
extern "C" const carbonmeter::net::HttpModule* carbonmeter_http_module() __attribute__((weak));

namespace carbonmeter::net {
namespace {

std::string program_folder() {
  std::string path(4096, '\0');
  const ssize_t length = ::readlink("/proc/self/exe", path.data(), path.size() - 1);
  if (length <= 0) return "";
  path.resize(static_cast<std::size_t>(length));
  return path.substr(0, path.rfind('/'));
}

Result<const HttpModule*> load() {
  if (carbonmeter_http_module) return carbonmeter_http_module();
  std::vector<std::string> candidates;
  // secure_getenv: a program given capabilities (setcap, docs/methodology.md) ignores the override.
  if (const char* override_path = ::secure_getenv("CARBONMETER_HTTP_MODULE"); override_path && *override_path)
    candidates.emplace_back(override_path);
  if (const std::string folder = program_folder(); !folder.empty())
    candidates.push_back(folder + "/libcarbonmeter-http.so");
  candidates.emplace_back(CARBONMETER_INSTALLED_HTTP_MODULE);
  std::string tried;
  for (const std::string& path : candidates) {
    if (::access(path.c_str(), F_OK) != 0) {
      tried += (tried.empty() ? "" : ", ") + path + " (missing)";
      continue;
    }
    void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
      tried += (tried.empty() ? "" : ", ") + path + " (" + ::dlerror() + ")";
      continue;
    }
    using Entry = const HttpModule* (*)();
    auto entry = reinterpret_cast<Entry>(::dlsym(handle, "carbonmeter_http_module"));
    const HttpModule* module = entry ? entry() : nullptr;
    if (module && module->interface_version == kHttpModuleInterfaceVersion) return module;  // kept loaded
    // What to say about it is read before dlclose unmaps it.
    const std::string why = module ? " (from another carbonmeter version: interface " +
                                         std::to_string(module->interface_version) + ", this program needs " +
                                         std::to_string(kHttpModuleInterfaceVersion) + ")"
                                   : " (not carbonmeter's HTTP module)";
    ::dlclose(handle);
    tried += (tried.empty() ? "" : ", ") + path + why;
  }
  return Error{"cannot load carbonmeter's HTTP module libcarbonmeter-http.so (tried " + tried +
               "): reinstall carbonmeter, or point CARBONMETER_HTTP_MODULE at the file"};
}

}  // namespace

Result<const HttpModule*> http_module() {
  static std::once_flag once;
  static Result<const HttpModule*> loaded = Error{""};
  std::call_once(once, [] {
    // A peer that hangs up mid-request or mid-answer must not kill the measuring program
    // (Debian's cpp-httplib sends without MSG_NOSIGNAL).
    std::signal(SIGPIPE, SIG_IGN);
    loaded = load();
  });
  return loaded;
}

}  // namespace carbonmeter::net
