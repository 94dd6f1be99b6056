#include "connectors/file/csv_file_buffer.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace dxhub {

FileBuffer::FileBuffer(FileBuffer&& other) noexcept { *this = std::move(other); }

FileBuffer& FileBuffer::operator=(FileBuffer&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    name_ = std::move(other.name_);
    buf_ = std::move(other.buf_);
    size_ = other.size_;
    capacity_ = other.capacity_;
    padding_ = other.padding_;
    base_offset_ = other.base_offset_;
    eof_ = other.eof_;
  }
  return *this;
}

FileBuffer::~FileBuffer() {
  if (fd_ >= 0) ::close(fd_);
}

Expected<FileBuffer> FileBuffer::open(const std::string& path, const std::string& display_name, size_t capacity,
                                      size_t padding) {
  FileBuffer file;
  file.fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (file.fd_ < 0) return source_error(display_name + ": cannot open (" + std::strerror(errno) + ")");
  file.name_ = display_name;
  file.capacity_ = capacity;
  file.padding_ = padding;
  file.buf_.assign(capacity + padding + 1, '\0');
  return file;
}

Expected<size_t> FileBuffer::refill(size_t keep) {
  if (keep > size_) keep = size_;
  if (keep > 0) {
    std::memmove(buf_.data(), buf_.data() + keep, size_ - keep);
    size_ -= keep;
    base_offset_ += keep;
  }
  while (!eof_ && size_ < capacity_) {
    ssize_t n = ::read(fd_, buf_.data() + size_, capacity_ - size_);
    if (n < 0) {
      if (errno == EINTR) continue;
      return source_error(name_ + ": read failed (" + std::strerror(errno) + ")");
    }
    if (n == 0) {
      eof_ = true;
      break;
    }
    size_ += static_cast<size_t>(n);
    break;  // one read per refill: the parser catches up before the next
  }
  std::memset(buf_.data() + size_, 0, padding_ + 1);
  return keep;
}

Status FileBuffer::seek(uint64_t offset) {
  if (::lseek(fd_, static_cast<off_t>(offset), SEEK_SET) < 0) {
    return source_error(name_ + ": seek failed (" + std::strerror(errno) + ")");
  }
  base_offset_ = offset;
  size_ = 0;
  eof_ = false;
  return Status::ok();
}

}  // namespace dxhub
