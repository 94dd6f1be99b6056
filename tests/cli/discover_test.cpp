// `dxhub discover` on a real SQLite table of every kind of value: the
// drafted schema and mapping must load and map the rows they came from.
#include "core/cli/discover_command.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "connectors/connector_factory.h"
#include "core/avro/schema.h"
#include "core/common/sqlite_db.h"
#include "core/mapping/record_mapper.h"
#include "tests/connectors/test_support.h"

namespace dxhub {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

class DiscoverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    source_ = tmp_.file("agency.db");
    auto db = SqliteDb::open(source_, SqliteDb::Mode::kReadWriteCreate);
    ASSERT_TRUE(db) << db.status().to_string();
    ASSERT_TRUE(db->exec("CREATE TABLE 企业登记 (id INTEGER PRIMARY KEY, 名称 TEXT NOT NULL, score REAL, "
                         "amount TEXT, photo BLOB, clrq TEXT, gxsj TEXT, code TEXT, \"reg-no\" TEXT, "
                         "remark TEXT, unused TEXT, mixed)")
                    .is_ok());
    ASSERT_TRUE(db->exec("INSERT INTO 企业登记 VALUES "
                         "(1, '甲公司', 1.5, '1200.50', x'00ff10', '2001-02-03', '2026-01-01 08:00:00', '0101', 'A-1', "
                         "NULL, NULL, 7),"
                         "(2, '乙公司', 2, '-3.25', x'', '2010-12-31', '2026-01-02 09:30:15', '0202', 'A-2', "
                         "'备注', NULL, 'x'),"
                         "(3, '丙公司', NULL, '0.125', NULL, NULL, '2026-01-03 10:00:59', '0303', 'A-3', "
                         "'', NULL, 2.5)")
                    .is_ok());
  }

  nlohmann::json settings() const {
    return {{"database", source_}, {"table", "企业登记"}, {"cursor_column", "gxsj"}, {"key_column", "id"}};
  }
  std::vector<std::string> table_columns() const {
    std::vector<std::string> out;
    auto db = SqliteDb::open(source_, SqliteDb::Mode::kReadOnly);
    auto info = db->prepare("SELECT name FROM pragma_table_info('企业登记')");
    while (*info->step()) out.emplace_back(info->column_text(0));
    return out;
  }
  // The columns as the connector lists them when asked for none (the
  // contract), or from the table when this connector does not list them yet.
  Expected<std::unique_ptr<Connector>> open(std::vector<std::string> columns = {}) {
    ConnectorOpenOptions options;
    options.dry_run = true;
    if (columns.empty()) {
      auto every = open_connector("sqlite_table", settings(), {}, nullptr, options);
      if (!every) return every.status();
      if (!(*every)->columns().empty()) return every;
      columns = table_columns();
    }
    return open_connector("sqlite_table", settings(), columns, nullptr, options);
  }

  TempDir tmp_;
  std::string source_;
};

nlohmann::json field_named(const nlohmann::json& schema, const std::string& name) {
  for (const auto& f : schema["fields"]) {
    if (f["name"] == name) return f;
  }
  return nullptr;
}

TEST_F(DiscoverTest, DraftsLoadAndMapEveryRow) {
  auto connector = open();
  ASSERT_TRUE(connector) << connector.status().to_string();
  DiscoverOptions options;
  options.resource = "enterprise_registration";
  options.key_hint = "id";
  auto draft = draft_from_connector(**connector, options);
  ASSERT_TRUE(draft) << draft.status().to_string();
  EXPECT_EQ(draft->rows_sampled, 3);
  EXPECT_EQ(draft->rows_not_mapping, 0);
  ASSERT_TRUE(write_drafts(*draft, tmp_.file("drafts")).is_ok());

  // The files load the way a plugin's do.
  const std::string avsc = tmp_.file("drafts/enterprise_registration.avsc");
  const std::string mapping_path = tmp_.file("drafts/enterprise_registration.mapping.json");
  auto schema = avro::Schema::from_file(avsc);
  ASSERT_TRUE(schema) << schema.status().to_string();
  auto mapper = RecordMapper::load(mapping_path, *schema);
  ASSERT_TRUE(mapper) << mapper.status().to_string() << "\n" << draft->mapping_json;
  EXPECT_EQ(mapper->primary_key(), "id");

  // Types as inferred.
  auto j = nlohmann::json::parse(draft->schema_json);
  EXPECT_EQ(j["name"], "EnterpriseRegistration");
  EXPECT_EQ(field_named(j, "id")["type"], "long");  // the key: not nullable
  EXPECT_EQ(field_named(j, "score")["type"], (nlohmann::json{"null", "double"}));
  EXPECT_EQ(field_named(j, "photo")["type"], (nlohmann::json{"null", "bytes"}));
  EXPECT_EQ(field_named(j, "clrq")["type"][1]["logicalType"], "date");
  EXPECT_EQ(field_named(j, "gxsj")["type"][1]["logicalType"], "timestamp-millis");
  EXPECT_EQ(field_named(j, "amount")["type"][1]["logicalType"], "decimal");
  EXPECT_EQ(field_named(j, "amount")["type"][1]["scale"], 3);
  EXPECT_EQ(field_named(j, "code")["type"], (nlohmann::json{"null", "string"}));  // leading zeros kept
  EXPECT_NE(field_named(j, "code")["doc"].get<std::string>().find("integers as text"), std::string::npos);
  EXPECT_EQ(field_named(j, "reg_no")["type"], (nlohmann::json{"null", "string"}));
  EXPECT_EQ(field_named(j, "mixed")["type"], (nlohmann::json{"null", "string"}));
  EXPECT_EQ(field_named(j, "unused")["type"], (nlohmann::json{"null", "string"}));
  // A Chinese column name: a safe field name, the original in the mapping and the doc.
  const std::string chinese_field = avro_field_name_for("名称");
  EXPECT_EQ(chinese_field, "f_e5908de7a7b0");
  auto f = field_named(j, chinese_field);
  ASSERT_FALSE(f.is_null()) << draft->schema_json;
  EXPECT_NE(f["doc"].get<std::string>().find("TODO: meaning of column 名称"), std::string::npos);
  auto m = nlohmann::json::parse(draft->mapping_json);
  bool mapped = false;
  for (const auto& fm : m["fields"]) mapped = mapped || (fm["field"] == chinese_field && fm["column"] == "名称");
  EXPECT_TRUE(mapped) << draft->mapping_json;
  EXPECT_EQ(m["source_timezone"], "+08:00");
  for (const auto& field : j["fields"]) EXPECT_TRUE(field.contains("doc")) << field.dump();

  // And the files map the source's rows through a fresh connector.
  auto again = open(mapper->source_columns());
  ASSERT_TRUE(again) << again.status().to_string();
  ASSERT_TRUE(mapper->bind((*again)->columns()).is_ok());
  struct MapSink : RowSink {
    const RecordMapper* mapper = nullptr;
    int ok = 0, bad = 0;
    Status on_row(const RowView& row) override {
      std::string out;
      (mapper->encode(row, out).is_ok() ? ok : bad)++;
      return Status::ok();
    }
  } sink;
  sink.mapper = &*mapper;
  auto read = (*again)->read(100, sink);
  ASSERT_TRUE(read) << read.status().to_string();
  EXPECT_EQ(sink.ok, 3);
  EXPECT_EQ(sink.bad, 0);

  // A second write refuses to overwrite the drafts.
  EXPECT_EQ(write_drafts(*draft, tmp_.file("drafts")).code(), StatusCode::kConfig);
}

TEST_F(DiscoverTest, KeyIsFoundWithoutAHint) {
  auto connector = open();
  ASSERT_TRUE(connector);
  auto draft = draft_from_connector(**connector, DiscoverOptions{});
  ASSERT_TRUE(draft) << draft.status().to_string();
  EXPECT_EQ(draft->resource, "draft");
  EXPECT_EQ(nlohmann::json::parse(draft->mapping_json)["primary_key"], "id");
}

TEST_F(DiscoverTest, SampleIsBounded) {
  auto connector = open();
  ASSERT_TRUE(connector);
  DiscoverOptions options;
  options.sample_rows = 2;
  auto draft = draft_from_connector(**connector, options);
  ASSERT_TRUE(draft) << draft.status().to_string();
  EXPECT_EQ(draft->rows_sampled, 2);
}

TEST_F(DiscoverTest, RunDiscoverFromConnectorSettings) {
  DiscoverRequest request;
  request.connector_kind = "sqlite_table";
  request.settings = settings();
  {
    auto every = open_connector("sqlite_table", settings(), {}, nullptr, {});
    ASSERT_TRUE(every);
    if ((*every)->columns().empty()) request.columns = table_columns();
  }
  auto draft = run_discover(request);
  ASSERT_TRUE(draft) << draft.status().to_string();
  // The resource is named from the table, made safe for file names.
  EXPECT_EQ(draft->resource, safe_resource_name("企业登记"));
  EXPECT_EQ(draft->rows_not_mapping, 0);
}

TEST(DiscoverNames, AvroNamesAreSafe) {
  EXPECT_EQ(avro_field_name_for("xm"), "xm");
  EXPECT_EQ(avro_field_name_for("user-name"), "user_name");
  EXPECT_EQ(avro_field_name_for("1st"), "_1st");
  EXPECT_EQ(avro_field_name_for("姓名"), "f_e5a793e5908d");
  EXPECT_EQ(safe_resource_name("../etc"), "draft");
  EXPECT_EQ(safe_resource_name("企业登记"), "draft");
  EXPECT_EQ(safe_resource_name(""), "draft");
  EXPECT_EQ(safe_resource_name("orders_2026"), "orders_2026");
}

TEST(DiscoverSettings, JsonOrFile) {
  auto inline_settings = parse_settings_argument("{\"database\":\"x.db\"}");
  ASSERT_TRUE(inline_settings);
  EXPECT_EQ((*inline_settings)["database"], "x.db");
  EXPECT_EQ(parse_settings_argument("[1]").status().code(), StatusCode::kConfig);
  EXPECT_EQ(parse_settings_argument("@/nonexistent/settings.json").status().code(), StatusCode::kConfig);
}

}  // namespace
}  // namespace dxhub
