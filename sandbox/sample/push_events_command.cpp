#include "sandbox/sample/push_events_command.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/protocol/signing.h"
#include "sandbox/sample/household_generator.h"
#include "sandbox/sample/ingest_client.h"
#include "sandbox/sample/local_time.h"
#include "sandbox/sample/population_events.h"

namespace dxhub::sample {

namespace {

using SteadyClock = std::chrono::steady_clock;

// One post as built by the producer: its id, body and what it carries.
struct Post {
  size_t index = 0;
  std::string post_id;
  std::string body;
  size_t events = 0;
};

// The people of one post, and their rows for --expect-out.
struct PostPeople {
  std::vector<std::string> ids;   // gmsfhm
  std::vector<std::string> rows;  // the record's JSON text (only with --expect-out)
};

// Posts handed from the producer to the posting threads; bounded, so a
// slow or restarting hub holds the producer back instead of growing memory.
class PostQueue {
 public:
  explicit PostQueue(size_t capacity) : capacity_(capacity) {}

  void push(Post post) {
    std::unique_lock lock(mutex_);
    not_full_.wait(lock, [this] { return posts_.size() < capacity_; });
    posts_.push_back(std::move(post));
    not_empty_.notify_one();
  }
  void close() {
    std::lock_guard lock(mutex_);
    closed_ = true;
    not_empty_.notify_all();
  }
  std::optional<Post> pop() {
    std::unique_lock lock(mutex_);
    not_empty_.wait(lock, [this] { return !posts_.empty() || closed_; });
    if (posts_.empty()) return std::nullopt;
    Post post = std::move(posts_.front());
    posts_.pop_front();
    not_full_.notify_one();
    return post;
  }

 private:
  std::mutex mutex_;
  std::condition_variable not_full_;
  std::condition_variable not_empty_;
  std::deque<Post> posts_;
  size_t capacity_;
  bool closed_ = false;
};

// Results by post index, filled by the posting threads.
class PostResults {
 public:
  void add_slot(std::string post_id, size_t events) {
    std::lock_guard lock(mutex_);
    slots_.push_back({std::move(post_id), events, PostResult{}, false});
  }
  void set(size_t index, PostResult result) {
    std::lock_guard lock(mutex_);
    slots_[index].result = std::move(result);
    slots_[index].done = true;
    done_.notify_all();
  }
  // Until post `index` has its final result (accepted, refused or given up).
  void wait_done(size_t index) {
    std::unique_lock lock(mutex_);
    done_.wait(lock, [&] { return slots_[index].done; });
  }
  struct Slot {
    std::string post_id;
    size_t events = 0;
    PostResult result;
    bool done = false;
  };
  // After the threads are joined.
  const std::deque<Slot>& slots() const { return slots_; }

 private:
  std::mutex mutex_;
  std::condition_variable done_;
  std::deque<Slot> slots_;  // a deque: appending never moves the slots being written
};

Expected<std::vector<PersonRecord>> starting_population(const PushEventsOptions& options) {
  if (!options.household_db.empty()) return load_residents(options.household_db);
  // No table given: the population `household` would make with this seed,
  // built in a scratch file and read back.
  const std::filesystem::path scratch = std::filesystem::temp_directory_path() /
                                        ("dxhub_push_events_" + std::to_string(::getpid()) + ".db");
  HouseholdOptions household;
  household.seed = options.seed;
  household.rows = options.initial_residents;
  household.overwrite = true;
  Status made = generate_household_db(scratch.string(), household);
  Expected<std::vector<PersonRecord>> residents =
      made.is_ok() ? load_residents(scratch.string()) : Expected<std::vector<PersonRecord>>(made);
  std::error_code ec;
  std::filesystem::remove(scratch, ec);
  return residents;
}

int64_t percentile(const std::vector<int64_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  const auto rank = static_cast<size_t>(p * static_cast<double>(sorted.size()) + 0.999999);  // nearest rank
  return sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1];
}

struct Summary {
  size_t posts = 0;
  std::array<int64_t, kEventKindCount> events_by_kind{};
  int64_t events = 0;
  size_t accepted = 0;
  int64_t records_accepted = 0;
  size_t duplicates = 0;
  int64_t retries = 0;
  std::map<std::string, size_t> refused;
  size_t undelivered = 0;
  std::string last_undelivered_error;
  std::vector<int64_t> latencies_ms;  // sorted, accepted posts

  size_t refused_posts() const {
    size_t n = 0;
    for (const auto& [code, count] : refused) n += count;
    return n;
  }
  int exit_code() const {
    if (refused_posts() > 0) return kPushExitRefused;
    if (undelivered > 0) return kPushExitUndelivered;
    return kPushExitOk;
  }
};

Summary summarize(const PostResults& results, const std::array<int64_t, kEventKindCount>& events_by_kind) {
  Summary s;
  s.events_by_kind = events_by_kind;
  for (int64_t n : events_by_kind) s.events += n;
  for (const auto& slot : results.slots()) {
    const PostResult& r = slot.result;
    ++s.posts;
    s.retries += std::max(0, r.attempts - 1);
    switch (r.outcome) {
      case PostOutcome::kAccepted:
        ++s.accepted;
        s.records_accepted += r.accepted;
        if (r.duplicate) ++s.duplicates;
        s.latencies_ms.push_back(r.answered_at_ms - r.sent_at_ms);
        break;
      case PostOutcome::kRefused:
        ++s.refused[r.refusal_code];
        break;
      case PostOutcome::kUndelivered:
        ++s.undelivered;
        s.last_undelivered_error = r.last_error;
        break;
    }
  }
  std::sort(s.latencies_ms.begin(), s.latencies_ms.end());
  return s;
}

void print_summary(const Summary& s, bool as_json) {
  const int64_t p50 = percentile(s.latencies_ms, 0.50);
  const int64_t p99 = percentile(s.latencies_ms, 0.99);
  const int64_t max = s.latencies_ms.empty() ? 0 : s.latencies_ms.back();
  if (as_json) {
    nlohmann::json events = {{"total", s.events}};
    for (size_t k = 0; k < kEventKindCount; ++k) events[event_kind_name(static_cast<EventKind>(k))] = s.events_by_kind[k];
    nlohmann::json refused = nlohmann::json::object();
    for (const auto& [code, count] : s.refused) refused[code] = count;
    const nlohmann::json out = {{"posts", s.posts},
                                {"events", events},
                                {"accepted", s.accepted},
                                {"records_accepted", s.records_accepted},
                                {"duplicates", s.duplicates},
                                {"retries", s.retries},
                                {"refused", refused},
                                {"undelivered", s.undelivered},
                                {"ack_latency_ms", {{"p50", p50}, {"p99", p99}, {"max", max}}},
                                {"exit_code", s.exit_code()}};
    std::printf("%s\n", out.dump().c_str());
  } else {
    std::printf("posts %zu: accepted %zu (duplicates %zu), refused %zu, undelivered %zu; retries %lld\n", s.posts,
                s.accepted, s.duplicates, s.refused_posts(), s.undelivered, static_cast<long long>(s.retries));
    std::printf("events %lld:", static_cast<long long>(s.events));
    for (size_t k = 0; k < kEventKindCount; ++k) {
      std::printf(" %s %lld", event_kind_name(static_cast<EventKind>(k)), static_cast<long long>(s.events_by_kind[k]));
    }
    std::printf("\nrecords accepted %lld\n", static_cast<long long>(s.records_accepted));
    for (const auto& [code, count] : s.refused) std::printf("refused %s: %zu\n", code.c_str(), count);
    std::printf("ack latency ms: p50 %lld, p99 %lld, max %lld\n", static_cast<long long>(p50),
                static_cast<long long>(p99), static_cast<long long>(max));
  }
  std::fflush(stdout);
}

Status write_latencies(const std::string& path, const PostResults& results) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return io_error("cannot write " + path);
  for (const auto& slot : results.slots()) {
    const PostResult& r = slot.result;
    nlohmann::json line = {{"post_id", slot.post_id},
                           {"events", slot.events},
                           {"sent_at_ms", r.sent_at_ms},
                           {"answered_at_ms", r.outcome == PostOutcome::kAccepted ? nlohmann::json(r.answered_at_ms)
                                                                                   : nlohmann::json(nullptr)},
                           {"attempts", r.attempts}};
    out << line.dump() << '\n';
  }
  out.flush();
  return out ? Status::ok() : io_error("cannot write " + path);
}

// One line per person touched: the row of the last ACCEPTED post that
// carried them (posts in the order they were made), which is what the
// province should hold; people whose every post failed are left out.
Status write_expectations(const std::string& path, const PostResults& results, const std::vector<PostPeople>& people) {
  std::vector<std::string> order;  // gmsfhm, first touched first
  std::unordered_map<std::string, const std::string*> last_row;
  for (size_t i = 0; i < people.size(); ++i) {
    if (results.slots()[i].result.outcome != PostOutcome::kAccepted) continue;
    for (size_t r = 0; r < people[i].ids.size(); ++r) {
      auto [it, fresh] = last_row.try_emplace(people[i].ids[r], &people[i].rows[r]);
      if (fresh) order.push_back(people[i].ids[r]);
      else it->second = &people[i].rows[r];
    }
  }
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return io_error("cannot write " + path);
  for (const std::string& id : order) out << *last_row.at(id) << '\n';
  out.flush();
  return out ? Status::ok() : io_error("cannot write " + path);
}

}  // namespace

int push_events(const PushEventsOptions& options, const std::string& secret) {
  auto fail = [](const std::string& message, int code) {
    std::fprintf(stderr, "dxhub-sample push-events: %s\n", message.c_str());
    return code;
  };
  if (options.records_per_post < 1) return fail("--records-per-post must be at least 1", kPushExitBadArguments);
  if (options.concurrency < 1 || options.concurrency > 256) {
    return fail("--concurrency must be 1-256", kPushExitBadArguments);
  }
  if (options.rate < 0) return fail("--rate must not be negative", kPushExitBadArguments);
  if (options.max_attempts < 1) return fail("--max-attempts must be at least 1", kPushExitBadArguments);
  const std::string prefix =
      options.post_id_prefix.empty() ? "push-" + protocol::random_hex(6) : options.post_id_prefix;
  if (!is_url_safe_token(prefix) || prefix.size() > 100) {
    return fail("--post-id-prefix must be [A-Za-z0-9._-]{1,100}", kPushExitBadArguments);
  }

  std::vector<IngestClient> clients;
  for (int i = 0; i < options.concurrency; ++i) {
    IngestClientOptions client_options;
    client_options.base_url = options.url;
    client_options.app_key = options.app_key;
    client_options.secret = secret;
    client_options.resource = options.resource;
    client_options.max_attempts = options.max_attempts;
    auto client = IngestClient::create(std::move(client_options));
    if (!client) return fail(client.status().to_string(), kPushExitBadArguments);
    clients.push_back(std::move(*client));
  }
  auto residents = starting_population(options);
  if (!residents) return fail(residents.status().to_string(), kPushExitBadArguments);
  PopulationEventGenerator generator(options.seed, std::move(*residents));

  PostQueue queue(static_cast<size_t>(options.concurrency) * 2);
  PostResults results;
  std::vector<std::thread> workers;
  for (IngestClient& client : clients) {
    workers.emplace_back([&queue, &results, &client] {
      while (std::optional<Post> post = queue.pop()) results.set(post->index, client.post(post->post_id, post->body));
    });
  }

  // The producer: events at their due times (start + n / rate), K per post.
  const bool timed = options.seconds > 0;
  const int64_t total_events = timed ? -1 : (options.events >= 0 ? options.events : 100);
  const auto start = SteadyClock::now();
  const auto deadline = start + std::chrono::duration_cast<SteadyClock::duration>(std::chrono::duration<double>(
                                    timed ? options.seconds : 0.0));
  std::array<int64_t, kEventKindCount> events_by_kind{};
  std::vector<PostPeople> people;
  nlohmann::json records = nlohmann::json::array();
  PostPeople current_people;
  // A person's posts reach the hub one after another: a post waits for the
  // earlier post of any of its people to finish, so connections posting at
  // once never reorder one person's changes (and --expect-out is exact).
  std::unordered_map<std::string, size_t> last_post_of;
  Status failure;
  size_t post_index = 0;
  auto flush = [&] {
    if (records.empty()) return;
    for (const std::string& id : current_people.ids) {
      auto [it, fresh] = last_post_of.try_emplace(id, post_index);
      if (!fresh && it->second != post_index) {  // (twice in this post: its order is the records')
        results.wait_done(it->second);
        it->second = post_index;
      }
    }
    char suffix[24];
    std::snprintf(suffix, sizeof suffix, "-%06zu", post_index);
    Post post;
    post.index = post_index++;
    post.post_id = prefix + suffix;
    post.events = records.size();
    post.body = nlohmann::json{{"records", std::move(records)}}.dump();
    records = nlohmann::json::array();
    if (!options.expect_out.empty()) people.push_back(std::move(current_people));
    current_people = PostPeople{};
    results.add_slot(post.post_id, post.events);
    queue.push(std::move(post));
  };
  for (int64_t n = 0; total_events < 0 || n < total_events; ++n) {
    if (options.rate > 0) {
      const auto due = start + std::chrono::duration_cast<SteadyClock::duration>(
                                   std::chrono::duration<double>(static_cast<double>(n) / options.rate));
      if (timed && due >= deadline) break;
      std::this_thread::sleep_until(due);
    } else if (timed && SteadyClock::now() >= deadline) {
      break;
    }
    auto event = generator.next(shanghai_now());
    if (!event) {
      failure = event.status();
      break;
    }
    ++events_by_kind[static_cast<size_t>(event->kind)];
    nlohmann::json row = event->record.to_json();
    current_people.ids.push_back(event->record.gmsfhm);
    if (!options.expect_out.empty()) current_people.rows.push_back(row.dump());
    records.push_back(std::move(row));
    if (records.size() >= static_cast<size_t>(options.records_per_post)) flush();
  }
  flush();
  queue.close();
  for (std::thread& worker : workers) worker.join();
  if (!failure.is_ok()) return fail(failure.to_string(), 1);

  const Summary summary = summarize(results, events_by_kind);
  if (!options.latency_out.empty()) {
    if (Status s = write_latencies(options.latency_out, results); !s.is_ok()) return fail(s.to_string(), 1);
  }
  if (!options.expect_out.empty()) {
    if (Status s = write_expectations(options.expect_out, results, people); !s.is_ok()) return fail(s.to_string(), 1);
  }
  print_summary(summary, options.json);
  if (summary.undelivered > 0) {
    std::fprintf(stderr, "dxhub-sample push-events: %zu posts undelivered after %d attempts; last error: %s\n",
                 summary.undelivered, options.max_attempts, summary.last_undelivered_error.c_str());
  }
  return summary.exit_code();
}

int run_push_events_command(int argc, char** argv) {
  PushEventsOptions options;
  CLI::App app{"post household-registration change events to the hub's push-ingest endpoint", "push-events"};
  app.add_option("--url", options.url, "the hub's endpoint base, http://127.0.0.1:PORT")->required();
  app.add_option("--app-key", options.app_key, "the app key the hub knows this source by")->required();
  app.add_option("--secret-env", options.secret_env, "environment variable holding the app secret")
      ->capture_default_str();
  app.add_option("--resource", options.resource, "resource to post to")->capture_default_str();
  app.add_option("--household-db", options.household_db,
                 "a table made by `dxhub-sample household`: events refer to its residents");
  app.add_option("--initial-residents", options.initial_residents,
                 "without --household-db: the size of the generated population")
      ->capture_default_str()->check(CLI::NonNegativeNumber);
  auto* events = app.add_option("--events", options.events, "number of events (default 100)")
                     ->check(CLI::NonNegativeNumber);
  auto* seconds = app.add_option("--seconds", options.seconds, "generate events for this long instead")
                      ->check(CLI::PositiveNumber);
  events->excludes(seconds);
  app.add_option("--rate", options.rate, "events per second, 0 = as fast as possible")
      ->capture_default_str()->check(CLI::NonNegativeNumber);
  app.add_option("--records-per-post", options.records_per_post, "events per post")
      ->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--concurrency", options.concurrency, "connections posting at once")
      ->capture_default_str()->check(CLI::Range(1, 256));
  app.add_option("--max-attempts", options.max_attempts, "attempts per post on 429/5xx/transport errors")
      ->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--seed", options.seed, "random seed (same seed, same events)")->capture_default_str();
  app.add_option("--post-id-prefix", options.post_id_prefix, "post ids are PREFIX-000000, ... (default: random)");
  app.add_option("--expect-out", options.expect_out, "JSON lines: each person's last accepted row");
  app.add_option("--latency-out", options.latency_out, "JSON lines: one per post with its timings");
  app.add_flag("--json", options.json, "the summary as JSON");
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {  // --help
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kPushExitBadArguments;
  }
  const char* secret = std::getenv(options.secret_env.c_str());
  if (secret == nullptr || *secret == '\0') {
    std::fprintf(stderr, "dxhub-sample push-events: the environment variable %s (the app secret) is not set\n",
                 options.secret_env.c_str());
    return kPushExitBadArguments;
  }
  return push_events(options, secret);
}

}  // namespace dxhub::sample
