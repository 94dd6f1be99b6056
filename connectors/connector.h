// A connector reads one source feed (table, interface, file) and knows
// nothing about agencies. It delivers rows in a stable order and keeps an
// opaque JSON cursor so that the next run resumes after the last row read.
#pragma once

#include <nlohmann/json.hpp>

#include <memory>
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
};

}  // namespace dxhub
