#include "sensors/shared_library.hpp"

#include <dlfcn.h>

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

SharedLibrary::~SharedLibrary() {
  if (handle_) ::dlclose(handle_);
}

void* SharedLibrary::symbol(const char* name) const { return handle_ ? ::dlsym(handle_, name) : nullptr; }

}  // namespace carbonmeter
