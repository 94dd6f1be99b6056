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
