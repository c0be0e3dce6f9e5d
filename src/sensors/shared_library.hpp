// A vendor library loaded at run time (dlopen): carbonmeter builds and runs without it.
#pragma once

#include <string>

#include "carbonmeter/result.hpp"

namespace carbonmeter {

class SharedLibrary {
 public:
  static Result<SharedLibrary> open(const std::string& path);
  // $override_variable when set, else default_name (looked up the usual way).
  static Result<SharedLibrary> open_overridable(const char* override_variable,
                                                const std::string& default_name);
  SharedLibrary(SharedLibrary&& other) noexcept : handle_(other.handle_), path_(std::move(other.path_)) {
    other.handle_ = nullptr;
  }
  SharedLibrary(const SharedLibrary&) = delete;
  ~SharedLibrary();
  // The symbol's address, or nullptr.
  void* symbol(const char* name) const;
  // Sets function to the symbol; false (and nullptr) when the library lacks it.
  template <class F>
  bool bind(const char* name, F& function) const {
    function = reinterpret_cast<F>(symbol(name));
    return function != nullptr;
  }
  const std::string& path() const { return path_; }

 private:
  SharedLibrary(void* handle, std::string path) : handle_(handle), path_(std::move(path)) {}
  void* handle_;
  std::string path_;
};

}  // namespace carbonmeter
