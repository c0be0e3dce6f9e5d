// API tokens: `cm_` + 64 hex digits (32 random bytes). The server stores only their SHA-256
// (hex) and compares hashes in constant time after looking them up by hash.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "carbonmeter/result.hpp"
#include "server/storage.hpp"

namespace carbonmeter::server {

// A new token: 32 bytes from getrandom(2), hex-encoded, with the `cm_` prefix.
Result<std::string> generate_token();

// SHA-256 of `text` as 64 lower-case hex digits (OpenSSL EVP).
std::string sha256_hex(std::string_view text);

// Equal length and equal bytes, in time that does not depend on where they differ.
bool constant_time_equal(std::string_view a, std::string_view b);

// Who made a request.
struct Caller {
  bool authenticated = false;  // false: no token (only possible on public reads and /health)
  bool admin = false;
  std::optional<std::int64_t> project_id;  // set for a project token
  std::string token_sha256_hex;            // "" when not authenticated
};

// The token from an `Authorization: Bearer TOKEN` header value ("" when absent or malformed).
std::string bearer_token(std::string_view authorization_header);

// Looks the token up by hash. Ok(nullopt): no such token. Error: the storage failed.
// `admin_token_sha256_hex`: the admin token given with --admin-token-file or
// CARBONMETER_ADMIN_TOKEN, held in memory only (it is not stored).
Result<std::optional<Caller>> authenticate_token(Storage& storage, const std::string& token,
                                                 const std::optional<std::string>& admin_token_sha256_hex);

// Makes sure an admin token exists when none was configured: on the first start, generates one,
// stores its hash and returns it so that it can be printed once. Ok(nullopt): one was generated
// before (its secret is gone; start with --admin-token-file to use another).
Result<std::optional<std::string>> ensure_generated_admin_token(Storage& storage);

// Reads an admin token from a file (first line, trimmed) and checks its length.
Result<std::string> read_admin_token_file(const std::string& path);
// Checks a configured admin token (at least 16 printable characters, no spaces).
Status check_admin_token(const std::string& token, const std::string& source);

}  // namespace carbonmeter::server
