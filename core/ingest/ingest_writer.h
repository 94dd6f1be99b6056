// The push endpoint's one writer thread, between the connections and the
// state file:
//   group commit: the posts that arrive while a commit is under way are
//     staged together in the next transaction (ingest_posts), and each is
//     answered only once that transaction is durable;
//   micro-batching: a resource's staged records become one batch of its
//     outbox when they reach ingest.batch_rows, or ingest.linger_ms after the
//     oldest of them was accepted, whichever comes first (StagedBatchBuilder:
//     the batch is spooled in the transaction that unstages its posts); the
//     daemon is told at once (on_spooled) so that delivery starts.
// At stop, queued posts are staged and answered, then everything staged is
// spooled. A failed commit answers its posts with the error (nothing of
// them is stored; the client repeats them) and a failed spool is retried,
// the posts staying staged.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/common/status.h"
#include "core/engine/staged_batches.h"
#include "core/ingest/event_latency.h"
#include "core/state/state_store.h"

namespace dxhub {

struct PushTarget {
  std::string resource;
  std::unique_ptr<StagedBatchBuilder> builder;
};

struct IngestWriterOptions {
  std::string state_db;
  bool synchronous_full = true;
  int64_t linger_ms = 200;
  int64_t batch_rows = 5000;
  int64_t post_id_retention_ms = int64_t{72} * 3600 * 1000;
};

class IngestWriter {
 public:
  using Done = std::function<void(Expected<StagedPostResult>)>;
  struct QueuedPost {
    NewPost post;         // post.records is set from `records` when staged
    std::string records;  // framed staged records (staged_batches.h)
    Done done;            // called once, from the writer thread (or at once when refused)
  };

  IngestWriter(IngestWriterOptions options, std::vector<PushTarget> targets,
               std::function<void(const std::string& resource)> on_spooled, EventLatency& latency);
  ~IngestWriter();
  IngestWriter(const IngestWriter&) = delete;
  IngestWriter& operator=(const IngestWriter&) = delete;

  // Opens the state (its own connection), takes up what earlier runs left
  // staged, and starts the thread.
  Status start();
  // Queues the post; false (post.done not called) once stopping.
  bool submit(QueuedPost post);
  // Stages and answers what is queued, spools everything staged, joins. Idempotent.
  void stop();

  // Records of `resource` accepted or queued and not yet in a batch.
  int64_t waiting_records(const std::string& resource) const;
  // A batch's receipt was recorded: the latency of its events is observed.
  void on_delivered(const std::string& batch_id);
  // Staging transactions committed so far (group commit: fewer than posts).
  int64_t stage_commits() const { return stage_commits_.load(); }
  int64_t batches_spooled() const { return batches_spooled_.load(); }

 private:
  struct StagedInfo {
    int64_t id = 0;
    int64_t received_at_ms = 0;
    int64_t records = 0;
  };
  struct ResourceState {
    PushTarget target;
    std::deque<StagedInfo> staged;
    int64_t staged_records = 0;
    int64_t retry_at_ms = 0;  // after a failed spool
  };

  void run();
  void stage(std::vector<QueuedPost>& posts);
  // Spools what is due of each resource (everything when `flush`).
  void spool_due(int64_t now_ms, bool flush);
  int64_t next_deadline_ms() const;

  IngestWriterOptions options_;
  std::function<void(const std::string&)> on_spooled_;
  EventLatency& latency_;
  std::map<std::string, ResourceState> resources_;  // the writer thread's
  std::unique_ptr<StateStore> store_;                // likewise
  int64_t last_forget_ms_ = 0;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<QueuedPost> queue_;
  std::map<std::string, int64_t> waiting_;  // per resource: queued + staged records
  bool stopping_ = false;
  bool started_ = false;
  std::thread thread_;

  std::atomic<int64_t> stage_commits_{0};
  std::atomic<int64_t> batches_spooled_{0};
  std::mutex latency_mu_;
  std::map<std::string, std::vector<std::pair<int64_t, int64_t>>> in_flight_batches_;
};

}  // namespace dxhub
