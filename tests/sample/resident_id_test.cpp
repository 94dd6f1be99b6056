#include "sandbox/sample/resident_id.h"

#include <gtest/gtest.h>

namespace dxhub::sample {
namespace {

TEST(ResidentIdTest, ComputesCheckCharacterIncludingX) {
  // Worked examples from GB 11643-1999 (Appendix A style).
  EXPECT_EQ(resident_id_check_char("11010519491231002"), 'X');
  EXPECT_EQ(resident_id_check_char("44052418800101001"), '4');
}

TEST(ResidentIdTest, RejectsMalformedInput) {
  EXPECT_EQ(resident_id_check_char("1101051949123100"), '\0');
  EXPECT_EQ(resident_id_check_char("1101051949123100A"), '\0');
  EXPECT_TRUE(resident_id_is_valid("11010519491231002X"));
  EXPECT_FALSE(resident_id_is_valid("110105194912310021"));
  EXPECT_FALSE(resident_id_is_valid("11010519491231002"));
}

}  // namespace
}  // namespace dxhub::sample
