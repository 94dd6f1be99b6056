// Shared by the sqlite_* connector tests: an agency database written through
// its own connection, and a sink that keeps rows with their operation.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "connectors/sqlite_table/sqlite_table_connector.h"
#include "core/common/sqlite_db.h"
#include "tests/connectors/test_support.h"

namespace dxhub::testing {

struct OpRow {
  RowOp op = RowOp::kUpsert;
  std::vector<OwnedValue> values;
};

class OpSink : public RowSink {
 public:
  Status on_row(const RowView& row) override {
    OpRow r{row.op, {}};
    for (size_t c = 0; c < row.count; ++c) {
      const FieldValue& v = row[c];
      if ((v.type == FieldValue::Type::kText || v.type == FieldValue::Type::kBlob) && v.s.data() != nullptr) {
        EXPECT_EQ(v.s.data()[v.s.size()], '\0') << "text/blob must be NUL-terminated";
      }
      r.values.push_back(OwnedValue{v.type, v.i, v.d, std::string(v.s)});
    }
    rows.push_back(std::move(r));
    return Status::ok();
  }
  std::vector<OpRow> rows;
};

// A row as text, for comparing multisets of rows: "type:value|...".
inline std::string row_text(const std::vector<OwnedValue>& values) {
  std::string out;
  for (const auto& v : values) {
    out += std::to_string(static_cast<int>(v.type)) + ":";
    if (v.type == FieldValue::Type::kInt) out += std::to_string(v.i);
    else if (v.type == FieldValue::Type::kReal) out += std::to_string(v.d);
    else out += v.s;
    out += "|";
  }
  return out;
}

// A test with its own agency database (agency.db in a TempDir), open for
// writing through db_.
class SqliteDbTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = SqliteDb::open(db_path_, SqliteDb::Mode::kReadWriteCreate);
    ASSERT_TRUE(db) << db.status().to_string();
    db_ = std::move(db).value();
  }
  void exec(const std::string& sql) { ASSERT_TRUE(db_.exec(sql).is_ok()) << sql; }

  TempDir dir_;
  std::string db_path_ = dir_.file("agency.db");
  SqliteDb db_;
};

class SqliteSourceTest : public SqliteDbTest {
 protected:
  int64_t scalar(const std::string& sql) {
    auto stmt = db_.prepare(sql);
    EXPECT_TRUE(stmt) << sql;
    if (!stmt) return -1;
    auto row = stmt->step();
    EXPECT_TRUE(row && *row) << sql;
    return stmt->column_int64(0);
  }
  nlohmann::json base(nlohmann::json extra) const {
    extra["database"] = db_path_;
    return extra;
  }
  // Reads until read() returns 0; every batch's cursor round-trips as text.
  std::vector<OpRow> drain(const nlohmann::json& cfg, const std::vector<std::string>& columns, size_t batch,
                           bool reopen_each_batch, const ConnectorOpenOptions& options = {}) {
    OpSink sink;
    std::unique_ptr<SqliteTableConnector> conn;
    for (int reads = 0; reads < 5000; ++reads) {  // bounded: a connector that never ends fails
      if (!conn) {
        auto opened = SqliteTableConnector::open(cfg, columns, cursor_, options);
        EXPECT_TRUE(opened) << opened.status().to_string();
        if (!opened) break;
        conn = std::move(opened).value();
      }
      const size_t before = sink.rows.size();
      auto n = conn->read(batch, sink);
      EXPECT_TRUE(n) << n.status().to_string();
      if (!n) break;
      EXPECT_EQ(*n, sink.rows.size() - before);
      EXPECT_LE(*n, batch);
      for (size_t k = before + 1; k < sink.rows.size(); ++k) {
        EXPECT_EQ(sink.rows[k].op, sink.rows[before].op) << "one operation per read()";
      }
      cursor_ = nlohmann::json::parse(conn->cursor().dump());
      advisories_ = conn->advisories();
      if (*n == 0) break;
      if (reopen_each_batch) conn.reset();
    }
    return std::move(sink.rows);
  }
  static std::multiset<std::string> texts(const std::vector<OpRow>& rows) {
    std::multiset<std::string> out;
    for (const auto& r : rows) out.insert(row_text(r.values));
    return out;
  }
  std::multiset<std::string> table_texts(const std::string& sql) {
    std::multiset<std::string> out;
    auto stmt = db_.prepare(sql);
    EXPECT_TRUE(stmt) << sql;
    if (!stmt) return out;
    for (;;) {
      auto row = stmt->step();
      if (!row || !*row) break;
      std::vector<OwnedValue> values;
      for (int c = 0; c < stmt->column_count(); ++c) {
        OwnedValue v;
        switch (stmt->column_type(c)) {
          case SQLITE_INTEGER: v.type = FieldValue::Type::kInt; v.i = stmt->column_int64(c); break;
          case SQLITE_FLOAT: v.type = FieldValue::Type::kReal; v.d = stmt->column_double(c); break;
          case SQLITE_TEXT: v.type = FieldValue::Type::kText; v.s = std::string(stmt->column_text(c)); break;
          case SQLITE_BLOB: v.type = FieldValue::Type::kBlob; v.s = std::string(stmt->column_blob(c)); break;
          default: break;
        }
        values.push_back(v);
      }
      out.insert(row_text(values));
    }
    return out;
  }

  nlohmann::json cursor_ = nullptr;
  std::vector<std::string> advisories_;
};

inline bool mentions(const std::vector<std::string>& lines, const std::string& word) {
  for (const auto& l : lines) {
    if (l.find(word) != std::string::npos) return true;
  }
  return false;
}

}  // namespace dxhub::testing
