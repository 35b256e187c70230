#pragma once
// Reading one YAML mapping of the config against its key table. Each section of the config has
// exactly one table: the keys it accepts and how each is read. A key the table does not list is an
// error (typos are errors, not no-ops), so the accepted keys and the read keys cannot drift apart.
// Internal to core/config.cpp and its tests.
#include <yaml-cpp/yaml.h>

#include <functional>
#include <string>

#include <string_view>
#include <vector>
#include "core/config.hpp"
#include "core/duration.hpp"

namespace outpost::config {

// Throws ConfigError "<origin>: <key>: <what>".
[[noreturn]] void bad(const std::string& origin, const std::string& key, const std::string& what);

// One mapping of the document, with its dotted path for error messages.
class Section {
 public:
  // Throws unless `node` is a mapping.
  Section(const YAML::Node& node, std::string path, const std::string& origin);

  std::string key(std::string_view k) const;
  bool has(std::string_view k) const;
  YAML::Node node(std::string_view k) const { return node_[std::string(k)]; }
  const std::string& origin() const { return origin_; }
  // Throws, naming the first key of the mapping that is not in `known`.
  void only(const std::vector<std::string_view>& known) const;

  // Each reader leaves `out` untouched when the key is absent or null, and throws when it is the
  // wrong type.
  void str(std::string_view k, std::string& out) const;
  void boolean(std::string_view k, bool& out) const;
  void duration(std::string_view k, Millis& out) const;
  template <class Int>
  void integer(std::string_view k, Int& out, Int min) const {
    if (has(k)) out = static_cast<Int>(integer_at_least(k, static_cast<long long>(min)));
  }
  void fraction(std::string_view k, double& out) const;  // 0 < v < 1
  // A list of scalars (empty when absent); `what` says what each entry is, for the error.
  std::vector<std::string> strings(std::string_view k, std::string_view what) const;
  // A list of mappings, each handed to `each` as a Section named `<key>[i]`.
  void sections(std::string_view k,
                const std::function<void(const Section&, std::size_t)>& each) const;

  // password_file / password_env (at most one); "" when neither is given.
  std::string secret(std::string_view file_key, std::string_view env_key) const;

 private:
  long long integer_at_least(std::string_view k, long long min) const;

  YAML::Node node_;
  std::string path_;
  const std::string& origin_;
};

// Reads a whole file named by a config key; trailing newlines dropped. Throws naming the key.
std::string read_secret_file(const std::string& origin, const std::string& key,
                             const std::string& path);

// One row of a key table: a key of the section and how it is read into T.
template <class T>
struct Key {
  std::string_view name;
  std::function<void(const Section&, std::string_view name, T&)> read;
  // For a nested mapping or list of mappings: the dotted key paths below it ("url",
  // "mirrors[].url"), relative to it. Empty for a scalar or a list of scalars.
  std::function<std::vector<std::string>()> children = {};
  bool list = false;  // children are entries of a list: "upstreams[].url"
};

template <class T>
using KeyTable = std::vector<Key<T>>;

// Every key path a table accepts, depth first ("log.format", "registry.upstreams[].url").
template <class T>
std::vector<std::string> key_paths(const KeyTable<T>& table) {
  std::vector<std::string> out;
  for (const auto& k : table) {
    out.emplace_back(k.name);
    if (!k.children) continue;
    for (const auto& c : k.children())
      out.push_back(std::string(k.name) + (k.list ? "[]." : ".") + c);
  }
  return out;
}

// Refuses keys not in `table`, then reads every row that is present, in table order.
template <class T>
void read_keys(const Section& s, const KeyTable<T>& table, T& out) {
  std::vector<std::string_view> known;
  for (const auto& k : table) known.push_back(k.name);
  s.only(known);
  for (const auto& k : table)
    if (s.has(k.name)) k.read(s, k.name, out);
}

// Marks `key` (which reads a list of mappings itself) as a list whose entries use `table`, so
// key_paths lists the entries' keys.
template <class T, class Entry>
Key<T> list_of(Key<T> key, const KeyTable<Entry>& (*table)()) {
  key.children = [table] { return key_paths(table()); };
  key.list = true;
  return key;
}

// Row builders for the plain cases; anything else is a lambda row.
template <class T>
Key<T> string_key(std::string_view k, std::string T::*m) {
  return {k, [m](const Section& s, std::string_view n, T& t) { s.str(n, t.*m); }};
}
template <class T>
Key<T> bool_key(std::string_view k, bool T::*m) {
  return {k, [m](const Section& s, std::string_view n, T& t) { s.boolean(n, t.*m); }};
}
template <class T>
Key<T> duration_key(std::string_view k, Millis T::*m) {
  return {k, [m](const Section& s, std::string_view n, T& t) { s.duration(n, t.*m); }};
}
template <class T, class Int>
Key<T> integer_key(std::string_view k, Int T::*m, Int min) {
  return {k, [m, min](const Section& s, std::string_view n, T& t) { s.integer(n, t.*m, min); }};
}
template <class T>
Key<T> fraction_key(std::string_view k, double T::*m) {
  return {k, [m](const Section& s, std::string_view n, T& t) { s.fraction(n, t.*m); }};
}
// A nested mapping read with its own table.
template <class T, class Sub>
Key<T> section_key(std::string_view k, Sub T::*m, const KeyTable<Sub>& (*table)()) {
  return {k,
          [m, table](const Section& s, std::string_view n, T& t) {
            read_keys(Section(s.node(n), s.key(n), s.origin()), table(), t.*m);
          },
          [table] { return key_paths(table()); }};
}

}  // namespace outpost::config
