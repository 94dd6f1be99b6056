// http_json against the mock agency API: auth styles (token expiry, 401
// refresh), rate limit, retries for each fault, unreachable source, and
// incremental reading with rows added at the boundary value.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <set>
#include <thread>

#include "tests/connectors/http_json_test_support.h"

namespace dxhub::testing {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

agency::FaultPlan plan_of(agency::FaultRule::Kind kind, int64_t skip, int64_t count, int64_t retry_after_s = 1) {
  agency::FaultPlan plan;
  plan.rules.push_back({kind, skip, count, retry_after_s});
  return plan;
}

// ---- auth ----

TEST(HttpJsonAuth, BearerTokenIsFetchedOnceAndCached) {
  ::setenv("DXHUB_TEST_CLIENT_ID", "county", 1);
  ::setenv("DXHUB_TEST_CLIENT_SECRET", "client-secret-1", 1);
  TempDir dir;
  AgencyTable table(dir.file("agency.db"));
  table.fill(25);
  agency::AgencyApiOptions options;
  options.auth = agency::Auth::kBearer;
  options.client_secret = "client-secret-1";
  auto api = start_api(table.path(), options);
  nlohmann::json config = paged_config(*api, "token");
  config["auth"] = {{"type", "bearer"}, {"token_url", api->base_url() + "/oauth/token"},
                    {"client_id_env", "DXHUB_TEST_CLIENT_ID"}, {"client_secret_env", "DXHUB_TEST_CLIENT_SECRET"}};
  auto conn = open_http(config);
  ASSERT_TRUE(conn.has_value()) << conn.status().message();
  RecordingSink sink;
  ASSERT_TRUE(drain(**conn, sink).is_ok());
  EXPECT_EQ(sink.rows.size(), 25u);
  EXPECT_EQ(api->stats().token_requests, 1u);
  EXPECT_EQ(api->stats().unauthorized, 0u);
}

TEST(HttpJsonAuth, BearerWrongSecretFailsWithSource) {
  ::setenv("DXHUB_TEST_CLIENT_ID", "county", 1);
  ::setenv("DXHUB_TEST_CLIENT_SECRET", "wrong", 1);
  TempDir dir;
  AgencyTable table(dir.file("agency.db"));
  table.fill(3);
  agency::AgencyApiOptions options;
  options.auth = agency::Auth::kBearer;
  options.client_secret = "client-secret-1";
  auto api = start_api(table.path(), options);
  nlohmann::json config = paged_config(*api, "token");
  config["auth"] = {{"type", "bearer"}, {"token_url", api->base_url() + "/oauth/token"},
                    {"client_id_env", "DXHUB_TEST_CLIENT_ID"}, {"client_secret_env", "DXHUB_TEST_CLIENT_SECRET"}};
  auto conn = open_http(config);
  ASSERT_TRUE(conn.has_value());
  RecordingSink sink;
  Status s = drain(**conn, sink);
  EXPECT_EQ(s.code(), StatusCode::kSource);
  EXPECT_EQ(s.message().find("wrong"), std::string::npos) << "no secret in messages";
  EXPECT_EQ(s.message().find("client-secret"), std::string::npos);
}

TEST(HttpJsonAuth, ExpiredTokenIsRefreshed) {
  ::setenv("DXHUB_TEST_CLIENT_ID", "county", 1);
  ::setenv("DXHUB_TEST_CLIENT_SECRET", "client-secret-1", 1);
  TempDir dir;
  AgencyTable table(dir.file("agency.db"));
  table.fill(35);
  agency::AgencyApiOptions options;
  options.auth = agency::Auth::kBearer;
  options.client_secret = "client-secret-1";
  options.token_ttl_seconds = 1;
  auto api = start_api(table.path(), options);
  nlohmann::json config = paged_config(*api, "token");
  config["auth"] = {{"type", "bearer"}, {"token_url", api->base_url() + "/oauth/token"},
                    {"client_id_env", "DXHUB_TEST_CLIENT_ID"}, {"client_secret_env", "DXHUB_TEST_CLIENT_SECRET"},
                    {"refresh_before_seconds", 0}};
  auto conn = open_http(config);
  ASSERT_TRUE(conn.has_value());
  RecordingSink sink;
  // One page per read, with the token outliving its second between pages.
  for (int k = 0; k < 10; ++k) {
    auto n = (*conn)->read(10, sink);
    ASSERT_TRUE(n.has_value()) << n.status().message();
    if (*n == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  }
  EXPECT_EQ(sink.rows.size(), 35u);
  EXPECT_GE(api->stats().token_requests, 4u);
}

TEST(HttpJsonAuth, RevokedTokenGets401ThenOneRefresh) {
  ::setenv("DXHUB_TEST_CLIENT_ID", "county", 1);
  ::setenv("DXHUB_TEST_CLIENT_SECRET", "client-secret-1", 1);
  TempDir dir;
  AgencyTable table(dir.file("agency.db"));
  table.fill(25);
  agency::AgencyApiOptions options;
  options.auth = agency::Auth::kBearer;
  options.client_secret = "client-secret-1";
  auto api = start_api(table.path(), options);
  nlohmann::json config = paged_config(*api, "token");
  config["auth"] = {{"type", "bearer"}, {"token_url", api->base_url() + "/oauth/token"},
                    {"client_id_env", "DXHUB_TEST_CLIENT_ID"}, {"client_secret_env", "DXHUB_TEST_CLIENT_SECRET"}};
  auto conn = open_http(config);
  ASSERT_TRUE(conn.has_value());
  RecordingSink sink;
  ASSERT_TRUE((*conn)->read(10, sink).has_value());
  agency::FaultPlan revoke;
  revoke.revoke_tokens = true;
  api->set_faults(revoke);
  ASSERT_TRUE(drain(**conn, sink).is_ok());
  EXPECT_EQ(sink.rows.size(), 25u);
  EXPECT_EQ(api->stats().token_requests, 2u);
  EXPECT_EQ(api->stats().unauthorized, 1u);
}

TEST(HttpJsonAuth, Persistent401FailsAfterOneRefresh) {
  ::setenv("DXHUB_TEST_CLIENT_ID", "county", 1);
  ::setenv("DXHUB_TEST_CLIENT_SECRET", "client-secret-1", 1);
  TempDir dir;
  AgencyTable table(dir.file("agency.db"));
  table.fill(5);
  agency::AgencyApiOptions options;
  options.auth = agency::Auth::kBearer;
  options.client_secret = "client-secret-1";
  auto api = start_api(table.path(), options);
  api->set_faults(plan_of(agency::FaultRule::Kind::kUnauthorized, 0, 100));
  nlohmann::json config = paged_config(*api, "token");
  config["auth"] = {{"type", "bearer"}, {"token_url", api->base_url() + "/oauth/token"},
                    {"client_id_env", "DXHUB_TEST_CLIENT_ID"}, {"client_secret_env", "DXHUB_TEST_CLIENT_SECRET"}};
  auto conn = open_http(config);
  ASSERT_TRUE(conn.has_value());
  RecordingSink sink;
  Status s = drain(**conn, sink);
  EXPECT_EQ(s.code(), StatusCode::kSource);
  EXPECT_NE(s.message().find("401"), std::string::npos) << s.message();
  EXPECT_EQ(api->stats().token_requests, 2u);
  EXPECT_EQ(api->stats().data_requests, 2u);
}

TEST(HttpJsonAuth, AppKeySignatureIsAccepted) {
  ::setenv("DXHUB_TEST_APP_SECRET", "app-secret-1", 1);
  TempDir dir;
  AgencyTable table(dir.file("agency.db"));
  table.fill(25);
  agency::AgencyApiOptions options;
  options.auth = agency::Auth::kAppKey;
  options.app_key = "county-7";
  options.app_secret = "app-secret-1";
  auto api = start_api(table.path(), options);
  for (const std::string style : {"link", "page"}) {
    nlohmann::json config = paged_config(*api, style);
    config["auth"] = {{"type", "app_key"}, {"app_key", "county-7"}, {"secret_env", "DXHUB_TEST_APP_SECRET"}};
    config["query"]["updated_since"] = "2026-03-01 08:00:00";  // an escaped space in the signed target
    auto conn = open_http(config);
    ASSERT_TRUE(conn.has_value());
    RecordingSink sink;
    Status s = drain(**conn, sink);
    ASSERT_TRUE(s.is_ok()) << style << ": " << s.message();
    EXPECT_EQ(sink.rows.size(), 25u);
  }
  EXPECT_EQ(api->stats().unauthorized, 0u);
}

TEST(HttpJsonAuth, AppKeyWrongSecretIsRefused) {
  ::setenv("DXHUB_TEST_APP_SECRET", "not-the-secret", 1);
  TempDir dir;
  AgencyTable table(dir.file("agency.db"));
  table.fill(3);
  agency::AgencyApiOptions options;
  options.auth = agency::Auth::kAppKey;
  options.app_key = "county-7";
  options.app_secret = "app-secret-1";
  auto api = start_api(table.path(), options);
  nlohmann::json config = paged_config(*api, "page");
  config["auth"] = {{"type", "app_key"}, {"app_key", "county-7"}, {"secret_env", "DXHUB_TEST_APP_SECRET"}};
  auto conn = open_http(config);
  ASSERT_TRUE(conn.has_value());
  RecordingSink sink;
  EXPECT_EQ(drain(**conn, sink).code(), StatusCode::kSource);
  EXPECT_EQ(api->stats().unauthorized, 1u) << "401 is not retried";
}

TEST(HttpJsonAuth, BasicAuth) {
  TempDir dir;
  AgencyTable table(dir.file("agency.db"));
  table.fill(12);
  agency::AgencyApiOptions options;
  options.auth = agency::Auth::kBasic;
  options.username = "county";
  options.password = "pass-1";
  auto api = start_api(table.path(), options);
  nlohmann::json config = paged_config(*api, "offset");
  config["auth"] = {{"type", "basic"}, {"username", "county"}, {"password_env", "DXHUB_TEST_PASSWORD"}};
  ::setenv("DXHUB_TEST_PASSWORD", "pass-1", 1);
  {
    auto conn = open_http(config);
    ASSERT_TRUE(conn.has_value());
    RecordingSink sink;
    ASSERT_TRUE(drain(**conn, sink).is_ok());
    EXPECT_EQ(sink.rows.size(), 12u);
  }
  ::setenv("DXHUB_TEST_PASSWORD", "pass-2", 1);
  auto conn = open_http(config);
  ASSERT_TRUE(conn.has_value());
  RecordingSink sink;
  EXPECT_EQ(drain(**conn, sink).code(), StatusCode::kSource);
}

// ---- rate limit, retries, unreachable ----

TEST(HttpJsonFetch, RateLimitSpacesRequests) {
  TempDir dir;
  AgencyTable table(dir.file("agency.db"));
  table.fill(50);
  auto api = start_api(table.path());
  nlohmann::json config = paged_config(*api, "token");
  config["rate_limit_per_second"] = 8;
  auto conn = open_http(config);
  ASSERT_TRUE(conn.has_value());
  RecordingSink sink;
  const auto start = Clock::now();
  ASSERT_TRUE(drain(**conn, sink).is_ok());
  const double elapsed = seconds_since(start);
  // 50 rows, 10 a page: 6 requests (the 6th empty), 5 gaps of 1/8 s.
  EXPECT_EQ(api->stats().requests, 6u);
  EXPECT_EQ((*conn)->fetch_stats().requests, 6u);
  EXPECT_GE(elapsed, 5.0 / 8.0 - 0.02);
}

struct FaultCase {
  agency::FaultRule::Kind kind;
  const char* name;
};

class HttpJsonRetry : public ::testing::TestWithParam<FaultCase> {};

TEST_P(HttpJsonRetry, TransientFaultIsRetriedAndNothingIsLost) {
  TempDir dir;
  AgencyTable table(dir.file("agency.db"));
  table.fill(25);
  auto api = start_api(table.path());
  api->set_faults(plan_of(GetParam().kind, 1, 2));  // the 2nd page fails twice
  auto conn = open_http(paged_config(*api, "token"));
  ASSERT_TRUE(conn.has_value());
  RecordingSink sink;
  const auto start = Clock::now();
  Status s = drain(**conn, sink);
  ASSERT_TRUE(s.is_ok()) << s.message();
  EXPECT_EQ(sink.rows.size(), 25u);
  std::set<int64_t> unique;
  for (const auto& r : sink.rows) unique.insert(r[0].i);
  EXPECT_EQ(unique.size(), 25u);
  EXPECT_EQ((*conn)->fetch_stats().retries, 2u);
  EXPECT_EQ(api->stats().data_requests, 5u);
  const auto kind = GetParam().kind;
  if (kind == agency::FaultRule::Kind::k429Seconds || kind == agency::FaultRule::Kind::k429Date) {
    EXPECT_EQ((*conn)->fetch_stats().retry_after_waits, 2u);
    if (kind == agency::FaultRule::Kind::k429Seconds) {
      EXPECT_GE(seconds_since(start), 1.9);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Faults, HttpJsonRetry,
                         ::testing::Values(FaultCase{agency::FaultRule::Kind::k5xx, "5xx"},
                                           FaultCase{agency::FaultRule::Kind::k429Seconds, "RetryAfterSeconds"},
                                           FaultCase{agency::FaultRule::Kind::k429Date, "RetryAfterDate"},
                                           FaultCase{agency::FaultRule::Kind::kTransportCut, "TransportCut"}),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

TEST(HttpJsonFetch, RetryAfterDateIsHonoured) {
  TempDir dir;
  AgencyTable table(dir.file("agency.db"));
  table.fill(5);
  auto api = start_api(table.path());
  api->set_faults(plan_of(agency::FaultRule::Kind::k429Date, 0, 1, 2));
  auto conn = open_http(paged_config(*api, "token"));
  ASSERT_TRUE(conn.has_value());
  RecordingSink sink;
  const auto start = Clock::now();
  ASSERT_TRUE(drain(**conn, sink).is_ok());
  // An HTTP-date has whole seconds: now + 2 s waits more than 1 s.
  EXPECT_GE(seconds_since(start), 1.0);
  EXPECT_EQ((*conn)->fetch_stats().retry_after_waits, 1u);
}

TEST(HttpJsonFetch, ParseRetryAfterForms) {
  EXPECT_EQ(http_json::parse_retry_after_ms(" 7 ", 0), 7000);
  EXPECT_EQ(http_json::parse_retry_after_ms("Thu, 01 Jan 1970 00:00:30 GMT", 10), 20000);
  EXPECT_EQ(http_json::parse_retry_after_ms("Thu, 01 Jan 1970 00:00:30 GMT", 100), 0);
  EXPECT_EQ(http_json::parse_retry_after_ms("soon", 0), -1);
}

TEST(HttpJsonFetch, AttemptsSpentFailWithSourceAndCursorStays) {
  TempDir dir;
  AgencyTable table(dir.file("agency.db"));
  table.fill(25);
  auto api = start_api(table.path());
  nlohmann::json config = paged_config(*api, "token");
  config["max_attempts"] = 3;
  config["cursor_field"] = "gxsj";
  config["key_field"] = "id";
  config["query"]["updated_since"] = "{updated_since}";
  auto conn = open_http(config);
  ASSERT_TRUE(conn.has_value());
  RecordingSink sink;
  ASSERT_TRUE((*conn)->read(10, sink).has_value());
  const nlohmann::json before = (*conn)->cursor();
  api->set_faults(plan_of(agency::FaultRule::Kind::k5xx, 0, 100));
  auto n = (*conn)->read(10, sink);
  ASSERT_FALSE(n.has_value());
  EXPECT_EQ(n.status().code(), StatusCode::kSource);
  EXPECT_NE(n.status().message().find("503"), std::string::npos) << n.status().message();
  EXPECT_EQ(api->stats().faults, 3u);
  EXPECT_EQ((*conn)->cursor(), before);
}

TEST(HttpJsonFetch, SlowPagePastTheTimeoutIsRetriedThenFails) {
  TempDir dir;
  AgencyTable table(dir.file("agency.db"));
  table.fill(5);
  auto api = start_api(table.path());
  agency::FaultPlan slow;
  slow.slow_ms = 1500;
  api->set_faults(slow);
  nlohmann::json config = paged_config(*api, "page");
  config["timeout_ms"] = 200;
  config["max_attempts"] = 2;
  auto conn = open_http(config);
  ASSERT_TRUE(conn.has_value());
  RecordingSink sink;
  auto n = (*conn)->read(10, sink);
  ASSERT_FALSE(n.has_value());
  EXPECT_EQ(n.status().code(), StatusCode::kSource);
  EXPECT_EQ((*conn)->fetch_stats().requests, 2u);
  EXPECT_TRUE(sink.rows.empty());
}

TEST(HttpJsonFetch, NotFoundIsNotRetried) {
  TempDir dir;
  AgencyTable table(dir.file("agency.db"));
  table.fill(5);
  auto api = start_api(table.path());
  api->set_faults(plan_of(agency::FaultRule::Kind::kNotFound, 0, 100));
  auto conn = open_http(paged_config(*api, "page"));
  ASSERT_TRUE(conn.has_value());
  RecordingSink sink;
  EXPECT_EQ(drain(**conn, sink).code(), StatusCode::kSource);
  EXPECT_EQ(api->stats().data_requests, 1u);
}

TEST(HttpJsonFetch, UnreachableSourceFailsWithSource) {
  uint16_t port = 0;
  {
    // A port that was just free: nothing listens there now.
    TempDir dir;
    AgencyTable table(dir.file("agency.db"));
    table.fill(1);
    auto api = start_api(table.path());
    port = api->port();
    api->stop();
  }
  nlohmann::json config = {{"url", "http://127.0.0.1:" + std::to_string(port) + "/page"}, {"records_path", "data.items"},
                           {"max_attempts", 2}, {"backoff_initial_ms", 10}, {"connect_timeout_ms", 2000},
                           {"cursor_field", "gxsj"}, {"key_field", "id"}};
  const nlohmann::json cursor = {{"v", 1}, {"value", "2026-03-01 08:00:05"}, {"boundary", nlohmann::json::array({{7, "00000000000000ab"}})}};
  auto conn = open_http(config, {"id"}, cursor);
  ASSERT_TRUE(conn.has_value()) << conn.status().message();
  RecordingSink sink;
  auto n = (*conn)->read(10, sink);
  ASSERT_FALSE(n.has_value());
  EXPECT_EQ(n.status().code(), StatusCode::kSource);
  EXPECT_EQ((*conn)->fetch_stats().requests, 2u);
  EXPECT_EQ((*conn)->cursor(), cursor);
}

// ---- incremental ----

nlohmann::json incremental_config(const agency::AgencyApi& api, const std::string& style) {
  nlohmann::json config = paged_config(api, style);
  config["cursor_field"] = "gxsj";
  config["key_field"] = "id";
  config["query"]["updated_since"] = "{updated_since}";
  return config;
}

struct RunResult {
  std::vector<std::pair<int64_t, std::string>> rows;  // (id, name)
  nlohmann::json cursor;
};

RunResult run(const nlohmann::json& config, const nlohmann::json& cursor) {
  RunResult r;
  auto conn = open_http(config, {"id", "name"}, cursor);
  EXPECT_TRUE(conn.has_value()) << conn.status().message();
  if (!conn) return r;
  RecordingSink sink;
  // Small batches: the cursor is taken after each, as the engine does.
  for (int k = 0; k < 1000; ++k) {
    auto n = (*conn)->read(4, sink);
    EXPECT_TRUE(n.has_value()) << n.status().message();
    if (!n || *n == 0) break;
  }
  for (const auto& row : sink.rows) r.rows.emplace_back(row[0].i, row[1].s);
  r.cursor = (*conn)->cursor();
  return r;
}

class HttpJsonIncremental : public ::testing::TestWithParam<std::string> {};

TEST_P(HttpJsonIncremental, RowsAtTheBoundaryAreNeitherLostNorDoubled) {
  TempDir dir;
  AgencyTable table(dir.file("agency.db"));
  table.fill(25);  // ids 1..25; gxsj second = id / 3: the last value (second 8) has ids 24, 25
  auto api = start_api(table.path());
  const nlohmann::json config = incremental_config(*api, GetParam());

  RunResult first = run(config, nullptr);
  ASSERT_EQ(first.rows.size(), 25u);
  ASSERT_EQ(first.cursor["value"], AgencyTable::stamp(8));
  EXPECT_EQ(first.cursor["boundary"].size(), 2u);

  RunResult idle = run(config, first.cursor);
  EXPECT_TRUE(idle.rows.empty()) << "rows at the boundary are not sent twice";
  EXPECT_EQ(idle.cursor["value"], first.cursor["value"]);

  // Between runs, at the boundary value: a new row with a lower key, a new
  // one with a higher key, a change to a row already sent; and a later row.
  table.insert(0, "后加", AgencyTable::stamp(8));
  table.insert(26, "新增", AgencyTable::stamp(8));
  table.insert(24, "改名", AgencyTable::stamp(8));
  table.insert(27, "更晚", AgencyTable::stamp(9));
  RunResult second = run(config, idle.cursor);
  std::set<int64_t> got;
  for (const auto& [id, name] : second.rows) got.insert(id);
  EXPECT_EQ(got, (std::set<int64_t>{0, 24, 26, 27}));
  EXPECT_EQ(second.rows.size(), 4u);
  EXPECT_EQ(second.cursor["value"], AgencyTable::stamp(9));

  RunResult third = run(config, second.cursor);
  EXPECT_TRUE(third.rows.empty());
}

INSTANTIATE_TEST_SUITE_P(Styles, HttpJsonIncremental, ::testing::Values("token", "link", "offset"));

TEST(HttpJsonIncremental, InitialSinceIsUsedBeforeTheFirstCursor) {
  TempDir dir;
  AgencyTable table(dir.file("agency.db"));
  table.fill(25);
  auto api = start_api(table.path());
  nlohmann::json config = incremental_config(*api, "token");
  config["initial_since"] = AgencyTable::stamp(7);
  RunResult r = run(config, nullptr);
  std::vector<int64_t> got;
  for (const auto& [id, name] : r.rows) got.push_back(id);
  EXPECT_EQ(got, (std::vector<int64_t>{21, 22, 23, 24, 25}));
}

}  // namespace
}  // namespace dxhub::testing
