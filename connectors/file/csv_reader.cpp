// CSV reader: a byte state machine over a bounded window of the file.
//
// Resynchronisation after a broken record (documented in the docs):
// - text after a closing quote, a field above max_field_bytes, a record
//   above max_record_bytes or with too many fields: the state machine goes on
//   with the quoting rules (a quote opens a field only at its start) to the
//   record's end, which is reported bad; reading goes on after it. A huge
//   field is skipped, not kept: memory stays bounded by max_record_bytes.
// - an unterminated quote (the end of the file inside a quoted field): the
//   record's first physical line is reported bad and reading resumes at the
//   line after it, so one stray quote costs one line, not the rest of the file.
// - a wrong field count or bytes invalid in the encoding: that record only.
#include "connectors/file/csv_reader.h"

#include <charconv>
#include <cstring>
#include <unordered_map>

#include "connectors/file/csv_file_buffer.h"
#include "connectors/file/csv_format_settings.h"
#include "connectors/file/text_encoding.h"

namespace dxhub {

namespace {

constexpr const char* kKind = "csv";
constexpr size_t kMaxFields = 16384;
constexpr size_t kOversizeRawBytes = 64 * 1024;  // raw kept of a record too big to keep whole

struct CsvSettings {
  char delimiter = ',';
  int quote = '"';  // -1: no quoting
  bool header = true;
  std::vector<std::string> column_names;
  uint64_t skip_lines = 0;
  bool empty_as_null = false;
  bool skip_empty_lines = true;
  TextEncoding encoding = TextEncoding::kUtf8;
  uint64_t max_field_bytes = 1 << 20;
  uint64_t max_record_bytes = 4 << 20;
};

Expected<CsvSettings> parse_settings(const nlohmann::json& format) {
  namespace fs = file_settings;
  CsvSettings s;
  DXHUB_RETURN_IF_ERROR(fs::check_keys(format, kKind,
                                       {"kind", "delimiter", "quote", "header", "column_names", "skip_lines",
                                        "empty_as_null", "skip_empty_lines", "encoding", "max_field_bytes",
                                        "max_record_bytes"}));
  std::string delimiter = ",", quote = "\"", encoding = "utf-8";
  DXHUB_RETURN_IF_ERROR(fs::get_string(format, kKind, "delimiter", delimiter));
  DXHUB_RETURN_IF_ERROR(fs::get_string(format, kKind, "quote", quote));
  DXHUB_RETURN_IF_ERROR(fs::get_string(format, kKind, "encoding", encoding));
  auto plain_ascii = [](unsigned char c) { return c > 0 && c < 0x80 && c != '\r' && c != '\n'; };
  if (delimiter.size() != 1 || !plain_ascii(static_cast<unsigned char>(delimiter[0]))) {
    return config_error("file format csv: delimiter must be one ASCII character other than CR and LF");
  }
  s.delimiter = delimiter[0];
  if (quote.empty()) {
    s.quote = -1;
  } else if (quote.size() != 1 || !plain_ascii(static_cast<unsigned char>(quote[0])) || quote[0] == s.delimiter) {
    return config_error("file format csv: quote must be empty or one ASCII character other than the delimiter");
  } else {
    s.quote = static_cast<unsigned char>(quote[0]);
  }
  auto enc = parse_text_encoding(encoding);
  if (!enc) return config_error("file format csv: " + enc.status().message());
  s.encoding = *enc;
  DXHUB_RETURN_IF_ERROR(fs::get_bool(format, kKind, "header", s.header));
  DXHUB_RETURN_IF_ERROR(fs::get_bool(format, kKind, "empty_as_null", s.empty_as_null));
  DXHUB_RETURN_IF_ERROR(fs::get_bool(format, kKind, "skip_empty_lines", s.skip_empty_lines));
  DXHUB_RETURN_IF_ERROR(fs::get_size(format, kKind, "skip_lines", 0, 1000000, s.skip_lines));
  DXHUB_RETURN_IF_ERROR(fs::get_size(format, kKind, "max_field_bytes", 16, 1ULL << 30, s.max_field_bytes));
  DXHUB_RETURN_IF_ERROR(fs::get_size(format, kKind, "max_record_bytes", 64, 1ULL << 30, s.max_record_bytes));
  if (s.max_field_bytes > s.max_record_bytes) s.max_field_bytes = s.max_record_bytes;
  if (format.contains("column_names")) {
    const auto& names = format["column_names"];
    if (!names.is_array() || names.empty()) {
      return config_error("file format csv: column_names must be a non-empty array of strings");
    }
    for (const auto& n : names) {
      if (!n.is_string() || n.get<std::string>().empty()) {
        return config_error("file format csv: column_names must be a non-empty array of strings");
      }
      s.column_names.push_back(n.get<std::string>());
    }
  }
  if (!s.header && s.column_names.empty()) {
    return config_error("file format csv: column_names is required when header is false");
  }
  if (s.header && !s.column_names.empty()) {
    return config_error("file format csv: column_names is for files without a header (set header to false)");
  }
  return s;
}

class CsvReader final : public FileFormatReader {
 public:
  CsvReader(CsvSettings settings, FileBuffer file, TextDecoder decoder, std::string name)
      : s_(std::move(settings)), file_(std::move(file)), decoder_(std::move(decoder)), name_(std::move(name)) {
    std::memset(unquoted_special_, 0, sizeof unquoted_special_);
    unquoted_special_[static_cast<unsigned char>(s_.delimiter)] = 1;
    unquoted_special_['\r'] = unquoted_special_['\n'] = 1;
    std::memcpy(quoted_special_, unquoted_special_, sizeof quoted_special_);
    quoted_special_[static_cast<unsigned char>(s_.delimiter)] = 0;
    if (s_.quote >= 0) quoted_special_[s_.quote] = 1;
    if (!decoder_.is_utf8()) {
      for (int c = 0x81; c <= 0xFE; ++c) unquoted_special_[c] = quoted_special_[c] = 1;
    }
    field_buf_.reserve(64 * 1024);
    conv_buf_.reserve(64 * 1024);
    ref_.reserve(name_.size() + 32);
  }

  Status start(const std::vector<std::string>& requested, const nlohmann::json& resume);

  const std::vector<std::string>& columns() const override { return columns_; }
  Expected<size_t> read(size_t max_rows, RowSink& sink) override;
  nlohmann::json position() const override {
    if (!started_) return nullptr;
    return {{"offset", next_offset_}, {"line", next_line_}};
  }

 private:
  enum class State { kFieldStart, kUnquoted, kQuoted, kQuoteInQuoted };
  enum class Problem { kNone, kTextAfterQuote, kFieldTooBig, kRecordTooBig, kTooManyFields, kUnterminated };

  uint64_t abs(size_t index) const { return file_.file_offset() + index; }
  Status refill();
  Expected<bool> next_record();
  Status skip_physical_line();
  bool consume_break();  // false: needs one more byte to decide (CR at the window's end)
  void append(const char* p, size_t n);
  void end_field();
  std::string_view raw() const;
  void set_ref(uint64_t line);
  Status report(RowSink& sink, const std::string& reason);
  // Decodes the record's fields into values; false (with reason_) on invalid bytes.
  bool decode_fields();
  bool decode_record_at_once();

  CsvSettings s_;
  FileBuffer file_;
  TextDecoder decoder_;
  std::string name_;
  unsigned char unquoted_special_[256];
  unsigned char quoted_special_[256];

  std::vector<std::string> file_columns_;
  std::vector<std::string> columns_;
  std::vector<size_t> index_;  // columns_[k] is file column index_[k]
  std::vector<FieldValue> values_;

  // The window position and the record being parsed.
  size_t pos_ = 0;
  size_t rec_start_ = 0;
  uint64_t line_ = 1;
  uint64_t record_offset_ = 0;
  uint64_t record_line_ = 1;
  uint64_t first_break_ = 0;  // file offset after the first line break inside the record, 0: none
  std::string field_buf_;     // fields unescaped, each followed by '\0'
  std::vector<size_t> field_ends_;
  std::vector<uint8_t> field_quoted_;
  size_t field_begin_ = 0;
  size_t field_count_ = 0;
  bool cur_quoted_ = false;
  bool discarding_ = false;
  bool oversized_ = false;
  std::string oversize_raw_;
  Problem problem_ = Problem::kNone;
  size_t problem_column_ = 0;

  std::string conv_buf_;
  std::vector<size_t> conv_ends_;
  std::string ref_;
  std::string reason_;

  bool started_ = false;
  uint64_t next_offset_ = 0;
  uint64_t next_line_ = 1;
};

Status CsvReader::refill() {
  if (!oversized_ && file_.size() - rec_start_ >= file_.capacity()) {
    // The record fills the whole window: keep a prefix as its raw text and
    // skip the rest of it as it streams past.
    oversized_ = true;
    discarding_ = true;
    oversize_raw_.assign(file_.data() + rec_start_, std::min(kOversizeRawBytes, file_.size() - rec_start_));
    if (problem_ == Problem::kNone) problem_ = Problem::kRecordTooBig;
  }
  const size_t keep = oversized_ ? pos_ : rec_start_;
  DXHUB_ASSIGN_OR_RETURN(size_t moved, file_.refill(keep));
  pos_ -= moved;
  rec_start_ = oversized_ ? pos_ : rec_start_ - moved;
  return Status::ok();
}

bool CsvReader::consume_break() {
  const char* d = file_.data();
  if (d[pos_] == '\n') {
    ++pos_;
  } else {
    if (pos_ + 1 >= file_.size() && !file_.eof()) return false;
    ++pos_;
    if (pos_ < file_.size() && d[pos_] == '\n') ++pos_;
  }
  ++line_;
  return true;
}

void CsvReader::append(const char* p, size_t n) {
  if (discarding_ || n == 0) return;
  if (field_buf_.size() - field_begin_ + n > s_.max_field_bytes) {
    if (problem_ == Problem::kNone) {
      problem_ = Problem::kFieldTooBig;
      problem_column_ = field_count_ + 1;
    }
    discarding_ = true;
    return;
  }
  field_buf_.append(p, n);
}

void CsvReader::end_field() {
  ++field_count_;
  if (discarding_) return;
  if (field_count_ > kMaxFields) {
    if (problem_ == Problem::kNone) problem_ = Problem::kTooManyFields;
    discarding_ = true;
    return;
  }
  field_ends_.push_back(field_buf_.size());
  field_quoted_.push_back(cur_quoted_ ? 1 : 0);
  field_buf_.push_back('\0');
  field_begin_ = field_buf_.size();
  cur_quoted_ = false;
}

Expected<bool> CsvReader::next_record() {
  field_buf_.clear();
  field_ends_.clear();
  field_quoted_.clear();
  field_begin_ = 0;
  field_count_ = 0;
  cur_quoted_ = false;
  discarding_ = false;
  oversized_ = false;
  problem_ = Problem::kNone;
  first_break_ = 0;
  rec_start_ = pos_;
  record_offset_ = abs(pos_);
  record_line_ = line_;
  const bool gb = !decoder_.is_utf8();
  State st = State::kFieldStart;
  for (;;) {
    if (pos_ >= file_.size()) {
      if (!file_.eof()) {
        DXHUB_RETURN_IF_ERROR(refill());
        continue;
      }
      if (st == State::kQuoted) {
        problem_ = Problem::kUnterminated;
        return true;
      }
      if (st == State::kFieldStart && field_count_ == 0 && abs(pos_) == record_offset_) return false;
      end_field();
      return true;
    }
    const char* d = file_.data();
    const unsigned char c = static_cast<unsigned char>(d[pos_]);
    switch (st) {
      case State::kFieldStart:
        if (static_cast<int>(c) == s_.quote) {
          st = State::kQuoted;
          cur_quoted_ = true;
          ++pos_;
        } else if (c == static_cast<unsigned char>(s_.delimiter)) {
          end_field();
          ++pos_;
        } else if (c == '\n' || c == '\r') {
          if (!consume_break()) {
            DXHUB_RETURN_IF_ERROR(refill());
            continue;
          }
          end_field();
          return true;
        } else {
          st = State::kUnquoted;
        }
        break;
      case State::kUnquoted:
      case State::kQuoted: {
        const unsigned char* special = st == State::kQuoted ? quoted_special_ : unquoted_special_;
        const size_t run = pos_;
        const size_t size = file_.size();
        while (pos_ < size && !special[static_cast<unsigned char>(d[pos_])]) ++pos_;
        append(d + run, pos_ - run);
        if (pos_ >= size) break;
        const unsigned char s = static_cast<unsigned char>(d[pos_]);
        if (gb && s >= 0x81) {
          // A GBK/GB18030 lead byte takes its second byte with it, whatever it is.
          if (pos_ + 1 >= size && !file_.eof()) {
            DXHUB_RETURN_IF_ERROR(refill());
            continue;
          }
          const size_t take = (pos_ + 1 < size && is_gb_second_byte(static_cast<unsigned char>(d[pos_ + 1]))) ? 2 : 1;
          append(d + pos_, take);
          pos_ += take;
        } else if (s == '\n' || s == '\r') {
          const size_t at = pos_;
          if (!consume_break()) {
            DXHUB_RETURN_IF_ERROR(refill());
            continue;
          }
          if (st == State::kUnquoted) {
            end_field();
            return true;
          }
          append(file_.data() + at, pos_ - at);  // a line break inside a quoted field is kept as it is
          if (first_break_ == 0) first_break_ = abs(pos_);
        } else if (st == State::kQuoted) {  // the quote
          ++pos_;
          st = State::kQuoteInQuoted;
        } else {  // the delimiter
          end_field();
          ++pos_;
          st = State::kFieldStart;
        }
        break;
      }
      case State::kQuoteInQuoted:
        if (static_cast<int>(c) == s_.quote) {
          append(d + pos_, 1);  // "" inside quotes is one quote
          ++pos_;
          st = State::kQuoted;
        } else if (c == static_cast<unsigned char>(s_.delimiter)) {
          end_field();
          ++pos_;
          st = State::kFieldStart;
        } else if (c == '\n' || c == '\r') {
          if (!consume_break()) {
            DXHUB_RETURN_IF_ERROR(refill());
            continue;
          }
          end_field();
          return true;
        } else {
          if (problem_ == Problem::kNone) {
            problem_ = Problem::kTextAfterQuote;
            problem_column_ = field_count_ + 1;
          }
          st = State::kUnquoted;  // read on to the record's end
        }
        break;
    }
  }
}

Status CsvReader::skip_physical_line() {
  for (;;) {
    if (pos_ >= file_.size()) {
      if (file_.eof()) return Status::ok();
      rec_start_ = pos_;
      DXHUB_RETURN_IF_ERROR(refill());
      continue;
    }
    const char c = file_.data()[pos_];
    if (c == '\n' || c == '\r') {
      if (!consume_break()) {
        rec_start_ = pos_;
        DXHUB_RETURN_IF_ERROR(refill());
        continue;
      }
      return Status::ok();
    }
    ++pos_;
  }
}

std::string_view CsvReader::raw() const {
  std::string_view r =
      oversized_ ? std::string_view(oversize_raw_) : std::string_view(file_.data() + rec_start_, pos_ - rec_start_);
  if (problem_ == Problem::kUnterminated && first_break_ != 0) {
    r = r.substr(0, std::min<uint64_t>(r.size(), first_break_ - record_offset_));
  }
  return r;
}

void CsvReader::set_ref(uint64_t line) {
  ref_.assign(name_);
  ref_.append(" line ");
  char digits[24];
  auto res = std::to_chars(digits, digits + sizeof digits, line);
  ref_.append(digits, res.ptr);
}

Status CsvReader::report(RowSink& sink, const std::string& reason) {
  set_ref(record_line_);
  return sink.on_bad_input(BadInput{ref_, reason, raw()});
}

bool CsvReader::decode_record_at_once() {
  // One iconv call for the whole record: the '\0' after each field is ASCII
  // and converts to itself, so the converted fields are found by their NULs.
  conv_buf_.clear();
  size_t bad = 0;
  if (!decoder_.decode_append(std::string_view(field_buf_.data(), field_buf_.size()), conv_buf_, &bad)) return false;
  conv_ends_.clear();
  size_t at = 0;
  for (size_t f = 0; f < field_ends_.size(); ++f) {
    const void* nul = std::memchr(conv_buf_.data() + at, '\0', conv_buf_.size() - at);
    if (nul == nullptr) return false;
    at = static_cast<size_t>(static_cast<const char*>(nul) - conv_buf_.data());
    conv_ends_.push_back(at);
    ++at;
  }
  if (at != conv_buf_.size()) return false;  // a NUL inside a field: convert field by field
  for (size_t k = 0; k < index_.size(); ++k) {
    const size_t f = index_[k];
    const size_t begin = f == 0 ? 0 : conv_ends_[f - 1] + 1;
    values_[k] = FieldValue::text(std::string_view(conv_buf_.data() + begin, conv_ends_[f] - begin));
    if (s_.empty_as_null && values_[k].s.empty() && !field_quoted_[f]) values_[k] = FieldValue::null();
  }
  return true;
}

bool CsvReader::decode_fields() {
  // The fast path; on any failure the field-by-field path below finds the
  // column to blame (and ignores columns that were not asked for).
  if (!decoder_.is_utf8() && decode_record_at_once()) return true;
  conv_buf_.clear();
  conv_ends_.clear();
  for (size_t k = 0; k < index_.size(); ++k) {
    const size_t f = index_[k];
    const size_t begin = f == 0 ? 0 : field_ends_[f - 1] + 1;
    std::string_view text(field_buf_.data() + begin, field_ends_[f] - begin);
    size_t bad = 0;
    if (decoder_.is_utf8()) {
      if (!TextDecoder::valid_utf8(text, &bad)) {
        reason_ = "invalid UTF-8 byte sequence at column " + std::to_string(f + 1);
        return false;
      }
      values_[k] = FieldValue::text(text);
    } else {
      if (!decoder_.decode_append(text, conv_buf_, &bad)) {
        reason_ = std::string("invalid ") + text_encoding_name(decoder_.encoding()) + " byte sequence at column " +
                  std::to_string(f + 1);
        return false;
      }
      conv_ends_.push_back(conv_buf_.size());
      conv_buf_.push_back('\0');
    }
  }
  size_t begin = 0;
  for (size_t k = 0; k < index_.size(); ++k) {
    const size_t f = index_[k];
    if (!decoder_.is_utf8()) {  // views only now: conv_buf_ may have moved while growing
      values_[k] = FieldValue::text(std::string_view(conv_buf_.data() + begin, conv_ends_[k] - begin));
      begin = conv_ends_[k] + 1;
    }
    if (s_.empty_as_null && values_[k].s.empty() && !field_quoted_[f]) values_[k] = FieldValue::null();
  }
  return true;
}

Status CsvReader::start(const std::vector<std::string>& requested, const nlohmann::json& resume) {
  DXHUB_RETURN_IF_ERROR(refill());
  // A byte order mark is not part of the first field.
  const char* d = file_.data();
  if (decoder_.encoding() == TextEncoding::kUtf8 && file_.size() >= 3 && std::memcmp(d, "\xEF\xBB\xBF", 3) == 0) {
    pos_ = 3;
  } else if (decoder_.encoding() == TextEncoding::kGb18030 && file_.size() >= 4 &&
             std::memcmp(d, "\x84\x31\x95\x33", 4) == 0) {
    pos_ = 4;
  }
  for (uint64_t k = 0; k < s_.skip_lines; ++k) DXHUB_RETURN_IF_ERROR(skip_physical_line());
  if (s_.header) {
    DXHUB_ASSIGN_OR_RETURN(bool got, next_record());
    if (!got) return data_error(name_ + ": no header row (empty file)");
    if (problem_ != Problem::kNone) return data_error(name_ + ": the header row is broken (bad quoting or too long)");
    for (size_t f = 0; f < field_ends_.size(); ++f) {
      const size_t begin = f == 0 ? 0 : field_ends_[f - 1] + 1;
      std::string_view text(field_buf_.data() + begin, field_ends_[f] - begin);
      std::string name;
      size_t bad = 0;
      if (!decoder_.decode_append(text, name, &bad)) {
        return data_error(name_ + ": header column " + std::to_string(f + 1) + " has bytes invalid in " +
                          text_encoding_name(decoder_.encoding()));
      }
      if (name.empty()) return data_error(name_ + ": header column " + std::to_string(f + 1) + " is empty");
      file_columns_.push_back(std::move(name));
    }
  } else {
    file_columns_ = s_.column_names;
  }
  std::unordered_map<std::string, size_t> by_name;
  for (size_t f = 0; f < file_columns_.size(); ++f) {
    if (!by_name.emplace(file_columns_[f], f).second) {
      return data_error(name_ + ": column \"" + file_columns_[f] + "\" appears twice in the header");
    }
  }
  columns_ = requested.empty() ? file_columns_ : requested;
  for (const auto& c : columns_) {
    auto it = by_name.find(c);
    if (it == by_name.end()) return data_error(name_ + ": the file has no column \"" + c + "\"");
    index_.push_back(it->second);
  }
  values_.resize(columns_.size());
  next_offset_ = abs(pos_);
  next_line_ = line_;
  if (!resume.is_null()) {
    if (!resume.is_object() || !resume.contains("offset") || !resume["offset"].is_number_unsigned() ||
        !resume.contains("line") || !resume["line"].is_number_unsigned()) {
      return config_error(name_ + ": resume position must be {\"offset\": N, \"line\": N}");
    }
    const uint64_t offset = resume["offset"].get<uint64_t>();
    if (offset > next_offset_) {
      DXHUB_RETURN_IF_ERROR(file_.seek(offset));
      pos_ = rec_start_ = 0;
      line_ = resume["line"].get<uint64_t>();
      next_offset_ = offset;
      next_line_ = line_;
    }
  }
  return Status::ok();
}

Expected<size_t> CsvReader::read(size_t max_rows, RowSink& sink) {
  started_ = true;
  size_t handed = 0;
  while (handed < max_rows) {
    DXHUB_ASSIGN_OR_RETURN(bool got, next_record());
    if (!got) break;
    if (problem_ == Problem::kUnterminated) {
      DXHUB_RETURN_IF_ERROR(report(sink, "unterminated quoted field (reading resumes at the next line)"));
      ++handed;
      if (first_break_ != 0) {
        DXHUB_RETURN_IF_ERROR(file_.seek(first_break_));
        pos_ = rec_start_ = 0;
        line_ = record_line_ + 1;
      }
    } else if (problem_ != Problem::kNone) {
      switch (problem_) {
        case Problem::kTextAfterQuote:
          reason_ = "text after the closing quote of column " + std::to_string(problem_column_);
          break;
        case Problem::kFieldTooBig:
          reason_ = "column " + std::to_string(problem_column_) + " is longer than max_field_bytes (" +
                    std::to_string(s_.max_field_bytes) + ")";
          break;
        case Problem::kRecordTooBig:
          reason_ = "record longer than max_record_bytes (" + std::to_string(s_.max_record_bytes) + ")";
          break;
        default:
          reason_ = "record has more than " + std::to_string(kMaxFields) + " fields";
          break;
      }
      DXHUB_RETURN_IF_ERROR(report(sink, reason_));
      ++handed;
    } else if (s_.skip_empty_lines && field_count_ == 1 && field_ends_[0] == 0 && !field_quoted_[0]) {
      // an empty line: nothing to hand out
    } else if (field_count_ != file_columns_.size()) {
      reason_ = "record has " + std::to_string(field_count_) + " fields, expected " +
                std::to_string(file_columns_.size());
      DXHUB_RETURN_IF_ERROR(report(sink, reason_));
      ++handed;
    } else if (!decode_fields()) {
      DXHUB_RETURN_IF_ERROR(report(sink, reason_));
      ++handed;
    } else {
      set_ref(record_line_);
      DXHUB_RETURN_IF_ERROR(sink.on_row(RowView(values_.data(), values_.size(), ref_)));
      ++handed;
    }
    next_offset_ = abs(pos_);
    next_line_ = line_;
  }
  return handed;
}

}  // namespace

Expected<std::unique_ptr<FileFormatReader>> open_csv_reader(const nlohmann::json& format,
                                                            const FileFormatInput& input,
                                                            const std::vector<std::string>& columns) {
  DXHUB_ASSIGN_OR_RETURN(CsvSettings settings, parse_settings(format));
  const std::string& name = input.display_name.empty() ? input.path : input.display_name;
  DXHUB_ASSIGN_OR_RETURN(FileBuffer file, FileBuffer::open(input.path, name, settings.max_record_bytes));
  DXHUB_ASSIGN_OR_RETURN(TextDecoder decoder, TextDecoder::open(settings.encoding));
  auto reader = std::make_unique<CsvReader>(std::move(settings), std::move(file), std::move(decoder), name);
  DXHUB_RETURN_IF_ERROR(reader->start(columns, input.resume));
  return std::unique_ptr<FileFormatReader>(std::move(reader));
}

}  // namespace dxhub
