#include "core/text_file.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace carbonmeter {

Result<std::string> read_text_file(const std::string& path, std::uint64_t max_bytes) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (!ec && std::filesystem::exists(status) && !std::filesystem::is_regular_file(status))
    return Error{"cannot read " + path + ": not a regular file"};
  if (const std::uintmax_t size = std::filesystem::file_size(path, ec); !ec && size > max_bytes)
    return Error{fmt::format("{}: {} MiB is more than any such file carbonmeter reads ({} MiB at most)", path,
                             size >> 20, max_bytes >> 20)};
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{"cannot read " + path + ": " + std::strerror(errno)};
  std::ostringstream content;
  content << in.rdbuf();
  if (in.bad()) return Error{"cannot read " + path + ": " + std::strerror(errno)};
  return content.str();
}

RereadableFile::RereadableFile(std::string path, std::size_t max_bytes)
    : path_(std::move(path)), buffer_(max_bytes, '\0') {}

RereadableFile::RereadableFile(RereadableFile&& other) noexcept
    : path_(std::move(other.path_)),
      fd_(other.fd_),
      last_errno_(other.last_errno_),
      buffer_(std::move(other.buffer_)) {
  other.fd_ = -1;
}

RereadableFile& RereadableFile::operator=(RereadableFile&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    path_ = std::move(other.path_);
    fd_ = other.fd_;
    last_errno_ = other.last_errno_;
    buffer_ = std::move(other.buffer_);
    other.fd_ = -1;
  }
  return *this;
}

RereadableFile::~RereadableFile() {
  if (fd_ >= 0) ::close(fd_);
}

Status RereadableFile::open() {
  if (fd_ >= 0) return Ok{};
  // Non-blocking, and only regular files: a FIFO or socket planted in a fake tree must not hang us.
  fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd_ < 0) {
    last_errno_ = errno;
    return Error{path_ + ": " + std::strerror(last_errno_)};
  }
  struct stat info {};
  if (::fstat(fd_, &info) != 0 || !S_ISREG(info.st_mode)) {
    ::close(fd_);
    fd_ = -1;
    last_errno_ = EINVAL;
    return Error{path_ + ": not a regular file"};
  }
  return Ok{};
}

Result<std::string_view> RereadableFile::read() {
  if (fd_ < 0) {
    if (auto opened = open(); !opened) return opened.error();
  }
  std::size_t filled = 0;
  while (filled < buffer_.size()) {
    ssize_t n = ::pread(fd_, buffer_.data() + filled, buffer_.size() - filled, static_cast<off_t>(filled));
    if (n < 0) {
      if (errno == EINTR) continue;
      last_errno_ = errno;
      return Error{path_ + ": " + std::strerror(last_errno_)};
    }
    if (n == 0) break;
    const bool short_read = static_cast<std::size_t>(n) < buffer_.size() - filled;
    filled += static_cast<std::size_t>(n);
    if (short_read) break;
  }
  return std::string_view(buffer_.data(), filled);
}

Result<std::uint64_t> RereadableFile::read_u64() {
  auto text = read();
  if (!text) return text.error();
  auto value = parse_u64(text.value());
  if (!value)
    return Error{path_ + ": expected an unsigned integer, found '" +
                 std::string(trim(text.value()).substr(0, 40)) + "'"};
  return *value;
}

std::string_view trim(std::string_view text) {
  const char* spaces = " \t\r\n";
  auto first = text.find_first_not_of(spaces);
  if (first == std::string_view::npos) return {};
  auto last = text.find_last_not_of(spaces);
  return text.substr(first, last - first + 1);
}

std::optional<std::uint64_t> parse_u64(std::string_view text) {
  text = trim(text);
  if (text.empty()) return std::nullopt;
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace carbonmeter
