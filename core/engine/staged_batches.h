// Pushed posts (core/ingest) wait in the state's staging table, their records
// already encoded; this turns the oldest of them into one batch of the
// resource's outbox, in the transaction that removes them from staging, so
// a crash leaves each record either staged or spooled, never both or
// neither. The daemon's micro-batcher calls it when a batch is due; a
// one-shot `dxhub sync` of a push resource calls it for whatever is staged.
//
// Staged records are framed as [u32 little-endian length][Avro binary
// record] so that the batch's blocks can be cut between records.
//
// Identity (batch_identity.h): cursor_from = "ingest:<first staged id>",
// cursor_to = "ingest:<last staged id>"; the header also carries
// dxhub.ingest_posts = "<first>-<last>".
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/avro/codec.h"
#include "core/avro/ocf_writer.h"
#include "core/avro/schema.h"
#include "core/common/status.h"
#include "core/state/state_store.h"

namespace dxhub {

// The connector kind of a resource whose records are pushed to the hub's
// ingest endpoint rather than read (plugins[].sources or a declaration).
inline constexpr const char* kPushConnectorKind = "push";

// Appends one framed record to `staged` (a post's records blob).
void append_staged_record(std::string& staged, std::string_view record);

// Calls `each(record)` for every framed record of `staged`; kData when the
// framing is damaged (a blob not written by append_staged_record).
Status for_each_staged_record(std::string_view staged, const std::function<Status(std::string_view)>& each);

struct SpooledPushBatch {
  std::string batch_id;
  int64_t sequence = 0;
  int64_t records = 0;
  int64_t bytes = 0;
  // (received_at_ms, records) of each post the batch holds: for the latency
  // of pushed events (accepted -> receipt).
  std::vector<std::pair<int64_t, int64_t>> posts;
};

class StagedBatchBuilder {
 public:
  StagedBatchBuilder(std::string resource, std::string plugin, const avro::Schema& schema, avro::Codec codec,
                     std::string codec_name, size_t block_bytes);

  // Spools the oldest staged posts of the resource (at most max_records
  // records, but at least one post) as one batch; nullopt when nothing is staged.
  Expected<std::optional<SpooledPushBatch>> spool_next(StateStore& store, int64_t max_records);

 private:
  std::string resource_;
  std::string plugin_;
  std::string fingerprint_;
  std::string codec_name_;
  avro::OcfWriter writer_;
  std::string body_;
};

}  // namespace dxhub
