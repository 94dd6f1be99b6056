// Reads files that arrive in a drop folder or on an FTP server, each with a
// format reader (csv, jsonl, xml, xlsx, lines: see file_format.h), and
// remembers every file it finished so that none is read twice.
//
// Settings (connector config, a JSON object):
//   source          {"kind": "local" | "ftp", ...} where the files are (below)
//   format          {"kind": "csv" | "jsonl" | "xml" | "xlsx" | "lines", ...} (file_format.h)
//   pattern         fnmatch(3) glob on the file name, default "*" (with
//                   recursive, a pattern holding '/' is matched against the
//                   relative path instead)
//   stable_seconds  default 5: a file is complete once it has not changed
//                   (size, mtime; locally also ctime) for this long; for FTP,
//                   once two listings this far apart agree. 0 = at once.
//   done_suffix     e.g. ".done": a file is complete only once "<name><suffix>"
//                   exists (then stable_seconds is not applied); the marker is
//                   archived or deleted with the file. Default: none.
//   done_replaces_extension  default false: the marker of "a.csv" is "a.done"
//   ignore_suffixes default [".tmp", ".part", ".partial", ".filepart"]: never files
//   ledger_max_files default 10000, ledger_max_days default 90 (0 = no age
//                   limit): bounds of the ledger (file_ledger.h)
//   now_ms          tests only: a fixed clock (Unix ms); nothing waits
//
// source "local": directory (required), recursive (false), archive_dir
//   ("<directory>/archive"), error_dir ("<directory>/error"; relative ones are
//   under directory), after ("archive" | "delete").
// source "ftp": host (required), port (21), directory ("/", absolute), user
//   ("anonymous"), password_env (name of the environment variable holding the
//   password; a literal "password" is refused), tls ("none" | "explicit":
//   AUTH TLS, control and data protected), ca_file, tls_verify (true),
//   connect_timeout_ms (10000), timeout_ms (300000 per transfer),
//   max_attempts (3), backoff_initial_ms (500), backoff_max_ms (10000),
//   listing ("mlsd" | "list"), after ("archive" | "delete"), archive_dir
//   ("archive"), error_dir ("error"; relative to directory). Files are
//   downloaded to <work_dir>/download and read there; refused ones are kept
//   in <work_dir>/error with the reason. Opened without a work directory
//   (check, discover), a private temporary one is used and removed.
//
// The rules:
//  * Files go oldest first (mtime, then name); a half-read file first.
//  * A file is judged by (name, size, SHA-256). One in the ledger is not
//    read again: it is moved to the archive unread. The same name with other
//    bytes is a new file.
//  * After the read that hands out a file's last row, the cursor holds the
//    file in its ledger; the file is moved (archive/delete) at the start of
//    the next read() or when read() returns 0 -- i.e. only after the engine
//    made those rows and the cursor durable -- never with dry_run. A crash in
//    between leaves the file in place and the ledger skips it next time.
//  * A file the format refuses as a whole (kData) goes to the error folder
//    with "<name>.reason.txt"; the run goes on. Rows it gave before stay read.
//  * A half-read file is resumed at the reader's position() kept in the
//    cursor if its size and digest are unchanged; otherwise it starts over.
//  * read() returns the rows and bad inputs handed out; a call that hands out
//    none but finishes or gives up a file returns 1, so that the engine
//    persists the changed cursor (it persists only after non-zero reads).
//
// Cursor: {"v": 1, "files": [[name, size, sha256, done_ms], ...],
//          "current": {"name", "size", "sha256", "position"} | absent}
#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "connectors/connector.h"
#include "connectors/file/file_format.h"
#include "connectors/file/file_ledger.h"
#include "connectors/file/file_source.h"

namespace dxhub {

class FileConnector final : public Connector {
 public:
  static constexpr const char* kKind = "file";

  struct Config {
    nlohmann::json source;
    nlohmann::json format;
    std::string pattern = "*";
    int64_t stable_ms = 5000;
    std::string done_suffix;
    bool done_replaces_extension = false;
    std::vector<std::string> ignore_suffixes = {".tmp", ".part", ".partial", ".filepart"};
    size_t ledger_max_files = 10000;
    int64_t ledger_max_days = 90;
    std::optional<int64_t> now_ms;
  };
  static Expected<Config> parse_config(const nlohmann::json& config);

  // With an empty column list, opens the first file to learn its columns.
  static Expected<std::unique_ptr<FileConnector>> open(const nlohmann::json& config,
                                                       const std::vector<std::string>& columns,
                                                       const nlohmann::json& cursor,
                                                       const ConnectorOpenOptions& options);
  // Tests and benchmarks: with a source of their own.
  static Expected<std::unique_ptr<FileConnector>> open_with_source(Config config, std::unique_ptr<FileSource> source,
                                                                   const std::vector<std::string>& columns,
                                                                   const nlohmann::json& cursor,
                                                                   const ConnectorOpenOptions& options);

  const std::vector<std::string>& columns() const override { return columns_; }
  Expected<size_t> read(size_t max_rows, RowSink& sink) override;
  nlohmann::json cursor() const override;
  std::vector<std::string> advisories() const override;

  // Counters for this open (tests, logs).
  struct Stats {
    size_t files_read = 0;        // finished
    size_t files_skipped = 0;     // already in the ledger
    size_t files_refused = 0;     // to the error folder
    size_t files_waiting = 0;     // not complete yet at the last scan
    size_t moves_failed = 0;
  };
  const Stats& stats() const { return stats_; }

 private:
  struct Candidate {
    SourceEntry entry;
    std::string marker;    // its done marker's name, if any
    std::string seen_key;  // in seen_ until the file is moved away
  };
  struct Current {
    Candidate candidate;
    FileIdentity identity;
    std::string local_path;
    nlohmann::json position;
  };
  struct Pending {
    bool refuse = false;
    Candidate candidate;
    std::string local_path;
    std::string sha256;
    std::string reason;
  };
  struct Observation {
    uint64_t size;
    int64_t mtime_ms;
    int64_t first_seen_ms;
  };

  FileConnector(Config config, std::unique_ptr<FileSource> source, std::vector<std::string> columns,
                ConnectorOpenOptions options);
  Status load_cursor(const nlohmann::json& cursor);
  int64_t now_ms() const;
  bool matches(const std::string& name) const;
  std::string marker_for(const std::string& name) const;
  // Lists the source and queues complete files not seen in this open.
  // Returns when the earliest incomplete one may be complete (-1: none).
  Expected<int64_t> scan();
  // Opens the next file's reader; false when none is left.
  Expected<bool> open_next(bool& cursor_changed);
  void give_up_current(const std::string& reason);
  void finish_current();
  void run_pending();

  Config config_;
  std::unique_ptr<FileSource> source_;
  std::vector<std::string> columns_;
  ConnectorOpenOptions options_;
  FileLedger ledger_;
  std::optional<Current> resume_;  // the half-read file named by the cursor
  std::optional<Current> current_;
  std::unique_ptr<FileFormatReader> reader_;
  std::vector<Candidate> queue_;   // complete files, next first
  std::set<std::string> seen_;     // name/size/mtime considered in this open
  std::map<std::string, Observation> observed_;
  std::vector<Pending> pending_;
  std::vector<std::string> move_problems_;
  Stats stats_;
};

}  // namespace dxhub
