// A bounded read window over a local file, shared by the line-oriented
// readers (CSV, JSON lines): the file is read in chunks into one buffer of
// fixed capacity, never whole into memory. The reader keeps the bytes of
// the record it is parsing (from `keep`) and drops the rest at each refill.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/common/status.h"

namespace dxhub {

class FileBuffer {
 public:
  FileBuffer() = default;
  FileBuffer(FileBuffer&& other) noexcept;
  FileBuffer& operator=(FileBuffer&& other) noexcept;
  FileBuffer(const FileBuffer&) = delete;
  FileBuffer& operator=(const FileBuffer&) = delete;
  ~FileBuffer();

  // kSource naming `display_name` when the file cannot be opened.
  // `capacity` bounds the memory and so the longest record kept whole.
  // `padding` extra zero bytes stay writable after the data (simdjson).
  static Expected<FileBuffer> open(const std::string& path, const std::string& display_name, size_t capacity,
                                   size_t padding = 0);

  char* data() { return buf_.data(); }
  const char* data() const { return buf_.data(); }
  size_t size() const { return size_; }          // valid bytes in data()
  size_t capacity() const { return capacity_; }
  bool eof() const { return eof_; }
  uint64_t file_offset() const { return base_offset_; }  // file offset of data()[0]
  // Drops data()[0, keep), moves the rest to the front, reads more. Returns
  // how far the window moved (subtract it from indexes into the old window).
  // At the end of the file eof() becomes true. The window being full
  // (size() == capacity() after the move) is the caller's problem.
  Expected<size_t> refill(size_t keep);
  // Continues reading at `offset` with an empty window.
  Status seek(uint64_t offset);

 private:
  int fd_ = -1;
  std::string name_;
  std::vector<char> buf_;
  size_t size_ = 0;
  size_t capacity_ = 0;
  size_t padding_ = 0;
  uint64_t base_offset_ = 0;
  bool eof_ = false;
};

}  // namespace dxhub
