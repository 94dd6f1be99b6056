#include "core/common/utf8.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>

namespace dxhub {
namespace {

bool dumps(const std::string& text) {
  try {
    (void)nlohmann::json(text).dump();
    return true;
  } catch (const nlohmann::json::exception&) {
    return false;
  }
}

TEST(Utf8, SequenceLengthFollowsTheUnicodeTable) {
  EXPECT_EQ(utf8_sequence_length("a", 0), 1u);
  EXPECT_EQ(utf8_sequence_length("\xc3\xa9", 0), 2u);       // é
  EXPECT_EQ(utf8_sequence_length("\xe6\x88\xb7", 0), 3u);   // 户
  EXPECT_EQ(utf8_sequence_length("\xf0\x9f\x98\x80", 0), 4u);
  EXPECT_EQ(utf8_sequence_length("\xc0\xaf", 0), 0u);       // overlong '/'
  EXPECT_EQ(utf8_sequence_length("\xed\xa0\x80", 0), 0u);   // surrogate
  EXPECT_EQ(utf8_sequence_length("\xf4\x90\x80\x80", 0), 0u);  // past U+10FFFF
  EXPECT_EQ(utf8_sequence_length("\xe6\x88", 0), 0u);       // cut short
  EXPECT_EQ(utf8_sequence_length("\xff", 0), 0u);
}

TEST(Utf8, ExcerptIsValidUtf8WhateverArrives) {
  // Chinese kept whole; a GBK page's bytes (not UTF-8) escaped; controls blanked.
  const std::string gbk_html = "<title>\xb4\xed\xce\xf3</title>\r\n";  // "错误" in GBK
  std::string out = printable_utf8(gbk_html, 300);
  EXPECT_EQ(out, "<title>\\xb4\\xed\\xce\\xf3</title>  ");
  EXPECT_TRUE(dumps(out));
  EXPECT_EQ(printable_utf8("户籍人口", 300), "户籍人口");
  // Never cut inside a character: 7 bytes allow two 3-byte characters.
  EXPECT_EQ(printable_utf8("户籍人口", 7), "户籍...");
  // A body cut inside a character at its end.
  std::string cut = std::string("错误") + "\xe4\xbf";
  out = printable_utf8(cut, 300);
  EXPECT_EQ(out, "错误\\xe4\\xbf");
  EXPECT_TRUE(dumps(out));
  EXPECT_FALSE(dumps(cut));  // what would have thrown
  // Huge bodies are bounded.
  std::string huge(10 << 20, 'x');
  EXPECT_LE(printable_utf8(huge, 300).size(), 303u);
}

}  // namespace
}  // namespace dxhub
