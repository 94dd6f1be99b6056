// The comparison of `dxhub reconcile` on hand-made hub and province sides:
// each kind of finding, its exit code, the highest code winning, the text
// and JSON reports. (tests/e2e/reconcile_e2e_test.cpp runs the real binary.)
#include "core/cli/reconcile_command.h"

#include <gtest/gtest.h>

namespace dxhub {
namespace {

AcknowledgedBatch ack(const std::string& id, int64_t sequence, int64_t records, const std::string& digest) {
  AcknowledgedBatch b;
  b.batch_id = id;
  b.resource = "households";
  b.epoch = 100;
  b.sequence = sequence;
  b.record_count = records;
  b.digest = digest;
  return b;
}

ManifestBatch listed(const std::string& id, int64_t sequence, int64_t records, const std::string& digest,
                     int64_t epoch = 100) {
  ManifestBatch b;
  b.batch_id = id;
  b.epoch = epoch;
  b.sequence = sequence;
  b.records = records;
  b.digest = digest;
  return b;
}

ReconcileReport compare(const ResourceBatches& hub, const std::vector<ManifestBatch>& province) {
  ReconcileReport report;
  compare_resource("households", hub, province, report);
  return report;
}

TEST(Reconcile, IdenticalSidesAreConsistent) {
  ResourceBatches hub;
  hub.acknowledged = {ack("b1", 1, 10, "d1"), ack("b2", 2, 20, "d2")};
  auto report = compare(hub, {listed("b1", 1, 10, "d1"), listed("b2", 2, 20, "d2")});
  EXPECT_TRUE(report.findings.empty());
  EXPECT_EQ(report.exit_code(), 0);
  ASSERT_EQ(report.resources.size(), 1u);
  EXPECT_EQ(report.resources[0].compared, 2);
  EXPECT_EQ(report.to_text(),
            "reconcile: 1 resources, 2 batches compared, 0 gaps, 0 duplicates, 0 mismatches, 0 unknown at the hub; "
            "exit 0\n");
}

TEST(Reconcile, AcknowledgedBatchMissingAtTheProvinceIsAGap) {
  ResourceBatches hub;
  hub.acknowledged = {ack("b1", 1, 10, "d1"), ack("b2", 2, 20, "d2")};
  auto report = compare(hub, {listed("b1", 1, 10, "d1")});
  ASSERT_EQ(report.findings.size(), 1u);
  EXPECT_EQ(report.findings[0].kind, ReconcileKind::kGap);
  EXPECT_EQ(report.findings[0].batch_id, "b2");
  EXPECT_EQ(report.findings[0].sequence, 2);
  EXPECT_NE(report.findings[0].message.find("batch b2 (sequence 100:2)"), std::string::npos);
  EXPECT_EQ(report.exit_code(), kExitReconcileGaps);
  EXPECT_EQ(report.resources[0].gaps, 1);
}

TEST(Reconcile, OtherDigestOrCountIsAMismatch) {
  ResourceBatches hub;
  hub.acknowledged = {ack("b1", 1, 10, "d1"), ack("b2", 2, 20, "d2"), ack("b3", 3, 30, "d3")};
  auto report = compare(hub, {listed("b1", 1, 10, "other"), listed("b2", 2, 19, "d2"), listed("b3", 4, 30, "d3")});
  ASSERT_EQ(report.findings.size(), 3u);
  for (const auto& f : report.findings) EXPECT_EQ(f.kind, ReconcileKind::kMismatch) << f.message;
  EXPECT_NE(report.findings[0].message.find("digest hub d1, province other"), std::string::npos);
  EXPECT_NE(report.findings[1].message.find("record count hub 20, province 19"), std::string::npos);
  EXPECT_NE(report.findings[2].message.find("sequence hub 100:3, province 100:4"), std::string::npos);
  EXPECT_EQ(report.exit_code(), kExitReconcileMismatches);
  EXPECT_EQ(report.resources[0].mismatches, 3);
}

TEST(Reconcile, OneSequenceUnderTwoBatchIdsOrOneIdTwiceIsADuplicate) {
  ResourceBatches hub;
  hub.acknowledged = {ack("b1", 1, 10, "d1"), ack("b2", 2, 20, "d2")};
  auto report = compare(hub, {listed("b1", 1, 10, "d1"), listed("b1", 1, 10, "d1"), listed("b2", 2, 20, "d2"),
                              listed("forged", 2, 20, "d2")});
  int duplicates = 0, unknown = 0;
  for (const auto& f : report.findings) {
    if (f.kind == ReconcileKind::kDuplicate) ++duplicates;
    if (f.kind == ReconcileKind::kUnknownAtHub) ++unknown;
  }
  EXPECT_EQ(duplicates, 2);
  EXPECT_EQ(unknown, 1);  // "forged" was never sent by this hub
  EXPECT_EQ(report.exit_code(), kExitReconcileDuplicates);
  const std::string text = report.to_text();
  EXPECT_NE(text.find("batch b1 (sequence 100:1): listed 2 times"), std::string::npos) << text;
  EXPECT_NE(text.find("sequence 100:2: the province holds 2 batches under it: b2, forged"), std::string::npos) << text;
  EXPECT_EQ(report.resources[0].compared, 3);
}

TEST(Reconcile, ProvinceBatchesUnknownAtTheHubSayWhereTheyAreAndDoNotFail) {
  ResourceBatches hub;
  hub.acknowledged = {ack("b1", 1, 10, "d1")};
  UnacknowledgedBatch in_outbox;
  in_outbox.batch_id = "b2";
  in_outbox.sequence = 2;
  hub.unacknowledged = {in_outbox};
  auto report = compare(hub, {listed("b1", 1, 10, "d1"), listed("b2", 2, 5, "d2"), listed("old", 7, 5, "d9", 50)});
  ASSERT_EQ(report.findings.size(), 2u);
  EXPECT_EQ(report.findings[0].kind, ReconcileKind::kUnknownAtHub);
  EXPECT_NE(report.findings[0].message.find("batch b2 (sequence 100:2)"), std::string::npos);
  EXPECT_NE(report.findings[0].message.find("in the outbox, delivered but not yet acknowledged"), std::string::npos);
  EXPECT_NE(report.findings[1].message.find("batch old (sequence 50:7)"), std::string::npos);
  EXPECT_NE(report.findings[1].message.find("not sent by this hub"), std::string::npos);
  EXPECT_EQ(report.exit_code(), 0);
  EXPECT_EQ(report.resources[0].unknown_at_hub, 2);
}

TEST(Reconcile, SeveralKindsAreAllListedAndTheHighestCodeWins) {
  ResourceBatches hub;
  hub.acknowledged = {ack("b1", 1, 10, "d1"), ack("b2", 2, 20, "d2"), ack("b3", 3, 30, "d3")};
  ReconcileReport report;
  compare_resource("households", hub, {listed("b2", 2, 20, "x"), listed("b3", 3, 30, "d3"), listed("f", 3, 1, "y")},
                   report);
  ResourceBatches other;
  other.acknowledged = {ack("c1", 1, 1, "e1")};
  compare_resource("companies", other, {}, report);
  EXPECT_EQ(report.exit_code(), kExitReconcileMismatches);  // gaps 7, duplicate 8, mismatch 9
  const std::string text = report.to_text();
  EXPECT_NE(text.find("gap       households: batch b1"), std::string::npos) << text;
  EXPECT_NE(text.find("gap       companies: batch c1"), std::string::npos) << text;
  EXPECT_NE(text.find("duplicate households: sequence 100:3"), std::string::npos) << text;
  EXPECT_NE(text.find("mismatch  households: batch b2"), std::string::npos) << text;
  EXPECT_NE(text.find("reconcile: 2 resources, 5 batches compared, 2 gaps, 1 duplicates, 1 mismatches, 1 unknown at "
                      "the hub; exit 9\n"),
            std::string::npos)
      << text;
  auto json = report.to_json();
  EXPECT_EQ(json["exit_code"], 9);
  EXPECT_EQ(json["totals"]["gaps"], 2);
  EXPECT_EQ(json["totals"]["compared"], 5);
  EXPECT_EQ(json["findings"].size(), report.findings.size());
  EXPECT_EQ(json["findings"][0]["resource"], "households");
}

}  // namespace
}  // namespace dxhub
