#include "sandbox/sample/file_export.h"

#include <zip.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <vector>

#include "connectors/file/text_encoding.h"
#include "core/common/json_text.h"
#include "core/common/sqlite_db.h"

namespace dxhub::sample {

namespace {

std::string quote_identifier(const std::string& name) {
  std::string out = "\"";
  for (char c : name) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string number_text(const SqliteStmt& stmt, int col) {
  if (stmt.column_type(col) == SQLITE_INTEGER) return std::to_string(stmt.column_int64(col));
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", stmt.column_double(col));
  return buf;
}

void append_csv_field(std::string& line, std::string_view v) {
  const bool quote = v.find_first_of(",\"\r\n") != std::string_view::npos || (!v.empty() && (v.front() == ' ' || v.back() == ' '));
  if (!quote) {
    line.append(v);
    return;
  }
  line.push_back('"');
  for (char c : v) {
    if (c == '"') line.push_back('"');
    line.push_back(c);
  }
  line.push_back('"');
}

void append_xml_text(std::string& out, std::string_view v) {
  for (char ch : v) {
    const unsigned char c = static_cast<unsigned char>(ch);
    switch (ch) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default:
        out.push_back(c < 0x20 && c != '\t' && c != '\n' && c != '\r' ? ' ' : ch);
        break;
    }
  }
}

std::string column_letters(size_t col) {
  std::string out;
  for (size_t c = col + 1; c > 0; c = (c - 1) / 26) out.insert(out.begin(), static_cast<char>('A' + (c - 1) % 26));
  return out;
}

struct ZipCloser {
  void operator()(zip_t* z) const {
    if (z != nullptr) zip_discard(z);
  }
};

Status add_part(zip_t* z, const char* name, const std::string& body) {
  // libzip copies nothing until zip_close: keep the buffer alive by handing it over.
  void* copy = std::malloc(body.size() == 0 ? 1 : body.size());
  if (copy == nullptr) return internal_error("out of memory");
  std::memcpy(copy, body.data(), body.size());
  zip_source_t* src = zip_source_buffer(z, copy, body.size(), 1);
  if (src == nullptr || zip_file_add(z, name, src, ZIP_FL_OVERWRITE | ZIP_FL_ENC_UTF_8) < 0) {
    if (src != nullptr) zip_source_free(src);
    return io_error(std::string("cannot add ") + name + " to the xlsx archive");
  }
  return Status::ok();
}

}  // namespace

Expected<long long> export_table_to_file(const FileExportOptions& o) {
  if (o.format != "csv" && o.format != "jsonl" && o.format != "xlsx") {
    return config_error("--format must be csv, jsonl or xlsx");
  }
  DXHUB_ASSIGN_OR_RETURN(TextEncoding encoding, parse_text_encoding(o.encoding));
  if (encoding != TextEncoding::kUtf8 && o.format != "csv") return config_error("--encoding applies to csv only");
  DXHUB_ASSIGN_OR_RETURN(auto db, SqliteDb::open(o.db, SqliteDb::Mode::kReadOnly, StatusCode::kSource));
  DXHUB_ASSIGN_OR_RETURN(auto stmt, db.prepare("SELECT * FROM " + quote_identifier(o.table)));
  const int ncols = stmt.column_count();
  std::vector<std::string> names;
  for (int c = 0; c < ncols; ++c) names.emplace_back(stmt.column_name(c));
  DXHUB_ASSIGN_OR_RETURN(TextEncoder encoder, TextEncoder::open(encoding));

  const std::string body_path = o.format == "xlsx" ? o.out + ".sheet.tmp" : o.out;
  std::ofstream out(body_path, std::ios::binary | std::ios::trunc);
  if (!out) return io_error("cannot write " + body_path);
  long long rows = 0;
  std::string line, encoded;
  auto emit = [&](const std::string& text) -> Status {
    if (o.format != "csv" || encoding == TextEncoding::kUtf8) {
      out.write(text.data(), static_cast<std::streamsize>(text.size()));
      return Status::ok();
    }
    encoded.clear();
    DXHUB_RETURN_IF_ERROR(encoder.encode_append(text, encoded).with_context("row " + std::to_string(rows + 1)));
    out.write(encoded.data(), static_cast<std::streamsize>(encoded.size()));
    return Status::ok();
  };

  if (o.format == "csv") {
    line.clear();
    for (int c = 0; c < ncols; ++c) {
      if (c) line.push_back(',');
      append_csv_field(line, names[static_cast<size_t>(c)]);
    }
    line += "\r\n";
    DXHUB_RETURN_IF_ERROR(emit(line));
  } else if (o.format == "xlsx") {
    line = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
           "<worksheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\"><sheetData><row r=\"1\">";
    for (int c = 0; c < ncols; ++c) {
      line += "<c r=\"" + column_letters(static_cast<size_t>(c)) + "1\" t=\"inlineStr\"><is><t>";
      append_xml_text(line, names[static_cast<size_t>(c)]);
      line += "</t></is></c>";
    }
    line += "</row>";
    DXHUB_RETURN_IF_ERROR(emit(line));
  }
  for (;;) {
    DXHUB_ASSIGN_OR_RETURN(bool more, stmt.step());
    if (!more) break;
    ++rows;
    line.clear();
    if (o.format == "csv") {
      for (int c = 0; c < ncols; ++c) {
        if (c) line.push_back(',');
        const int type = stmt.column_type(c);
        if (type == SQLITE_NULL) continue;
        if (type == SQLITE_INTEGER || type == SQLITE_FLOAT) {
          line += number_text(stmt, c);
        } else {
          append_csv_field(line, stmt.column_text(c));
        }
      }
      line += "\r\n";
    } else if (o.format == "jsonl") {
      nlohmann::ordered_json row = nlohmann::ordered_json::object();
      for (int c = 0; c < ncols; ++c) {
        const std::string& n = names[static_cast<size_t>(c)];
        switch (stmt.column_type(c)) {
          case SQLITE_NULL: row[n] = nullptr; break;
          case SQLITE_INTEGER: row[n] = stmt.column_int64(c); break;
          case SQLITE_FLOAT: row[n] = stmt.column_double(c); break;
          default: row[n] = std::string(stmt.column_text(c)); break;
        }
      }
      line = dump_json_safely(row);
      line.push_back('\n');
    } else {
      const std::string r = std::to_string(rows + 1);
      line = "<row r=\"" + r + "\">";
      for (int c = 0; c < ncols; ++c) {
        const int type = stmt.column_type(c);
        if (type == SQLITE_NULL) continue;
        const std::string ref = column_letters(static_cast<size_t>(c)) + r;
        if (type == SQLITE_INTEGER || type == SQLITE_FLOAT) {
          line += "<c r=\"" + ref + "\"><v>" + number_text(stmt, c) + "</v></c>";
        } else {
          line += "<c r=\"" + ref + "\" t=\"inlineStr\"><is><t xml:space=\"preserve\">";
          append_xml_text(line, stmt.column_text(c));
          line += "</t></is></c>";
        }
      }
      line += "</row>";
    }
    DXHUB_RETURN_IF_ERROR(emit(line));
  }
  if (o.format == "xlsx") out << "</sheetData></worksheet>";
  out.close();
  if (!out) return io_error("cannot write " + body_path);
  if (o.format != "xlsx") return rows;

  std::error_code ec;
  std::filesystem::remove(o.out, ec);
  int err = 0;
  std::unique_ptr<zip_t, ZipCloser> z(zip_open(o.out.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &err));
  if (!z) return io_error("cannot create " + o.out);
  std::string sheet_name;
  append_xml_text(sheet_name, o.table.substr(0, 31));  // Excel's sheet name limit
  DXHUB_RETURN_IF_ERROR(add_part(
      z.get(), "[Content_Types].xml",
      "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
      "<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">"
      "<Default Extension=\"rels\" ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/>"
      "<Default Extension=\"xml\" ContentType=\"application/xml\"/>"
      "<Override PartName=\"/xl/workbook.xml\" "
      "ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml\"/>"
      "<Override PartName=\"/xl/worksheets/sheet1.xml\" "
      "ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml\"/></Types>"));
  DXHUB_RETURN_IF_ERROR(add_part(
      z.get(), "_rels/.rels",
      "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
      "<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
      "<Relationship Id=\"rId1\" "
      "Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument\" "
      "Target=\"xl/workbook.xml\"/></Relationships>"));
  DXHUB_RETURN_IF_ERROR(add_part(
      z.get(), "xl/workbook.xml",
      "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
      "<workbook xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" "
      "xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\"><sheets>"
      "<sheet name=\"" + sheet_name + "\" sheetId=\"1\" r:id=\"rId1\"/></sheets></workbook>"));
  DXHUB_RETURN_IF_ERROR(add_part(
      z.get(), "xl/_rels/workbook.xml.rels",
      "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
      "<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
      "<Relationship Id=\"rId1\" "
      "Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet\" "
      "Target=\"worksheets/sheet1.xml\"/></Relationships>"));
  zip_source_t* sheet = zip_source_file(z.get(), body_path.c_str(), 0, -1);
  if (sheet == nullptr || zip_file_add(z.get(), "xl/worksheets/sheet1.xml", sheet, ZIP_FL_OVERWRITE) < 0) {
    if (sheet != nullptr) zip_source_free(sheet);
    return io_error("cannot add the sheet to " + o.out);
  }
  if (zip_close(z.get()) != 0) return io_error("cannot write " + o.out + " (" + zip_strerror(z.get()) + ")");
  z.release();  // closed
  std::filesystem::remove(body_path, ec);
  return rows;
}

}  // namespace dxhub::sample
