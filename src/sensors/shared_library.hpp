// A vendor library loaded at run time (dlopen): carbonmeter builds and runs without it.
#pragma once

#include <string>

#include "carbonmeter/result.hpp"

namespace carbonmeter {

class SharedLibrary {
 public:
  static Result<SharedLibrary> open(const std::string& path);
  SharedLibrary(SharedLibrary&& other) noexcept : handle_(other.handle_), path_(std::move(other.path_)) {
    other.handle_ = nullptr;
  }
  SharedLibrary(const SharedLibrary&) = delete;
  ~SharedLibrary();
  // The symbol's address, or nullptr.
  void* symbol(const char* name) const;
  const std::string& path() const { return path_; }

 private:
  SharedLibrary(void* handle, std::string path) : handle_(handle), path_(std::move(path)) {}
  void* handle_;
  std::string path_;
};

}  // namespace carbonmeter
