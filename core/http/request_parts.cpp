#include "core/http/request_parts.h"

#include "core/protocol/signing.h"

namespace dxhub::http {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string_view header_value(const HttpRequest& request, const char* name) {
  auto it = request.find(name);
  if (it == request.end()) return {};
  return {it->value().data(), it->value().size()};
}

SplitTarget split_target(const HttpRequest& request) {
  std::string_view target(request.target().data(), request.target().size());
  size_t question = target.find('?');
  return {target, target.substr(0, question),
          question == std::string_view::npos ? std::string_view() : target.substr(question + 1)};
}

std::optional<std::string> url_decode(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '+') {
      out += ' ';
    } else if (in[i] == '%') {
      if (i + 2 >= in.size()) return std::nullopt;
      int hi = hex_value(in[i + 1]);
      int lo = hex_value(in[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += in[i];
    }
  }
  return out;
}

std::optional<std::map<std::string, std::string>> parse_query(std::string_view query) {
  std::map<std::string, std::string> params;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    auto key = url_decode(pair.substr(0, eq));
    auto value = url_decode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1));
    if (!key || !value) return std::nullopt;
    params[*key] = *value;
  }
  return params;
}

SignedHeaders signed_headers_of(const HttpRequest& request) {
  return SignedHeaders{header_value(request, protocol::kHeaderAppKey),
                       header_value(request, protocol::kHeaderTimestamp),
                       header_value(request, protocol::kHeaderNonce),
                       header_value(request, protocol::kHeaderSignatureMethod),
                       header_value(request, protocol::kHeaderContentDigest),
                       header_value(request, protocol::kHeaderSignature),
                       {header_value(request, protocol::kHeaderBatchId),
                        header_value(request, protocol::kHeaderBatchEpoch),
                        header_value(request, protocol::kHeaderBatchSeq)}};
}

bool is_plain_id(std::string_view id, size_t max_length, std::string_view extra) {
  if (id.empty() || id.size() > max_length) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              extra.find(c) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

}  // namespace dxhub::http
