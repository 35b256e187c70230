#pragma once
// Content digests ("sha256:<64 lowercase hex>") and incremental SHA-256 hashing.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace outpost {

class Digest {
 public:
  // Accepts only "sha256:" followed by exactly 64 lowercase hex digits; anything else is
  // Errc::invalid_argument. Other algorithms are refused rather than half-supported.
  static Result<Digest> parse(std::string_view text);
  // REQUIRES: hex is 64 lowercase hex digits.
  static Digest from_hex(std::string_view hex);

  const std::string& str() const { return text_; }
  std::string_view hex() const { return std::string_view(text_).substr(7); }
  bool operator==(const Digest&) const = default;
  auto operator<=>(const Digest&) const = default;

 private:
  explicit Digest(std::string text) : text_(std::move(text)) {}
  std::string text_;
};

// Incremental SHA-256. Not thread-safe; one per stream.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(std::span<const char> bytes);
  void update(std::string_view bytes) { update(std::span(bytes.data(), bytes.size())); }
  Digest finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

Digest sha256_of(std::string_view bytes);

// The sha256 of a file, read in 1 MiB blocks. `progress(done)` runs after each block; returning
// false stops the reading (Errc::cancelled). Errc::io (or no_space) from errno otherwise.
Result<Digest> sha256_of_file(const std::filesystem::path& file,
                              const std::function<bool(std::uint64_t done)>& progress = {});

}  // namespace outpost

template <>
struct std::hash<outpost::Digest> {
  size_t operator()(const outpost::Digest& d) const { return std::hash<std::string>()(d.str()); }
};
