// "ADDRESS:PORT" as every listening endpoint takes it (the daemon's metrics
// and push endpoints, the mock province and agency servers).
#pragma once

#include <cstdint>
#include <string>

#include "core/common/status.h"

namespace dxhub::http {

struct ListenAddress {
  std::string address;  // as written: "127.0.0.1", "0.0.0.0", "::1"
  uint16_t port = 0;    // 0: an ephemeral port
};

// kConfig naming `setting` (e.g. "daemon.metrics_listen", "--listen") when
// there is no ':' with an address before it, or the port is not 0-65535.
Expected<ListenAddress> parse_listen_address(const std::string& text, const std::string& setting);

}  // namespace dxhub::http
