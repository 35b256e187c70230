#include "core/config_section.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace outpost::config {

void bad(const std::string& origin, const std::string& key, const std::string& what) {
  throw ConfigError(fmt::format("{}: {}: {}", origin, key, what));
}

Section::Section(const YAML::Node& node, std::string path, const std::string& origin)
    : node_(node), path_(std::move(path)), origin_(origin) {
  if (!node_.IsMap()) bad(origin_, path_.empty() ? "(top level)" : path_, "must be a mapping");
}

std::string Section::key(std::string_view k) const {
  return path_.empty() ? std::string(k) : fmt::format("{}.{}", path_, k);
}

bool Section::has(std::string_view k) const {
  auto n = node_[std::string(k)];
  return n && !n.IsNull();
}

void Section::only(const std::vector<std::string_view>& known) const {
  for (auto it = node_.begin(); it != node_.end(); ++it) {
    auto k = it->first.as<std::string>();
    bool listed = false;
    for (auto name : known) listed = listed || name == k;
    if (!listed) bad(origin_, key(k), "unknown key");
  }
}

void Section::str(std::string_view k, std::string& out) const {
  if (!has(k)) return;
  if (!node(k).IsScalar()) bad(origin_, key(k), "must be a string");
  out = node(k).as<std::string>();
}

void Section::boolean(std::string_view k, bool& out) const {
  if (!has(k)) return;
  try {
    out = node(k).as<bool>();
  } catch (const YAML::Exception&) {
    bad(origin_, key(k), "must be true or false");
  }
}

void Section::duration(std::string_view k, Millis& out) const {
  if (!has(k)) return;
  std::string s;
  str(k, s);
  auto d = parse_duration(s);
  if (!d) bad(origin_, key(k), d.error().message);
  out = *d;
}

long long Section::integer_at_least(std::string_view k, long long min) const {
  std::string s;
  str(k, s);
  long long v{};
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v < min)
    bad(origin_, key(k), fmt::format("must be an integer >= {}", min));
  return v;
}

void Section::fraction(std::string_view k, double& out) const {
  if (!has(k)) return;
  std::string v;
  str(k, v);
  char* end = nullptr;
  double d = std::strtod(v.c_str(), &end);
  if (end == v.c_str() || *end != '\0' || d <= 0 || d >= 1)
    bad(origin_, key(k), "must be a fraction between 0 and 1, e.g. 0.9");
  out = d;
}

std::vector<std::string> Section::strings(std::string_view k, std::string_view what) const {
  std::vector<std::string> out;
  if (!has(k)) return out;
  auto list = node(k);
  if (!list.IsSequence()) bad(origin_, key(k), fmt::format("must be a list of {}", what));
  for (std::size_t i = 0; i < list.size(); ++i) {
    if (!list[i].IsScalar()) bad(origin_, fmt::format("{}[{}]", key(k), i), "must be a string");
    out.push_back(list[i].as<std::string>());
  }
  return out;
}

void Section::sections(std::string_view k,
                       const std::function<void(const Section&, std::size_t)>& each) const {
  if (!has(k)) return;
  auto list = node(k);
  if (!list.IsSequence()) bad(origin_, key(k), "must be a list");
  for (std::size_t i = 0; i < list.size(); ++i)
    each(Section(list[i], fmt::format("{}[{}]", key(k), i), origin_), i);
}

std::string Section::secret(std::string_view file_key, std::string_view env_key) const {
  std::string file, env;
  str(file_key, file);
  str(env_key, env);
  if (!file.empty() && !env.empty())
    bad(origin_, key(env_key), fmt::format("give {} or {}, not both", file_key, env_key));
  if (!file.empty()) return read_secret_file(origin_, key(file_key), file);
  if (env.empty()) return {};
  const char* v = std::getenv(env.c_str());
  if (!v) bad(origin_, key(env_key), fmt::format("environment variable {} is not set", env));
  return v;
}

std::string read_secret_file(const std::string& origin, const std::string& key,
                             const std::string& path) {
  std::ifstream in(path);
  if (!in) bad(origin, key, fmt::format("cannot read '{}'", path));
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

}  // namespace outpost::config
