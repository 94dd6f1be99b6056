#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "connectors/file/xlsx_reader.h"
#include "tests/connectors/csv_test_support.h"

namespace dxhub::testing {
namespace {

using Parts = std::map<std::string, std::string>;

// Zips `parts` into `path` with Python's zipfile (deflate), as Excel would.
void write_xlsx(const std::string& path, const Parts& parts) {
  const std::string dir = path + ".parts";
  for (const auto& [name, body] : parts) {
    std::filesystem::create_directories(std::filesystem::path(dir + "/" + name).parent_path());
    write_file(dir + "/" + name, body);
  }
  run_python(
      "import os, sys, zipfile\n"
      "out = sys.argv[1]\n"
      "root = out + '.parts'\n"
      "with zipfile.ZipFile(out, 'w', zipfile.ZIP_DEFLATED) as z:\n"
      "    for d, _, files in os.walk(root):\n"
      "        for f in files:\n"
      "            p = os.path.join(d, f)\n"
      "            z.write(p, os.path.relpath(p, root))\n",
      path);
}

const char* kWorkbook =
    "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>"
    "<workbook xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" "
    "xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\">"
    "<workbookPr DATE1904/><sheets><sheet name=\"Sheet1\" sheetId=\"1\" r:id=\"rId1\"/>"
    "<sheet name=\"数据\" sheetId=\"2\" r:id=\"rId2\"/></sheets></workbook>";

const char* kRels =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
    "<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
    "<Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet\" "
    "Target=\"worksheets/sheet1.xml\"/>"
    "<Relationship Id=\"rId2\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet\" "
    "Target=\"/xl/worksheets/sheet2.xml\"/></Relationships>";

const char* kStyles =
    "<styleSheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\">"
    "<numFmts count=\"2\"><numFmt numFmtId=\"164\" formatCode=\"yyyy/mm/dd\\ hh:mm\"/>"
    "<numFmt numFmtId=\"165\" formatCode=\"[Red]0.00\"/></numFmts>"
    "<cellStyleXfs count=\"1\"><xf numFmtId=\"14\"/></cellStyleXfs>"
    "<cellXfs count=\"4\"><xf numFmtId=\"0\"/><xf numFmtId=\"14\"/><xf numFmtId=\"164\"/><xf numFmtId=\"165\"/>"
    "</cellXfs></styleSheet>";

const char* kShared =
    "<sst xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" count=\"6\" uniqueCount=\"6\">"
    "<si><t>id</t></si><si><t>name</t></si><si><t>born</t></si><si><t>when</t></si>"
    "<si><r><rPr><b/></rPr><t>张</t></r><r><t xml:space=\"preserve\">三 &amp; co</t></r>"
    "<rPh sb=\"0\" eb=\"1\"><t>zhang</t></rPh></si>"
    "<si><t>amount</t></si></sst>";

std::string sheet(const std::string& rows) {
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
         "<worksheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\"><dimension ref=\"A1:E4\"/>"
         "<sheetData>" + rows + "</sheetData></worksheet>";
}

const char* kRows =
    "<row r=\"1\"><c r=\"A1\" t=\"s\"><v>0</v></c><c r=\"B1\" t=\"s\"><v>1</v></c><c r=\"C1\" t=\"s\"><v>2</v></c>"
    "<c r=\"D1\" t=\"s\"><v>3</v></c><c r=\"E1\" t=\"s\"><v>5</v></c></row>"
    "<row r=\"2\"><c r=\"A2\"><v>1</v></c><c r=\"B2\" t=\"s\"><v>4</v></c><c r=\"C2\" s=\"1\"><v>45292</v></c>"
    "<c r=\"D2\" s=\"2\"><v>45292.5</v></c><c r=\"E2\" s=\"3\"><v>12.25</v></c></row>"
    "<row r=\"3\"/>"
    "<row r=\"5\"><c r=\"A5\"><v>2</v></c><c r=\"B5\" t=\"inlineStr\"><is><t>inline</t></is></c>"
    "<c r=\"C5\" s=\"1\"/><c r=\"E5\" t=\"b\"><v>1</v></c></row>"
    "<row r=\"6\"><c r=\"A6\" t=\"str\"><f>A5&amp;\"x\"</f><v>2x</v></c><c r=\"B6\" t=\"e\"><v>#N/A</v></c></row>";

Parts workbook_parts(bool date1904 = false) {
  std::string wb = kWorkbook;
  wb.replace(wb.find("DATE1904"), 8, date1904 ? "date1904=\"1\"" : "");
  return {{"[Content_Types].xml", "<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\"/>"},
          {"xl/workbook.xml", wb},
          {"xl/_rels/workbook.xml.rels", kRels},
          {"xl/styles.xml", kStyles},
          {"xl/sharedStrings.xml", kShared},
          {"xl/worksheets/sheet1.xml", sheet(kRows)},
          {"xl/worksheets/sheet2.xml",
           sheet("<row><c t=\"inlineStr\"><is><t>k</t></is></c></row><row><c><v>7</v></c></row>")}};
}

TEST(XlsxReaderTest, CellsOfEveryKind) {
  TempDir dir;
  const std::string path = dir.file("book.xlsx");
  write_xlsx(path, workbook_parts());
  auto reader = open_reader({{"kind", "xlsx"}}, path);
  ASSERT_TRUE(reader) << reader.status().to_string();
  EXPECT_EQ((*reader)->columns(), (std::vector<std::string>{"id", "name", "born", "when", "amount"}));
  RecordingSink sink;
  ASSERT_TRUE(read_all(**reader, sink).is_ok());
  ASSERT_EQ(sink.rows.size(), 3u);
  const auto& r = sink.rows[0];
  EXPECT_EQ(r[0].type, FieldValue::Type::kInt);
  EXPECT_EQ(r[0].i, 1);
  EXPECT_EQ(r[1].s, "张三 & co");  // runs joined, the phonetic hint left out
  EXPECT_EQ(r[2].s, "2024-01-01");
  EXPECT_EQ(r[3].s, "2024-01-01 12:00:00");
  EXPECT_EQ(r[4].type, FieldValue::Type::kReal);  // [Red]0.00 is no date
  EXPECT_EQ(r[4].d, 12.25);
  EXPECT_EQ(sink.rows[1][1].s, "inline");
  EXPECT_EQ(sink.rows[1][2].type, FieldValue::Type::kNull);
  EXPECT_EQ(sink.rows[1][3].type, FieldValue::Type::kNull);
  EXPECT_EQ(sink.rows[1][4].i, 1);
  EXPECT_EQ(sink.rows[2][0].s, "2x");
  EXPECT_EQ(sink.rows[2][1].type, FieldValue::Type::kNull);
  EXPECT_EQ(sink.refs, (std::vector<std::string>{"in.file sheet Sheet1 row 2", "in.file sheet Sheet1 row 5",
                                                 "in.file sheet Sheet1 row 6"}));
}

TEST(XlsxReaderTest, NamedSheetRequestedColumnsDate1904AndResume) {
  TempDir dir;
  const std::string path = dir.file("book.xlsx");
  write_xlsx(path, workbook_parts(true));
  auto named = open_reader({{"kind", "xlsx"}, {"sheet", "数据"}}, path);
  ASSERT_TRUE(named) << named.status().to_string();
  EXPECT_EQ((*named)->columns(), (std::vector<std::string>{"k"}));
  RecordingSink one;
  ASSERT_TRUE(read_all(**named, one).is_ok());
  ASSERT_EQ(one.rows.size(), 1u);
  EXPECT_EQ(one.rows[0][0].i, 7);
  EXPECT_EQ(one.refs[0], "in.file sheet 数据 row 2");

  auto reader = open_reader({{"kind", "xlsx"}}, path, {"born", "id"});
  ASSERT_TRUE(reader);
  RecordingSink first;
  ASSERT_EQ(*(*reader)->read(1, first), 1u);
  EXPECT_EQ(first.rows[0][0].s, "2028-01-02");  // 45292 days after 1904-01-01
  EXPECT_EQ(first.rows[0][1].i, 1);
  auto resumed = open_reader({{"kind", "xlsx"}}, path, {"id"}, (*reader)->position());
  ASSERT_TRUE(resumed);
  RecordingSink rest;
  ASSERT_TRUE(read_all(**resumed, rest).is_ok());
  EXPECT_EQ(rest.refs, (std::vector<std::string>{"in.file sheet Sheet1 row 5", "in.file sheet Sheet1 row 6"}));

  auto headless = open_reader({{"kind", "xlsx"}, {"sheet", "数据"}, {"header", false}, {"column_names", {"v"}}}, path);
  ASSERT_TRUE(headless);
  RecordingSink both;
  ASSERT_TRUE(read_all(**headless, both).is_ok());
  EXPECT_EQ(both.rows.size(), 2u);
  EXPECT_EQ(open_reader({{"kind", "xlsx"}, {"sheets", "x"}}, path).status().code(), StatusCode::kConfig);
  EXPECT_EQ(open_reader({{"kind", "xlsx"}}, path, {"nope"}).status().code(), StatusCode::kData);
}

TEST(XlsxReaderTest, SerialDaysAndDateFormats) {
  auto text = [](double serial, bool d1904, bool with_time) {
    std::string out;
    return xlsx::serial_to_text(serial, d1904, with_time, out) ? out : std::string("<none>");
  };
  EXPECT_EQ(text(1, false, false), "1900-01-01");
  EXPECT_EQ(text(59, false, false), "1900-02-28");
  EXPECT_EQ(text(60, false, false), "<none>");  // 1900-02-29 never was
  EXPECT_EQ(text(61, false, false), "1900-03-01");
  EXPECT_EQ(text(45292, false, false), "2024-01-01");
  EXPECT_EQ(text(45292.99999, false, true), "2024-01-01 23:59:59");
  EXPECT_EQ(text(45292.999999999, false, true), "2024-01-02 00:00:00");
  EXPECT_EQ(text(0, true, false), "1904-01-01");
  EXPECT_EQ(text(-1, false, false), "<none>");
  EXPECT_EQ(xlsx::classify_number_format(14, ""), 1);
  EXPECT_EQ(xlsx::classify_number_format(22, ""), 2);
  EXPECT_EQ(xlsx::classify_number_format(31, ""), 1);
  EXPECT_EQ(xlsx::classify_number_format(2, ""), 0);
  EXPECT_EQ(xlsx::classify_number_format(164, "yyyy\"年\"m\"月\"d\"日\""), 1);
  EXPECT_EQ(xlsx::classify_number_format(165, "h:mm:ss"), 2);
  EXPECT_EQ(xlsx::classify_number_format(166, "[Red]#,##0.00;\"-\"0"), 0);
  EXPECT_EQ(xlsx::classify_number_format(167, "\"day\"0"), 0);
  EXPECT_EQ(xlsx::classify_number_format(168, "General"), 0);
}

TEST(XlsxReaderTest, BadCellsAreBadInput) {
  TempDir dir;
  const std::string path = dir.file("book.xlsx");
  Parts parts = workbook_parts();
  parts["xl/worksheets/sheet1.xml"] = sheet(
      "<row r=\"1\"><c t=\"s\"><v>0</v></c></row>"
      "<row r=\"2\"><c t=\"s\"><v>99</v></c></row>"
      "<row r=\"3\"><c s=\"1\"><v>60</v></c></row>"
      "<row r=\"4\"><c><v>12abc</v></c></row>"
      "<row r=\"5\"><c><v>5</v></c></row>");
  write_xlsx(path, parts);
  auto reader = open_reader({{"kind", "xlsx"}}, path);
  ASSERT_TRUE(reader) << reader.status().to_string();
  RecordingSink sink;
  ASSERT_TRUE(read_all(**reader, sink).is_ok());
  ASSERT_EQ(sink.rows.size(), 1u);
  ASSERT_EQ(sink.bads.size(), 3u);
  EXPECT_EQ(sink.bads[0].ref, "in.file sheet Sheet1 row 2");
  EXPECT_EQ(sink.bads[0].reason, "column A: shared string index out of range");
  EXPECT_NE(sink.bads[1].reason.find("1900-02-29"), std::string::npos);
  EXPECT_EQ(sink.bads[2].reason, "column A: not a number");
}

void expect_refused(const Status& status, const std::string& words) {
  EXPECT_EQ(status.code(), StatusCode::kData) << status.to_string();
  EXPECT_NE(status.message().find("in.file"), std::string::npos) << status.message();
  EXPECT_NE(status.message().find(words), std::string::npos) << status.message();
}

TEST(XlsxReaderTest, HostileArchivesAreRefused) {
  TempDir dir;
  // Not a zip at all.
  write_file(dir.file("text.xlsx"), "id,name\n1,x\n");
  expect_refused(open_reader({{"kind", "xlsx"}}, dir.file("text.xlsx")).status(), "not a zip archive");
  // Truncated: the first half of a real workbook.
  const std::string good = dir.file("good.xlsx");
  write_xlsx(good, workbook_parts());
  const auto size = std::filesystem::file_size(good);
  std::filesystem::copy_file(good, dir.file("cut.xlsx"));
  std::filesystem::resize_file(dir.file("cut.xlsx"), size / 2);
  expect_refused(open_reader({{"kind", "xlsx"}}, dir.file("cut.xlsx")).status(), "truncated");
  // A missing sheet and a sheet part missing from the archive.
  expect_refused(open_reader({{"kind", "xlsx"}, {"sheet", "Sheet9"}}, good).status(), "no sheet named");
  Parts no_part = workbook_parts();
  no_part.erase("xl/worksheets/sheet1.xml");
  write_xlsx(dir.file("nopart.xlsx"), no_part);
  expect_refused(open_reader({{"kind", "xlsx"}}, dir.file("nopart.xlsx")).status(), "no xl/worksheets/sheet1.xml");
  // A DTD with entities (billion laughs) in the sheet.
  Parts dtd = workbook_parts();
  dtd["xl/worksheets/sheet1.xml"] =
      "<?xml version=\"1.0\"?><!DOCTYPE w [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;\">]>"
      "<worksheet><sheetData><row><c t=\"inlineStr\"><is><t>&b;</t></is></c></row></sheetData></worksheet>";
  write_xlsx(dir.file("dtd.xlsx"), dtd);
  expect_refused(open_reader({{"kind", "xlsx"}}, dir.file("dtd.xlsx")).status(), "DTD");
}

TEST(XlsxReaderTest, ZipBombsAreRefusedByDeclaredAndActualSize) {
  TempDir dir;
  // 64 MiB of one repeated row, deflated about 1000:1.
  const std::string bomb = dir.file("bomb.xlsx");
  Parts parts = workbook_parts();
  parts.erase("xl/worksheets/sheet1.xml");
  write_xlsx(bomb, parts);
  run_python(
      "import sys, zipfile\n"
      "row = b'<row><c><v>1</v></c></row>'\n"
      "body = b'<worksheet><sheetData>' + row * (64 * 1024 * 1024 // len(row)) + b'</sheetData></worksheet>'\n"
      "with zipfile.ZipFile(sys.argv[1], 'a', zipfile.ZIP_DEFLATED) as z:\n"
      "    z.writestr('xl/worksheets/sheet1.xml', body)\n",
      bomb);
  expect_refused(open_reader({{"kind", "xlsx"}}, bomb).status(), "zip bomb");  // the ratio
  expect_refused(open_reader({{"kind", "xlsx"}, {"max_compression_ratio", 100000}, {"max_entry_bytes", 1 << 20}}, bomb)
                     .status(),
                 "zip bomb");  // the declared size
  // An entry that lies about its size: both headers say 2000 bytes, it inflates to 4 MiB.
  const std::string liar = dir.file("liar.xlsx");
  write_xlsx(liar, parts);
  run_python(
      "import sys, zipfile, struct\n"
      "row = b'<row><c><v>1</v></c></row>'\n"
      "body = b'<worksheet><sheetData>' + row * (4 * 1024 * 1024 // len(row)) + b'</sheetData></worksheet>'\n"
      "with zipfile.ZipFile(sys.argv[1], 'a', zipfile.ZIP_DEFLATED) as z:\n"
      "    z.writestr('xl/worksheets/sheet1.xml', body)\n"
      "data = bytearray(open(sys.argv[1], 'rb').read())\n"
      "name = b'xl/worksheets/sheet1.xml'\n"
      "for sig, off in ((b'PK\\x03\\x04', 22), (b'PK\\x01\\x02', 24)):\n"
      "    i = 0\n"
      "    while True:\n"
      "        i = data.find(sig, i)\n"
      "        if i < 0: break\n"
      "        n = 30 if sig == b'PK\\x03\\x04' else 46\n"
      "        if data[i + n:i + n + len(name)] == name:\n"
      "            struct.pack_into('<I', data, i + off, 2000)\n"
      "        i += 4\n"
      "open(sys.argv[1], 'wb').write(bytes(data))\n",
      liar);
  auto reader = open_reader({{"kind", "xlsx"}, {"max_compression_ratio", 100000}}, liar);
  Status status = reader.status();
  if (reader) {
    RecordingSink sink;
    status = read_all(**reader, sink);
    EXPECT_LT(sink.rows.size(), 200u);  // stopped near the declared size, not after 4 MiB
  }
  expect_refused(status, "xl/worksheets/sheet1.xml");
}

}  // namespace
}  // namespace dxhub::testing
