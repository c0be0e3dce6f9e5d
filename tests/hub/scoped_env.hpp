// Environment variables set (or unset) for the lifetime of an object, for the hub tests: the CLI
// they run inherits them.
#pragma once

#include <stdlib.h>

#include <map>
#include <optional>
#include <string>

namespace carbonmeter::testing {

using EnvChanges = std::map<std::string, std::optional<std::string>>;

class ScopedEnv {
 public:
  explicit ScopedEnv(const EnvChanges& changes) {
    for (const auto& [name, value] : changes) {
      const char* old = ::getenv(name.c_str());
      saved_[name] = old ? std::optional<std::string>(old) : std::nullopt;
      set(name, value);
    }
  }
  ~ScopedEnv() {
    for (const auto& [name, value] : saved_) set(name, value);
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  static void set(const std::string& name, const std::optional<std::string>& value) {
    if (value)
      ::setenv(name.c_str(), value->c_str(), 1);
    else
      ::unsetenv(name.c_str());
  }
  EnvChanges saved_;
};

// `changes`, with none of the developer's own Hugging Face settings.
inline EnvChanges without_hf_settings(EnvChanges changes) {
  for (const char* name : {"HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_HOME", "XDG_CACHE_HOME",
                           "HF_ENDPOINT", "HF_TOKEN", "SSL_CERT_FILE", "SSL_CERT_DIR"})
    changes.try_emplace(name, std::nullopt);
  return changes;
}

}  // namespace carbonmeter::testing
