// Smoke test of the dxhub-sample command line.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "core/common/sqlite_db.h"

namespace {

namespace fs = std::filesystem;

int run(const std::string& args) {
  const std::string command = std::string(DXHUB_BINARY_DIR) + "/bin/dxhub-sample " + args + " >/dev/null 2>&1";
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int64_t count_rows(const std::string& db_path, const std::string& where = "1") {
  auto db = dxhub::SqliteDb::open(db_path, dxhub::SqliteDb::Mode::kReadOnly);
  EXPECT_TRUE(db.has_value());
  auto stmt = db->prepare("SELECT count(*) FROM household_population WHERE " + where);
  EXPECT_TRUE(stmt.has_value());
  EXPECT_TRUE(*stmt->step());
  return stmt->column_int64(0);
}

TEST(SampleCliTest, GeneratesAndChanges) {
  const fs::path dir = fs::temp_directory_path() / ("dxhub_sample_cli_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string db = (dir / "h.db").string();

  EXPECT_EQ(run("household --db " + db + " --rows 300 --seed 9"), 0);
  EXPECT_EQ(count_rows(db), 300);
  EXPECT_NE(run("household --db " + db + " --rows 10"), 0);  // exists
  EXPECT_EQ(run("household --db " + db + " --rows 200 --force"), 0);
  EXPECT_EQ(count_rows(db), 200);
  EXPECT_EQ(run("household-changes --db " + db + " --change 7 --add 3 --timestamp '2026-02-03 04:05:06'"), 0);
  EXPECT_EQ(count_rows(db), 203);
  EXPECT_EQ(count_rows(db, "gxsj = '2026-02-03 04:05:06'"), 10);
  EXPECT_NE(run("household-changes --db " + db + " --timestamp 'yesterday'"), 0);
  EXPECT_NE(run("household --rows 5"), 0);  // --db is required
  EXPECT_EQ(run("--help"), 0);
  fs::remove_all(dir);
}

}  // namespace
