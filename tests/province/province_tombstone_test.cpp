// Deletes at the province: tombstone batches (core/protocol/tombstone.h)
// are checked, applied by key under the (epoch, sequence) rule, kept so an
// older upsert cannot bring a row back, counted in receipts and shown by
// the query functions.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "core/avro/ocf_writer.h"
#include "core/avro/schema.h"
#include "core/protocol/tombstone.h"
#include "sandbox/province/province_store.h"
#include "tests/province/avro_c_files.h"

namespace dxhub::province {
namespace {

namespace fs = std::filesystem;
using testing::Person;

constexpr const char* kResource = "household_person";

void append_long(std::string& out, int64_t v) { avro::append_avro_long(out, v); }

class ProvinceTombstoneTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::path(::testing::TempDir()) /
           ("province_tombstone_" + std::string(info->name()) + "_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    auto store = ProvinceStore::open((dir_ / "province.db").string());
    ASSERT_TRUE(store.has_value()) << store.status().to_string();
    store_ = std::move(*store);
    auto schema = avro::Schema::from_json(testing::person_schema_json());
    ASSERT_TRUE(schema.has_value());
    ASSERT_TRUE(store_->register_schema(kResource, *schema, "id", "户籍人口").has_value());
    auto tombstone_json = protocol::tombstone_schema_json(testing::person_schema_json(), "id");
    ASSERT_TRUE(tombstone_json.has_value()) << tombstone_json.status().to_string();
    auto tombstone = avro::Schema::from_json(*tombstone_json);
    ASSERT_TRUE(tombstone.has_value()) << tombstone.status().to_string();
    tombstone_ = std::move(*tombstone);
    ASSERT_TRUE(store_->register_schema(kResource, tombstone_, "id", "户籍人口").has_value());
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
  }

  std::string people(const std::vector<std::pair<std::string, std::string>>& id_name) {
    std::vector<Person> list;
    for (const auto& [id, name] : id_name) {
      Person p;
      p.id = id;
      p.name = name;
      list.push_back(p);
    }
    return testing::write_people_file(dir_ / ("f" + std::to_string(files_++) + ".avro"), "null", list);
  }

  std::string tombstones(const std::vector<std::string>& ids, const char* operation = protocol::kOperationDelete,
                         const avro::Schema* schema = nullptr) {
    avro::OcfWriter writer(schema ? *schema : tombstone_, avro::Codec::kNull);
    std::vector<std::pair<std::string, std::string>> metadata = {{"dxhub.resource", kResource}};
    if (operation != nullptr) metadata.emplace_back(protocol::kOperationMetadata, operation);
    EXPECT_TRUE(writer.begin(metadata).is_ok());
    for (const auto& id : ids) {
      std::string key;
      append_long(key, static_cast<int64_t>(id.size()));
      key += id;
      std::string record;
      protocol::append_tombstone_record(key, 1764633600000, record);
      EXPECT_TRUE(writer.append_encoded(record).is_ok());
    }
    std::string body;
    EXPECT_TRUE(writer.finish(body).is_ok());
    return body;
  }

  IngestOutcome ingest(const std::string& batch_id, int64_t epoch, int64_t sequence, const std::string& body) {
    auto outcome = store_->ingest_batch({kResource, batch_id, epoch, sequence, body});
    EXPECT_TRUE(outcome.has_value()) << outcome.status().to_string();
    return outcome.has_value() ? *outcome : IngestOutcome{};
  }

  std::string name_of(const std::string& key) {
    auto page = store_->record_by_key(kResource, key);
    EXPECT_TRUE(page.has_value()) << page.status().to_string();
    if (!page || page->records.size() != 1) return "<none>";
    return page->records[0]["name"].get<std::string>();
  }
  int64_t count() {
    auto page = store_->records(kResource, 0, 1);
    return page ? page->count : -1;
  }

  fs::path dir_;
  std::unique_ptr<ProvinceStore> store_;
  avro::Schema tombstone_;
  int files_ = 0;
};

TEST_F(ProvinceTombstoneTest, DeleteRemovesTheKeyAndIsCountedInTheReceipt) {
  ASSERT_EQ(ingest("u1", 1, 1, people({{"p1", "a"}, {"p2", "b"}, {"p3", "c"}})).kind, IngestOutcome::Kind::kStored);
  auto del = ingest("d2", 1, 2, tombstones({"p2", "p9"}));  // p9 was never there: kept as a tombstone anyway
  ASSERT_EQ(del.kind, IngestOutcome::Kind::kStored) << del.detail;
  EXPECT_EQ(del.receipt.records_accepted, 2);
  EXPECT_EQ(del.receipt.deleted, 2);
  EXPECT_EQ(del.receipt.fingerprint, tombstone_.fingerprint_hex());
  EXPECT_EQ(count(), 2);
  EXPECT_EQ(name_of("p1"), "a");
  EXPECT_EQ(name_of("p2"), "<none>");
  auto kept = store_->records(kResource, 0, 10, /*tombstones=*/true);
  ASSERT_TRUE(kept.has_value());
  ASSERT_EQ(kept->records.size(), 2u);
  EXPECT_EQ(kept->records[0]["id"], "p2");
  EXPECT_EQ(kept->records[0]["dxhub_op"], "DELETE");
  EXPECT_EQ(kept->records[0]["dxhub_source_time"], 1764633600000);
  auto summary = store_->summary(kResource);
  ASSERT_TRUE(summary.has_value() && summary->has_value());
  EXPECT_EQ((*summary)->rows_received, 5);
  EXPECT_EQ((*summary)->deletes_received, 2);
  EXPECT_EQ((*summary)->tombstones, 2);
  auto receipts = store_->receipts(kResource);
  ASSERT_TRUE(receipts.has_value());
  ASSERT_EQ(receipts->size(), 2u);
  EXPECT_EQ((*receipts)[0].deleted, 0);
  EXPECT_EQ((*receipts)[1].deleted, 2);  // kept with the batch
}

TEST_F(ProvinceTombstoneTest, OlderUpsertArrivingAfterANewerTombstoneDoesNotResurrect) {
  ASSERT_EQ(ingest("u1", 1, 1, people({{"p1", "a"}})).kind, IngestOutcome::Kind::kStored);
  ASSERT_EQ(ingest("d3", 1, 3, tombstones({"p1"})).kind, IngestOutcome::Kind::kStored);
  EXPECT_EQ(name_of("p1"), "<none>");  // applied before the late batch arrives
  ASSERT_EQ(ingest("u2", 1, 2, people({{"p1", "late"}})).kind, IngestOutcome::Kind::kStored);
  EXPECT_EQ(name_of("p1"), "<none>");
  EXPECT_EQ(count(), 0);
  // A newer upsert does bring it back; so does a later epoch with a lower sequence.
  ASSERT_EQ(ingest("u4", 1, 4, people({{"p1", "back"}})).kind, IngestOutcome::Kind::kStored);
  EXPECT_EQ(name_of("p1"), "back");
  ASSERT_EQ(ingest("d5", 1, 5, tombstones({"p1"})).kind, IngestOutcome::Kind::kStored);
  EXPECT_EQ(name_of("p1"), "<none>");
  ASSERT_EQ(ingest("u-new-epoch", 2, 1, people({{"p1", "new state"}})).kind, IngestOutcome::Kind::kStored);
  EXPECT_EQ(name_of("p1"), "new state");
}

TEST_F(ProvinceTombstoneTest, OlderTombstoneDoesNotDeleteANewerRecord) {
  ASSERT_EQ(ingest("u2", 1, 2, people({{"p1", "newer"}})).kind, IngestOutcome::Kind::kStored);
  EXPECT_EQ(name_of("p1"), "newer");
  ASSERT_EQ(ingest("d1", 1, 1, tombstones({"p1"})).kind, IngestOutcome::Kind::kStored);
  EXPECT_EQ(name_of("p1"), "newer");
}

TEST_F(ProvinceTombstoneTest, ResentTombstoneBatchIsIdempotent) {
  ASSERT_EQ(ingest("u1", 1, 1, people({{"p1", "a"}, {"p2", "b"}})).kind, IngestOutcome::Kind::kStored);
  std::string body = tombstones({"p1"});
  auto first = ingest("d2", 1, 2, body);
  ASSERT_EQ(first.kind, IngestOutcome::Kind::kStored);
  EXPECT_EQ(count(), 1);
  auto again = ingest("d2", 1, 2, body);
  ASSERT_EQ(again.kind, IngestOutcome::Kind::kDuplicate);
  EXPECT_EQ(again.receipt.receipt_id, first.receipt.receipt_id);
  EXPECT_EQ(again.receipt.deleted, 1);
  EXPECT_EQ(count(), 1);
  auto summary = store_->summary(kResource);
  ASSERT_TRUE(summary.has_value() && summary->has_value());
  EXPECT_EQ((*summary)->deletes_received, 1);
  EXPECT_EQ(name_of("p2"), "b");
}

TEST_F(ProvinceTombstoneTest, OperationAndSchemaMustAgree) {
  // Tombstone schema without the delete operation: refused, nothing stored.
  auto no_operation = ingest("x1", 1, 1, tombstones({"p1"}, nullptr));
  EXPECT_EQ(no_operation.kind, IngestOutcome::Kind::kInvalidAvro);
  // An unknown operation.
  auto unknown = ingest("x2", 1, 1, tombstones({"p1"}, "truncate"));
  EXPECT_EQ(unknown.kind, IngestOutcome::Kind::kInvalidAvro);
  // The resource schema claiming to be a delete batch.
  auto schema = avro::Schema::from_json(testing::person_schema_json());
  ASSERT_TRUE(schema.has_value());
  avro::OcfWriter writer(*schema, avro::Codec::kNull);
  ASSERT_TRUE(writer.begin({{protocol::kOperationMetadata, protocol::kOperationDelete}}).is_ok());
  std::string body;
  ASSERT_TRUE(writer.finish(body).is_ok());
  EXPECT_EQ(ingest("x3", 1, 1, body).kind, IngestOutcome::Kind::kInvalidAvro);
  auto summary = store_->summary(kResource);
  ASSERT_TRUE(summary.has_value() && summary->has_value());
  EXPECT_EQ((*summary)->batches, 0);
}

TEST_F(ProvinceTombstoneTest, UnregisteredTombstoneSchemaIsRefused) {
  auto other = avro::Schema::from_json(
      R"({"type":"record","name":"Other","fields":[{"name":"id","type":"string"}]})");
  ASSERT_TRUE(other.has_value());
  auto derived = protocol::tombstone_schema_json(other->json(), "id");
  ASSERT_TRUE(derived.has_value());
  auto schema = avro::Schema::from_json(*derived);
  ASSERT_TRUE(schema.has_value());
  EXPECT_EQ(ingest("x1", 1, 1, tombstones({"p1"}, protocol::kOperationDelete, &*schema)).kind,
            IngestOutcome::Kind::kSchemaNotRegistered);
}

TEST(TombstoneSchema, DerivedDeterministicallyFromTheResourceSchema) {
  const std::string schema =
      R"({"type":"record","name":"Person","namespace":"gov.county","fields":[)"
      R"({"name":"id","type":["null","string"]},{"name":"name","type":"string"}]})";
  auto a = protocol::tombstone_schema_json(schema, "id");
  auto b = protocol::tombstone_schema_json(schema, "id");
  ASSERT_TRUE(a.has_value()) << a.status().to_string();
  EXPECT_EQ(*a, *b);
  EXPECT_TRUE(protocol::is_tombstone_schema(*a, "id"));
  EXPECT_FALSE(protocol::is_tombstone_schema(schema, "id"));
  EXPECT_FALSE(protocol::is_tombstone_schema(*a, "name"));
  auto parsed = avro::Schema::from_json(*a);
  ASSERT_TRUE(parsed.has_value()) << parsed.status().to_string();
  EXPECT_EQ(parsed->full_name(), "gov.county.Person_tombstone");
  auto json = nlohmann::json::parse(*a);
  EXPECT_EQ(json["fields"][0]["type"], "string");  // the null branch is gone: a tombstone always has its key
  EXPECT_EQ(json["fields"][1]["type"]["symbols"], nlohmann::json::array({"DELETE"}));
  EXPECT_EQ(json["fields"][2]["type"]["logicalType"], "timestamp-millis");
  EXPECT_EQ(protocol::tombstone_schema_json(schema, "missing").status().code(), StatusCode::kConfig);
}

}  // namespace
}  // namespace dxhub::province
