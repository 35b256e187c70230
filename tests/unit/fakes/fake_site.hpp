#pragma once
// What unit tests of upstream-talking code need: a store and its database in a fresh directory,
// metrics, a clock that moves only when told, and the fake HTTP seam.
#include "../fakes/fake_http.hpp"
#include "../fakes/temp_dir.hpp"
#include "core/metrics.hpp"
#include "core/time.hpp"
#include "store/blob_store.hpp"
#include "store/meta_db.hpp"

namespace outpost::testing {

struct FakeSite {
  TempDir dir;
  BlobStore store{dir.path()};
  MetaDb db{dir.path() / "meta.db"};
  Metrics metrics;
  FakeClock clock;
  FakeHttp http;
};

}  // namespace outpost::testing
