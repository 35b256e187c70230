#pragma once
// ed25519 signatures (OpenSSL) for bundles: outpost-bundle.json.sig holds the base64 signature
// of outpost-bundle.json, which lists every blob digest, so it vouches for the whole bundle.
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace outpost {

// Signs with a PEM private key file. Returns the base64 signature.
Result<std::string> sign_ed25519(const std::filesystem::path& private_key_pem,
                                 std::string_view data);
// True when `signature_b64` is a valid signature of `data` by one of the PEM public keys.
bool verify_ed25519(const std::vector<std::string>& public_keys_pem, std::string_view data,
                    std::string_view signature_b64);

}  // namespace outpost
