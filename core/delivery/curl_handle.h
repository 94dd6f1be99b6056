// libcurl, wrapped once: RAII owners for CURL* and curl_slist, process-wide
// initialisation, and THE one place where transport failures become Status.
// (HTTP status codes and the province's JSON envelope are interpreted in
// response_status.h.)
#pragma once

#include <curl/curl.h>

#include <memory>
#include <string>
#include <string_view>

#include "core/common/status.h"

namespace dxhub::curl {

struct EasyCleanup {
  void operator()(CURL* handle) const { curl_easy_cleanup(handle); }
};
struct SlistFree {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using EasyHandle = std::unique_ptr<CURL, EasyCleanup>;

// curl_slist_append returns the (possibly new) head, so the list is built
// through this small owner rather than by hand.
class HeaderList {
 public:
  Status append(const std::string& header);
  curl_slist* get() const { return head_.get(); }
  void clear() { head_.reset(); }

 private:
  std::unique_ptr<curl_slist, SlistFree> head_;
};

// Runs curl_global_init exactly once per process (thread-safe); the result
// is remembered and returned on every call.
Status ensure_global_init();

// A new easy handle (after ensure_global_init).
Expected<EasyHandle> make_easy_handle();

// Transport-level failure of curl_easy_perform / curl_easy_setopt as Status.
// `error_buffer` is the handle's CURLOPT_ERRORBUFFER (may be empty).
// Connection refused, DNS, timeouts, resets and partial transfers are
// kUnavailable (retry later); bad URLs, unsupported protocols and TLS
// certificate problems are kConfig (retrying will not help).
Status transport_status(CURLcode code, std::string_view error_buffer);

// Wraps curl_easy_setopt's result.
inline Status check_setopt(CURLcode code, const char* option) {
  if (code == CURLE_OK) return Status::ok();
  return internal_error(std::string("curl_easy_setopt(") + option + "): " + curl_easy_strerror(code));
}

}  // namespace dxhub::curl
