// Source text encodings of agency files: UTF-8 (validated) and the Chinese
// national encodings GBK and GB18030, converted to UTF-8 with glibc's iconv.
// One RAII wrapper so that iconv handles never leak and iconv's errno
// protocol is turned into a plain result in one place.
#pragma once

#include <iconv.h>

#include <cstddef>
#include <string>
#include <string_view>

#include "core/common/status.h"

namespace dxhub {

enum class TextEncoding { kUtf8, kGbk, kGb18030 };

// "utf-8" (also "utf8"), "gbk", "gb18030" (case-insensitive); kConfig otherwise.
Expected<TextEncoding> parse_text_encoding(std::string_view name);
const char* text_encoding_name(TextEncoding encoding);  // "UTF-8", "GBK", "GB18030"

// True for a byte that starts a two- or four-byte GBK/GB18030 character.
// The byte after it may be ASCII 0x40..0x7E ('@', '|', '\\'...), so a
// tokenizer must step over the pair instead of reading that byte as a
// delimiter.
inline bool is_gb_lead_byte(unsigned char c) { return c >= 0x81 && c <= 0xFE; }
// A byte that may follow a lead byte (GBK trail 40..7E, 80..FE, or the
// digit second byte of a GB18030 four-byte sequence).
inline bool is_gb_second_byte(unsigned char c) {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x40 && c <= 0x7E) || (c >= 0x80 && c <= 0xFE);
}

// Decodes text in one encoding into UTF-8. Reusable; holds an iconv handle
// for GBK/GB18030. Not thread-safe (one per reader).
class TextDecoder {
 public:
  static Expected<TextDecoder> open(TextEncoding encoding);
  TextDecoder(TextDecoder&& other) noexcept;
  TextDecoder& operator=(TextDecoder&& other) noexcept;
  TextDecoder(const TextDecoder&) = delete;
  TextDecoder& operator=(const TextDecoder&) = delete;
  ~TextDecoder();

  TextEncoding encoding() const { return encoding_; }
  // True when decoding is the identity on valid input (UTF-8): the caller
  // may keep its bytes and only validate them.
  bool is_utf8() const { return encoding_ == TextEncoding::kUtf8; }
  // Appends `in` as UTF-8 to `out` (whose capacity the caller reuses).
  // Returns false when `in` holds a byte sequence invalid in the encoding;
  // then *bad_offset is where it starts and `out` is unspecified.
  bool decode_append(std::string_view in, std::string& out, size_t* bad_offset);
  // Checks UTF-8 only (no copy). Same contract as decode_append.
  static bool valid_utf8(std::string_view in, size_t* bad_offset);

 private:
  explicit TextDecoder(TextEncoding encoding) : encoding_(encoding) {}
  TextEncoding encoding_;
  iconv_t cd_ = reinterpret_cast<iconv_t>(-1);
};

// The other direction, for the sample exporter: UTF-8 to GBK/GB18030.
class TextEncoder {
 public:
  static Expected<TextEncoder> open(TextEncoding encoding);
  TextEncoder(TextEncoder&& other) noexcept;
  TextEncoder& operator=(TextEncoder&& other) noexcept;
  TextEncoder(const TextEncoder&) = delete;
  TextEncoder& operator=(const TextEncoder&) = delete;
  ~TextEncoder();
  // Appends `utf8` converted; a character the target cannot hold is kData.
  Status encode_append(std::string_view utf8, std::string& out);

 private:
  explicit TextEncoder(TextEncoding encoding) : encoding_(encoding) {}
  TextEncoding encoding_;
  iconv_t cd_ = reinterpret_cast<iconv_t>(-1);
};

}  // namespace dxhub
