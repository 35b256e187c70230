#pragma once
// The status page served at `/`: one self-contained HTML document (CSS and JS inline, no CDN, so
// it works offline) that polls /api/v1/status. Embedded from src/ui/status.html at build time.
#include <string_view>

namespace outpost::ui {

extern const std::string_view kStatusHtml;

}  // namespace outpost::ui
