#pragma once
// Small encodings used at the edges: base64 (HTTP Basic, signatures), hex, HMAC-SHA256 (webhook
// signatures). One implementation each, on OpenSSL.
#include <string>
#include <string_view>

namespace outpost {

std::string base64_encode(std::string_view bytes);
// The value of an HTTP Basic Authorization header: "Basic base64(user:password)".
std::string basic_auth(std::string_view user, std::string_view password);
// Empty on malformed input.
std::string base64_decode(std::string_view text);
std::string hex_encode(std::string_view bytes);
// A query parameter's value, percent-encoded (everything but RFC 3986 unreserved characters).
std::string percent_encode(std::string_view text);
// Lowercase hex HMAC-SHA256 of `data` keyed with `key` (GitHub's X-Hub-Signature-256 format
// without the "sha256=" prefix).
std::string hmac_sha256_hex(std::string_view key, std::string_view data);
// Equality of secrets (tokens, signatures) in time that depends only on the lengths.
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace outpost
