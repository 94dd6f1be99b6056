#include "core/plugin/plugin_host.h"

#include <gtest/gtest.h>

#include "core/common/sqlite_db.h"
#include "core/plugin/host_callbacks.h"
#include "dxhub/plugin_abi.h"
#include "tests/connectors/allocation_counter.h"
#include "tests/connectors/test_support.h"

namespace dxhub {
namespace {

using testing::CollectingSink;
using testing::TempDir;

std::string fixture(const std::string& name) { return std::string(DXHUB_FIXTURE_DIR) + "/libdxhub_" + name + ".so"; }

const PluginHost::PluginInfo* find_plugin(const PluginHost& host, const std::string& name) {
  for (const auto& p : host.plugins()) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

const ResourceSpec* find_resource(const PluginHost::PluginInfo& info, const std::string& id) {
  for (const auto& r : info.resources) {
    if (r.resource_id == id) return &r;
  }
  return nullptr;
}

class PluginHostTest : public ::testing::Test {
 protected:
  PluginHost load(std::vector<PluginConfig> configs) {
    errors_.clear();
    return PluginHost::load(configs, "/srv/mappings", errors_);
  }
  // Loads exactly one plugin that must fail; returns its error.
  Status load_failure(const std::string& path) {
    PluginHost host = load({{"victim", path, nlohmann::json::object()}});
    EXPECT_TRUE(host.plugins().empty());
    EXPECT_EQ(errors_.size(), 1u);
    if (errors_.empty()) return Status::ok();
    EXPECT_EQ(errors_[0].code(), StatusCode::kConfig);
    EXPECT_NE(errors_[0].message().find(path), std::string::npos) << "error must name the plugin path";
    return errors_[0];
  }
  PluginHost load_good(nlohmann::json settings = nlohmann::json::object()) {
    PluginHost host = load({{"good", fixture("test_good"), std::move(settings)}});
    EXPECT_TRUE(errors_.empty()) << (errors_.empty() ? "" : errors_[0].to_string());
    return host;
  }
  static ResourceSpec plugin_resource(const PluginHost& host, const std::string& id) {
    return *find_resource(host.plugins().at(0), id);
  }

  std::vector<Status> errors_;
};

TEST_F(PluginHostTest, GoodPluginReportsVersionsAndResources) {
  PluginHost host = load_good({{"table_db", "/data/a.db"}});
  ASSERT_EQ(host.plugins().size(), 1u);
  const auto& info = host.plugins()[0];
  EXPECT_EQ(info.name, "good");
  EXPECT_EQ(info.version, "2.3.4");
  EXPECT_EQ(info.path, fixture("test_good"));
  EXPECT_EQ(info.abi_major, 1u);
  EXPECT_EQ(info.abi_minor, static_cast<uint32_t>(DXHUB_ABI_VERSION_MINOR));
  EXPECT_EQ(info.description, "test fixture");
  ASSERT_EQ(host.resources().size(), 5u);

  const ResourceSpec* table = find_resource(info, "table_feed");
  ASSERT_NE(table, nullptr);
  EXPECT_EQ(table->plugin, "good");
  EXPECT_EQ(table->name_zh, "表数据");
  EXPECT_EQ(table->connector, "sqlite_table");
  EXPECT_EQ(table->connector_config, (nlohmann::json{{"database", "/data/a.db"},
                                                     {"table", "t"},
                                                     {"cursor_column", "ts"},
                                                     {"key_column", "id"}}));
  EXPECT_EQ(table->schema_path, "/srv/mappings/good/table_feed.avsc");
  EXPECT_EQ(table->mapping_path, "/srv/mappings/good/table_feed.mapping.json");
  EXPECT_EQ(table->schedule, "periodic");
  EXPECT_EQ(find_resource(info, "counter")->connector, "plugin");
}

TEST_F(PluginHostTest, PluginReaderDeliversTypedRowsAndResumesFromCursor) {
  PluginHost host = load_good({{"rows", 10}});
  const ResourceSpec counter = plugin_resource(host, "counter");
  const std::vector<std::string> columns = {"label", "n", "half", "maybe", "bytes"};
  nlohmann::json cursor;
  {
    auto reader = host.open_reader(counter, columns, nullptr);
    ASSERT_TRUE(reader) << reader.status().to_string();
    EXPECT_EQ((*reader)->columns(), columns);
    EXPECT_TRUE((*reader)->cursor().is_null());
    CollectingSink sink;
    auto n = (*reader)->read(4, sink);
    ASSERT_TRUE(n) << n.status().to_string();
    ASSERT_EQ(*n, 4u);
    const auto& row3 = sink.rows[3];
    EXPECT_EQ(row3[0].type, FieldValue::Type::kText);
    EXPECT_EQ(row3[0].s, "row-3");
    EXPECT_EQ(row3[1].type, FieldValue::Type::kInt);
    EXPECT_EQ(row3[1].i, 3);
    EXPECT_EQ(row3[2].type, FieldValue::Type::kReal);
    EXPECT_DOUBLE_EQ(row3[2].d, 1.5);
    EXPECT_EQ(row3[3].type, FieldValue::Type::kNull);  // 3 % 3 == 0
    EXPECT_EQ(sink.rows[2][3].type, FieldValue::Type::kInt);
    EXPECT_EQ(sink.rows[2][3].i, 20);
    EXPECT_EQ(row3[4].type, FieldValue::Type::kBlob);
    EXPECT_EQ(row3[4].s, std::string("\x03\x00\xff", 3));
    cursor = (*reader)->cursor();
    EXPECT_EQ(cursor, (nlohmann::json{{"next", 4}}));
  }
  auto reader = host.open_reader(counter, {"n"}, cursor);
  ASSERT_TRUE(reader) << reader.status().to_string();
  CollectingSink sink;
  for (int i = 0; i < 10; ++i) {
    auto n = (*reader)->read(4, sink);
    ASSERT_TRUE(n);
    if (*n == 0) break;
  }
  ASSERT_EQ(sink.rows.size(), 6u);
  for (size_t i = 0; i < 6; ++i) EXPECT_EQ(sink.rows[i][0].i, static_cast<int64_t>(4 + i));
  EXPECT_EQ((*reader)->cursor(), (nlohmann::json{{"next", 10}}));
}

// A RowSink that throws instead of returning a Status.
class ThrowingSink : public RowSink {
 public:
  explicit ThrowingSink(bool standard) : standard_(standard) {}
  Status on_row(const RowView&) override {
    ++calls;
    if (standard_) throw std::bad_alloc();
    throw 42;
  }
  int calls = 0;

 private:
  bool standard_;
};

TEST_F(PluginHostTest, AThrowingSinkBecomesAStatusNotAnExceptionInThePlugin) {
  PluginHost host = load_good({{"rows", 10}});
  for (const bool standard : {true, false}) {
    auto reader = host.open_reader(plugin_resource(host, "counter"), {"n"}, nullptr);
    ASSERT_TRUE(reader);
    ThrowingSink sink(standard);
    auto n = (*reader)->read(5, sink);  // the exception would otherwise cross the plugin's frames
    ASSERT_FALSE(n);
    EXPECT_EQ(n.status().code(), StatusCode::kInternal);
    EXPECT_NE(n.status().message().find("plugin good, resource counter: host row sink end_row failed: " +
                                        std::string(standard ? "std::bad_alloc" : "unknown exception")),
              std::string::npos)
        << n.status().message();
    EXPECT_EQ(sink.calls, 1);  // the plugin stopped at the first DXHUB_FATAL
    EXPECT_TRUE((*reader)->cursor().is_null());  // nothing was acknowledged
    // The same reader reads on once the sink behaves.
    CollectingSink good;
    auto again = (*reader)->read(3, good);
    ASSERT_TRUE(again) << again.status().to_string();
  }
}

TEST(HostCallbackTest, GuardedTurnsEveryExceptionIntoTheFailureValueAndARecord) {
  dxhub_host_context context;
  context.plugin_name = "p";
  EXPECT_EQ(guarded(&context, "declare_resource", DXHUB_FATAL, []() -> dxhub_status { throw std::bad_alloc(); }),
            DXHUB_FATAL);
  EXPECT_EQ(guarded(&context, "get_setting", static_cast<const char*>(nullptr),
                    []() -> const char* { throw std::runtime_error("boom"); }),
            nullptr);
  EXPECT_EQ(guarded(&context, "log", -1, []() -> int { throw 7; }), -1);
  EXPECT_EQ(guarded(&context, "log", -1, [] { return 3; }), 3);
  const Status s = callback_failures(context);
  EXPECT_EQ(s.code(), StatusCode::kInternal);
  EXPECT_EQ(s.message(), "host callback declare_resource failed: std::bad_alloc; host callback get_setting failed: "
                         "boom; host callback log failed: unknown exception");
  dxhub_host_context clean;
  EXPECT_TRUE(callback_failures(clean).is_ok());
}

TEST_F(PluginHostTest, ResourceIdsTheProvinceWouldRefuseAreRefusedAtLoad) {
  for (const std::string& id : std::vector<std::string>{"Household", "household-population", "人口", "a b",
                                                        std::string(65, 'a'), "x\x01"}) {
    PluginHost host = load({{"good", fixture("test_good"), {{"extra_resource_id", id}}}});
    EXPECT_TRUE(host.plugins().empty()) << id;
    ASSERT_EQ(errors_.size(), 1u) << id;
    EXPECT_EQ(errors_[0].code(), StatusCode::kConfig);
    EXPECT_NE(errors_[0].message().find("plugin good"), std::string::npos) << errors_[0].message();
    EXPECT_NE(errors_[0].message().find("is not 1-64 characters of [a-z0-9_]"), std::string::npos)
        << errors_[0].message();
  }
  EXPECT_NE(errors_[0].message().find("resource id \"x\\x01\""), std::string::npos) << errors_[0].message();
  // The edges the province accepts load.
  for (const std::string& id : std::vector<std::string>{std::string(64, 'z'), "a", "0_9"}) {
    PluginHost host = load({{"good", fixture("test_good"), {{"extra_resource_id", id}}}});
    EXPECT_EQ(host.plugins().size(), 1u) << id << ": " << (errors_.empty() ? "" : errors_[0].to_string());
  }
}

TEST_F(PluginHostTest, SinkErrorStopsThePluginReader) {
  PluginHost host = load_good();
  auto reader = host.open_reader(plugin_resource(host, "counter"), {"n"}, nullptr);
  ASSERT_TRUE(reader);
  CollectingSink sink;
  sink.fail_at = 1;
  auto n = (*reader)->read(10, sink);
  ASSERT_FALSE(n);
  EXPECT_EQ(n.status().code(), StatusCode::kData);
  EXPECT_EQ(sink.rows.size(), 1u);
}

TEST_F(PluginHostTest, ExceptionInsidePluginBecomesCleanError) {
  PluginHost host = load_good();
  auto reader = host.open_reader(plugin_resource(host, "exploding"), {"n"}, nullptr);
  ASSERT_TRUE(reader) << reader.status().to_string();
  CollectingSink sink;
  auto n = (*reader)->read(10, sink);
  ASSERT_FALSE(n);
  EXPECT_EQ(n.status().code(), StatusCode::kSource);
  EXPECT_NE(n.status().message().find("sensor offline"), std::string::npos) << n.status().message();
  EXPECT_NE(n.status().message().find("exploding"), std::string::npos) << n.status().message();
  EXPECT_EQ(sink.rows.size(), 2u);  // the rows before the throw were delivered

  auto bad_column = host.open_reader(plugin_resource(host, "counter"), {"n", "colour"}, nullptr);
  ASSERT_FALSE(bad_column);
  EXPECT_EQ(bad_column.status().code(), StatusCode::kConfig);
  EXPECT_NE(bad_column.status().message().find("counter has no column colour"), std::string::npos);
}

TEST_F(PluginHostTest, PluginBreakingTheSinkContractGetsAnError) {
  PluginHost host = load_good();
  CollectingSink sink;
  auto wrong_column = host.open_reader(plugin_resource(host, "rogue_column"), {"n"}, nullptr);
  ASSERT_TRUE(wrong_column);
  auto n = (*wrong_column)->read(5, sink);
  ASSERT_FALSE(n);
  EXPECT_NE(n.status().message().find("wrote column 99 of a reader with 1 columns"), std::string::npos)
      << n.status().message();
  EXPECT_TRUE(sink.rows.empty());

  auto too_many = host.open_reader(plugin_resource(host, "rogue_count"), {"n"}, nullptr);
  ASSERT_TRUE(too_many);
  n = (*too_many)->read(5, sink);
  ASSERT_FALSE(n);
  EXPECT_NE(n.status().message().find("more than the 5 rows asked for"), std::string::npos) << n.status().message();
  EXPECT_EQ(sink.rows.size(), 5u);
}

// Counts rows without keeping them: the sink itself must not allocate.
struct CountingSink : RowSink {
  Status on_row(const RowView& row) override {
    ++rows;
    for (size_t c = 0; c < row.count; ++c) checksum += row[c].i + static_cast<int64_t>(row[c].s.size());
    return Status::ok();
  }
  size_t rows = 0;
  int64_t checksum = 0;
};

TEST_F(PluginHostTest, RowsCrossTheBoundaryWithoutPerRowAllocation) {
  PluginHost host = load_good({{"rows", 5000}});
  auto reader = host.open_reader(plugin_resource(host, "counter"), {"n", "half", "maybe", "bytes"}, nullptr);
  ASSERT_TRUE(reader);
  CountingSink sink;
  ASSERT_EQ(*(*reader)->read(10, sink), 10u);  // warm-up: buffers reach their size
  const size_t before = testing::allocation_count();
  auto n = (*reader)->read(4000, sink);
  const size_t allocations = testing::allocation_count() - before;
  ASSERT_TRUE(n);
  ASSERT_EQ(*n, 4000u);
  EXPECT_LT(allocations, 20u) << "per-batch allocations only (cursor text and JSON)";
}

TEST_F(PluginHostTest, ReaderKeepsPluginLoadedAfterHostIsGone) {
  std::unique_ptr<Connector> reader;
  {
    PluginHost host = load_good();
    auto opened = host.open_reader(plugin_resource(host, "counter"), {"label"}, nullptr);
    ASSERT_TRUE(opened);
    reader = std::move(opened).value();
  }
  CollectingSink sink;
  ASSERT_EQ(*reader->read(2, sink), 2u);
  EXPECT_EQ(sink.rows[1][0].s, "row-1");
}

TEST_F(PluginHostTest, TableResourceOpensThroughConnectorFactory) {
  TempDir dir;
  {
    auto db = SqliteDb::open(dir.file("t.db"), SqliteDb::Mode::kReadWriteCreate);
    ASSERT_TRUE(db);
    ASSERT_TRUE(db->exec("CREATE TABLE t(id INTEGER PRIMARY KEY, ts TEXT, v TEXT);"
                         "INSERT INTO t VALUES (1, '2024', 'x'), (2, '2023', 'y')")
                    .is_ok());
  }
  PluginHost host = load_good({{"table_db", dir.file("t.db")}});
  auto reader = host.open_reader(plugin_resource(host, "table_feed"), {"v"}, nullptr);
  ASSERT_TRUE(reader) << reader.status().to_string();
  CollectingSink sink;
  ASSERT_EQ(*(*reader)->read(10, sink), 2u);
  EXPECT_EQ(sink.rows[0][0].s, "y");

  auto missing = host.open_reader(plugin_resource(host, "table_feed"), {"nope"}, nullptr);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.status().message().find("resource table_feed"), std::string::npos);
}

TEST_F(PluginHostTest, MajorVersionMismatchIsRefusedNamingBothVersions) {
  Status s = load_failure(fixture("test_abi2"));
  const std::string host_version = "1." + std::to_string(DXHUB_ABI_VERSION_MINOR);
  EXPECT_NE(s.message().find("built for ABI 2.0, host speaks " + host_version), std::string::npos) << s.message();
}

TEST_F(PluginHostTest, LibraryWithoutEntrySymbolIsNotAPlugin) {
  Status s = load_failure(fixture("test_not_a_plugin"));
  EXPECT_NE(s.message().find("does not export dxhub_plugin_entry: not a dxhub plugin"), std::string::npos)
      << s.message();
}

TEST_F(PluginHostTest, PluginBuiltForOlderMinorLoadsWithoutItsMissingFields) {
  PluginHost host = load({{"", fixture("test_old_minor"), nullptr}});
  ASSERT_TRUE(errors_.empty()) << errors_[0].to_string();
  ASSERT_EQ(host.plugins().size(), 1u);
  const auto& info = host.plugins()[0];
  EXPECT_EQ(info.name, "legacy");  // no configured name: the plugin's own
  EXPECT_EQ(info.abi_minor, 0u);
  // The fixture places a trap string where a 1.1 description would be.
  EXPECT_EQ(info.description, "");
  ASSERT_EQ(info.resources.size(), 1u);
  EXPECT_EQ(info.resources[0].resource_id, "legacy_feed");
  EXPECT_EQ(info.resources[0].schema_path, "/srv/mappings/legacy/feed.avsc");
}

TEST_F(PluginHostTest, PluginNeedingNewerMinorIsRefusedNamingBoth) {
  Status s = load_failure(fixture("test_future_minor"));
  const std::string plugin_version = "1." + std::to_string(DXHUB_ABI_VERSION_MINOR + 1);
  const std::string host_version = "1." + std::to_string(DXHUB_ABI_VERSION_MINOR);
  EXPECT_NE(s.message().find("built for ABI " + plugin_version + ", newer than the host's " + host_version),
            std::string::npos)
      << s.message();
}

TEST_F(PluginHostTest, TableSmallerThanItsMinorRequiresIsRefused) {
  Status s = load_failure(fixture("test_short_table"));
  EXPECT_NE(s.message().find("struct_size " + std::to_string(DXHUB_PLUGIN_V1_0_SIZE) + " is smaller than ABI 1.1"),
            std::string::npos)
      << s.message();
}

TEST_F(PluginHostTest, NonexistentPathIsClearError) {
  Status s = load_failure("/nonexistent/libdxhub_nothing.so");
  EXPECT_NE(s.message().find("does not exist"), std::string::npos) << s.message();
}

TEST_F(PluginHostTest, FailingInitIsReportedAndOtherPluginsStillLoad) {
  PluginHost host = load({{"broken", fixture("test_good"), {{"fail_init", true}}},
                          {"missing", "/nonexistent/x.so", nullptr},
                          {"", fixture("test_old_minor"), nullptr},
                          {"good", fixture("test_good"), nlohmann::json::object()}});
  ASSERT_EQ(errors_.size(), 2u);
  EXPECT_EQ(errors_[0].code(), StatusCode::kConfig);
  EXPECT_NE(errors_[0].message().find("plugin broken"), std::string::npos) << errors_[0].message();
  EXPECT_NE(errors_[0].message().find("on_init failed (CONFIG): setting \"fail_init\" is set"), std::string::npos)
      << errors_[0].message();
  EXPECT_NE(errors_[1].message().find("plugin missing"), std::string::npos);
  ASSERT_EQ(host.plugins().size(), 2u);
  EXPECT_NE(find_plugin(host, "legacy"), nullptr);
  EXPECT_NE(find_plugin(host, "good"), nullptr);
  EXPECT_EQ(host.resources().size(), 6u);
}

TEST_F(PluginHostTest, DuplicateResourceAcrossPluginsIsRefused) {
  PluginHost host = load({{"good", fixture("test_good"), nullptr}, {"again", fixture("test_good"), nullptr}});
  ASSERT_EQ(errors_.size(), 1u);
  EXPECT_NE(errors_[0].message().find("plugin again"), std::string::npos);
  EXPECT_NE(errors_[0].message().find("already declared"), std::string::npos);
  EXPECT_EQ(host.plugins().size(), 1u);
}

TEST_F(PluginHostTest, PluginHostIsMovable) {
  PluginHost host = load_good();
  PluginHost moved = std::move(host);
  ASSERT_EQ(moved.plugins().size(), 1u);
  auto reader = moved.open_reader(plugin_resource(moved, "counter"), {"n"}, nullptr);
  ASSERT_TRUE(reader);
}

}  // namespace
}  // namespace dxhub
