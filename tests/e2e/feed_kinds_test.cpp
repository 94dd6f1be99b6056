// One resource, every feed kind: the market regulation bureau's enterprise
// register (enterprise_basic) is generated once into SQLite and then read as a
// table (sqlite_table, odbc_table through sqliteodbc), as an interface (the
// plugin's own http_json declaration against the mock agency API with bearer
// auth, soap_xml against the mock SOAP service) and as files exported from
// the same table (CSV in UTF-8 and GB18030, JSON lines, xlsx) -- switched by
// the hub config's plugins[].sources alone, the plugin unchanged. Each
// variant is synced by the real dxhub binary into a province of its own, and
// every record must arrive identically, field by field.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/common/sqlite_db.h"
#include "sandbox/agency_api/agency_api.h"
#include "sandbox/agency_soap/agency_soap_server.h"
#include "sandbox/sample/enterprise_generator.h"
#include "sandbox/sample/file_export.h"
#include "tests/e2e/e2e_fixture.h"

namespace dxhub {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::unwrap_union;

constexpr int kRows = 1200;
constexpr const char* kSqliteOdbcDriver = "/usr/lib/x86_64-linux-gnu/odbc/libsqlite3odbc.so";
constexpr const char* kSoapEnvelope =
    R"(<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><GetRows xmlns="urn:dxhub:agency-soap">)"
    R"(<page>{{page}}</page><pageSize>{{page_size}}</pageSize><updatedSince>{{updated_since}}</updatedSince>)"
    R"(</GetRows></s:Body></s:Envelope>)";

class FeedKinds : public testing::HubFixture {
 protected:
  void SetUp() override {
    HubFixture::SetUp();
    source_ = (dir_ / "market_regulation.db").string();
    sample::EnterpriseOptions gen;
    gen.rows = kRows;
    ASSERT_TRUE(sample::generate_enterprise_db(source_, gen).is_ok());
    // What formats spell differently: NULLs, and text with quotes, commas,
    // a line break and XML's special characters.
    auto db = SqliteDb::open(source_, SqliteDb::Mode::kReadWrite);
    ASSERT_TRUE(db);
    ASSERT_TRUE(db->exec("UPDATE enterprise_basic SET fddbr = NULL, hzrq = NULL, zczb = NULL WHERE id % 7 = 0; "
                         "UPDATE enterprise_basic SET jyfw = jyfw || '；含\"引号\",逗号 <&> ' || char(10) || "
                         "'第二行' WHERE id % 11 = 0")
                    .is_ok());
  }

  // Syncs enterprise_basic with the plugin's declared source replaced by
  // `source` (null: as declared) into a fresh province; returns its records.
  std::map<std::string, json> sync_variant(const std::string& name, const json& source,
                                           const std::string& api_url = "http://127.0.0.1:9/unused",
                                           std::map<std::string, std::string> env = {}) {
    start_province(0, "province_" + name + ".db");
    json plugin = {{"name", "market_regulation"},
                   {"path", testing::plugin_library("market_regulation")},
                   {"settings", {{"register_api_url", api_url}, {"page_size", 250}}}};
    if (!env.empty()) {
      plugin["settings"]["client_id_env"] = "FEED_KINDS_CLIENT_ID";
      plugin["settings"]["client_secret_env"] = "FEED_KINDS_CLIENT_SECRET";
    }
    if (!source.is_null()) plugin["sources"] = {{"enterprise_basic", source}};
    std::string config = write_config_file(hub_config(json::array({plugin}), "state_" + name + ".db"),
                                           "dxhub_" + name + ".json");
    auto r = dxhub({"-c", config, "sync", "--json"}, env);
    EXPECT_EQ(r.exit_code, 0) << name << ": " << r.err;
    json summary = json::parse(r.out, nullptr, false);
    EXPECT_FALSE(summary.is_discarded()) << r.out;
    if (!summary.is_discarded()) {
      EXPECT_EQ(summary["totals"]["rows_read"], kRows) << name;
      EXPECT_EQ(summary["totals"]["rows_delivered"], kRows) << name;
      EXPECT_EQ(summary["resources"][0]["dead_letters"], 0) << name;
    }
    auto records = province_records("enterprise_basic", "credit_code");
    stop_province();
    return records;
  }

  // A drop folder holding the table exported in one format.
  std::string export_drop(const std::string& name, const std::string& format, const std::string& encoding,
                          const std::string& file_name) {
    fs::path drop = dir_ / ("drop_" + name);
    fs::create_directories(drop);
    sample::FileExportOptions options;
    options.db = source_;
    options.table = "enterprise_basic";
    options.format = format;
    options.encoding = encoding;
    options.out = (drop / file_name).string();
    auto written = sample::export_table_to_file(options);
    EXPECT_TRUE(written) << written.status().to_string();
    if (written) {
      EXPECT_EQ(*written, kRows);
    }
    return drop.string();
  }

  static json file_source(const std::string& drop, const json& format) {
    return {{"connector", "file"},
            {"settings",
             {{"source", {{"kind", "local"}, {"directory", drop}}}, {"format", format}, {"stable_seconds", 0}}}};
  }

  // The columns of the source table that the reference comparison checks
  // independently of the hub: credit code, name and legal representative.
  std::map<std::string, std::pair<std::string, json>> source_names() {
    std::map<std::string, std::pair<std::string, json>> out;
    auto db = SqliteDb::open(source_, SqliteDb::Mode::kReadOnly);
    EXPECT_TRUE(db);
    auto stmt = db->prepare("SELECT tyshxydm, qymc, fddbr FROM enterprise_basic");
    EXPECT_TRUE(stmt);
    for (;;) {
      auto more = stmt->step();
      if (!more || !*more) break;
      json legal = stmt->column_is_null(2) ? json(nullptr) : json(std::string(stmt->column_text(2)));
      out[std::string(stmt->column_text(0))] = {std::string(stmt->column_text(1)), legal};
    }
    return out;
  }

  std::string source_;
};

TEST_F(FeedKinds, TableInterfaceAndFileDeliverTheSameRecordsFieldByField) {
  // The reference: the table read directly.
  const json sqlite_source = {{"connector", "sqlite_table"},
                              {"settings",
                               {{"database", source_},
                                {"table", "enterprise_basic"},
                                {"cursor_column", "gxsj"},
                                {"key_column", "id"}}}};
  const auto reference = sync_variant("sqlite_table", sqlite_source);
  ASSERT_EQ(reference.size(), static_cast<size_t>(kRows));
  // ... checked against the source itself for the plain text fields.
  const auto names = source_names();
  ASSERT_EQ(names.size(), static_cast<size_t>(kRows));
  size_t nulls = 0;
  for (const auto& [code, name_and_legal] : names) {
    auto it = reference.find(code);
    ASSERT_NE(it, reference.end()) << "province lacks " << code;
    EXPECT_EQ(it->second["name"], name_and_legal.first);
    EXPECT_EQ(unwrap_union(it->second["legal_representative"]), name_and_legal.second);
    for (const auto& [field, value] : it->second.items()) nulls += value.is_null() ? 1 : 0;
  }

  // Every other kind, switched by the hub config alone.
  std::vector<std::pair<std::string, std::map<std::string, json>>> variants;
  variants.emplace_back("odbc_table",
                        sync_variant("odbc_table", {{"connector", "odbc_table"},
                                                    {"settings",
                                                     {{"connection_string", std::string("Driver=") + kSqliteOdbcDriver +
                                                                                ";Database=" + source_},
                                                      {"table", "enterprise_basic"},
                                                      {"cursor_column", "gxsj"},
                                                      {"key_column", "id"}}}}));
  {
    // The plugin's own declaration: http_json, token paging, bearer auth.
    agency::AgencyApiOptions api_options;
    api_options.db_path = source_;
    api_options.table = "enterprise_basic";
    api_options.key_column = "id";
    api_options.updated_column = "gxsj";
    api_options.auth = agency::Auth::kBearer;
    api_options.client_id = "feed-kinds";
    api_options.client_secret = protocol::random_hex(16);
    agency::AgencyApi api(api_options);
    ASSERT_TRUE(api.start("127.0.0.1", 0).is_ok());
    variants.emplace_back("http_json", sync_variant("http_json", nullptr, api.base_url(),
                                                    {{"FEED_KINDS_CLIENT_ID", api_options.client_id},
                                                     {"FEED_KINDS_CLIENT_SECRET", api_options.client_secret}}));
    EXPECT_GE(api.stats().token_requests, 1u);
    api.stop();
  }
  {
    agency_soap::ServerOptions soap_options;
    soap_options.database = source_;
    soap_options.table = "enterprise_basic";
    soap_options.key_column = "id";
    soap_options.updated_column = "gxsj";
    agency_soap::Server soap(soap_options);
    ASSERT_TRUE(soap.start().is_ok());
    json soap_source = {
        {"connector", "soap_xml"},
        {"settings",
         {{"url", "http://127.0.0.1:" + std::to_string(soap.port()) + "/soap"},
          {"protocol", "soap11"},
          {"soap_action", "GetRows"},
          {"body_template", kSoapEnvelope},
          {"namespaces", {{"s", "http://schemas.xmlsoap.org/soap/envelope/"}, {"a", "urn:dxhub:agency-soap"}}},
          {"records_xpath", "/s:Envelope/s:Body/a:GetRowsResponse/a:rows/a:row"},
          {"total_xpath", "/s:Envelope/s:Body/a:GetRowsResponse/a:total"},
          {"key_column", "id"},
          {"cursor_column", "gxsj"},
          {"paging", "page"},
          {"page_size", 300}}}};
    variants.emplace_back("soap_xml", sync_variant("soap_xml", soap_source));
    EXPECT_GE(soap.requests(), 4u);
    soap.stop();
  }
  variants.emplace_back(
      "csv utf-8",
      sync_variant("csv_utf8", file_source(export_drop("csv_utf8", "csv", "utf-8", "enterprise_basic.csv"),
                                           {{"kind", "csv"}, {"empty_as_null", true}})));
  variants.emplace_back(
      "csv gb18030",
      sync_variant("csv_gb18030",
                   file_source(export_drop("csv_gb18030", "csv", "gb18030", "enterprise_basic.csv"),
                               {{"kind", "csv"}, {"encoding", "gb18030"}, {"empty_as_null", true}})));
  variants.emplace_back("jsonl", sync_variant("jsonl", file_source(export_drop("jsonl", "jsonl", "utf-8",
                                                                               "enterprise_basic.jsonl"),
                                                                   {{"kind", "jsonl"}})));
  variants.emplace_back("xlsx", sync_variant("xlsx", file_source(export_drop("xlsx", "xlsx", "utf-8",
                                                                             "enterprise_basic.xlsx"),
                                                                 {{"kind", "xlsx"}})));

  size_t fields_compared = 0;
  for (const auto& [kind, records] : variants) {
    SCOPED_TRACE(kind);
    ASSERT_EQ(records.size(), reference.size());
    for (const auto& [code, want] : reference) {
      auto it = records.find(code);
      ASSERT_NE(it, records.end()) << "lacks " << code;
      ASSERT_EQ(it->second.size(), want.size()) << code;
      for (const auto& [field, value] : want.items()) {
        ASSERT_EQ(it->second[field], value) << code << " field " << field;
        ++fields_compared;
      }
    }
  }
  EXPECT_EQ(fields_compared, variants.size() * reference.size() * 13);
  EXPECT_GT(nulls, 0u);  // NULLs are part of what is compared (CSV, xlsx and XML spell them differently)
}

}  // namespace
}  // namespace dxhub
