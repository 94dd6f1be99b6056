// The mock agency SOAP service: SOAP 1.1 / 1.2 / plain XML answers from a
// SQLite table, faults for bad requests, the switchable faults, the binary.
#include "sandbox/agency_soap/agency_soap_server.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>

#include "connectors/xml/xml_document.h"
#include "core/common/sqlite_db.h"
#include "core/delivery/curl_handle.h"
#include "tests/connectors/test_support.h"

namespace dxhub::agency_soap {
namespace {

using dxhub::testing::TempDir;

struct Reply {
  CURLcode code = CURLE_OK;
  long status = 0;
  std::string content_type;
  std::string body;
};

size_t collect(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

Reply request(const std::string& url, const std::string* body, const std::vector<std::string>& header_lines) {
  Reply reply;
  auto easy = curl::make_easy_handle();
  EXPECT_TRUE(easy);
  CURL* h = easy->get();
  curl::HeaderList headers;
  for (const auto& line : header_lines) EXPECT_TRUE(headers.append(line));
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 20000L);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &collect);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &reply.body);
  if (body != nullptr) {
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body->c_str());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, static_cast<long>(body->size()));
  }
  reply.code = curl_easy_perform(h);
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &reply.status);
  char* type = nullptr;
  curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &type);
  if (type) reply.content_type = type;
  return reply;
}

std::string envelope11(const std::string& args) {
  return R"(<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><GetRows xmlns="urn:dxhub:agency-soap">)" +
         args + "</GetRows></s:Body></s:Envelope>";
}
std::string envelope12(const std::string& args) {
  return R"(<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><GetRows xmlns="urn:dxhub:agency-soap">)" +
         args + "</GetRows></s:Body></s:Envelope>";
}
const std::vector<std::string> kSoap11Headers = {"Content-Type: text/xml; charset=utf-8", "SOAPAction: \"GetRows\""};
const std::vector<std::string> kSoap12Headers = {"Content-Type: application/soap+xml; charset=utf-8"};

// Values of every <tag> element in a response, in order.
std::vector<std::string> texts(const std::string& xml_text, const std::string& tag) {
  std::vector<std::string> out;
  auto doc = xml::parse(xml_text, {});
  EXPECT_TRUE(doc) << doc.status().to_string();
  if (!doc) return out;
  auto ctx = xml::XPathContext::create(doc->get(), {});
  auto path = xml::XPath::compile("//*[local-name()='" + tag + "']", "test");
  auto result = ctx->eval(*path, nullptr);
  for (size_t i = 0; i < xml::node_count(result->get()); ++i) {
    std::string text;
    xml::append_text(xml::node_at(result->get(), i), text);
    out.push_back(text);
  }
  return out;
}

class AgencySoapServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = SqliteDb::open(dir_.file("a.db"), SqliteDb::Mode::kReadWriteCreate);
    ASSERT_TRUE(db);
    ASSERT_TRUE(db->exec("CREATE TABLE t(k INTEGER PRIMARY KEY, v TEXT, upd TEXT)"));
    ASSERT_TRUE(db->exec("INSERT INTO t VALUES (1,'a','2024-01-02'),(2,NULL,'2024-01-01'),(3,'c<&>','2024-01-03'),"
                         "(4,'d','2024-01-02'),(5,'e','2024-01-03')"));
    ServerOptions options;
    options.database = dir_.file("a.db");
    options.table = "t";
    options.key_column = "k";
    options.updated_column = "upd";
    server_ = std::make_unique<Server>(options);
    ASSERT_TRUE(server_->start());
    url_ = "http://127.0.0.1:" + std::to_string(server_->port());
  }
  TempDir dir_;
  std::unique_ptr<Server> server_;
  std::string url_;
};

TEST_F(AgencySoapServerTest, Soap11PagesOrderedByUpdatedThenKey) {
  std::string body = envelope11("<page>1</page><pageSize>3</pageSize>");
  Reply reply = request(url_ + "/soap", &body, kSoap11Headers);
  ASSERT_EQ(reply.code, CURLE_OK);
  EXPECT_EQ(reply.status, 200);
  EXPECT_NE(reply.content_type.find("text/xml"), std::string::npos);
  EXPECT_EQ(texts(reply.body, "k"), (std::vector<std::string>{"2", "1", "4"}));
  EXPECT_EQ(texts(reply.body, "total"), (std::vector<std::string>{"5"}));
  EXPECT_NE(reply.body.find("<v xsi:nil=\"true\"/>"), std::string::npos);
  body = envelope11("<page>2</page><pageSize>3</pageSize>");
  reply = request(url_ + "/soap", &body, kSoap11Headers);
  EXPECT_EQ(texts(reply.body, "k"), (std::vector<std::string>{"3", "5"}));
  EXPECT_EQ(texts(reply.body, "v"), (std::vector<std::string>{"c<&>", "e"}));
}

TEST_F(AgencySoapServerTest, Soap12WithOffsetAndUpdatedSince) {
  std::string body = envelope12("<offset>1</offset><pageSize>10</pageSize><updatedSince>2024-01-02</updatedSince>");
  Reply reply = request(url_ + "/soap", &body, kSoap12Headers);
  EXPECT_EQ(reply.status, 200);
  EXPECT_NE(reply.content_type.find("application/soap+xml"), std::string::npos);
  EXPECT_NE(reply.body.find("http://www.w3.org/2003/05/soap-envelope"), std::string::npos);
  EXPECT_EQ(texts(reply.body, "k"), (std::vector<std::string>{"4", "3", "5"}));
  EXPECT_EQ(texts(reply.body, "total"), (std::vector<std::string>{"4"}));
}

TEST_F(AgencySoapServerTest, PlainXmlGet) {
  Reply reply = request(url_ + "/rows?page=1&page_size=2&updated_since=2024-01-03", nullptr, {});
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(texts(reply.body, "k"), (std::vector<std::string>{"3", "5"}));
  EXPECT_NE(reply.body.find("total=\"2\""), std::string::npos);
}

TEST_F(AgencySoapServerTest, BadRequestsGetSoapFaults) {
  struct Case {
    std::string body;
    std::vector<std::string> headers;
    long status;
    std::string code;
  };
  const std::vector<Case> cases = {
      {"<not-closed", kSoap11Headers, 500, "soap:Client"},
      {envelope11("<pageSize>0</pageSize>"), kSoap11Headers, 500, "soap:Client"},
      {envelope11("<page>x</page>"), kSoap11Headers, 500, "soap:Client"},
      {envelope11("<bogus>1</bogus>"), kSoap11Headers, 500, "soap:Client"},
      {envelope11(""), {"Content-Type: text/xml"}, 500, "soap:Client"},  // no SOAPAction
      {envelope11(""), kSoap12Headers, 400, "env:Sender"},               // 1.1 body, 1.2 type
      {"<!DOCTYPE l [<!ENTITY a \"aa\"><!ENTITY b \"&a;&a;\">]>" + envelope11("<page>&b;</page>"), kSoap11Headers, 500,
       "soap:Client"},
  };
  for (const auto& c : cases) {
    Reply reply = request(url_ + "/soap", &c.body, c.headers);
    EXPECT_EQ(reply.status, c.status) << c.body;
    auto codes = texts(reply.body, c.code == "env:Sender" ? "Value" : "faultcode");
    ASSERT_EQ(codes.size(), 1u) << reply.body;
    EXPECT_EQ(codes[0], c.code);
  }
}

TEST_F(AgencySoapServerTest, SwitchableFaults) {
  std::string body = envelope11("<page>1</page>");
  server_->faults().error_5xx = 1;
  Reply reply = request(url_ + "/soap", &body, kSoap11Headers);
  EXPECT_EQ(reply.status, 503);
  EXPECT_NE(reply.content_type.find("text/html"), std::string::npos);
  server_->faults().html = 1;
  reply = request(url_ + "/soap", &body, kSoap11Headers);
  EXPECT_EQ(reply.status, 200);
  EXPECT_NE(reply.content_type.find("text/html"), std::string::npos);
  server_->faults().truncate = 1;
  reply = request(url_ + "/soap", &body, kSoap11Headers);
  EXPECT_EQ(reply.code, CURLE_PARTIAL_FILE);
  server_->faults().fault_on_page = 2;
  server_->faults().fault_count = 1;
  std::string page2 = envelope11("<page>2</page><pageSize>2</pageSize>");
  reply = request(url_ + "/soap", &page2, kSoap11Headers);
  EXPECT_EQ(reply.status, 500);
  EXPECT_EQ(texts(reply.body, "faultcode"), (std::vector<std::string>{"soap:Server"}));
  reply = request(url_ + "/soap", &page2, kSoap11Headers);
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(texts(reply.body, "k"), (std::vector<std::string>{"4", "3"}));
  reply = request(url_ + "/soap", &body, kSoap11Headers);  // faults used up
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(server_->requests(), 6u);
}

TEST_F(AgencySoapServerTest, MissingTableIsRefusedAtStart) {
  ServerOptions options;
  options.database = dir_.file("a.db");
  options.table = "nope";
  options.key_column = "k";
  Server server(options);
  Status status = server.start();
  EXPECT_EQ(status.code(), StatusCode::kConfig);
  EXPECT_NE(status.message().find("nope"), std::string::npos);
}

TEST_F(AgencySoapServerTest, BinaryPrintsItsPortAndServes) {
  int out[2];
  ASSERT_EQ(pipe(out), 0);
  const std::string binary = std::string(DXHUB_BINARY_DIR) + "/bin/dxhub-agency-soap";
  const std::string db = dir_.file("a.db");
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    dup2(out[1], 1);
    close(out[0]);
    execl(binary.c_str(), binary.c_str(), "--db", db.c_str(), "--table", "t", "--key", "k", "--updated-column", "upd",
          "--listen", "127.0.0.1:0", static_cast<char*>(nullptr));
    _exit(127);
  }
  close(out[1]);
  FILE* from_child = fdopen(out[0], "r");
  char line[64] = {};
  ASSERT_NE(fgets(line, sizeof line, from_child), nullptr);
  const int port = std::atoi(line);
  ASSERT_GT(port, 0);
  std::string body = envelope11("<pageSize>1</pageSize>");
  Reply reply = request("http://127.0.0.1:" + std::to_string(port) + "/soap", &body, kSoap11Headers);
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(texts(reply.body, "k"), (std::vector<std::string>{"2"}));
  kill(pid, SIGTERM);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  fclose(from_child);
}

}  // namespace
}  // namespace dxhub::agency_soap
