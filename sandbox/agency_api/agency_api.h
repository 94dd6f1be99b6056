// A mock county-agency JSON API that serves the rows of one SQLite table,
// so the http_json connector can be tested against every paging style, auth
// style and fault a real agency API shows, and the same data can be served
// as table, API and file and compared.
//
// Routes (GET, or POST with the same parameters as a JSON object body):
//   /page    ?page=P&size=S            page P (from 1) of S rows
//   /offset  ?offset=O&limit=L
//   /token   ?token=T&limit=L          T: opaque keyset token of the last row
//   /link    ?after=T&limit=L          data.next: a relative link to the next page
// every one also takes updated_since=V (rows with updated_column >= V). Rows
// come ordered by (updated_column, key); the answer is
//   {"code":0, "data": {"total": N, "items": [ {column: value, ...} ],
//                       "next_token": T | null, "next": "/link?..." | null}}
// (total: rows matching updated_since). INTEGER -> JSON integer, REAL ->
// number, TEXT -> string, BLOB -> hex string, NULL -> null.
//   POST /oauth/token   form grant_type=client_credentials&client_id&client_secret
//                       -> {"access_token", "token_type":"Bearer", "expires_in"}
//   GET  /control       counters as JSON;  POST /control  a FaultPlan (JSON)
//
// Auth (one style per server): none; bearer (tokens from /oauth/token, valid
// token_ttl_seconds); app_key (X-App-Key, X-Timestamp ms within 5 minutes,
// X-Nonce unseen, X-Signature = hex HMAC-SHA256(secret, METHOD "\n" TARGET
// "\n" TIMESTAMP "\n" NONCE "\n" hex SHA-256(body))); basic (user:password).
// /control needs no auth (a test tool).
#pragma once

#include <nlohmann/json.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/common/status.h"

namespace dxhub::agency {

enum class Auth { kNone, kBearer, kAppKey, kBasic };

struct AgencyApiOptions {
  std::string db_path;
  std::string table;
  std::string key_column;
  std::string updated_column;  // empty: no updated_since filter, ordered by key
  Auth auth = Auth::kNone;
  std::string client_id = "county";  // bearer
  std::string client_secret;         // bearer
  int64_t token_ttl_seconds = 3600;  // bearer
  std::string app_key = "county";    // app_key
  std::string app_secret;            // app_key
  std::string username = "county";   // basic
  std::string password;              // basic
  int64_t max_page_rows = 10'000;    // larger size/limit values are capped
  // Benchmarks: keep each data answer by request target and serve it again
  // (the table must not change meanwhile), so the API costs ~nothing.
  bool cache_answers = false;
};

// One fault rule: applies to data requests (not /oauth/token, not /control)
// number skip+1 .. skip+count counted from when the plan was set.
struct FaultRule {
  enum class Kind {
    k5xx,            // 503 JSON error
    k429Seconds,     // 429, Retry-After: <retry_after_s>
    k429Date,        // 429, Retry-After: <HTTP-date now + retry_after_s>
    kHtml,           // 200 with an HTML error page
    kTruncated,      // 200, the JSON cut in half (Content-Length of the cut body)
    kTransportCut,   // Content-Length of the whole body, half sent, connection closed
    kUnauthorized,   // 401 whatever the credentials
    kNotFound,       // 404
  };
  Kind kind = Kind::k5xx;
  int64_t skip = 0;
  int64_t count = 1;
  int64_t retry_after_s = 1;
};

struct FaultPlan {
  std::vector<FaultRule> rules;
  int64_t slow_ms = 0;       // added before every data answer
  bool revoke_tokens = false;  // forget every token issued so far (next request: 401)
  static Expected<FaultPlan> from_json(const nlohmann::json& j);
};

struct AgencyApiStats {
  uint64_t requests = 0;       // every HTTP request
  uint64_t data_requests = 0;  // to a data route
  uint64_t token_requests = 0;
  uint64_t unauthorized = 0;   // 401 answers
  uint64_t faults = 0;         // answers replaced by a fault
  nlohmann::json to_json() const;
};

class AgencyApi {
 public:
  explicit AgencyApi(AgencyApiOptions options);
  ~AgencyApi();
  AgencyApi(const AgencyApi&) = delete;
  AgencyApi& operator=(const AgencyApi&) = delete;

  // Opens the database (read-only), checks table and columns, listens.
  Status start(const std::string& address, uint16_t port);
  uint16_t port() const;
  std::string base_url() const;  // http://127.0.0.1:PORT
  void stop();

  void set_faults(const FaultPlan& plan);
  AgencyApiStats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace dxhub::agency
