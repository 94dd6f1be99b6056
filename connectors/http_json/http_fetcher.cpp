#include "connectors/http_json/http_fetcher.h"

#include <nlohmann/json.hpp>
#include <strings.h>

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <thread>

#include "core/protocol/signing.h"

namespace dxhub::http_json {

namespace {

Expected<std::string> env_value(const std::string& name, const char* what) {
  const char* v = std::getenv(name.c_str());
  if (v == nullptr || *v == '\0') {
    return config_error(std::string("http_json auth: environment variable ") + name + " (" + what +
                        ") is not set");
  }
  return std::string(v);
}

std::string form_escape(CURL* handle, const std::string& s) {
  char* escaped = curl_easy_escape(handle, s.data(), static_cast<int>(s.size()));
  std::string out = escaped != nullptr ? escaped : "";
  curl_free(escaped);
  return out;
}

// PATH_AND_QUERY of an absolute URL, as the server sees it in the request line.
std::string path_and_query(const std::string& url) {
  std::string out = "/";
  CURLU* u = curl_url();
  if (u == nullptr) return out;
  if (curl_url_set(u, CURLUPART_URL, url.c_str(), 0) == CURLUE_OK) {
    char* path = nullptr;
    char* query = nullptr;
    if (curl_url_get(u, CURLUPART_PATH, &path, 0) == CURLUE_OK && path != nullptr) out = path;
    if (curl_url_get(u, CURLUPART_QUERY, &query, 0) == CURLUE_OK && query != nullptr) {
      out += "?";
      out += query;
    }
    curl_free(path);
    curl_free(query);
  }
  curl_url_cleanup(u);
  return out;
}

const nlohmann::json* find_path(const nlohmann::json& root, const std::string& path) {
  const nlohmann::json* node = &root;
  size_t start = 0;
  std::string_view p = path;
  if (p.rfind("$.", 0) == 0) p.remove_prefix(2);
  else if (p == "$") p = {};
  while (start < p.size()) {
    size_t dot = p.find('.', start);
    if (dot == std::string_view::npos) dot = p.size();
    const std::string key(p.substr(start, dot - start));
    if (!node->is_object()) return nullptr;
    auto it = node->find(key);
    if (it == node->end()) return nullptr;
    node = &*it;
    start = dot + 1;
  }
  return node;
}

}  // namespace

int64_t parse_retry_after_ms(std::string_view value, int64_t now_unix_seconds) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t' || value.back() == '\r' ||
                            value.back() == '\n')) {
    value.remove_suffix(1);
  }
  if (value.empty()) return -1;
  if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    if (value.size() > 9) return -1;
    return std::stoll(std::string(value)) * 1000;
  }
  const time_t when = curl_getdate(std::string(value).c_str(), nullptr);
  if (when < 0) return -1;
  const int64_t delta = static_cast<int64_t>(when) - now_unix_seconds;
  return delta <= 0 ? 0 : delta * 1000;
}

HttpFetcher::HttpFetcher(FetchConfig config) : config_(std::move(config)), rng_(std::random_device{}()) {}

Expected<HttpFetcher> HttpFetcher::create(FetchConfig config) {
  HttpFetcher f(std::move(config));
  DXHUB_ASSIGN_OR_RETURN(f.handle_, curl::make_easy_handle());
  const AuthConfig& a = f.config_.auth;
  if (a.style == AuthStyle::kAppKey) {
    DXHUB_ASSIGN_OR_RETURN(f.secret_, env_value(a.secret_env, "app secret"));
  } else if (a.style == AuthStyle::kBearer) {
    DXHUB_ASSIGN_OR_RETURN(f.client_id_, env_value(a.client_id_env, "client id"));
    DXHUB_ASSIGN_OR_RETURN(f.secret_, env_value(a.client_secret_env, "client secret"));
  } else if (a.style == AuthStyle::kBasic) {
    DXHUB_ASSIGN_OR_RETURN(f.secret_, env_value(a.password_env, "password"));
  }
  f.body_.reserve(64 * 1024);
  return f;
}

size_t HttpFetcher::on_body(char* data, size_t size, size_t count, void* self) {
  auto* f = static_cast<HttpFetcher*>(self);
  const size_t n = size * count;
  if (f->body_.size() + n > f->config_.max_body_bytes) {
    f->body_too_large_ = true;
    return 0;  // aborts the transfer (CURLE_WRITE_ERROR)
  }
  f->body_.append(data, n);
  return n;
}

size_t HttpFetcher::on_header(char* data, size_t size, size_t count, void* self) {
  auto* f = static_cast<HttpFetcher*>(self);
  const size_t n = size * count;
  std::string_view line(data, n);
  constexpr std::string_view kName = "retry-after:";
  if (line.size() > kName.size() && strncasecmp(line.data(), kName.data(), kName.size()) == 0) {
    f->retry_after_ms_ = parse_retry_after_ms(line.substr(kName.size()), static_cast<int64_t>(std::time(nullptr)));
  } else if (line.rfind("HTTP/", 0) == 0) {
    f->retry_after_ms_ = -1;  // a new answer (after a redirect or 100-continue)
  }
  return n;
}

void HttpFetcher::wait_rate_limit() {
  if (config_.rate_limit_per_second <= 0) return;
  // Request starts are at least 1/rate apart; an idle gap earns no burst.
  const auto now = std::chrono::steady_clock::now();
  if (next_request_ > now) std::this_thread::sleep_for(next_request_ - now);
  next_request_ = std::chrono::steady_clock::now() +
                  std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                      std::chrono::duration<double>(1.0 / config_.rate_limit_per_second));
}

int64_t HttpFetcher::backoff_ms(int attempt) {
  // attempt 1 -> initial, doubling, capped; "equal jitter": half fixed, half random.
  int64_t delay = config_.backoff_initial_ms;
  for (int k = 1; k < attempt && delay < config_.backoff_max_ms; ++k) delay *= 2;
  delay = std::min(delay, config_.backoff_max_ms);
  const int64_t half = delay / 2;
  std::uniform_int_distribution<int64_t> jitter(0, std::max<int64_t>(half, 0));
  return half + jitter(rng_);
}

Status HttpFetcher::perform(const std::string& method, const std::string& url, std::string_view body,
                            const std::string& content_type, bool with_auth, Answer& answer) {
  wait_rate_limit();
  CURL* h = handle_.get();
  curl_easy_reset(h);  // keeps the connection cache
  body_.clear();
  body_too_large_ = false;
  retry_after_ms_ = -1;
  error_buffer_[0] = '\0';
  curl::HeaderList headers;
  for (const auto& [name, value] : config_.headers) DXHUB_RETURN_IF_ERROR(headers.append(name + ": " + value));
  DXHUB_RETURN_IF_ERROR(headers.append("Accept: application/json"));
  if (method == "POST") DXHUB_RETURN_IF_ERROR(headers.append("Content-Type: " + content_type));
  if (with_auth) {
    switch (config_.auth.style) {
      case AuthStyle::kAppKey: {
        const int64_t ts = protocol::now_ms();
        const std::string nonce = protocol::random_hex(16);
        const std::string to_sign = method + "\n" + path_and_query(url) + "\n" + std::to_string(ts) + "\n" + nonce +
                                    "\n" + protocol::sha256_hex(body);
        DXHUB_RETURN_IF_ERROR(headers.append("X-App-Key: " + config_.auth.app_key));
        DXHUB_RETURN_IF_ERROR(headers.append("X-Timestamp: " + std::to_string(ts)));
        DXHUB_RETURN_IF_ERROR(headers.append("X-Nonce: " + nonce));
        DXHUB_RETURN_IF_ERROR(headers.append(
            "X-Signature: " + protocol::sign(protocol::SignatureMethod::kHmacSha256, secret_, to_sign)));
        break;
      }
      case AuthStyle::kBearer: DXHUB_RETURN_IF_ERROR(headers.append("Authorization: Bearer " + token_)); break;
      case AuthStyle::kBasic:
        DXHUB_RETURN_IF_ERROR(curl::check_setopt(curl_easy_setopt(h, CURLOPT_HTTPAUTH, CURLAUTH_BASIC), "HTTPAUTH"));
        DXHUB_RETURN_IF_ERROR(curl::check_setopt(
            curl_easy_setopt(h, CURLOPT_USERNAME, config_.auth.username.c_str()), "USERNAME"));
        DXHUB_RETURN_IF_ERROR(curl::check_setopt(curl_easy_setopt(h, CURLOPT_PASSWORD, secret_.c_str()), "PASSWORD"));
        break;
      case AuthStyle::kNone: break;
    }
  }
  DXHUB_RETURN_IF_ERROR(curl::check_setopt(curl_easy_setopt(h, CURLOPT_URL, url.c_str()), "URL"));
  DXHUB_RETURN_IF_ERROR(curl::check_setopt(curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error_buffer_), "ERRORBUFFER"));
  DXHUB_RETURN_IF_ERROR(curl::check_setopt(curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L), "NOSIGNAL"));
  DXHUB_RETURN_IF_ERROR(curl::check_setopt(curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https"), "PROTOCOLS"));
  DXHUB_RETURN_IF_ERROR(curl::check_setopt(curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get()), "HTTPHEADER"));
  DXHUB_RETURN_IF_ERROR(curl::check_setopt(curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &HttpFetcher::on_body),
                                           "WRITEFUNCTION"));
  DXHUB_RETURN_IF_ERROR(curl::check_setopt(curl_easy_setopt(h, CURLOPT_WRITEDATA, this), "WRITEDATA"));
  DXHUB_RETURN_IF_ERROR(curl::check_setopt(curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, &HttpFetcher::on_header),
                                           "HEADERFUNCTION"));
  DXHUB_RETURN_IF_ERROR(curl::check_setopt(curl_easy_setopt(h, CURLOPT_HEADERDATA, this), "HEADERDATA"));
  DXHUB_RETURN_IF_ERROR(curl::check_setopt(
      curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(config_.connect_timeout_ms)), "CONNECTTIMEOUT"));
  DXHUB_RETURN_IF_ERROR(
      curl::check_setopt(curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(config_.timeout_ms)), "TIMEOUT"));
  DXHUB_RETURN_IF_ERROR(curl::check_setopt(curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, ""), "ACCEPT_ENCODING"));
  if (method == "POST") {
    DXHUB_RETURN_IF_ERROR(curl::check_setopt(curl_easy_setopt(h, CURLOPT_POST, 1L), "POST"));
    DXHUB_RETURN_IF_ERROR(curl::check_setopt(curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.data()), "POSTFIELDS"));
    DXHUB_RETURN_IF_ERROR(curl::check_setopt(
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size())), "POSTFIELDSIZE"));
  }
  ++stats_.requests;
  const CURLcode code = curl_easy_perform(h);
  if (body_too_large_) {
    return source_error("answer larger than max_page_bytes (" + std::to_string(config_.max_body_bytes) + ")");
  }
  if (code != CURLE_OK) return curl::transport_status(code, error_buffer_);
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &answer.status);
  char* effective = nullptr;
  if (curl_easy_getinfo(h, CURLINFO_EFFECTIVE_URL, &effective) == CURLE_OK && effective != nullptr) {
    last_url_ = effective;
  } else {
    last_url_ = url;
  }
  answer.retry_after_ms = retry_after_ms_;
  return Status::ok();
}

Status HttpFetcher::ensure_token(bool force) {
  if (config_.auth.style != AuthStyle::kBearer) return Status::ok();
  if (!force && have_token_ && std::chrono::steady_clock::now() < token_expires_) return Status::ok();
  have_token_ = false;
  CURL* h = handle_.get();
  const std::string form = "grant_type=client_credentials&client_id=" + form_escape(h, client_id_) +
                           "&client_secret=" + form_escape(h, secret_);
  Status last;
  for (int attempt = 1; attempt <= config_.max_attempts; ++attempt) {
    if (attempt > 1) ++stats_.retries;
    Answer answer;
    ++stats_.token_requests;
    Status s = perform("POST", config_.auth.token_url, form, "application/x-www-form-urlencoded", false, answer);
    if (s.is_ok() && answer.status >= 200 && answer.status < 300) {
      nlohmann::json doc = nlohmann::json::parse(body_, nullptr, false);
      const nlohmann::json* token = doc.is_discarded() ? nullptr : find_path(doc, config_.auth.token_path);
      if (token == nullptr || !token->is_string() || token->get_ref<const std::string&>().empty()) {
        return source_error("token endpoint answer has no string at " + config_.auth.token_path);
      }
      token_ = token->get<std::string>();
      int64_t expires_in = 3600;
      if (const nlohmann::json* e = find_path(doc, config_.auth.expires_in_path); e != nullptr && e->is_number()) {
        expires_in = e->get<int64_t>();
      }
      token_expires_ = std::chrono::steady_clock::now() +
                       std::chrono::seconds(std::max<int64_t>(0, expires_in - config_.auth.refresh_before_seconds));
      have_token_ = true;
      return Status::ok();
    }
    if (s.is_ok()) {
      const bool retry = answer.status >= 500 || answer.status == 429;
      last = source_error("token endpoint answered HTTP " + std::to_string(answer.status));
      if (!retry) return last;
      if (attempt < config_.max_attempts) {
        int64_t wait = backoff_ms(attempt);
        if (answer.status == 429 && answer.retry_after_ms >= 0) {
          wait = std::min(answer.retry_after_ms, config_.max_retry_after_seconds * 1000);
          ++stats_.retry_after_waits;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(wait));
      }
      continue;
    }
    if (!s.retryable()) return source_error("token endpoint: " + s.message());
    last = source_error("token endpoint: " + s.message());
    if (attempt < config_.max_attempts) std::this_thread::sleep_for(std::chrono::milliseconds(backoff_ms(attempt)));
  }
  return source_error(last.message() + " (after " + std::to_string(config_.max_attempts) + " attempts)");
}

Expected<std::string_view> HttpFetcher::fetch(const std::string& method, const std::string& url,
                                              std::string_view body, const std::string& what, size_t padding) {
  Status last;
  bool refreshed_after_401 = false;
  for (int attempt = 1; attempt <= config_.max_attempts; ++attempt) {
    if (attempt > 1) ++stats_.retries;
    Status token = ensure_token(false);
    if (!token.is_ok()) return Status(StatusCode::kSource, what + ": " + token.message());
    Answer answer;
    Status s = perform(method, url, body, "application/json", true, answer);
    if (s.is_ok() && answer.status >= 200 && answer.status < 300) {
      body_.reserve(body_.size() + padding);
      return std::string_view(body_);
    }
    int64_t wait = -1;
    if (s.is_ok()) {
      last = source_error(what + ": HTTP " + std::to_string(answer.status));
      if (answer.status == 401 && config_.auth.style == AuthStyle::kBearer && !refreshed_after_401) {
        // The token was revoked or expired early: one new token, then the
        // same request again (not counted as an attempt).
        refreshed_after_401 = true;
        Status t = ensure_token(true);
        if (!t.is_ok()) return Status(StatusCode::kSource, what + ": " + t.message());
        --attempt;
        continue;
      }
      if (answer.status < 500 && answer.status != 429) return last;
      if (answer.status == 429 && answer.retry_after_ms >= 0) {
        wait = std::min(answer.retry_after_ms, config_.max_retry_after_seconds * 1000);
        ++stats_.retry_after_waits;
      }
    } else {
      if (!s.retryable()) return Status(StatusCode::kSource, what + ": " + s.message());
      last = source_error(what + ": " + s.message());
    }
    if (attempt < config_.max_attempts) {
      if (wait < 0) wait = backoff_ms(attempt);
      std::this_thread::sleep_for(std::chrono::milliseconds(wait));
    }
  }
  return source_error(last.message() + " (after " + std::to_string(config_.max_attempts) + " attempts)");
}

}  // namespace dxhub::http_json
