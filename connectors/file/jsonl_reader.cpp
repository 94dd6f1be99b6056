#include "connectors/file/jsonl_reader.h"

#include <simdjson.h>

#include <charconv>
#include <cstring>

#include "connectors/common/json_scalar.h"
#include "connectors/file/csv_file_buffer.h"
#include "connectors/file/csv_format_settings.h"

namespace dxhub {

namespace {

constexpr const char* kKind = "jsonl";
constexpr size_t kOversizeRawBytes = 64 * 1024;

class JsonlReader final : public FileFormatReader {
 public:
  JsonlReader(FileBuffer file, std::string name, uint64_t max_line, bool dotted)
      : file_(std::move(file)), name_(std::move(name)), max_line_(max_line), dotted_(dotted), parser_(max_line) {
    ref_.reserve(name_.size() + 32);
    nested_buf_.reserve(4096);
    // Room for ordinary lines up front: the parser and its document grow
    // (allocate) for any line longer than all before it otherwise. Parsing
    // blanks sizes both (the EMPTY error is expected).
    const size_t room = std::min<uint64_t>(max_line_, 64 * 1024);
    std::string blanks(room + simdjson::SIMDJSON_PADDING, ' ');
    (void)parser_.parse(blanks.data(), room, false).error();
  }

  Status start(const std::vector<std::string>& requested, const nlohmann::json& resume);
  const std::vector<std::string>& columns() const override { return columns_; }
  Expected<size_t> read(size_t max_rows, RowSink& sink) override;
  nlohmann::json position() const override {
    if (!started_) return nullptr;
    return {{"offset", next_offset_}, {"line", next_line_}};
  }

 private:
  // The next line in [line_begin_, line_end_) of the window (no '\n'); false at the end.
  Expected<bool> next_line();
  void set_ref(uint64_t line);
  simdjson::simdjson_result<simdjson::dom::element> lookup(simdjson::dom::element object, size_t column) const;

  FileBuffer file_;
  std::string name_;
  uint64_t max_line_;
  bool dotted_;
  simdjson::dom::parser parser_;
  simdjson::internal::string_builder<> nested_builder_;
  std::string nested_buf_;
  std::vector<size_t> nested_at_;  // per column: offset in nested_buf_, or npos

  std::vector<std::string> columns_;
  std::vector<std::vector<std::string>> paths_;  // per column: its dotted parts (empty: the name as a key)
  std::vector<FieldValue> values_;

  size_t pos_ = 0;
  size_t line_begin_ = 0, line_end_ = 0;
  bool oversized_ = false;
  std::string oversize_raw_;
  uint64_t line_ = 1;
  uint64_t record_line_ = 1;
  std::string ref_;
  std::string reason_;
  bool started_ = false;
  uint64_t next_offset_ = 0;
  uint64_t next_line_ = 1;
};

Expected<bool> JsonlReader::next_line() {
  oversized_ = false;
  size_t start = pos_;
  record_line_ = line_;
  for (;;) {
    const char* d = file_.data();
    const void* nl = pos_ < file_.size() ? std::memchr(d + pos_, '\n', file_.size() - pos_) : nullptr;
    if (nl != nullptr) {
      const size_t at = static_cast<size_t>(static_cast<const char*>(nl) - d);
      line_begin_ = start;
      line_end_ = at;
      pos_ = at + 1;
      ++line_;
      return true;
    }
    pos_ = file_.size();
    if (file_.eof()) {
      if (start == pos_ && !oversized_) return false;
      line_begin_ = start;
      line_end_ = pos_;
      ++line_;
      return true;
    }
    if (!oversized_ && file_.size() - start >= file_.capacity()) {
      oversized_ = true;  // keep a prefix as the raw input, skip the rest of the line
      oversize_raw_.assign(d + start, std::min(kOversizeRawBytes, file_.size() - start));
    }
    DXHUB_ASSIGN_OR_RETURN(size_t moved, file_.refill(oversized_ ? pos_ : start));
    pos_ -= moved;
    start = oversized_ ? pos_ : start - moved;
  }
}

void JsonlReader::set_ref(uint64_t line) {
  ref_.assign(name_);
  ref_.append(" line ");
  char digits[24];
  auto res = std::to_chars(digits, digits + sizeof digits, line);
  ref_.append(digits, res.ptr);
}

simdjson::simdjson_result<simdjson::dom::element> JsonlReader::lookup(simdjson::dom::element object,
                                                                     size_t column) const {
  auto direct = object.at_key(columns_[column]);
  if (direct.error() != simdjson::NO_SUCH_FIELD || paths_[column].empty()) return direct;
  simdjson::dom::element at = object;
  for (const auto& part : paths_[column]) {
    if (!at.is_object()) return simdjson::NO_SUCH_FIELD;
    auto next = at.at_key(part);
    if (next.error()) return next;
    at = next.value_unsafe();
  }
  return at;
}

Status JsonlReader::start(const std::vector<std::string>& requested, const nlohmann::json& resume) {
  DXHUB_RETURN_IF_ERROR(file_.refill(0).status());
  if (file_.size() >= 3 && std::memcmp(file_.data(), "\xEF\xBB\xBF", 3) == 0) pos_ = 3;
  const size_t first = pos_;
  if (requested.empty()) {
    // Every column the file has: the keys of its first object line.
    for (;;) {
      DXHUB_ASSIGN_OR_RETURN(bool got, next_line());
      if (!got) break;
      if (oversized_) continue;
      auto doc = parser_.parse(file_.data() + line_begin_, line_end_ - line_begin_, false);
      if (doc.error()) continue;
      simdjson::dom::element root = doc.value_unsafe();
      simdjson::dom::object object{};
      if (root.get(object) != simdjson::SUCCESS) continue;
      for (auto field : object) columns_.emplace_back(field.key);
      break;
    }
    DXHUB_RETURN_IF_ERROR(file_.seek(0));
    DXHUB_RETURN_IF_ERROR(file_.refill(0).status());
    pos_ = first;
    line_ = 1;
  } else {
    columns_ = requested;
  }
  for (const auto& c : columns_) {
    std::vector<std::string> parts;
    if (dotted_ && c.find('.') != std::string::npos) {
      size_t from = 0;
      for (;;) {
        size_t dot = c.find('.', from);
        parts.push_back(c.substr(from, dot == std::string::npos ? std::string::npos : dot - from));
        if (dot == std::string::npos) break;
        from = dot + 1;
      }
    }
    paths_.push_back(std::move(parts));
  }
  values_.resize(columns_.size());
  nested_at_.resize(columns_.size());
  next_offset_ = file_.file_offset() + pos_;
  if (!resume.is_null()) {
    if (!resume.is_object() || !resume.contains("offset") || !resume["offset"].is_number_integer() ||
        !resume.contains("line") || !resume["line"].is_number_integer()) {
      return config_error(name_ + ": resume position must be {\"offset\": N, \"line\": N}");
    }
    const uint64_t offset = resume["offset"].get<uint64_t>();
    if (offset > next_offset_) {
      DXHUB_RETURN_IF_ERROR(file_.seek(offset));
      pos_ = 0;
      line_ = resume["line"].get<uint64_t>();
      next_offset_ = offset;
    }
  }
  next_line_ = line_;
  return Status::ok();
}

Expected<size_t> JsonlReader::read(size_t max_rows, RowSink& sink) {
  started_ = true;
  size_t handed = 0;
  while (handed < max_rows) {
    DXHUB_ASSIGN_OR_RETURN(bool got, next_line());
    if (!got) break;
    const char* text = file_.data() + line_begin_;
    size_t len = line_end_ - line_begin_;
    if (oversized_) {
      set_ref(record_line_);
      reason_ = "line longer than max_line_bytes (" + std::to_string(max_line_) + ")";
      DXHUB_RETURN_IF_ERROR(sink.on_bad_input(BadInput{ref_, reason_, oversize_raw_}));
      ++handed;
    } else {
      size_t blank = 0;
      while (blank < len && (text[blank] == ' ' || text[blank] == '\t' || text[blank] == '\r')) ++blank;
      if (blank == len) {  // an empty line: nothing to hand out
        next_offset_ = file_.file_offset() + pos_;
        next_line_ = line_;
        continue;
      }
      // The window keeps SIMDJSON_PADDING readable bytes after any line.
      auto doc = parser_.parse(text, len, false);
      std::string_view raw(text, len);
      if (doc.error()) {
        set_ref(record_line_);
        if (doc.error() == simdjson::UTF8_ERROR) {
          reason_ = "invalid UTF-8";
        } else {
          reason_ = std::string("not JSON (") + simdjson::error_message(doc.error()) + ")";
        }
        DXHUB_RETURN_IF_ERROR(sink.on_bad_input(BadInput{ref_, reason_, raw}));
      } else if (!doc.value_unsafe().is_object()) {
        set_ref(record_line_);
        DXHUB_RETURN_IF_ERROR(sink.on_bad_input(BadInput{ref_, "not a JSON object", raw}));
      } else {
        simdjson::dom::element object = doc.value_unsafe();
        nested_buf_.clear();
        for (size_t c = 0; c < columns_.size(); ++c) {
          nested_at_[c] = std::string::npos;
          auto found = lookup(object, c);
          if (found.error()) {
            values_[c] = FieldValue::null();
            continue;
          }
          simdjson::dom::element v = found.value_unsafe();
          if (json_scalar_value(v, values_[c])) continue;
          // An object or array: its JSON text.
          nested_builder_.clear();
          nested_builder_.append(v);
          nested_at_[c] = nested_buf_.size();
          nested_buf_.append(nested_builder_.str());
          nested_buf_.push_back('\0');
        }
        for (size_t c = 0; c < columns_.size(); ++c) {
          if (nested_at_[c] == std::string::npos) continue;
          values_[c] = FieldValue::text(std::string_view(nested_buf_.data() + nested_at_[c]));
        }
        set_ref(record_line_);
        DXHUB_RETURN_IF_ERROR(sink.on_row(RowView(values_.data(), values_.size(), ref_)));
      }
      ++handed;
    }
    next_offset_ = file_.file_offset() + pos_;
    next_line_ = line_;
  }
  return handed;
}

}  // namespace

Expected<std::unique_ptr<FileFormatReader>> open_jsonl_reader(const nlohmann::json& format,
                                                              const FileFormatInput& input,
                                                              const std::vector<std::string>& columns) {
  namespace fs = file_settings;
  DXHUB_RETURN_IF_ERROR(fs::check_keys(format, kKind, {"kind", "max_line_bytes", "dotted_paths"}));
  uint64_t max_line = 4 << 20;
  bool dotted = true;
  DXHUB_RETURN_IF_ERROR(fs::get_size(format, kKind, "max_line_bytes", 64, 1ULL << 30, max_line));
  DXHUB_RETURN_IF_ERROR(fs::get_bool(format, kKind, "dotted_paths", dotted));
  const std::string& name = input.display_name.empty() ? input.path : input.display_name;
  DXHUB_ASSIGN_OR_RETURN(FileBuffer file, FileBuffer::open(input.path, name, max_line, simdjson::SIMDJSON_PADDING));
  auto reader = std::make_unique<JsonlReader>(std::move(file), name, max_line, dotted);
  DXHUB_RETURN_IF_ERROR(reader->start(columns, input.resume));
  return std::unique_ptr<FileFormatReader>(std::move(reader));
}

}  // namespace dxhub
