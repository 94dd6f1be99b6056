// Reads records from an agency's HTTP/JSON API, page by page, configured
// entirely by the connector config (settings and defaults: see
// /work/notes/http-docs.md, merged into the README). Requests go through
// HttpFetcher (rate limit, retries, auth); pages are parsed with simdjson's
// DOM parser (measured faster than nlohmann and RapidJSON for this: see the
// docs notes) into buffers reused for every page, and a row's FieldValues
// point into the parsed page (simdjson keeps strings NUL-terminated).
//
// Paging ("paging": {"style": ...}):
//   none    one request.
//   page    {page} = first_page, first_page+1, ...; {limit} = page_size.
//   offset  {offset} = 0, then + the records each page had; {limit} = page_size.
//   token   {cursor_token} = the string at token_path of the previous page
//           (a parameter whose template uses it is left out on the first page).
//   link    the next URL is the string at link_path of the previous page,
//           absolute or relative to the page's URL; query applies to the first.
// The feed ends at a page with no records, without a token / link, or when
// the records seen reach the number at total_path (when configured).
//
// Records: the array at records_path ("data.items", "$.data.list"; "" or
// "$" = the page itself). A column is read from the record's key of that
// name, or from "fields": {column: "dotted.path"}; a name that is not a key
// but contains dots is walked as a nested path. Missing and JSON null give
// NULL; true/false give 1/0; integers kInt (above int64: kReal); other
// numbers kReal; strings kText. An object or array value is bad input, as
// is a value of another type than "field_types" declares for it. With no
// columns given (discover), the columns are the keys of the first record
// of the first page (fetched at open).
//
// Bad input (reported with on_bad_input, the read goes on): a page that is
// not JSON (an HTML error page, a truncated body) or whose records path is
// missing or not an array -> "page N"; a record that is not an object or
// has a field of the wrong type -> "page N record I" (I from 1). After a
// bad page, page and offset paging go on with the next page (offset
// advances by page_size); for none, token and link the next page cannot be
// known, so the read fails with kSource and the cursor stays where it was.
// max_bad_pages bad pages in a row fail the read too (an API answering
// errors for every page past the end would otherwise page forever).
//
// Incremental (cursor_field and key_field set): {updated_since} is the
// saved cursor value V (or initial_since before the first run; a parameter
// using it is left out when there is neither). The API must return every
// record with cursor >= V, in ascending cursor order. As for sqlite_table
// (read its header), V itself is read again and the rows already sent at V
// are suppressed by (key, XXH3 digest of the columns read plus cursor and
// key): a row added or changed at V between runs is sent, an unchanged one
// is not sent twice. The cursor is {"v":1, "value": V, "boundary":
// [[key, "digest hex"], ...]}. Without cursor_field every run is a full
// refresh and the cursor stays null. With page/offset paging an update that
// moves a row from an unread page to the end during a run shifts the pages
// (a row may be skipped, then read next run only if it changes again):
// prefer token or link paging (keyset on the server) for incremental feeds.
#pragma once

#include <simdjson.h>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/connector.h"
#include "connectors/http_json/http_fetcher.h"
#include "core/common/row.h"
#include "core/common/status.h"

namespace dxhub {

class HttpJsonConnector final : public Connector {
 public:
  static constexpr const char* kKind = "http_json";

  enum class Paging { kNone, kPage, kOffset, kToken, kLink };
  enum class FieldType { kAny, kString, kInteger, kNumber, kBoolean };

  struct Config {
    std::string url;
    std::string method = "GET";
    std::vector<std::pair<std::string, std::string>> query;  // name -> template
    nlohmann::json body;                                      // POST body template (null = "{}")
    Paging paging = Paging::kNone;
    int64_t page_size = 100;
    int64_t first_page = 1;
    std::string token_path;
    std::string link_path;
    std::string total_path;
    std::string records_path;
    std::vector<std::pair<std::string, std::string>> fields;  // column -> path
    std::vector<std::pair<std::string, FieldType>> field_types;
    std::string cursor_field;
    std::string key_field;
    std::optional<std::string> initial_since;
    int64_t max_pages = 100'000;
    int64_t max_bad_pages = 3;
    http_json::FetchConfig fetch;
  };
  static Expected<Config> parse_config(const nlohmann::json& config);

  // Bad config or cursor: kConfig naming the key. With no columns, fetches
  // the first page to discover them (kSource when it cannot be read).
  static Expected<std::unique_ptr<HttpJsonConnector>> open(const nlohmann::json& config,
                                                           const std::vector<std::string>& columns,
                                                           const nlohmann::json& cursor,
                                                           const ConnectorOpenOptions& options = {});

  const std::vector<std::string>& columns() const override { return columns_; }
  Expected<size_t> read(size_t max_rows, RowSink& sink) override;
  nlohmann::json cursor() const override;
  std::vector<std::string> advisories() const override;

  const http_json::FetchStats& fetch_stats() const { return fetcher_.stats(); }
  uint64_t pages_read() const { return pages_; }

 private:
  struct Path {
    std::string whole;                  // tried first as one key
    std::vector<std::string> segments;  // then walked, when it has dots
  };
  struct OwnedValue {
    FieldValue::Type type = FieldValue::Type::kNull;
    int64_t i = 0;
    double d = 0;
    std::string s;
  };
  // Rows sent at the boundary value, as (key, digest): an arena of key bytes
  // and fixed entries, so appending does not allocate once warmed up.
  class SentSet {
   public:
    void clear();
    void append(FieldValue::Type type, std::string_view key_bytes, uint64_t digest);
    void build_index();
    int64_t find(FieldValue::Type type, std::string_view key_bytes) const;
    uint64_t digest(size_t index) const { return entries_[index].digest; }
    void consume(size_t index) { entries_[index].consumed = true; }
    void to_json(nlohmann::json& array, bool only_unconsumed) const;
    Status load(const nlohmann::json& array);

   private:
    struct Entry {
      uint64_t hash;
      uint64_t digest;
      uint32_t offset;
      uint32_t length;
      FieldValue::Type type;
      bool consumed;
    };
    std::vector<Entry> entries_;
    std::string key_bytes_;
    std::vector<uint32_t> slots_;
  };

  HttpJsonConnector(Config config, http_json::HttpFetcher fetcher, std::string resource);
  Status load_cursor(const nlohmann::json& cursor);
  Status prepare_paths();
  // Fetches and parses the next page. kSource: the read fails. A bad page
  // is reported to the sink (when sink is given) and leaves have_page_ false.
  Status load_next_page(RowSink* sink);
  std::string build_url() const;
  std::string build_body() const;
  std::optional<std::string> placeholder(std::string_view name) const;
  std::string render(const std::string& templ, bool& missing) const;
  Status page_is_bad(RowSink* sink, std::string_view reason, std::string_view raw);
  Status discover_columns();
  // Extracts the record into values_; empty reason = fine.
  std::string_view extract(simdjson::dom::element record);
  // One value into values_[c]; false (reason in ref_buf_) for a wrong type.
  bool convert(simdjson::dom::element v, size_t c);
  uint64_t row_digest();
  std::string source_ref_page() const;

  Config config_;
  http_json::HttpFetcher fetcher_;
  std::string resource_;
  std::vector<std::string> columns_;
  std::vector<Path> paths_;  // columns, then cursor field and key field when incremental
  std::vector<FieldType> types_;
  Path records_path_, token_path_, link_path_, total_path_;

  // Paging.
  simdjson::dom::parser parser_;
  bool have_page_ = false;
  bool done_ = false;
  bool last_page_ = false;  // the loaded page is the last one
  simdjson::dom::array::iterator it_{}, end_{};
  uint64_t pages_ = 0;          // pages fetched (N of "page N")
  uint64_t record_index_ = 0;   // 1-based index of the current record in its page
  int64_t next_page_number_ = 1;
  int64_t offset_ = 0;
  int64_t records_seen_ = 0;
  int64_t bad_pages_in_row_ = 0;
  std::string token_;
  bool has_token_ = false;
  std::string next_url_;
  std::string ref_buf_;  // "page N record I", reused

  // Incremental.
  bool incremental_ = false;
  bool opened_with_cursor_ = false;
  bool touched_ = false;
  bool has_since_ = false;
  std::string since_text_;  // {updated_since} of every request of this open
  bool has_boundary_ = false;
  OwnedValue boundary_value_;
  bool old_active_ = false;
  SentSet boundary_old_, boundary_new_;
  bool saw_null_cursor_ = false;
  bool saw_disorder_ = false;

  std::vector<FieldValue> values_;
  // extract(): the record's keys by position, as last seen, and their column.
  std::vector<std::string> position_keys_;
  std::vector<int32_t> position_columns_;
  std::vector<int32_t> same_key_next_;  // the next column reading the same key, or -1
  std::vector<uint32_t> seen_;          // == generation_: set for this record
  uint32_t generation_ = 0;
  std::string digest_buf_;
  std::string key_buf_;
};

}  // namespace dxhub
