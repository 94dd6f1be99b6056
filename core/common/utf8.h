// UTF-8 helpers for text that comes from outside (a province's error page,
// a source's bytes) and goes into messages, logs and JSON: they must stay
// valid UTF-8 whatever arrived, or nlohmann's dump() throws and a log line
// is garbled.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace dxhub {

// Length of the well-formed UTF-8 sequence starting at p (Unicode table
// 3-7: the lead byte fixes the length and the allowed range of the second
// byte, which rules out overlong forms, surrogates and code points past
// U+10FFFF; later bytes are 80..BF), or 0 if the bytes there (before end)
// are not one. Inline: the mapping validates every text value with it.
inline size_t utf8_sequence_length(const unsigned char* p, const unsigned char* end) {
  const unsigned char c = *p;
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
    return 0;  // a continuation byte first, an overlong 2-byte lead, or past U+10FFFF
  }
  if (static_cast<size_t>(end - p) <= extra) return 0;  // cut short
  if (p[1] < second_min || p[1] > second_max) return 0;
  for (size_t k = 2; k <= extra; ++k) {
    if ((p[k] & 0xC0) != 0x80) return 0;
  }
  return extra + 1;
}

// The same at text[at].
inline size_t utf8_sequence_length(std::string_view text, size_t at) {
  const auto* data = reinterpret_cast<const unsigned char*>(text.data());
  return utf8_sequence_length(data + at, data + text.size());
}

// Strict UTF-8: every sequence well-formed as utf8_sequence_length sees
// it (no overlongs, no surrogates, nothing past U+10FFFF) -- exactly what
// nlohmann::json accepts when dumping strictly. On false, *bad_offset (if
// given) is where the first malformed sequence starts. The one validator
// for the mapping, the connectors and the file formats.
bool is_valid_utf8(std::string_view text, size_t* bad_offset = nullptr);

// A printable excerpt of at most about `max_bytes` bytes: well-formed
// characters are kept (never cut in the middle), control characters become
// spaces, each byte of a malformed sequence becomes "\xNN", and "..." marks
// a cut.
std::string printable_utf8(std::string_view text, size_t max_bytes);

}  // namespace dxhub
