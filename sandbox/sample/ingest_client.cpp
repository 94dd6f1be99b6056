#include "sandbox/sample/ingest_client.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <thread>

#include "core/protocol/signing.h"

namespace dxhub::sample {

namespace {

bool retryable_status(unsigned status) { return status == 429 || status >= 500; }

constexpr std::string_view kNonceReused = "NONCE_REUSED";  // core/http/request_auth.h

}  // namespace

bool is_url_safe_token(std::string_view text) {
  if (text.empty() || text.size() > 128) return false;
  return std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == '-';
  });
}

Expected<IngestClient> IngestClient::create(IngestClientOptions options) {
  if (!is_url_safe_token(options.resource)) return config_error("resource must be [A-Za-z0-9._-]{1,128}");
  if (!options.base_url.starts_with("http://") && !options.base_url.starts_with("https://")) {
    return config_error("--url must start with http:// or https://");
  }
  while (options.base_url.ends_with('/')) options.base_url.pop_back();
  if (options.app_key.empty()) return config_error("the app key is empty");
  if (options.max_attempts < 1) return config_error("max attempts must be at least 1");
  DXHUB_ASSIGN_OR_RETURN(curl::EasyHandle handle, curl::make_easy_handle());
  return IngestClient(std::move(options), std::move(handle));
}

IngestClient::IngestClient(IngestClientOptions options, curl::EasyHandle handle)
    : options_(std::move(options)),
      handle_(std::move(handle)),
      error_buffer_(CURL_ERROR_SIZE, '\0'),
      // Jitter only spreads retries apart; it need not follow the seed.
      jitter_(static_cast<std::minstd_rand::result_type>(std::random_device{}())) {}

std::string IngestClient::target_for(std::string_view post_id) const {
  std::string target = "/api/v1/ingest/";
  target += options_.resource;
  target += "?post_id=";
  target += post_id;
  return target;
}

size_t IngestClient::on_body(char* data, size_t size, size_t count, void* self) {
  auto* client = static_cast<IngestClient*>(self);
  client->response_.append(data, size * count);
  return size * count;
}

std::chrono::milliseconds IngestClient::backoff(int failed_attempts) {
  // Doubling from first_backoff, capped; "equal jitter": half fixed, half random.
  int64_t ceiling = options_.first_backoff.count();
  for (int i = 1; i < failed_attempts && ceiling < options_.max_backoff.count(); ++i) ceiling *= 2;
  ceiling = std::min<int64_t>(ceiling, options_.max_backoff.count());
  const int64_t half = ceiling / 2;
  std::uniform_int_distribution<int64_t> spread(0, std::max<int64_t>(0, ceiling - half));
  return std::chrono::milliseconds(half + spread(jitter_));
}

IngestClient::Answer IngestClient::attempt(const std::string& target, const std::string& body) {
  Answer answer;
  const auto method = protocol::SignatureMethod::kHmacSha256;
  const int64_t timestamp = protocol::now_ms();
  const std::string nonce = protocol::random_hex();
  const std::string digest = protocol::body_digest(method, body);
  const std::string signature =
      protocol::sign(method, options_.secret, protocol::string_to_sign("POST", target, timestamp, nonce, digest));

  curl::HeaderList headers;
  for (const std::string& header :
       {std::string("Content-Type: application/json"), std::string(protocol::kHeaderAppKey) + ": " + options_.app_key,
        std::string(protocol::kHeaderTimestamp) + ": " + std::to_string(timestamp),
        std::string(protocol::kHeaderNonce) + ": " + nonce,
        std::string(protocol::kHeaderSignatureMethod) + ": " + protocol::signature_method_name(method),
        std::string(protocol::kHeaderContentDigest) + ": " + digest,
        std::string(protocol::kHeaderSignature) + ": " + signature,
        std::string("Expect:")}) {  // no 100-continue round trip
    if (Status s = headers.append(header); !s.is_ok()) {
      answer.transport = s;
      return answer;
    }
  }

  CURL* curl = handle_.get();
  const std::string url = options_.base_url + target;
  response_.clear();
  error_buffer_[0] = '\0';
  auto setup = [&]() -> Status {
    DXHUB_RETURN_IF_ERROR(curl::check_setopt(curl_easy_setopt(curl, CURLOPT_URL, url.c_str()), "URL"));
    DXHUB_RETURN_IF_ERROR(curl::check_setopt(curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers.get()), "HTTPHEADER"));
    DXHUB_RETURN_IF_ERROR(curl::check_setopt(curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L), "NOSIGNAL"));
    DXHUB_RETURN_IF_ERROR(curl::check_setopt(curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L), "TCP_KEEPALIVE"));
    DXHUB_RETURN_IF_ERROR(
        curl::check_setopt(curl_easy_setopt(curl, CURLOPT_USERAGENT, "dxhub-sample/push-events"), "USERAGENT"));
    DXHUB_RETURN_IF_ERROR(curl::check_setopt(
        curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, options_.connect_timeout_ms), "CONNECTTIMEOUT_MS"));
    DXHUB_RETURN_IF_ERROR(
        curl::check_setopt(curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, options_.request_timeout_ms), "TIMEOUT_MS"));
    DXHUB_RETURN_IF_ERROR(
        curl::check_setopt(curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer_.data()), "ERRORBUFFER"));
    DXHUB_RETURN_IF_ERROR(
        curl::check_setopt(curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &IngestClient::on_body), "WRITEFUNCTION"));
    DXHUB_RETURN_IF_ERROR(curl::check_setopt(curl_easy_setopt(curl, CURLOPT_WRITEDATA, this), "WRITEDATA"));
    DXHUB_RETURN_IF_ERROR(curl::check_setopt(curl_easy_setopt(curl, CURLOPT_POST, 1L), "POST"));
    DXHUB_RETURN_IF_ERROR(curl::check_setopt(
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size())), "POSTFIELDSIZE"));
    return curl::check_setopt(curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data()), "POSTFIELDS");
  };
  if (Status s = setup(); !s.is_ok()) {
    answer.transport = s;
    return answer;
  }
  const CURLcode code = curl_easy_perform(curl);
  // The header list dies with this call: unhook it from the reused handle.
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, nullptr);
  if (code != CURLE_OK) {
    answer.transport = curl::transport_status(code, error_buffer_.data());
    return answer;
  }
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  answer.http_status = static_cast<unsigned>(status);
  answer.body = std::move(response_);
  return answer;
}

PostResult IngestClient::post(const std::string& post_id, const std::string& body) {
  PostResult result;
  if (!is_url_safe_token(post_id)) {
    result.outcome = PostOutcome::kRefused;
    result.refusal_code = "BAD_POST_ID";
    result.last_error = "post id must be [A-Za-z0-9._-]{1,128}";
    return result;
  }
  const std::string target = target_for(post_id);
  result.sent_at_ms = protocol::now_ms();
  for (int attempt_no = 1; attempt_no <= options_.max_attempts; ++attempt_no) {
    if (attempt_no > 1) std::this_thread::sleep_for(backoff(attempt_no - 1));
    result.attempts = attempt_no;
    Answer answer = attempt(target, body);
    result.http_status = answer.http_status;
    if (!answer.transport.is_ok()) {
      result.last_error = answer.transport.to_string();
      if (answer.transport.code() != StatusCode::kUnavailable) {  // a bad URL will not get better
        result.outcome = PostOutcome::kRefused;
        result.refusal_code = "TRANSPORT_" + std::string(status_code_name(answer.transport.code()));
        result.answered_at_ms = protocol::now_ms();
        return result;
      }
      continue;
    }
    if (retryable_status(answer.http_status)) {
      result.last_error = "HTTP " + std::to_string(answer.http_status);
      continue;
    }
    const auto envelope = nlohmann::json::parse(answer.body, nullptr, false);
    if (answer.http_status == 200) {
      const auto code = envelope.is_object() ? envelope.find("code") : envelope.end();
      if (envelope.is_object() && code != envelope.end() && code->is_number_integer() && *code == 0) {
        result.outcome = PostOutcome::kAccepted;
        result.answered_at_ms = protocol::now_ms();
        const auto data = envelope.find("data");
        if (data != envelope.end() && data->is_object()) {
          const auto duplicate = data->find("duplicate");
          if (duplicate != data->end() && duplicate->is_boolean()) result.duplicate = duplicate->get<bool>();
          const auto accepted = data->find("accepted");
          if (accepted != data->end() && accepted->is_number_integer()) result.accepted = accepted->get<int64_t>();
        }
        return result;
      }
      // A 200 that is not the envelope (a proxy page, a cut answer): the
      // post id makes another try safe.
      result.last_error = "HTTP 200 without the {\"code\":0} envelope";
      continue;
    }
    std::string code;
    if (envelope.is_object() && envelope.contains("code") && envelope["code"].is_string()) {
      code = envelope["code"].get<std::string>();
    } else {
      code = "HTTP_" + std::to_string(answer.http_status);
    }
    result.last_error = "HTTP " + std::to_string(answer.http_status) + " " + code;
    // Our nonces are 128 random bits, so a reused one means this very
    // request reached the hub twice: libcurl re-sends a request by itself
    // when a kept-alive connection turns out to be closed, after the hub
    // had read the header. Signed afresh, the post is safe to retry.
    if (code == kNonceReused) continue;
    result.outcome = PostOutcome::kRefused;
    result.answered_at_ms = protocol::now_ms();
    result.refusal_code = std::move(code);
    return result;
  }
  result.outcome = PostOutcome::kUndelivered;
  return result;
}

}  // namespace dxhub::sample
