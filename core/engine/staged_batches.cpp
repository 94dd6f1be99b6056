#include "core/engine/staged_batches.h"


#include "core/engine/batch_identity.h"
#include "core/protocol/signing.h"

namespace dxhub {

void append_staged_record(std::string& staged, std::string_view record) {
  const auto size = static_cast<uint32_t>(record.size());
  const char frame[4] = {static_cast<char>(size & 0xff), static_cast<char>((size >> 8) & 0xff),
                         static_cast<char>((size >> 16) & 0xff), static_cast<char>((size >> 24) & 0xff)};
  staged.append(frame, sizeof frame);
  staged.append(record);
}

Status for_each_staged_record(std::string_view staged, const std::function<Status(std::string_view)>& each) {
  size_t at = 0;
  while (at < staged.size()) {
    if (staged.size() - at < 4) return data_error("staged records: truncated frame");
    const auto* p = reinterpret_cast<const unsigned char*>(staged.data() + at);
    const uint32_t size = uint32_t{p[0]} | (uint32_t{p[1]} << 8) | (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 24);
    at += 4;
    if (size > staged.size() - at) return data_error("staged records: frame longer than the blob");
    DXHUB_RETURN_IF_ERROR(each(staged.substr(at, size)));
    at += size;
  }
  return Status::ok();
}

StagedBatchBuilder::StagedBatchBuilder(std::string resource, std::string plugin, const avro::Schema& schema,
                                       avro::Codec codec, std::string codec_name, size_t block_bytes)
    : resource_(std::move(resource)),
      plugin_(std::move(plugin)),
      fingerprint_(schema.fingerprint_hex()),
      codec_name_(std::move(codec_name)),
      writer_(schema, codec, block_bytes) {}

Expected<std::optional<SpooledPushBatch>> StagedBatchBuilder::spool_next(StateStore& store, int64_t max_records) {
  DXHUB_ASSIGN_OR_RETURN(std::vector<StagedPost> posts, store.staged_posts(resource_, max_records));
  if (posts.empty()) return std::optional<SpooledPushBatch>();
  DXHUB_ASSIGN_OR_RETURN(int64_t epoch, store.epoch());
  DXHUB_ASSIGN_OR_RETURN(int64_t sequence, store.next_sequence(resource_));
  const std::string first = std::to_string(posts.front().id);
  const std::string last = std::to_string(posts.back().id);
  const std::string from = "ingest:" + first;
  const std::string to = "ingest:" + last;
  const auto sync_marker = batch_sync_marker(resource_, epoch, sequence, from);
  DXHUB_RETURN_IF_ERROR(writer_.begin({{"dxhub.resource", resource_},
                                       {"dxhub.plugin", plugin_},
                                       {"dxhub.epoch", std::to_string(epoch)},
                                       {"dxhub.sequence", std::to_string(sequence)},
                                       {"dxhub.ingest_posts", first + "-" + last}},
                                      &sync_marker));
  SpooledPushBatch spooled;
  spooled.sequence = sequence;
  for (const StagedPost& post : posts) {
    DXHUB_RETURN_IF_ERROR(for_each_staged_record(post.records, [&](std::string_view record) {
      return writer_.append_encoded(record);
    }).with_context("staged post " + std::to_string(post.id)));
    spooled.posts.emplace_back(post.received_at_ms, post.record_count);
  }
  spooled.records = static_cast<int64_t>(writer_.record_count());
  DXHUB_RETURN_IF_ERROR(writer_.finish(body_));
  std::string digest = protocol::sha256_hex(body_);
  spooled.batch_id = batch_id_for(resource_, from, to, digest);
  spooled.bytes = static_cast<int64_t>(body_.size());
  NewBatch batch{spooled.batch_id, resource_, sequence, spooled.records, codec_name_, fingerprint_, std::move(digest),
                 body_};
  DXHUB_RETURN_IF_ERROR(store.spool_staged(batch, posts.back().id));
  return std::optional<SpooledPushBatch>(std::move(spooled));
}

}  // namespace dxhub
