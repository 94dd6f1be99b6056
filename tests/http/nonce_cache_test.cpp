#include "core/http/nonce_cache.h"

#include <gtest/gtest.h>

namespace dxhub::http {
namespace {

TEST(NonceCacheTest, RefusesReuseWithinWindowPerAppKey) {
  NonceCache cache(10, 1000);
  EXPECT_EQ(cache.check_and_remember("a", "n1", 5000, 5000), NonceCache::Result::kFresh);
  EXPECT_EQ(cache.check_and_remember("a", "n1", 5000, 5500), NonceCache::Result::kReused);
  // Another app key may use the same nonce.
  EXPECT_EQ(cache.check_and_remember("b", "n1", 5000, 5500), NonceCache::Result::kFresh);
}

TEST(NonceCacheTest, ForgetsNoncesOnceTheirTimestampLeftTheWindow) {
  NonceCache cache(10, 1000);
  EXPECT_EQ(cache.check_and_remember("a", "n1", 5000, 5000), NonceCache::Result::kFresh);
  EXPECT_EQ(cache.check_and_remember("a", "n2", 5900, 5900), NonceCache::Result::kFresh);
  EXPECT_EQ(cache.check_and_remember("a", "n3", 6100, 6100), NonceCache::Result::kFresh);
  EXPECT_EQ(cache.size(), 2u);  // n1 expired at 6001
}

TEST(NonceCacheTest, IsBoundedAndRefusesWhenFullOfLiveNonces) {
  NonceCache cache(2, 1000);
  EXPECT_EQ(cache.check_and_remember("a", "n1", 5000, 5000), NonceCache::Result::kFresh);
  EXPECT_EQ(cache.check_and_remember("a", "n2", 5000, 5000), NonceCache::Result::kFresh);
  EXPECT_EQ(cache.check_and_remember("a", "n3", 5000, 5000), NonceCache::Result::kFull);
  // Once the first ones expire there is room again.
  EXPECT_EQ(cache.check_and_remember("a", "n3", 6500, 6500), NonceCache::Result::kFresh);
}

}  // namespace
}  // namespace dxhub::http
