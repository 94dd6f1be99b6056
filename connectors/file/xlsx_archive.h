// The two C libraries under the xlsx reader, each wrapped once (RAII,
// errors to Status): libzip for the archive, with the zip bomb limits, and
// libxml2's streaming xmlTextReader, hardened for hostile files (no network,
// no DTD loading, no entity substitution, a DTD or entity reference is
// refused, bounded depth, libxml2's default size limits kept).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/common/status.h"

struct zip;
struct zip_file;
struct _xmlTextReader;

namespace dxhub {

struct ZipLimits {
  uint64_t max_entry_bytes = 256ULL << 20;  // uncompressed, per part read
  uint64_t max_ratio = 100;                 // uncompressed / compressed, above 1 MiB
};

// An entry being read: bytes are counted as they come, so an entry that
// inflates past its declared size or the limit is stopped however it lies.
class ZipEntryReader {
 public:
  ZipEntryReader(zip_file* file, std::string entry, std::string archive_name, uint64_t declared, uint64_t limit);
  ZipEntryReader(const ZipEntryReader&) = delete;
  ZipEntryReader& operator=(const ZipEntryReader&) = delete;
  ~ZipEntryReader();
  // Up to `len` bytes; 0 at the end; -1 on error (see status()).
  long read(char* buf, size_t len);
  const Status& status() const { return status_; }
  const std::string& entry() const { return entry_; }
  // "<archive>: <entry>", for messages.
  std::string where() const { return archive_name_ + ": " + entry_; }

 private:
  zip_file* file_;
  std::string entry_;
  std::string archive_name_;
  uint64_t declared_;
  uint64_t limit_;
  uint64_t total_ = 0;
  Status status_;
};

class ZipArchive {
 public:
  // kData naming the file: not a zip archive, truncated or damaged.
  static Expected<std::unique_ptr<ZipArchive>> open(const std::string& path, const std::string& display_name,
                                                    ZipLimits limits);
  ZipArchive(const ZipArchive&) = delete;
  ZipArchive& operator=(const ZipArchive&) = delete;
  ~ZipArchive();
  bool has(const std::string& entry) const;
  // kData when the entry is missing (when `required`) or its declared sizes break the limits;
  // nullptr (no error) when it is missing and not required.
  Expected<std::unique_ptr<ZipEntryReader>> open_entry(const std::string& entry, bool required = true);
  const std::string& name() const { return name_; }

 private:
  ZipArchive(zip* archive, std::string name, ZipLimits limits)
      : archive_(archive), name_(std::move(name)), limits_(limits) {}
  zip* archive_;
  std::string name_;
  ZipLimits limits_;
};

// A streaming XML reader over one zip entry.
class XmlStream {
 public:
  enum class Node { kStart, kEnd, kText, kOther };
  static Expected<std::unique_ptr<XmlStream>> open(std::unique_ptr<ZipEntryReader> entry);
  XmlStream(const XmlStream&) = delete;
  XmlStream& operator=(const XmlStream&) = delete;
  ~XmlStream();
  // The next node; false at the end of the document. kData on malformed or refused XML.
  Expected<bool> next();
  Node node() const { return node_; }
  std::string_view name() const;  // local name of an element
  bool empty_element() const { return empty_; }
  std::string_view text() const;  // of a kText node
  int depth() const;
  // Calls f(local_name, value) for each attribute of the current start element.
  template <typename F>
  void attributes(F&& f);

 private:
  explicit XmlStream(std::unique_ptr<ZipEntryReader> entry) : entry_(std::move(entry)) {}
  bool move_to_attribute(bool first);
  void move_to_element();
  std::string_view attribute_name() const;
  std::string_view attribute_value() const;

  std::unique_ptr<ZipEntryReader> entry_;
  _xmlTextReader* reader_ = nullptr;
  Node node_ = Node::kOther;
  bool empty_ = false;
  std::string error_;
  friend struct XmlStreamCallbacks;
};

template <typename F>
void XmlStream::attributes(F&& f) {
  for (bool ok = move_to_attribute(true); ok; ok = move_to_attribute(false)) f(attribute_name(), attribute_value());
  move_to_element();
}

}  // namespace dxhub
