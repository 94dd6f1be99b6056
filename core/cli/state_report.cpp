#include "core/cli/state_report.h"

#include <filesystem>
#include <sstream>

#include "core/common/json_text.h"
#include "core/state/state_store.h"

namespace dxhub {

namespace {

std::string iso_time(int64_t ms) {
  if (ms <= 0) return "-";
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

Expected<nlohmann::json> state_report(const std::string& state_db, int runs) {
  nlohmann::json report;
  report["state_db"] = state_db;
  if (!std::filesystem::exists(state_db)) {
    // Nothing synced yet is a state too; the file is not created by looking.
    report["exists"] = false;
    for (const char* key : {"cursors", "staged", "outbox", "quarantine", "delivered", "dead_letters", "runs"}) {
      report[key] = nlohmann::json::array();
    }
    return report;
  }
  DXHUB_ASSIGN_OR_RETURN(auto store, StateStore::open(state_db));
  report["exists"] = true;
  DXHUB_ASSIGN_OR_RETURN(int64_t epoch, store.epoch());
  report["epoch"] = epoch;

  DXHUB_ASSIGN_OR_RETURN(auto cursors, store.cursors());
  report["cursors"] = nlohmann::json::array();
  for (const auto& c : cursors) {
    report["cursors"].push_back({{"resource", c.resource},
                                 {"cursor", c.cursor},
                                 {"next_sequence", c.next_sequence},
                                 {"updated_at", iso_time(c.updated_at_ms)}});
  }
  DXHUB_ASSIGN_OR_RETURN(auto staged, store.staged_summary());
  report["staged"] = nlohmann::json::array();
  for (const auto& s : staged) {
    report["staged"].push_back({{"resource", s.resource},
                                {"posts", s.posts},
                                {"records", s.records},
                                {"bytes", s.bytes},
                                {"oldest", iso_time(s.oldest_received_at_ms)}});
  }
  DXHUB_ASSIGN_OR_RETURN(auto outbox, store.outbox_summary());
  report["outbox"] = nlohmann::json::array();
  for (const auto& o : outbox) {
    report["outbox"].push_back({{"resource", o.resource},
                                {"batches", o.batches},
                                {"records", o.records},
                                {"bytes", o.bytes},
                                {"oldest", iso_time(o.oldest_created_at_ms)},
                                {"max_attempts", o.max_attempts},
                                {"last_error", o.last_error}});
  }
  DXHUB_ASSIGN_OR_RETURN(auto quarantine, store.quarantine_summary());
  report["quarantine"] = nlohmann::json::array();
  for (const auto& q : quarantine) {
    nlohmann::json reasons = nlohmann::json::array();
    for (const auto& [reason, count] : q.reasons) reasons.push_back({{"reason", reason}, {"batches", count}});
    report["quarantine"].push_back(
        {{"resource", q.resource}, {"batches", q.batches}, {"records", q.records}, {"reasons", reasons}});
  }
  DXHUB_ASSIGN_OR_RETURN(auto receipts, store.receipt_summary());
  report["delivered"] = nlohmann::json::array();
  for (const auto& r : receipts) {
    report["delivered"].push_back({{"resource", r.resource},
                                   {"batches", r.batches},
                                   {"records", r.records},
                                   {"bytes", r.bytes},
                                   {"last_sequence", r.last_sequence},
                                   {"last_delivered", iso_time(r.last_delivered_at_ms)}});
  }
  DXHUB_ASSIGN_OR_RETURN(auto dead, store.dead_letter_counts());
  report["dead_letters"] = nlohmann::json::array();
  for (const auto& d : dead) {
    report["dead_letters"].push_back(
        {{"resource", d.resource}, {"count", d.count}, {"discarded", d.discarded}, {"replayed", d.replayed}});
  }

  DXHUB_ASSIGN_OR_RETURN(auto starts, store.last_resource_starts());
  report["last_starts_ms"] = starts;  // resource -> ms of its newest run (for the schedules view)
  DXHUB_ASSIGN_OR_RETURN(auto last, store.last_runs(static_cast<size_t>(runs)));
  report["runs"] = nlohmann::json::array();
  for (const auto& run : last) {
    nlohmann::json j = {{"run_id", run.run_id},
                        {"command", run.command},
                        {"started", iso_time(run.started_at_ms)},
                        {"finished", iso_time(run.finished_at_ms)},
                        {"status", run.status},
                        {"resources", nlohmann::json::array()}};
    for (const auto& r : run.resources) {
      j["resources"].push_back({{"resource", r.resource},
                                {"rows_read", r.rows_read},
                                {"rows_spooled", r.rows_spooled},
                                {"rows_delivered", r.rows_delivered},
                                {"batches_spooled", r.batches_spooled},
                                {"batches_delivered", r.batches_delivered},
                                {"dead_letters", r.dead_letters},
                                {"status", r.status},
                                {"error", r.error}});
    }
    report["runs"].push_back(std::move(j));
  }
  return report;
}

std::string format_state_report(const nlohmann::json& report) {
  std::ostringstream out;
  out << "state: " << report["state_db"].get<std::string>();
  if (!report.value("exists", true)) out << " (no state file yet: nothing has been synced with this config)";
  out << "\n\ncursors:\n";
  if (report["cursors"].empty()) out << "  (none)\n";
  for (const auto& c : report["cursors"]) {
    out << "  " << c["resource"].get<std::string>() << "  cursor=" << dump_json_safely(c["cursor"])
        << "  next_sequence=" << c["next_sequence"] << "  updated " << c["updated_at"].get<std::string>() << "\n";
  }
  if (report.contains("staged") && !report["staged"].empty()) {
    out << "\nstaged (pushed posts accepted, not yet in a batch):\n";
    for (const auto& s : report["staged"]) {
      out << "  " << s["resource"].get<std::string>() << "  " << s["posts"] << " posts, " << s["records"]
          << " records, oldest " << s["oldest"].get<std::string>() << "\n";
    }
  }
  out << "\noutbox (spooled, not yet acknowledged):\n";
  if (report["outbox"].empty()) out << "  (empty)\n";
  for (const auto& o : report["outbox"]) {
    out << "  " << o["resource"].get<std::string>() << "  " << o["batches"] << " batches, " << o["records"]
        << " records, " << o["bytes"] << " bytes, oldest " << o["oldest"].get<std::string>() << ", attempts up to "
        << o["max_attempts"];
    if (!o["last_error"].get<std::string>().empty()) out << ", last error: " << o["last_error"].get<std::string>();
    out << "\n";
  }
  out << "\nquarantine (refused for good or corrupt; `dxhub outbox list`):\n";
  if (report["quarantine"].empty()) out << "  (none)\n";
  for (const auto& q : report["quarantine"]) {
    out << "  " << q["resource"].get<std::string>() << "  " << q["batches"] << " batches, " << q["records"]
        << " records\n";
    for (const auto& r : q["reasons"]) out << "      " << r["batches"] << "x " << r["reason"].get<std::string>() << "\n";
  }
  out << "\ndelivered (receipts recorded):\n";
  if (report["delivered"].empty()) out << "  (none)\n";
  for (const auto& r : report["delivered"]) {
    out << "  " << r["resource"].get<std::string>() << "  " << r["batches"] << " batches, " << r["records"]
        << " records, last sequence " << r["last_sequence"] << " at " << r["last_delivered"].get<std::string>()
        << "\n";
  }
  out << "\ndead letters:\n";
  if (report["dead_letters"].empty()) out << "  (none)\n";
  for (const auto& d : report["dead_letters"]) {
    out << "  " << d["resource"].get<std::string>() << "  " << d["count"] << " open, " << d["discarded"]
        << " discarded, " << d["replayed"] << " replayed\n";
  }
  if (report.contains("schedules")) {
    out << "\nschedules (dxhub run):\n";
    if (report.contains("schedules_error")) out << "  " << report["schedules_error"].get<std::string>() << "\n";
    if (report["schedules"].empty() && !report.contains("schedules_error")) out << "  (no resources)\n";
    for (const auto& s : report["schedules"]) {
      const std::string last = s["last_run"].get<std::string>();
      const std::string next = s["next_run"].get<std::string>();
      out << "  " << s["resource"].get<std::string>() << "  " << s["schedule"].get<std::string>() << "  last run "
          << (last.empty() ? "never" : last) << ", next " << (next.empty() ? "only by dxhub sync" : next) << "\n";
    }
  }
  out << "\nlast runs:\n";
  if (report["runs"].empty()) out << "  (none)\n";
  for (const auto& run : report["runs"]) {
    out << "  #" << run["run_id"] << " " << run["command"].get<std::string>() << "  "
        << run["started"].get<std::string>() << " -> " << run["finished"].get<std::string>() << "  "
        << run["status"].get<std::string>() << "\n";
    for (const auto& r : run["resources"]) {
      out << "      " << r["resource"].get<std::string>() << ": read " << r["rows_read"] << ", spooled "
          << r["rows_spooled"] << ", delivered " << r["rows_delivered"] << " (" << r["batches_delivered"]
          << " batches), dead letters " << r["dead_letters"] << ", " << r["status"].get<std::string>();
      if (!r["error"].get<std::string>().empty()) out << ": " << r["error"].get<std::string>();
      out << "\n";
    }
  }
  return out.str();
}

}  // namespace dxhub
