#include "core/delivery/province_client.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include "core/common/log.h"

namespace dxhub {

namespace {

constexpr size_t kMaxResponseBytes = 8 * 1024 * 1024;

// The resource goes into the URL path unescaped: keep it to safe characters.
Status check_resource_name(const std::string& resource) {
  bool ok = !resource.empty() && std::all_of(resource.begin(), resource.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
           c == '.';
  });
  if (ok) return Status::ok();
  return config_error("resource name '" + resource + "' may only contain letters, digits, '_', '-' and '.'");
}

// "http://host:port/prefix/" -> "/prefix"; "http://host:port" -> "".
std::string path_of_base_url(std::string_view url) {
  size_t scheme = url.find("://");
  size_t authority_start = scheme == std::string_view::npos ? 0 : scheme + 3;
  size_t slash = url.find('/', authority_start);
  if (slash == std::string_view::npos) return "";
  std::string path(url.substr(slash));
  while (!path.empty() && path.back() == '/') path.pop_back();
  return path;
}

std::string string_field(const nlohmann::json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

int64_t int_field(const nlohmann::json& object, const char* key, int64_t missing) {
  auto it = object.find(key);
  return it != object.end() && it->is_number_integer() ? it->get<int64_t>() : missing;
}

bool iequals_prefix(std::string_view text, std::string_view lowercase_prefix) {
  if (text.size() < lowercase_prefix.size()) return false;
  for (size_t i = 0; i < lowercase_prefix.size(); ++i) {
    char c = text[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != lowercase_prefix[i]) return false;
  }
  return true;
}

}  // namespace

ProvinceClient::ProvinceClient(ProvinceConfig config)
    : config_(std::move(config)), error_buffer_(CURL_ERROR_SIZE, '\0'), jitter_(std::random_device{}()) {
  while (!config_.base_url.empty() && config_.base_url.back() == '/') config_.base_url.pop_back();
  base_path_ = path_of_base_url(config_.base_url);
  if (config_.base_url.empty()) init_status_ = config_error("province base_url is empty");
  if (config_.max_attempts < 1) config_.max_attempts = 1;
  if (!init_status_.is_ok()) return;
  auto handle = curl::make_easy_handle();
  if (!handle) {
    init_status_ = handle.status();
    return;
  }
  handle_ = std::move(handle).value();
}

size_t ProvinceClient::on_body(char* data, size_t size, size_t count, void* self) {
  auto* client = static_cast<ProvinceClient*>(self);
  size_t bytes = size * count;
  if (client->response_.body.size() + bytes > kMaxResponseBytes) {
    client->response_too_large_ = true;
    return 0;  // aborts the transfer
  }
  client->response_.body.append(data, bytes);
  return bytes;
}

size_t ProvinceClient::on_header(char* data, size_t size, size_t count, void* self) {
  auto* client = static_cast<ProvinceClient*>(self);
  size_t bytes = size * count;
  std::string_view line(data, bytes);
  constexpr std::string_view kRetryAfter = "retry-after:";
  if (iequals_prefix(line, kRetryAfter)) client->response_.retry_after = std::string(line.substr(kRetryAfter.size()));
  return bytes;
}

delivery::ResponseVerdict ProvinceClient::send_once(const Request& request, const std::string& body_digest_hex) {
  using namespace protocol;
  delivery::ResponseVerdict verdict;
  CURL* curl = handle_.get();
  // reset keeps the connection cache: the next request reuses the socket.
  curl_easy_reset(curl);
  response_.status = 0;
  response_.body.clear();
  response_.retry_after.clear();
  response_too_large_ = false;
  error_buffer_[0] = '\0';

  std::string signed_path = base_path_ + request.path;
  std::string url = config_.base_url + request.path;
  int64_t timestamp = now_ms();
  std::string nonce = random_hex();
  std::string signature =
      sign(config_.method, config_.app_secret,
           string_to_sign(request.method, signed_path, timestamp, nonce, body_digest_hex,
                          SignedBatch{request.batch_id, request.batch_epoch, request.batch_sequence}));

  curl::HeaderList headers;
  auto build = [&]() -> Status {
    DXHUB_RETURN_IF_ERROR(headers.append(std::string(kHeaderAppKey) + ": " + config_.app_key));
    DXHUB_RETURN_IF_ERROR(headers.append(std::string(kHeaderTimestamp) + ": " + std::to_string(timestamp)));
    DXHUB_RETURN_IF_ERROR(headers.append(std::string(kHeaderNonce) + ": " + nonce));
    DXHUB_RETURN_IF_ERROR(
        headers.append(std::string(kHeaderSignatureMethod) + ": " + signature_method_name(config_.method)));
    DXHUB_RETURN_IF_ERROR(headers.append(std::string(kHeaderContentDigest) + ": " + body_digest_hex));
    DXHUB_RETURN_IF_ERROR(headers.append(std::string(kHeaderSignature) + ": " + signature));
    DXHUB_RETURN_IF_ERROR(headers.append("Accept: application/json"));
    // No "Expect: 100-continue" round trip before large bodies.
    DXHUB_RETURN_IF_ERROR(headers.append("Expect:"));
    if (request.content_type != nullptr) {
      DXHUB_RETURN_IF_ERROR(headers.append(std::string("Content-Type: ") + request.content_type));
    }
    if (!request.batch_id.empty()) {
      DXHUB_RETURN_IF_ERROR(headers.append(std::string(kHeaderBatchId) + ": " + request.batch_id));
      DXHUB_RETURN_IF_ERROR(headers.append(std::string(kHeaderBatchEpoch) + ": " + request.batch_epoch));
      DXHUB_RETURN_IF_ERROR(headers.append(std::string(kHeaderBatchSeq) + ": " + request.batch_sequence));
    }

    DXHUB_RETURN_IF_ERROR(curl::check_setopt(curl_easy_setopt(curl, CURLOPT_URL, url.c_str()), "URL"));
    DXHUB_RETURN_IF_ERROR(curl::check_setopt(curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers.get()), "HTTPHEADER"));
    DXHUB_RETURN_IF_ERROR(curl::check_setopt(curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L), "NOSIGNAL"));
    DXHUB_RETURN_IF_ERROR(curl::check_setopt(curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L), "TCP_KEEPALIVE"));
    DXHUB_RETURN_IF_ERROR(curl::check_setopt(curl_easy_setopt(curl, CURLOPT_USERAGENT, "dxhub/0.1"), "USERAGENT"));
    DXHUB_RETURN_IF_ERROR(curl::check_setopt(
        curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, config_.connect_timeout_ms), "CONNECTTIMEOUT_MS"));
    DXHUB_RETURN_IF_ERROR(
        curl::check_setopt(curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, config_.request_timeout_ms), "TIMEOUT_MS"));
    DXHUB_RETURN_IF_ERROR(
        curl::check_setopt(curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer_.data()), "ERRORBUFFER"));
    DXHUB_RETURN_IF_ERROR(
        curl::check_setopt(curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &ProvinceClient::on_body), "WRITEFUNCTION"));
    DXHUB_RETURN_IF_ERROR(curl::check_setopt(curl_easy_setopt(curl, CURLOPT_WRITEDATA, this), "WRITEDATA"));
    DXHUB_RETURN_IF_ERROR(curl::check_setopt(
        curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &ProvinceClient::on_header), "HEADERFUNCTION"));
    DXHUB_RETURN_IF_ERROR(curl::check_setopt(curl_easy_setopt(curl, CURLOPT_HEADERDATA, this), "HEADERDATA"));
    if (std::string_view(request.method) == "POST") {
      DXHUB_RETURN_IF_ERROR(curl::check_setopt(curl_easy_setopt(curl, CURLOPT_POST, 1L), "POST"));
      // The body is sent from the caller's buffer, not copied.
      DXHUB_RETURN_IF_ERROR(curl::check_setopt(
          curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size())),
          "POSTFIELDSIZE_LARGE"));
      // Never NULL: that would make curl read the body from stdin.
      const char* post_data = request.body.empty() ? "" : request.body.data();
      DXHUB_RETURN_IF_ERROR(curl::check_setopt(curl_easy_setopt(curl, CURLOPT_POSTFIELDS, post_data), "POSTFIELDS"));
    } else {
      DXHUB_RETURN_IF_ERROR(curl::check_setopt(curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L), "HTTPGET"));
    }
    return Status::ok();
  };
  std::string what = std::string(request.method) + " " + signed_path;
  Status prepared = build();
  if (!prepared.is_ok()) {
    verdict.status = prepared.with_context(what);
    return verdict;
  }

  CURLcode rc = curl_easy_perform(curl);
  if (rc != CURLE_OK) {
    if (response_too_large_) {
      verdict.status = unavailable_error(what + ": response larger than " + std::to_string(kMaxResponseBytes) + " bytes");
    } else {
      verdict.status = curl::transport_status(rc, error_buffer_.data()).with_context(what);
    }
    return verdict;
  }
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response_.status);
  return delivery::interpret_response(response_, what);
}

long ProvinceClient::backoff_ms(int failed_attempts, long retry_after_ms) {
  long delay = std::max(config_.backoff_initial_ms, 0L);
  for (int i = 1; i < failed_attempts && delay < config_.backoff_max_ms; ++i) delay *= 2;
  delay = std::min(delay, config_.backoff_max_ms);
  // Jitter in [delay/2, delay] so hubs restarted together do not retry in lockstep.
  if (delay > 1) delay = std::uniform_int_distribution<long>(delay / 2, delay)(jitter_);
  if (retry_after_ms >= 0) delay = std::max(delay, std::min(retry_after_ms, config_.retry_after_max_ms));
  return delay;
}

Expected<nlohmann::json> ProvinceClient::send_with_retries(const Request& request) {
  DXHUB_RETURN_IF_ERROR(init_status_);
  // Computed once, or not at all when the caller already hashed the body:
  // hashing a 10 MB body per attempt would be wasted work. A stale digest
  // is caught by the province (DIGEST_MISMATCH), never sent unnoticed.
  std::string digest = config_.method == protocol::SignatureMethod::kHmacSha256 && !request.body_sha256.empty()
                           ? std::string(request.body_sha256)
                           : protocol::body_digest(config_.method, request.body);
  for (int attempt = 1;; ++attempt) {
    ++attempts_made_;
    delivery::ResponseVerdict verdict = send_once(request, digest);
    if (verdict.status.is_ok()) return std::move(verdict.data);
    if (!verdict.status.retryable() || attempt >= config_.max_attempts) {
      if (attempt > 1) return verdict.status.with_context("after " + std::to_string(attempt) + " attempts");
      return verdict.status;
    }
    long wait_ms = backoff_ms(attempt, verdict.retry_after_ms);
    spdlog::warn("{} (attempt {}/{}); retrying in {} ms", verdict.status.to_string(), attempt, config_.max_attempts,
                 wait_ms);
    std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms));
  }
}

Expected<std::string> ProvinceClient::register_schema(const std::string& resource, const std::string& schema_json,
                                                      const std::string& primary_key, const std::string& name_zh) {
  DXHUB_RETURN_IF_ERROR(check_resource_name(resource));
  auto schema = nlohmann::json::parse(schema_json, nullptr, /*allow_exceptions=*/false);
  if (schema.is_discarded() || !schema.is_object()) {
    return config_error("register schema of " + resource + ": the schema is not a JSON object");
  }
  nlohmann::json payload = {{"schema", std::move(schema)}, {"primary_key", primary_key}, {"name_zh", name_zh}};
  std::string body = payload.dump();
  Request request;
  request.method = "POST";
  request.path = "/api/v1/resources/" + resource + "/schemas";
  request.body = body;
  request.content_type = "application/json";
  DXHUB_ASSIGN_OR_RETURN(nlohmann::json data, send_with_retries(request));
  std::string fingerprint = data.is_object() ? string_field(data, "fingerprint") : std::string();
  if (fingerprint.empty()) {
    return rejected_error("register schema of " + resource + ": the province's answer has no fingerprint");
  }
  return fingerprint;
}

Expected<Receipt> ProvinceClient::upload_batch(const BatchToSend& batch) {
  const std::string resource(batch.resource);
  const std::string batch_id(batch.batch_id);
  DXHUB_RETURN_IF_ERROR(check_resource_name(resource));
  Request request;
  request.method = "POST";
  request.path = "/api/v1/resources/" + resource + "/batches";
  request.body = batch.body;
  request.content_type = "application/avro";
  request.batch_id = batch_id;
  request.batch_epoch = std::to_string(batch.epoch);
  request.batch_sequence = std::to_string(batch.sequence);
  request.body_sha256 = batch.digest;
  auto data = send_with_retries(request);
  if (!data) return data.status().with_context("upload batch " + batch_id + " of " + resource);

  auto mismatch = [&](const std::string& what) {
    return rejected_error("upload batch " + batch_id + " of " + resource + ": receipt mismatch: " + what);
  };
  if (!data->is_object()) return mismatch("the receipt is not a JSON object");
  Receipt receipt;
  protocol::ReceiptFields& r = receipt.fields;
  r.receipt_id = string_field(*data, "receipt_id");
  r.batch_id = string_field(*data, "batch_id");
  r.resource = string_field(*data, "resource");
  r.epoch = int_field(*data, "epoch", -1);
  r.sequence = int_field(*data, "sequence", -1);
  r.records_accepted = int_field(*data, "records_accepted", -1);
  r.duplicate_keys = int_field(*data, "duplicate_keys", -1);
  r.deleted = int_field(*data, "deleted", -1);
  r.digest = string_field(*data, "digest");
  r.fingerprint = string_field(*data, "fingerprint");
  r.received_at = string_field(*data, "received_at");
  receipt.raw_json = data->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);

  // The signature first: fields of an unauthenticated receipt mean nothing.
  std::string expected_signature =
      protocol::sign(config_.method, config_.app_secret, protocol::receipt_string_to_sign(r));
  if (!protocol::equal_constant_time(expected_signature, string_field(*data, "signature"))) {
    return rejected_error("upload batch " + batch_id + " of " + resource +
                          ": receipt signature does not verify (not issued by the province, or altered)");
  }
  struct Field {
    const char* name;
    std::string got;
    std::string sent;
  };
  const Field fields[] = {
      {"batch_id", r.batch_id, std::string(batch.batch_id)},
      {"resource", r.resource, std::string(batch.resource)},
      {"digest", r.digest, std::string(batch.digest)},
      {"fingerprint", r.fingerprint, std::string(batch.fingerprint)},
      {"epoch", std::to_string(r.epoch), std::to_string(batch.epoch)},
      {"sequence", std::to_string(r.sequence), std::to_string(batch.sequence)},
      {"records_accepted", std::to_string(r.records_accepted), std::to_string(batch.record_count)},
      {"deleted", std::to_string(r.deleted), std::to_string(batch.deletes)}};
  for (const Field& f : fields) {
    if (f.got != f.sent) return mismatch(std::string(f.name) + " is '" + f.got + "', sent '" + f.sent + "'");
  }
  if (r.duplicate_keys < 0 || r.duplicate_keys > r.records_accepted) {
    return mismatch("duplicate_keys " + std::to_string(r.duplicate_keys) + " is out of range");
  }
  return receipt;
}

Expected<nlohmann::json> ProvinceClient::get(const std::string& path_and_query) {
  if (path_and_query.empty() || path_and_query.front() != '/') {
    return config_error("GET path must start with '/': " + path_and_query);
  }
  Request request;
  request.method = "GET";
  request.path = path_and_query;
  return send_with_retries(request);
}

}  // namespace dxhub
