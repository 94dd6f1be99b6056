// The soap_xml connector against the mock agency SOAP service
// (sandbox/agency_soap) on an ephemeral 127.0.0.1 port: SOAP 1.1 and 1.2,
// plain XML, paging, incremental reads without loss or doubles, SOAP
// faults, retries on 5xx / HTML / truncated bodies, timeouts, bad records.
#include "connectors/soap_xml/soap_xml_connector.h"

#include <gtest/gtest.h>

#include <map>

#include "connectors/connector_factory.h"
#include "core/common/sqlite_db.h"
#include "sandbox/agency_soap/agency_soap_server.h"
#include "tests/connectors/allocation_counter.h"
#include "tests/connectors/test_support.h"

namespace dxhub {
namespace {

using testing::BadInputSink;
using testing::CollectingSink;
using testing::TempDir;

const char* kEnvelope11 =
    R"(<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:a="urn:dxhub:agency-soap">)"
    R"(<soapenv:Body><a:GetRows><a:page>{{page}}</a:page><a:pageSize>{{page_size}}</a:pageSize>)"
    R"(<a:updatedSince>{{updated_since}}</a:updatedSince></a:GetRows></soapenv:Body></soapenv:Envelope>)";

class SoapXmlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = SqliteDb::open(dir_.file("agency.db"), SqliteDb::Mode::kReadWriteCreate);
    ASSERT_TRUE(db);
    db_.emplace(std::move(*db));
    ASSERT_TRUE(db_->exec("CREATE TABLE people(id INTEGER PRIMARY KEY, name TEXT, city TEXT, updated TEXT NOT NULL)"));
    ASSERT_TRUE(db_->exec("BEGIN"));
    for (int i = 1; i <= 23; ++i) {
      char sql[256];
      std::snprintf(sql, sizeof sql, "INSERT INTO people VALUES(%d, 'name %d & <co>', %s, '2024-01-%02d 10:00:00')", i, i,
                    i % 5 == 0 ? "NULL" : "'Daye'", 1 + i / 3);
      ASSERT_TRUE(db_->exec(sql));
    }
    ASSERT_TRUE(db_->exec("COMMIT"));
    start_server();
  }

  void start_server() {
    agency_soap::ServerOptions options;
    options.database = dir_.file("agency.db");
    options.table = "people";
    options.key_column = "id";
    options.updated_column = "updated";
    server_ = std::make_unique<agency_soap::Server>(options);
    ASSERT_TRUE(server_->start());
  }

  std::string base() const { return "http://127.0.0.1:" + std::to_string(server_->port()); }

  nlohmann::json soap11(bool incremental = false) const {
    nlohmann::json config = {{"url", base() + "/soap"},
                             {"protocol", "soap11"},
                             {"soap_action", "urn:dxhub:agency-soap/GetRows"},
                             {"body_template", kEnvelope11},
                             {"namespaces", {{"s", "http://schemas.xmlsoap.org/soap/envelope/"}, {"a", "urn:dxhub:agency-soap"}}},
                             {"records_xpath", "/s:Envelope/s:Body/a:GetRowsResponse/a:rows/a:row"},
                             {"key_column", "id"},
                             {"paging", "page"},
                             {"page_size", 5},
                             {"retry_backoff_ms", 1}};
    if (incremental) {
      config["cursor_column"] = "updated";
    } else {
      std::string body = kEnvelope11;
      body.replace(body.find("{{updated_since}}"), std::strlen("{{updated_since}}"), "");
      config["body_template"] = body;
    }
    return config;
  }

  // Reads the whole feed; returns the ids in order.
  std::vector<std::string> read_all(Connector& connector, CollectingSink& sink, Status* error = nullptr) {
    for (int guard = 0; guard < 1000; ++guard) {
      auto n = connector.read(4, sink);
      if (!n) {
        if (error) *error = n.status();
        break;
      }
      if (*n == 0) break;
    }
    std::vector<std::string> ids;
    for (const auto& row : sink.rows) ids.push_back(row[0].s);
    return ids;
  }

  std::unique_ptr<Connector> open(const nlohmann::json& config, const std::vector<std::string>& columns,
                                  const nlohmann::json& cursor = nullptr) {
    auto connector = open_connector("soap_xml", config, columns, cursor, ConnectorOpenOptions{false, "people", ""});
    EXPECT_TRUE(connector) << connector.status().to_string();
    return connector ? std::move(*connector) : nullptr;
  }

  TempDir dir_;
  std::optional<SqliteDb> db_;
  std::unique_ptr<agency_soap::Server> server_;
};

std::vector<std::string> ids(int from, int to) {
  std::vector<std::string> out;
  for (int i = from; i <= to; ++i) out.push_back(std::to_string(i));
  return out;
}

TEST_F(SoapXmlTest, Soap11PagesUntilAnEmptyPage) {
  auto connector = open(soap11(), {"id", "name", "city"});
  ASSERT_TRUE(connector);
  CollectingSink sink;
  EXPECT_EQ(read_all(*connector, sink), ids(1, 23));
  EXPECT_EQ(sink.rows[0][1].s, "name 1 & <co>");
  EXPECT_EQ(sink.rows[0][2].s, "Daye");
  EXPECT_EQ(sink.rows[4][2].type, FieldValue::Type::kNull);  // xsi:nil
  EXPECT_EQ(server_->requests(), 6u);  // 5 pages of rows + the empty one
  EXPECT_TRUE(connector->cursor().is_null());  // full refresh
}

TEST_F(SoapXmlTest, Soap12OffsetPagingStopsAtTheDeclaredTotal) {
  nlohmann::json config = {
      {"url", base() + "/soap"},
      {"protocol", "soap12"},
      {"soap_action", "urn:dxhub:agency-soap/GetRows"},
      {"body_template",
       R"(<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body><GetRows xmlns="urn:dxhub:agency-soap">)"
       R"(<offset>{{offset}}</offset><pageSize>{{page_size}}</pageSize></GetRows></e:Body></e:Envelope>)"},
      {"namespaces", {{"e", "http://www.w3.org/2003/05/soap-envelope"}, {"a", "urn:dxhub:agency-soap"}}},
      {"records_xpath", "//a:row"},
      {"fields", {{"id", "a:id"}, {"who", "concat(a:name, '/', a:city)"}}},
      {"total_xpath", "//a:total"},
      {"key_column", "id"},
      {"paging", "offset"},
      {"page_size", 10}};
  auto connector = open(config, {"id", "who"});
  ASSERT_TRUE(connector);
  CollectingSink sink;
  EXPECT_EQ(read_all(*connector, sink), ids(1, 23));
  EXPECT_EQ(sink.rows[1][1].s, "name 2 & <co>/Daye");
  EXPECT_EQ(server_->requests(), 3u);  // 10 + 10 + 3 = total: no empty page asked
}

TEST_F(SoapXmlTest, PlainXmlGetWithUrlPlaceholdersAndDiscoveredColumns) {
  nlohmann::json config = {{"url", base() + "/rows?page={{page}}&page_size={{page_size}}"},
                           {"protocol", "xml"},
                           {"records_xpath", "/rows/row"},
                           {"key_column", "id"},
                           {"paging", "page"},
                           {"page_size", 7}};
  auto connector = open(config, {});
  ASSERT_TRUE(connector);
  EXPECT_EQ(connector->columns(), (std::vector<std::string>{"id", "name", "city", "updated"}));
  CollectingSink sink;
  EXPECT_EQ(read_all(*connector, sink), ids(1, 23));
  EXPECT_EQ(sink.rows[22][3].s, "2024-01-08 10:00:00");
}

TEST_F(SoapXmlTest, IncrementalRunsDeliverChangesOnceWithoutLoss) {
  CollectingSink first;
  nlohmann::json cursor;
  {
    auto connector = open(soap11(true), {"id", "name"});
    ASSERT_TRUE(connector);
    EXPECT_EQ(read_all(*connector, first), ids(1, 23));
    cursor = connector->cursor();
  }
  ASSERT_EQ(cursor["value"], "2024-01-08 10:00:00");
  EXPECT_EQ(cursor["boundary"].size(), 3u);  // ids 21, 22, 23 share the last value
  // Nothing changed: the tie group is re-read and suppressed.
  {
    auto connector = open(soap11(true), {"id", "name"}, cursor);
    CollectingSink again;
    EXPECT_TRUE(read_all(*connector, again).empty());
    cursor = connector->cursor();
  }
  // A row updated into the boundary value, one changed in place at it, a new
  // row with the same value, and one later.
  ASSERT_TRUE(db_->exec("UPDATE people SET name = 'moved', updated = '2024-01-08 10:00:00' WHERE id = 3"));
  ASSERT_TRUE(db_->exec("UPDATE people SET name = 'renamed' WHERE id = 22"));
  ASSERT_TRUE(db_->exec("INSERT INTO people VALUES(30, 'new', 'Daye', '2024-01-08 10:00:00')"));
  ASSERT_TRUE(db_->exec("INSERT INTO people VALUES(31, 'later', 'Daye', '2024-02-01 00:00:00')"));
  {
    auto connector = open(soap11(true), {"id", "name"}, cursor);
    CollectingSink changes;
    EXPECT_EQ(read_all(*connector, changes), (std::vector<std::string>{"3", "22", "30", "31"}));
    cursor = connector->cursor();
  }
  EXPECT_EQ(cursor["value"], "2024-02-01 00:00:00");
  auto connector = open(soap11(true), {"id", "name"}, cursor);
  CollectingSink none;
  EXPECT_TRUE(read_all(*connector, none).empty());
}

TEST_F(SoapXmlTest, CursorAdvancesPerBatchSoAResumedRunRepeatsNothing) {
  auto connector = open(soap11(true), {"id"});
  CollectingSink part;
  ASSERT_EQ(*connector->read(8, part), 8u);
  nlohmann::json cursor = connector->cursor();
  auto resumed = open(soap11(true), {"id"}, cursor);
  CollectingSink rest;
  EXPECT_EQ(read_all(*resumed, rest), ids(9, 23));
}

// Within a page, rows come out of reused buffers: no allocation per record
// (pages allocate: the request, the tree, the XPath result).
TEST_F(SoapXmlTest, RecordsWithinAPageAllocateNothing) {
  for (bool incremental : {false, true}) {
    nlohmann::json config = soap11(incremental);
    config["page_size"] = 20;
    auto connector = open(config, {"id", "name", "city", "updated"});
    CollectingSink warm;
    ASSERT_EQ(*connector->read(2, warm), 2u);
    struct Counting : RowSink {
      Status on_row(const RowView& row) override {
        bytes += row[1].s.size();
        return Status::ok();
      }
      size_t bytes = 0;
    } sink;
    const size_t before = testing::allocation_count();
    ASSERT_EQ(*connector->read(17, sink), 17u);
    // Incremental: the boundary set's vectors may grow a few times.
    EXPECT_LE(testing::allocation_count() - before, incremental ? 4u : 0u);
    EXPECT_GT(sink.bytes, 17u * 10);
  }
}

// cursor_order "none": the cursor moves only once a run has read every page.
TEST_F(SoapXmlTest, UnorderedSourceKeepsTheCursorUntilTheRunCompletes) {
  nlohmann::json config = soap11(true);
  config["cursor_order"] = "none";
  auto connector = open(config, {"id"});
  CollectingSink sink;
  ASSERT_EQ(*connector->read(8, sink), 8u);
  EXPECT_TRUE(connector->cursor().is_null());
  EXPECT_EQ(read_all(*connector, sink).size(), 23u);
  EXPECT_EQ(connector->cursor()["value"], "2024-01-08 10:00:00");
}

TEST_F(SoapXmlTest, OversizedResponseIsRefused) {
  nlohmann::json config = soap11();
  config["max_response_bytes"] = 400;  // a page of five rows is about 800 bytes
  auto connector = open(config, {"id"});
  CollectingSink sink;
  Status error;
  read_all(*connector, sink, &error);
  EXPECT_EQ(error.code(), StatusCode::kSource);
  EXPECT_NE(error.message().find("max_response_bytes"), std::string::npos) << error.message();
  EXPECT_EQ(server_->requests(), 1u) << "not retried";
}

TEST_F(SoapXmlTest, HostileResponseIsRefusedAndNotRetried) {
  server_->faults().hostile = 1;
  auto connector = open(soap11(), {"id"});
  CollectingSink sink;
  Status error;
  read_all(*connector, sink, &error);
  EXPECT_EQ(error.code(), StatusCode::kSource);
  EXPECT_NE(error.message().find("XML refused: entity declaration"), std::string::npos) << error.message();
  EXPECT_EQ(server_->requests(), 1u);
  EXPECT_TRUE(sink.rows.empty());
}

TEST_F(SoapXmlTest, SoapFaultsAreClearSourceErrors) {
  server_->faults().fault_on_page = 2;
  auto connector = open(soap11(), {"id"});
  CollectingSink sink;
  Status error;
  read_all(*connector, sink, &error);
  EXPECT_EQ(error.code(), StatusCode::kSource);
  EXPECT_NE(error.message().find("SOAP fault"), std::string::npos) << error.message();
  EXPECT_NE(error.message().find("soap:Server"), std::string::npos) << error.message();
  EXPECT_NE(error.message().find("page 2 unavailable"), std::string::npos) << error.message();
  EXPECT_NE(error.message().find("page 2:"), std::string::npos) << error.message();
  EXPECT_EQ(sink.rows.size(), 5u);
  EXPECT_EQ(server_->requests(), 2u) << "a fault is an answer: not retried";
}

TEST_F(SoapXmlTest, Soap12FaultNamesCodeAndReason) {
  nlohmann::json config = soap11();
  config["protocol"] = "soap12";  // the body is still a 1.1 envelope: the service answers a Sender fault
  auto connector = open(config, {"id"});
  CollectingSink sink;
  Status error;
  read_all(*connector, sink, &error);
  EXPECT_EQ(error.code(), StatusCode::kSource);
  EXPECT_NE(error.message().find("env:Sender"), std::string::npos) << error.message();
  EXPECT_NE(error.message().find("not a SOAP envelope of the version"), std::string::npos) << error.message();
}

TEST_F(SoapXmlTest, TransientFaultsAreRetried) {
  server_->faults().error_5xx = 2;
  server_->faults().html = 1;
  server_->faults().truncate = 1;
  nlohmann::json config = soap11();
  config["retries"] = 4;
  auto connector = open(config, {"id"});
  CollectingSink sink;
  Status error;
  EXPECT_EQ(read_all(*connector, sink, &error), ids(1, 23));
  EXPECT_TRUE(error.is_ok()) << error.to_string();
  EXPECT_EQ(server_->requests(), 6u + 4u);
}

TEST_F(SoapXmlTest, PersistentFaultsFailTheReadAfterTheRetries) {
  for (int which = 0; which < 3; ++which) {
    server_->faults().error_5xx = which == 0 ? 100 : 0;
    server_->faults().html = which == 1 ? 100 : 0;
    server_->faults().truncate = which == 2 ? 100 : 0;
    const uint64_t before = server_->requests();
    nlohmann::json config = soap11();
    config["retries"] = 2;
    auto connector = open(config, {"id"});
    CollectingSink sink;
    Status error;
    read_all(*connector, sink, &error);
    EXPECT_EQ(error.code(), StatusCode::kSource) << which;
    EXPECT_NE(error.message().find("after 3 attempts"), std::string::npos) << error.message();
    const char* expected[] = {"HTTP 503", "text/html", "HTTP request failed"};
    EXPECT_NE(error.message().find(expected[which]), std::string::npos) << error.message();
    EXPECT_TRUE(sink.rows.empty());
    EXPECT_EQ(server_->requests() - before, 3u);
  }
}

TEST_F(SoapXmlTest, SlowServiceTimesOut) {
  server_->faults().slow_ms = 2000;
  nlohmann::json config = soap11();
  config["timeout_ms"] = 200;
  config["retries"] = 1;
  auto connector = open(config, {"id"});
  CollectingSink sink;
  Status error;
  read_all(*connector, sink, &error);
  EXPECT_EQ(error.code(), StatusCode::kSource);
  EXPECT_NE(error.message().find("imeout"), std::string::npos) << error.message();
}

TEST_F(SoapXmlTest, UnreachableServiceIsASourceError) {
  nlohmann::json config = soap11();
  server_->stop();
  config["retries"] = 1;
  auto connector = open(config, {"id"});
  CollectingSink sink;
  Status error;
  read_all(*connector, sink, &error);
  EXPECT_EQ(error.code(), StatusCode::kSource);
  EXPECT_NE(error.message().find("people"), std::string::npos) << error.message();
}

TEST_F(SoapXmlTest, RecordsWithoutKeyAreBadInputAndTheRestFlow) {
  ASSERT_TRUE(db_->exec("CREATE TABLE coded(code TEXT, name TEXT)"));
  ASSERT_TRUE(db_->exec("INSERT INTO coded VALUES('a', 'secret-1'), (NULL, 'secret-2'), ('', 'secret-3'), ('d', 'x')"));
  server_->stop();
  agency_soap::ServerOptions options;
  options.database = dir_.file("agency.db");
  options.table = "coded";
  options.key_column = "name";
  server_ = std::make_unique<agency_soap::Server>(options);
  ASSERT_TRUE(server_->start());
  nlohmann::json config = soap11();
  config["key_column"] = "code";
  auto connector = open(config, {"code", "name"});
  BadInputSink sink;
  Status error;
  read_all(*connector, sink, &error);
  EXPECT_TRUE(error.is_ok()) << error.to_string();
  ASSERT_EQ(sink.rows.size(), 2u);
  ASSERT_EQ(sink.refs().size(), 2u);
  EXPECT_EQ(sink.refs()[0], "page 1 record 2");
  EXPECT_EQ(sink.refs()[1], "page 1 record 3");
  EXPECT_EQ(sink.reasons()[0], "record has no value for key column code");
  EXPECT_EQ(sink.reasons()[0].find("secret"), std::string::npos);
  EXPECT_NE(sink.raws()[0].find("secret-2"), std::string::npos) << "raw keeps the record";
}

TEST_F(SoapXmlTest, BadSettingsAreConfigErrorsNamingTheKey) {
  std::map<std::string, nlohmann::json> cases;
  nlohmann::json c = soap11();
  c["pagesize"] = 3;
  cases["pagesize"] = c;
  c = soap11();
  c["paging"] = "offset";
  cases["{{offset}}"] = c;
  c = soap11();
  c["protocol"] = "soap13";
  cases["protocol"] = c;
  c = soap11();
  c.erase("records_xpath");
  cases["records_xpath"] = c;
  c = soap11();
  c["fields"] = {{"id", "zz:id"}};
  cases["fields.id"] = c;
  c = soap11();
  c["cursor_column"] = "updated";  // body has no {{updated_since}}
  cases["{{updated_since}}"] = c;
  c = soap11();
  c["url"] = "ftp://127.0.0.1/x";
  cases["url"] = c;
  c = soap11();
  c["retries"] = 99;
  cases["retries"] = c;
  for (const auto& [needle, config] : cases) {
    auto connector = open_connector("soap_xml", config, {"id"}, nullptr);
    ASSERT_FALSE(connector) << needle;
    EXPECT_EQ(connector.status().code(), StatusCode::kConfig) << needle;
    EXPECT_NE(connector.status().message().find(needle), std::string::npos) << connector.status().message();
  }
  EXPECT_EQ(server_->requests(), 0u);
}

}  // namespace
}  // namespace dxhub
