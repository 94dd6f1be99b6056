// Where the file connector's files come from: a local drop folder or an FTP
// directory. A source lists files, hands out a local copy to read, and
// afterwards moves (or deletes) the file once its rows are durable. Pattern,
// stability, done markers and the ledger are the connector's business.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/common/status.h"

namespace dxhub {

struct SourceEntry {
  std::string name;             // relative to the source directory ("a.csv", "sub/a.csv")
  uint64_t size = 0;
  int64_t mtime_ms = -1;        // -1: unknown
  int64_t quiet_since_ms = -1;  // last change of content or metadata (local ctime/mtime); -1: unknown
};

class FileSource {
 public:
  virtual ~FileSource() = default;
  // "drop folder /data/in", "ftp 127.0.0.1:2121/in": for messages.
  virtual const std::string& describe() const = 0;
  // Every regular file (and marker), not filtered. kSource if unreachable.
  virtual Expected<std::vector<SourceEntry>> list() = 0;
  // A local path holding the file's bytes: the file itself, or a download in
  // the work directory whose size was checked. kNotFound if it vanished.
  virtual Expected<std::string> fetch(const SourceEntry& entry) = 0;
  // The local copy is no longer needed (removes a download).
  virtual void release(const std::string& local_path) = 0;
  // The file's rows are durable: archive or delete it and its marker (empty: none).
  virtual Status finish(const SourceEntry& entry, const std::string& sha256, const std::string& marker) = 0;
  // The format refused the file: to the error folder, with the reason beside it.
  virtual Status refuse(const SourceEntry& entry, const std::string& local_path, const std::string& sha256,
                        const std::string& marker, const std::string& reason) = 0;
};

// Settings shared by the sources: what happens to a file after it was read.
enum class AfterRead { kArchive, kDelete };

// "<stem>.<digest12><ext>" (then "-2", "-3"...) for a name already taken in
// a destination folder: the name is kept readable and the copy is traceable.
std::string suffixed_name(const std::string& name, const std::string& sha256, int attempt);

}  // namespace dxhub
