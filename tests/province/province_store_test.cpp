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

  IngestOutcome ingest(const std::string& batch_id, int64_t sequence, const std::string& body, int64_t epoch = 1) {
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

// A hub whose state file was lost starts again at sequence 1 under a newer
// epoch: its batches must outrank the old epoch's higher sequences.
TEST_F(ProvinceStoreTest, NewerEpochOutranksHigherSequencesOfAnOlderOne) {
  register_people();
  ASSERT_EQ(ingest("old-9", 9, people_file("null", 3, 3), /*epoch=*/100).kind, IngestOutcome::Kind::kStored);
  EXPECT_EQ(name_of("p00002"), "n2");
  // Same keys, new names (offset so they differ), sequence 1 of epoch 200.
  std::vector<Person> people;
  for (int i = 0; i < 3; ++i) {
    char id[16];
    std::snprintf(id, sizeof id, "p%05d", i);
    people.push_back(Person{id, "renamed" + std::to_string(i), 30, std::nullopt, ""});
  }
  std::string renamed = testing::write_people_file(dir_ / "renamed.avro", "null", people);
  ASSERT_EQ(ingest("new-1", 1, renamed, /*epoch=*/200).kind, IngestOutcome::Kind::kStored);
  EXPECT_EQ(name_of("p00002"), "renamed2");
  // An older epoch's late batch does not overwrite the newer epoch's record.
  ASSERT_EQ(ingest("old-10", 10, people_file("null", 3, 3), /*epoch=*/100).kind, IngestOutcome::Kind::kStored);
  EXPECT_EQ(name_of("p00002"), "renamed2");
  auto receipts = store_->receipts(kResource);
  ASSERT_TRUE(receipts.has_value());
  ASSERT_EQ(receipts->size(), 3u);
  EXPECT_EQ((*receipts)[0].batch_id, "old-9");  // listed in (epoch, sequence) order
  EXPECT_EQ((*receipts)[1].batch_id, "old-10");
  EXPECT_EQ((*receipts)[2].batch_id, "new-1");
  EXPECT_EQ((*receipts)[2].epoch, 200);
}

TEST_F(ProvinceStoreTest, ReceiptCountsRecordsThatRepeatAKeyOfTheSameBatch) {
  register_people();
  auto outcome = ingest("dup", 1, people_file("deflate", 50, 40));  // keys 0..9 twice
  ASSERT_EQ(outcome.kind, IngestOutcome::Kind::kStored) << outcome.detail;
  EXPECT_EQ(outcome.receipt.records_accepted, 50);
  EXPECT_EQ(outcome.receipt.duplicate_keys, 10);
  EXPECT_EQ(record_count(), 40);
  auto clean = ingest("clean", 2, people_file("deflate", 40, 40));
  EXPECT_EQ(clean.receipt.duplicate_keys, 0);  // keys of earlier batches are not duplicates
  auto receipts = store_->receipts(kResource);
  ASSERT_TRUE(receipts.has_value());
  EXPECT_EQ((*receipts)[0].duplicate_keys, 10);  // kept with the batch
}

// The hub's files name their resource, epoch and sequence; a file whose
// names disagree with the (signed) request is refused and stores nothing.
TEST_F(ProvinceStoreTest, FileIdentityMustMatchTheRequest) {
  register_people();
  auto schema = avro::Schema::from_json(testing::person_schema_json());
  ASSERT_TRUE(schema.has_value());
  auto value = schema->new_value();
  ASSERT_TRUE(value.has_value());
  auto file_named = [&](const std::string& resource, const std::string& epoch, const std::string& sequence) {
    avro::OcfWriter writer(*schema, avro::Codec::kNull, 1024);
    EXPECT_TRUE(
        writer.begin({{"dxhub.resource", resource}, {"dxhub.epoch", epoch}, {"dxhub.sequence", sequence}}).is_ok());
    avro_value_t field;
    EXPECT_EQ(avro_value_get_by_index(value->get(), 0, &field, nullptr), 0);
    EXPECT_EQ(avro_value_set_string(&field, "p1"), 0);
    EXPECT_EQ(avro_value_get_by_index(value->get(), 1, &field, nullptr), 0);
    EXPECT_EQ(avro_value_set_string(&field, "n1"), 0);
    EXPECT_EQ(avro_value_get_by_index(value->get(), 2, &field, nullptr), 0);
    EXPECT_EQ(avro_value_set_int(&field, 30), 0);
    avro_value_t branch;
    EXPECT_EQ(avro_value_get_by_index(value->get(), 3, &field, nullptr), 0);
    EXPECT_EQ(avro_value_set_branch(&field, 0, &branch), 0);
    EXPECT_EQ(avro_value_set_null(&branch), 0);
    Status appended = writer.append(value->get());
    EXPECT_TRUE(appended.is_ok()) << appended.to_string();
    std::string file;
    EXPECT_TRUE(writer.finish(file).is_ok());
    return file;
  };
  EXPECT_EQ(ingest("a", 3, file_named(kResource, "7", "3"), 7).kind, IngestOutcome::Kind::kStored);
  auto wrong_sequence = ingest("b", 4, file_named(kResource, "7", "5"), 7);
  EXPECT_EQ(wrong_sequence.kind, IngestOutcome::Kind::kIdentityMismatch);
  EXPECT_NE(wrong_sequence.detail.find("dxhub.sequence"), std::string::npos) << wrong_sequence.detail;
  EXPECT_EQ(ingest("c", 4, file_named(kResource, "8", "4"), 7).kind, IngestOutcome::Kind::kIdentityMismatch);
  EXPECT_EQ(ingest("d", 4, file_named("other_resource", "7", "4"), 7).kind, IngestOutcome::Kind::kIdentityMismatch);
  auto receipts = store_->receipts(kResource);
  ASSERT_TRUE(receipts.has_value());
  EXPECT_EQ(receipts->size(), 1u);
}

}  // namespace
}  // namespace dxhub::province
