#include "core/http/log_redaction.h"

#include <vector>

namespace dxhub::http {

namespace {

constexpr size_t kMaxLoggedNames = 8;
constexpr size_t kMaxNameLength = 32;

bool plain_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameLength) return false;
  for (char c : name) {
    // No digits: a name of digits could itself be an ID number.
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

std::string redact_target(std::string_view target) {
  size_t question = target.find('?');
  std::string_view path = target.substr(0, question);
  std::string out(path.substr(0, kMaxLoggedPath));
  if (path.size() > kMaxLoggedPath) out += "…";
  if (question == std::string_view::npos) return out;

  std::string_view query = target.substr(question + 1);
  std::vector<std::string_view> names;
  bool plain = true;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    std::string_view name = pair.substr(0, pair.find('='));
    plain = plain && plain_name(name);
    names.push_back(name);
  }
  if (!plain || names.size() > kMaxLoggedNames) return out + "?[" + std::to_string(names.size()) + " params]";
  out += '?';
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += '&';
    out.append(names[i]).append("=…");
  }
  return out;
}

}  // namespace dxhub::http
