#include "core/cli/check_command.h"

#include <algorithm>
#include <filesystem>
#include <memory>
#include <optional>
#include <set>
#include <sstream>

#include "connectors/connector.h"
#include "core/engine/staged_batches.h"
#include "core/avro/schema.h"
#include "core/common/json_text.h"
#include "core/delivery/province_client.h"
#include "core/engine/hub_config.h"
#include "core/engine/sync_engine.h"
#include "core/mapping/mapping_spec.h"
#include "core/mapping/record_mapper.h"
#include "core/plugin/plugin_host.h"

namespace dxhub {

const char* check_severity_name(CheckSeverity severity) {
  switch (severity) {
    case CheckSeverity::kOk: return "ok";
    case CheckSeverity::kWarn: return "warn";
    case CheckSeverity::kError: return "error";
  }
  return "?";
}

namespace {

namespace fs = std::filesystem;

// Paths below the working directory are shown relative to it, as an
// operator would type them (mappings/public_security/x.mapping.json).
std::string display_path(const std::string& path) {
  std::error_code ec;
  fs::path cwd = fs::current_path(ec);
  if (ec || path.empty()) return path;
  fs::path rel = fs::path(path).lexically_normal().lexically_relative(cwd);
  if (rel.empty() || *rel.begin() == "..") return path;
  return rel.string();
}

// "mapping /x/y.mapping.json: field a ..." -> "field a ..." when the
// finding already names the file.
std::string without_prefix(const std::string& message, const std::string& prefix) {
  return message.rfind(prefix, 0) == 0 ? message.substr(prefix.size()) : message;
}

bool same_ascii_name(const std::string& a, const std::string& b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

class Findings {
 public:
  explicit Findings(CheckReport& report) : report_(report) {}
  void ok(const std::string& resource, const std::string& where, const std::string& message) {
    report_.findings.push_back({CheckSeverity::kOk, resource, where, message, 0});
  }
  void warn(const std::string& resource, const std::string& where, const std::string& message) {
    report_.findings.push_back({CheckSeverity::kWarn, resource, where, message, 0});
  }
  void error(const std::string& resource, const std::string& where, const std::string& message, int exit_code) {
    report_.findings.push_back({CheckSeverity::kError, resource, where, message, exit_code});
  }
  void error(const std::string& resource, const std::string& where, const Status& status) {
    error(resource, where, status.message(), exit_code_for_status(status));
  }

 private:
  CheckReport& report_;
};

// Maps sample rows through the compiled encoder into a scratch buffer that
// is thrown away: the same conversions and the same errors as a sync.
class SampleSink : public RowSink {
 public:
  explicit SampleSink(const RecordMapper* mapper) : mapper_(mapper) {}
  Status on_row(const RowView& row) override {
    ++rows;
    if (mapper_ == nullptr) return Status::ok();
    scratch_.clear();
    Status encoded = mapper_->encode(row, scratch_);
    if (encoded.is_ok()) {
      ++mapped;
      // A key seen twice in the sample: the province would keep only the
      // later record. Kept only for the sample (check is not a hot path).
      if (!keys_.insert(mapper_->source_key(row)).second) ++repeated_keys;
    } else {
      ++dead;
      note(encoded.message());
    }
    return Status::ok();
  }
  Status on_bad_input(const BadInput& bad) override {
    ++dead;
    note(std::string(bad.source_ref) + ": " + std::string(bad.reason));
    return Status::ok();
  }

  int64_t rows = 0, mapped = 0, dead = 0, repeated_keys = 0;
  std::vector<std::string> reasons;  // the first few distinct ones

 private:
  void note(const std::string& reason) {
    if (reasons.size() < 3 && std::find(reasons.begin(), reasons.end(), reason) == reasons.end()) {
      reasons.push_back(reason);
    }
  }
  const RecordMapper* mapper_;
  std::string scratch_;
  std::set<std::string> keys_;
};

// Which of `wanted` the source lacks: from the columns the connector lists
// when opened with none (the contract), or, for a connector that lists
// none, by opening it once per column. Fails with the open's own error when
// even an open asking for no column fails.
Expected<std::vector<std::string>> missing_columns(PluginHost& host, const ResourceSpec& spec,
                                                   const std::vector<std::string>& wanted,
                                                   const ConnectorOpenOptions& options) {
  DXHUB_ASSIGN_OR_RETURN(auto every, host.open_reader(spec, {}, nullptr, options));
  std::vector<std::string> missing;
  const auto& present = every->columns();
  if (!present.empty()) {
    for (const auto& w : wanted) {
      bool found = std::any_of(present.begin(), present.end(), [&](const std::string& p) { return p == w; }) ||
                   std::any_of(present.begin(), present.end(), [&](const std::string& p) { return same_ascii_name(p, w); });
      if (!found) missing.push_back(w);
    }
    return missing;
  }
  every.reset();
  for (const auto& w : wanted) {
    auto one = host.open_reader(spec, {w}, nullptr, options);
    if (!one && one.status().code() == StatusCode::kConfig) missing.push_back(w);
  }
  return missing;
}

bool province_url_parses(const std::string& url, std::string& why) {
  const bool http = url.rfind("http://", 0) == 0;
  const bool https = url.rfind("https://", 0) == 0;
  if (!http && !https) {
    why = "must start with http:// or https://";
    return false;
  }
  std::string rest = url.substr(http ? 7 : 8);
  std::string authority = rest.substr(0, rest.find_first_of("/?#"));
  if (authority.empty() || authority.front() == ':') {
    why = "has no host";
    return false;
  }
  if (authority.find_first_of(" \t@") != std::string::npos) {
    why = "host part must not hold spaces or user info";
    return false;
  }
  if (size_t colon = authority.rfind(':'); colon != std::string::npos && authority.find(']') == std::string::npos) {
    std::string port = authority.substr(colon + 1);
    if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
        std::stoi(port) == 0 || std::stoi(port) > 65535) {
      why = "has an invalid port";
      return false;
    }
  }
  return true;
}

void check_resource(const HubConfig& config, PluginHost& host, const ResourceSpec& spec, const CheckOptions& options,
                    CheckReport& report) {
  Findings f(report);
  const std::string& id = spec.resource_id;
  const std::string schema_where = display_path(spec.schema_path);
  const std::string mapping_where = display_path(spec.mapping_path);
  const std::string connector_where = "connector " + spec.connector;
  CheckResourceStats stats;
  stats.resource = id;

  // Schema, then the mapping against it.
  std::optional<avro::Schema> schema;
  if (auto parsed = avro::Schema::from_file(spec.schema_path); parsed) {
    schema.emplace(std::move(parsed).value());
    f.ok(id, schema_where, "schema " + schema->full_name() + " parses");
  } else {
    f.error(id, schema_where, without_prefix(parsed.status().message(), "schema " + spec.schema_path + ": "),
            kExitConfig);
  }
  std::optional<RecordMapper> mapper;
  auto mapping_spec = mapping::load_mapping_spec(spec.mapping_path);  // field -> column, for messages
  if (schema) {
    if (auto loaded = RecordMapper::load(spec.mapping_path, *schema); loaded) {
      mapper.emplace(std::move(loaded).value());
      f.ok(id, mapping_where, "mapping loads (" + std::to_string(mapper->source_columns().size()) +
                                  " source columns, primary key " + mapper->primary_key() + ")");
      if (mapper->resource() != id) {
        f.warn(id, mapping_where, "\"resource\" is " + mapper->resource() + ", but the plugin declares " + id);
      }
    } else {
      f.error(id, mapping_where, without_prefix(loaded.status().message(), "mapping " + spec.mapping_path + ": "),
              kExitConfig);
    }
  } else if (!mapping_spec) {
    // The schema failed; still say whether the mapping file itself parses.
    f.error(id, mapping_where,
            without_prefix(mapping_spec.status().message(), "mapping " + spec.mapping_path + ": "), kExitConfig);
  } else {
    f.warn(id, mapping_where, "parses, but was not checked against the schema (the schema does not parse)");
  }

  if (spec.connector == kPushConnectorKind) {
    // Nothing to open: agency systems post the records to `dxhub run`'s endpoint.
    bool has_key = false;
    for (const auto& key : config.ingest.app_keys) has_key = has_key || key.plugin == spec.plugin;
    if (config.ingest.listen.empty()) {
      f.warn(id, connector_where, "records are pushed, but ingest.listen is not set: nothing can post them");
    } else if (!has_key) {
      f.warn(id, connector_where, "records are pushed, but no ingest.app_keys entry names plugin " + spec.plugin);
    } else {
      f.ok(id, connector_where, "records are pushed to " + config.ingest.listen + "/api/v1/ingest/" + id);
    }
    report.resources.push_back(stats);
    return;
  }

  // The connection and settings. Never a work directory: check writes nothing.
  ConnectorOpenOptions open_options;
  open_options.dry_run = true;
  open_options.resource_id = id;
  const std::vector<std::string> wanted = mapper ? mapper->source_columns() : std::vector<std::string>{};
  auto connector = host.open_reader(spec, wanted, nullptr, open_options);
  if (!connector && connector.status().code() == StatusCode::kConfig && !wanted.empty()) {
    auto missing = missing_columns(host, spec, wanted, open_options);
    if (missing && !missing->empty()) {
      for (const auto& column : *missing) {
        bool named = false;
        if (mapping_spec) {
          for (const auto& fm : mapping_spec->fields) {
            if (fm.column != column) continue;
            f.error(id, mapping_where, "field " + fm.field + " (column " + column + "): source column missing",
                    kExitConfig);
            named = true;
          }
        }
        if (!named) f.error(id, mapping_where, "column " + column + ": source column missing", kExitConfig);
      }
      report.resources.push_back(stats);
      return;
    }
  }
  if (!connector) {
    const Status& s = connector.status();
    f.error(id, connector_where,
            (s.code() == StatusCode::kSource ? "source unreachable: " : "settings refused: ") + s.message(),
            exit_code_for_status(s));
    report.resources.push_back(stats);
    return;
  }
  f.ok(id, connector_where, "opened (" + std::to_string((*connector)->columns().size()) + " columns)");
  std::set<std::string> advised;
  auto advise = [&] {
    for (const auto& a : (*connector)->advisories()) {
      if (advised.insert(a).second) f.warn(id, connector_where, a);
    }
  };
  advise();

  if (mapper) {
    if (Status bound = mapper->bind((*connector)->columns()); !bound.is_ok()) {
      f.error(id, mapping_where, without_prefix(bound.message(), "mapping " + spec.mapping_path + ": "), kExitConfig);
      mapper.reset();
    }
  }
  if (options.sample_rows > 0) {
    SampleSink sink(mapper ? &*mapper : nullptr);
    Status read_status;
    // Bounded: each read either hands out rows (at most sample_rows in all) or ends the loop.
    while (static_cast<size_t>(sink.rows) < options.sample_rows) {
      auto got = (*connector)->read(options.sample_rows - static_cast<size_t>(sink.rows), sink);
      if (!got) {
        read_status = got.status();
        break;
      }
      if (*got == 0) break;
    }
    stats.rows_sampled = sink.rows;
    stats.rows_mapped = sink.mapped;
    stats.would_dead_letter = sink.dead;
    if (!read_status.is_ok()) {
      f.error(id, connector_where,
              (read_status.code() == StatusCode::kSource ? "source unreachable while reading: " : "read failed: ") +
                  read_status.message(),
              exit_code_for_status(read_status));
    }
    std::string counted = std::to_string(sink.rows) + " sample rows read";
    if (mapper) counted += ", " + std::to_string(sink.mapped) + " map";
    if (sink.dead > 0) {
      f.error(id, mapping_where,
              counted + ", " + std::to_string(sink.dead) + " would be dead-lettered (first: " + sink.reasons.front() +
                  ")",
              kExitDeadLetters);
      for (size_t i = 1; i < sink.reasons.size(); ++i) f.warn(id, mapping_where, "also: " + sink.reasons[i]);
    } else if (read_status.is_ok()) {
      if (sink.rows == 0) {
        f.warn(id, connector_where, "the source returned no rows: nothing sampled");
      } else {
        f.ok(id, mapper ? mapping_where : connector_where, counted);
      }
    }
    if (sink.repeated_keys > 0) {
      f.warn(id, mapping_where,
             "primary key " + mapper->primary_key() + " repeats in the sample (" + std::to_string(sink.repeated_keys) +
                 " rows share a key with an earlier one): the province keeps only the last of each");
    }
    advise();  // some are found while reading (a key that repeats)
  }

  if (options.contact_province) {
    ProvinceConfig pc = config.province;
    pc.max_attempts = 1;  // a check reports what it sees, it does not wait out an outage
    if (pc.app_secret.empty()) {
      f.warn(id, "province", "not contacted: no AppSecret");
    } else {
      ProvinceClient client(pc);
      auto answer = client.get("/api/v1/resources/" + id);
      if (answer) {
        f.ok(id, "province", "signed GET of the resource accepted");
      } else if (answer.status().message().find("404") != std::string::npos) {
        f.warn(id, "province", "the province does not know the resource yet (the first sync registers it): " +
                                   answer.status().message());
      } else {
        f.error(id, "province", answer.status().message(), kExitDelivery);
      }
    }
  }
  report.resources.push_back(stats);
}

}  // namespace

int CheckReport::exit_code() const {
  // Same precedence as a sync's exit code: 2, 3, 4, 1, 6, 5.
  static const int kOrder[] = {kExitConfig, kExitSource, kExitDelivery, kExitInternal, kExitBusy, kExitDeadLetters};
  for (int code : kOrder) {
    for (const auto& finding : findings) {
      if (finding.severity == CheckSeverity::kError && finding.exit_code == code) return code;
    }
  }
  for (const auto& finding : findings) {
    if (finding.severity == CheckSeverity::kError) return kExitInternal;
  }
  return kExitOk;
}

std::string CheckReport::to_text() const {
  std::ostringstream out;
  size_t errors = 0, warnings = 0;
  for (const auto& f : findings) {
    out << check_severity_name(f.severity) << (f.severity == CheckSeverity::kOk ? "    " : f.severity == CheckSeverity::kWarn ? "  " : " ");
    if (!f.resource.empty()) out << f.resource << ": ";
    out << f.where << ": " << f.message << "\n";
    errors += f.severity == CheckSeverity::kError;
    warnings += f.severity == CheckSeverity::kWarn;
  }
  out << "check: " << resources.size() << " resources, " << errors << " errors, " << warnings
      << " warnings; exit " << exit_code() << "\n";
  return out.str();
}

nlohmann::json CheckReport::to_json() const {
  nlohmann::json j;
  j["findings"] = nlohmann::json::array();
  for (const auto& f : findings) {
    j["findings"].push_back({{"severity", check_severity_name(f.severity)},
                             {"resource", f.resource},
                             {"where", f.where},
                             {"message", f.message},
                             {"exit_code", f.exit_code}});
  }
  j["resources"] = nlohmann::json::array();
  for (const auto& r : resources) {
    j["resources"].push_back({{"resource", r.resource},
                              {"rows_sampled", r.rows_sampled},
                              {"rows_mapped", r.rows_mapped},
                              {"would_dead_letter", r.would_dead_letter}});
  }
  j["exit_code"] = exit_code();
  return j;
}

CheckReport run_check(const std::string& config_path, const CheckOptions& options) {
  CheckReport report;
  Findings f(report);
  const std::string config_where = display_path(config_path);
  auto config = load_hub_config(config_path, /*need_secret=*/false);
  if (!config) {
    f.error("", config_where, config.status().message(), kExitConfig);
    return report;
  }
  // Delivery settings, without contacting anyone.
  std::string why;
  if (!province_url_parses(config->province.base_url, why)) {
    f.error("", config_where, "province.url " + why, kExitConfig);
  }
  if (auto with_secret = load_hub_config(config_path, /*need_secret=*/true); !with_secret) {
    f.error("", config_where, with_secret.status().message(), kExitConfig);
  } else {
    config->province.app_secret = with_secret->province.app_secret;
    f.ok("", config_where, "province " + config->province.base_url + ", AppSecret present");
  }

  std::vector<Status> load_errors;
  PluginHost host = PluginHost::load(config->plugins, config->mappings_dir, load_errors);
  for (const auto& e : load_errors) f.error("", "plugins", e.message(), kExitConfig);
  std::vector<ResourceSpec> specs = host.resources();
  for (const auto& name : options.resources) {
    bool known = std::any_of(specs.begin(), specs.end(), [&](const ResourceSpec& s) {
      return name == s.resource_id || name == s.plugin + "/" + s.resource_id;
    });
    if (!known) f.error(name, "plugins", "no loaded plugin declares this resource", kExitConfig);
  }
  for (const auto& spec : specs) {
    bool wanted = options.resources.empty() ||
                  std::any_of(options.resources.begin(), options.resources.end(), [&](const std::string& name) {
                    return name == spec.resource_id || name == spec.plugin + "/" + spec.resource_id;
                  });
    if (wanted) check_resource(*config, host, spec, options, report);
  }
  return report;
}

}  // namespace dxhub
