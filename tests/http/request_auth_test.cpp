// The authenticator's two phases, the replay window at extreme timestamps,
// the nonce cache's bounds, the fault settings' validation and the access
// log's redaction -- the pieces of the abuse-resistant endpoint that need no
// socket.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

#include "core/protocol/signing.h"
#include "core/http/fault_injector.h"
#include "core/http/log_redaction.h"
#include "core/http/nonce_cache.h"
#include "core/http/request_auth.h"

namespace dxhub::http {
namespace {

constexpr const char* kKey = "daye-test";
constexpr const char* kSecret = "s3cret-for-unit-tests";
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
// Wide enough for the difference of any two int64 (the reference answer).
__extension__ typedef __int128 Wide;

// A request signed like the hub signs it, with its header strings owned here.
struct Signed {
  std::string timestamp, nonce, method = "HMAC-SHA256", digest, signature;
  SignedHeaders headers() const { return {kKey, timestamp, nonce, method, digest, signature, {}}; }
};

Signed sign_request(const std::string& target, const std::string& body, int64_t ts, const std::string& nonce) {
  Signed s;
  s.timestamp = std::to_string(ts);
  s.nonce = nonce;
  s.digest = protocol::sha256_hex(body);
  s.signature = protocol::sign(protocol::SignatureMethod::kHmacSha256, kSecret,
                               protocol::string_to_sign("POST", target, ts, nonce, s.digest));
  return s;
}

RequestAuthenticator make_auth(size_t nonce_capacity = 1000) {
  std::map<std::string, AppCredential> creds;
  creds[kKey].secret = kSecret;
  return RequestAuthenticator(creds, nonce_capacity);
}

TEST(RequestAuthTest, HeaderPhaseThenBodyPhase) {
  auto auth = make_auth();
  const int64_t now = protocol::now_ms();
  Signed s = sign_request("/t", "the body", now, "n-1");
  RequestAuthenticator::VerifiedHeader verified;
  ASSERT_FALSE(auth.verify_header("POST", "/t", s.headers(), now, verified).has_value());
  EXPECT_EQ(verified.app_key, kKey);
  EXPECT_EQ(verified.content_digest, s.digest);
  EXPECT_FALSE(RequestAuthenticator::verify_body(verified, "the body").has_value());
  auto mismatch = RequestAuthenticator::verify_body(verified, "another body");
  ASSERT_TRUE(mismatch.has_value());
  EXPECT_EQ(mismatch->code, "DIGEST_MISMATCH");
  // The one-call form agrees.
  Signed again = sign_request("/t", "the body", now, "n-2");
  EXPECT_FALSE(auth.verify("POST", "/t", again.headers(), "the body", now).has_value());
}

TEST(RequestAuthTest, NonceIsRememberedOnlyAfterTheSignatureVerified) {
  auto auth = make_auth();
  const int64_t now = protocol::now_ms();
  Signed forged = sign_request("/t", "", now, "n-shared");
  forged.signature[0] = forged.signature[0] == 'a' ? 'b' : 'a';
  RequestAuthenticator::VerifiedHeader verified;
  auto refusal = auth.verify_header("POST", "/t", forged.headers(), now, verified);
  ASSERT_TRUE(refusal.has_value());
  EXPECT_EQ(refusal->code, "BAD_SIGNATURE");
  EXPECT_EQ(auth.remembered_nonces(), 0u);
  // The genuine request with that nonce still passes, once.
  Signed genuine = sign_request("/t", "", now, "n-shared");
  EXPECT_FALSE(auth.verify_header("POST", "/t", genuine.headers(), now, verified).has_value());
  EXPECT_EQ(auth.remembered_nonces(), 1u);
  refusal = auth.verify_header("POST", "/t", genuine.headers(), now, verified);
  ASSERT_TRUE(refusal.has_value());
  EXPECT_EQ(refusal->code, "NONCE_REUSED");
}

TEST(RequestAuthTest, ExtremeTimestampsAreRefusedWithoutOverflow) {
  auto auth = make_auth();
  const int64_t real_now = protocol::now_ms();
  // Timestamps and server clocks at the ends of int64: `now - ts` would
  // overflow for most of these pairs.
  const int64_t timestamps[] = {kMin, kMin + 1, kMin / 2, -1, 0, kMax / 2, kMax - 1, kMax};
  const int64_t clocks[] = {real_now, kMin, kMin + 1, kMax, kMax - 1, 0};
  int refused = 0;
  int pairs = 0;
  for (int64_t now : clocks) {
    for (int64_t ts : timestamps) {
      SCOPED_TRACE("ts=" + std::to_string(ts) + " now=" + std::to_string(now));
      // Correctly signed, so nothing but the window can refuse it.
      Signed s = sign_request("/t", "", ts, "n-" + std::to_string(pairs++));
      RequestAuthenticator::VerifiedHeader verified;
      auto refusal = auth.verify_header("POST", "/t", s.headers(), now, verified);
      // Inside the window only when the two are really close.
      Wide distance = static_cast<Wide>(now) - static_cast<Wide>(ts);
      bool inside = distance >= -protocol::kReplayWindowMs && distance <= protocol::kReplayWindowMs;
      if (inside) {
        EXPECT_FALSE(refusal.has_value()) << refusal->message;
      } else {
        ASSERT_TRUE(refusal.has_value());
        EXPECT_EQ(refusal->code, "TIMESTAMP_EXPIRED");
        EXPECT_EQ(refusal->http_status, 401u);
        ++refused;
      }
    }
  }
  EXPECT_GT(refused, 30);
  // Not an integer at all, or one out of int64's range.
  for (const char* text : {"9223372036854775808", "-9223372036854775809", "1e3", "12abc", " 5"}) {
    Signed s = sign_request("/t", "", real_now, std::string("n-text-") + text);
    s.timestamp = text;
    RequestAuthenticator::VerifiedHeader verified;
    auto refusal = auth.verify_header("POST", "/t", s.headers(), real_now, verified);
    ASSERT_TRUE(refusal.has_value()) << text;
    EXPECT_EQ(refusal->code, "TIMESTAMP_EXPIRED") << text;
  }
}

TEST(RequestAuthTest, WindowEdgesAreExact) {
  auto auth = make_auth();
  const int64_t now = protocol::now_ms();
  RequestAuthenticator::VerifiedHeader verified;
  const int64_t w = protocol::kReplayWindowMs;
  EXPECT_FALSE(auth.verify_header("POST", "/t", sign_request("/t", "", now - w, "e1").headers(), now, verified));
  EXPECT_FALSE(auth.verify_header("POST", "/t", sign_request("/t", "", now + w, "e2").headers(), now, verified));
  EXPECT_TRUE(auth.verify_header("POST", "/t", sign_request("/t", "", now - w - 1, "e3").headers(), now, verified));
  EXPECT_TRUE(auth.verify_header("POST", "/t", sign_request("/t", "", now + w + 1, "e4").headers(), now, verified));
}

TEST(NonceCacheBoundsTest, EvictsByTimeSoTheSizeFollowsRateTimesWindow) {
  constexpr int64_t kWindow = 1000;
  NonceCache cache(100'000, kWindow);
  size_t largest = 0;
  // One request per millisecond for 20 windows: about 2 windows' worth live
  // at once (timestamp + window), never more, and none refused.
  for (int64_t t = 0; t < 20 * kWindow; ++t) {
    ASSERT_EQ(cache.check_and_remember("a", "n" + std::to_string(t), t, t), NonceCache::Result::kFresh);
    largest = std::max(largest, cache.size());
  }
  EXPECT_LE(largest, static_cast<size_t>(kWindow + 2));
  EXPECT_GE(largest, static_cast<size_t>(kWindow));
  // Once time moves past every window, one call empties it.
  EXPECT_EQ(cache.check_and_remember("a", "last", 30 * kWindow, 30 * kWindow), NonceCache::Result::kFresh);
  EXPECT_EQ(cache.size(), 1u);
}

TEST(NonceCacheBoundsTest, NeverHoldsMoreThanItsCapacity) {
  NonceCache cache(50, 1000);
  int full = 0;
  for (int i = 0; i < 500; ++i) {
    if (cache.check_and_remember("a", "n" + std::to_string(i), 5000, 5000) == NonceCache::Result::kFull) ++full;
    ASSERT_LE(cache.size(), 50u);
  }
  EXPECT_EQ(full, 450);
}

TEST(NonceCacheBoundsTest, TimestampsAtTheEndsOfInt64DoNotWrap) {
  NonceCache cache(10, 1000);
  // Near INT64_MAX the expiry saturates instead of wrapping into the past
  // (which would forget the nonce at once and allow a replay).
  EXPECT_EQ(cache.check_and_remember("a", "n", kMax - 5, kMax - 5), NonceCache::Result::kFresh);
  EXPECT_EQ(cache.check_and_remember("a", "n", kMax - 5, kMax - 1), NonceCache::Result::kReused);
  EXPECT_EQ(cache.check_and_remember("a", "m", kMin, kMin), NonceCache::Result::kFresh);
  EXPECT_EQ(cache.check_and_remember("a", "m", kMin, kMin), NonceCache::Result::kReused);
}

TEST(FaultSettingsTest, ParsesValidatesAndRoundTrips) {
  auto parsed = FaultSettings::from_json(nlohmann::json::parse(
      R"({"error_5xx":0.1,"rate_limit_429":0.2,"retry_after_s":3,"latency_ms":50,"drop":0.05,"lose_response":1})"));
  ASSERT_TRUE(parsed) << parsed.status().to_string();
  EXPECT_DOUBLE_EQ(parsed->error_5xx, 0.1);
  EXPECT_DOUBLE_EQ(parsed->rate_limit_429, 0.2);
  EXPECT_EQ(parsed->retry_after_s, 3);
  EXPECT_EQ(parsed->latency_ms, 50);
  EXPECT_DOUBLE_EQ(parsed->drop, 0.05);
  EXPECT_DOUBLE_EQ(parsed->lose_response, 1.0);
  auto again = FaultSettings::from_json(parsed->to_json());
  ASSERT_TRUE(again);
  EXPECT_EQ(again->to_json(), parsed->to_json());

  auto empty = FaultSettings::from_json(nlohmann::json::object());
  ASSERT_TRUE(empty);
  EXPECT_FALSE(empty->any());
  EXPECT_EQ(empty->retry_after_s, 0);  // missing keys are 0

  for (const char* bad : {R"({"drop":1.5})", R"({"drop":-0.1})", R"({"error_5xx":"0.1"})", R"({"latency_ms":0.5})",
                          R"({"latency_ms":-1})", R"({"latency_ms":60001})", R"({"retry_after_s":3601})",
                          R"({"retry_after_s":18446744073709551615})", R"({"dorp":0.1})", R"([0.1])"}) {
    EXPECT_FALSE(FaultSettings::from_json(nlohmann::json::parse(bad))) << bad;
  }
}

TEST(FaultInjectorTest, SameSeedSameFaultsAndRatiosRoughlyHold) {
  FaultSettings s;
  s.error_5xx = 0.2;
  s.drop = 0.1;
  FaultInjector a(s, 42), b(s, 42);
  int drops = 0, errors = 0;
  constexpr int kDraws = 10'000;
  for (int i = 0; i < kDraws; ++i) {
    FaultDecision x = a.decide(), y = b.decide();
    ASSERT_EQ(x.drop, y.drop);
    ASSERT_EQ(x.error_status, y.error_status);
    drops += x.drop;
    errors += x.error_status == 503;
  }
  // 10% and 90% x 20% = 18%, with a wide margin.
  EXPECT_NEAR(drops, kDraws * 0.10, kDraws * 0.02);
  EXPECT_NEAR(errors, kDraws * 0.18, kDraws * 0.02);
  a.set({});
  for (int i = 0; i < 100; ++i) {
    FaultDecision d = a.decide();
    ASSERT_FALSE(d.drop || d.error_status || d.lose_response || d.latency_ms);
  }
}

TEST(LogRedactionTest, KeepsThePathAndParameterNamesOnly) {
  EXPECT_EQ(redact_target("/api/v1/resources/r/records"), "/api/v1/resources/r/records");
  EXPECT_EQ(redact_target("/api/v1/resources/r/records?key=420281199001011234&limit=5"),
            "/api/v1/resources/r/records?key=…&limit=…");
  EXPECT_EQ(redact_target("/x?key"), "/x?key=…");
  // Odd names may themselves be data: only their count is logged.
  EXPECT_EQ(redact_target("/x?420281199001011234&a=1&%E5%BC%A0=2"), "/x?[3 params]");
  EXPECT_EQ(redact_target("/x?id420281199001011234=1"), "/x?[1 params]");
  EXPECT_EQ(redact_target("/x?" + std::string(40, 'k') + "=v"), "/x?[1 params]");
  std::string long_path = redact_target("/" + std::string(500, 'p'));
  EXPECT_LT(long_path.size(), 300u);
}

}  // namespace
}  // namespace dxhub::http
