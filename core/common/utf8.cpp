#include "core/common/utf8.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace dxhub {

bool is_valid_utf8(std::string_view text, size_t* bad_offset) {
  // ASCII runs are skipped eight bytes at a time: this runs on every text
  // value of every row.
  const auto* start = reinterpret_cast<const unsigned char*>(text.data());
  const auto* p = start;
  const auto* end = p + text.size();
  while (p < end) {
    if (end - p >= 8) {
      uint64_t eight;
      std::memcpy(&eight, p, 8);
      if ((eight & 0x8080808080808080ULL) == 0) {
        p += 8;
        continue;
      }
    }
    const size_t length = utf8_sequence_length(p, end);
    if (length == 0) {
      if (bad_offset) *bad_offset = static_cast<size_t>(p - start);
      return false;
    }
    p += length;
  }
  return true;
}

std::string printable_utf8(std::string_view text, size_t max_bytes) {
  static const char* kHex = "0123456789abcdef";
  std::string out;
  out.reserve(std::min(text.size(), max_bytes) + 4);
  size_t at = 0;
  while (at < text.size()) {
    size_t length = utf8_sequence_length(text, at);
    size_t produced = length == 0 ? 4 : length;
    if (out.size() + produced > max_bytes) {
      out += "...";
      return out;
    }
    if (length == 0) {
      const auto c = static_cast<unsigned char>(text[at]);
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
      at += 1;
      continue;
    }
    if (length == 1) {
      const char c = text[at];
      out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? ' ' : c;
    } else {
      out.append(text.substr(at, length));
    }
    at += length;
  }
  return out;
}

}  // namespace dxhub
