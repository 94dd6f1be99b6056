#include "core/http/listen_address.h"

#include <charconv>

namespace dxhub::http {

Expected<ListenAddress> parse_listen_address(const std::string& text, const std::string& setting) {
  const size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return config_error(setting + " \"" + text + "\": write ADDRESS:PORT, e.g. 127.0.0.1:9464");
  }
  unsigned port = 0;
  const char* first = text.data() + colon + 1;
  const char* last = text.data() + text.size();
  auto [end, ec] = std::from_chars(first, last, port);
  if (first == last || ec != std::errc() || end != last || port > 65535) {
    return config_error(setting + " \"" + text + "\": the port must be 0-65535");
  }
  return ListenAddress{text.substr(0, colon), static_cast<uint16_t>(port)};
}

}  // namespace dxhub::http
