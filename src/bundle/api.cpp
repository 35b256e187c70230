#include "bundle/api.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <charconv>

#include "bundle/bundle_manifest.hpp"
#include "bundle/fanout.hpp"
#include "bundle/upload.hpp"
#include "cluster/cluster.hpp"
#include "http/status.hpp"

namespace outpost::bundle {
namespace {

http::Response error(int status, const std::string& msg) {
  return http::Response::json(status,
                              nlohmann::json({{"error", msg}})
                                  .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

// One release's status; in a cluster, for a client, with every replica's: "replicas" (this one
// first), "replicas_ready" and "replicas_live" (those that answered).
http::Response release_status(ReleaseJobs& jobs, ReleaseFanout* fanout, bool from_peer,
                              const std::string& name, const std::string& version) {
  auto st = jobs.status(name, version);
  if (!fanout || !fanout->enabled() || from_peer) {
    if (st.state == ReleaseState::unknown) return error(404, "no such release");
    return http::Response::json(200, st.to_json());
  }
  auto j = nlohmann::json::parse(st.to_json());
  j["replicas"] = fanout->replicas(name, version, st);
  std::size_t ready = 0, live = 0, known = 0;
  for (const auto& r : j["replicas"]) {
    auto state = r.value("state", "");
    if (state != "unreachable") ++live;
    if (state != "unreachable" && state != "unknown") ++known;
    if (state == "ready") ++ready;
  }
  if (known == 0) return error(404, "no such release on any replica");
  j["replicas_ready"] = ready;
  j["replicas_live"] = live;
  return http::Response::json(200,
                              j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

}  // namespace

http::Response handle_releases(ReleaseJobs& jobs, ReleaseFanout* fanout, const http::Request& req) {
  const bool from_peer = req.headers.get(cluster::kPeerHeader).has_value();
  std::string_view rest = req.path;
  rest.remove_prefix(std::string_view("/api/v1/releases").size());
  if (rest.empty() || rest == "/") {
    if (req.method == "GET") {
      auto arr = nlohmann::json::array();
      for (const auto& s : jobs.list()) arr.push_back(nlohmann::json::parse(s.to_json()));
      return http::Response::json(
          200, nlohmann::json({{"releases", arr}})
                   .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    }
    if (req.method != "POST") return error(405, "use GET or POST");
    auto j = nlohmann::json::parse(req.body, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("source") || !j.contains("name") ||
        !j.contains("version") || !j["source"].is_string() || !j["name"].is_string() ||
        !j["version"].is_string())
      return error(400, "body must be {\"source\": …, \"name\": …, \"version\": …}");
    auto st = jobs.start(j["name"], j["version"], j["source"]);
    if (!st) return error(http::status_for(st.error().code), st.error().message);
    if (fanout && !from_peer) fanout->after_start(j["name"], j["version"]);
    return http::Response::json(st->state == ReleaseState::ready ? 200 : 202, st->to_json());
  }
  if (req.method != "GET") return error(405, "use GET");
  rest.remove_prefix(1);
  auto slash = rest.find('/');
  if (slash == std::string_view::npos || rest.find('/', slash + 1) != std::string_view::npos)
    return error(404, "expected /api/v1/releases/<name>/<version>");
  return release_status(jobs, fanout, from_peer, std::string(rest.substr(0, slash)),
                        std::string(rest.substr(slash + 1)));
}

namespace {

// "bytes <first>-<last>/<size>" → {first, last, size}.
std::optional<std::array<std::uint64_t, 3>> parse_content_range(std::string_view v) {
  if (!v.starts_with("bytes ")) return std::nullopt;
  v.remove_prefix(6);
  std::array<std::uint64_t, 3> out{};
  const char* p = v.data();
  const char* end = v.data() + v.size();
  for (int i = 0; i < 3; ++i) {
    auto [next, ec] = std::from_chars(p, end, out[i]);
    if (ec != std::errc() || next == p) return std::nullopt;
    p = next;
    if (i < 2) {
      if (p == end || *p != (i == 0 ? '-' : '/')) return std::nullopt;
      ++p;
    }
  }
  if (p != end || out[0] > out[1] || out[1] >= out[2]) return std::nullopt;
  return out;
}

nlohmann::json upload_json(const UploadState& st) {
  return {{"offset", st.offset}, {"size", st.size}, {"digest", st.digest.str()}};
}

http::Response json(int status, const nlohmann::json& j) {
  return http::Response::json(status,
                              j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

}  // namespace

http::Response handle_uploads(Uploads& uploads, ReleaseJobs& jobs, ReleaseFanout* fanout,
                              const http::Request& req) {
  std::string_view rest = req.path;
  rest.remove_prefix(std::string_view("/api/v1/uploads").size());
  if (rest.starts_with('/')) rest.remove_prefix(1);
  auto slash = rest.find('/');
  if (slash == std::string_view::npos || rest.find('/', slash + 1) != std::string_view::npos)
    return error(404, "expected /api/v1/uploads/<name>/<version>");
  const std::string name(rest.substr(0, slash)), version(rest.substr(slash + 1));
  if (!valid_release_part(name) || !valid_release_part(version))
    return error(400, "release name and version must match [A-Za-z0-9][A-Za-z0-9._-]*");
  if (req.method == "DELETE") {
    uploads.remove(name, version);
    return json(200, {{"deleted", true}});
  }
  if (req.method == "GET") {
    auto st = uploads.state(name, version);
    if (!st) return error(http::status_for(st.error().code), st.error().message);
    if (!*st) return error(404, fmt::format("no upload of {} {} in progress", name, version));
    return json(200, upload_json(**st));
  }
  if (req.method != "PUT") return error(405, "use GET, PUT or DELETE");
  // Ready, or being imported (a lost reply to the last chunk): nothing more to send.
  if (auto done = jobs.status(name, version);
      done.state == ReleaseState::ready || done.state == ReleaseState::queued ||
      done.state == ReleaseState::downloading || done.state == ReleaseState::importing) {
    // In a cluster, a replica that missed the first fan-out takes it now.
    if (done.state == ReleaseState::ready && fanout && !req.headers.get(cluster::kPeerHeader))
      fanout->after_start(name, version);
    return json(200, {{"release", nlohmann::json::parse(done.to_json())}});
  }
  auto range = parse_content_range(req.headers.get("Content-Range").value_or(""));
  if (!range) return error(400, "Content-Range must be 'bytes <first>-<last>/<size>' (size > 0)");
  auto digest = Digest::parse(req.headers.get("X-Outpost-Bundle-Digest").value_or(""));
  if (!digest) return error(400, "X-Outpost-Bundle-Digest must be the file's sha256:<hex>");
  const auto [first, last, size] = *range;
  if (req.body.size() != last - first + 1)
    return error(400, fmt::format("the body has {} bytes; Content-Range says {}", req.body.size(),
                                  last - first + 1));
  auto r = uploads.append(name, version, size, *digest, first, req.body);
  if (!r) return error(http::status_for(r.error().code), r.error().message);
  switch (r->outcome) {
    case Appended::Outcome::wrong_offset: {
      auto j = upload_json(r->state);
      j["error"] = fmt::format("the upload holds {} bytes: send from there", r->state.offset);
      return json(416, j);
    }
    case Appended::Outcome::other_upload: {
      auto j = upload_json(r->state);
      j["error"] = fmt::format(
          "another file ({}) is being uploaded for {} {} ({} of {} bytes held): resume it, or "
          "DELETE it first",
          r->state.digest.str(), name, version, r->state.offset, r->state.size);
      return json(409, j);
    }
    case Appended::Outcome::appended:
      break;
  }
  auto j = upload_json(r->state);
  if (!r->state.complete()) return json(202, j);
  auto st = jobs.start_upload(name, version, r->state.file, r->state.digest);
  if (!st) return error(http::status_for(st.error().code), st.error().message);
  if (fanout && !req.headers.get(cluster::kPeerHeader)) fanout->after_start(name, version);
  j["release"] = nlohmann::json::parse(st->to_json());
  return json(202, j);
}

}  // namespace outpost::bundle
