#include "core/ingest/ingest_writer.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

namespace dxhub {

namespace {

int64_t wall_clock_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

constexpr int64_t kSpoolRetryMs = 1000;
constexpr int64_t kForgetEveryMs = 10 * 60 * 1000;
// Batches whose receipt is awaited for the latency figures; beyond, one is
// forgotten per new one (a quarantined batch never gets a receipt).
constexpr size_t kMaxTrackedBatches = 10000;

}  // namespace

IngestWriter::IngestWriter(IngestWriterOptions options, std::vector<PushTarget> targets,
                           std::function<void(const std::string&)> on_spooled, EventLatency& latency)
    : options_(std::move(options)), on_spooled_(std::move(on_spooled)), latency_(latency) {
  for (PushTarget& target : targets) {
    std::string resource = target.resource;
    resources_[resource].target = std::move(target);
    waiting_[resource] = 0;
  }
}

IngestWriter::~IngestWriter() { stop(); }

Status IngestWriter::start() {
  StateStoreOptions state_options;
  state_options.synchronous_full = options_.synchronous_full;
  DXHUB_ASSIGN_OR_RETURN(StateStore store, StateStore::open(options_.state_db, state_options));
  store_ = std::make_unique<StateStore>(std::move(store));
  // Posts an earlier run staged and did not batch: they are due at once.
  for (auto& [resource, state] : resources_) {
    DXHUB_ASSIGN_OR_RETURN(std::vector<StagedPost> left, store_->staged_posts(resource, INT64_MAX));
    for (const StagedPost& post : left) {
      // Due at once: their linger passed while the hub was down.
      state.staged.push_back({post.id, 0, post.record_count});
      state.staged_records += post.record_count;
    }
    waiting_[resource] = state.staged_records;
    if (state.staged_records > 0) {
      spdlog::info("ingest: resource {}: {} pushed records left staged by an earlier run are batched now", resource,
                   state.staged_records);
    }
  }
  started_ = true;
  thread_ = std::thread([this] { run(); });
  return Status::ok();
}

bool IngestWriter::submit(QueuedPost post) {
  {
    std::lock_guard lock(mu_);
    if (stopping_ || !started_) return false;
    waiting_[post.post.resource] += post.post.record_count;
    queue_.push_back(std::move(post));
  }
  cv_.notify_one();
  return true;
}

void IngestWriter::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

int64_t IngestWriter::waiting_records(const std::string& resource) const {
  std::lock_guard lock(mu_);
  auto it = waiting_.find(resource);
  return it == waiting_.end() ? 0 : it->second;
}

void IngestWriter::on_delivered(const std::string& batch_id) {
  std::vector<std::pair<int64_t, int64_t>> posts;
  {
    std::lock_guard lock(latency_mu_);
    auto it = in_flight_batches_.find(batch_id);
    if (it == in_flight_batches_.end()) return;
    posts = std::move(it->second);
    in_flight_batches_.erase(it);
  }
  const int64_t now = wall_clock_ms();
  for (const auto& [received_at, records] : posts) latency_.observe(now - received_at, static_cast<uint64_t>(records));
}

int64_t IngestWriter::next_deadline_ms() const {
  int64_t deadline = INT64_MAX;
  for (const auto& [resource, state] : resources_) {
    if (state.staged.empty()) continue;
    int64_t due = state.staged_records >= options_.batch_rows ? 0 : state.staged.front().received_at_ms + options_.linger_ms;
    deadline = std::min(deadline, std::max(due, state.retry_at_ms));
  }
  return deadline;
}

void IngestWriter::run() {
  std::vector<QueuedPost> posts;
  for (;;) {
    bool stopping = false;
    {
      std::unique_lock lock(mu_);
      const int64_t deadline = next_deadline_ms();
      auto ready = [&] { return stopping_ || !queue_.empty(); };
      if (deadline == INT64_MAX) {
        cv_.wait(lock, ready);
      } else {
        const int64_t wait_ms = deadline - wall_clock_ms();
        if (wait_ms > 0) cv_.wait_for(lock, std::chrono::milliseconds(wait_ms), ready);
      }
      posts.swap(queue_);
      stopping = stopping_;
    }
    try {
      if (!posts.empty()) stage(posts);
      posts.clear();
      const int64_t now = wall_clock_ms();
      spool_due(now, stopping);
      if (now - last_forget_ms_ > kForgetEveryMs) {
        last_forget_ms_ = now;
        auto forgotten = store_->forget_post_ids(now - options_.post_id_retention_ms);
        if (!forgotten) spdlog::warn("ingest: cannot forget old post ids: {}", forgotten.status().message());
      }
    } catch (const std::exception& e) {
      // Nothing may take the writer down: posts not yet answered are answered here.
      spdlog::error("ingest: writer: unexpected exception: {}", e.what());
      for (QueuedPost& post : posts) {
        if (post.done) post.done(internal_error("ingest writer failed"));
      }
      posts.clear();
    }
    if (stopping) {
      std::lock_guard lock(mu_);
      if (queue_.empty()) return;  // submit() refuses from now on
    }
  }
}

void IngestWriter::stage(std::vector<QueuedPost>& posts) {
  std::vector<NewPost> batch;
  batch.reserve(posts.size());
  for (QueuedPost& queued : posts) {
    queued.post.records = queued.records;
    batch.push_back(queued.post);
  }
  auto staged = store_->stage_posts(batch);
  if (staged) ++stage_commits_;
  {
    std::lock_guard lock(mu_);
    for (size_t i = 0; i < posts.size(); ++i) {
      const NewPost& post = posts[i].post;
      if (!staged || (*staged)[i].outcome != PostOutcome::kStaged) waiting_[post.resource] -= post.record_count;
    }
  }
  for (size_t i = 0; i < posts.size(); ++i) {
    QueuedPost& queued = posts[i];
    if (!staged) {
      queued.done(staged.status());
      continue;
    }
    const StagedPostResult& result = (*staged)[i];
    if (result.outcome == PostOutcome::kStaged) {
      ResourceState& state = resources_[queued.post.resource];
      state.staged.push_back({result.staged_id, queued.post.received_at_ms, queued.post.record_count});
      state.staged_records += queued.post.record_count;
    }
    queued.done(result);
  }
  if (!staged) spdlog::error("ingest: {} posts not stored: {}", posts.size(), staged.status().message());
}

void IngestWriter::spool_due(int64_t now_ms, bool flush) {
  for (auto& [resource, state] : resources_) {
    while (!state.staged.empty()) {
      const bool full = state.staged_records >= options_.batch_rows;
      const bool lingered = now_ms >= state.staged.front().received_at_ms + options_.linger_ms;
      if (!flush && ((!full && !lingered) || now_ms < state.retry_at_ms)) break;
      auto spooled = state.target.builder->spool_next(*store_, options_.batch_rows);
      if (!spooled || !spooled->has_value()) {
        if (!spooled) {
          spdlog::error("ingest: resource {}: {} staged records not batched (retried in {} ms): {}", resource,
                        state.staged_records, kSpoolRetryMs, spooled.status().message());
        }
        state.retry_at_ms = now_ms + kSpoolRetryMs;
        break;
      }
      state.retry_at_ms = 0;
      ++batches_spooled_;
      SpooledPushBatch& batch = **spooled;
      for (size_t i = 0; i < batch.posts.size() && !state.staged.empty(); ++i) {
        state.staged_records -= state.staged.front().records;
        state.staged.pop_front();
      }
      {
        std::lock_guard lock(mu_);
        waiting_[resource] -= batch.records;
      }
      {
        std::lock_guard lock(latency_mu_);
        if (in_flight_batches_.size() >= kMaxTrackedBatches) in_flight_batches_.erase(in_flight_batches_.begin());
        in_flight_batches_[batch.batch_id] = std::move(batch.posts);
      }
      spdlog::debug("ingest: resource {}: spooled pushed batch {} sequence {} ({} records)", resource, batch.batch_id,
                    batch.sequence, batch.records);
      on_spooled_(resource);
    }
  }
}

}  // namespace dxhub
