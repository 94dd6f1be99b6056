#include "core/common/status.h"

namespace dxhub {

const char* status_code_name(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return "ok";
    case StatusCode::kConfig: return "config error";
    case StatusCode::kSource: return "source error";
    case StatusCode::kData: return "data error";
    case StatusCode::kUnavailable: return "unavailable";
    case StatusCode::kRejected: return "rejected";
    case StatusCode::kIo: return "i/o error";
    case StatusCode::kNotFound: return "not found";
    case StatusCode::kInternal: return "internal error";
    case StatusCode::kBusy: return "busy";
  }
  return "unknown";
}

}  // namespace dxhub
