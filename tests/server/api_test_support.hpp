// Support for the HTTP API tests: a real `carbonmeter serve` process on a free loopback port, a
// fresh database per test (SQLite temp file or a PostgreSQL schema of its own), and a client.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "server/http_lib.hpp"

namespace carbonmeter::testing {

// A database that exists for one test: "sqlite" (a file in a temp folder) or "postgresql" (a
// schema of its own on $CARBONMETER_TEST_POSTGRES_URL, dropped at the end).
class TestDatabase {
 public:
  explicit TestDatabase(const std::string& backend);
  ~TestDatabase();
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;

  // Empty when it could be made; otherwise what to do (e.g. run `make test`).
  const std::string& error() const { return error_; }
  const std::string& url() const { return url_; }  // for --db
  const std::string& dir() const { return dir_; }  // a temp folder for this test
  // PostgreSQL carries on with a statement whose client was killed, and commits it: this waits
  // (up to timeout) until no session of this test's database is left, so that what it holds no
  // longer changes. Empty when none is left; otherwise why not. SQLite: empty at once (a killed
  // process leaves nothing running).
  std::string wait_for_sessions_to_end(std::chrono::milliseconds timeout) const;

 private:
  std::string backend_;
  std::string error_;
  std::string url_;
  std::string dir_;
  std::string schema_;
  std::string admin_url_;
};

// `carbonmeter serve --listen 127.0.0.1:0 ARGS...` (ARGS may name another --listen), killed (SIGTERM, then
// SIGKILL) when destroyed.
class ServeProcess {
 public:
  ServeProcess(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
               const std::string& work_dir);
  ~ServeProcess();
  ServeProcess(const ServeProcess&) = delete;
  ServeProcess& operator=(const ServeProcess&) = delete;

  bool started() const { return port_ > 0; }
  int port() const { return port_; }
  std::string out() const;  // what it printed on stdout so far
  std::string err() const;  // ... and on stderr
  // Sends `signal_number` and waits for the exit; the exit code (128 + N when killed by N).
  int stop(int signal_number = 15);
  httplib::Client client() const;

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  int exit_code_ = -1;
  std::string out_path_, err_path_;
};

struct Reply {
  int status = 0;  // 0: no answer
  nlohmann::json body;
  std::string raw;
  std::string retry_after;
};

// Sends a request; `token` empty: no Authorization header.
Reply get(httplib::Client& client, const std::string& path, const std::string& token = "");
Reply post(httplib::Client& client, const std::string& path, const nlohmann::json& body,
           const std::string& token = "");
Reply post_raw(httplib::Client& client, const std::string& path, const std::string& body,
               const std::string& content_type, const std::string& token = "");

}  // namespace carbonmeter::testing
