#include "core/state/state_reader.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "core/state/state_store.h"
#include "tests/state/state_test_dir.h"

namespace dxhub {
namespace {

namespace fs = std::filesystem;

class StateReaderTest : public testing::StateDirTest {
 protected:
  StateReaderTest() : StateDirTest("dxhub_state_reader_") {}

  static NewBatch batch(const std::string& id, const std::string& resource, int64_t sequence, std::string_view body,
                        int64_t records) {
    NewBatch b;
    b.batch_id = id;
    b.resource = resource;
    b.sequence = sequence;
    b.record_count = records;
    b.codec = "deflate";
    b.fingerprint = "fp";
    b.digest = "digest-" + id;
    b.body = body;
    return b;
  }

};

TEST_F(StateReaderTest, NoStateFileIsNoStateAndIsNeverCreated) {
  auto reader = StateReader::open(db_path());
  ASSERT_TRUE(reader) << reader.status().to_string();
  EXPECT_FALSE(reader->has_value());
  EXPECT_FALSE(fs::exists(db_path()));
}

TEST_F(StateReaderTest, ListsReceiptsWithTheirEpochAndTheUnacknowledgedBatches) {
  int64_t epoch = 0;
  {
    auto opened = StateStore::open(db_path());
    ASSERT_TRUE(opened) << opened.status().to_string();
    StateStore store = std::move(opened).value();
    epoch = *store.epoch();
    ASSERT_TRUE(store.spool_batch(batch("h1", "households", 1, "one", 3), {{"id", 1}}).is_ok());
    ASSERT_TRUE(store.spool_batch(batch("h2", "households", 2, "two", 4), {{"id", 2}}).is_ok());
    ASSERT_TRUE(store.spool_batch(batch("h3", "households", 3, "three", 5), {{"id", 3}}).is_ok());
    ASSERT_TRUE(store.spool_batch(batch("c1", "companies", 1, "c", 1), {{"id", 1}}).is_ok());
    // h2 first: listing follows the sequence, not the order of receipt.
    ASSERT_TRUE(store.record_receipt("h2", R"({"epoch":)" + std::to_string(epoch) + "}").is_ok());
    ASSERT_TRUE(store.record_receipt("h1", "{}").is_ok());  // no epoch in the receipt: the state's
    ASSERT_TRUE(store.quarantine_batch("c1", "refused").is_ok());
  }
  auto before = fs::last_write_time(db_path());
  auto opened = StateReader::open(db_path());
  ASSERT_TRUE(opened) << opened.status().to_string();
  ASSERT_TRUE(opened->has_value());
  StateReader& reader = **opened;

  auto resources = reader.resources_with_batches();
  ASSERT_TRUE(resources);
  EXPECT_EQ(*resources, (std::vector<std::string>{"companies", "households"}));

  auto households = reader.batches("households");
  ASSERT_TRUE(households) << households.status().to_string();
  ASSERT_EQ(households->acknowledged.size(), 2u);
  EXPECT_EQ(households->acknowledged[0].batch_id, "h1");
  EXPECT_EQ(households->acknowledged[0].epoch, epoch);
  EXPECT_EQ(households->acknowledged[0].sequence, 1);
  EXPECT_EQ(households->acknowledged[0].record_count, 3);
  EXPECT_EQ(households->acknowledged[0].digest, "digest-h1");
  EXPECT_EQ(households->acknowledged[1].batch_id, "h2");
  EXPECT_EQ(households->acknowledged[1].record_count, 4);
  ASSERT_EQ(households->unacknowledged.size(), 1u);
  EXPECT_EQ(households->unacknowledged[0].batch_id, "h3");
  EXPECT_FALSE(households->unacknowledged[0].quarantined);

  auto companies = reader.batches("companies");
  ASSERT_TRUE(companies);
  EXPECT_TRUE(companies->acknowledged.empty());
  ASSERT_EQ(companies->unacknowledged.size(), 1u);
  EXPECT_TRUE(companies->unacknowledged[0].quarantined);
  EXPECT_EQ(fs::last_write_time(db_path()), before);  // read, never written
}

}  // namespace
}  // namespace dxhub
