#pragma once
// SharedMeta in memory, for the unit tests of MetaDb's sharing: the database hub replicas share,
// with a switch that makes every call fail as an unreachable PostgreSQL would, and a call count.
#include <map>
#include <tuple>

#include "store/shared_meta.hpp"

namespace outpost::testing {

class FakeSharedMeta final : public SharedMeta {
 public:
  bool down = false;
  bool refuse = false;  // every statement fails as one the database refused (a constraint)
  int calls = 0;

  std::string where() const override { return "fake:5432/outpost"; }
  Result<void> put_manifest(const Digest& d, const std::string& t, std::uint64_t n,
                            const std::vector<Digest>&) override {
    return call([&] { manifests.insert_or_assign(d, ManifestRecord{t, n}); });
  }
  Result<std::optional<ManifestRecord>> manifest(const Digest& d) override {
    return get([&] {
      auto it = manifests.find(d);
      return it == manifests.end() ? std::optional<ManifestRecord>() : it->second;
    });
  }
  Result<void> put_tag(const std::string& u, const std::string& r, const std::string& name,
                       const Digest& d, UnixSeconds at) override {
    return call([&] { tags.insert_or_assign({u, r, name}, TagRecord{d, at}); });
  }
  Result<std::vector<TagRow>> tag_rows(const std::string& u, const std::string& r,
                                       const std::string& tag) override {
    return get([&] {
      std::vector<TagRow> out;
      for (const auto& [k, rec] : tags)
        if (std::get<0>(k) == u && std::get<1>(k) == r &&
            (std::get<2>(k) == tag || std::get<2>(k).starts_with(tag + "#")))
          out.push_back({std::get<2>(k), rec});
      return out;
    });
  }
  Result<void> forget_tag(const std::string& u, const std::string& r,
                          const std::string& t) override {
    return call([&] { tags.erase({u, r, t}); });
  }
  Result<void> note_deleted_tag(const std::string&, const std::string&, const std::string&,
                                const Digest&, UnixSeconds) override {
    return call([] {});
  }
  Result<void> put_tag_list(const std::string& u, const std::string& r,
                            const std::vector<std::string>& list, UnixSeconds at) override {
    return call([&] { lists[{u, r}] = {list, at}; });
  }
  Result<std::optional<UnixSeconds>> tag_list_fetched_at(const std::string& u,
                                                         const std::string& r) override {
    return get([&] {
      auto it = lists.find({u, r});
      return it == lists.end() ? std::optional<UnixSeconds>() : it->second.second;
    });
  }
  Result<std::vector<std::string>> tag_list(const std::string& u, const std::string& r) override {
    return get([&] { return lists[{u, r}].first; });
  }
  Result<void> put_referrers(const std::string&, const std::string&, const Digest&,
                             const std::string&) override {
    return call([] {});
  }
  Result<std::optional<std::string>> referrers(const std::string&, const std::string&,
                                               const Digest&) override {
    return get([] { return std::optional<std::string>(); });
  }
  Result<void> put_blob(const Digest& d, std::uint64_t n) override {
    return call([&] { blobs.insert_or_assign(d, n); });
  }
  Result<void> put_helm_chart(const std::string& url, const Digest& d) override {
    return call([&] { charts.insert_or_assign(url, d); });
  }
  Result<std::optional<Digest>> helm_chart(const std::string& url) override {
    return get([&] {
      auto it = charts.find(url);
      return it == charts.end() ? std::optional<Digest>() : it->second;
    });
  }
  Result<void> record_release(const ReleaseRecord& r) override {
    return call([&] { releases.insert_or_assign(ReleaseKey{r.name, r.version}, r); });
  }
  Result<std::vector<ReleaseKey>> release_keys() override {
    return get([&] {
      std::vector<ReleaseKey> out;
      for (const auto& [k, v] : releases) out.push_back(k);
      return out;
    });
  }
  Result<std::optional<ReleaseRecord>> release(const ReleaseKey& k) override {
    return get([&] {
      auto it = releases.find(k);
      return it == releases.end() ? std::optional<ReleaseRecord>() : it->second;
    });
  }
  Result<void> drop_release(const ReleaseKey& k) override {
    return call([&] { releases.erase(k); });
  }

  std::map<Digest, ManifestRecord> manifests;
  std::map<std::tuple<std::string, std::string, std::string>, TagRecord> tags;
  std::map<std::pair<std::string, std::string>, std::pair<std::vector<std::string>, UnixSeconds>>
      lists;
  std::map<Digest, std::uint64_t> blobs;
  std::map<std::string, Digest> charts;
  std::map<ReleaseKey, ReleaseRecord> releases;

 private:
  template <class F>
  Result<void> call(F f) {
    ++calls;
    if (down) return fail(Errc::upstream_unavailable, "postgres fake: connection refused");
    if (refuse) return fail(Errc::io, "postgres fake: ERROR: duplicate key value");
    f();
    return {};
  }
  template <class F>
  auto get(F f) -> Result<decltype(f())> {
    ++calls;
    if (down) return fail(Errc::upstream_unavailable, "postgres fake: connection refused");
    return f();
  }
};

}  // namespace outpost::testing
