#include "sensors/shared_library.hpp"

#include <dlfcn.h>

#include <cstdlib>

namespace carbonmeter {

Result<SharedLibrary> SharedLibrary::open(const std::string& path) {
  // Vendor libraries stay mapped once loaded: unloading them while a driver thread lingers is unsafe.
  void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
  if (!handle) {
    const char* why = ::dlerror();
    return Error{why ? why : "cannot load " + path};
  }
  return SharedLibrary(handle, path);
}

Result<SharedLibrary> SharedLibrary::open_overridable(const char* override_variable,
                                                      const std::string& default_name) {
  const char* path = std::getenv(override_variable);
  return open(path && *path ? path : default_name);
}

SharedLibrary::~SharedLibrary() {
  if (handle_) ::dlclose(handle_);
}

void* SharedLibrary::symbol(const char* name) const { return handle_ ? ::dlsym(handle_, name) : nullptr; }

}  // namespace carbonmeter
