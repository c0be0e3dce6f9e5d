// The agent's listening socket: a Unix stream socket at PATH whose file mode is the access control
// (0660 and the group given, else 0600), created only where nothing else lives, removed at exit.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "carbonmeter/result.hpp"

namespace carbonmeter::agent {

// A group name or number → its gid; the error says how to create it.
Result<gid_t> resolve_group(const std::string& group);

class ListeningSocket {
 public:
  // Refuses when PATH's folder is missing or unwritable, when PATH is anything but a stale socket
  // (a socket that no one answers on is removed), or when another agent answers on it. group:
  // mode 0660 and that group; none: mode 0600 (only the agent's user can connect).
  static Result<ListeningSocket> create(const std::string& path, std::optional<gid_t> group);
  ListeningSocket(ListeningSocket&& other) noexcept;
  ListeningSocket& operator=(ListeningSocket&& other) = delete;
  ListeningSocket(const ListeningSocket&) = delete;
  ListeningSocket& operator=(const ListeningSocket&) = delete;
  // Closes the socket and removes PATH, if PATH is still this socket.
  ~ListeningSocket();

  int fd() const { return fd_; }
  const std::string& path() const { return path_; }
  mode_t mode() const { return mode_; }
  // Whether an existing stale socket was removed to make this one.
  bool replaced_stale() const { return replaced_stale_; }

 private:
  ListeningSocket() = default;

  int fd_ = -1;
  std::string path_;
  mode_t mode_ = 0;
  dev_t device_ = 0;
  ino_t inode_ = 0;
  bool replaced_stale_ = false;
};

}  // namespace carbonmeter::agent
