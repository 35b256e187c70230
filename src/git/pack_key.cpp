#include "git/pack_key.hpp"

#include <algorithm>
#include <vector>

namespace outpost::git {
namespace {

// The payloads of a validated request, in order; "" marks a flush or delimiter packet.
std::vector<std::string_view> payloads(std::string_view body) {
  std::vector<std::string_view> out;
  std::size_t off = 0;
  while (off + 4 <= body.size()) {
    unsigned len = 0;
    for (int i = 0; i < 4; ++i) {
      char c = body[off + i];
      len = len * 16 + static_cast<unsigned>(c <= '9' ? c - '0' : c - 'a' + 10);
    }
    if (len <= 2) {
      out.emplace_back();
      off += 4;
      continue;
    }
    auto p = body.substr(off + 4, len - 4);
    if (!p.empty() && p.back() == '\n') p.remove_suffix(1);
    out.push_back(p);
    off += len;
  }
  return out;
}

bool about_the_client(std::string_view item) {
  return item.starts_with("agent=") || item.starts_with("session-id=");
}

std::string joined(std::vector<std::string> items) {
  std::ranges::sort(items);
  std::string out;
  for (const auto& i : items) out += i + "\n";
  return out;
}

std::optional<std::string> canonical_v0(const std::vector<std::string_view>& lines) {
  // want <oid> <caps…> (capabilities on the first want only), want…, shallow…, deepen…, filter,
  // flush, have…, done.
  std::vector<std::string> wants, caps, shallow, haves, other;
  bool done = false;
  for (auto l : lines) {
    if (l.empty()) continue;
    if (l == "done") {
      done = true;
    } else if (l.starts_with("want ")) {
      auto rest = l.substr(5);
      auto space = rest.find(' ');
      wants.emplace_back(rest.substr(0, space));
      while (space != std::string_view::npos) {
        rest = rest.substr(space + 1);
        space = rest.find(' ');
        auto cap = rest.substr(0, space);
        if (!cap.empty() && !about_the_client(cap)) caps.emplace_back(cap);
      }
    } else if (l.starts_with("have ")) {
      haves.emplace_back(l);
    } else if (l.starts_with("shallow ")) {
      shallow.emplace_back(l);
    } else {
      other.emplace_back(l);  // deepen, deepen-since, deepen-not, filter
    }
  }
  if (!done) return std::nullopt;
  return "v0\nwants\n" + joined(wants) + "caps\n" + joined(caps) + "shallow\n" + joined(shallow) +
         "args\n" + joined(other) + "haves\n" + joined(haves);
}

std::optional<std::string> canonical_v2(const std::vector<std::string_view>& lines) {
  // command=fetch, capability lines, delimiter, arguments, flush.
  std::vector<std::string> caps, args;
  bool fetch = false, done = false, in_args = false;
  for (auto l : lines) {
    if (l.empty()) {
      in_args = true;  // the delimiter (a flush ends the request)
      continue;
    }
    if (!in_args) {
      if (l == "command=fetch")
        fetch = true;
      else if (!about_the_client(l))
        caps.emplace_back(l);
      continue;
    }
    if (l == "done")
      done = true;
    else
      args.emplace_back(l);  // want, have, shallow, deepen*, filter, thin-pack, ofs-delta, …
  }
  // Every fetch command is keyed: a server that finds a common base ("ready") sends the pack in
  // the same response, without a "done" from the client.
  if (!fetch) return std::nullopt;
  if (done) args.emplace_back("done");
  return "v2\ncaps\n" + joined(caps) + "args\n" + joined(args);
}

}  // namespace

std::optional<std::string> canonical_fetch_request(std::string_view body, int version) {
  auto lines = payloads(body);
  return version == 2 ? canonical_v2(lines) : canonical_v0(lines);
}

}  // namespace outpost::git
