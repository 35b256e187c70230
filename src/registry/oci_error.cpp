#include "registry/oci_error.hpp"

#include <nlohmann/json.hpp>

namespace outpost::registry {

http::Response oci_error(int status, std::string_view code, std::string_view message) {
  nlohmann::json body = {{"errors", {{{"code", code}, {"message", message}, {"detail", nullptr}}}}};
  auto r = http::Response::json(
      status, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  r.headers.set("Docker-Distribution-API-Version", "registry/2.0");
  return r;
}

}  // namespace outpost::registry
