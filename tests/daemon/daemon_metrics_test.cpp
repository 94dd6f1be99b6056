#include "core/daemon/daemon_metrics.h"

#include <gtest/gtest.h>

#include <regex>
#include <sstream>

namespace dxhub {
namespace {

ResourceResult result(int64_t read, int64_t rejected, int64_t delivered) {
  ResourceResult r;
  r.rows_read = read;
  r.dead_letters = rejected;
  r.rows_delivered = delivered;
  r.batches_delivered = delivered > 0 ? 1 : 0;
  r.delivery_retries = 2;
  r.upload_latency.observe(0.003);
  r.upload_latency.observe(0.2);
  r.upload_latency.observe(30);
  return r;
}

TEST(DaemonMetrics, PrometheusTextIsWellFormedAndCounts) {
  DaemonMetrics m(1000);
  m.set_plugins({{"public_security", true}, {"housing", false}});
  m.set_resources({{"household_population", 10}, {"odd\"name\\x", 0}});
  m.run_started("household_population");
  m.work_ended("household_population", result(100, 3, 97), /*sync=*/true, 1010);
  m.run_started("household_population");  // a drain
  EXPECT_NE(m.prometheus_text(1015).find("dxhub_resource_running{resource=\"household_population\"} 1"),
            std::string::npos);
  m.work_ended("household_population", result(0, 0, 50), /*sync=*/false, 1020);
  m.set_outbox({{"household_population", {2, 4096}}});
  const std::string text = m.prometheus_text(1030);

  const std::regex sample_line(R"(^[a-z_]+(\{[a-z_]+="([^"\\]|\\.)*"(,[a-z_]+="([^"\\]|\\.)*")*\})? -?[0-9.e+]+$)");
  std::istringstream lines(text);
  size_t samples = 0;
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with("# HELP ") || line.starts_with("# TYPE ")) continue;
    EXPECT_TRUE(std::regex_match(line, sample_line)) << line;
    ++samples;
  }
  EXPECT_GT(samples, 30u);
  auto has = [&](const std::string& line) { return text.find("\n" + line + "\n") != std::string::npos; };
  EXPECT_TRUE(has("dxhub_rows_read_total{resource=\"household_population\"} 100"));
  EXPECT_TRUE(has("dxhub_rows_rejected_total{resource=\"household_population\"} 3"));
  EXPECT_TRUE(has("dxhub_rows_delivered_total{resource=\"household_population\"} 147"));  // run + drain
  EXPECT_TRUE(has("dxhub_delivery_retries_total{resource=\"household_population\"} 4"));
  EXPECT_TRUE(has("dxhub_outbox_bytes{resource=\"household_population\"} 4096"));
  EXPECT_TRUE(has("dxhub_runs_total{resource=\"household_population\",status=\"ok_with_dead_letters\"} 1"));
  EXPECT_TRUE(has("dxhub_source_lag_seconds{resource=\"household_population\"} 20"));  // last good read at 1010
  EXPECT_TRUE(has("dxhub_source_lag_seconds{resource=\"odd\\\"name\\\\x\"} 30"));   // never: since start
  EXPECT_TRUE(has("dxhub_plugin_loaded{plugin=\"housing\"} 0"));
  EXPECT_TRUE(has("dxhub_resource_running{resource=\"household_population\"} 0"));
  // Histogram buckets are cumulative and end at the count.
  EXPECT_TRUE(has("dxhub_upload_duration_seconds_bucket{resource=\"household_population\",le=\"0.005\"} 2"));
  EXPECT_TRUE(has("dxhub_upload_duration_seconds_bucket{resource=\"household_population\",le=\"0.25\"} 4"));
  EXPECT_TRUE(has("dxhub_upload_duration_seconds_bucket{resource=\"household_population\",le=\"10\"} 4"));
  EXPECT_TRUE(has("dxhub_upload_duration_seconds_bucket{resource=\"household_population\",le=\"+Inf\"} 6"));
  EXPECT_TRUE(has("dxhub_upload_duration_seconds_count{resource=\"household_population\"} 6"));
}

TEST(DaemonMetrics, HealthSaysWhatIsDegraded) {
  DaemonMetrics m(1000);
  m.set_plugins({{"public_security", true}});
  m.set_resources({{"household_population", 10}});
  EXPECT_EQ(m.health(1005)["status"], "ok");
  EXPECT_EQ(m.health(1005)["uptime_seconds"], 5);
  m.set_circuit("household_population", CircuitBreaker::State::kOpen);
  auto h = m.health(1006);
  EXPECT_EQ(h["status"], "degraded");
  EXPECT_EQ(h["delivery_paused"][0], "household_population");
  m.set_circuit("household_population", CircuitBreaker::State::kClosed);
  m.set_plugins({{"public_security", true}, {"housing", false}});
  EXPECT_EQ(m.health(1007)["plugins_not_loaded"][0], "housing");
  m.set_stopping();
  EXPECT_EQ(m.health(1008)["status"], "stopping");
  // A resource dropped by a reload leaves the metrics.
  m.set_resources({});
  EXPECT_EQ(m.prometheus_text(1009).find("household_population"), std::string::npos);
}

}  // namespace
}  // namespace dxhub
