// ProvinceStore::ingest_batch directly: records are written many per
// statement, so keys repeated across and within statement groups, integer
// keys and refusals half-way through a batch are checked here.
#include "sandbox/province/province_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "core/avro/ocf_writer.h"
#include "core/avro/schema.h"
#include "tests/province/avro_c_files.h"

namespace dxhub::province {
namespace {

namespace fs = std::filesystem;
using testing::Person;

constexpr const char* kResource = "household_person";

class ProvinceStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::path(::testing::TempDir()) /
           ("province_store_" + std::string(info->name()) + "_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    auto store = ProvinceStore::open((dir_ / "province.db").string());
    ASSERT_TRUE(store.has_value()) << store.status().to_string();
    store_ = std::move(*store);
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
  }

  void register_people() {
    auto schema = avro::Schema::from_json(testing::person_schema_json());
    ASSERT_TRUE(schema.has_value());
    auto r = store_->register_schema(kResource, *schema, "id", "户籍人口");
    ASSERT_TRUE(r.has_value()) << r.status().to_string();
  }

  // Record i has key p<key_of(i)> and name n<i>.
  std::string people_file(const std::string& codec, int count, int distinct_keys) {
    std::vector<Person> people;
    for (int i = 0; i < count; ++i) {
      char id[16];
      std::snprintf(id, sizeof id, "p%05d", i % distinct_keys);
      Person p;
      p.id = id;
      p.name = "n" + std::to_string(i);
      p.age = i % 90;
      if (i % 2 == 1) p.note = "第" + std::to_string(i) + "户";
      people.push_back(std::move(p));
    }
    return testing::write_people_file(dir_ / ("f" + std::to_string(files_++) + ".avro"), codec, people);
  }

  IngestOutcome ingest(const std::string& batch_id, int64_t sequence, const std::string& body) {
    auto outcome = store_->ingest_batch({kResource, batch_id, sequence, body});
    EXPECT_TRUE(outcome.has_value()) << outcome.status().to_string();
    return outcome.has_value() ? *outcome : IngestOutcome{};
  }

  std::string name_of(const std::string& key) {
    auto page = store_->record_by_key(kResource, key);
    EXPECT_TRUE(page.has_value()) << page.status().to_string();
    if (!page || page->records.size() != 1) return "<none>";
    return page->records[0]["name"].get<std::string>();
  }

  int64_t record_count() {
    auto page = store_->records(kResource, 0, 1);
    EXPECT_TRUE(page.has_value());
    return page ? page->count : -1;
  }

  fs::path dir_;
  std::unique_ptr<ProvinceStore> store_;
  int files_ = 0;
};

TEST_F(ProvinceStoreTest, KeysRepeatedWithinAndAcrossStatementGroupsKeepTheirLastRecord) {
  register_people();
  // 700 records over 100 keys: each key comes 7 times, both within one
  // group of RecordUpserter::kRowsPerStatement rows (i and i+100 for
  // i % 128 < 28) and across groups, and last in the one-row remainder.
  constexpr int kRecords = 700, kKeys = 100;
  static_assert(kRecords % RecordUpserter::kRowsPerStatement != 0);
  auto outcome = ingest("b-1", 1, people_file("snappy", kRecords, kKeys));
  ASSERT_EQ(outcome.kind, IngestOutcome::Kind::kStored) << outcome.detail;
  EXPECT_EQ(outcome.receipt.records_accepted, kRecords);
  EXPECT_EQ(record_count(), kKeys);
  EXPECT_EQ(name_of("p00000"), "n600");  // 512 and 600 share the last full group
  EXPECT_EQ(name_of("p00027"), "n627");  // 527 and 627 share the last full group
  EXPECT_EQ(name_of("p00050"), "n650");  // in the remainder (640..699)
  EXPECT_EQ(name_of("p00099"), "n699");  // the file's last record
  EXPECT_EQ(name_of("p00100"), "<none>");

  // The stored bytes decode to the whole record.
  auto page = store_->record_by_key(kResource, "p00099");
  ASSERT_TRUE(page.has_value());
  ASSERT_EQ(page->records.size(), 1u);
  EXPECT_EQ(page->records[0]["age"], 699 % 90);
  EXPECT_EQ(page->records[0]["note"]["string"], "第699户");
}

TEST_F(ProvinceStoreTest, IntegerKeysStayIntegers) {
  auto schema = avro::Schema::from_json(
      R"({"type":"record","name":"Numbered","fields":[{"name":"no","type":"long"},{"name":"name","type":"string"}]})");
  ASSERT_TRUE(schema.has_value());
  ASSERT_TRUE(store_->register_schema(kResource, *schema, "no", "编号").has_value());
  auto value = schema->new_value();
  ASSERT_TRUE(value.has_value());
  avro::OcfWriter writer(*schema, avro::Codec::kZstandard, 1024);
  ASSERT_TRUE(writer.begin({}).is_ok());
  constexpr int kRecords = 300;
  for (int i = 0; i < kRecords; ++i) {
    avro_value_t field;
    ASSERT_EQ(avro_value_get_by_index(value->get(), 0, &field, nullptr), 0);
    ASSERT_EQ(avro_value_set_long(&field, (kRecords - i) * 10), 0);  // descending keys
    ASSERT_EQ(avro_value_get_by_index(value->get(), 1, &field, nullptr), 0);
    const std::string name = "号" + std::to_string(i);
    ASSERT_EQ(avro_value_set_string_len(&field, name.c_str(), name.size() + 1), 0);
    ASSERT_TRUE(writer.append(value->get()).is_ok());
  }
  std::string file;
  ASSERT_TRUE(writer.finish(file).is_ok());
  auto outcome = ingest("b-1", 1, file);
  ASSERT_EQ(outcome.kind, IngestOutcome::Kind::kStored) << outcome.detail;

  auto page = store_->records(kResource, 0, 3);
  ASSERT_TRUE(page.has_value());
  EXPECT_EQ(page->count, kRecords);
  ASSERT_EQ(page->records.size(), 3u);
  // Numeric order (10, 20, 30), not text order (10, 100, 1000).
  EXPECT_EQ(page->records[0]["no"], 10);
  EXPECT_EQ(page->records[1]["no"], 20);
  EXPECT_EQ(page->records[2]["no"], 30);
  EXPECT_EQ(name_of("3000"), "号0");
}

TEST_F(ProvinceStoreTest, RefusedBatchesStoreNothingAndTheNextBatchIsWhole) {
  register_people();
  // Corrupt in its last block: refused by the reader's own check, before
  // avro-c decodes anything or a row is written.
  std::string corrupt = people_file("null", 500, 500);
  corrupt.resize(corrupt.size() - 3);
  auto outcome = ingest("b-bad", 1, corrupt);
  EXPECT_EQ(outcome.kind, IngestOutcome::Kind::kInvalidAvro);
  EXPECT_EQ(record_count(), 0);

  // A registered resource but a schema that is not registered for it.
  const std::string with_city = testing::write_people_file(
      dir_ / "city.avro", "snappy", {Person{"p1", "甲", 30, std::nullopt, "大冶"}}, /*with_city=*/true);
  outcome = ingest("b-city", 1, with_city);
  EXPECT_EQ(outcome.kind, IngestOutcome::Kind::kSchemaNotRegistered);
  EXPECT_NE(outcome.detail.find("not registered"), std::string::npos) << outcome.detail;
  EXPECT_EQ(record_count(), 0);

  outcome = ingest("b-good", 2, people_file("deflate", 260, 260));
  ASSERT_EQ(outcome.kind, IngestOutcome::Kind::kStored) << outcome.detail;
  EXPECT_EQ(outcome.receipt.records_accepted, 260);
  EXPECT_EQ(record_count(), 260);
  EXPECT_EQ(name_of("p00259"), "n259");
  auto receipts = store_->receipts(kResource);
  ASSERT_TRUE(receipts.has_value());
  ASSERT_EQ(receipts->size(), 1u);
  EXPECT_EQ((*receipts)[0].batch_id, "b-good");
}

TEST_F(ProvinceStoreTest, EmptyFileOfARegisteredSchemaIsStored) {
  register_people();
  auto outcome = ingest("b-empty", 1, people_file("snappy", 0, 1));
  ASSERT_EQ(outcome.kind, IngestOutcome::Kind::kStored) << outcome.detail;
  EXPECT_EQ(outcome.receipt.records_accepted, 0);
  EXPECT_EQ(record_count(), 0);
  auto schema = avro::Schema::from_json(testing::person_schema_json());
  ASSERT_TRUE(schema.has_value());
  EXPECT_EQ(outcome.receipt.fingerprint, schema->fingerprint_hex());
}

}  // namespace
}  // namespace dxhub::province

namespace dxhub::province {
namespace {

// Upserts are deferred from the upload to the next read: batches received
// before a restart are applied on the first read after it, in sequence
// order even when they arrived out of order.
TEST_F(ProvinceStoreTest, DeferredUpsertsAreAppliedInSequenceOrderAfterARestart) {
  register_people();
  std::string older = people_file("snappy", 300, 300);  // names n0..n299
  std::string newer = people_file("deflate", 600, 300);  // names n300..n599 win
  EXPECT_EQ(ingest("b-new", 2, newer).kind, IngestOutcome::Kind::kStored);
  EXPECT_EQ(ingest("b-old", 1, older).kind, IngestOutcome::Kind::kStored);
  {
    // Nothing has read the resource yet: the key index is still empty.
    auto db = SqliteDb::open((dir_ / "province.db").string(), SqliteDb::Mode::kReadOnly);
    ASSERT_TRUE(db.has_value());
    auto stmt = db->prepare("SELECT (SELECT count(*) FROM records), (SELECT count(*) FROM batches WHERE applied = 0)");
    ASSERT_TRUE(stmt.has_value());
    ASSERT_TRUE(*stmt->step());
    EXPECT_EQ(stmt->column_int64(0), 0);
    EXPECT_EQ(stmt->column_int64(1), 2);
  }
  store_.reset();
  auto reopened = ProvinceStore::open((dir_ / "province.db").string());
  ASSERT_TRUE(reopened.has_value()) << reopened.status().to_string();
  store_ = std::move(*reopened);
  EXPECT_EQ(record_count(), 300);
  EXPECT_EQ(name_of("p00007"), "n307");  // sequence 2 wins although it arrived first
  auto summary = store_->summary(kResource);
  ASSERT_TRUE(summary.has_value() && summary->has_value());
  EXPECT_EQ((*summary)->rows_received, 900);
}

}  // namespace
}  // namespace dxhub::province
