// API tokens: generation (getrandom), hashing (SHA-256, OpenSSL EVP), constant-time comparison.
#include "server/auth.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <sys/random.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <memory>
#include <stdexcept>

namespace carbonmeter::server {
namespace {

constexpr std::string_view kTokenPrefix = "cm_";
// Recorded (as a token hash) beside the generated admin token so that later starts know one
// exists: the hash of a text with spaces, which authenticate_token never accepts as a token.
constexpr std::string_view kGeneratedAdminMarker = "carbonmeter marker: an admin token was generated";

// Tokens are printable ASCII without spaces.
bool is_token_text(std::string_view token) {
  for (const char c : token)
    if (c <= ' ' || c >= 0x7f) return false;
  return true;
}

std::string to_hex(const unsigned char* bytes, std::size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(size * 2);
  for (std::size_t i = 0; i < size; ++i) {
    hex.push_back(kDigits[bytes[i] >> 4]);
    hex.push_back(kDigits[bytes[i] & 0x0f]);
  }
  return hex;
}

double now_unix_s() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

}  // namespace

Result<std::string> generate_token() {
  std::array<unsigned char, 32> bytes{};
  std::size_t filled = 0;
  while (filled < bytes.size()) {
    const ssize_t got = getrandom(bytes.data() + filled, bytes.size() - filled, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      return Error{std::string("cannot generate a token: getrandom failed: ") + std::strerror(errno) +
                   " (the kernel's random source is needed; Linux 3.17 or later)"};
    }
    filled += static_cast<std::size_t>(got);
  }
  std::string token(kTokenPrefix);
  token += to_hex(bytes.data(), bytes.size());
  OPENSSL_cleanse(bytes.data(), bytes.size());
  return token;
}

std::string sha256_hex(std::string_view text) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int digest_size = 0;
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  if (!context || EVP_DigestInit_ex(context.get(), EVP_sha256(), nullptr) != 1 ||
      EVP_DigestUpdate(context.get(), text.data(), text.size()) != 1 ||
      EVP_DigestFinal_ex(context.get(), digest.data(), &digest_size) != 1) {
    throw std::runtime_error("OpenSSL SHA-256 failed");  // a broken libcrypto: a bug, not an input error
  }
  return to_hex(digest.data(), digest_size);
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string bearer_token(std::string_view header) {
  constexpr std::string_view kScheme = "Bearer ";
  if (header.size() <= kScheme.size()) return "";
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    const char c = header[i];
    const char want = kScheme[i];
    if ((c | 0x20) != (want | 0x20)) return "";  // the scheme is case-insensitive
  }
  std::string_view token = header.substr(kScheme.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.remove_suffix(1);
  return std::string(token);
}

Result<std::optional<Caller>> authenticate_token(Storage& storage, const std::string& token,
                                                 const std::optional<std::string>& admin_token_sha256_hex) {
  if (token.empty() || !is_token_text(token)) return std::optional<Caller>{};
  const std::string hash = sha256_hex(token);
  if (admin_token_sha256_hex && constant_time_equal(hash, *admin_token_sha256_hex)) {
    return std::optional<Caller>{Caller{true, true, std::nullopt, hash}};
  }
  auto found = storage.find_token(hash);
  if (!found) return found.error();
  const std::optional<TokenRecord>& record = found.value();
  if (!record || !constant_time_equal(hash, record->sha256_hex)) return std::optional<Caller>{};
  Caller caller;
  caller.authenticated = true;
  caller.admin = !record->project_id.has_value();
  caller.project_id = record->project_id;
  caller.token_sha256_hex = hash;
  return std::optional<Caller>{caller};
}

Result<std::optional<std::string>> ensure_generated_admin_token(Storage& storage) {
  const std::string marker_hash = sha256_hex(kGeneratedAdminMarker);
  auto marker = storage.find_token(marker_hash);
  if (!marker) return marker.error();
  if (marker.value()) return std::optional<std::string>{};
  auto token = generate_token();
  if (!token) return token.error();
  TokenRecord record;
  record.sha256_hex = sha256_hex(token.value());
  record.label = "admin (generated at first start)";
  record.created_unix_s = now_unix_s();
  if (auto added = storage.add_token(record); !added) return added.error();
  TokenRecord marker_record;
  marker_record.sha256_hex = marker_hash;
  marker_record.label = "marker: an admin token was generated (not a token)";
  marker_record.created_unix_s = record.created_unix_s;
  if (auto added = storage.add_token(marker_record); !added) return added.error();
  return std::optional<std::string>{token.value()};
}

Status check_admin_token(const std::string& token, const std::string& source) {
  if (token.size() < 16) {
    return Error{"the admin token from " + source +
                 " is shorter than 16 characters: use a long random one (e.g. `openssl rand -hex 32`)"};
  }
  for (const char c : token) {
    if (c <= ' ' || c == 0x7f) {
      return Error{"the admin token from " + source +
                   " contains spaces or control characters: use letters, digits and punctuation only"};
    }
  }
  return Ok{};
}

Result<std::string> read_admin_token_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return Error{"cannot read --admin-token-file '" + path + "': " + std::strerror(errno) +
                 " (give a readable file whose first line is the token)"};
  }
  std::string line;
  std::getline(in, line);
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.pop_back();
  std::size_t start = 0;
  while (start < line.size() && (line[start] == ' ' || line[start] == '\t')) ++start;
  line.erase(0, start);
  if (auto checked = check_admin_token(line, "--admin-token-file '" + path + "'"); !checked) {
    return checked.error();
  }
  return line;
}

}  // namespace carbonmeter::server
