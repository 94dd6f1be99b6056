// Shared by the http_json tests: an agency table in a temporary SQLite
// database, the mock agency API serving it in-process, and a sink that
// keeps rows and bad input.
#pragma once

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

#include "connectors/http_json/http_json_connector.h"
#include "core/common/sqlite_db.h"
#include "sandbox/agency_api/agency_api.h"
#include "tests/connectors/test_support.h"

namespace dxhub::testing {

// Keeps rows and bad input (test_support.h).
using RecordingSink = BadInputSink;

// rows(id INTEGER PRIMARY KEY, name TEXT, gxsj TEXT, score REAL)
class AgencyTable {
 public:
  explicit AgencyTable(const std::string& path) : path_(path) {
    auto db = SqliteDb::open(path, SqliteDb::Mode::kReadWriteCreate);
    EXPECT_TRUE(db.has_value());
    db_ = std::make_unique<SqliteDb>(std::move(*db));
    EXPECT_TRUE(db_->exec("CREATE TABLE rows(id INTEGER PRIMARY KEY, name TEXT, gxsj TEXT, score REAL)").is_ok());
  }
  void insert(int64_t id, const std::string& name, const std::string& gxsj, double score = 1.5) {
    auto stmt = db_->prepare("INSERT OR REPLACE INTO rows VALUES (?1, ?2, ?3, ?4)");
    ASSERT_TRUE(stmt.has_value());
    ASSERT_TRUE(stmt->bind_int64(1, id).is_ok());
    ASSERT_TRUE(stmt->bind_text(2, name).is_ok());
    ASSERT_TRUE(stmt->bind_text(3, gxsj).is_ok());
    ASSERT_TRUE(stmt->bind_double(4, score).is_ok());
    auto r = stmt->step();
    ASSERT_TRUE(r.has_value());
  }
  // Rows 1..n, 3 per second of gxsj, names with Chinese text.
  void fill(int64_t n) {
    ASSERT_TRUE(db_->exec("BEGIN").is_ok());
    for (int64_t i = 1; i <= n; ++i) insert(i, "居民" + std::to_string(i), stamp(i / 3), 0.5 * static_cast<double>(i));
    ASSERT_TRUE(db_->exec("COMMIT").is_ok());
  }
  static std::string stamp(int64_t second) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "2026-03-01 08:%02d:%02d", static_cast<int>(second / 60 % 60),
                  static_cast<int>(second % 60));
    return buf;
  }
  SqliteDb& db() { return *db_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::unique_ptr<SqliteDb> db_;
};

inline std::unique_ptr<agency::AgencyApi> start_api(const std::string& db, agency::AgencyApiOptions options = {}) {
  options.db_path = db;
  options.table = "rows";
  options.key_column = "id";
  if (options.updated_column.empty()) options.updated_column = "gxsj";
  auto api = std::make_unique<agency::AgencyApi>(options);
  Status s = api->start("127.0.0.1", 0);
  EXPECT_TRUE(s.is_ok()) << s.message();
  return api;
}

// A config for the route with paging of that style; page_size 10.
inline nlohmann::json paged_config(const agency::AgencyApi& api, const std::string& style) {
  nlohmann::json c = {{"url", api.base_url() + "/" + style}, {"records_path", "data.items"},
                      {"backoff_initial_ms", 10}, {"backoff_max_ms", 50}, {"timeout_ms", 20000}};
  if (style == "page") {
    c["query"] = {{"page", "{page}"}, {"size", "{limit}"}};
    c["paging"] = {{"style", "page"}, {"page_size", 10}};
  } else if (style == "offset") {
    c["query"] = {{"offset", "{offset}"}, {"limit", "{limit}"}};
    c["paging"] = {{"style", "offset"}, {"page_size", 10}};
  } else if (style == "token") {
    c["query"] = {{"token", "{cursor_token}"}, {"limit", "{limit}"}};
    c["paging"] = {{"style", "token"}, {"page_size", 10}, {"token_path", "data.next_token"}};
  } else if (style == "link") {
    c["query"] = {{"limit", "{limit}"}};
    c["paging"] = {{"style", "link"}, {"page_size", 10}, {"link_path", "data.next"}};
  }
  return c;
}

inline Expected<std::unique_ptr<HttpJsonConnector>> open_http(const nlohmann::json& config,
                                                              const std::vector<std::string>& columns = {"id", "name"},
                                                              const nlohmann::json& cursor = nullptr) {
  return HttpJsonConnector::open(config, columns, cursor, ConnectorOpenOptions{false, "test_feed", ""});
}

// Reads until exhausted (bounded), returning the final status.
inline Status drain(HttpJsonConnector& c, RowSink& sink, size_t batch = 7) {
  for (int k = 0; k < 10'000; ++k) {
    Expected<size_t> n = c.read(batch, sink);
    if (!n) return n.status();
    if (*n == 0) return Status::ok();
  }
  return internal_error("read did not end");
}

}  // namespace dxhub::testing
