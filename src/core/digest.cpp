#include "core/digest.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <stdexcept>
#include <vector>

#include "core/fd.hpp"

namespace outpost {

Result<Digest> Digest::parse(std::string_view text) {
  constexpr std::string_view prefix = "sha256:";
  if (!text.starts_with(prefix)) {
    if (text.find(':') == std::string_view::npos)
      return fail(Errc::invalid_argument, "digest must look like sha256:<hex>");
    return fail(Errc::invalid_argument, "unsupported digest algorithm (only sha256)");
  }
  auto hex = text.substr(prefix.size());
  if (hex.size() != 64)
    return fail(Errc::invalid_argument, "sha256 digest must have 64 hex digits");
  for (char c : hex) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
      return fail(Errc::invalid_argument, "digest hex must be lowercase 0-9a-f");
  }
  return Digest(std::string(text));
}

Digest Digest::from_hex(std::string_view hex) {
  return Digest("sha256:" + std::string(hex));
}

struct Sha256::Impl {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ~Impl() { EVP_MD_CTX_free(ctx); }
};

Sha256::Sha256() : impl_(std::make_unique<Impl>()) {
  if (!impl_->ctx || EVP_DigestInit_ex(impl_->ctx, EVP_sha256(), nullptr) != 1)
    throw std::runtime_error("OpenSSL SHA-256 init failed");
}
Sha256::~Sha256() = default;

void Sha256::update(std::span<const char> bytes) {
  EVP_DigestUpdate(impl_->ctx, bytes.data(), bytes.size());
}

Digest Sha256::finish() {
  std::array<unsigned char, 32> out{};
  unsigned int len = 0;
  EVP_DigestFinal_ex(impl_->ctx, out.data(), &len);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(64);
  for (unsigned char b : out) {
    hex.push_back(kHex[b >> 4]);
    hex.push_back(kHex[b & 15]);
  }
  return Digest::from_hex(hex);
}

Digest sha256_of(std::string_view bytes) {
  Sha256 h;
  h.update(bytes);
  return h.finish();
}

Result<Digest> sha256_of_file(const std::filesystem::path& file,
                              const std::function<bool(std::uint64_t done)>& progress) {
  UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return fail_errno("opening " + file.string(), errno);
  Sha256 h;
  std::vector<char> buf(1 << 20);
  std::uint64_t done = 0;
  for (;;) {
    auto n = ::read(fd.get(), buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail_errno("reading " + file.string(), errno);
    if (n == 0) break;
    h.update(std::span<const char>(buf.data(), static_cast<std::size_t>(n)));
    done += static_cast<std::uint64_t>(n);
    if (progress && !progress(done)) return fail(Errc::cancelled, "stopped");
  }
  return h.finish();
}

}  // namespace outpost
