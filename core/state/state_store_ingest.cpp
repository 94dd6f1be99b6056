// StateStore's push-ingest tables (schema v5, see state_store.h): staged
// posts and the post ids that make a repeated post harmless.
#include "core/state/state_store.h"

namespace dxhub {


Expected<std::vector<StagedPostResult>> StateStore::stage_posts(std::span<const NewPost> posts) {
  std::vector<StagedPostResult> results;
  results.reserve(posts.size());
  auto run = [&]() -> Status {
    DXHUB_ASSIGN_OR_RETURN(auto tx, SqliteTransaction::begin(db_));
    DXHUB_ASSIGN_OR_RETURN(auto find_id, db_.prepare("SELECT digest, staged_id, record_count, accepted_at FROM "
                                                     "ingest_post_ids WHERE app_key = ?1 AND post_id = ?2"));
    DXHUB_ASSIGN_OR_RETURN(auto insert_post,
                           db_.prepare("INSERT INTO ingest_posts (resource, app_key, post_id, record_count, records, "
                                       "received_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"));
    DXHUB_ASSIGN_OR_RETURN(auto insert_id,
                           db_.prepare("INSERT INTO ingest_post_ids (app_key, post_id, resource, digest, record_count, "
                                       "staged_id, accepted_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"));
    for (const NewPost& post : posts) {
      StagedPostResult& result = results.emplace_back();
      if (!post.post_id.empty()) {
        DXHUB_RETURN_IF_ERROR(find_id.reset());
        DXHUB_RETURN_IF_ERROR(find_id.bind_text(1, post.app_key));
        DXHUB_RETURN_IF_ERROR(find_id.bind_text(2, post.post_id));
        DXHUB_ASSIGN_OR_RETURN(bool seen, find_id.step());
        if (seen) {
          result.outcome = find_id.column_text(0) == post.digest ? PostOutcome::kDuplicate : PostOutcome::kConflict;
          result.staged_id = find_id.column_int64(1);
          result.record_count = find_id.column_int64(2);
          result.accepted_at_ms = find_id.column_int64(3);
          continue;
        }
      }
      DXHUB_RETURN_IF_ERROR(insert_post.reset());
      DXHUB_RETURN_IF_ERROR(insert_post.bind_text_static(1, post.resource));
      DXHUB_RETURN_IF_ERROR(insert_post.bind_text_static(2, post.app_key));
      DXHUB_RETURN_IF_ERROR(insert_post.bind_text_static(3, post.post_id));
      DXHUB_RETURN_IF_ERROR(insert_post.bind_int64(4, post.record_count));
      DXHUB_RETURN_IF_ERROR(insert_post.bind_blob_static(5, post.records));
      DXHUB_RETURN_IF_ERROR(insert_post.bind_int64(6, post.received_at_ms));
      DXHUB_RETURN_IF_ERROR(insert_post.run());
      result.staged_id = db_.last_insert_rowid();
      result.record_count = post.record_count;
      result.accepted_at_ms = post.received_at_ms;
      if (post.post_id.empty()) continue;
      DXHUB_RETURN_IF_ERROR(insert_id.reset());
      DXHUB_RETURN_IF_ERROR(insert_id.bind_text_static(1, post.app_key));
      DXHUB_RETURN_IF_ERROR(insert_id.bind_text_static(2, post.post_id));
      DXHUB_RETURN_IF_ERROR(insert_id.bind_text_static(3, post.resource));
      DXHUB_RETURN_IF_ERROR(insert_id.bind_text_static(4, post.digest));
      DXHUB_RETURN_IF_ERROR(insert_id.bind_int64(5, post.record_count));
      DXHUB_RETURN_IF_ERROR(insert_id.bind_int64(6, result.staged_id));
      DXHUB_RETURN_IF_ERROR(insert_id.bind_int64(7, post.received_at_ms));
      DXHUB_RETURN_IF_ERROR(insert_id.run());
    }
    return tx.commit();
  };
  DXHUB_RETURN_IF_ERROR(run().with_context("stage pushed posts"));
  return results;
}

Expected<std::vector<StagedPost>> StateStore::staged_posts(const std::string& resource, int64_t max_records) {
  DXHUB_ASSIGN_OR_RETURN(auto stmt, db_.prepare("SELECT id, record_count, records, received_at FROM ingest_posts "
                                                "WHERE resource = ?1 ORDER BY id"));
  DXHUB_RETURN_IF_ERROR(stmt.bind_text(1, resource));
  std::vector<StagedPost> out;
  int64_t records = 0;
  for (;;) {
    DXHUB_ASSIGN_OR_RETURN(bool has_row, stmt.step());
    if (!has_row) break;
    const int64_t count = stmt.column_int64(1);
    if (!out.empty() && records + count > max_records) break;
    records += count;
    out.push_back({stmt.column_int64(0), count, std::string(stmt.column_blob(2)), stmt.column_int64(3)});
  }
  return out;
}

Status StateStore::spool_staged(const NewBatch& batch, int64_t last_staged_id) {
  auto run = [&]() -> Status {
    DXHUB_ASSIGN_OR_RETURN(auto tx, SqliteTransaction::begin(db_));
    DXHUB_RETURN_IF_ERROR(insert_batch_keeping_cursor(batch));
    DXHUB_ASSIGN_OR_RETURN(auto forget, db_.prepare("DELETE FROM ingest_posts WHERE resource = ?1 AND id <= ?2"));
    DXHUB_RETURN_IF_ERROR(forget.bind_text(1, batch.resource));
    DXHUB_RETURN_IF_ERROR(forget.bind_int64(2, last_staged_id));
    DXHUB_RETURN_IF_ERROR(forget.run());
    if (db_.changes() == 0) return internal_error("no staged posts up to " + std::to_string(last_staged_id));
    return tx.commit();
  };
  return run().with_context("spool pushed batch " + batch.batch_id + " of " + batch.resource);
}

Expected<std::vector<StagedSummary>> StateStore::staged_summary() {
  DXHUB_ASSIGN_OR_RETURN(auto stmt, db_.prepare("SELECT resource, count(*), sum(record_count), sum(length(records)), "
                                                "min(received_at) FROM ingest_posts GROUP BY resource ORDER BY resource"));
  std::vector<StagedSummary> out;
  for (;;) {
    DXHUB_ASSIGN_OR_RETURN(bool has_row, stmt.step());
    if (!has_row) break;
    out.push_back({std::string(stmt.column_text(0)), stmt.column_int64(1), stmt.column_int64(2),
                   stmt.column_int64(3), stmt.column_int64(4)});
  }
  return out;
}

Expected<int64_t> StateStore::forget_post_ids(int64_t before_ms) {
  auto run = [&]() -> Expected<int64_t> {
    DXHUB_ASSIGN_OR_RETURN(auto tx, SqliteTransaction::begin(db_));
    DXHUB_ASSIGN_OR_RETURN(auto forget, db_.prepare("DELETE FROM ingest_post_ids WHERE accepted_at < ?1"));
    DXHUB_RETURN_IF_ERROR(forget.bind_int64(1, before_ms));
    DXHUB_RETURN_IF_ERROR(forget.run());
    const int64_t forgotten = db_.changes();
    DXHUB_RETURN_IF_ERROR(tx.commit());
    return forgotten;
  };
  return run();
}

}  // namespace dxhub
