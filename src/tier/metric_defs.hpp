#pragma once
// The metrics of tier/: each declared once, with its help (what /metrics says of it).
#include "core/metrics.hpp"

namespace outpost::tier::metric {

inline constexpr MetricDef uploads_total{
    "outpost_object_store_uploads_total", MetricDef::counter,
    "Blobs the write-back queue sent to the object store, by outcome (ok, failed, already_stored: "
    "another replica uploaded it)"};
inline constexpr MetricDef upload_queue{
    "outpost_object_store_upload_queue", MetricDef::gauge,
    "Blobs held here that wait for their upload to the object store"};
inline constexpr MetricDef object_store_up{
    "outpost_object_store_up", MetricDef::gauge,
    "1 when the object store answers (its breaker is closed)"};
}  // namespace outpost::tier::metric
