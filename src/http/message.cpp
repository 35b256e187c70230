#include "http/message.hpp"

#include <boost/url/parse.hpp>

#include <strings.h>
#include <algorithm>

namespace outpost::http {

std::optional<std::string_view> Headers::get(std::string_view name) const {
  for (const auto& [k, v] : items_) {
    if (k.size() == name.size() && ::strncasecmp(k.data(), name.data(), k.size()) == 0) return v;
  }
  return std::nullopt;
}

std::string Headers::joined(std::string_view name) const {
  std::string out;
  for (const auto& [k, v] : items_) {
    if (k.size() != name.size() || ::strncasecmp(k.data(), name.data(), k.size()) != 0) continue;
    if (!out.empty()) out += ", ";
    out += v;
  }
  return out;
}

void Headers::set(std::string name, std::string value) {
  std::erase_if(items_, [&](const auto& kv) {
    return kv.first.size() == name.size() &&
           ::strncasecmp(kv.first.data(), name.data(), name.size()) == 0;
  });
  add(std::move(name), std::move(value));
}

namespace {
bool name_starts_with(std::string_view name, std::string_view prefix) {
  return name.size() >= prefix.size() &&
         ::strncasecmp(name.data(), prefix.data(), prefix.size()) == 0;
}
}  // namespace

bool Headers::has_prefixed(std::string_view prefix) const {
  return std::any_of(items_.begin(), items_.end(),
                     [&](const auto& kv) { return name_starts_with(kv.first, prefix); });
}

std::size_t Headers::erase_prefixed(std::string_view prefix) {
  return std::erase_if(items_, [&](const auto& kv) { return name_starts_with(kv.first, prefix); });
}

std::optional<std::string_view> Request::query_param(std::string_view name) const {
  for (const auto& [k, v] : query)
    if (k == name) return v;
  return std::nullopt;
}

Result<Request> Request::make(std::string method, std::string target) {
  auto u = boost::urls::parse_origin_form(target);
  if (!u) return fail(Errc::invalid_argument, "malformed request target");
  Request r;
  r.method = std::move(method);
  r.path = std::string(u->path());  // decoded
  if (r.path.find('\0') != std::string::npos)
    return fail(Errc::invalid_argument, "NUL in request path");
  for (auto p : u->params()) r.query.emplace_back(std::string(p.key), std::string(p.value));
  r.target = std::move(target);
  return r;
}

std::uint64_t Response::content_length() const {
  if (auto* s = std::get_if<std::string>(&body)) {
    if (omit_body && head_length) return *head_length;
    return s->size();
  }
  if (auto* sb = std::get_if<SharedBody>(&body))
    return omit_body && head_length ? *head_length : sb->bytes->size();
  if (auto* f = std::get_if<FileBody>(&body)) return f->length;
  if (auto* s = std::get_if<StreamBody>(&body)) return s->length;
  return 0;
}

Response Response::text(int status, std::string body, std::string content_type) {
  Response r;
  r.status = status;
  r.headers.set("Content-Type", std::move(content_type));
  r.body = std::move(body);
  return r;
}

Response Response::json(int status, std::string body) {
  return text(status, std::move(body), "application/json");
}

std::string_view reason_phrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 206:
      return "Partial Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 304:
      return "Not Modified";
    case 307:
      return "Temporary Redirect";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 413:
      return "Payload Too Large";
    case 416:
      return "Range Not Satisfiable";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 507:
      return "Insufficient Storage";
    default:
      return "Unknown";
  }
}

}  // namespace outpost::http
