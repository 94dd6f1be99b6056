// A connector reads one source feed (table, interface, file) and knows
// nothing about agencies. It delivers rows in a stable order and keeps an
// opaque JSON cursor so that the next run resumes after the last row read.
//
// The contract every connector keeps (the engine relies on it):
//  * read() is called again only after every row handed out before, and
//    the cursor() taken after it, are durable (spooled in the state). A
//    connector with side effects on its source (moving a processed file,
//    acknowledging a change table) performs them for earlier reads at the
//    start of the next read() or at the end (read() returning 0) -- never
//    for rows not yet durable -- and never when opened with dry_run.
//  * Rows handed out by one read() call share one RowOp: a connector that
//    produces deletes and upserts returns early where the operation changes.
//  * Input that does not form a row goes to sink.on_bad_input with a source
//    reference; the read goes on. A source that cannot be reached fails the
//    read (kSource) and the cursor stays where it was.
//  * Opened with an empty column list, a connector delivers every column
//    the source has, in source order (discover, check).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/common/row.h"
#include "core/common/status.h"

namespace dxhub {

class Connector {
 public:
  virtual ~Connector() = default;
  // Column names, in the order each RowView carries them; fixed after open.
  virtual const std::vector<std::string>& columns() const = 0;
  // Reads up to `max_rows` rows after the current position, calling
  // sink.on_row for each. Returns how many were read; 0 means the feed is
  // exhausted for now. Source failures are kSource errors naming the feed.
  virtual Expected<size_t> read(size_t max_rows, RowSink& sink) = 0;
  // Cursor after the last row handed to the sink (null before any row and
  // when opened with a null cursor). Safe to persist and pass back to open.
  virtual nlohmann::json cursor() const = 0;
  // Warnings about the source found at open or while reading that do not
  // stop a sync, one line each, for `dxhub check` and the log: a cursor
  // without an index, a key that repeats. Never quotes a value.
  virtual std::vector<std::string> advisories() const { return {}; }
  // How many rows this read will cover, when the connector could count
  // them cheaply at open: only for a full load (no cursor yet, or a full
  // refresh), for progress display. nullopt when unknown; never a reason
  // for an open to fail.
  virtual std::optional<int64_t> estimated_rows() const { return std::nullopt; }
};

// How a connector is opened, beyond its settings.
struct ConnectorOpenOptions {
  // check / discover: read without any effect on the source (no file moved,
  // no trigger installed, no change-table row acknowledged).
  bool dry_run = false;
  // The resource being read (messages, names of work files).
  std::string resource_id;
  // A directory the connector may create and use for its own files
  // (downloads, change-capture bookkeeping); empty = none offered.
  std::string work_dir;
  // Someone shows progress (`dxhub sync` on a terminal): a connector that
  // can count a full load cheaply does so at open (estimated_rows). Off for
  // the daemon, check and discover, which would pay the count for nothing.
  bool count_rows = false;
};

}  // namespace dxhub
