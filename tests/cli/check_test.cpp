// `dxhub check` against real SQLite sources, the real public_security
// plugin and mapping files copied into a per-test directory.
#include "core/cli/check_command.h"
#include "core/cli/discover_command.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "core/common/sqlite_db.h"
#include "sandbox/province/province_server.h"
#include "tests/connectors/test_support.h"

namespace dxhub {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}
void write_file(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << text;
}
void replace_in_file(const fs::path& p, const std::string& from, const std::string& to) {
  std::string text = read_file(p);
  size_t at = text.find(from);
  ASSERT_NE(at, std::string::npos) << from;
  text.replace(at, from.size(), to);
  write_file(p, text);
}

const char* const kColumns[] = {"gmsfhm", "xm", "xb", "mz", "csrq", "hh", "yhzgx",
                                "hjdz", "sspcs", "xzjd", "qrrq", "ryzt", "gxsj"};

class CheckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    source_ = tmp_.file("household.db");
    mappings_ = tmp_.path() / "mappings";
    const fs::path repo = fs::path(DXHUB_SOURCE_DIR) / "mappings" / "public_security";
    for (const char* f : {"household_population.avsc", "household_population.mapping.json"}) {
      write_file(mappings_ / "public_security" / f, read_file(repo / f));
    }
    write_file(tmp_.path() / "secret", "check-test-secret-not-real");
    config_ = tmp_.file("dxhub.json");
    write_config("http://127.0.0.1:9/");
  }

  void write_config(const std::string& url) {
    nlohmann::json doc = {
        {"state_db", "var/state.db"},
        {"mappings_dir", "mappings"},
        {"province", {{"url", url}, {"app_key", "daye-hub"}, {"app_secret_file", "secret"}}},
        {"plugins", {{{"name", "public_security"},
                      {"path", DXHUB_PUBLIC_SECURITY_PLUGIN},
                      {"settings", {{"household_db", source_}}}}}}};
    write_file(config_, doc.dump(2));
  }

  // The household table with `rows` good rows; `skip` leaves one column out.
  void make_source(int rows, const std::string& skip = "") {
    auto db = SqliteDb::open(source_, SqliteDb::Mode::kReadWriteCreate);
    ASSERT_TRUE(db) << db.status().to_string();
    std::string ddl = "CREATE TABLE household_population (id INTEGER PRIMARY KEY";
    for (const char* c : kColumns) {
      if (c != skip) ddl += std::string(", ") + c + " TEXT";
    }
    ASSERT_TRUE(db->exec(ddl + ")").is_ok());
    ASSERT_TRUE(db->exec("CREATE INDEX hp_cursor ON household_population (gxsj, id)").is_ok());
    for (int i = 1; i <= rows; ++i) insert_row(*db, i, "1990-01-02", "1", skip);
  }
  static void insert_row(SqliteDb& db, int i, const std::string& birth, const std::string& gender,
                         const std::string& skip = "") {
    std::string values, cols;
    for (const char* c : kColumns) {
      if (c == skip) continue;
      cols += std::string(", ") + c;
      std::string v = std::string(c) == "csrq" ? birth : std::string(c) == "xb" ? gender
                      : std::string(c) == "qrrq" ? "2000-01-01" : std::string(c) == "ryzt" ? "1"
                      : std::string(c) == "gxsj" ? "2026-01-01 08:00:0" + std::to_string(i % 10)
                      : std::string("sample-") + c + "-" + std::to_string(i);
      values += ", '" + v + "'";
    }
    ASSERT_TRUE(db.exec("INSERT INTO household_population (id" + cols + ") VALUES (" + std::to_string(i) + values +
                        ")").is_ok());
  }

  CheckReport check(size_t sample = 100) {
    CheckOptions options;
    options.sample_rows = sample;
    return run_check(config_, options);
  }
  static std::vector<std::string> lines_with(const CheckReport& report, CheckSeverity severity) {
    std::vector<std::string> out;
    for (const auto& f : report.findings) {
      if (f.severity == severity) out.push_back(f.where + ": " + f.message);
    }
    return out;
  }

  TempDir tmp_;
  std::string source_;
  fs::path mappings_;
  std::string config_;
};

TEST_F(CheckTest, GoodResourceChecksOkAndChangesNothing) {
  make_source(5);
  const std::string before = read_file(source_);
  const auto mtime = fs::last_write_time(source_);
  CheckReport report = check();
  EXPECT_EQ(report.exit_code(), 0) << report.to_text();
  EXPECT_TRUE(lines_with(report, CheckSeverity::kError).empty()) << report.to_text();
  ASSERT_EQ(report.resources.size(), 1u);
  EXPECT_EQ(report.resources[0].rows_sampled, 5);
  EXPECT_EQ(report.resources[0].rows_mapped, 5);
  EXPECT_EQ(report.resources[0].would_dead_letter, 0);
  // Nothing written: no state, no work directory, the source untouched.
  EXPECT_FALSE(fs::exists(tmp_.path() / "var"));
  EXPECT_FALSE(fs::exists(source_ + "-wal"));
  EXPECT_FALSE(fs::exists(source_ + "-journal"));
  EXPECT_EQ(read_file(source_), before);
  EXPECT_EQ(fs::last_write_time(source_), mtime);
  std::string text = report.to_text();
  EXPECT_NE(text.find("5 sample rows read, 5 map"), std::string::npos) << text;
  EXPECT_NE(text.find("exit 0"), std::string::npos) << text;
}

TEST_F(CheckTest, SampleIsBoundedBySampleRows) {
  make_source(30);
  CheckReport report = check(7);
  ASSERT_EQ(report.resources.size(), 1u);
  EXPECT_EQ(report.resources[0].rows_sampled, 7);
  EXPECT_EQ(report.exit_code(), 0) << report.to_text();
}

TEST_F(CheckTest, MissingSourceColumnNamesMappingFileAndField) {
  make_source(3, /*skip=*/"xb");
  CheckReport report = check();
  EXPECT_EQ(report.exit_code(), 2) << report.to_text();
  auto errors = lines_with(report, CheckSeverity::kError);
  ASSERT_EQ(errors.size(), 1u) << report.to_text();
  EXPECT_NE(errors[0].find("household_population.mapping.json: field gender (column xb): source column missing"),
            std::string::npos)
      << errors[0];
}

TEST_F(CheckTest, BadSchemaNamesTheSchemaFile) {
  make_source(3);
  replace_in_file(mappings_ / "public_security" / "household_population.avsc", "\"type\": \"string\", \"doc\": \"姓名\"",
                  "\"type\": \"strnig\", \"doc\": \"姓名\"");
  CheckReport report = check();
  EXPECT_EQ(report.exit_code(), 2) << report.to_text();
  auto errors = lines_with(report, CheckSeverity::kError);
  ASSERT_EQ(errors.size(), 1u) << report.to_text();
  EXPECT_NE(errors[0].find("household_population.avsc: "), std::string::npos) << errors[0];
}

TEST_F(CheckTest, BadMappingNamesTheMappingFileAndField) {
  make_source(3);
  replace_in_file(mappings_ / "public_security" / "household_population.mapping.json", "\"field\": \"ethnicity\"",
                  "\"field\": \"ethnicty\"");
  CheckReport report = check();
  EXPECT_EQ(report.exit_code(), 2) << report.to_text();
  auto errors = lines_with(report, CheckSeverity::kError);
  ASSERT_EQ(errors.size(), 1u) << report.to_text();
  EXPECT_NE(errors[0].find("household_population.mapping.json: "), std::string::npos) << errors[0];
  EXPECT_NE(errors[0].find("ethnicty"), std::string::npos) << errors[0];
}

TEST_F(CheckTest, UnreachableSourceExits3) {
  // No database file at all (read-only open: it is not created either).
  CheckReport report = check();
  EXPECT_EQ(report.exit_code(), 3) << report.to_text();
  auto errors = lines_with(report, CheckSeverity::kError);
  ASSERT_EQ(errors.size(), 1u) << report.to_text();
  EXPECT_NE(errors[0].find("connector sqlite_table: source unreachable"), std::string::npos) << errors[0];
  EXPECT_FALSE(fs::exists(source_));
}

TEST_F(CheckTest, RowsThatWouldBeDeadLetteredExit5WithCountsAndNoValues) {
  make_source(4);
  {
    auto db = SqliteDb::open(source_, SqliteDb::Mode::kReadWrite);
    ASSERT_TRUE(db);
    insert_row(*db, 5, "1990-02-30", "1");    // no such day
    insert_row(*db, 6, "1991-03-04", "9");    // unknown gender code
    insert_row(*db, 7, "19920405", "1");      // wrong layout
  }
  CheckReport report = check();
  EXPECT_EQ(report.exit_code(), 5) << report.to_text();
  ASSERT_EQ(report.resources.size(), 1u);
  EXPECT_EQ(report.resources[0].rows_sampled, 7);
  EXPECT_EQ(report.resources[0].rows_mapped, 4);
  EXPECT_EQ(report.resources[0].would_dead_letter, 3);
  std::string text = report.to_text();
  EXPECT_NE(text.find("3 would be dead-lettered"), std::string::npos) << text;
  EXPECT_NE(text.find("field birth_date (column csrq)"), std::string::npos) << text;
  EXPECT_NE(text.find("field gender (column xb)"), std::string::npos) << text;
  for (const char* value : {"1990-02-30", "19920405", "sample-"}) {
    EXPECT_EQ(text.find(value), std::string::npos) << "a source value in the report: " << value;
  }
}

TEST_F(CheckTest, RepeatingPrimaryKeyInTheSampleIsAWarning) {
  make_source(3);
  {
    auto db = SqliteDb::open(source_, SqliteDb::Mode::kReadWrite);
    ASSERT_TRUE(db);
    ASSERT_TRUE(db->exec("UPDATE household_population SET gmsfhm = 'sample-gmsfhm-1' WHERE id = 3").is_ok());
  }
  CheckReport report = check();
  EXPECT_EQ(report.exit_code(), 0) << report.to_text();
  auto warnings = lines_with(report, CheckSeverity::kWarn);
  ASSERT_EQ(warnings.size(), 1u) << report.to_text();
  EXPECT_NE(warnings[0].find("primary key id_card repeats in the sample (1 rows"), std::string::npos) << warnings[0];
  EXPECT_EQ(warnings[0].find("sample-gmsfhm-1"), std::string::npos) << "the key's value is personal data";
}

TEST_F(CheckTest, MissingSecretAndBadUrlAreConfigErrors) {
  make_source(2);
  fs::remove(tmp_.path() / "secret");
  write_config("ftp://127.0.0.1:8750");
  CheckReport report = check();
  EXPECT_EQ(report.exit_code(), 2) << report.to_text();
  auto errors = lines_with(report, CheckSeverity::kError);
  ASSERT_EQ(errors.size(), 2u) << report.to_text();
  EXPECT_NE(errors[0].find("province.url must start with http:// or https://"), std::string::npos) << errors[0];
  EXPECT_NE(errors[1].find("app_secret_file"), std::string::npos) << errors[1];
  // The resource itself still checks out.
  ASSERT_EQ(report.resources.size(), 1u);
  EXPECT_EQ(report.resources[0].rows_mapped, 2);
}

TEST_F(CheckTest, UnknownResourceIsAConfigError) {
  make_source(1);
  CheckOptions options;
  options.resources = {"no_such_resource"};
  CheckReport report = run_check(config_, options);
  EXPECT_EQ(report.exit_code(), 2) << report.to_text();
  EXPECT_TRUE(report.resources.empty());
}

TEST_F(CheckTest, ProvinceFlagReportsAnUnreachableProvinceAsDeliveryFailure) {
  make_source(1);
  write_config("http://127.0.0.1:1");  // nothing listens on port 1
  CheckOptions options;
  options.contact_province = true;
  CheckReport report = run_check(config_, options);
  EXPECT_EQ(report.exit_code(), 4) << report.to_text();
  auto errors = lines_with(report, CheckSeverity::kError);
  ASSERT_EQ(errors.size(), 1u) << report.to_text();
  EXPECT_EQ(errors[0].rfind("province: ", 0), 0u) << errors[0];
  EXPECT_EQ(report.to_text().find("check-test-secret"), std::string::npos);
}

// --province against the mock province on loopback: the right secret is
// accepted (the resource is not registered before its first sync: a
// warning), a wrong one is a delivery failure. Nothing is registered.
TEST_F(CheckTest, ProvinceFlagMakesOneSignedGet) {
  make_source(1);
  province::ProvinceConfig pc;
  pc.db_path = tmp_.file("province.db");
  pc.credentials["daye-hub"] = province::AppCredential{"check-test-secret-not-real"};
  province::ProvinceServer server(pc);
  ASSERT_TRUE(server.start().is_ok());
  write_config("http://127.0.0.1:" + std::to_string(server.port()));
  CheckOptions options;
  options.contact_province = true;
  CheckReport good = run_check(config_, options);
  EXPECT_EQ(good.exit_code(), 0) << good.to_text();
  EXPECT_NE(good.to_text().find("province: the province does not know the resource yet"), std::string::npos)
      << good.to_text();

  write_file(tmp_.path() / "secret", "a-wrong-secret");
  CheckReport wrong = run_check(config_, options);
  EXPECT_EQ(wrong.exit_code(), 4) << wrong.to_text();
  auto errors = lines_with(wrong, CheckSeverity::kError);
  ASSERT_EQ(errors.size(), 1u) << wrong.to_text();
  EXPECT_EQ(errors[0].rfind("province: ", 0), 0u) << errors[0];
  EXPECT_EQ(wrong.to_text().find("a-wrong-secret"), std::string::npos);
  server.stop();
}

// `discover -r RESOURCE` uses the declared resource's connector and settings.
TEST_F(CheckTest, DiscoverFromDeclaredResourceDraftsItsColumns) {
  make_source(3);
  DiscoverRequest request;
  request.config_path = config_;
  request.declared_resource = "public_security/household_population";
  auto draft = run_discover(request);
  if (!draft && draft.status().message().find("lists no columns") != std::string::npos) {
    // sqlite_table does not list its columns yet when asked for none: name them.
    request.columns = {"id"};
    for (const char* c : kColumns) request.columns.emplace_back(c);
    draft = run_discover(request);
  }
  ASSERT_TRUE(draft) << draft.status().to_string();
  EXPECT_EQ(draft->resource, "household_population");
  EXPECT_EQ(draft->rows_sampled, 3);
  EXPECT_EQ(draft->rows_not_mapping, 0);
  auto mapping = nlohmann::json::parse(draft->mapping_json);
  EXPECT_EQ(mapping["primary_key"], "id");  // the settings' key_column
  EXPECT_FALSE(fs::exists(tmp_.path() / "var"));
}

struct PipeCloser {
  void operator()(FILE* f) const { pclose(f); }
};

// The binary: its help and its exit code, JSON output.
TEST_F(CheckTest, BinaryPrintsHelpAndExitsWithTheReportCode) {
  const std::string bin = std::string(DXHUB_BINARY_DIR) + "/bin/dxhub";
  std::string help;
  {
    std::unique_ptr<FILE, PipeCloser> p(popen((bin + " check --help").c_str(), "r"));
    ASSERT_NE(p, nullptr);
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p.get())) > 0) help.append(buf, n);
  }
  EXPECT_NE(help.find("--sample"), std::string::npos) << help;
  EXPECT_NE(help.find("5 sample rows would be dead-lettered"), std::string::npos) << help;
  make_source(2, "xb");
  FILE* p = popen((bin + " -c " + config_ + " check --json").c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int status = pclose(p);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 2) << out;
  auto j = nlohmann::json::parse(out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << out;
  EXPECT_EQ(j["exit_code"], 2);
}

}  // namespace
}  // namespace dxhub
