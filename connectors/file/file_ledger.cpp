#include "connectors/file/file_ledger.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string_view>
#include <vector>

#include "connectors/common/typed_cursor_value.h"

namespace dxhub {

std::string FileLedger::key(const FileIdentity& file) {
  std::string k = file.sha256;
  k += ':';
  k += std::to_string(file.size);
  k += ':';
  k += file.name;
  return k;
}

void FileLedger::drop_front() {
  auto it = keys_.find(key(entries_.front().file));
  if (it != keys_.end()) keys_.erase(it);
  entries_.pop_front();
}

void FileLedger::add(const FileIdentity& file, int64_t done_ms) {
  entries_.push_back(Entry{file, done_ms});
  keys_.insert(key(file));
  prune(done_ms);
}

void FileLedger::prune(int64_t now_ms) {
  while (entries_.size() > max_files_) drop_front();
  if (max_age_ms_ <= 0) return;
  // Entries are in finishing order, so the old ones are at the front.
  while (!entries_.empty() && now_ms - entries_.front().done_ms > max_age_ms_) drop_front();
}

nlohmann::json FileLedger::to_json() const {
  nlohmann::json array = nlohmann::json::array();
  for (const auto& e : entries_) {
    array.push_back(nlohmann::json::array({e.file.name, e.file.size, e.file.sha256, e.done_ms}));
  }
  return array;
}

Status FileLedger::load(const nlohmann::json& array) {
  entries_.clear();
  keys_.clear();
  if (!array.is_array()) return config_error("file cursor: \"files\" is not an array");
  for (const auto& e : array) {
    if (!e.is_array() || e.size() != 4 || !e[0].is_string() || !e[1].is_number_integer() || e[1].get<int64_t>() < 0 || !e[2].is_string() ||
        !e[3].is_number_integer()) {
      return config_error("file cursor: a \"files\" entry is not [name, size, sha256, done_ms]");
    }
    FileIdentity file{e[0].get<std::string>(), e[1].get<uint64_t>(), e[2].get<std::string>()};
    keys_.insert(key(file));
    entries_.push_back(Entry{std::move(file), e[3].get<int64_t>()});
  }
  return Status::ok();
}

namespace {
struct DigestContextFree {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
}  // namespace

Expected<std::string> sha256_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return source_error("cannot open " + path + ": " + std::strerror(errno));
  std::unique_ptr<EVP_MD_CTX, DigestContextFree> ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) {
    ::close(fd);
    return internal_error("SHA-256: cannot initialise");
  }
  static thread_local std::vector<unsigned char> buffer(1 << 18);
  for (;;) {
    ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return source_error("cannot read " + path + ": " + std::strerror(err));
    }
    if (n == 0) break;
    EVP_DigestUpdate(ctx.get(), buffer.data(), static_cast<size_t>(n));
  }
  ::close(fd);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_DigestFinal_ex(ctx.get(), digest, &length);
  return typed_cursor::to_hex(std::string_view(reinterpret_cast<const char*>(digest), length));
}

}  // namespace dxhub
