#pragma once
// `outpost bundle import --server URL FILE`: streams a local bundle file into a running Outpost
// (PUT /api/v1/uploads/<name>/<version>, bundle/api.hpp) in chunks, resuming where the server's
// upload stands — after a dropped connection (retried here) or a new run of the command.
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "http/client.hpp"

namespace outpost::cli {

// Uploads `file` as release name/version to the Outpost at `base`; returns once the server holds
// every byte and has started the release job (or already had the release ready). Up to
// `attempts` consecutive failed requests are retried, pausing 1 s doubling to 30 s.
Result<void> upload_bundle(http::HttpClient& client, const std::string& base,
                           const std::filesystem::path& file, const std::string& name,
                           const std::string& version,
                           const std::vector<std::pair<std::string, std::string>>& auth,
                           int attempts = 8);

}  // namespace outpost::cli
