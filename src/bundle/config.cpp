#include "bundle/config.hpp"

#include <fmt/format.h>

namespace outpost::config {

const KeyTable<BundleConfig>& bundle_keys() {
  using B = BundleConfig;
  static const KeyTable<B> t{
      {"allowed_sources",
       [](const Section& s, std::string_view k, B& b) {
         auto list = s.strings(k, "URL or path prefixes");
         for (std::size_t i = 0; i < list.size(); ++i) {
           const auto& v = list[i];
           if (!v.starts_with("http://") && !v.starts_with("https://") &&
               !v.starts_with("oci://") && !v.starts_with("/"))
             bad(s.origin(), fmt::format("{}[{}]", s.key(k), i),
                 "must be an http(s) URL, an oci:// reference or an absolute path prefix");
         }
         b.allowed_sources = std::move(list);
       }},
      config::integer_key("download_attempts", &B::download_attempts, 1),
      config::duration_key("stall_timeout", &B::stall_timeout),
      {"trust_keys",
       [](const Section& s, std::string_view k, B& b) {
         auto files = s.strings(k, "PEM public key files");
         for (std::size_t i = 0; i < files.size(); ++i) {
           auto key = fmt::format("{}[{}]", s.key(k), i);
           auto text = read_secret_file(s.origin(), key, files[i]);
           if (text.find("BEGIN PUBLIC KEY") == std::string::npos)
             bad(s.origin(), key, "is not a PEM public key");
           b.trust_keys.push_back(text);
         }
       }},
  };
  return t;
}

}  // namespace outpost::config
