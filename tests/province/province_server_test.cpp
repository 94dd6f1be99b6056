#include "sandbox/province/province_server.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <thread>
#include <unistd.h>

#include "core/avro/schema.h"
#include "tests/province/avro_c_files.h"
#include "tests/province/test_client.h"

namespace dxhub::province {
namespace {

namespace fs = std::filesystem;
namespace http = boost::beast::http;
using testing::HttpResult;
using testing::Person;
using testing::Signing;
using testing::TestClient;

constexpr const char* kResource = "household_person";
const std::string kBase = std::string("/api/v1/resources/") + kResource;

std::vector<Person> make_people(int first, int count, const std::string& name_prefix) {
  std::vector<Person> people;
  for (int i = first; i < first + count; ++i) {
    char id[16];
    std::snprintf(id, sizeof id, "p%05d", i);
    Person p;
    p.id = id;
    p.name = name_prefix + std::to_string(i);
    p.age = 20 + i % 60;
    if (i % 2 == 0) p.note = "大冶市金湖街道 第" + std::to_string(i) + "户";
    p.city = "大冶";
    people.push_back(std::move(p));
  }
  return people;
}

class ProvinceServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::path(::testing::TempDir()) /
           ("province_" + std::string(info->name()) + "_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    server_.reset();
    fs::remove_all(dir_);
  }

  ProvinceConfig base_config() {
    ProvinceConfig config;
    config.db_path = (dir_ / "province.db").string();
    config.credentials[testing::kTestAppKey].secret = testing::kTestSecret;
    config.credentials["sm3-only"] = AppCredential{"sm3-secret", {protocol::SignatureMethod::kHmacSm3}};
    return config;
  }

  void start(ProvinceConfig config) {
    server_ = std::make_unique<ProvinceServer>(std::move(config));
    Status s = server_->start();
    ASSERT_TRUE(s.is_ok()) << s.to_string();
    ASSERT_NE(server_->port(), 0);
  }
  void start() { start(base_config()); }

  std::unique_ptr<TestClient> connect() { return std::make_unique<TestClient>(server_->port()); }

  HttpResult register_person(TestClient& client, bool with_city = false) {
    return client.post_json(kBase + "/schemas",
                            {{"schema", nlohmann::json::parse(testing::person_schema_json(with_city))},
                             {"primary_key", "id"},
                             {"name_zh", "户籍人口"}});
  }

  std::string file(const std::string& codec, const std::vector<Person>& people, bool with_city = false) {
    static std::atomic<int> counter{0};
    return testing::write_people_file(dir_ / ("f" + std::to_string(counter++) + ".avro"), codec, people,
                                      with_city);
  }

  fs::path dir_;
  std::unique_ptr<ProvinceServer> server_;
};

TEST_F(ProvinceServerTest, HealthzNeedsNoAuth) {
  start();
  auto client = connect();
  auto r = client->request(http::verb::get, "/healthz");
  ASSERT_TRUE(r.ok()) << describe(r);
  EXPECT_EQ(r.json["data"]["status"], "up");
  EXPECT_EQ(r.headers["Content-Type"], "application/json; charset=utf-8");
}

TEST_F(ProvinceServerTest, UnknownPathIs404AndWrongMethodIs405) {
  start();
  auto client = connect();
  auto r = client->request(http::verb::get, "/nope");
  EXPECT_EQ(r.status, 404u) << describe(r);
  EXPECT_EQ(r.json["code"], "NOT_FOUND");
  r = client->request(http::verb::get, kBase + "/whatever");
  EXPECT_EQ(r.status, 404u) << describe(r);
  r = client->request(http::verb::get, kBase + "/schemas");
  EXPECT_EQ(r.status, 405u) << describe(r);
  EXPECT_EQ(r.json["code"], "METHOD_NOT_ALLOWED");
  EXPECT_EQ(r.headers["Allow"], "POST");
  r = client->request(http::verb::delete_, "/healthz");
  EXPECT_EQ(r.status, 405u) << describe(r);
}

TEST_F(ProvinceServerTest, MalformedHttpIs400AndTheServerCarriesOn) {
  start();
  {
    auto raw = connect();
    std::string answer = raw->raw_exchange("THIS IS NOT HTTP\r\n\r\n");
    EXPECT_EQ(answer.rfind("HTTP/1.1 400", 0), 0u) << answer;
    EXPECT_NE(answer.find("BAD_REQUEST"), std::string::npos) << answer;
  }
  {
    auto raw = connect();
    std::string answer = raw->raw_exchange("GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: zz\r\n\r\n");
    EXPECT_EQ(answer.rfind("HTTP/1.1 400", 0), 0u) << answer;
  }
  auto client = connect();
  EXPECT_TRUE(client->request(http::verb::get, "/healthz").ok());
}

TEST_F(ProvinceServerTest, RegistersSchemaOnceAndVersionsNewFingerprints) {
  start();
  auto client = connect();
  auto first = register_person(*client);
  ASSERT_TRUE(first.ok()) << describe(first);
  const auto& data = first.json["data"];
  EXPECT_EQ(data["resource"], kResource);
  EXPECT_EQ(data["version"], 1);
  auto expected = avro::Schema::from_json(testing::person_schema_json());
  ASSERT_TRUE(expected.has_value());
  EXPECT_EQ(data["fingerprint"], expected->fingerprint_hex());
  EXPECT_EQ(data["fingerprint"].get<std::string>().size(), 16u);

  // Same schema again, even as text with other whitespace: same version.
  auto again = client->post_json(kBase + "/schemas",
                                 {{"schema", " " + testing::person_schema_json() + " "}, {"primary_key", "id"}});
  ASSERT_TRUE(again.ok()) << describe(again);
  EXPECT_EQ(again.json["data"]["version"], 1);
  EXPECT_EQ(again.json["data"]["fingerprint"], data["fingerprint"]);

  auto second = register_person(*client, /*with_city=*/true);
  ASSERT_TRUE(second.ok()) << describe(second);
  EXPECT_EQ(second.json["data"]["version"], 2);

  auto summary = client->get(kBase);
  ASSERT_TRUE(summary.ok()) << describe(summary);
  ASSERT_EQ(summary.json["data"]["schemas"].size(), 2u);
  EXPECT_EQ(summary.json["data"]["schemas"][1]["version"], 2);
  EXPECT_EQ(summary.json["data"]["schemas"][1]["primary_key"], "id");
}

TEST_F(ProvinceServerTest, RefusesBadSchemasKeysAndResourceIds) {
  start();
  auto client = connect();
  auto r = client->post_json(kBase + "/schemas", {{"schema", "{not json"}, {"primary_key", "id"}});
  EXPECT_EQ(r.status, 400u) << describe(r);
  EXPECT_EQ(r.json["code"], "INVALID_SCHEMA");
  r = client->post_json(kBase + "/schemas", {{"schema", {{"type", "record"}, {"name", "X"}}}, {"primary_key", "id"}});
  EXPECT_EQ(r.json["code"], "INVALID_SCHEMA") << describe(r);

  auto schema = nlohmann::json::parse(testing::person_schema_json());
  r = client->post_json(kBase + "/schemas", {{"schema", schema}, {"primary_key", "missing"}});
  EXPECT_EQ(r.status, 400u) << describe(r);
  EXPECT_EQ(r.json["code"], "INVALID_PRIMARY_KEY");
  r = client->post_json(kBase + "/schemas", {{"schema", schema}, {"primary_key", "note"}});  // a union
  EXPECT_EQ(r.json["code"], "INVALID_PRIMARY_KEY") << describe(r);
  r = client->post_json(kBase + "/schemas", {{"schema", schema}});
  EXPECT_EQ(r.json["code"], "INVALID_PRIMARY_KEY") << describe(r);
  const Signing signing;
  r = client->request(http::verb::post, kBase + "/schemas", "[1,", {}, &signing);
  EXPECT_EQ(r.status, 400u) << describe(r);

  r = client->post_json("/api/v1/resources/Bad-Name/schemas", {{"schema", schema}, {"primary_key", "id"}});
  EXPECT_EQ(r.status, 400u) << describe(r);
  EXPECT_EQ(r.json["code"], "INVALID_RESOURCE");
  r = client->post_json("/api/v1/resources/" + std::string(65, 'a') + "/schemas",
                        {{"schema", schema}, {"primary_key", "id"}});
  EXPECT_EQ(r.json["code"], "INVALID_RESOURCE") << describe(r);

  // Nothing was stored by the refusals.
  r = client->get(kBase);
  EXPECT_EQ(r.status, 404u) << describe(r);
  EXPECT_EQ(r.json["code"], "RESOURCE_NOT_FOUND");
}

TEST_F(ProvinceServerTest, AcceptsFilesOfEveryAvroCCodecWithChineseTextIntact) {
  start();
  auto client = connect();
  auto reg = register_person(*client);
  ASSERT_TRUE(reg.ok()) << describe(reg);
  int first = 0;
  int64_t sequence = 1;
  for (const std::string codec : {"null", "deflate", "snappy"}) {
    SCOPED_TRACE(codec);
    auto people = make_people(first, 50, "张三丰");
    std::string bytes = file(codec, people);
    ASSERT_FALSE(bytes.empty());
    auto r = client->post_batch(kResource, "batch-" + codec, sequence, bytes);
    ASSERT_TRUE(r.ok()) << describe(r);
    const auto& receipt = r.json["data"];
    EXPECT_EQ(receipt["records_accepted"], 50);
    EXPECT_EQ(receipt["digest"], protocol::sha256_hex(bytes));
    EXPECT_EQ(receipt["batch_id"], "batch-" + codec);
    EXPECT_EQ(receipt["resource"], kResource);
    EXPECT_EQ(receipt["sequence"], sequence);
    EXPECT_EQ(receipt["fingerprint"], reg.json["data"]["fingerprint"]);
    EXPECT_FALSE(receipt["receipt_id"].get<std::string>().empty());
    EXPECT_EQ(receipt["received_at"].get<std::string>().back(), 'Z');
    first += 50;
    ++sequence;
  }

  auto r = client->get(kBase + "/records?offset=0&limit=200");
  ASSERT_TRUE(r.ok()) << describe(r);
  EXPECT_EQ(r.json["data"]["count"], 150);
  const auto& records = r.json["data"]["records"];
  ASSERT_EQ(records.size(), 150u);
  EXPECT_EQ(records[0]["id"], "p00000");
  EXPECT_EQ(records[0]["name"], "张三丰0");
  EXPECT_EQ(records[0]["note"]["string"], "大冶市金湖街道 第0户");
  EXPECT_TRUE(records[1]["note"].is_null());
  EXPECT_EQ(records[149]["id"], "p00149");
  EXPECT_EQ(records[149]["name"], "张三丰149");
  EXPECT_EQ(records[149]["age"], 20 + 149 % 60);

  // Paging follows the primary key order.
  r = client->get(kBase + "/records?offset=120&limit=10");
  ASSERT_TRUE(r.ok()) << describe(r);
  ASSERT_EQ(r.json["data"]["records"].size(), 10u);
  EXPECT_EQ(r.json["data"]["records"][0]["id"], "p00120");
  EXPECT_EQ(r.json["data"]["count"], 150);

  r = client->get(kBase + "/records?limit=10001");
  EXPECT_EQ(r.status, 400u) << describe(r);
  r = client->get(kBase + "/records?offset=-1");
  EXPECT_EQ(r.status, 400u) << describe(r);

  auto batches = client->get(kBase + "/batches");
  ASSERT_TRUE(batches.ok()) << describe(batches);
  ASSERT_EQ(batches.json["data"]["batches"].size(), 3u);
  EXPECT_EQ(batches.json["data"]["batches"][0]["batch_id"], "batch-null");
  EXPECT_EQ(batches.json["data"]["batches"][2]["batch_id"], "batch-snappy");
}

TEST_F(ProvinceServerTest, SameBatchTwiceGivesTheSameReceiptAndStoresNothingNew) {
  start();
  auto client = connect();
  ASSERT_TRUE(register_person(*client).ok());
  std::string bytes = file("snappy", make_people(0, 20, "李四"));
  auto first = client->post_batch(kResource, "b-1", 1, bytes);
  ASSERT_TRUE(first.ok()) << describe(first);
  auto second = client->post_batch(kResource, "b-1", 1, bytes);
  ASSERT_TRUE(second.ok()) << describe(second);
  EXPECT_EQ(second.json["data"], first.json["data"]);

  auto summary = client->get(kBase);
  ASSERT_TRUE(summary.ok()) << describe(summary);
  EXPECT_EQ(summary.json["data"]["batches"], 1);
  EXPECT_EQ(summary.json["data"]["records"], 20);
  EXPECT_EQ(summary.json["data"]["rows_received"], 20);

  // The same id with other content is a conflict.
  std::string other = file("snappy", make_people(0, 21, "李四"));
  auto conflict = client->post_batch(kResource, "b-1", 1, other);
  EXPECT_EQ(conflict.status, 409u) << describe(conflict);
  EXPECT_EQ(conflict.json["code"], "BATCH_CONFLICT");
  summary = client->get(kBase);
  EXPECT_EQ(summary.json["data"]["records"], 20);
}

// The batch id, epoch and sequence are signed: a captured upload resent with
// any of them changed is refused and stores nothing.
TEST_F(ProvinceServerTest, TamperedBatchHeadersAreRefused) {
  start();
  auto client = connect();
  ASSERT_TRUE(register_person(*client).ok());
  std::string bytes = file("snappy", make_people(0, 5, "王五"));
  struct Case {
    const char* what;
    Signing signing;
  };
  std::vector<Case> cases(3);
  cases[0].what = "batch id";
  cases[0].signing.signed_batch_id = "b-original";
  cases[1].what = "sequence";
  cases[1].signing.signed_batch_seq = "1";
  cases[2].what = "epoch";
  cases[2].signing.signed_batch_epoch = "1";
  for (auto& c : cases) {
    c.signing.batch_epoch = 2;  // sent: epoch 2, sequence 9, id b-tampered
    auto fresh = connect();      // a refused upload closes its connection
    auto r = fresh->post_batch(kResource, "b-tampered", 9, bytes, c.signing);
    EXPECT_EQ(r.status, 401u) << c.what << ": " << describe(r);
    EXPECT_EQ(r.json["code"], "BAD_SIGNATURE") << c.what;
  }
  auto summary = connect()->get(kBase);
  ASSERT_TRUE(summary.ok()) << describe(summary);
  EXPECT_EQ(summary.json["data"]["batches"], 0);
}

TEST_F(ProvinceServerTest, ReceiptsAreSignedOverEveryField) {
  start();
  auto client = connect();
  ASSERT_TRUE(register_person(*client).ok());
  Signing signing;
  signing.batch_epoch = 42;
  auto r = client->post_batch(kResource, "b-signed", 3, file("null", make_people(0, 4, "赵六")), signing);
  ASSERT_TRUE(r.ok()) << describe(r);
  const nlohmann::json& data = r.json["data"];
  protocol::ReceiptFields f;
  f.receipt_id = data["receipt_id"];
  f.batch_id = data["batch_id"];
  f.resource = data["resource"];
  f.epoch = data["epoch"];
  f.sequence = data["sequence"];
  f.records_accepted = data["records_accepted"];
  f.duplicate_keys = data["duplicate_keys"];
  f.deleted = data["deleted"];
  f.digest = data["digest"];
  f.fingerprint = data["fingerprint"];
  f.received_at = data["received_at"];
  EXPECT_EQ(f.epoch, 42);
  EXPECT_EQ(f.sequence, 3);
  EXPECT_EQ(data["signature_method"], "HMAC-SHA256");
  EXPECT_EQ(data["signature"], protocol::sign(protocol::SignatureMethod::kHmacSha256, testing::kTestSecret,
                                              protocol::receipt_string_to_sign(f)));
  // Listed receipts carry the same signature.
  auto listed = client->get(kBase + "/batches");
  ASSERT_TRUE(listed.ok()) << describe(listed);
  EXPECT_EQ(listed.json["data"]["batches"][0]["signature"], data["signature"]);
}

TEST_F(ProvinceServerTest, LaterBatchesUpsertTheCurrentRecordPerKey) {
  start();
  auto client = connect();
  ASSERT_TRUE(register_person(*client).ok());
  auto r = client->post_batch(kResource, "b-1", 1, file("deflate", make_people(0, 10, "旧")));
  ASSERT_TRUE(r.ok()) << describe(r);
  r = client->post_batch(kResource, "b-2", 2, file("snappy", make_people(5, 10, "新")));
  ASSERT_TRUE(r.ok()) << describe(r);
  // A retried older batch (lower sequence) does not overwrite newer values.
  r = client->post_batch(kResource, "b-0", 0, file("null", make_people(7, 1, "过期")));
  ASSERT_TRUE(r.ok()) << describe(r);

  r = client->get(kBase + "/records?limit=100");
  ASSERT_TRUE(r.ok()) << describe(r);
  EXPECT_EQ(r.json["data"]["count"], 15);
  const auto& records = r.json["data"]["records"];
  ASSERT_EQ(records.size(), 15u);
  EXPECT_EQ(records[4]["name"], "旧4");
  EXPECT_EQ(records[5]["name"], "新5");
  EXPECT_EQ(records[7]["name"], "新7");
  EXPECT_EQ(records[14]["name"], "新14");

  r = client->get(kBase + "/records?key=p00007");
  ASSERT_TRUE(r.ok()) << describe(r);
  ASSERT_EQ(r.json["data"]["records"].size(), 1u);
  EXPECT_EQ(r.json["data"]["records"][0]["name"], "新7");
  EXPECT_EQ(r.json["data"]["count"], 15);
  r = client->get(kBase + "/records?key=nobody");
  EXPECT_EQ(r.status, 404u) << describe(r);
  EXPECT_EQ(r.json["code"], "RECORD_NOT_FOUND");

  auto summary = client->get(kBase);
  ASSERT_TRUE(summary.ok()) << describe(summary);
  EXPECT_EQ(summary.json["data"]["records"], 15);
  EXPECT_EQ(summary.json["data"]["batches"], 3);
  EXPECT_EQ(summary.json["data"]["rows_received"], 21);

  auto batches = client->get(kBase + "/batches");
  ASSERT_TRUE(batches.ok());
  ASSERT_EQ(batches.json["data"]["batches"].size(), 3u);
  EXPECT_EQ(batches.json["data"]["batches"][0]["batch_id"], "b-0");  // sequence order
}

TEST_F(ProvinceServerTest, UnregisteredSchemaIs409) {
  start();
  auto client = connect();
  std::string bytes = file("null", make_people(0, 3, "王五"));
  auto r = client->post_batch(kResource, "b-1", 1, bytes);
  EXPECT_EQ(r.status, 409u) << describe(r);
  EXPECT_EQ(r.json["code"], "SCHEMA_NOT_REGISTERED");

  ASSERT_TRUE(register_person(*client).ok());
  r = client->post_batch(kResource, "b-2", 1, file("null", make_people(0, 3, "王五"), /*with_city=*/true));
  EXPECT_EQ(r.status, 409u) << describe(r);
  EXPECT_EQ(r.json["code"], "SCHEMA_NOT_REGISTERED");
  // An empty file is checked too.
  r = client->post_batch(kResource, "b-3", 1, file("null", {}, /*with_city=*/true));
  EXPECT_EQ(r.status, 409u) << describe(r);
  r = client->post_batch(kResource, "b-4", 1, file("null", {}));
  ASSERT_TRUE(r.ok()) << describe(r);
  EXPECT_EQ(r.json["data"]["records_accepted"], 0);
}

TEST_F(ProvinceServerTest, MalformedUploadsAre400AndStoreNothing) {
  start();
  auto client = connect();
  ASSERT_TRUE(register_person(*client).ok());
  auto r = client->post_batch(kResource, "garbage", 1, "this is not an avro file at all");
  EXPECT_EQ(r.status, 400u) << describe(r);
  EXPECT_EQ(r.json["code"], "INVALID_AVRO");
  EXPECT_FALSE(r.json["message"].get<std::string>().empty());

  std::string bytes = file("deflate", make_people(0, 2000, "赵六"));
  const Signing signing;
  for (size_t cut : {bytes.size() - 1, bytes.size() - 20, bytes.size() / 2, size_t{10}}) {
    SCOPED_TRACE(cut);
    r = client->post_batch(kResource, "truncated-" + std::to_string(cut), 1, bytes.substr(0, cut));
    EXPECT_EQ(r.status, 400u) << describe(r);
    EXPECT_EQ(r.json["code"], "INVALID_AVRO");
  }
  r = client->post_batch(kResource, "bad id!", 1, bytes);
  EXPECT_EQ(r.json["code"], "INVALID_BATCH_ID") << describe(r);
  r = client->request(http::verb::post, kBase + "/batches", bytes,
                      {{"Content-Type", "application/avro"}, {protocol::kHeaderBatchId, "b"},
                       {protocol::kHeaderBatchSeq, "one"}},
                      &signing);
  EXPECT_EQ(r.json["code"], "INVALID_BATCH_SEQ") << describe(r);

  auto summary = client->get(kBase);
  ASSERT_TRUE(summary.ok()) << describe(summary);
  EXPECT_EQ(summary.json["data"]["records"], 0);
  EXPECT_EQ(summary.json["data"]["batches"], 0);
  // The same ids still work once the content is right.
  r = client->post_batch(kResource, "garbage", 1, bytes);
  ASSERT_TRUE(r.ok()) << describe(r);
  EXPECT_EQ(r.json["data"]["records_accepted"], 2000);
}

TEST_F(ProvinceServerTest, WrongContentTypeIs415) {
  start();
  auto client = connect();
  ASSERT_TRUE(register_person(*client).ok());
  auto r = client->post_batch(kResource, "b-1", 1, file("null", make_people(0, 1, "x")), {}, "application/json");
  EXPECT_EQ(r.status, 415u) << describe(r);
  EXPECT_EQ(r.json["code"], "UNSUPPORTED_MEDIA_TYPE");
}

TEST_F(ProvinceServerTest, AuthenticationRefusals) {
  start();
  auto client = connect();
  struct Case {
    const char* what;
    Signing signing;
    unsigned status;
    const char* code;
  };
  std::vector<Case> cases;
  for (const char* header : {protocol::kHeaderAppKey, protocol::kHeaderTimestamp, protocol::kHeaderNonce,
                             protocol::kHeaderSignatureMethod, protocol::kHeaderContentDigest,
                             protocol::kHeaderSignature}) {
    Signing s;
    s.omit_header = header;
    cases.push_back({header, s, 401, "AUTH_MISSING"});
  }
  Signing unknown;
  unknown.app_key = "stranger";
  cases.push_back({"unknown key", unknown, 401, "UNKNOWN_APP_KEY"});
  Signing stale;
  stale.timestamp_ms = protocol::now_ms() - 6 * 60 * 1000;
  cases.push_back({"stale", stale, 401, "TIMESTAMP_EXPIRED"});
  Signing future;
  future.timestamp_ms = protocol::now_ms() + 6 * 60 * 1000;
  cases.push_back({"future", future, 401, "TIMESTAMP_EXPIRED"});
  Signing digest;
  digest.tamper_digest = true;
  cases.push_back({"digest", digest, 400, "DIGEST_MISMATCH"});
  Signing bad;
  bad.tamper_signature = true;
  cases.push_back({"signature", bad, 401, "BAD_SIGNATURE"});
  Signing wrong_secret;
  wrong_secret.secret = "guess";
  cases.push_back({"secret", wrong_secret, 401, "BAD_SIGNATURE"});
  Signing sha_for_sm3_only;
  sha_for_sm3_only.app_key = "sm3-only";
  sha_for_sm3_only.secret = "sm3-secret";
  cases.push_back({"method", sha_for_sm3_only, 401, "SIGNATURE_METHOD_NOT_ALLOWED"});

  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    // A refusal from the header leaves the body unread and closes the
    // connection, so each case has its own.
    auto own = connect();
    auto r = own->request(http::verb::post, kBase + "/schemas", R"({"x":1})", {}, &c.signing);
    EXPECT_EQ(r.status, c.status) << describe(r);
    EXPECT_EQ(r.json["code"], c.code) << describe(r);
    EXPECT_EQ(r.body.find(testing::kTestSecret), std::string::npos);
    // Only the digest is checked after the body was read: that connection stays.
    EXPECT_EQ(own->connected(), c.status == 400) << describe(r);
  }
  // The query string is signed too: a request replayed to another target fails.
  Signing fixed;
  fixed.nonce = "nonce-replayed";
  auto r = client->get(kBase + "/records?limit=1", fixed);
  EXPECT_EQ(r.status, 200u) << describe(r);
  r = client->get(kBase + "/records?limit=1", fixed);
  EXPECT_EQ(r.status, 401u) << describe(r);
  EXPECT_EQ(r.json["code"], "NONCE_REUSED");

  // A refused signature does not burn the nonce.
  Signing burnt;
  burnt.nonce = "nonce-after-failure";
  burnt.tamper_signature = true;
  r = client->get(kBase, burnt);
  EXPECT_EQ(r.json["code"], "BAD_SIGNATURE");
  burnt.tamper_signature = false;
  r = client->get(kBase, burnt);
  EXPECT_NE(r.status, 401u) << describe(r);
}

TEST_F(ProvinceServerTest, AcceptsBothSha256AndSm3) {
  start();
  auto client = connect();
  Signing sm3;
  sm3.method = protocol::SignatureMethod::kHmacSm3;
  auto r = client->post_json(kBase + "/schemas",
                             {{"schema", testing::person_schema_json()}, {"primary_key", "id"}}, sm3);
  ASSERT_TRUE(r.ok()) << describe(r);
  r = client->post_batch(kResource, "b-sm3", 1, file("snappy", make_people(0, 5, "孙七")), sm3);
  ASSERT_TRUE(r.ok()) << describe(r);
  r = client->post_batch(kResource, "b-sha", 2, file("snappy", make_people(5, 5, "孙七")));
  ASSERT_TRUE(r.ok()) << describe(r);
  Signing sm3_only;
  sm3_only.app_key = "sm3-only";
  sm3_only.secret = "sm3-secret";
  sm3_only.method = protocol::SignatureMethod::kHmacSm3;
  r = client->get(kBase + "/records", sm3_only);
  ASSERT_TRUE(r.ok()) << describe(r);
  EXPECT_EQ(r.json["data"]["count"], 10);
}

TEST_F(ProvinceServerTest, OversizedBodyIs413) {
  ProvinceConfig config = base_config();
  config.max_body_bytes = 4096;
  start(config);
  auto client = connect();
  ASSERT_TRUE(register_person(*client).ok());
  std::string bytes = file("null", make_people(0, 400, "周八"));
  ASSERT_GT(bytes.size(), 4096u);
  auto r = client->post_batch(kResource, "big", 1, bytes);
  EXPECT_EQ(r.status, 413u) << describe(r);
  EXPECT_EQ(r.json["code"], "PAYLOAD_TOO_LARGE");
  // The server is fine afterwards.
  auto fresh = connect();
  auto small = fresh->post_batch(kResource, "small", 1, file("null", make_people(0, 3, "周八")));
  EXPECT_TRUE(small.ok()) << describe(small);
}

TEST_F(ProvinceServerTest, KeepsConnectionsAliveAndServesSeveralAtOnce) {
  start();
  auto idle = connect();  // connected, never sends: must not block the others
  auto setup = connect();
  ASSERT_TRUE(register_person(*setup).ok());
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      TestClient client(server_->port());
      for (int i = 0; i < 10; ++i) {
        auto bytes = testing::write_people_file(dir_ / ("t" + std::to_string(t) + "_" + std::to_string(i)), "null",
                                                make_people(t * 100 + i, 1, "吴九"));
        auto r = client.post_batch(kResource, "c" + std::to_string(t) + "-" + std::to_string(i), i, bytes);
        if (r.ok()) ++ok;
      }
      EXPECT_TRUE(client.connected());  // one connection for all ten
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 40);
  auto r = setup->get(kBase);
  EXPECT_EQ(r.json["data"]["records"], 40) << describe(r);
}

TEST_F(ProvinceServerTest, IdleConnectionsTimeOut) {
  ProvinceConfig config = base_config();
  // Generous margins: ctest runs suites in parallel on 2 loaded cores.
  config.idle_timeout = std::chrono::milliseconds(1500);
  start(config);
  auto client = connect();
  ASSERT_TRUE(client->request(http::verb::get, "/healthz").ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(3000));
  auto r = client->request(http::verb::get, "/healthz");
  EXPECT_EQ(r.status, 0u) << "connection should have been closed: " << describe(r);
}

TEST_F(ProvinceServerTest, SlowButSteadyBodiesArriveAndStalledOnesAreDropped) {
  ProvinceConfig config = base_config();
  // Generous margins: ctest runs suites in parallel on 2 loaded cores.
  config.io_timeout = std::chrono::milliseconds(1000);
  start(config);
  const std::string body = R"({"schema":)" + nlohmann::json(testing::person_schema_json()).dump() +
                           R"(,"primary_key":"id"})";
  Signing signing;
  auto head = [&](size_t length) {
    // Signed like TestClient does, written by hand to control the pacing.
    int64_t ts = protocol::now_ms();
    std::string nonce = protocol::random_hex();
    std::string digest = protocol::sha256_hex(body);
    std::string target = kBase + "/schemas";
    std::string signature = protocol::sign(signing.method, signing.secret,
                                           protocol::string_to_sign("POST", target, ts, nonce, digest, {}));
    return "POST " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: " +
           std::to_string(length) + "\r\n" + protocol::kHeaderAppKey + ": " + signing.app_key + "\r\n" +
           protocol::kHeaderTimestamp + ": " + std::to_string(ts) + "\r\n" + protocol::kHeaderNonce + ": " + nonce +
           "\r\n" + protocol::kHeaderSignatureMethod + ": HMAC-SHA256\r\n" + protocol::kHeaderContentDigest +
           ": " + digest + "\r\n" + protocol::kHeaderSignature + ": " + signature + "\r\n\r\n";
  };
  {
    auto slow = connect();
    ASSERT_TRUE(slow->send_raw(head(body.size())));
    // Five pieces 300 ms apart: 1.5 s in all, more than the 1 s timeout.
    size_t piece = body.size() / 5 + 1;
    for (size_t at = 0; at < body.size(); at += piece) {
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
      ASSERT_TRUE(slow->send_raw(body.substr(at, piece)));
    }
    std::string answer = slow->read_until_close();
    EXPECT_EQ(answer.rfind("HTTP/1.1 200", 0), 0u) << answer;
  }
  {
    auto stalled = connect();
    ASSERT_TRUE(stalled->send_raw(head(body.size()) + body.substr(0, 10)));
    auto before = std::chrono::steady_clock::now();
    std::string answer = stalled->read_until_close();  // the server hangs up
    EXPECT_TRUE(answer.empty()) << answer;
    // Generous: it only has to prove the connection is not held for ever.
    EXPECT_LT(std::chrono::steady_clock::now() - before, std::chrono::seconds(30));
  }
}

TEST_F(ProvinceServerTest, StopReturnsPromptlyWithIdleKeepAliveConnections) {
  start();
  auto client = connect();
  ASSERT_TRUE(client->request(http::verb::get, "/healthz").ok());
  auto half_sent = connect();  // a client stuck in the middle of nothing
  auto before = std::chrono::steady_clock::now();
  server_->stop();
  auto took = std::chrono::steady_clock::now() - before;
  EXPECT_LT(took, std::chrono::seconds(20));  // generous: catches a hang, not slowness
  auto r = client->request(http::verb::get, "/healthz");
  EXPECT_EQ(r.status, 0u) << describe(r);
  server_->stop();  // idempotent
}

TEST_F(ProvinceServerTest, DataSurvivesARestart) {
  start();
  {
    auto client = connect();
    ASSERT_TRUE(register_person(*client).ok());
    ASSERT_TRUE(client->post_batch(kResource, "b-1", 1, file("snappy", make_people(0, 7, "郑十"))).ok());
  }
  server_.reset();
  start();
  auto client = connect();
  auto r = client->get(kBase + "/records");
  ASSERT_TRUE(r.ok()) << describe(r);
  EXPECT_EQ(r.json["data"]["count"], 7);
  EXPECT_EQ(r.json["data"]["records"][6]["name"], "郑十6");
}

TEST_F(ProvinceServerTest, UploadThroughputOf50kRecordSnappyBatch) {
  start();
  auto client = connect();
  ASSERT_TRUE(register_person(*client).ok());
  constexpr int kRecords = 50'000;
  std::string bytes = file("snappy", make_people(0, kRecords, "大冶市居民"));
  auto before = std::chrono::steady_clock::now();
  auto r = client->post_batch(kResource, "big-1", 1, bytes);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - before).count();
  ASSERT_TRUE(r.ok()) << describe(r);
  EXPECT_EQ(r.json["data"]["records_accepted"], kRecords);
  double rate = kRecords / seconds;
  std::printf("[ province ] 50k-record snappy batch (%zu bytes): %.3f s, %.0f records/s\n", bytes.size(), seconds,
              rate);
  RecordProperty("records_per_second", std::to_string(static_cast<int64_t>(rate)));
  auto summary = client->get(kBase);
  EXPECT_EQ(summary.json["data"]["records"], kRecords);
}

// GET .../manifest: one entry per stored batch in (epoch, sequence) order,
// paged by `after`, authenticated like every other route.
TEST_F(ProvinceServerTest, ManifestListsEveryStoredBatchInOrderAndPages) {
  start();
  auto client = connect();
  ASSERT_TRUE(register_person(*client).ok());
  struct Upload {
    std::string batch_id;
    int64_t epoch;
    int64_t sequence;
    int records;
    std::string digest;
  };
  // Uploaded out of order; (1, 2) is held by two batch ids.
  std::vector<Upload> uploads = {{"e2-s1", 2, 1, 4, ""}, {"e1-s1", 1, 1, 1, ""}, {"e1-s3", 1, 3, 3, ""},
                                 {"e1-s2", 1, 2, 2, ""}, {"e1-s2-again", 1, 2, 5, ""}, {"e2-s2", 2, 2, 6, ""}};
  int first = 0;
  for (Upload& u : uploads) {
    std::string bytes = file("deflate", make_people(first, u.records, "王五"));
    first += u.records;
    u.digest = protocol::sha256_hex(bytes);
    Signing s;
    s.batch_epoch = u.epoch;
    auto r = client->post_batch(kResource, u.batch_id, u.sequence, bytes, s);
    ASSERT_TRUE(r.ok()) << u.batch_id << ": " << describe(r);
  }
  const std::vector<std::string> expected_order = {"e1-s1", "e1-s2", "e1-s2-again", "e1-s3", "e2-s1", "e2-s2"};

  auto all = client->get(kBase + "/manifest");
  ASSERT_TRUE(all.ok()) << describe(all);
  EXPECT_EQ(all.json["data"]["resource"], kResource);
  EXPECT_TRUE(all.json["data"]["next_after"].is_null()) << describe(all);
  const auto& batches = all.json["data"]["batches"];
  ASSERT_EQ(batches.size(), expected_order.size()) << describe(all);
  for (size_t i = 0; i < batches.size(); ++i) {
    SCOPED_TRACE(expected_order[i]);
    EXPECT_EQ(batches[i]["batch_id"], expected_order[i]);
    const Upload& u = *std::find_if(uploads.begin(), uploads.end(),
                                    [&](const Upload& x) { return x.batch_id == expected_order[i]; });
    EXPECT_EQ(batches[i]["epoch"], u.epoch);
    EXPECT_EQ(batches[i]["sequence"], u.sequence);
    EXPECT_EQ(batches[i]["records"], u.records);
    EXPECT_EQ(batches[i]["deleted"], 0);
    EXPECT_EQ(batches[i]["digest"], u.digest);
    EXPECT_FALSE(batches[i]["fingerprint"].get<std::string>().empty());
    EXPECT_EQ(batches[i]["received_at"].get<std::string>().back(), 'Z');
  }

  // limit=2: the first page is completed to the end of (1, 2) so the
  // second batch of that sequence cannot fall between pages.
  std::vector<std::string> paged;
  std::vector<size_t> page_sizes;
  std::string after;
  for (int page = 0; page < 10; ++page) {
    auto r = client->get(kBase + "/manifest?limit=2" + (after.empty() ? "" : "&after=" + after));
    ASSERT_TRUE(r.ok()) << describe(r);
    page_sizes.push_back(r.json["data"]["batches"].size());
    for (const auto& b : r.json["data"]["batches"]) paged.push_back(b["batch_id"].get<std::string>());
    if (r.json["data"]["next_after"].is_null()) break;
    after = r.json["data"]["next_after"].get<std::string>();
  }
  EXPECT_EQ(paged, expected_order);
  EXPECT_EQ(page_sizes, (std::vector<size_t>{3, 2, 1}));

  auto tail = client->get(kBase + "/manifest?after=1:3&limit=10");
  ASSERT_TRUE(tail.ok()) << describe(tail);
  ASSERT_EQ(tail.json["data"]["batches"].size(), 2u);
  EXPECT_EQ(tail.json["data"]["batches"][0]["batch_id"], "e2-s1");
  auto past_end = client->get(kBase + "/manifest?after=9:0");
  ASSERT_TRUE(past_end.ok()) << describe(past_end);
  EXPECT_TRUE(past_end.json["data"]["batches"].empty());
  EXPECT_TRUE(past_end.json["data"]["next_after"].is_null());

  // A resource never received: an empty manifest (every hub receipt a gap), not an error.
  auto unknown = client->get("/api/v1/resources/never_sent/manifest");
  ASSERT_TRUE(unknown.ok()) << describe(unknown);
  EXPECT_TRUE(unknown.json["data"]["batches"].empty());
}

TEST_F(ProvinceServerTest, ManifestRefusesBadParametersAndUnauthenticatedRequests) {
  start();
  auto client = connect();
  for (const std::string query : {"limit=0", "limit=10001", "limit=abc", "limit=", "after=1", "after=a:b",
                                  "after=-1:0", "after=1:-2", "after=1:2:3", "offset=5"}) {
    SCOPED_TRACE(query);
    auto r = client->get(kBase + "/manifest?" + query);
    EXPECT_EQ(r.status, 400u) << describe(r);
    EXPECT_EQ(r.json["code"], "INVALID_QUERY") << describe(r);
  }
  auto max = client->get(kBase + "/manifest?limit=10000&after=0:0");
  EXPECT_TRUE(max.ok()) << describe(max);

  auto unsigned_request = connect()->request(http::verb::get, kBase + "/manifest");
  EXPECT_EQ(unsigned_request.status, 401u) << describe(unsigned_request);
  EXPECT_EQ(unsigned_request.json["code"], "AUTH_MISSING") << describe(unsigned_request);
  Signing tampered;
  tampered.tamper_signature = true;
  auto bad = connect()->get(kBase + "/manifest", tampered);
  EXPECT_EQ(bad.status, 401u) << describe(bad);
  EXPECT_EQ(bad.json["code"], "BAD_SIGNATURE") << describe(bad);
  Signing wrong_secret;
  wrong_secret.secret = "guess";
  auto guessed = connect()->get(kBase + "/manifest", wrong_secret);
  EXPECT_EQ(guessed.status, 401u) << describe(guessed);
  auto post = client->post_json(kBase + "/manifest", nlohmann::json::object());
  EXPECT_EQ(post.status, 405u) << describe(post);
}

}  // namespace
}  // namespace dxhub::province
