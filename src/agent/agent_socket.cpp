#include "agent/agent_socket.hpp"

#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>
#include <vector>

#include "agent/agent_log.hpp"

namespace carbonmeter::agent {
namespace {

constexpr int kBacklog = 128;

std::string errno_text(int error_number) { return std::strerror(error_number); }

Result<sockaddr_un> socket_address(const std::string& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof address.sun_path)
    return Error{"--socket " + path + ": " + std::to_string(path.size()) +
                 " bytes long, and a Unix socket path holds at most " +
                 std::to_string(sizeof address.sun_path - 1) + ": choose a shorter path"};
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  return address;
}

// What is at PATH now: nothing (fine), a stale socket (removed), or a reason to refuse.
Result<bool> clear_stale_socket(const std::string& path, const sockaddr_un& address) {
  struct stat info {};
  if (::lstat(path.c_str(), &info) != 0) {
    if (errno == ENOENT) return false;
    return Error{"--socket " + path + ": cannot look at it: " + errno_text(errno)};
  }
  if (!S_ISSOCK(info.st_mode))
    return Error{"--socket " + path + " exists and is not a socket: remove it or choose another path"};
  const int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (probe < 0) return Error{"cannot create a Unix socket: " + errno_text(errno)};
  timeval timeout{1, 0};
  ::setsockopt(probe, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  const int connected = ::connect(probe, reinterpret_cast<const sockaddr*>(&address), sizeof address);
  const int connect_errno = errno;
  const PeerCredentials peer = connected == 0 ? peer_credentials(probe) : PeerCredentials{};
  ::close(probe);
  if (connected == 0)
    return Error{"--socket " + path + ": another agent serves it already (" + describe_peer(peer) +
                 "): stop that one first, or choose another path"};
  if (connect_errno != ECONNREFUSED)
    return Error{"--socket " + path + " exists and cannot be checked (" + errno_text(connect_errno) +
                 "): remove it or choose another path"};
  // No one listens: a socket left by an agent that was killed. Removed, as it is only a name.
  if (::unlink(path.c_str()) != 0 && errno != ENOENT)
    return Error{"--socket " + path + ": cannot remove the stale socket: " + errno_text(errno)};
  return true;
}

Status check_folder(const std::string& path) {
  std::filesystem::path folder = std::filesystem::path(path).parent_path();
  if (folder.empty()) folder = ".";
  struct stat info {};
  if (::stat(folder.c_str(), &info) != 0 || !S_ISDIR(info.st_mode))
    return Error{
        "--socket " + path + ": folder " + folder.string() + " does not exist: create it (`mkdir -p " +
        folder.string() +
        "`; the systemd unit's RuntimeDirectory=carbonmeter makes /run/carbonmeter) or choose another path"};
  if (::access(folder.c_str(), W_OK | X_OK) != 0)
    return Error{"--socket " + path + ": folder " + folder.string() + " is not writable by this user (" +
                 errno_text(errno) + "): run the agent as root, or choose another path"};
  // The socket's group and mode are set by path after bind: in a folder others may write to (and
  // rename in), the path could be swapped for a link to another file first.
  if ((info.st_mode & (S_IWGRP | S_IWOTH)) != 0 && (info.st_mode & S_ISVTX) == 0)
    return Error{"--socket " + path + ": folder " + folder.string() +
                 " is writable by other users without the sticky bit: use a folder only the agent's user can "
                 "write to, such as /run/carbonmeter"};
  return Ok{};
}

}  // namespace

Result<gid_t> resolve_group(const std::string& group) {
  if (group.empty()) return Error{"--group: give a group name"};
  std::vector<char> buffer(16384);
  struct group entry {};
  struct group* found = nullptr;
  int status = 0;
  while ((status = ::getgrnam_r(group.c_str(), &entry, buffer.data(), buffer.size(), &found)) == ERANGE &&
         buffer.size() < (1u << 20))
    buffer.resize(buffer.size() * 4);
  if (status == 0 && found) return found->gr_gid;
  if (group.find_first_not_of("0123456789") == std::string::npos && group.size() <= 9) {
    const auto gid = static_cast<gid_t>(std::stoul(group));
    if (::getgrgid_r(gid, &entry, buffer.data(), buffer.size(), &found) == 0 && found) return gid;
  }
  return Error{"--group " + group + ": no such group here: create it (`sudo groupadd " + group +
               "`) and add the users who may read the counters (`sudo usermod -aG " + group + " USER`)"};
}

Result<ListeningSocket> ListeningSocket::create(const std::string& path_given, std::optional<gid_t> group) {
  std::error_code ec;
  const std::string path =
      path_given.empty() ? path_given : std::filesystem::absolute(path_given, ec).string();
  if (path.empty() || ec) return Error{"--socket: give the path of the socket to create"};
  auto address = socket_address(path);
  if (!address) return address.error();
  if (auto folder = check_folder(path); !folder) return folder.error();
  auto cleared = clear_stale_socket(path, address.value());
  if (!cleared) return cleared.error();

  ListeningSocket out;
  out.path_ = path;
  out.replaced_stale_ = cleared.value();
  out.fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (out.fd_ < 0) return Error{"cannot create a Unix socket: " + errno_text(errno)};
  // The file is made 0600 at bind (umask), and opened to the group before listen(): no client can
  // connect before the mode is final.
  const mode_t old_mask = ::umask(0177);
  const int bound =
      ::bind(out.fd_, reinterpret_cast<const sockaddr*>(&address.value()), sizeof address.value());
  const int bind_errno = errno;
  ::umask(old_mask);
  if (bound != 0) {
    const std::string reason = errno_text(bind_errno);
    ::close(out.fd_);
    out.fd_ = -1;
    if (bind_errno == EADDRINUSE)
      return Error{"--socket " + path + ": something appeared there meanwhile: is another agent starting?"};
    return Error{"--socket " + path + ": cannot create the socket: " + reason +
                 (bind_errno == EACCES || bind_errno == EPERM || bind_errno == EROFS
                      ? ": run the agent as root, or choose a writable folder"
                      : "")};
  }
  struct stat info {};
  if (::stat(path.c_str(), &info) == 0) {
    out.device_ = info.st_dev;
    out.inode_ = info.st_ino;
  }
  out.mode_ = 0600;
  if (group) {
    // Already the group when it is the agent's own (systemd's Group=): no chown, which a seccomp
    // filter without @chown would refuse.
    if (info.st_gid != *group && ::chown(path.c_str(), static_cast<uid_t>(-1), *group) != 0)
      return Error{"--socket " + path + ": cannot give it to group " + std::to_string(*group) + ": " +
                   errno_text(errno) + ": run the agent as root, or as a member of that group"};
    if (::chmod(path.c_str(), 0660) != 0)
      return Error{"--socket " + path + ": cannot set its mode to 0660: " + errno_text(errno)};
    out.mode_ = 0660;
  }
  if (::listen(out.fd_, kBacklog) != 0)
    return Error{"--socket " + path + ": cannot listen: " + errno_text(errno)};
  return out;
}

ListeningSocket::ListeningSocket(ListeningSocket&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      path_(std::move(other.path_)),
      mode_(other.mode_),
      device_(other.device_),
      inode_(other.inode_),
      replaced_stale_(other.replaced_stale_) {
  other.path_.clear();
}

ListeningSocket::~ListeningSocket() {
  if (fd_ >= 0) ::close(fd_);
  if (path_.empty()) return;
  // Removed only while it is still ours: another agent may have replaced a stale one meanwhile.
  struct stat info {};
  if (::lstat(path_.c_str(), &info) == 0 && S_ISSOCK(info.st_mode) && info.st_dev == device_ &&
      info.st_ino == inode_)
    ::unlink(path_.c_str());
}

}  // namespace carbonmeter::agent
