#include "core/delivery/curl_handle.h"

#include <mutex>

namespace dxhub::curl {

Status HeaderList::append(const std::string& header) {
  curl_slist* head = curl_slist_append(head_.get(), header.c_str());
  if (head == nullptr) return internal_error("curl_slist_append: out of memory");
  // On success the old head (if any) is still the first node.
  if (head_.get() == nullptr) head_.reset(head);
  return Status::ok();
}

Status ensure_global_init() {
  static std::once_flag once;
  static CURLcode result = CURLE_OK;
  std::call_once(once, [] { result = curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (result == CURLE_OK) return Status::ok();
  return internal_error(std::string("curl_global_init: ") + curl_easy_strerror(result));
}

Expected<EasyHandle> make_easy_handle() {
  DXHUB_RETURN_IF_ERROR(ensure_global_init());
  EasyHandle handle(curl_easy_init());
  if (!handle) return internal_error("curl_easy_init failed");
  return handle;
}

Status transport_status(CURLcode code, std::string_view error_buffer) {
  if (code == CURLE_OK) return Status::ok();
  std::string message = curl_easy_strerror(code);
  if (!error_buffer.empty() && error_buffer != message) {
    message += " (";
    message += error_buffer;
    message += ")";
  }
  switch (code) {
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_NOT_BUILT_IN:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CIPHER:
    case CURLE_BAD_FUNCTION_ARGUMENT:
      return config_error("HTTP request failed: " + message);
    case CURLE_OUT_OF_MEMORY:
      return internal_error("HTTP request failed: " + message);
    default:
      // Refused, unresolved, timed out, reset, partial file, send/recv errors,
      // empty reply, TLS handshake hiccups: the network or the peer, for now.
      return unavailable_error("HTTP request failed: " + message);
  }
}

}  // namespace dxhub::curl
