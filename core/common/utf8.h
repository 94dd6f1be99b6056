// UTF-8 helpers for text that comes from outside (a province's error page,
// a source's bytes) and goes into messages, logs and JSON: they must stay
// valid UTF-8 whatever arrived, or nlohmann's dump() throws and a log line
// is garbled.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace dxhub {

// Length of the well-formed UTF-8 sequence starting at text[at] (Unicode
// table 3-7: no overlong forms, no surrogates, nothing past U+10FFFF), or 0
// if the bytes there are not one.
size_t utf8_sequence_length(std::string_view text, size_t at);

// A printable excerpt of at most about `max_bytes` bytes: well-formed
// characters are kept (never cut in the middle), control characters become
// spaces, each byte of a malformed sequence becomes "\xNN", and "..." marks
// a cut.
std::string printable_utf8(std::string_view text, size_t max_bytes);

}  // namespace dxhub
