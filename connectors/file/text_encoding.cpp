#include "connectors/file/text_encoding.h"

#include <cerrno>
#include <cstring>
#include <utility>

#include "core/common/utf8.h"

namespace dxhub {

namespace {

const iconv_t kNoIconv = reinterpret_cast<iconv_t>(-1);

std::string lower_ascii(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool all_ascii(std::string_view in) {
  for (unsigned char c : in) {
    if (c >= 0x80) return false;
  }
  return true;
}

// Runs iconv over all of `in`, growing `out`; false on an invalid or cut
// sequence (EILSEQ / EINVAL) with *bad_offset set.
bool convert_append(iconv_t cd, std::string_view in, std::string& out, size_t* bad_offset) {
  iconv(cd, nullptr, nullptr, nullptr, nullptr);  // a fresh shift state per value
  char* in_ptr = const_cast<char*>(in.data());
  size_t in_left = in.size();
  size_t base = out.size();
  // Worst case GBK->UTF-8 is 3 bytes per 2; GB18030 4 per 4; plus slack.
  out.resize(base + in.size() * 2 + 16);
  char* out_ptr = out.data() + base;
  size_t out_left = out.size() - base;
  while (in_left > 0) {
    size_t rc = iconv(cd, &in_ptr, &in_left, &out_ptr, &out_left);
    if (rc != static_cast<size_t>(-1)) break;
    if (errno == E2BIG) {
      size_t used = static_cast<size_t>(out_ptr - out.data());
      out.resize(out.size() * 2);
      out_ptr = out.data() + used;
      out_left = out.size() - used;
      continue;
    }
    if (bad_offset) *bad_offset = in.size() - in_left;
    out.resize(base);
    return false;
  }
  out.resize(static_cast<size_t>(out_ptr - out.data()));
  return true;
}

}  // namespace

Expected<TextEncoding> parse_text_encoding(std::string_view name) {
  const std::string n = lower_ascii(name);
  if (n == "utf-8" || n == "utf8") return TextEncoding::kUtf8;
  if (n == "gbk" || n == "cp936") return TextEncoding::kGbk;
  if (n == "gb18030") return TextEncoding::kGb18030;
  return config_error("encoding: unknown (known: utf-8, gbk, gb18030)");
}

const char* text_encoding_name(TextEncoding encoding) {
  switch (encoding) {
    case TextEncoding::kUtf8: return "UTF-8";
    case TextEncoding::kGbk: return "GBK";
    case TextEncoding::kGb18030: return "GB18030";
  }
  return "UTF-8";
}

Expected<TextDecoder> TextDecoder::open(TextEncoding encoding) {
  TextDecoder decoder(encoding);
  if (encoding != TextEncoding::kUtf8) {
    decoder.cd_ = iconv_open("UTF-8", text_encoding_name(encoding));
    if (decoder.cd_ == kNoIconv) {
      return internal_error(std::string("iconv cannot convert ") + text_encoding_name(encoding) + " to UTF-8");
    }
  }
  return decoder;
}

TextDecoder::TextDecoder(TextDecoder&& other) noexcept
    : encoding_(other.encoding_), cd_(std::exchange(other.cd_, kNoIconv)) {}

TextDecoder& TextDecoder::operator=(TextDecoder&& other) noexcept {
  if (this != &other) {
    if (cd_ != kNoIconv) iconv_close(cd_);
    encoding_ = other.encoding_;
    cd_ = std::exchange(other.cd_, kNoIconv);
  }
  return *this;
}

TextDecoder::~TextDecoder() {
  if (cd_ != kNoIconv) iconv_close(cd_);
}

bool TextDecoder::valid_utf8(std::string_view in, size_t* bad_offset) { return is_valid_utf8(in, bad_offset); }

bool TextDecoder::decode_append(std::string_view in, std::string& out, size_t* bad_offset) {
  if (encoding_ == TextEncoding::kUtf8) {
    if (!valid_utf8(in, bad_offset)) return false;
    out.append(in);
    return true;
  }
  if (all_ascii(in)) {  // GBK and GB18030 are ASCII-compatible
    out.append(in);
    return true;
  }
  return convert_append(cd_, in, out, bad_offset);
}

Expected<TextEncoder> TextEncoder::open(TextEncoding encoding) {
  TextEncoder encoder(encoding);
  if (encoding != TextEncoding::kUtf8) {
    encoder.cd_ = iconv_open(text_encoding_name(encoding), "UTF-8");
    if (encoder.cd_ == kNoIconv) {
      return internal_error(std::string("iconv cannot convert UTF-8 to ") + text_encoding_name(encoding));
    }
  }
  return encoder;
}

TextEncoder::TextEncoder(TextEncoder&& other) noexcept
    : encoding_(other.encoding_), cd_(std::exchange(other.cd_, kNoIconv)) {}

TextEncoder& TextEncoder::operator=(TextEncoder&& other) noexcept {
  if (this != &other) {
    if (cd_ != kNoIconv) iconv_close(cd_);
    encoding_ = other.encoding_;
    cd_ = std::exchange(other.cd_, kNoIconv);
  }
  return *this;
}

TextEncoder::~TextEncoder() {
  if (cd_ != kNoIconv) iconv_close(cd_);
}

Status TextEncoder::encode_append(std::string_view utf8, std::string& out) {
  if (encoding_ == TextEncoding::kUtf8 || all_ascii(utf8)) {
    out.append(utf8);
    return Status::ok();
  }
  size_t bad = 0;
  if (!convert_append(cd_, utf8, out, &bad)) {
    return data_error(std::string("a character has no ") + text_encoding_name(encoding_) + " form (byte " +
                      std::to_string(bad) + ")");
  }
  return Status::ok();
}

}  // namespace dxhub
