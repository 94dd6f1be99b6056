// http_json against the mock agency API: every paging style, discover,
// POST bodies, bad pages and records, config refusals.
#include <gtest/gtest.h>

#include "connectors/connector_factory.h"
#include "tests/connectors/http_json_test_support.h"

namespace dxhub::testing {
namespace {

std::vector<int64_t> ids(const CollectingSink& sink) {
  std::vector<int64_t> out;
  for (const auto& row : sink.rows) out.push_back(row[0].i);
  return out;
}

std::vector<int64_t> one_to(int64_t n) {
  std::vector<int64_t> out;
  for (int64_t i = 1; i <= n; ++i) out.push_back(i);
  return out;
}

class HttpJsonPaging : public ::testing::TestWithParam<std::string> {};

TEST_P(HttpJsonPaging, ReadsEveryRowOnceInOrder) {
  TempDir dir;
  AgencyTable table(dir.file("agency.db"));
  table.fill(25);
  auto api = start_api(table.path());
  auto conn = open_http(paged_config(*api, GetParam()));
  ASSERT_TRUE(conn.has_value()) << conn.status().message();
  RecordingSink sink;
  ASSERT_TRUE(drain(**conn, sink).is_ok());
  // Rows come ordered by (gxsj, id), which for fill() is id order.
  EXPECT_EQ(ids(sink), one_to(25));
  EXPECT_EQ(sink.rows[0][1].type, FieldValue::Type::kText);
  EXPECT_EQ(sink.rows[0][1].s, "居民1");
  EXPECT_TRUE(sink.bad_inputs.empty());
  // page/offset stop at the empty 4th page; token/link at the short 3rd.
  const uint64_t expected_pages = (GetParam() == "page" || GetParam() == "offset") ? 4 : 3;
  EXPECT_EQ((*conn)->pages_read(), expected_pages);
  EXPECT_EQ(api->stats().data_requests, expected_pages);
  EXPECT_TRUE((*conn)->cursor().is_null()) << "no cursor_field: full refresh";
}

TEST_P(HttpJsonPaging, ExactMultipleOfPageSize) {
  TempDir dir;
  AgencyTable table(dir.file("agency.db"));
  table.fill(20);
  auto api = start_api(table.path());
  auto conn = open_http(paged_config(*api, GetParam()));
  ASSERT_TRUE(conn.has_value());
  RecordingSink sink;
  ASSERT_TRUE(drain(**conn, sink, 1000).is_ok());
  EXPECT_EQ(ids(sink), one_to(20));
}

INSTANTIATE_TEST_SUITE_P(Styles, HttpJsonPaging, ::testing::Values("page", "offset", "token", "link"));

TEST(HttpJsonConnector, DeclaredTotalStopsWithoutAnEmptyPage) {
  TempDir dir;
  AgencyTable table(dir.file("agency.db"));
  table.fill(25);
  auto api = start_api(table.path());
  nlohmann::json config = paged_config(*api, "page");
  config["paging"]["total_path"] = "data.total";
  auto conn = open_http(config);
  ASSERT_TRUE(conn.has_value());
  RecordingSink sink;
  ASSERT_TRUE(drain(**conn, sink).is_ok());
  EXPECT_EQ(ids(sink), one_to(25));
  EXPECT_EQ(api->stats().data_requests, 3u);
}

TEST(HttpJsonConnector, PostBodyTemplateWithTypedPlaceholders) {
  TempDir dir;
  AgencyTable table(dir.file("agency.db"));
  table.fill(15);
  auto api = start_api(table.path());
  nlohmann::json config = {{"url", api->base_url() + "/offset"},
                           {"method", "POST"},
                           {"body", {{"offset", "{offset}"}, {"limit", "{limit}"}, {"updated_since", "{updated_since}"}}},
                           {"records_path", "$.data.items"},
                           {"paging", {{"style", "offset"}, {"page_size", 4}}}};
  auto conn = open_http(config);
  ASSERT_TRUE(conn.has_value()) << conn.status().message();
  RecordingSink sink;
  ASSERT_TRUE(drain(**conn, sink).is_ok());
  EXPECT_EQ(ids(sink), one_to(15));
}

TEST(HttpJsonConnector, DiscoverTakesTheKeysOfTheFirstRecord) {
  TempDir dir;
  AgencyTable table(dir.file("agency.db"));
  table.fill(3);
  auto api = start_api(table.path());
  auto conn = open_http(paged_config(*api, "token"), {});
  ASSERT_TRUE(conn.has_value()) << conn.status().message();
  EXPECT_EQ((*conn)->columns(), (std::vector<std::string>{"id", "name", "gxsj", "score"}));
  RecordingSink sink;
  ASSERT_TRUE(drain(**conn, sink).is_ok());
  ASSERT_EQ(sink.rows.size(), 3u);
  EXPECT_EQ(sink.rows[2][3].type, FieldValue::Type::kReal);
  EXPECT_DOUBLE_EQ(sink.rows[2][3].d, 1.5);
  EXPECT_EQ(api->stats().data_requests, 1u) << "the page fetched to discover is not fetched again";
}

TEST(HttpJsonConnector, FieldsMapColumnsToOtherKeys) {
  TempDir dir;
  AgencyTable table(dir.file("agency.db"));
  table.fill(2);
  auto api = start_api(table.path());
  nlohmann::json config = paged_config(*api, "token");
  config["fields"] = {{"xm", "name"}, {"missing", "no.such.path"}};
  auto conn = open_http(config, {"id", "xm", "missing"});
  ASSERT_TRUE(conn.has_value()) << conn.status().message();
  RecordingSink sink;
  ASSERT_TRUE(drain(**conn, sink).is_ok());
  ASSERT_EQ(sink.rows.size(), 2u);
  EXPECT_EQ(sink.rows[1][1].s, "居民2");
  EXPECT_EQ(sink.rows[1][2].type, FieldValue::Type::kNull);
}

TEST(HttpJsonConnector, HtmlPageIsBadInputAndPagingGoesOn) {
  TempDir dir;
  AgencyTable table(dir.file("agency.db"));
  table.fill(25);
  auto api = start_api(table.path());
  agency::FaultPlan plan;
  plan.rules.push_back({agency::FaultRule::Kind::kHtml, 1, 1, 0});  // the 2nd page
  api->set_faults(plan);
  auto conn = open_http(paged_config(*api, "page"));
  ASSERT_TRUE(conn.has_value());
  RecordingSink sink;
  ASSERT_TRUE(drain(**conn, sink).is_ok());
  ASSERT_EQ(sink.bad_inputs.size(), 1u);
  EXPECT_EQ(sink.bad_inputs[0].source_ref, "page 2");
  EXPECT_NE(sink.bad_inputs[0].raw.find("<html>"), std::string::npos);
  EXPECT_EQ(sink.bad_inputs[0].reason.find("<"), std::string::npos) << "the reason quotes nothing";
  std::vector<int64_t> expected = one_to(10);
  for (int64_t i = 21; i <= 25; ++i) expected.push_back(i);
  EXPECT_EQ(ids(sink), expected);
}

TEST(HttpJsonConnector, TruncatedPageIsBadInputWithOffsetPaging) {
  TempDir dir;
  AgencyTable table(dir.file("agency.db"));
  table.fill(25);
  auto api = start_api(table.path());
  agency::FaultPlan plan;
  plan.rules.push_back({agency::FaultRule::Kind::kTruncated, 0, 1, 0});  // the 1st page
  api->set_faults(plan);
  auto conn = open_http(paged_config(*api, "offset"));
  ASSERT_TRUE(conn.has_value());
  RecordingSink sink;
  ASSERT_TRUE(drain(**conn, sink).is_ok());
  ASSERT_EQ(sink.bad_inputs.size(), 1u);
  EXPECT_EQ(sink.bad_inputs[0].source_ref, "page 1");
  std::vector<int64_t> expected;
  for (int64_t i = 11; i <= 25; ++i) expected.push_back(i);
  EXPECT_EQ(ids(sink), expected);
}

TEST(HttpJsonConnector, BadPageWithTokenPagingFailsTheRead) {
  TempDir dir;
  AgencyTable table(dir.file("agency.db"));
  table.fill(25);
  auto api = start_api(table.path());
  agency::FaultPlan plan;
  plan.rules.push_back({agency::FaultRule::Kind::kHtml, 1, 1, 0});
  api->set_faults(plan);
  auto conn = open_http(paged_config(*api, "token"));
  ASSERT_TRUE(conn.has_value());
  RecordingSink sink;
  Status s = drain(**conn, sink, 1000);
  EXPECT_EQ(s.code(), StatusCode::kSource) << s.message();
  EXPECT_NE(s.message().find("page 2"), std::string::npos) << s.message();
  EXPECT_TRUE(sink.bad_inputs.empty());
}

TEST(HttpJsonConnector, MissingRecordsPathFailsAfterMaxBadPages) {
  TempDir dir;
  AgencyTable table(dir.file("agency.db"));
  table.fill(25);
  auto api = start_api(table.path());
  nlohmann::json config = paged_config(*api, "page");
  config["records_path"] = "data.list";
  config["max_bad_pages"] = 2;
  auto conn = open_http(config);
  ASSERT_TRUE(conn.has_value());
  RecordingSink sink;
  Status s = drain(**conn, sink);
  EXPECT_EQ(s.code(), StatusCode::kSource);
  ASSERT_EQ(sink.bad_inputs.size(), 1u);
  EXPECT_EQ(sink.bad_inputs[0].source_ref, "page 1");
  EXPECT_NE(sink.bad_inputs[0].reason.find("records_path"), std::string::npos);
}

TEST(HttpJsonConnector, RecordsPathThatIsNotAnArrayIsBadInput) {
  TempDir dir;
  AgencyTable table(dir.file("agency.db"));
  table.fill(5);
  auto api = start_api(table.path());
  nlohmann::json config = paged_config(*api, "page");
  config["records_path"] = "data";
  auto conn = open_http(config);
  ASSERT_TRUE(conn.has_value());
  RecordingSink sink;
  EXPECT_EQ(drain(**conn, sink).code(), StatusCode::kSource);
  ASSERT_FALSE(sink.bad_inputs.empty());
  EXPECT_NE(sink.bad_inputs[0].reason.find("not an array"), std::string::npos);
}

TEST(HttpJsonConnector, FieldOfTheWrongTypeIsBadInputForThatRecord) {
  TempDir dir;
  AgencyTable table(dir.file("agency.db"));
  table.fill(12);
  // REAL affinity keeps text that is not a number as TEXT: the API sends a string.
  ASSERT_TRUE(table.db().exec("UPDATE rows SET score = 'n/a' WHERE id = 4").is_ok());
  auto api = start_api(table.path());
  nlohmann::json config = paged_config(*api, "page");
  config["field_types"] = {{"score", "number"}};
  auto conn = open_http(config, {"id", "score"});
  ASSERT_TRUE(conn.has_value()) << conn.status().message();
  RecordingSink sink;
  ASSERT_TRUE(drain(**conn, sink).is_ok());
  ASSERT_EQ(sink.bad_inputs.size(), 1u);
  EXPECT_EQ(sink.bad_inputs[0].source_ref, "page 1 record 4");
  EXPECT_EQ(sink.bad_inputs[0].reason.find("n/a"), std::string::npos);
  EXPECT_NE(sink.bad_inputs[0].raw.find("n/a"), std::string::npos);
  EXPECT_EQ(sink.rows.size(), 11u);
}

TEST(HttpJsonConnector, OpenedThroughTheFactory) {
  TempDir dir;
  AgencyTable table(dir.file("agency.db"));
  table.fill(3);
  auto api = start_api(table.path());
  auto conn = open_connector("http_json", paged_config(*api, "link"), {"id"}, nullptr, ConnectorOpenOptions{});
  ASSERT_TRUE(conn.has_value()) << conn.status().message();
  RecordingSink sink;
  auto n = (*conn)->read(100, sink);
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(*n, 3u);
}

TEST(HttpJsonConnector, RefusesUnknownKeysAndBadValues) {
  const nlohmann::json base = {{"url", "http://127.0.0.1:1/x"}, {"records_path", "data"}};
  auto expect_config_error = [](const nlohmann::json& c, const std::string& key) {
    auto conn = open_http(c);
    ASSERT_FALSE(conn.has_value());
    EXPECT_EQ(conn.status().code(), StatusCode::kConfig);
    EXPECT_NE(conn.status().message().find(key), std::string::npos) << conn.status().message();
  };
  nlohmann::json c = base;
  c["secret"] = "x";
  expect_config_error(c, "secret");
  c = base;
  c["paging"] = {{"style", "sideways"}};
  expect_config_error(c, "paging.style");
  c = base;
  c["auth"] = {{"type", "app_key"}, {"app_key", "k"}, {"secret", "literal"}};
  expect_config_error(c, "auth.secret");
  c = base;
  c["auth"] = {{"type", "basic"}, {"username", "u"}, {"password_env", "DXHUB_TEST_SURELY_UNSET_VAR"}};
  expect_config_error(c, "DXHUB_TEST_SURELY_UNSET_VAR");
  c = base;
  c["cursor_field"] = "gxsj";
  expect_config_error(c, "key_field");
  c = base;
  c["max_attempts"] = 0;
  expect_config_error(c, "max_attempts");
}

}  // namespace
}  // namespace dxhub::testing
