#include "core/common/status.h"

#include <gtest/gtest.h>

namespace dxhub {
namespace {

Expected<int> parse_positive(int v) {
  if (v <= 0) return data_error("not positive: " + std::to_string(v));
  return v;
}

Status twice(int v, int& out) {
  DXHUB_ASSIGN_OR_RETURN(int x, parse_positive(v));
  out = 2 * x;
  return Status::ok();
}

TEST(Status, OkAndErrorCarryCodeAndContext) {
  EXPECT_TRUE(Status::ok().is_ok());
  Status s = source_error("cannot open").with_context("resource household_population");
  EXPECT_FALSE(s.is_ok());
  EXPECT_EQ(s.code(), StatusCode::kSource);
  EXPECT_EQ(s.message(), "resource household_population: cannot open");
  EXPECT_EQ(s.to_string(), "source error: resource household_population: cannot open");
  EXPECT_TRUE(unavailable_error("503").retryable());
  EXPECT_FALSE(rejected_error("400").retryable());
}

TEST(Status, AssignOrReturnPropagates) {
  int out = 0;
  EXPECT_TRUE(twice(21, out).is_ok());
  EXPECT_EQ(out, 42);
  Status s = twice(-1, out);
  EXPECT_EQ(s.code(), StatusCode::kData);
  EXPECT_EQ(out, 42);
}

}  // namespace
}  // namespace dxhub
