#include "core/common/utf8.h"

#include <algorithm>

namespace dxhub {

size_t utf8_sequence_length(std::string_view text, size_t at) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char c = byte(at);
  if (c < 0x80) return 1;
  size_t extra = 0;
  unsigned char second_min = 0x80, second_max = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    extra = 1;
  } else if (c >= 0xE0 && c <= 0xEF) {
    extra = 2;
    if (c == 0xE0) second_min = 0xA0;  // overlong
    if (c == 0xED) second_max = 0x9F;  // UTF-16 surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    extra = 3;
    if (c == 0xF0) second_min = 0x90;  // overlong
    if (c == 0xF4) second_max = 0x8F;  // past U+10FFFF
  } else {
    return 0;
  }
  if (at + extra >= text.size()) return 0;  // cut short
  if (byte(at + 1) < second_min || byte(at + 1) > second_max) return 0;
  for (size_t i = 2; i <= extra; ++i) {
    if (byte(at + i) < 0x80 || byte(at + i) > 0xBF) return 0;
  }
  return extra + 1;
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
