// The push-events client against a real local server (core/http's
// HttpServer) that verifies signatures as the hub's endpoint will, fails
// some first attempts with 503, drops some connections and loses some
// answers: every post must be accepted exactly once, retried with the same
// post id and body and a fresh nonce; refusals are final.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/http/fault_injector.h"
#include "core/http/http_handler.h"
#include "core/http/http_server.h"
#include "core/http/request_auth.h"
#include "core/protocol/signing.h"
#include "sandbox/sample/ingest_client.h"

namespace dxhub::sample {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kAppKey = "daye-gongan";
constexpr const char* kSecret = "test-secret-0123456789";
constexpr const char* kPath = "/api/v1/ingest/household_population";

std::string header_of(const http::HttpRequest& request, const char* name) {
  auto it = request.find(name);
  return it == request.end() ? std::string() : std::string(it->value());
}

// What the hub's endpoint will do, reduced to what the client relies on.
class FakeIngestHandler final : public http::HttpHandler {
 public:
  struct Attempt {
    std::string post_id;
    std::string nonce;
    std::string body;
  };

  FakeIngestHandler() : auth_({{kAppKey, http::AppCredential{kSecret, {protocol::SignatureMethod::kHmacSha256}}}}) {}

  http::HeaderVerdict on_header(const http::HttpRequest& header) override {
    http::HeaderVerdict verdict;
    const std::string target(header.target());
    if (!target.starts_with(std::string(kPath) + "?post_id=") || header.method() != boost::beast::http::verb::post) {
      verdict.refusal = http::error_response({404, "NOT_FOUND", "no such route"});
      return verdict;
    }
    const std::string app_key = header_of(header, protocol::kHeaderAppKey);
    const std::string timestamp = header_of(header, protocol::kHeaderTimestamp);
    const std::string nonce = header_of(header, protocol::kHeaderNonce);
    const std::string method = header_of(header, protocol::kHeaderSignatureMethod);
    const std::string digest = header_of(header, protocol::kHeaderContentDigest);
    const std::string signature = header_of(header, protocol::kHeaderSignature);
    http::SignedHeaders signed_headers{app_key, timestamp, nonce, method, digest, signature, {}};
    http::RequestAuthenticator::VerifiedHeader verified;
    std::lock_guard lock(mutex_);
    if (auto refusal = auth_.verify_header("POST", target, signed_headers, protocol::now_ms(), verified)) {
      ++auth_refusals_;
      verdict.refusal = http::error_response(*refusal);
      return verdict;
    }
    verdict.app_key = verified.app_key;
    verdict.verified = std::move(verified);
    verdict.faultable = true;
    return verdict;
  }

  http::HandledRequest handle(const http::HttpRequest& request, const http::HeaderVerdict& verdict) override {
    http::HandledRequest handled;
    handled.app_key = verdict.app_key;
    if (auto refusal = http::RequestAuthenticator::verify_body(*verdict.verified, request.body())) {
      handled.response = http::error_response(*refusal);
      return handled;
    }
    const std::string target(request.target());
    const std::string post_id = target.substr(target.find("post_id=") + 8);
    const std::string nonce = header_of(request, protocol::kHeaderNonce);
    std::lock_guard lock(mutex_);
    attempts_.push_back({post_id, nonce, request.body()});
    const int seen = ++attempts_by_post_[post_id];
    if (post_id.find("conflict") != std::string::npos) {
      handled.response = http::error_response({409, "POST_ID_REUSED", "post id reused with another body"});
      return handled;
    }
    if (post_id.find("invalid") != std::string::npos) {
      auto response = http::error_response({422, "INVALID_RECORDS", "records do not map"});
      handled.response = response;
      return handled;
    }
    // Every third post fails its first attempt.
    if (seen == 1 && std::hash<std::string>{}(post_id) % 3 == 0) {
      handled.response = http::error_response({503, "UNAVAILABLE", "busy"});
      return handled;
    }
    const json body = json::parse(request.body(), nullptr, false);
    if (!body.is_object() || !body.contains("records") || !body["records"].is_array()) {
      handled.response = http::error_response({422, "INVALID_RECORDS", "no records array"});
      return handled;
    }
    auto [it, fresh] = accepted_.try_emplace(post_id, request.body());
    if (!fresh && it->second != request.body()) {
      handled.response = http::error_response({409, "POST_ID_REUSED", "post id reused with another body"});
      return handled;
    }
    if (fresh) {
      for (const auto& record : body["records"]) latest_[record["gmsfhm"].get<std::string>()] = record;
    }
    handled.response = http::ok_response({{"resource", "household_population"},
                                          {"accepted", body["records"].size()},
                                          {"staged_id", "s-" + post_id},
                                          {"duplicate", !fresh}});
    return handled;
  }

  std::vector<Attempt> attempts() const {
    std::lock_guard lock(mutex_);
    return attempts_;
  }
  std::map<std::string, std::string> accepted() const {
    std::lock_guard lock(mutex_);
    return accepted_;
  }
  std::map<std::string, json> latest() const {
    std::lock_guard lock(mutex_);
    return latest_;
  }
  int auth_refusals() const {
    std::lock_guard lock(mutex_);
    return auth_refusals_;
  }

 private:
  mutable std::mutex mutex_;
  http::RequestAuthenticator auth_;
  std::vector<Attempt> attempts_;
  std::map<std::string, int> attempts_by_post_;
  std::map<std::string, std::string> accepted_;  // post id -> body
  std::map<std::string, json> latest_;           // gmsfhm -> last record accepted
  int auth_refusals_ = 0;
};

class SampleIngestClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    http::FaultSettings faults;
    faults.drop = 0.08;           // connection closed after the header
    faults.lose_response = 0.08;  // handled and stored, answer never sent
    faults_.set(faults);
    http::HttpServerOptions options;
    options.log_name = "ingest-test";
    options.threads = 2;
    server_ = std::make_unique<http::HttpServer>(handler_, faults_, options);
    ASSERT_TRUE(server_->start("127.0.0.1", 0).is_ok());
    port_ = server_->port();
    dir_ = fs::temp_directory_path() / ("dxhub_ingest_client_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    server_->stop();
    fs::remove_all(dir_);
  }

  IngestClientOptions client_options(std::string secret = kSecret) const {
    IngestClientOptions o;
    o.base_url = "http://127.0.0.1:" + std::to_string(port_);
    o.app_key = kAppKey;
    o.secret = std::move(secret);
    o.first_backoff = std::chrono::milliseconds(5);
    o.max_backoff = std::chrono::milliseconds(50);
    o.request_timeout_ms = 5000;
    return o;
  }

  // Runs dxhub-sample with a bounded wall time; returns its exit code.
  int run_cli(const std::string& args, const std::string& env = std::string("DXHUB_INGEST_SECRET=") + kSecret) {
    const std::string command = env + " timeout 120 " + std::string(DXHUB_BINARY_DIR) + "/bin/dxhub-sample " + args +
                                " >" + (dir_ / "stdout").string() + " 2>" + (dir_ / "stderr").string();
    // Not std::system: the child must not inherit the server's listening
    // socket (asio opens it without close-on-exec), or a restarted server
    // could not bind its port again while the child runs.
    const pid_t pid = ::fork();
    if (pid == 0) {
      for (int fd = 3; fd < 1024; ++fd) ::close(fd);
      ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    int status = 0;
    if (pid < 0 || ::waitpid(pid, &status, 0) != pid) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::string read(const std::string& name) const {
    std::ifstream in(dir_ / name);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  std::vector<json> read_lines(const std::string& name) const {
    std::vector<json> out;
    std::ifstream in(dir_ / name);
    for (std::string line; std::getline(in, line);) out.push_back(json::parse(line));
    return out;
  }

  // Every attempt at a post carried the same body, each with its own nonce.
  void expect_retries_were_faithful() const {
    std::map<std::string, std::string> body_of;
    std::set<std::string> nonces;
    for (const auto& attempt : handler_.attempts()) {
      auto [it, fresh] = body_of.try_emplace(attempt.post_id, attempt.body);
      if (!fresh) {
        EXPECT_EQ(it->second, attempt.body) << "a retry changed the body of " << attempt.post_id;
      }
      EXPECT_TRUE(nonces.insert(attempt.nonce).second) << "a nonce was reused";
    }
  }

  FakeIngestHandler handler_;
  http::FaultInjector faults_{http::FaultSettings{}, 7};
  std::unique_ptr<http::HttpServer> server_;
  uint16_t port_ = 0;
  fs::path dir_;
};

std::string body_with(int n) {
  json records = json::array();
  for (int i = 0; i < n; ++i) records.push_back({{"gmsfhm", "id-" + std::to_string(i)}, {"ryzt", "1"}});
  return json{{"records", records}}.dump();
}

TEST_F(SampleIngestClientTest, EveryPostIsAcceptedOnceDespiteFaults) {
  auto client = IngestClient::create(client_options());
  ASSERT_TRUE(client.has_value()) << client.status().to_string();
  int retried = 0;
  for (int i = 0; i < 60; ++i) {
    const std::string post_id = "p-" + std::to_string(i);
    const PostResult r = client->post(post_id, body_with(1 + i % 3));
    ASSERT_EQ(r.outcome, PostOutcome::kAccepted) << post_id << ": " << r.last_error;
    EXPECT_EQ(r.accepted, 1 + i % 3);
    EXPECT_GE(r.answered_at_ms, r.sent_at_ms);
    if (r.attempts > 1) ++retried;
  }
  EXPECT_GT(retried, 10);  // the 503s alone are about a third
  EXPECT_EQ(handler_.accepted().size(), 60u);
  expect_retries_were_faithful();
  // The same post again is a duplicate, and a success.
  faults_.set({});
  const PostResult again = client->post("p-0", body_with(1));
  EXPECT_EQ(again.outcome, PostOutcome::kAccepted);
  EXPECT_TRUE(again.duplicate);
  EXPECT_EQ(handler_.accepted().size(), 60u);
}

TEST_F(SampleIngestClientTest, RefusalsAreFinal) {
  faults_.set({});
  auto client = IngestClient::create(client_options());
  ASSERT_TRUE(client.has_value());
  const PostResult conflict = client->post("p-conflict", body_with(1));
  EXPECT_EQ(conflict.outcome, PostOutcome::kRefused);
  EXPECT_EQ(conflict.refusal_code, "POST_ID_REUSED");
  EXPECT_EQ(conflict.http_status, 409u);
  EXPECT_EQ(conflict.attempts, 1);
  const PostResult invalid = client->post("p-invalid", body_with(2));
  EXPECT_EQ(invalid.outcome, PostOutcome::kRefused);
  EXPECT_EQ(invalid.refusal_code, "INVALID_RECORDS");
  EXPECT_EQ(invalid.attempts, 1);
  EXPECT_EQ(handler_.attempts().size(), 2u);  // neither was retried
}

TEST_F(SampleIngestClientTest, BadSecretIsRefusedWith401) {
  faults_.set({});
  auto client = IngestClient::create(client_options("not-the-secret"));
  ASSERT_TRUE(client.has_value());
  const PostResult r = client->post("p-1", body_with(1));
  EXPECT_EQ(r.outcome, PostOutcome::kRefused);
  EXPECT_EQ(r.http_status, 401u);
  EXPECT_FALSE(r.refusal_code.empty());
  EXPECT_EQ(r.attempts, 1);
  EXPECT_EQ(handler_.auth_refusals(), 1);
  EXPECT_TRUE(handler_.accepted().empty());
}

TEST_F(SampleIngestClientTest, GivesUpAfterMaxAttemptsWhenNobodyListens) {
  const uint16_t port = port_;
  server_->stop();
  IngestClientOptions o = client_options();
  o.base_url = "http://127.0.0.1:" + std::to_string(port);
  o.max_attempts = 3;
  auto client = IngestClient::create(o);
  ASSERT_TRUE(client.has_value());
  const PostResult r = client->post("p-1", body_with(1));
  EXPECT_EQ(r.outcome, PostOutcome::kUndelivered);
  EXPECT_EQ(r.attempts, 3);
  EXPECT_FALSE(r.last_error.empty());
}

TEST_F(SampleIngestClientTest, RejectsUnsafeNames) {
  IngestClientOptions o = client_options();
  o.resource = "../admin";
  EXPECT_FALSE(IngestClient::create(o).has_value());
  o = client_options();
  o.base_url = "ftp://127.0.0.1";
  EXPECT_FALSE(IngestClient::create(o).has_value());
  auto client = IngestClient::create(client_options());
  ASSERT_TRUE(client.has_value());
  EXPECT_EQ(client->post("a b&c", body_with(1)).outcome, PostOutcome::kRefused);
  EXPECT_EQ(client->target_for("x-1"), "/api/v1/ingest/household_population?post_id=x-1");
}

TEST_F(SampleIngestClientTest, CliPushesEventsConcurrentlyAndWritesExpectations) {
  const int rc = run_cli("push-events --url " + url() + " --app-key " + kAppKey +
                         " --events 200 --records-per-post 3 --concurrency 4 --seed 7 --post-id-prefix cli"
                         " --initial-residents 500 --expect-out " + (dir_ / "expect.jsonl").string() +
                         " --latency-out " + (dir_ / "latency.jsonl").string() + " --json");
  ASSERT_EQ(rc, 0) << read("stderr");
  const json summary = json::parse(read("stdout"));
  EXPECT_EQ(summary["posts"], 67);
  EXPECT_EQ(summary["accepted"], 67);
  EXPECT_EQ(summary["events"]["total"], 200);
  EXPECT_EQ(summary["records_accepted"], 200);
  EXPECT_EQ(summary["undelivered"], 0);
  EXPECT_TRUE(summary["refused"].empty());
  EXPECT_GT(summary["retries"].get<int>(), 0);
  EXPECT_EQ(handler_.accepted().size(), 67u);
  expect_retries_were_faithful();

  const auto latencies = read_lines("latency.jsonl");
  ASSERT_EQ(latencies.size(), 67u);
  for (const auto& line : latencies) {
    EXPECT_TRUE(line["post_id"].get<std::string>().starts_with("cli-"));
    EXPECT_GE(line["answered_at_ms"].get<int64_t>(), line["sent_at_ms"].get<int64_t>());
    EXPECT_GE(line["attempts"].get<int>(), 1);
  }
  // Each person's expected row is the last one the server took for them:
  // even with four connections, one person's posts arrive in order.
  const auto expectations = read_lines("expect.jsonl");
  const auto latest = handler_.latest();
  EXPECT_EQ(expectations.size(), latest.size());
  for (const auto& expected : expectations) {
    const std::string id = expected["gmsfhm"].get<std::string>();
    ASSERT_TRUE(latest.count(id));
    EXPECT_EQ(latest.at(id), expected);
  }
  std::map<std::string, int> touches;
  int touched_again = 0;
  for (const auto& [post_id, body] : handler_.accepted()) {
    const json parsed = json::parse(body);  // (a temporary's ["records"] would not outlive the loop's start)
    for (const auto& record : parsed["records"]) {
      if (++touches[record["gmsfhm"].get<std::string>()] == 2) ++touched_again;
    }
  }
  EXPECT_GT(touched_again, 0) << "no one was touched twice: the order check above proved nothing";
  // Nothing personal on stdout or stderr.
  for (const auto& expected : expectations) {
    EXPECT_EQ(read("stdout").find(expected["gmsfhm"].get<std::string>()), std::string::npos);
    EXPECT_EQ(read("stderr").find(expected["gmsfhm"].get<std::string>()), std::string::npos);
  }
}

TEST_F(SampleIngestClientTest, CliSurvivesAHubRestart) {
  faults_.set({});
  int rc = -1;
  std::thread cli([&] {
    rc = run_cli("push-events --url " + url() + " --app-key " + kAppKey +
                 " --events 150 --rate 150 --concurrency 2 --seed 3 --post-id-prefix restart --initial-residents 300"
                 " --json");
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  server_->stop();
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  // A new server on the same port with the same store behind it.
  http::HttpServerOptions options;
  options.threads = 2;
  server_ = std::make_unique<http::HttpServer>(handler_, faults_, options);
  Status started = server_->start("127.0.0.1", port_);
  for (int i = 0; i < 50 && !started.is_ok(); ++i) {  // the port may linger a moment
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    server_ = std::make_unique<http::HttpServer>(handler_, faults_, options);
    started = server_->start("127.0.0.1", port_);
  }
  cli.join();
  ASSERT_TRUE(started.is_ok()) << started.to_string();
  ASSERT_EQ(rc, 0) << read("stderr");
  const json summary = json::parse(read("stdout"));
  EXPECT_EQ(summary["accepted"], 150);
  EXPECT_GT(summary["retries"].get<int>(), 0);
  EXPECT_EQ(handler_.accepted().size(), 150u);
  expect_retries_were_faithful();
}

TEST_F(SampleIngestClientTest, CliPacesAtTheRate) {
  faults_.set({});
  const std::string base = "push-events --url " + url() + " --app-key " + kAppKey + " --initial-residents 200 --json";
  auto started = std::chrono::steady_clock::now();
  ASSERT_EQ(run_cli(base + " --events 40 --rate 50 --latency-out " + (dir_ / "latency.jsonl").string()), 0)
      << read("stderr");
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_GE(took, std::chrono::milliseconds(700));  // 40 events at 50/s: the last is due at 0.78 s
  const auto latencies = read_lines("latency.jsonl");
  ASSERT_EQ(latencies.size(), 40u);
  const int64_t spread = latencies.back()["sent_at_ms"].get<int64_t>() - latencies.front()["sent_at_ms"].get<int64_t>();
  EXPECT_GE(spread, 700);
  EXPECT_LE(spread, 5000);

  // --seconds with a rate: about rate x seconds events.
  ASSERT_EQ(run_cli(base + " --seconds 0.5 --rate 40"), 0) << read("stderr");
  const json summary = json::parse(read("stdout"));
  EXPECT_EQ(summary["events"]["total"], 20);
  EXPECT_EQ(summary["accepted"], 20);
}

TEST_F(SampleIngestClientTest, CliExitCodes) {
  faults_.set({});
  const std::string base = "push-events --url " + url() + " --app-key " + kAppKey + " --initial-residents 200";
  EXPECT_EQ(run_cli(base + " --events 3 --json", "DXHUB_INGEST_SECRET=wrong"), 5);
  EXPECT_EQ(json::parse(read("stdout"))["refused"].size(), 1u);
  EXPECT_EQ(read("stdout").find("wrong"), std::string::npos);
  EXPECT_EQ(run_cli(base + " --events 3", "env -u DXHUB_INGEST_SECRET"), 2);  // no secret
  EXPECT_EQ(run_cli(base + " --events 3 --secret-env DXHUB_OTHER_SECRET",
                    std::string("DXHUB_OTHER_SECRET=") + kSecret), 0);
  EXPECT_EQ(run_cli(base + " --events 3 --post-id-prefix conflict"), 5);
  EXPECT_EQ(run_cli(base + " --concurrency 0"), 2);
  EXPECT_EQ(run_cli(base + " --events 3 --seconds 2"), 2);
  EXPECT_EQ(run_cli("push-events --app-key k"), 2);  // --url missing
  EXPECT_EQ(run_cli(base + " --household-db " + (dir_ / "missing.db").string()), 2);
  const uint16_t port = port_;
  server_->stop();
  EXPECT_EQ(run_cli("push-events --url http://127.0.0.1:" + std::to_string(port) + " --app-key " + kAppKey +
                    " --events 2 --max-attempts 2 --initial-residents 100"),
            4);
  EXPECT_EQ(run_cli("push-events --help"), 0);
}

}  // namespace
}  // namespace dxhub::sample
