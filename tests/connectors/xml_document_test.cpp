// The hardened XML layer refuses every hostile input with a clear reason,
// loads nothing from outside, prints nothing and never aborts.
#include "connectors/xml/xml_document.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <random>
#include <string>

namespace dxhub::xml {
namespace {

// A listening socket on 127.0.0.1 that records whether anybody connected.
class TrapListener {
 public:
  TrapListener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(::listen(fd_, 8), 0);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~TrapListener() { ::close(fd_); }
  int port() const { return port_; }
  // True when a connection is waiting (checked for up to 200 ms).
  bool was_contacted() const {
    pollfd p{fd_, POLLIN, 0};
    return ::poll(&p, 1, 200) > 0;
  }

 private:
  int fd_ = -1;
  int port_ = 0;
};

Status refusal(std::string_view text, const ParseLimits& limits = {}) {
  auto doc = parse(text, limits);
  if (doc) return Status::ok();
  return doc.status();
}

void expect_refused(std::string_view text, std::string_view reason_part, const ParseLimits& limits = {}) {
  ::testing::internal::CaptureStderr();
  Status status = refusal(text, limits);
  std::string printed = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(status.code(), StatusCode::kData) << status.to_string();
  EXPECT_NE(status.message().find(reason_part), std::string::npos) << status.message();
  EXPECT_EQ(printed, "") << "libxml2 must not print";
}

TEST(XmlDocument, ParsesAndEvaluatesNamespacedXPath) {
  auto doc = parse(
      R"(<?xml version="1.0"?><e:Envelope xmlns:e="urn:env" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">)"
      R"(<e:Body><r><id>1</id><name>a &amp; b<![CDATA[ <c>]]></name><gone xsi:nil="true"/></r><r><id>2</id></r></e:Body>)"
      R"(</e:Envelope>)",
      {});
  ASSERT_TRUE(doc) << doc.status().to_string();
  auto ctx = XPathContext::create(doc->get(), {{"s", "urn:env"}});
  ASSERT_TRUE(ctx);
  auto records = XPath::compile("/s:Envelope/s:Body/r", "records_xpath");
  ASSERT_TRUE(records);
  auto result = ctx->eval(*records, nullptr);
  ASSERT_TRUE(result);
  ASSERT_EQ(node_count(result->get()), 2u);
  xmlNode* first = node_at(result->get(), 0);
  xmlNode* id = first_element_child(first);
  ASSERT_EQ(local_name(id), "id");
  std::string text;
  append_text(next_element_sibling(id), text);
  EXPECT_EQ(text, "a & b <c>");
  EXPECT_TRUE(is_nil(next_element_sibling(next_element_sibling(id))));
  auto count = XPath::compile("count(/s:Envelope/s:Body/r)", "total_xpath");
  ASSERT_TRUE(count);
  EXPECT_EQ(*ctx->number(*count, nullptr), 2.0);
}

TEST(XmlDocument, UndefinedPrefixAndBadXPathAreConfigErrors) {
  auto bad = XPath::compile("/a[", "records_xpath");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.status().code(), StatusCode::kConfig);
  EXPECT_NE(bad.status().message().find("records_xpath"), std::string::npos);
  auto doc = parse("<a/>", {});
  ASSERT_TRUE(doc);
  auto ctx = XPathContext::create(doc->get(), {});
  auto path = XPath::compile("/nope:a", "records_xpath");
  ASSERT_TRUE(path);
  ::testing::internal::CaptureStderr();
  auto result = ctx->eval(*path, nullptr);
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.status().code(), StatusCode::kConfig);
}

TEST(XmlDocument, BillionLaughsIsRefused) {
  std::string doc = "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">";
  for (int i = 1; i <= 9; ++i) {
    doc += "<!ENTITY lol" + std::to_string(i) + " \"";
    for (int j = 0; j < 10; ++j) doc += "&lol" + (i == 1 ? std::string() : std::to_string(i - 1)) + ";";
    doc += "\">";
  }
  doc += "]><lolz>&lol9;</lolz>";
  expect_refused(doc, "entity declaration");
}

TEST(XmlDocument, QuadraticBlowupIsRefused) {
  std::string doc = "<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY a \"" + std::string(50000, 'x') + "\">]><r>";
  for (int i = 0; i < 20000; ++i) doc += "&a;";
  doc += "</r>";
  expect_refused(doc, "entity declaration");
}

TEST(XmlDocument, ExternalFileEntityIsRefusedAndNotRead) {
  std::string doc = R"(<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>)";
  expect_refused(doc, "external entity");
  Status status = refusal(doc);
  EXPECT_EQ(status.message().find("root:"), std::string::npos);
}

TEST(XmlDocument, ExternalHttpEntityIsRefusedWithoutAnyRequest) {
  TrapListener trap;
  const std::string url = "http://127.0.0.1:" + std::to_string(trap.port()) + "/x";
  expect_refused("<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY x SYSTEM \"" + url + "\">]><r>&x;</r>", "external entity");
  expect_refused("<!DOCTYPE r [<!ENTITY % p SYSTEM \"" + url + "\"> %p;]><r/>", "external entity");
  expect_refused("<!DOCTYPE r SYSTEM \"" + url + "\"><r/>", "external DTD");
  expect_refused("<!DOCTYPE r PUBLIC \"-//X//Y\" \"" + url + "\"><r/>", "external DTD");
  EXPECT_FALSE(trap.was_contacted()) << "the parser must not reach the network";
}

TEST(XmlDocument, ExternalDtdIsRefused) {
  expect_refused(R"(<!DOCTYPE r SYSTEM "file:///etc/passwd"><r/>)", "external DTD");
}

TEST(XmlDocument, InternalDoctypeWithoutEntitiesIsAccepted) {
  auto doc = parse("<!DOCTYPE r [<!ELEMENT r (#PCDATA)>]><r>1 &lt; 2 &#20013;</r>", {});
  ASSERT_TRUE(doc) << doc.status().to_string();
  std::string text;
  append_text(xmlDocGetRootElement(doc->get()), text);
  EXPECT_EQ(text, "1 < 2 \xE4\xB8\xAD");
}

TEST(XmlDocument, XIncludeIsRefused) {
  expect_refused(R"(<r xmlns:xi="http://www.w3.org/2001/XInclude"><xi:include href="file:///etc/passwd" parse="text"/></r>)",
                 "XInclude");
}

TEST(XmlDocument, TooDeepNestingIsRefused) {
  ParseLimits limits;
  limits.max_depth = 32;
  std::string ok, deep;
  for (int i = 0; i < 32; ++i) ok += "<a>";
  for (int i = 0; i < 32; ++i) ok += "</a>";
  EXPECT_TRUE(parse(ok, limits));
  for (int i = 0; i < 33; ++i) deep += "<a>";
  for (int i = 0; i < 33; ++i) deep += "</a>";
  expect_refused(deep, "deeper than max_depth 32", limits);
  std::string very_deep;
  for (int i = 0; i < 100000; ++i) very_deep += "<a>";
  expect_refused(very_deep, "deeper than max_depth 128");
}

TEST(XmlDocument, OversizedDocumentIsRefusedBeforeParsing) {
  ParseLimits limits;
  limits.max_document_bytes = 1000;
  std::string doc = "<r>" + std::string(2000, 'x') + "</r>";
  expect_refused(doc, "larger than max_document_bytes 1000", limits);
  limits.max_document_bytes = 10000;
  EXPECT_TRUE(parse(doc, limits));
}

TEST(XmlDocument, MalformedAndTruncatedXmlIsRefused) {
  for (std::string_view text : {"<r><a>1</a><b>", "<r><a>1</b></r>", "", "not xml at all", "<r>&undefined;</r>",
                                "<r/><r/>", "<?xml version=\"1.0\"?>", "<r a=\"1\" a=\"2\"/>", "<r>\x01</r>"}) {
    expect_refused(text, "malformed XML");
  }
}

TEST(XmlDocument, InvalidBytesForTheDeclaredEncodingAreRefusedWithoutQuotingThem) {
  std::string utf8 = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><r>ab\xFF\xFE</r>";
  expect_refused(utf8, "malformed XML");
  Status status = refusal(utf8);
  EXPECT_EQ(status.message().find("0xFF"), std::string::npos) << status.message();
  // GBK: U+4E2D U+6587 are D6 D0 CE C4; 0x81 0x20 is no GBK character.
  std::string gbk_bad = "<?xml version=\"1.0\" encoding=\"GBK\"?><r>\xD6\xD0\x81\x20</r>";
  expect_refused(gbk_bad, "malformed XML");
}

TEST(XmlDocument, GbkDeclaredDocumentDecodesToUtf8) {
  std::string gbk = "<?xml version=\"1.0\" encoding=\"GBK\"?><r>\xD6\xD0\xCE\xC4</r>";
  auto doc = parse(gbk, {});
  ASSERT_TRUE(doc) << doc.status().to_string();
  std::string text;
  append_text(xmlDocGetRootElement(doc->get()), text);
  EXPECT_EQ(text, "\xE4\xB8\xAD\xE6\x96\x87");
  // An undeclared GB18030 document, with the encoding given by config.
  ParseLimits limits;
  limits.encoding = "GB18030";
  auto forced = parse("<r>\xD6\xD0</r>", limits);
  ASSERT_TRUE(forced) << forced.status().to_string();
  text.clear();
  append_text(xmlDocGetRootElement(forced->get()), text);
  EXPECT_EQ(text, "\xE4\xB8\xAD");
}

TEST(XmlDocument, BadLimitsAreConfigErrors) {
  ParseLimits limits;
  limits.max_depth = 0;
  EXPECT_EQ(check_limits(limits, "format").code(), StatusCode::kConfig);
  limits.max_depth = 300;
  EXPECT_EQ(check_limits(limits, "format").code(), StatusCode::kConfig);
  limits = {};
  limits.encoding = "NO-SUCH-ENCODING-X";
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(check_limits(limits, "format").code(), StatusCode::kConfig);
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
  EXPECT_TRUE(check_limits(ParseLimits{}, "format"));
}

// Mutated documents: every outcome is a parse or a kData refusal, never a
// crash, never a print.
TEST(XmlDocument, RandomMutationsNeverAbortOrPrint) {
  const std::string base =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?><!DOCTYPE r><r xmlns:a=\"urn:a\"><a:x k=\"v\">1 &amp; \xE4\xB8\xAD</a:x>"
      "<![CDATA[c]]><!-- c --><?pi x?><y/></r>";
  std::mt19937 rng(42);
  ::testing::internal::CaptureStderr();
  int parsed = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string doc = base;
    int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      size_t at = rng() % doc.size();
      switch (rng() % 3) {
        case 0: doc[at] = static_cast<char>(rng() % 256); break;
        case 1: doc.erase(at, 1 + rng() % 8); break;
        default: doc.insert(at, 1, "<>&;![]\"'%?/"[rng() % 12]); break;
      }
      if (doc.empty()) doc = "<";
    }
    auto result = parse(doc, {});
    if (result) {
      ++parsed;
    } else {
      EXPECT_EQ(result.status().code(), StatusCode::kData);
    }
  }
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
  EXPECT_GT(parsed, 0);
}

}  // namespace
}  // namespace dxhub::xml
