// Random and mutated files never crash a reader: each ends in rows, bad
// input or an error status, and every handed-out text is NUL-terminated
// (CollectingSink checks) and within the file's size.
#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "tests/connectors/csv_test_support.h"

namespace dxhub::testing {
namespace {

void read_whatever(const nlohmann::json& format, const std::string& path, size_t file_size) {
  auto reader = open_reader(format, path);
  if (!reader) {
    EXPECT_NE(reader.status().code(), StatusCode::kInternal) << reader.status().to_string();
    return;
  }
  RecordingSink sink;
  Status st = read_all(**reader, sink, 7);
  EXPECT_NE(st.code(), StatusCode::kInternal) << st.to_string();
  size_t handed = sink.rows.size() + sink.bads.size();
  EXPECT_LE(handed, file_size + 1);
  for (const auto& row : sink.rows) {
    for (const auto& v : row) EXPECT_LE(v.s.size(), std::max<size_t>(file_size, 64) * 2);
  }
}

TEST(HostileInputTest, RandomBytesAsCsvAndJsonLines) {
  TempDir dir;
  std::mt19937 rng(20261202);
  const std::string alphabet = std::string("a,\"\r\n\t{}[]:\\|0 ") + "\x81\x7C\xE4\xB8\xAD\xC3\xFF\x00";
  for (int round = 0; round < 300; ++round) {
    std::string bytes;
    const size_t len = rng() % 400;
    for (size_t k = 0; k < len; ++k) bytes += alphabet[rng() % alphabet.size()];
    const std::string path = dir.file("r" + std::to_string(round));
    write_file(path, bytes);
    const char* encodings[] = {"utf-8", "gbk", "gb18030"};
    read_whatever({{"kind", "csv"}, {"encoding", encodings[round % 3]}, {"max_record_bytes", 64 + round % 50},
                   {"max_field_bytes", 16 + round % 40}},
                  path, bytes.size());
    read_whatever({{"kind", "csv"}, {"header", false}, {"column_names", {"a", "b"}}, {"delimiter", "|"},
                   {"encoding", encodings[(round + 1) % 3]}},
                  path, bytes.size());
    read_whatever({{"kind", "jsonl"}, {"max_line_bytes", 64 + round % 100}}, path, bytes.size());
  }
}

TEST(HostileInputTest, MutatedXlsx) {
  TempDir dir;
  const std::string good = dir.file("good.xlsx");
  run_python(
      "import sys, zipfile\n"
      "parts = {\n"
      " 'xl/workbook.xml': '<workbook xmlns:r=\"r\"><sheets><sheet name=\"S\" r:id=\"rId1\"/></sheets></workbook>',\n"
      " 'xl/_rels/workbook.xml.rels': '<Relationships><Relationship Id=\"rId1\" Target=\"worksheets/s.xml\"/></Relationships>',\n"
      " 'xl/sharedStrings.xml': '<sst><si><t>a</t></si><si><t>b</t></si></sst>',\n"
      " 'xl/styles.xml': '<styleSheet><cellXfs><xf numFmtId=\"14\"/></cellXfs></styleSheet>',\n"
      " 'xl/worksheets/s.xml': '<worksheet><sheetData><row r=\"1\"><c r=\"A1\" t=\"s\"><v>0</v></c><c r=\"B1\" t=\"s\"><v>1</v></c></row>'\n"
      "   + ''.join('<row r=\"%d\"><c r=\"A%d\" s=\"0\"><v>%d</v></c><c r=\"B%d\" t=\"inlineStr\"><is><t>x%d</t></is></c></row>' % (i, i, 40000 + i, i, i) for i in range(2, 60))\n"
      "   + '</sheetData></worksheet>'}\n"
      "with zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_STORED) as z:\n"
      "    for k, v in parts.items(): z.writestr(k, v)\n",
      good);
  std::string bytes;
  {
    std::ifstream in(good, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  RecordingSink clean;
  auto reader = open_reader({{"kind", "xlsx"}}, good);
  ASSERT_TRUE(reader) << reader.status().to_string();
  ASSERT_TRUE(read_all(**reader, clean).is_ok());
  EXPECT_EQ(clean.rows.size(), 58u);
  EXPECT_EQ(clean.rows[0][0].s, "2009-07-08");  // serial 40002
  std::mt19937 rng(5);
  for (int round = 0; round < 200; ++round) {
    std::string mutated = bytes;
    for (int k = 0; k < 1 + round % 8; ++k) mutated[rng() % mutated.size()] = static_cast<char>(rng());
    const std::string path = dir.file("m" + std::to_string(round) + ".xlsx");
    write_file(path, mutated);
    read_whatever({{"kind", "xlsx"}}, path, mutated.size());
  }
}

}  // namespace
}  // namespace dxhub::testing
