#include "connectors/file/xlsx_reader.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <unordered_map>

#include "connectors/file/csv_format_settings.h"
#include "connectors/file/xlsx_archive.h"
#include "core/common/utf8.h"

namespace dxhub {

namespace xlsx {

namespace {
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void civil_from_days(int64_t z, int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
}
}  // namespace

bool serial_to_text(double serial, bool date1904, bool with_time, std::string& out) {
  if (!std::isfinite(serial) || serial < 0 || serial >= 2958466) return false;
  const int64_t total = std::llround(serial * 86400.0);
  int64_t days = total / 86400;
  const int64_t seconds = total % 86400;
  int64_t epoch;
  if (date1904) {
    epoch = days_from_civil(1904, 1, 1);
  } else if (days == 60) {
    return false;  // 1900-02-29: Lotus 1-2-3's leap year bug, kept by Excel
  } else if (days < 60) {
    epoch = days_from_civil(1899, 12, 31);  // serial 1 is 1900-01-01
  } else {
    epoch = days_from_civil(1899, 12, 30);  // one day back for the day that never was
  }
  int64_t y;
  unsigned m, d;
  civil_from_days(epoch + days, y, m, d);
  char buf[32];
  int n;
  if (with_time) {
    n = std::snprintf(buf, sizeof buf, "%04lld-%02u-%02u %02lld:%02lld:%02lld", static_cast<long long>(y), m, d,
                      static_cast<long long>(seconds / 3600), static_cast<long long>(seconds / 60 % 60),
                      static_cast<long long>(seconds % 60));
  } else {
    n = std::snprintf(buf, sizeof buf, "%04lld-%02u-%02u", static_cast<long long>(y), m, d);
  }
  out.append(buf, static_cast<size_t>(n));
  return true;
}

int classify_number_format(int id, const std::string& code) {
  if (code.empty()) {
    if (id >= 14 && id <= 17) return 1;                     // m/d/yyyy, d-mmm-yy, d-mmm, mmm-yy
    if ((id >= 18 && id <= 22) || (id >= 45 && id <= 47)) return 2;  // times, m/d/yyyy h:mm
    if ((id >= 27 && id <= 36) || (id >= 50 && id <= 58)) return 1;  // CJK locale dates (yyyy年m月d日)
    return 0;
  }
  bool date = false, time = false;
  for (size_t i = 0; i < code.size(); ++i) {
    const char c = code[i];
    if (c == '"') {  // literal text
      size_t close = code.find('"', i + 1);
      if (close == std::string::npos) break;
      i = close;
    } else if (c == '\\' || c == '_' || c == '*') {
      ++i;  // escaped / padding character
    } else if (c == '[') {  // [Red], [$-804], but [h] [mm] [ss] are elapsed times
      size_t close = code.find(']', i + 1);
      if (close == std::string::npos) break;
      const std::string inside = code.substr(i + 1, close - i - 1);
      if (!inside.empty() && (inside[0] == 'h' || inside[0] == 'H' || inside[0] == 's' || inside[0] == 'S')) {
        time = true;
      }
      i = close;
    } else if (c == ';') {
      break;  // only the first section decides
    } else {
      switch (c) {
        case 'y': case 'Y': case 'd': case 'D': case 'm': case 'M': date = true; break;
        case 'h': case 'H': case 's': case 'S': time = true; break;
        default: break;
      }
    }
  }
  if (time) return 2;
  return date ? 1 : 0;
}

}  // namespace xlsx

namespace {

constexpr const char* kKind = "xlsx";

struct XlsxSettings {
  std::string sheet;
  bool header = true;
  std::vector<std::string> column_names;
  ZipLimits limits;
};

// Column index of a cell reference ("B7" -> 1), or -1.
long column_of(std::string_view ref) {
  long col = 0;
  size_t i = 0;
  while (i < ref.size() && ref[i] >= 'A' && ref[i] <= 'Z' && i < 4) {
    col = col * 26 + (ref[i] - 'A' + 1);
    ++i;
  }
  return i == 0 ? -1 : col - 1;
}

uint64_t parse_u64(std::string_view s, bool& ok) {
  uint64_t v = 0;
  auto res = std::from_chars(s.data(), s.data() + s.size(), v);
  ok = res.ec == std::errc() && res.ptr == s.data() + s.size();
  return v;
}

std::string column_letters(size_t col) {
  std::string out;
  for (size_t c = col + 1; c > 0; c = (c - 1) / 26) out.insert(out.begin(), static_cast<char>('A' + (c - 1) % 26));
  return out;
}

class XlsxReader final : public FileFormatReader {
 public:
  XlsxReader(XlsxSettings s, std::string name) : s_(std::move(s)), name_(std::move(name)) {
    cell_text_.reserve(1024);
    row_text_.reserve(4096);
  }
  Status start(const std::string& path, const std::vector<std::string>& requested, const nlohmann::json& resume);
  const std::vector<std::string>& columns() const override { return columns_; }
  Expected<size_t> read(size_t max_rows, RowSink& sink) override;
  nlohmann::json position() const override {
    if (!started_) return nullptr;
    return {{"row", done_row_}};
  }

 private:
  struct Cell {
    FieldValue value;
    size_t text_at = std::string::npos;  // in row_text_, patched into value.s at the row's end
  };
  Status load_workbook(std::string& sheet_path);
  Status load_styles();
  Status load_shared_strings();
  // Reads the next <row> into cells_; false at the end of the sheet.
  Expected<bool> next_row();
  Status finish_cell(long col, char type, long style);

  XlsxSettings s_;
  std::string name_;
  std::unique_ptr<ZipArchive> zip_;
  std::unique_ptr<XmlStream> sheet_;
  bool date1904_ = false;
  std::vector<uint8_t> style_kind_;  // per cellXfs index: xlsx::classify_number_format
  std::string sst_;                  // shared strings, each followed by '\0'
  std::vector<size_t> sst_at_;

  std::vector<std::string> columns_;
  std::vector<size_t> index_;  // columns_[k] is sheet column index_[k]
  size_t width_ = 0;           // sheet columns kept (header width)
  std::vector<Cell> cells_;
  std::vector<FieldValue> values_;
  std::string cell_text_;
  std::string row_text_;
  uint64_t row_number_ = 0;
  std::string problem_;  // the row's first bad cell
  std::string ref_, reason_;
  bool in_sheet_data_ = false;
  bool started_ = false;
  uint64_t done_row_ = 0;
  uint64_t skip_to_row_ = 0;
};

Status XlsxReader::load_workbook(std::string& sheet_path) {
  DXHUB_ASSIGN_OR_RETURN(auto entry, zip_->open_entry("xl/workbook.xml"));
  DXHUB_ASSIGN_OR_RETURN(auto xml, XmlStream::open(std::move(entry)));
  std::string chosen_rid;
  bool found = false;
  for (;;) {
    DXHUB_ASSIGN_OR_RETURN(bool more, xml->next());
    if (!more) break;
    if (xml->node() != XmlStream::Node::kStart) continue;
    if (xml->name() == "workbookPr") {
      xml->attributes([&](std::string_view n, std::string_view v) {
        if (n == "date1904") date1904_ = v == "1" || v == "true";
      });
    } else if (xml->name() == "sheet" && !found) {
      std::string sheet_name, rid;
      xml->attributes([&](std::string_view n, std::string_view v) {
        if (n == "name") sheet_name = v;
        if (n == "id") rid = v;
      });
      if (s_.sheet.empty() || sheet_name == s_.sheet) {
        found = true;
        chosen_rid = rid;
        if (s_.sheet.empty()) s_.sheet = sheet_name;
      }
    }
  }
  if (!found) {
    return data_error(name_ + (s_.sheet.empty() ? ": the workbook has no sheet" : ": no sheet named \"" + s_.sheet + "\""));
  }
  DXHUB_ASSIGN_OR_RETURN(auto rels_entry, zip_->open_entry("xl/_rels/workbook.xml.rels"));
  DXHUB_ASSIGN_OR_RETURN(auto rels, XmlStream::open(std::move(rels_entry)));
  for (;;) {
    DXHUB_ASSIGN_OR_RETURN(bool more, rels->next());
    if (!more) break;
    if (rels->node() != XmlStream::Node::kStart || rels->name() != "Relationship") continue;
    std::string id, target;
    rels->attributes([&](std::string_view n, std::string_view v) {
      if (n == "Id") id = v;
      if (n == "Target") target = v;
    });
    if (id == chosen_rid && !target.empty()) {
      sheet_path = target[0] == '/' ? target.substr(1) : "xl/" + target;
      return Status::ok();
    }
  }
  return data_error(name_ + ": sheet \"" + s_.sheet + "\" has no part in the workbook relationships");
}

Status XlsxReader::load_styles() {
  DXHUB_ASSIGN_OR_RETURN(auto entry, zip_->open_entry("xl/styles.xml", false));
  if (!entry) return Status::ok();
  DXHUB_ASSIGN_OR_RETURN(auto xml, XmlStream::open(std::move(entry)));
  std::unordered_map<int, std::string> custom;
  bool in_cell_xfs = false;
  for (;;) {
    DXHUB_ASSIGN_OR_RETURN(bool more, xml->next());
    if (!more) break;
    if (xml->node() == XmlStream::Node::kEnd && xml->name() == "cellXfs") in_cell_xfs = false;
    if (xml->node() != XmlStream::Node::kStart) continue;
    if (xml->name() == "numFmt") {
      int id = -1;
      std::string code;
      xml->attributes([&](std::string_view n, std::string_view v) {
        if (n == "numFmtId") std::from_chars(v.data(), v.data() + v.size(), id);
        if (n == "formatCode") code = v;
      });
      if (id >= 0) custom[id] = code;
    } else if (xml->name() == "cellXfs") {
      in_cell_xfs = !xml->empty_element();
    } else if (xml->name() == "xf" && in_cell_xfs) {
      int id = 0;
      xml->attributes([&](std::string_view n, std::string_view v) {
        if (n == "numFmtId") std::from_chars(v.data(), v.data() + v.size(), id);
      });
      auto it = custom.find(id);
      style_kind_.push_back(static_cast<uint8_t>(xlsx::classify_number_format(id, it == custom.end() ? "" : it->second)));
    }
  }
  return Status::ok();
}

Status XlsxReader::load_shared_strings() {
  DXHUB_ASSIGN_OR_RETURN(auto entry, zip_->open_entry("xl/sharedStrings.xml", false));
  if (!entry) return Status::ok();
  DXHUB_ASSIGN_OR_RETURN(auto xml, XmlStream::open(std::move(entry)));
  bool in_si = false, in_t = false;
  int phonetic_depth = 0;  // <rPh> runs are pronunciation hints, not text
  for (;;) {
    DXHUB_ASSIGN_OR_RETURN(bool more, xml->next());
    if (!more) break;
    const auto node = xml->node();
    if (node == XmlStream::Node::kStart) {
      const auto n = xml->name();
      if (n == "si") {
        in_si = true;
        sst_at_.push_back(sst_.size());
        if (xml->empty_element()) {
          sst_.push_back('\0');
          in_si = false;
        }
      } else if (n == "rPh") {
        if (!xml->empty_element()) ++phonetic_depth;
      } else if (n == "t") {
        in_t = !xml->empty_element();
      }
    } else if (node == XmlStream::Node::kEnd) {
      const auto n = xml->name();
      if (n == "si" && in_si) {
        sst_.push_back('\0');
        in_si = false;
      } else if (n == "rPh") {
        --phonetic_depth;
      } else if (n == "t") {
        in_t = false;
      }
    } else if (node == XmlStream::Node::kText && in_si && in_t && phonetic_depth == 0) {
      sst_.append(xml->text());
    }
  }
  return Status::ok();
}

Status XlsxReader::finish_cell(long col, char type, long style) {
  if (col < 0 || static_cast<size_t>(col) >= cells_.size()) return Status::ok();  // outside the kept columns
  Cell& cell = cells_[static_cast<size_t>(col)];
  cell = Cell{};
  auto set_text = [&](std::string_view text) {
    cell.text_at = row_text_.size();
    row_text_.append(text);
    row_text_.push_back('\0');
    cell.value = FieldValue::text(std::string_view(nullptr, text.size()));
  };
  auto fail = [&](const char* what) {
    if (problem_.empty()) problem_ = std::string("column ") + column_letters(static_cast<size_t>(col)) + ": " + what;
  };
  switch (type) {
    case 's': {
      bool ok = false;
      uint64_t i = parse_u64(cell_text_, ok);
      if (!ok || i >= sst_at_.size()) return fail("shared string index out of range"), Status::ok();
      const size_t at = sst_at_[i];
      cell.value = FieldValue::text(std::string_view(sst_.data() + at));
      return Status::ok();
    }
    case 'i':  // inline string
    case 't':  // formula string result
    case 'd':  // ISO 8601 date text
      set_text(cell_text_);
      return Status::ok();
    case 'b':
      cell.value = FieldValue::integer(cell_text_ == "1" || cell_text_ == "true" ? 1 : 0);
      return Status::ok();
    case 'e':
      return Status::ok();  // an error value (#DIV/0!): null
    default:
      break;
  }
  if (cell_text_.empty()) return Status::ok();
  char* end = nullptr;
  const double v = std::strtod(cell_text_.c_str(), &end);
  if (end != cell_text_.c_str() + cell_text_.size()) return fail("not a number"), Status::ok();
  const int kind = style >= 0 && static_cast<size_t>(style) < style_kind_.size() ? style_kind_[static_cast<size_t>(style)] : 0;
  if (kind != 0) {
    const size_t before = row_text_.size();
    if (!xlsx::serial_to_text(v, date1904_, kind == 2, row_text_)) {
      return fail("date serial is no real day (negative, past 9999, or the 1900-02-29 of Excel's 1900 leap year bug)"),
             Status::ok();
    }
    cell.text_at = before;
    cell.value = FieldValue::text(std::string_view(nullptr, row_text_.size() - before));
    row_text_.push_back('\0');
  } else if (v == std::floor(v) && std::fabs(v) < 9007199254740992.0) {
    cell.value = FieldValue::integer(static_cast<int64_t>(v));
  } else {
    cell.value = FieldValue::real(v);
  }
  return Status::ok();
}

Expected<bool> XlsxReader::next_row() {
  for (auto& c : cells_) c = Cell{};
  row_text_.clear();
  problem_.clear();
  bool in_row = false;
  long col = -1, style = -1, next_col = 0;
  char type = 'n';
  bool in_value = false, in_is_t = false, in_cell = false;
  int phonetic_depth = 0;
  for (;;) {
    DXHUB_ASSIGN_OR_RETURN(bool more, sheet_->next());
    if (!more) return false;
    const auto node = sheet_->node();
    if (node == XmlStream::Node::kStart) {
      const auto n = sheet_->name();
      if (!in_sheet_data_) {
        if (n == "sheetData" && !sheet_->empty_element()) in_sheet_data_ = true;
        continue;
      }
      if (n == "row") {
        in_row = true;
        uint64_t number = row_number_ + 1;
        sheet_->attributes([&](std::string_view an, std::string_view v) {
          bool ok = false;
          if (an == "r") {
            uint64_t r = parse_u64(v, ok);
            if (ok) number = r;
          }
        });
        row_number_ = number;
        if (sheet_->empty_element()) return true;
      } else if (n == "c" && in_row) {
        col = -1;
        style = -1;
        type = 'n';
        sheet_->attributes([&](std::string_view an, std::string_view v) {
          if (an == "r") {
            col = column_of(v);
          } else if (an == "s") {
            bool ok = false;
            uint64_t s = parse_u64(v, ok);
            if (ok) style = static_cast<long>(s);
          } else if (an == "t") {
            type = v == "s" ? 's' : v == "inlineStr" ? 'i' : v == "str" ? 't' : v == "b" ? 'b' : v == "e" ? 'e' : v == "d" ? 'd' : 'n';
          }
        });
        if (col < 0) col = next_col;
        next_col = col + 1;
        cell_text_.clear();
        if (sheet_->empty_element()) {
          if (col >= 0 && static_cast<size_t>(col) < cells_.size()) cells_[static_cast<size_t>(col)] = Cell{};
        } else {
          in_cell = true;
        }
      } else if (in_cell && n == "v") {
        in_value = !sheet_->empty_element();
      } else if (in_cell && n == "rPh") {
        if (!sheet_->empty_element()) ++phonetic_depth;
      } else if (in_cell && n == "t" && type == 'i') {
        in_is_t = !sheet_->empty_element();
      }
    } else if (node == XmlStream::Node::kEnd) {
      const auto n = sheet_->name();
      if (n == "sheetData") {
        in_sheet_data_ = false;
      } else if (n == "row" && in_row) {
        return true;
      } else if (n == "c" && in_cell) {
        in_cell = false;
        DXHUB_RETURN_IF_ERROR(finish_cell(col, type, style));
      } else if (n == "v") {
        in_value = false;
      } else if (n == "t") {
        in_is_t = false;
      } else if (n == "rPh") {
        --phonetic_depth;
      }
    } else if (node == XmlStream::Node::kText && in_cell && (in_value || (in_is_t && phonetic_depth == 0))) {
      cell_text_.append(sheet_->text());
    }
  }
}

Status XlsxReader::start(const std::string& path, const std::vector<std::string>& requested,
                         const nlohmann::json& resume) {
  DXHUB_ASSIGN_OR_RETURN(zip_, ZipArchive::open(path, name_, s_.limits));
  std::string sheet_path;
  DXHUB_RETURN_IF_ERROR(load_workbook(sheet_path));
  DXHUB_RETURN_IF_ERROR(load_styles());
  DXHUB_RETURN_IF_ERROR(load_shared_strings());
  DXHUB_ASSIGN_OR_RETURN(auto entry, zip_->open_entry(sheet_path));
  DXHUB_ASSIGN_OR_RETURN(sheet_, XmlStream::open(std::move(entry)));
  std::vector<std::string> file_columns;
  if (s_.header) {
    cells_.resize(16384);  // Excel's column limit, for the header row only
    DXHUB_ASSIGN_OR_RETURN(bool got, next_row());
    if (!got) return data_error(name_ + ": sheet \"" + s_.sheet + "\" has no header row");
    size_t last = 0;
    for (size_t c = 0; c < cells_.size(); ++c) {
      if (!cells_[c].value.is_null()) last = c + 1;
    }
    for (size_t c = 0; c < last; ++c) {
      const Cell& cell = cells_[c];
      std::string name;
      if (cell.value.type == FieldValue::Type::kText) {
        name = cell.text_at == std::string::npos ? std::string(cell.value.s)
                                                 : std::string(row_text_.data() + cell.text_at, cell.value.s.size());
      } else if (cell.value.type == FieldValue::Type::kInt) {
        name = std::to_string(cell.value.i);
      }
      if (name.empty()) name = column_letters(c);  // an unnamed column is known by its letter
      file_columns.push_back(std::move(name));
    }
  } else {
    file_columns = s_.column_names;
  }
  width_ = file_columns.size();
  cells_.assign(width_, Cell{});
  std::unordered_map<std::string, size_t> by_name;
  for (size_t c = 0; c < file_columns.size(); ++c) {
    if (!by_name.emplace(file_columns[c], c).second) {
      return data_error(name_ + ": column \"" + file_columns[c] + "\" appears twice in the header");
    }
  }
  columns_ = requested.empty() ? file_columns : requested;
  for (const auto& c : columns_) {
    auto it = by_name.find(c);
    if (it == by_name.end()) return data_error(name_ + ": sheet \"" + s_.sheet + "\" has no column \"" + c + "\"");
    index_.push_back(it->second);
  }
  values_.resize(columns_.size());
  done_row_ = row_number_;
  if (!resume.is_null()) {
    if (!resume.is_object() || !resume.contains("row") || !resume["row"].is_number_integer()) {
      return config_error(name_ + ": resume position must be {\"row\": N}");
    }
    skip_to_row_ = resume["row"].get<uint64_t>();
    done_row_ = std::max<uint64_t>(done_row_, skip_to_row_);
  }
  ref_.reserve(name_.size() + s_.sheet.size() + 32);
  return Status::ok();
}

Expected<size_t> XlsxReader::read(size_t max_rows, RowSink& sink) {
  started_ = true;
  size_t handed = 0;
  while (handed < max_rows) {
    DXHUB_ASSIGN_OR_RETURN(bool got, next_row());
    if (!got) break;
    if (row_number_ <= skip_to_row_) continue;
    ref_.assign(name_);
    ref_.append(" sheet ");
    ref_.append(s_.sheet);
    ref_.append(" row ");
    char digits[24];
    auto res = std::to_chars(digits, digits + sizeof digits, row_number_);
    ref_.append(digits, res.ptr);
    if (!problem_.empty()) {
      DXHUB_RETURN_IF_ERROR(sink.on_bad_input(BadInput{ref_, problem_, {}}));
      ++handed;
      done_row_ = row_number_;
      continue;
    }
    bool any = false;
    for (size_t k = 0; k < index_.size(); ++k) {
      Cell& cell = cells_[index_[k]];
      if (cell.text_at != std::string::npos) {
        cell.value.s = std::string_view(row_text_.data() + cell.text_at, cell.value.s.size());
      }
      values_[k] = cell.value;
      any = any || !cell.value.is_null();
    }
    if (any) {  // a row of empty cells is no record
      DXHUB_RETURN_IF_ERROR(sink.on_row(RowView(values_.data(), values_.size(), ref_)));
      ++handed;
    }
    done_row_ = row_number_;
  }
  return handed;
}

}  // namespace

Expected<std::unique_ptr<FileFormatReader>> open_xlsx_reader(const nlohmann::json& format,
                                                             const FileFormatInput& input,
                                                             const std::vector<std::string>& columns) {
  namespace fs = file_settings;
  DXHUB_RETURN_IF_ERROR(fs::check_keys(
      format, kKind, {"kind", "sheet", "header", "column_names", "max_entry_bytes", "max_compression_ratio"}));
  XlsxSettings s;
  DXHUB_RETURN_IF_ERROR(fs::get_string(format, kKind, "sheet", s.sheet));
  DXHUB_RETURN_IF_ERROR(fs::get_bool(format, kKind, "header", s.header));
  DXHUB_RETURN_IF_ERROR(fs::get_size(format, kKind, "max_entry_bytes", 1024, 1ULL << 34, s.limits.max_entry_bytes));
  DXHUB_RETURN_IF_ERROR(fs::get_size(format, kKind, "max_compression_ratio", 2, 100000, s.limits.max_ratio));
  if (format.contains("column_names")) {
    const auto& names = format["column_names"];
    if (!names.is_array() || names.empty()) {
      return config_error("file format xlsx: column_names must be a non-empty array of strings");
    }
    for (const auto& n : names) {
      if (!n.is_string() || n.get<std::string>().empty()) {
        return config_error("file format xlsx: column_names must be a non-empty array of strings");
      }
      s.column_names.push_back(n.get<std::string>());
    }
  }
  if (!s.header && s.column_names.empty()) {
    return config_error("file format xlsx: column_names is required when header is false");
  }
  if (s.header && !s.column_names.empty()) {
    return config_error("file format xlsx: column_names is for sheets without a header row (set header to false)");
  }
  const std::string& name = input.display_name.empty() ? input.path : input.display_name;
  auto reader = std::make_unique<XlsxReader>(std::move(s), name);
  DXHUB_RETURN_IF_ERROR(reader->start(input.path, columns, input.resume));
  return std::unique_ptr<FileFormatReader>(std::move(reader));
}

}  // namespace dxhub
