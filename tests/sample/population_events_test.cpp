// The push-events generator: kinds in proportion, valid and unique IDs,
// nobody acting after death or moving out, determinism, and every record
// mapping cleanly through the real household mapping and schema.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/avro/schema.h"
#include "core/mapping/record_mapper.h"
#include "core/mapping/row_json.h"
#include "sandbox/sample/daye_reference.h"
#include "sandbox/sample/household_generator.h"
#include "sandbox/sample/local_time.h"
#include "sandbox/sample/population_events.h"
#include "sandbox/sample/resident_id.h"

namespace dxhub::sample {
namespace {

namespace fs = std::filesystem;

const std::string kMappingDir = std::string(DXHUB_SOURCE_DIR) + "/mappings/public_security";
constexpr int kEvents = 5000;

class SamplePopulationEventsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const fs::path db = fs::temp_directory_path() / ("dxhub_population_events_" + std::to_string(::getpid()) + ".db");
    HouseholdOptions opt;
    opt.rows = 3000;
    opt.seed = 11;
    opt.overwrite = true;
    ASSERT_TRUE(generate_household_db(db.string(), opt).is_ok());
    auto loaded = load_residents(db.string());
    ASSERT_TRUE(loaded.has_value()) << loaded.status().to_string();
    residents_ = new std::vector<PersonRecord>(std::move(*loaded));
    fs::remove(db);
  }
  static void TearDownTestSuite() {
    delete residents_;
    residents_ = nullptr;
  }

  // `count` events one second apart from `first`.
  static std::vector<PopulationEvent> run(uint64_t seed, int count, const std::string& first = "2026-03-01 08:00:00") {
    PopulationEventGenerator generator(seed, *residents_);
    int64_t clock = *parse_local_time(first);
    std::vector<PopulationEvent> out;
    char gxsj[20];
    for (int i = 0; i < count; ++i) {
      format_local_time(clock++, gxsj);
      auto event = generator.next(std::string_view(gxsj, 19));
      EXPECT_TRUE(event.has_value());
      if (!event) break;
      out.push_back(std::move(*event));
    }
    return out;
  }

  static std::vector<PersonRecord>* residents_;
};

std::vector<PersonRecord>* SamplePopulationEventsTest::residents_ = nullptr;

TEST_F(SamplePopulationEventsTest, LoadsTheSampleTable) {
  ASSERT_EQ(residents_->size(), 3000u);
  for (const PersonRecord& p : *residents_) ASSERT_TRUE(resident_id_is_valid(p.gmsfhm));
}

TEST_F(SamplePopulationEventsTest, KindsOccurInProportion) {
  const auto events = run(5, kEvents);
  ASSERT_EQ(events.size(), static_cast<size_t>(kEvents));
  std::map<EventKind, int> counts;
  for (const auto& e : events) ++counts[e.kind];
  const EventMix mix;
  for (size_t k = 0; k < kEventKindCount; ++k) {
    const auto kind = static_cast<EventKind>(k);
    const double expected = kEvents * mix.per_mille[k] / 1000.0;
    // Binomial spread is about 30 at these counts; 4 sigma or so.
    EXPECT_NEAR(counts[kind], expected, 120) << event_kind_name(kind);
  }
}

TEST_F(SamplePopulationEventsTest, RecordsAreConsistentWithTheirKind) {
  std::set<std::string> known;
  for (const PersonRecord& p : *residents_) known.insert(p.gmsfhm);
  std::set<std::string> gone;  // died or moved out, in the table or by an event
  for (const PersonRecord& p : *residents_) {
    if (p.ryzt != "1") gone.insert(p.gmsfhm);
  }
  std::map<std::string, const DayeTownship*> townships;
  for (const auto& t : daye_townships()) townships[std::string(t.name)] = &t;

  for (const auto& e : run(5, kEvents)) {
    const PersonRecord& r = e.record;
    SCOPED_TRACE(event_kind_name(e.kind));
    ASSERT_TRUE(resident_id_is_valid(r.gmsfhm));
    ASSERT_EQ(gone.count(r.gmsfhm), 0u) << "an event for someone who died or moved out";
    const std::string date = r.gxsj.substr(0, 10);
    // The ID carries the birth date and, in its sequence's parity, the sex.
    EXPECT_EQ(r.gmsfhm.substr(6, 8), r.csrq.substr(0, 4) + r.csrq.substr(5, 2) + r.csrq.substr(8, 2));
    EXPECT_EQ((r.gmsfhm[16] - '0') % 2 == 1, r.xb == "1");
    // Address, police station and township agree.
    ASSERT_TRUE(townships.count(r.xzjd)) << "unknown township";
    const DayeTownship& t = *townships[r.xzjd];
    EXPECT_EQ(r.sspcs, "大冶市公安局" + std::string(t.short_name) + "派出所");
    EXPECT_TRUE(r.hjdz.starts_with("湖北省大冶市" + std::string(t.name)));
    switch (e.kind) {
      case EventKind::kBirth:
        EXPECT_TRUE(known.insert(r.gmsfhm).second) << "a birth reused an ID";
        EXPECT_EQ(r.csrq, date);
        EXPECT_TRUE(r.yhzgx == "子" || r.yhzgx == "女");
        EXPECT_EQ(r.gmsfhm.substr(0, 6), "420281");
        EXPECT_FALSE(r.qrrq.has_value());
        EXPECT_EQ(r.ryzt, "1");
        break;
      case EventKind::kMoveIn:
        EXPECT_TRUE(known.insert(r.gmsfhm).second) << "an arrival reused an ID";
        ASSERT_TRUE(r.qrrq.has_value());
        EXPECT_EQ(*r.qrrq, date);
        EXPECT_EQ(r.ryzt, "1");
        break;
      case EventKind::kDeath:
        EXPECT_TRUE(known.count(r.gmsfhm));
        EXPECT_EQ(r.ryzt, "3");
        gone.insert(r.gmsfhm);
        break;
      case EventKind::kMoveOut:
        EXPECT_TRUE(known.count(r.gmsfhm));
        EXPECT_EQ(r.ryzt, "2");
        gone.insert(r.gmsfhm);
        break;
      case EventKind::kAddressChange:
        EXPECT_TRUE(known.count(r.gmsfhm));
        EXPECT_EQ(r.ryzt, "1");
        break;
    }
  }
}

TEST_F(SamplePopulationEventsTest, AddressChangeKeepsThePerson) {
  std::map<std::string, PersonRecord> before;
  for (const PersonRecord& p : *residents_) before[p.gmsfhm] = p;
  int checked = 0;
  for (const auto& e : run(8, 400)) {
    if (e.kind != EventKind::kAddressChange) continue;
    auto it = before.find(e.record.gmsfhm);
    if (it == before.end()) continue;  // someone who arrived during the run
    const PersonRecord& old = it->second;
    EXPECT_EQ(e.record.xm, old.xm);
    EXPECT_EQ(e.record.csrq, old.csrq);
    EXPECT_EQ(e.record.hh, old.hh);
    EXPECT_EQ(e.record.qrrq, old.qrrq);
    before[e.record.gmsfhm] = e.record;
    ++checked;
  }
  EXPECT_GT(checked, 50);
}

TEST_F(SamplePopulationEventsTest, DeterministicForASeed) {
  const auto a = run(21, 1000);
  const auto b = run(21, 1000);
  // Later the same day: only the times differ.
  const auto c = run(21, 1000, "2026-03-01 09:30:00");
  const auto d = run(22, 1000);
  ASSERT_EQ(a.size(), b.size());
  ASSERT_EQ(a.size(), c.size());
  int differ_from_other_seed = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].kind, b[i].kind);
    EXPECT_EQ(a[i].record.to_json(), b[i].record.to_json());
    auto without_time = [](const PersonRecord& r) {
      auto j = r.to_json();
      j.erase("gxsj");
      return j;
    };
    EXPECT_EQ(without_time(a[i].record), without_time(c[i].record));
    if (a[i].record.gmsfhm != d[i].record.gmsfhm) ++differ_from_other_seed;
  }
  EXPECT_GT(differ_from_other_seed, 900);
}

TEST_F(SamplePopulationEventsTest, StartsFromNobody) {
  PopulationEventGenerator generator(3, {});
  for (int i = 0; i < 200; ++i) {
    auto event = generator.next("2026-03-01 08:00:00");
    ASSERT_TRUE(event.has_value());
    ASSERT_TRUE(resident_id_is_valid(event->record.gmsfhm));
  }
  EXPECT_GT(generator.active_residents(), 0u);
  EXPECT_FALSE(generator.next("yesterday").has_value());
}

TEST_F(SamplePopulationEventsTest, EveryRecordMapsThroughTheRealMapping) {
  auto schema = avro::Schema::from_file(kMappingDir + "/household_population.avsc");
  ASSERT_TRUE(schema.has_value()) << schema.status().to_string();
  auto mapper = RecordMapper::load(kMappingDir + "/household_population.mapping.json", *schema);
  ASSERT_TRUE(mapper.has_value()) << mapper.status().to_string();
  bool bound = false;
  int failures = 0;
  std::string encoded;
  for (const auto& e : run(5, kEvents)) {
    // The record as the endpoint receives it: JSON, every value as text or null.
    auto row = StoredRow::parse(e.record.to_json().dump());
    ASSERT_TRUE(row.has_value());
    if (!bound) {
      ASSERT_TRUE(mapper->bind(row->columns()).is_ok());
      bound = true;
    }
    encoded.clear();
    if (Status s = mapper->encode(row->view(), encoded); !s.is_ok()) {
      if (++failures <= 3) ADD_FAILURE() << event_kind_name(e.kind) << ": " << s.to_string();
    }
  }
  EXPECT_EQ(failures, 0);
}

}  // namespace
}  // namespace dxhub::sample
