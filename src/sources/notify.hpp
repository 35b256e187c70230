#pragma once
// Telling Argo CD and Flux that a followed source advertises something new (sources.oci[].notify):
// the request each receiver understands, and a sender that retries with backoff.
//  argocd: POST /api/webhook with a registry push event in Harbor's shape (type PUSH_ARTIFACT,
//          event_data.resources[{tag, digest, resource_url}], event_data.repository.repo_full_name)
//          — Argo CD takes the registry host from resource_url and refreshes the Applications whose
//          repoURL is oci://<host>/<repo_full_name> and whose targetRevision the tag satisfies; the
//          secret goes in Authorization, as Harbor sends it.
//  flux:   POST to a Receiver's /hook/<token> (type generic: any body; generic-hmac: the body
//          signed in X-Signature: sha256=<hex>), a JSON body naming the source, tag and digest.
#include <condition_variable>
#include <deque>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "core/digest.hpp"
#include "core/mutex.hpp"
#include "core/time.hpp"
#include "http/client.hpp"
#include "registry/source_config.hpp"

namespace outpost::sources {

// What changed: `tag` of `repository` (as clients name it through Outpost) now gives `digest`.
struct Advertised {
  std::string repository, tag;
  Digest digest;
};

// A target URL as status and logs show it: no credentials, no query, and a Flux Receiver's
// /hook/<path> (which admits whoever knows it) shortened to /hook/….
std::string shown_url(std::string_view url);

// `public_host`: how clients reach Outpost's registry ("outpost.example:8443").
http::ClientRequest notify_request(const SourceNotifyConfig& target, const Advertised& what,
                                   const std::string& public_host, UnixSeconds now);

// Sends requests in the background, in order per target; a failure (transport error or HTTP
// status ≥ 300) is retried after `base`, 2×, 4× … (at most 60 s), `attempts` times in all.
class Notifier {
 public:
  enum class Outcome { sent, retried, failed };
  // `done` is called on the sender's thread for each attempt's outcome (`error` when not sent).
  using Report = std::function<void(const std::string& source, const SourceNotifyConfig& target,
                                    Outcome outcome, const std::string& error)>;
  Notifier(http::HttpClient& client, Report report, int attempts = 8,
           std::chrono::milliseconds base = std::chrono::seconds(1));
  ~Notifier();
  void send(const std::string& source, const SourceNotifyConfig& target, http::ClientRequest req);
  // Blocks until nothing is queued or being sent (tests).
  void wait_idle();
  void stop();

 private:
  struct Item {
    std::string source;
    SourceNotifyConfig target;
    http::ClientRequest req;
    int attempt = 0;
    std::chrono::steady_clock::time_point due;
  };
  void run(std::stop_token st);

  http::HttpClient& client_;
  Report report_;
  const int attempts_;
  const std::chrono::milliseconds base_;
  Mutex mu_;
  std::condition_variable_any cv_;
  std::deque<Item> queue_ GUARDED_BY(mu_);
  bool busy_ GUARDED_BY(mu_) = false;
  std::jthread thread_;
};

}  // namespace outpost::sources
