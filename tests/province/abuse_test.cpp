// The province endpoint under abuse: authentication before the body,
// drip-feeding clients cut off by the header and request deadlines while a
// normal client is served, the connection cap, and an access log free of
// query values and secrets.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <memory>
#include <sstream>
#include <thread>
#include <vector>

#include "core/protocol/signing.h"
#include "sandbox/province/province_server.h"
#include "tests/province/avro_c_files.h"
#include "tests/province/test_client.h"

namespace dxhub::province {
namespace {

namespace fs = std::filesystem;
namespace http = boost::beast::http;
using testing::Signing;
using testing::TestClient;
using Clock = std::chrono::steady_clock;

constexpr const char* kResource = "household_person";
const std::string kBase = std::string("/api/v1/resources/") + kResource;

long ms_since(Clock::time_point t) {
  return static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count());
}

// A signed request head, written by hand to control what follows it.
std::string signed_head(const std::string& method, const std::string& target, const std::string& body,
                        size_t content_length, const std::string& extra = {}) {
  int64_t ts = protocol::now_ms();
  std::string nonce = protocol::random_hex();
  std::string digest = protocol::sha256_hex(body);
  std::string signature = protocol::sign(protocol::SignatureMethod::kHmacSha256, testing::kTestSecret,
                                         protocol::string_to_sign(method, target, ts, nonce, digest));
  return method + " " + target + " HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(content_length) +
         "\r\n" + protocol::kHeaderAppKey + ": " + testing::kTestAppKey + "\r\n" + protocol::kHeaderTimestamp +
         ": " + std::to_string(ts) + "\r\n" + protocol::kHeaderNonce + ": " + nonce + "\r\n" +
         protocol::kHeaderSignatureMethod + ": HMAC-SHA256\r\n" + protocol::kHeaderContentDigest + ": " + digest +
         "\r\n" + protocol::kHeaderSignature + ": " + signature + "\r\n" + extra + "\r\n";
}

// A plain blocking socket to 127.0.0.1, for many cheap connections.
class RawSocket {
 public:
  explicit RawSocket(uint16_t port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = fd_ >= 0 && ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~RawSocket() {
    if (fd_ >= 0) ::close(fd_);
  }
  RawSocket(const RawSocket&) = delete;
  RawSocket& operator=(const RawSocket&) = delete;

  bool connected() const { return connected_; }
  bool send_all(std::string_view bytes) {
    while (!bytes.empty()) {
      ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }
  // True once the server has closed (or reset) the connection; never blocks.
  bool closed_by_peer() {
    char c;
    ssize_t n = ::recv(fd_, &c, 1, MSG_DONTWAIT | MSG_PEEK);
    if (n == 0) return true;
    if (n < 0) return errno != EAGAIN && errno != EWOULDBLOCK;
    // Data (an answer) pending: read it away and look again next time.
    char sink[4096];
    ssize_t ignored = ::recv(fd_, sink, sizeof sink, MSG_DONTWAIT);
    (void)ignored;
    return false;
  }

 private:
  int fd_;
  bool connected_ = false;
};

class AbuseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::path(::testing::TempDir()) / ("abuse_" + std::string(info->name()) + "_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    server_.reset();
    fs::remove_all(dir_);
  }

  ProvinceConfig base_config() {
    ProvinceConfig config;
    config.db_path = (dir_ / "province.db").string();
    config.credentials[testing::kTestAppKey].secret = testing::kTestSecret;
    return config;
  }

  void start(ProvinceConfig config) {
    server_ = std::make_unique<ProvinceServer>(std::move(config));
    Status s = server_->start();
    ASSERT_TRUE(s.is_ok()) << s.to_string();
  }

  // Polls (bounded) until the server counts `n` open connections.
  bool wait_for_open_connections(size_t n) {
    for (int i = 0; i < 500; ++i) {
      if (server_->open_connections() == n) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }

  fs::path dir_;
  std::unique_ptr<ProvinceServer> server_;
};

TEST_F(AbuseTest, UnauthenticatedBodyIsRefusedFromTheHeaderWithoutWaitingForTheBody) {
  start(base_config());
  const std::string target = kBase + "/batches";
  // 100 MB announced, never sent: an answer can only come from the header.
  const std::string big = "Content-Type: application/avro\r\n";
  {
    TestClient client(server_->port());
    std::string answer = client.raw_exchange("POST " + target +
                                             " HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n" + big +
                                             "\r\nsome of the body");
    EXPECT_EQ(answer.rfind("HTTP/1.1 401", 0), 0u) << answer;
    EXPECT_NE(answer.find("AUTH_MISSING"), std::string::npos) << answer;
    EXPECT_NE(answer.find("Connection: close"), std::string::npos) << answer;
  }
  {
    // A bad signature, with "Expect: 100-continue": refused, never told to continue.
    std::string head = signed_head("POST", target, "x", 100'000'000, big + "Expect: 100-continue\r\n");
    head.replace(head.find(std::string(protocol::kHeaderSignature) + ": ") +
                     std::string(protocol::kHeaderSignature).size() + 2,
                 1, "Z");
    TestClient client(server_->port());
    std::string answer = client.raw_exchange(head);
    EXPECT_EQ(answer.rfind("HTTP/1.1 401", 0), 0u) << answer;
    EXPECT_NE(answer.find("BAD_SIGNATURE"), std::string::npos) << answer;
    EXPECT_EQ(answer.find("100 Continue"), std::string::npos) << answer;
  }
  {
    // A genuine header is told to continue (and then waits for its body).
    TestClient client(server_->port(), std::chrono::milliseconds(2000));
    ASSERT_TRUE(client.send_raw(signed_head("POST", target, "x", 1, big + "Expect: 100-continue\r\n")));
    std::string answer = client.read_until_close();
    EXPECT_EQ(answer.rfind("HTTP/1.1 100 Continue", 0), 0u) << answer;
  }
  // A refused GET without a body keeps its connection; /healthz needs no auth.
  TestClient client(server_->port());
  Signing bad;
  bad.tamper_signature = true;
  auto r = client.get(kBase, bad);
  EXPECT_EQ(r.status, 401u) << describe(r);
  EXPECT_TRUE(client.connected());
  r = client.request(http::verb::get, "/healthz");
  EXPECT_TRUE(r.ok()) << describe(r);
}

TEST_F(AbuseTest, DrippingClientsAreCutOffAndANormalClientIsServedMeanwhile) {
  ProvinceConfig config = base_config();
  config.header_timeout = std::chrono::milliseconds(300);
  config.request_timeout = std::chrono::milliseconds(1000);
  config.io_timeout = std::chrono::milliseconds(5000);  // longer: the request deadline must be what cuts
  start(config);
  constexpr int kHeaderDrippers = 100;
  constexpr int kBodyDrippers = 100;
  const std::string body = R"({"schema":)" + nlohmann::json(testing::person_schema_json()).dump() +
                           R"(,"primary_key":"id"})";

  const auto begin = Clock::now();
  std::vector<std::unique_ptr<RawSocket>> drippers;
  for (int i = 0; i < kHeaderDrippers + kBodyDrippers; ++i) {
    drippers.push_back(std::make_unique<RawSocket>(server_->port()));
    ASSERT_TRUE(drippers.back()->connected()) << i;
    // Header drippers start a header and never finish it; body drippers send
    // a genuine signed header, then their body a byte at a time.
    std::string start = i < kHeaderDrippers ? "POST " + kBase + "/schemas HTTP/1.1\r\nHost: x\r\nX-Slow: "
                                            : signed_head("POST", kBase + "/schemas", body, body.size());
    ASSERT_TRUE(drippers.back()->send_all(start));
  }

  std::vector<long> closed_after_ms(drippers.size(), -1);
  std::atomic<bool> dripping{true};
  std::thread drip([&] {
    // Bounded: 10 s at most, a byte per socket every 50 ms.
    for (int round = 0; round < 200 && dripping; ++round) {
      size_t open = 0;
      for (size_t i = 0; i < drippers.size(); ++i) {
        if (closed_after_ms[i] >= 0) continue;
        if (drippers[i]->closed_by_peer() ||
            !drippers[i]->send_all(i < kHeaderDrippers ? std::string_view("a") : std::string_view(" "))) {
          closed_after_ms[i] = ms_since(begin);
        } else {
          ++open;
        }
      }
      if (open == 0) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });

  // Meanwhile a normal signed client (connect + request), a few times.
  long worst_us = 0;
  for (int i = 0; i < 5; ++i) {
    auto before = Clock::now();
    TestClient client(server_->port());
    auto r = client.get(kBase + "/batches");
    auto took = Clock::now() - before;
    worst_us = std::max(worst_us, static_cast<long>(std::chrono::duration_cast<std::chrono::microseconds>(took).count()));
    EXPECT_TRUE(r.ok()) << describe(r);
    EXPECT_LT(took, std::chrono::seconds(5)) << "a normal client waited behind the drippers";
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  drip.join();
  dripping = false;

  long header_max = 0, body_min = 1 << 30, body_max = 0;
  for (size_t i = 0; i < drippers.size(); ++i) {
    ASSERT_GE(closed_after_ms[i], 0) << "dripper " << i << " was never cut off";
    if (i < kHeaderDrippers) {
      EXPECT_GE(closed_after_ms[i], 300);  // not before its header deadline
      header_max = std::max(header_max, closed_after_ms[i]);
    } else {
      EXPECT_GE(closed_after_ms[i], 1000);  // a genuine header: the request deadline cut it
      body_min = std::min(body_min, closed_after_ms[i]);
      body_max = std::max(body_max, closed_after_ms[i]);
    }
  }
  std::printf("[ measure  ] %d+%d drippers: normal signed GET worst %ld us; header drippers cut by %ld ms "
              "(deadline 300), body drippers cut at %ld..%ld ms (deadline 1000)\n",
              kHeaderDrippers, kBodyDrippers, worst_us, header_max, body_min, body_max);
  RecordProperty("normal_client_worst_us", std::to_string(worst_us));
  EXPECT_TRUE(wait_for_open_connections(0));
}

TEST_F(AbuseTest, ConnectionCapRefusesTheNextConnection) {
  ProvinceConfig config = base_config();
  config.max_connections = 4;
  start(config);
  std::vector<std::unique_ptr<TestClient>> held;
  for (int i = 0; i < 4; ++i) held.push_back(std::make_unique<TestClient>(server_->port()));
  ASSERT_TRUE(wait_for_open_connections(4));
  {
    TestClient fifth(server_->port());
    std::string answer = fifth.raw_exchange("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_EQ(answer.rfind("HTTP/1.1 503", 0), 0u) << answer;
    EXPECT_NE(answer.find("TOO_MANY_CONNECTIONS"), std::string::npos) << answer;
  }
  EXPECT_EQ(server_->open_connections(), 4u);
  // The held ones are served as usual, and a freed slot is usable again.
  auto r = held[0]->request(http::verb::get, "/healthz");
  EXPECT_TRUE(r.ok()) << describe(r);
  held.pop_back();
  ASSERT_TRUE(wait_for_open_connections(3));
  TestClient again(server_->port());
  r = again.request(http::verb::get, "/healthz");
  EXPECT_TRUE(r.ok()) << describe(r);
}

TEST_F(AbuseTest, AccessLogHasNoQueryValuesAndNoSecret) {
  std::ostringstream captured;
  auto previous = spdlog::default_logger();
  auto capture = std::make_shared<spdlog::logger>("capture", std::make_shared<spdlog::sinks::ostream_sink_mt>(captured));
  capture->set_level(spdlog::level::trace);
  spdlog::set_default_logger(capture);
  struct Restore {
    std::shared_ptr<spdlog::logger> logger;
    ~Restore() { spdlog::set_default_logger(logger); }
  } restore{previous};

  const std::string id_number = "420281199001011234";
  const std::string other_key = "p00002";
  start(base_config());
  {
    TestClient client(server_->port());
    auto r = client.post_json(kBase + "/schemas", {{"schema", nlohmann::json::parse(testing::person_schema_json())},
                                                   {"primary_key", "id"}});
    ASSERT_TRUE(r.ok()) << describe(r);
    std::vector<testing::Person> people(3);
    for (int i = 0; i < 3; ++i) {
      people[i].id = "p0000" + std::to_string(i);
      people[i].name = "name" + std::to_string(i);
    }
    r = client.post_batch(kResource, "b-1", 1, testing::write_people_file(dir_ / "b.avro", "null", people));
    ASSERT_TRUE(r.ok()) << describe(r);
    r = client.get(kBase + "/records?key=" + other_key + "&limit=1");
    ASSERT_TRUE(r.ok()) << describe(r);
    r = client.get(kBase + "/records?key=" + id_number);
    EXPECT_EQ(r.status, 404u) << describe(r);
    Signing wrong;
    wrong.secret = "not-the-secret";
    r = client.get(kBase + "/records?key=" + id_number, wrong);
    EXPECT_EQ(r.status, 401u) << describe(r);
    r = client.get(kBase + "/records?" + id_number);
    r = client.request(http::verb::get, "/nope?key=" + id_number);
    EXPECT_EQ(r.status, 404u);
  }
  server_.reset();
  spdlog::default_logger()->flush();
  const std::string log = captured.str();
  EXPECT_NE(log.find("/records?key=…&limit=…"), std::string::npos) << log;
  EXPECT_NE(log.find("app_key=daye-test"), std::string::npos) << log;
  EXPECT_EQ(log.find(id_number), std::string::npos) << log;
  EXPECT_EQ(log.find(other_key), std::string::npos) << log;
  EXPECT_EQ(log.find(testing::kTestSecret), std::string::npos) << log;
  EXPECT_EQ(log.find("not-the-secret"), std::string::npos) << log;
  EXPECT_EQ(log.find("name1"), std::string::npos) << log;
}

}  // namespace
}  // namespace dxhub::province
