#include "core/signing.hpp"

#include "core/encoding.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <fstream>
#include <memory>
#include <sstream>

namespace outpost {
namespace {

using PKey = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using MdCtx = std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)>;
using Bio = std::unique_ptr<BIO, decltype(&BIO_free)>;

}  // namespace

Result<std::string> sign_ed25519(const std::filesystem::path& key_path, std::string_view data) {
  std::ifstream in(key_path);
  if (!in) return fail(Errc::io, "cannot read signing key " + key_path.string());
  std::stringstream ss;
  ss << in.rdbuf();
  auto pem = ss.str();
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  PKey key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr), EVP_PKEY_free);
  if (!key || EVP_PKEY_id(key.get()) != EVP_PKEY_ED25519)
    return fail(Errc::invalid_argument, key_path.string() + " is not an ed25519 private key (PEM)");
  MdCtx ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  unsigned char sig[64];
  std::size_t len = sizeof sig;
  if (EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1 ||
      EVP_DigestSign(ctx.get(), sig, &len, reinterpret_cast<const unsigned char*>(data.data()),
                     data.size()) != 1)
    return fail(Errc::internal, "ed25519 signing failed");
  return base64_encode(std::string_view(reinterpret_cast<const char*>(sig), len));
}

bool verify_ed25519(const std::vector<std::string>& keys, std::string_view data,
                    std::string_view signature_b64) {
  auto sig = base64_decode(signature_b64);
  if (sig.size() != 64) return false;
  for (const auto& pem : keys) {
    Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
    PKey key(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr), EVP_PKEY_free);
    if (!key || EVP_PKEY_id(key.get()) != EVP_PKEY_ED25519) continue;
    MdCtx ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    if (EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) == 1 &&
        EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                         reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1)
      return true;
  }
  return false;
}

}  // namespace outpost
