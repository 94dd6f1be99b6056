#include "core/mapping/value_parsers.h"

#include <gtest/gtest.h>

#include <string>

namespace dxhub::mapping {
namespace {

TEST(TimeLayoutTest, ParsesRealCalendarDatesOnly) {
  auto layout = TimeLayout::compile("YYYY-MM-DD", false);
  ASSERT_TRUE(layout.has_value()) << layout.status().to_string();
  int32_t days = -1;
  ASSERT_TRUE(layout->parse_days("1970-01-01", days));
  EXPECT_EQ(days, 0);
  ASSERT_TRUE(layout->parse_days("2024-02-29", days));  // leap day
  EXPECT_EQ(days, 19782);
  ASSERT_TRUE(layout->parse_days("2000-02-29", days));  // divisible by 400: leap
  EXPECT_EQ(days, 11016);
  ASSERT_TRUE(layout->parse_days("1969-12-31", days));  // before 1970: negative
  EXPECT_EQ(days, -1);
  ASSERT_TRUE(layout->parse_days("1930-01-01", days));
  EXPECT_EQ(days, -14610);
  EXPECT_FALSE(layout->parse_days("1900-02-29", days));  // divisible by 100: not leap
  EXPECT_FALSE(layout->parse_days("2023-02-29", days));
  EXPECT_FALSE(layout->parse_days("2023-02-30", days));
  EXPECT_FALSE(layout->parse_days("2023-13-01", days));
  EXPECT_FALSE(layout->parse_days("2023-00-10", days));
  EXPECT_FALSE(layout->parse_days("2023-04-31", days));
  EXPECT_FALSE(layout->parse_days("2023-1-01", days));
  EXPECT_FALSE(layout->parse_days("2023/01/01", days));
  EXPECT_FALSE(layout->parse_days("2023-01-01 ", days));
  EXPECT_FALSE(layout->parse_days("", days));
  EXPECT_FALSE(layout->parse_days("２０２３-01-01", days));  // full-width digits
}

TEST(TimeLayoutTest, CompactAndTimeLayouts) {
  auto compact = TimeLayout::compile("YYYYMMDD", false);
  ASSERT_TRUE(compact.has_value());
  int32_t days = 0;
  ASSERT_TRUE(compact->parse_days("20250101", days));
  EXPECT_EQ(days, 20089);

  auto stamp = TimeLayout::compile("YYYY-MM-DD HH:MM:SS", true);
  ASSERT_TRUE(stamp.has_value());
  int64_t seconds = 0;
  ASSERT_TRUE(stamp->parse_seconds("2025-01-01 08:00:00", seconds));
  EXPECT_EQ(seconds, 1735718400);
  ASSERT_TRUE(stamp->parse_seconds("1969-12-31 23:59:59", seconds));
  EXPECT_EQ(seconds, -1);
  EXPECT_FALSE(stamp->parse_seconds("2025-01-01 24:00:00", seconds));
  EXPECT_FALSE(stamp->parse_seconds("2025-01-01 08:60:00", seconds));
  EXPECT_FALSE(stamp->parse_seconds("2025-01-01 08:00:60", seconds));
  EXPECT_FALSE(stamp->parse_seconds("2025-01-01T08:00:00", seconds));
}

TEST(TimeLayoutTest, RejectsBadPatterns) {
  EXPECT_EQ(TimeLayout::compile("YYYY-MM", false).status().code(), StatusCode::kConfig);
  EXPECT_EQ(TimeLayout::compile("YYYY-MM-DD", true).status().code(), StatusCode::kConfig);
  EXPECT_EQ(TimeLayout::compile("YYYY-MM-DD HH:MM:SS", false).status().code(), StatusCode::kConfig);
  EXPECT_EQ(TimeLayout::compile("YYYY-MM-DD-DD", false).status().code(), StatusCode::kConfig);
  EXPECT_EQ(TimeLayout::compile("19YY-MM-DD", false).status().code(), StatusCode::kConfig);
  EXPECT_EQ(TimeLayout::compile("", false).status().code(), StatusCode::kConfig);
}

TEST(UtcOffsetTest, ParsesCommonForms) {
  EXPECT_EQ(*parse_utc_offset("+08:00"), 8 * 3600);
  EXPECT_EQ(*parse_utc_offset("+0800"), 8 * 3600);
  EXPECT_EQ(*parse_utc_offset("-05:30"), -(5 * 3600 + 30 * 60));
  EXPECT_EQ(*parse_utc_offset("Z"), 0);
  EXPECT_EQ(*parse_utc_offset("UTC"), 0);
  for (const char* bad : {"", "08:00", "+8:00", "+15:00", "+08:61", "Asia/Shanghai", "+08:00x"}) {
    EXPECT_EQ(parse_utc_offset(bad).status().code(), StatusCode::kConfig) << bad;
  }
}

TEST(Utf8Test, AcceptsValidRejectsBroken) {
  EXPECT_TRUE(is_valid_utf8(""));
  EXPECT_TRUE(is_valid_utf8("abc"));
  EXPECT_TRUE(is_valid_utf8("湖北省大冶市"));
  EXPECT_TRUE(is_valid_utf8("\xF0\x9F\x98\x80"));                    // U+1F600
  EXPECT_FALSE(is_valid_utf8("\xBA\xFE\xB1\xB1"));                   // 湖北 in GBK
  EXPECT_FALSE(is_valid_utf8("\xE6\xB9"));                           // truncated
  EXPECT_FALSE(is_valid_utf8("\xC0\xAF"));                           // overlong '/'
  EXPECT_FALSE(is_valid_utf8("\xE0\x80\xAF"));                       // overlong 3-byte
  EXPECT_FALSE(is_valid_utf8("\xED\xA0\x80"));                       // surrogate
  EXPECT_FALSE(is_valid_utf8("\xF4\x90\x80\x80"));                   // > U+10FFFF
  EXPECT_FALSE(is_valid_utf8(std::string_view("ok\xFF", 3)));
}

// A decoding validator, slow and plain, as the reference for the fast one.
bool reference_utf8(std::string_view text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = p + text.size();
  while (p < end) {
    const unsigned char c = *p;
    int extra = c < 0x80 ? 0 : (c & 0xE0) == 0xC0 ? 1 : (c & 0xF0) == 0xE0 ? 2 : (c & 0xF8) == 0xF0 ? 3 : -1;
    if (extra < 0 || end - p <= extra) return false;
    uint32_t cp = extra == 0 ? c : c & (0x3F >> extra);
    for (int k = 1; k <= extra; ++k) {
      if ((p[k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[k] & 0x3F);
    }
    static constexpr uint32_t kMinForLength[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMinForLength[extra] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    p += extra + 1;
  }
  return true;
}

TEST(Utf8Test, AgreesWithADecoderOnEverySequenceUpToThreeBytes) {
  // Every 1-, 2- and 3-byte string, each also behind an ASCII run so that
  // the eight-byte fast path hands over mid-string.
  std::string buf;
  int mismatches = 0;
  for (uint32_t n = 0; n < (1u << 24) && mismatches < 5; ++n) {
    for (int len = 1; len <= 3; ++len) {
      if (len < 3 && n >= (1u << (8 * len))) continue;
      buf.assign("abcdefghi");
      for (int k = len - 1; k >= 0; --k) buf.push_back(static_cast<char>((n >> (8 * k)) & 0xFF));
      const std::string_view bare = std::string_view(buf).substr(9);
      if (is_valid_utf8(bare) != reference_utf8(bare) || is_valid_utf8(buf) != reference_utf8(buf)) {
        ADD_FAILURE() << "disagree on " << len << "-byte sequence " << std::hex << n;
        ++mismatches;
      }
    }
  }
  // Four-byte leads with every second byte and a few tails.
  for (uint32_t lead = 0xF0; lead <= 0xFF; ++lead) {
    for (uint32_t second = 0; second < 256; ++second) {
      for (uint32_t tail : {0x80u, 0xBFu, 0x7Fu, 0xC0u}) {
        const char seq[4] = {static_cast<char>(lead), static_cast<char>(second), static_cast<char>(tail),
                             static_cast<char>(0x80)};
        EXPECT_EQ(is_valid_utf8(std::string_view(seq, 4)), reference_utf8(std::string_view(seq, 4)))
            << std::hex << lead << " " << second << " " << tail;
      }
    }
  }
}

TEST(NumberParsingTest, IsStrict) {
  int64_t i = 0;
  EXPECT_TRUE(parse_int64("-42", i));
  EXPECT_EQ(i, -42);
  EXPECT_TRUE(parse_int64("9223372036854775807", i));
  EXPECT_FALSE(parse_int64("9223372036854775808", i));  // overflow
  EXPECT_FALSE(parse_int64("+1", i));
  EXPECT_FALSE(parse_int64(" 1", i));
  EXPECT_FALSE(parse_int64("1.0", i));
  EXPECT_FALSE(parse_int64("", i));
  double d = 0;
  EXPECT_TRUE(parse_double("3.25", d));
  EXPECT_EQ(d, 3.25);
  EXPECT_TRUE(parse_double("-1e3", d));
  EXPECT_EQ(d, -1000);
  EXPECT_FALSE(parse_double("nan", d));
  EXPECT_FALSE(parse_double("inf", d));
  EXPECT_FALSE(parse_double("1e999", d));
  EXPECT_FALSE(parse_double("1,5", d));
  bool b = false;
  EXPECT_TRUE(parse_bool("true", b));
  EXPECT_TRUE(b);
  EXPECT_TRUE(parse_bool("0", b));
  EXPECT_FALSE(b);
  EXPECT_FALSE(parse_bool("yes", b));
}

}  // namespace
}  // namespace dxhub::mapping
