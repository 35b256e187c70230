#pragma once
// libarchive's error text for a handle: it may have none (a null pointer, which neither
// std::string nor fmt may be given), then a generic one.
#include <archive.h>

#include <string>

namespace outpost::bundle {

inline std::string archive_why(archive* a) {
  const char* why = a ? archive_error_string(a) : nullptr;
  return why ? why : "unreadable archive";
}

}  // namespace outpost::bundle
