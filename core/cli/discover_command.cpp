#include "core/cli/discover_command.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <unordered_set>

#include "connectors/connector_factory.h"
#include "core/avro/schema.h"
#include "core/common/json_text.h"
#include "core/engine/hub_config.h"
#include "core/mapping/mapping_spec.h"
#include "core/mapping/record_mapper.h"
#include "core/mapping/value_parsers.h"
#include "core/plugin/plugin_host.h"

namespace dxhub {

namespace {

namespace fs = std::filesystem;
using Type = FieldValue::Type;

constexpr int kDraftDecimalPrecision = 18;  // DECIMAL(18, s): the usual width of amounts in agency tables

// Text layouts discover recognises. Compact forms (YYYYMMDD) are left out:
// they cannot be told apart from codes.
const char* const kDateLayouts[] = {"YYYY-MM-DD", "YYYY/MM/DD"};
const char* const kDateTimeLayouts[] = {"YYYY-MM-DD HH:MM:SS", "YYYY-MM-DDTHH:MM:SS", "YYYY/MM/DD HH:MM:SS"};
constexpr size_t kDateCount = std::size(kDateLayouts);
constexpr size_t kDateTimeCount = std::size(kDateTimeLayouts);

struct OwnedValue {
  Type type = Type::kNull;
  int64_t i = 0;
  double d = 0;
  std::string s;
};

// What the sample showed about one column.
struct ColumnProfile {
  std::string column;
  int64_t nulls = 0, ints = 0, reals = 0, texts = 0, blobs = 0, empty_texts = 0;
  bool invalid_utf8 = false;
  bool date_fits[kDateCount] = {true, true};
  bool datetime_fits[kDateTimeCount] = {true, true, true};
  bool decimal_fits = true;  // every non-empty text is [sign]digits.digits
  bool all_integer_text = true;  // every non-empty text is [-]digits
  int integer_digits = 1, scale = 0;
  bool repeats = false;
  std::unordered_set<std::string> seen;  // for key detection (sample only)
};

// [sign]digits.digits; counts digits left and right of the point.
bool decimal_shape(std::string_view text, int& left, int& right) {
  size_t p = 0;
  if (p < text.size() && (text[p] == '-' || text[p] == '+')) ++p;
  size_t start = p;
  while (p < text.size() && std::isdigit(static_cast<unsigned char>(text[p]))) ++p;
  left = static_cast<int>(p - start);
  if (left == 0 || p >= text.size() || text[p] != '.') return false;
  size_t frac = ++p;
  while (p < text.size() && std::isdigit(static_cast<unsigned char>(text[p]))) ++p;
  right = static_cast<int>(p - frac);
  return right > 0 && p == text.size();
}

int integer_digit_count(int64_t v) {
  uint64_t u = v < 0 ? 0 - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
  int n = 1;
  while (u >= 10) {
    u /= 10;
    ++n;
  }
  return n;
}

class ProfilingSink : public RowSink {
 public:
  ProfilingSink(std::vector<ColumnProfile>& profiles, std::vector<std::vector<OwnedValue>>& rows,
                const std::vector<mapping::TimeLayout>& dates, const std::vector<mapping::TimeLayout>& datetimes)
      : profiles_(profiles), rows_(rows), dates_(dates), datetimes_(datetimes) {}

  Status on_row(const RowView& row) override {
    std::vector<OwnedValue> copy(profiles_.size());
    for (size_t c = 0; c < profiles_.size() && c < row.count; ++c) {
      const FieldValue& v = row[c];
      ColumnProfile& p = profiles_[c];
      copy[c] = OwnedValue{v.type, v.i, v.d, std::string(v.s)};
      switch (v.type) {
        case Type::kNull: ++p.nulls; break;
        case Type::kInt:
          ++p.ints;
          p.integer_digits = std::max(p.integer_digits, integer_digit_count(v.i));
          remember(p, "i" + std::to_string(v.i));
          break;
        case Type::kReal: ++p.reals; remember(p, "r" + std::to_string(v.d)); break;
        case Type::kBlob: ++p.blobs; remember(p, "b" + std::string(v.s)); break;
        case Type::kText: profile_text(p, v.s); break;
      }
    }
    rows_.push_back(std::move(copy));
    return Status::ok();
  }
  Status on_bad_input(const BadInput& bad) override {
    ++bad_inputs;
    if (first_bad.empty()) first_bad = std::string(bad.source_ref) + ": " + std::string(bad.reason);
    return Status::ok();
  }

  int64_t bad_inputs = 0;
  std::string first_bad;

 private:
  static void remember(ColumnProfile& p, std::string key) {
    if (!p.seen.insert(std::move(key)).second) p.repeats = true;
  }
  void profile_text(ColumnProfile& p, std::string_view s) {
    ++p.texts;
    if (!mapping::is_valid_utf8(s)) p.invalid_utf8 = true;
    if (s.empty()) {
      ++p.empty_texts;
      p.repeats = p.repeats || p.empty_texts > 1;
      return;
    }
    remember(p, "t" + std::string(s));
    int32_t days = 0;
    int64_t seconds = 0;
    for (size_t i = 0; i < kDateCount; ++i) p.date_fits[i] = p.date_fits[i] && dates_[i].parse_days(s, days);
    for (size_t i = 0; i < kDateTimeCount; ++i) {
      p.datetime_fits[i] = p.datetime_fits[i] && datetimes_[i].parse_seconds(s, seconds);
    }
    int64_t integer = 0;
    p.all_integer_text = p.all_integer_text && mapping::parse_int64(s, integer);
    int left = 0, right = 0;
    if (p.decimal_fits && decimal_shape(s, left, right)) {
      p.integer_digits = std::max(p.integer_digits, left);
      p.scale = std::max(p.scale, right);
    } else {
      p.decimal_fits = false;
    }
  }

  std::vector<ColumnProfile>& profiles_;
  std::vector<std::vector<OwnedValue>>& rows_;
  const std::vector<mapping::TimeLayout>& dates_;
  const std::vector<mapping::TimeLayout>& datetimes_;
};

bool is_avro_name(const std::string& name) {
  if (name.empty() || !(std::isalpha(static_cast<unsigned char>(name[0])) || name[0] == '_')) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

std::string record_name_for(const std::string& resource) {
  std::string name;
  bool upper = true;
  for (char c : resource) {
    if (std::isalnum(static_cast<unsigned char>(c)) && static_cast<unsigned char>(c) < 0x80) {
      name += upper ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
      upper = false;
    } else {
      upper = true;
    }
  }
  if (name.empty()) return "DraftRecord";
  if (std::isdigit(static_cast<unsigned char>(name[0]))) name = "R" + name;
  return name;
}

struct Drafted {
  std::string field;
  nlohmann::ordered_json type;  // without the null branch
  std::optional<std::string> format;
  bool text_timestamp = false;
  std::string note;  // for the doc and the notes
};

Drafted infer(const ColumnProfile& p) {
  Drafted d;
  const int64_t non_null = p.ints + p.reals + p.texts + p.blobs;
  const bool text_only_empty = p.texts > 0 && p.texts == p.empty_texts;
  if (non_null == 0 || (text_only_empty && p.ints + p.reals + p.blobs == 0)) {
    d.type = "string";
    d.note = "only NULL or empty text in the sample: type unknown, drafted as string";
    return d;
  }
  if (p.blobs > 0) {
    if (p.ints + p.reals == 0) {
      d.type = "bytes";
      if (p.texts > 0) d.note = "blobs and text in the sample: drafted as bytes";
    } else {
      d.type = "string";
      d.note = "blobs and numbers in the sample: drafted as string (blobs must then be UTF-8)";
    }
    return d;
  }
  if (p.texts == 0) {
    if (p.reals == 0) {
      d.type = "long";
    } else {
      d.type = "double";
      d.note = "REAL values: if they are exact amounts, use a decimal type";
    }
    return d;
  }
  if (p.invalid_utf8) {
    d.type = "bytes";
    d.note = "text that is not valid UTF-8 in the sample: drafted as bytes (check the source encoding)";
    return d;
  }
  const bool only_text = p.ints + p.reals == 0;
  if (only_text) {
    for (size_t i = 0; i < kDateCount; ++i) {
      if (p.date_fits[i]) {
        d.type = nlohmann::ordered_json{{"type", "int"}, {"logicalType", "date"}};
        d.format = kDateLayouts[i];
        d.note = std::string("text dates ") + kDateLayouts[i];
        return d;
      }
    }
    for (size_t i = 0; i < kDateTimeCount; ++i) {
      if (p.datetime_fits[i]) {
        d.type = nlohmann::ordered_json{{"type", "long"}, {"logicalType", "timestamp-millis"}};
        d.format = kDateTimeLayouts[i];
        d.text_timestamp = true;
        d.note = std::string("text timestamps ") + kDateTimeLayouts[i] + " in source_timezone, stored as UTC";
        return d;
      }
    }
  }
  if (p.decimal_fits && p.reals == 0) {
    const int precision = std::max(p.integer_digits + p.scale, kDraftDecimalPrecision);
    if (p.integer_digits + p.scale <= mapping::kMaxDecimalPrecision) {
      d.type = nlohmann::ordered_json{{"type", "bytes"},
                                      {"logicalType", "decimal"},
                                      {"precision", std::min(precision, mapping::kMaxDecimalPrecision)},
                                      {"scale", p.scale}};
      d.note = "exact decimals as text (precision " + std::to_string(p.integer_digits + p.scale) +
               " seen, scale " + std::to_string(p.scale) + "): set the source's declared precision";
      return d;
    }
  }
  d.type = "string";
  if (!only_text) {
    d.note = "numbers and text in the sample: drafted as string";
  } else if (p.all_integer_text) {
    d.note = "integers as text: kept as string (codes keep their leading zeros); use long for a quantity";
  }
  return d;
}

// A draft for people to edit: one top-level key per line, one field per line.
std::string one_item_per_line(const nlohmann::ordered_json& object, const char* list_key) {
  std::string out = "{\n";
  size_t n = 0;
  for (const auto& [key, value] : object.items()) {
    out += "  " + dump_json_safely(nlohmann::ordered_json(key)) + ": ";
    if (key == list_key && value.is_array()) {
      out += "[\n";
      for (size_t i = 0; i < value.size(); ++i) {
        out += "    " + dump_json_safely(value[i]) + (i + 1 < value.size() ? ",\n" : "\n");
      }
      out += "  ]";
    } else {
      out += dump_json_safely(value);
    }
    out += ++n < object.size() ? ",\n" : "\n";
  }
  return out + "}\n";
}

bool key_type_ok(const Drafted& d) { return d.type == "string" || d.type == "long"; }

bool ends_with_id(const std::string& name) {
  if (name.size() < 2) return false;
  std::string tail = name.substr(name.size() - 2);
  std::transform(tail.begin(), tail.end(), tail.begin(), [](unsigned char c) { return std::tolower(c); });
  return tail == "id";
}

}  // namespace

std::string safe_resource_name(const std::string& resource) {
  std::string out;
  for (char c : resource) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                    c == '-' || c == '.';
    out += ok ? c : '_';
  }
  if (out.empty() || out.front() == '.' || out.find_first_not_of("_") == std::string::npos) return "draft";
  return out;
}

std::string avro_field_name_for(const std::string& column) {
  if (is_avro_name(column)) return column;
  const bool ascii = std::all_of(column.begin(), column.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
  if (ascii && !column.empty()) {
    std::string out;
    for (char c : column) out += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
    if (std::isdigit(static_cast<unsigned char>(out[0]))) out = "_" + out;
    return out;
  }
  static const char* const kHex = "0123456789abcdef";
  std::string out = "f_";
  for (unsigned char c : column) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out == "f_" ? "f_empty" : out;
}

Expected<DiscoverDraft> draft_from_connector(Connector& connector, const DiscoverOptions& options) {
  const std::vector<std::string> columns = connector.columns();
  if (columns.empty()) {
    return config_error("the connector lists no columns when opened with none (every connector should: columns "
                        "empty = every source column); name them with --columns");
  }
  std::vector<mapping::TimeLayout> dates, datetimes;
  for (const char* l : kDateLayouts) {
    DXHUB_ASSIGN_OR_RETURN(auto layout, mapping::TimeLayout::compile(l, false));
    dates.push_back(std::move(layout));
  }
  for (const char* l : kDateTimeLayouts) {
    DXHUB_ASSIGN_OR_RETURN(auto layout, mapping::TimeLayout::compile(l, true));
    datetimes.push_back(std::move(layout));
  }

  std::vector<ColumnProfile> profiles(columns.size());
  for (size_t c = 0; c < columns.size(); ++c) profiles[c].column = columns[c];
  std::vector<std::vector<OwnedValue>> rows;
  ProfilingSink sink(profiles, rows, dates, datetimes);
  // Bounded: each read hands out rows (sample_rows in all) or ends the loop.
  while (rows.size() < options.sample_rows) {
    DXHUB_ASSIGN_OR_RETURN(size_t got, connector.read(options.sample_rows - rows.size(), sink));
    if (got == 0) break;
  }

  DiscoverDraft draft;
  draft.resource = safe_resource_name(options.resource);
  draft.schema_file = draft.resource + ".avsc";
  draft.mapping_file = draft.resource + ".mapping.json";
  draft.rows_sampled = static_cast<int64_t>(rows.size());
  draft.bad_inputs = sink.bad_inputs;
  if (rows.empty()) draft.notes.push_back("the source returned no rows: every column drafted as string");
  if (sink.bad_inputs > 0) {
    draft.notes.push_back(std::to_string(sink.bad_inputs) + " inputs could not be read as rows (first: " +
                          sink.first_bad + ")");
  }

  // Infer, name, and pick the key.
  std::vector<Drafted> drafted;
  std::unordered_set<std::string> used;
  std::vector<bool> usable(columns.size(), true);
  for (size_t c = 0; c < columns.size(); ++c) {
    const ColumnProfile& p = profiles[c];
    Drafted d = infer(p);
    if (!mapping::is_valid_utf8(p.column)) {
      usable[c] = false;
      draft.notes.push_back("column " + std::to_string(c + 1) + ": its name is not valid UTF-8 and cannot be "
                            "written in a mapping; left out");
    }
    std::string base = avro_field_name_for(p.column);
    std::string name = base;
    for (int n = 2; !used.insert(name).second; ++n) name = base + "_" + std::to_string(n);
    d.field = name;
    drafted.push_back(std::move(d));
  }
  auto key_candidate = [&](size_t c) {
    const ColumnProfile& p = profiles[c];
    return usable[c] && !rows.empty() && p.nulls == 0 && p.empty_texts == 0 && !p.repeats &&
           key_type_ok(drafted[c]);
  };
  std::optional<size_t> key;
  for (size_t c = 0; c < columns.size() && !options.key_hint.empty(); ++c) {
    if (columns[c] == options.key_hint && usable[c] && key_type_ok(drafted[c])) key = c;
  }
  if (key && !key_candidate(*key)) {
    draft.notes.push_back("key column " + columns[*key] + " (from the settings) repeats or holds NULL in the sample");
  }
  for (int pass = 0; pass < 3 && !key; ++pass) {
    for (size_t c = 0; c < columns.size() && !key; ++c) {
      std::string lower = columns[c];
      std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char ch) { return std::tolower(ch); });
      const bool preferred = pass == 0 ? lower == "id" : pass == 1 ? ends_with_id(lower) : true;
      if (preferred && key_candidate(c)) key = c;
    }
  }
  if (!key) {
    for (size_t c = 0; c < columns.size() && !key; ++c) {
      if (usable[c] && key_type_ok(drafted[c])) key = c;
    }
    if (!key) return config_error("no column can be a primary key (a string or long column is needed)");
    draft.notes.push_back("no column is distinct and non-null in the sample; primary_key drafted as " +
                          drafted[*key].field + " (column " + columns[*key] + "): choose the real key");
  }

  // The drafts.
  nlohmann::ordered_json fields = nlohmann::ordered_json::array();
  nlohmann::ordered_json mapped = nlohmann::ordered_json::array();
  bool text_timestamps = false;
  for (size_t c = 0; c < columns.size(); ++c) {
    if (!usable[c]) continue;
    const Drafted& d = drafted[c];
    const ColumnProfile& p = profiles[c];
    std::string doc = "TODO: meaning of column " + p.column;
    if (p.nulls > 0) doc += " (NULL seen in the sample)";
    if (!d.note.empty()) doc += "; " + d.note;
    nlohmann::ordered_json field;
    field["name"] = d.field;
    if (c == *key) {
      field["type"] = d.type;
      doc += "; drafted primary key";
    } else {
      field["type"] = nlohmann::ordered_json::array({"null", d.type});
      field["default"] = nullptr;
    }
    field["doc"] = doc;
    fields.push_back(std::move(field));
    nlohmann::ordered_json m;
    m["field"] = d.field;
    m["column"] = p.column;
    if (d.format) m["format"] = *d.format;
    mapped.push_back(std::move(m));
    text_timestamps = text_timestamps || d.text_timestamp;
    if (!d.note.empty()) draft.notes.push_back("field " + d.field + " (column " + p.column + "): " + d.note);
  }
  nlohmann::ordered_json schema;
  schema["type"] = "record";
  schema["name"] = record_name_for(options.resource);
  schema["namespace"] = "cn.gov.hubei.daye.draft";
  schema["doc"] = "TODO: what resource " + draft.resource + " holds (drafted by dxhub discover from " +
                  std::to_string(rows.size()) + " sample rows)";
  schema["fields"] = std::move(fields);
  nlohmann::ordered_json mapping;
  mapping["resource"] = draft.resource;
  mapping["schema"] = draft.schema_file;
  mapping["primary_key"] = drafted[*key].field;
  if (text_timestamps) {
    mapping["source_timezone"] = "+08:00";
    draft.notes.push_back("source_timezone drafted as +08:00 (Beijing time): check the source's clock");
  }
  mapping["fields"] = std::move(mapped);
  draft.schema_json = one_item_per_line(schema, "fields");
  draft.mapping_json = one_item_per_line(mapping, "fields");

  // Prove the drafts: they load, and they map the rows they came from.
  DXHUB_ASSIGN_OR_RETURN(auto parsed_schema, avro::Schema::from_json(draft.schema_json));
  DXHUB_ASSIGN_OR_RETURN(auto spec, mapping::parse_mapping_spec(draft.mapping_json, draft.mapping_file));
  DXHUB_ASSIGN_OR_RETURN(auto mapper, RecordMapper::build(spec, parsed_schema));
  DXHUB_RETURN_IF_ERROR(mapper.bind(columns));
  std::vector<FieldValue> values(columns.size());
  std::string scratch;
  std::string first_failure;
  for (const auto& row : rows) {
    for (size_t c = 0; c < columns.size(); ++c) values[c] = FieldValue{row[c].type, row[c].i, row[c].d, row[c].s};
    scratch.clear();
    Status s = mapper.encode(RowView(values.data(), values.size()), scratch);
    if (!s.is_ok()) {
      ++draft.rows_not_mapping;
      if (first_failure.empty()) first_failure = s.message();
    }
  }
  if (draft.rows_not_mapping > 0) {
    draft.notes.push_back(std::to_string(draft.rows_not_mapping) +
                          " sample rows do not map through the draft (first: " + first_failure + ")");
  }
  return draft;
}

Status write_drafts(const DiscoverDraft& draft, const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return io_error("cannot create " + dir + ": " + ec.message());
  const fs::path schema_path = fs::path(dir) / draft.schema_file;
  const fs::path mapping_path = fs::path(dir) / draft.mapping_file;
  for (const auto& p : {schema_path, mapping_path}) {
    if (fs::exists(p)) return config_error(p.string() + " exists; not overwritten (move it or choose another --out-dir)");
  }
  for (const auto& [path, text] : {std::pair{schema_path, &draft.schema_json}, std::pair{mapping_path, &draft.mapping_json}}) {
    std::ofstream out(path, std::ios::binary);
    out << *text;
    out.close();
    if (!out) return io_error("cannot write " + path.string());
  }
  return Status::ok();
}

std::string format_drafts(const DiscoverDraft& draft) {
  std::ostringstream out;
  out << "// " << draft.schema_file << "\n" << draft.schema_json << "// " << draft.mapping_file << "\n"
      << draft.mapping_json;
  return out.str();
}

Expected<DiscoverDraft> run_discover(DiscoverRequest request) {
  ConnectorOpenOptions open_options;
  open_options.dry_run = true;  // no file moved, nothing installed; and no work_dir: discover writes nothing there
  auto string_setting = [](const nlohmann::json& settings, const char* key) {
    auto it = settings.find(key);
    return it != settings.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  if (!request.declared_resource.empty()) {
    DXHUB_ASSIGN_OR_RETURN(HubConfig config, load_hub_config(request.config_path, /*need_secret=*/false));
    std::vector<Status> load_errors;
    PluginHost host = PluginHost::load(config.plugins, config.mappings_dir, load_errors);
    for (const auto& spec : host.resources()) {
      if (spec.resource_id != request.declared_resource &&
          spec.plugin + "/" + spec.resource_id != request.declared_resource) {
        continue;
      }
      open_options.resource_id = spec.resource_id;
      if (request.options.resource.empty()) request.options.resource = spec.resource_id;
      if (request.options.key_hint.empty()) request.options.key_hint = string_setting(spec.connector_config, "key_column");
      DXHUB_ASSIGN_OR_RETURN(auto connector, host.open_reader(spec, request.columns, nullptr, open_options));
      return draft_from_connector(*connector, request.options);
    }
    if (!load_errors.empty()) return load_errors.front();
    return config_error("no loaded plugin declares resource '" + request.declared_resource + "'");
  }
  if (request.connector_kind.empty()) return config_error("discover: give --connector KIND --settings JSON, or -r RESOURCE");
  if (request.options.resource.empty()) request.options.resource = string_setting(request.settings, "table");
  if (request.options.resource.empty()) request.options.resource = "draft";
  if (request.options.key_hint.empty()) request.options.key_hint = string_setting(request.settings, "key_column");
  open_options.resource_id = request.options.resource;
  DXHUB_ASSIGN_OR_RETURN(auto connector, open_connector(request.connector_kind, request.settings, request.columns,
                                                        nullptr, open_options));
  return draft_from_connector(*connector, request.options);
}

Expected<nlohmann::json> parse_settings_argument(const std::string& argument) {
  std::string text = argument;
  std::string origin = "--settings";
  if (!argument.empty() && argument[0] == '@') {
    origin = argument.substr(1);
    std::ifstream in(origin, std::ios::binary);
    if (!in) return config_error("--settings: cannot read " + origin);
    std::ostringstream buf;
    buf << in.rdbuf();
    text = buf.str();
  }
  nlohmann::json parsed = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded() || !parsed.is_object()) {
    return config_error(origin + ": connector settings must be a JSON object");
  }
  return parsed;
}

}  // namespace dxhub
