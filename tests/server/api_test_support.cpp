// Support for the HTTP API tests (see api_test_support.hpp).
#include "api_test_support.hpp"

#include <fcntl.h>
#include <libpq-fe.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "server/postgres_storage.hpp"

namespace carbonmeter::testing {
namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string make_temp_dir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "carbonmeter_api_XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) return "";
  return pattern;
}

Reply to_reply(const httplib::Result& result) {
  Reply reply;
  if (!result) return reply;
  reply.status = result->status;
  reply.raw = result->body;
  reply.retry_after = result->get_header_value("Retry-After");
  reply.body = nlohmann::json::parse(result->body, nullptr, false);
  return reply;
}

httplib::Headers auth_headers(const std::string& token) {
  httplib::Headers headers;
  if (!token.empty()) headers.emplace("Authorization", "Bearer " + token);
  return headers;
}

}  // namespace

TestDatabase::TestDatabase(const std::string& backend) : backend_(backend) {
  dir_ = make_temp_dir();
  if (dir_.empty()) {
    error_ = "cannot create a temp folder";
    return;
  }
  if (backend == "sqlite") {
    url_ = "sqlite:" + dir_ + "/carbonmeter.db";
    return;
  }
  const char* base = std::getenv("CARBONMETER_TEST_POSTGRES_URL");
  if (base == nullptr || *base == '\0') {
    error_ =
        "CARBONMETER_TEST_POSTGRES_URL is not set: run the tests with `make test`, or start the test "
        "PostgreSQL server first with `eval \"$(scripts/test_services)\"`";
    return;
  }
  static std::atomic<int> counter{0};
  schema_ = "cm_api_test_" + std::to_string(getpid()) + "_" + std::to_string(counter++) + "_" +
            std::to_string(std::chrono::steady_clock::now().time_since_epoch().count() % 1000000);
  admin_url_ = base;
  if (auto created = server::postgres_reset_schema(admin_url_, schema_); !created) {
    error_ = created.error().message;
    schema_.clear();
    return;
  }
  // The sessions of this test (its servers', its own) are found by their application name.
  url_ = server::postgres_url_with_schema(admin_url_, schema_) + "&application_name=" + schema_;
}

std::string TestDatabase::wait_for_sessions_to_end(std::chrono::milliseconds timeout) const {
  if (schema_.empty()) return "";
  PGconn* conn = PQconnectdb(admin_url_.c_str());
  const auto give_up = std::chrono::steady_clock::now() + timeout;
  std::string left = "cannot connect: ";
  while (PQstatus(conn) == CONNECTION_OK) {
    const char* values[] = {schema_.c_str()};
    PGresult* result = PQexecParams(conn, "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1",
                                    1, nullptr, values, nullptr, nullptr, 0);
    const bool answered = PQresultStatus(result) == PGRES_TUPLES_OK;
    const std::string count = answered ? PQgetvalue(result, 0, 0) : "";
    left = !answered      ? std::string("cannot query pg_stat_activity: ") + PQresultErrorMessage(result)
           : count == "0" ? ""
                          : count + " sessions of " + schema_ + " still open";
    PQclear(result);
    if (left.empty() || std::chrono::steady_clock::now() >= give_up) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (PQstatus(conn) != CONNECTION_OK) left += PQerrorMessage(conn);
  PQfinish(conn);
  return left;
}

TestDatabase::~TestDatabase() {
  if (!schema_.empty()) (void)server::postgres_reset_schema(admin_url_, schema_, /*drop_only=*/true);
  if (!dir_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
}

ServeProcess::ServeProcess(const std::vector<std::string>& args,
                           const std::map<std::string, std::string>& env, const std::string& work_dir) {
  static std::atomic<int> counter{0};
  const std::string stem = work_dir + "/serve_" + std::to_string(counter++);
  out_path_ = stem + ".out";
  err_path_ = stem + ".err";
  std::vector<std::string> argv_strings = {CARBONMETER_CLI_PATH, "serve"};
  if (std::find(args.begin(), args.end(), "--listen") == args.end())
    argv_strings.insert(argv_strings.end(), {"--listen", "127.0.0.1:0"});
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  const pid_t parent = getpid();
  pid_ = fork();
  if (pid_ == 0) {
    // The server dies with the test program, even when the test program crashes.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    const int out = open(out_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const int err = open(err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (out < 0 || err < 0 || chdir(work_dir.c_str()) != 0) _exit(127);
    dup2(out, 1);
    dup2(err, 2);
    unsetenv("CARBONMETER_ADMIN_TOKEN");
    for (const auto& [name, value] : env) setenv(name.c_str(), value.c_str(), 1);
    std::vector<char*> argv;
    for (std::string& word : argv_strings) argv.push_back(word.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  if (pid_ < 0) return;
  const std::string marker = "listening on http://127.0.0.1:";
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    const std::string text = read_file(out_path_);
    if (const std::size_t at = text.find(marker); at != std::string::npos) {
      const std::size_t start = at + marker.size();
      const std::size_t end = text.find_first_not_of("0123456789", start);
      if (end != std::string::npos) {
        port_ = std::atoi(text.substr(start, end - start).c_str());
        return;
      }
    }
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

ServeProcess::~ServeProcess() { stop(SIGTERM); }

std::string ServeProcess::out() const { return read_file(out_path_); }
std::string ServeProcess::err() const { return read_file(err_path_); }

int ServeProcess::stop(int signal_number) {
  if (pid_ <= 0) return exit_code_;
  kill(pid_, signal_number);
  int status = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (waitpid(pid_, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  pid_ = -1;
  return exit_code_;
}

httplib::Client ServeProcess::client() const {
  httplib::Client client("127.0.0.1", port_);
  client.set_connection_timeout(5);
  client.set_read_timeout(30);
  client.set_write_timeout(30);
  return client;
}

Reply get(httplib::Client& client, const std::string& path, const std::string& token) {
  return to_reply(client.Get(path.c_str(), auth_headers(token)));
}

Reply post(httplib::Client& client, const std::string& path, const nlohmann::json& body,
           const std::string& token) {
  return post_raw(client, path, body.dump(), "application/json", token);
}

Reply post_raw(httplib::Client& client, const std::string& path, const std::string& body,
               const std::string& content_type, const std::string& token) {
  return to_reply(client.Post(path.c_str(), auth_headers(token), body, content_type.c_str()));
}

}  // namespace carbonmeter::testing
