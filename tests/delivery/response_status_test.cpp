#include "core/delivery/response_status.h"

#include <gtest/gtest.h>

#include "core/delivery/curl_handle.h"

namespace dxhub::delivery {
namespace {

TEST(RetryAfter, ParsesSecondsOnly) {
  EXPECT_EQ(parse_retry_after_ms("3"), 3000);
  EXPECT_EQ(parse_retry_after_ms(" 7 \r\n"), 7000);  // as a header line arrives
  EXPECT_EQ(parse_retry_after_ms(""), -1);
  EXPECT_EQ(parse_retry_after_ms("soon"), -1);
  EXPECT_EQ(parse_retry_after_ms("-1"), -1);
  EXPECT_EQ(parse_retry_after_ms("Wed, 21 Oct 2015 07:28:00 GMT"), -1);
  EXPECT_EQ(parse_retry_after_ms("99999999999"), 24L * 3600 * 1000);  // clamped, no overflow
}

TEST(InterpretResponse, SuccessEnvelopeGivesData) {
  auto v = interpret_response({200, R"({"code":0,"message":"ok","data":{"x":1}})", ""}, "GET /a");
  ASSERT_TRUE(v.status.is_ok()) << v.status.to_string();
  EXPECT_EQ(v.data["x"], 1);
}

TEST(InterpretResponse, SuccessStatusWithErrorEnvelopeIsUnavailable) {
  auto v = interpret_response({200, R"({"code":"E","message":"odd"})", ""}, "GET /a");
  EXPECT_EQ(v.status.code(), StatusCode::kUnavailable);
  EXPECT_NE(v.status.message().find("odd"), std::string::npos);
}

TEST(InterpretResponse, ServerErrorsAndThrottlingAreRetryable) {
  for (long status : {408L, 429L, 500L, 502L, 503L, 504L}) {
    auto v = interpret_response({status, R"({"code":"X","message":"m"})", "2"}, "POST /b");
    EXPECT_TRUE(v.status.retryable()) << status;
    EXPECT_EQ(v.retry_after_ms, 2000) << status;
  }
}

TEST(InterpretResponse, NonceReusedIsRetryableOtherAuthRefusalsAreNot) {
  // libcurl re-sends an unanswered request on a dead keep-alive connection unchanged.
  auto v = interpret_response({401, R"({"code":"NONCE_REUSED","message":"nonce already used"})", ""}, "POST /b");
  EXPECT_EQ(v.status.code(), StatusCode::kUnavailable) << v.status.to_string();
  v = interpret_response({401, R"({"code":"BAD_SIGNATURE","message":"signature does not match"})", ""}, "POST /b");
  EXPECT_EQ(v.status.code(), StatusCode::kRejected) << v.status.to_string();
  v = interpret_response({400, R"({"code":"NONCE_REUSED","message":"?"})", ""}, "POST /b");
  EXPECT_EQ(v.status.code(), StatusCode::kRejected) << v.status.to_string();
}

TEST(InterpretResponse, ClientErrorsAreRejectedWithCodeAndMessage) {
  auto v = interpret_response({409, R"({"code":"SEQUENCE_GAP","message":"expected 4"})", ""}, "POST /b");
  EXPECT_EQ(v.status.code(), StatusCode::kRejected);
  EXPECT_EQ(v.status.message(), "POST /b: HTTP 409 SEQUENCE_GAP: expected 4");
  auto html = interpret_response({404, "<html>\nNot Found</html>", ""}, "GET /c");
  EXPECT_EQ(html.status.code(), StatusCode::kRejected);
  EXPECT_NE(html.status.message().find("not the JSON error envelope: <html> Not Found"), std::string::npos)
      << html.status.message();
  auto long_body = interpret_response({400, std::string(5000, 'x'), ""}, "GET /c");
  EXPECT_LT(long_body.status.message().size(), 500u);  // quoted bodies are bounded
}

TEST(InterpretResponse, RedirectIsRejected) {
  auto v = interpret_response({301, "", ""}, "GET /d");
  EXPECT_EQ(v.status.code(), StatusCode::kRejected);
  EXPECT_NE(v.status.message().find("base_url"), std::string::npos);
}

TEST(TransportStatus, NetworkFailuresAreRetryableAndBadUrlsAreNot) {
  EXPECT_TRUE(curl::transport_status(CURLE_COULDNT_CONNECT, "").retryable());
  EXPECT_TRUE(curl::transport_status(CURLE_OPERATION_TIMEDOUT, "").retryable());
  EXPECT_TRUE(curl::transport_status(CURLE_PARTIAL_FILE, "").retryable());
  EXPECT_TRUE(curl::transport_status(CURLE_GOT_NOTHING, "").retryable());
  EXPECT_EQ(curl::transport_status(CURLE_URL_MALFORMAT, "").code(), StatusCode::kConfig);
  EXPECT_EQ(curl::transport_status(CURLE_UNSUPPORTED_PROTOCOL, "").code(), StatusCode::kConfig);
  Status s = curl::transport_status(CURLE_COULDNT_CONNECT, "Failed to connect to 127.0.0.1 port 9");
  EXPECT_NE(s.message().find("port 9"), std::string::npos);
}

// Whatever a province (or a proxy in front of it) answers, the message is
// bounded valid UTF-8, so logs, the state's run history and --json never
// choke on it.
TEST(InterpretResponse, HostileBodiesGiveBoundedValidUtf8Messages) {
  std::string gbk_page = "<html><title>\xb7\xfe\xce\xf1\xc6\xf7\xb4\xed\xce\xf3</title></html>";
  std::string cut_json = std::string(R"({"code":"BAD","message":"批次)") + "\xe9\x94";  // cut inside 错
  std::string huge(9 << 20, '<');
  for (const auto& [status, body] : std::vector<std::pair<long, std::string>>{
           {502, gbk_page}, {400, gbk_page}, {200, gbk_page}, {500, cut_json}, {400, cut_json}, {503, huge}}) {
    auto v = interpret_response({status, body, ""}, "POST /api/v1/resources/x/batches");
    ASSERT_FALSE(v.status.is_ok());
    const std::string& m = v.status.message();
    EXPECT_LT(m.size(), 500u);
    EXPECT_NO_THROW((void)nlohmann::json(m).dump()) << status;
    EXPECT_EQ(v.status.code(), status == 400 ? StatusCode::kRejected : StatusCode::kUnavailable) << status;
  }
}

}  // namespace
}  // namespace dxhub::delivery
