// open_storage: picks the back end from the storage URL.
#include <string>

#include "server/storage.hpp"

namespace carbonmeter::server {

Result<std::unique_ptr<Storage>> open_storage(const std::string& url) {
  if (url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0) {
    return open_postgres_storage(url);
  }
  std::string path = url;
  if (path.rfind("sqlite://", 0) == 0) {
    path = path.substr(9);
  } else if (path.rfind("sqlite:", 0) == 0) {
    path = path.substr(7);
  }
  if (path.empty()) {
    return Error{"storage URL '" + url +
                 "' names no file: use sqlite:PATH (e.g. sqlite:carbonmeter.db) or "
                 "postgresql://USER:PASSWORD@HOST/DB"};
  }
  if (path.find("://") != std::string::npos) {
    return Error{"storage URL '" + url +
                 "' has an unknown scheme: use sqlite:PATH or postgresql://USER:PASSWORD@HOST/DB"};
  }
  return open_sqlite_storage(path);
}

}  // namespace carbonmeter::server
