#include "sources/notify.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>

#include "core/encoding.hpp"

namespace outpost::sources {

std::string shown_url(std::string_view url) {
  std::string out(url.substr(0, url.find_first_of("?#")));
  if (auto scheme = out.find("://"); scheme != std::string::npos)
    if (auto at = out.find('@', scheme); at != std::string::npos && at < out.find('/', scheme + 3))
      out.erase(scheme + 3, at - scheme - 2);
  if (auto hook = out.find("/hook/"); hook != std::string::npos)
    out = out.substr(0, hook + 6) + "…";
  return out;
}

http::ClientRequest notify_request(const SourceNotifyConfig& target, const Advertised& what,
                                   const std::string& public_host, UnixSeconds now) {
  http::ClientRequest req;
  req.method = "POST";
  req.url = target.url;
  req.connect_timeout = std::chrono::seconds(5);
  req.total_timeout = std::chrono::seconds(10);
  req.headers = {{"Content-Type", "application/json"}, {"User-Agent", "outpost"}};
  const auto slash = what.repository.rfind('/');
  const std::string url = fmt::format("{}/{}:{}", public_host, what.repository, what.tag);
  if (target.kind == SourceNotifyConfig::Kind::argocd) {
    nlohmann::json body = {
        {"type", "PUSH_ARTIFACT"},
        {"occur_at", now},
        {"operator", "outpost"},
        {"event_data",
         {{"resources",
           {{{"digest", what.digest.str()}, {"tag", what.tag}, {"resource_url", url}}}},
          {"repository",
           {{"date_created", now},
            {"name", what.repository.substr(slash + 1)},
            {"namespace", what.repository.substr(0, slash)},
            {"repo_full_name", what.repository},
            {"repo_type", "private"}}}}}};
    req.body = body.dump();
    if (!target.secret.empty()) req.headers.emplace_back("Authorization", target.secret);
  } else {
    nlohmann::json body = {{"source", "outpost"},
                           {"event", "advertised"},
                           {"repository", what.repository},
                           {"url", "oci://" + public_host + "/" + what.repository},
                           {"tag", what.tag},
                           {"digest", what.digest.str()},
                           {"occurred_at", now}};
    req.body = body.dump();
    if (!target.secret.empty())
      req.headers.emplace_back("X-Signature", "sha256=" + hmac_sha256_hex(target.secret, req.body));
  }
  return req;
}

Notifier::Notifier(http::HttpClient& client, Report report, int attempts,
                   std::chrono::milliseconds base)
    : client_(client),
      report_(std::move(report)),
      attempts_(attempts),
      base_(base),
      thread_([this](std::stop_token st) { run(st); }) {}

Notifier::~Notifier() {
  stop();
}

void Notifier::stop() {
  thread_.request_stop();
  {
    MutexLock lock(mu_);
    cv_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
}

void Notifier::send(const std::string& source, const SourceNotifyConfig& target,
                    http::ClientRequest req) {
  MutexLock lock(mu_);
  queue_.push_back({source, target, std::move(req), 0, std::chrono::steady_clock::now()});
  cv_.notify_all();
}

void Notifier::wait_idle() {
  MutexLock lock(mu_);
  while (!queue_.empty() || busy_) cv_.wait(lock);
}

void Notifier::run(std::stop_token st) {
  MutexLock lock(mu_);
  while (!st.stop_requested()) {
    if (queue_.empty()) {
      cv_.wait(lock);
      continue;
    }
    auto next = std::ranges::min_element(queue_, {}, &Item::due);
    if (next->due > std::chrono::steady_clock::now()) {
      cv_.wait_until(lock, next->due);
      continue;
    }
    Item item = std::move(*next);
    queue_.erase(next);
    busy_ = true;
    lock.unlock();
    auto r = client_.perform(item.req);
    std::string error = !r                 ? r.error().message
                        : r->status >= 300 ? fmt::format("HTTP {}", r->status)
                                           : "";
    ++item.attempt;
    Outcome outcome = error.empty()              ? Outcome::sent
                      : item.attempt < attempts_ ? Outcome::retried
                                                 : Outcome::failed;
    report_(item.source, item.target, outcome, error);
    lock.lock();
    busy_ = false;
    if (outcome == Outcome::retried) {
      item.due = std::chrono::steady_clock::now() +
                 std::min<std::chrono::milliseconds>(std::chrono::seconds(60),
                                                     base_ * (1 << std::min(item.attempt - 1, 6)));
      queue_.push_back(std::move(item));
    }
    cv_.notify_all();
  }
}

}  // namespace outpost::sources
