#include "connectors/file/lines_format.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>

#include "core/common/utf8.h"

namespace dxhub {

namespace {

class FileDescriptor {
 public:
  explicit FileDescriptor(int fd = -1) : fd_(fd) {}
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

class LinesReader final : public FileFormatReader {
 public:
  LinesReader(int fd, std::string display_name, bool skip_empty, size_t max_line_bytes, uint64_t offset,
              uint64_t line)
      : fd_(fd),
        display_name_(std::move(display_name)),
        skip_empty_(skip_empty),
        max_line_bytes_(max_line_bytes),
        offset_(offset),
        line_(line),
        started_(offset != 0 || line != 0) {
    columns_.push_back("line");
    buffer_.resize(1 << 16);
  }

  const std::vector<std::string>& columns() const override { return columns_; }

  Expected<size_t> read(size_t max_rows, RowSink& sink) override {
    started_ = true;
    size_t handed = 0;
    while (handed < max_rows) {
      // Find the next complete line in the buffer (or the last one at EOF).
      const char* begin = buffer_.data() + pos_;
      const char* end = buffer_.data() + filled_;
      const char* newline = static_cast<const char*>(std::memchr(begin, '\n', static_cast<size_t>(end - begin)));
      if (newline == nullptr && !eof_) {
        if (filled_ - pos_ > max_line_bytes_ + 1) {
          // Far too long: skip to the next newline without keeping it all.
          DXHUB_RETURN_IF_ERROR(skip_long_line());
          if (Status s = report_long_line(sink); !s) return s;
          ++handed;
          continue;
        }
        DXHUB_RETURN_IF_ERROR(refill());
        continue;
      }
      if (newline == nullptr && pos_ == filled_) break;  // end of file
      const char* line_end = newline != nullptr ? newline : end;
      size_t consumed = static_cast<size_t>(line_end - begin) + (newline != nullptr ? 1 : 0);
      std::string_view text(begin, static_cast<size_t>(line_end - begin));
      if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
      ++line_;
      offset_ += consumed;
      pos_ += consumed;
      if (text.empty() && skip_empty_) continue;
      set_ref();
      if (text.size() > max_line_bytes_) {
        BadInput bad{ref_, "line longer than max_line_bytes", text.substr(0, 4096)};
        DXHUB_RETURN_IF_ERROR(sink.on_bad_input(bad));
      } else if (!is_valid_utf8(text)) {
        BadInput bad{ref_, "line is not valid UTF-8", text};
        DXHUB_RETURN_IF_ERROR(sink.on_bad_input(bad));
      } else {
        // NUL-terminate in place: the byte after the text is '\n', '\r' or
        // spare room in the buffer (refill keeps one byte free).
        const_cast<char*>(text.data())[text.size()] = '\0';
        value_ = FieldValue::text(text);
        DXHUB_RETURN_IF_ERROR(sink.on_row(RowView(&value_, 1, ref_)));
      }
      ++handed;
    }
    return handed;
  }

  nlohmann::json position() const override {
    if (!started_) return nullptr;
    return nlohmann::json{{"offset", offset_}, {"line", line_}};
  }

 private:
  // "<name> line <n>": the prefix is kept, only the digits are rewritten.
  void set_ref() {
    if (ref_.empty()) {
      ref_.assign(display_name_);
      ref_ += " line ";
      prefix_length_ = ref_.size();
    }
    char digits[24];
    size_t n = 0;
    uint64_t v = line_;
    do {
      digits[n++] = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v != 0);
    ref_.resize(prefix_length_);
    while (n > 0) ref_.push_back(digits[--n]);
  }

  // Moves the unread bytes to the front and reads more (keeps one spare byte
  // at the end for the NUL of a last line without a newline).
  Status refill() {
    if (pos_ > 0) {
      std::memmove(buffer_.data(), buffer_.data() + pos_, filled_ - pos_);
      filled_ -= pos_;
      pos_ = 0;
    }
    if (buffer_.size() - filled_ < 4096) buffer_.resize(buffer_.size() * 2);
    for (;;) {
      ssize_t n = ::read(fd_.get(), buffer_.data() + filled_, buffer_.size() - filled_ - 1);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return source_error(display_name_ + ": read failed: " + std::strerror(errno));
      if (n == 0) eof_ = true;
      if (offset_ == 0 && !checked_text_ && n > 0) {
        // A NUL byte in the first block: a binary file, not lines of text.
        checked_text_ = true;
        if (std::memchr(buffer_.data() + filled_, '\0', static_cast<size_t>(n)) != nullptr) {
          return data_error(display_name_ + ": not a text file (NUL bytes in its first block)");
        }
      }
      filled_ += static_cast<size_t>(n);
      return Status::ok();
    }
  }

  Status skip_long_line() {
    skipped_bytes_ = 0;
    for (;;) {
      const char* begin = buffer_.data() + pos_;
      const char* newline =
          static_cast<const char*>(std::memchr(begin, '\n', filled_ - pos_));
      if (newline != nullptr) {
        size_t consumed = static_cast<size_t>(newline - begin) + 1;
        skipped_bytes_ += consumed;
        pos_ += consumed;
        break;
      }
      if (skipped_bytes_ == 0) {
        long_prefix_.assign(begin, std::min<size_t>(filled_ - pos_, 4096));
      }
      skipped_bytes_ += filled_ - pos_;
      pos_ = filled_ = 0;
      if (eof_) break;
      DXHUB_RETURN_IF_ERROR(refill());
    }
    ++line_;
    offset_ += skipped_bytes_;
    return Status::ok();
  }

  Status report_long_line(RowSink& sink) {
    set_ref();
    BadInput bad{ref_, "line longer than max_line_bytes", long_prefix_};
    return sink.on_bad_input(bad);
  }

  FileDescriptor fd_;
  std::string display_name_;
  bool skip_empty_;
  size_t max_line_bytes_;
  uint64_t offset_;  // file offset of buffer_[pos_]
  uint64_t line_;    // lines consumed so far
  bool started_;
  std::vector<std::string> columns_;
  std::vector<char> buffer_;
  size_t pos_ = 0, filled_ = 0;
  bool eof_ = false;
  bool checked_text_ = false;
  std::string ref_;
  size_t prefix_length_ = 0;
  std::string long_prefix_;
  size_t skipped_bytes_ = 0;
  FieldValue value_;
};

}  // namespace

Expected<std::unique_ptr<FileFormatReader>> open_lines_reader(const nlohmann::json& format,
                                                              const FileFormatInput& input,
                                                              const std::vector<std::string>& columns) {
  bool skip_empty = false;
  size_t max_line_bytes = 1 << 20;
  for (auto it = format.begin(); it != format.end(); ++it) {
    const std::string& key = it.key();
    if (key == "kind") continue;
    if (key == "skip_empty") {
      if (!it->is_boolean()) return config_error("lines format: \"skip_empty\" must be true or false");
      skip_empty = it->get<bool>();
    } else if (key == "max_line_bytes") {
      if (!it->is_number_integer() || it->get<int64_t>() <= 0 || it->get<int64_t>() > (1LL << 30)) {
        return config_error("lines format: \"max_line_bytes\" must be an integer in 1..1073741824");
      }
      max_line_bytes = static_cast<size_t>(it->get<int64_t>());
    } else {
      return config_error("lines format: unknown setting \"" + key + "\" (known: kind, skip_empty, max_line_bytes)");
    }
  }
  for (const auto& c : columns) {
    if (c != "line") return config_error("lines format: unknown column \"" + c + "\" (the only column is \"line\")");
  }
  uint64_t offset = 0, line = 0;
  if (!input.resume.is_null()) {
    if (!input.resume.is_object() || !input.resume.contains("offset") || !input.resume["offset"].is_number_integer() ||
        input.resume["offset"].get<int64_t>() < 0 || !input.resume.contains("line") ||
        !input.resume["line"].is_number_integer() || input.resume["line"].get<int64_t>() < 0) {
      return config_error("lines format: the resume position is not {\"offset\", \"line\"}");
    }
    offset = input.resume["offset"].get<uint64_t>();
    line = input.resume["line"].get<uint64_t>();
  }
  int fd = ::open(input.path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return source_error(input.display_name + ": cannot open: " + std::strerror(errno));
  auto reader = std::make_unique<LinesReader>(fd, input.display_name, skip_empty, max_line_bytes, offset, line);
  if (offset > 0 && ::lseek(fd, static_cast<off_t>(offset), SEEK_SET) < 0) {
    return source_error(input.display_name + ": cannot seek: " + std::strerror(errno));
  }
  return std::unique_ptr<FileFormatReader>(std::move(reader));
}

}  // namespace dxhub
