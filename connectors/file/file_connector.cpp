#include "connectors/file/file_connector.h"

#include <fnmatch.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "connectors/file/ftp_source.h"
#include "connectors/file/local_source.h"

namespace dxhub {

namespace {

constexpr int64_t kDayMs = 24LL * 3600 * 1000;

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string base_name(const std::string& name) {
  size_t slash = name.rfind('/');
  return slash == std::string::npos ? name : name.substr(slash + 1);
}

Expected<int64_t> non_negative(const nlohmann::json& v, const std::string& key, int64_t max) {
  // (JSON from a file holds unsigned numbers; JSON built in C++ signed ones.)
  if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > max) {
    return config_error("file connector: \"" + key + "\" must be an integer in 0.." + std::to_string(max));
  }
  return v.get<int64_t>();
}

}  // namespace

Expected<FileConnector::Config> FileConnector::parse_config(const nlohmann::json& config) {
  if (!config.is_object()) return config_error("file connector: the config must be an object");
  Config c;
  for (auto it = config.begin(); it != config.end(); ++it) {
    const std::string& key = it.key();
    if (key == "source" || key == "format") {
      if (!it->is_object() || !it->contains("kind") || !(*it)["kind"].is_string()) {
        return config_error("file connector: \"" + key + "\" must be an object with a \"kind\"");
      }
      (key == "source" ? c.source : c.format) = *it;
    } else if (key == "pattern") {
      if (!it->is_string() || it->get_ref<const std::string&>().empty()) {
        return config_error("file connector: \"pattern\" must be a non-empty string");
      }
      c.pattern = it->get<std::string>();
    } else if (key == "stable_seconds") {
      DXHUB_ASSIGN_OR_RETURN(int64_t s, non_negative(*it, key, 86400));
      c.stable_ms = s * 1000;
    } else if (key == "done_suffix") {
      if (!it->is_string() || it->get_ref<const std::string&>().empty()) {
        return config_error("file connector: \"done_suffix\" must be a non-empty string such as \".done\"");
      }
      c.done_suffix = it->get<std::string>();
    } else if (key == "done_replaces_extension") {
      if (!it->is_boolean()) return config_error("file connector: \"done_replaces_extension\" must be true or false");
      c.done_replaces_extension = it->get<bool>();
    } else if (key == "ignore_suffixes") {
      if (!it->is_array()) return config_error("file connector: \"ignore_suffixes\" must be an array of strings");
      c.ignore_suffixes.clear();
      for (const auto& s : *it) {
        if (!s.is_string() || s.get_ref<const std::string&>().empty()) {
          return config_error("file connector: \"ignore_suffixes\" must be an array of non-empty strings");
        }
        c.ignore_suffixes.push_back(s.get<std::string>());
      }
    } else if (key == "ledger_max_files") {
      DXHUB_ASSIGN_OR_RETURN(int64_t n, non_negative(*it, key, 10000000));
      if (n == 0) return config_error("file connector: \"ledger_max_files\" must be at least 1");
      c.ledger_max_files = static_cast<size_t>(n);
    } else if (key == "ledger_max_days") {
      DXHUB_ASSIGN_OR_RETURN(c.ledger_max_days, non_negative(*it, key, 36500));
    } else if (key == "now_ms") {
      if (!it->is_number_integer()) return config_error("file connector: \"now_ms\" must be an integer");
      c.now_ms = it->get<int64_t>();
    } else {
      return config_error("file connector: unknown setting \"" + key +
                          "\" (known: source, format, pattern, stable_seconds, done_suffix, "
                          "done_replaces_extension, ignore_suffixes, ledger_max_files, ledger_max_days)");
    }
  }
  if (c.source.is_null()) return config_error("file connector: needs \"source\"");
  if (c.format.is_null()) return config_error("file connector: needs \"format\"");
  return c;
}

Expected<std::unique_ptr<FileConnector>> FileConnector::open(const nlohmann::json& config,
                                                             const std::vector<std::string>& columns,
                                                             const nlohmann::json& cursor,
                                                             const ConnectorOpenOptions& options) {
  DXHUB_ASSIGN_OR_RETURN(Config c, parse_config(config));
  const std::string kind = c.source["kind"].get<std::string>();
  std::unique_ptr<FileSource> source;
  if (kind == "local") {
    DXHUB_ASSIGN_OR_RETURN(source, open_local_source(c.source));
  } else if (kind == "ftp") {
    DXHUB_ASSIGN_OR_RETURN(source, open_ftp_source(c.source, options.work_dir));
  } else {
    return config_error("file connector: unknown source kind \"" + kind + "\" (known: local, ftp)");
  }
  return open_with_source(std::move(c), std::move(source), columns, cursor, options);
}

Expected<std::unique_ptr<FileConnector>> FileConnector::open_with_source(Config config,
                                                                         std::unique_ptr<FileSource> source,
                                                                         const std::vector<std::string>& columns,
                                                                         const nlohmann::json& cursor,
                                                                         const ConnectorOpenOptions& options) {
  std::unique_ptr<FileConnector> connector(new FileConnector(std::move(config), std::move(source), columns, options));
  DXHUB_RETURN_IF_ERROR(connector->load_cursor(cursor));
  if (connector->columns_.empty()) {
    // Discover/check: the first file tells the columns.
    bool changed = false;
    DXHUB_ASSIGN_OR_RETURN(bool opened, connector->open_next(changed));
    if (opened) connector->columns_ = connector->reader_->columns();
  }
  return connector;
}

FileConnector::FileConnector(Config config, std::unique_ptr<FileSource> source, std::vector<std::string> columns,
                             ConnectorOpenOptions options)
    : config_(std::move(config)),
      source_(std::move(source)),
      columns_(std::move(columns)),
      options_(std::move(options)),
      ledger_(config_.ledger_max_files, config_.ledger_max_days * kDayMs) {}

Status FileConnector::load_cursor(const nlohmann::json& cursor) {
  if (cursor.is_null()) return Status::ok();
  if (!cursor.is_object() || cursor.value("v", 0) != 1) {
    return config_error("file connector: the saved cursor is not a file cursor (v 1)");
  }
  if (cursor.contains("files")) DXHUB_RETURN_IF_ERROR(ledger_.load(cursor["files"]));
  if (cursor.contains("current")) {
    const auto& c = cursor["current"];
    if (!c.is_object() || !c.contains("name") || !c["name"].is_string() || !c.contains("size") ||
        !c["size"].is_number_integer() || c["size"].get<int64_t>() < 0 || !c.contains("sha256") || !c["sha256"].is_string() ||
        !c.contains("position")) {
      return config_error("file connector: the saved cursor's \"current\" is not {name, size, sha256, position}");
    }
    Current r;
    r.identity = FileIdentity{c["name"].get<std::string>(), c["size"].get<uint64_t>(), c["sha256"].get<std::string>()};
    r.position = c["position"];
    resume_ = std::move(r);
  }
  ledger_.prune(now_ms());
  return Status::ok();
}

int64_t FileConnector::now_ms() const {
  if (config_.now_ms) return *config_.now_ms;
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool FileConnector::matches(const std::string& name) const {
  const std::string base = base_name(name);
  if (base.empty() || base[0] == '.') return false;
  for (const auto& s : config_.ignore_suffixes) {
    if (ends_with(base, s)) return false;
  }
  if (!config_.done_suffix.empty() && ends_with(base, config_.done_suffix)) return false;
  const bool path_pattern = config_.pattern.find('/') != std::string::npos;
  return fnmatch(config_.pattern.c_str(), path_pattern ? name.c_str() : base.c_str(),
                 path_pattern ? FNM_PATHNAME : 0) == 0;
}

std::string FileConnector::marker_for(const std::string& name) const {
  if (!config_.done_replaces_extension) return name + config_.done_suffix;
  const size_t slash = name.rfind('/');
  const size_t dot = name.rfind('.');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash) || dot == slash + 1) {
    return name + config_.done_suffix;
  }
  return name.substr(0, dot) + config_.done_suffix;
}

Expected<int64_t> FileConnector::scan() {
  DXHUB_ASSIGN_OR_RETURN(std::vector<SourceEntry> entries, source_->list());
  std::set<std::string> names;
  for (const auto& e : entries) names.insert(e.name);
  // The half-read file is gone (moved away by hand): nothing to resume.
  if (resume_ && names.count(resume_->identity.name) == 0) resume_.reset();
  const int64_t now = now_ms();
  int64_t earliest_ready = -1;
  size_t waiting = 0;
  for (auto& e : entries) {
    if (!matches(e.name)) continue;
    const std::string seen_key = e.name + '\n' + std::to_string(e.size) + '\n' + std::to_string(e.mtime_ms);
    if (seen_.count(seen_key) > 0) continue;
    Candidate c{e, "", seen_key};
    bool ready = false;
    if (!config_.done_suffix.empty()) {
      c.marker = marker_for(e.name);
      ready = names.count(c.marker) > 0;
      if (!ready) ++waiting;
    } else if (config_.stable_ms == 0) {
      ready = true;
    } else {
      if (e.quiet_since_ms >= 0 && now - e.quiet_since_ms >= config_.stable_ms) ready = true;
      auto [it, inserted] = observed_.try_emplace(e.name, Observation{e.size, e.mtime_ms, now});
      if (!inserted && (it->second.size != e.size || it->second.mtime_ms != e.mtime_ms)) {
        it->second = Observation{e.size, e.mtime_ms, now};  // changed: the wait starts again
      } else if (!inserted && now - it->second.first_seen_ms >= config_.stable_ms) {
        ready = true;
      }
      if (!ready) {
        ++waiting;
        int64_t at = it->second.first_seen_ms + config_.stable_ms;
        if (e.quiet_since_ms >= 0) at = std::min(at, e.quiet_since_ms + config_.stable_ms);
        if (earliest_ready < 0 || at < earliest_ready) earliest_ready = at;
      }
    }
    if (!ready) continue;
    seen_.insert(seen_key);
    observed_.erase(e.name);
    queue_.push_back(std::move(c));
  }
  stats_.files_waiting = waiting;
  // Next first: the half-read file, then oldest mtime, then name.
  const std::string resume_name = resume_ ? resume_->identity.name : std::string();
  std::sort(queue_.begin(), queue_.end(), [&](const Candidate& a, const Candidate& b) {
    const bool ra = a.entry.name == resume_name, rb = b.entry.name == resume_name;
    if (ra != rb) return ra;
    if (a.entry.mtime_ms != b.entry.mtime_ms) return a.entry.mtime_ms < b.entry.mtime_ms;
    return a.entry.name < b.entry.name;
  });
  return earliest_ready;
}

Expected<bool> FileConnector::open_next(bool& cursor_changed) {
  bool waited = false;
  for (;;) {
    if (queue_.empty()) {
      DXHUB_ASSIGN_OR_RETURN(int64_t ready_at, scan());
      if (queue_.empty()) {
        // Something is arriving: wait for it once per read (never with a fixed clock).
        if (ready_at < 0 || waited || config_.now_ms) return false;
        waited = true;
        const int64_t wait_ms = std::clamp<int64_t>(ready_at - now_ms(), 0, config_.stable_ms) + 50;
        std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms));
        continue;
      }
    }
    Candidate c = std::move(queue_.front());
    queue_.erase(queue_.begin());
    auto local = source_->fetch(c.entry);
    if (!local) {
      if (local.status().code() == StatusCode::kNotFound) continue;  // vanished: nothing to read
      return local.status();
    }
    auto digest = sha256_file(*local);
    if (!digest) {
      source_->release(*local);
      continue;  // vanished while hashing
    }
    FileIdentity identity{c.entry.name, c.entry.size, *digest};
    if (ledger_.contains(identity)) {
      spdlog::info("{}: a file already read (same name, size and SHA-256) is archived unread", source_->describe());
      ++stats_.files_skipped;
      source_->release(*local);
      pending_.push_back(Pending{false, c, "", *digest, ""});
      continue;
    }
    nlohmann::json resume = nullptr;
    if (resume_ && resume_->identity.name == identity.name) {
      if (resume_->identity == identity) resume = resume_->position;
      resume_.reset();  // resumed, or replaced by other bytes: a new file
      cursor_changed = true;
    }
    auto reader = open_file_format(config_.format, FileFormatInput{*local, c.entry.name, resume}, columns_);
    if (!reader) {
      const Status& st = reader.status();
      if (st.code() == StatusCode::kData) {
        current_ = Current{c, identity, *local, resume};
        give_up_current(st.message());
        cursor_changed = true;
        continue;
      }
      source_->release(*local);
      if (st.code() == StatusCode::kSource || st.code() == StatusCode::kNotFound) {
        spdlog::warn("{}: {}", source_->describe(), st.message());
        continue;  // vanished: the next scan sees whether it is back
      }
      return st;
    }
    reader_ = std::move(*reader);
    current_ = Current{c, identity, *local, resume};
    return true;
  }
}

void FileConnector::give_up_current(const std::string& reason) {
  spdlog::warn("{}: a file was refused and goes to the error folder: {}", source_->describe(), reason);
  ++stats_.files_refused;
  reader_.reset();
  pending_.push_back(Pending{true, current_->candidate, current_->local_path, current_->identity.sha256, reason});
  current_.reset();
}

void FileConnector::finish_current() {
  reader_.reset();
  ++stats_.files_read;
  ledger_.add(current_->identity, now_ms());
  source_->release(current_->local_path);
  pending_.push_back(Pending{false, current_->candidate, "", current_->identity.sha256, ""});
  current_.reset();
}

void FileConnector::run_pending() {
  if (options_.dry_run) {
    for (const auto& p : pending_) {
      if (p.refuse && !p.local_path.empty()) source_->release(p.local_path);  // a download, never the source
    }
    pending_.clear();
    return;
  }
  for (const auto& p : pending_) {
    Status st = p.refuse ? source_->refuse(p.candidate.entry, p.local_path, p.sha256, p.candidate.marker, p.reason)
                         : source_->finish(p.candidate.entry, p.sha256, p.candidate.marker);
    if (!st) {
      // The ledger already holds a finished file: it is skipped next time and
      // the move tried again. Reading goes on.
      ++stats_.moves_failed;
      spdlog::warn("{}", st.message());
      if (move_problems_.size() < 10) move_problems_.push_back(st.message());
    }
    if (st) seen_.erase(p.candidate.seen_key);  // gone: a file of that name later is another one
    if (p.refuse && !p.local_path.empty()) source_->release(p.local_path);
  }
  pending_.clear();
}

namespace {

// Tells a failure of the receiving sink (which stops the read) from the
// format refusing the file: both may come back from the reader as kData.
class SinkGuard final : public RowSink {
 public:
  explicit SinkGuard(RowSink& inner) : inner_(inner) {}
  Status on_row(const RowView& row) override {
    Status st = inner_.on_row(row);
    if (!st) failed_ = true;
    return st;
  }
  Status on_bad_input(const BadInput& bad) override {
    Status st = inner_.on_bad_input(bad);
    if (!st) failed_ = true;
    return st;
  }
  bool failed() const { return failed_; }

 private:
  RowSink& inner_;
  bool failed_ = false;
};

}  // namespace

Expected<size_t> FileConnector::read(size_t max_rows, RowSink& outer_sink) {
  SinkGuard sink(outer_sink);
  // Whatever earlier reads finished is durable now.
  run_pending();
  size_t handed = 0;
  bool cursor_changed = false;
  while (handed < max_rows) {
    if (!reader_) {
      DXHUB_ASSIGN_OR_RETURN(bool opened, open_next(cursor_changed));
      if (!opened) break;
    }
    auto n = reader_->read(max_rows - handed, sink);
    if (!n) {
      if (n.status().code() == StatusCode::kData && !sink.failed()) {
        give_up_current(n.status().message());
        cursor_changed = true;
        continue;
      }
      return n.status();
    }
    if (*n == 0) {
      finish_current();
      cursor_changed = true;
      continue;
    }
    handed += *n;
    current_->position = reader_->position();
  }
  if (handed > 0) return handed;
  if (cursor_changed) return size_t{1};  // see the header: the engine must persist the ledger first
  run_pending();
  return size_t{0};
}

nlohmann::json FileConnector::cursor() const {
  nlohmann::json j = {{"v", 1}, {"files", ledger_.to_json()}};
  const Current* half = current_ ? &*current_ : (resume_ ? &*resume_ : nullptr);
  if (half != nullptr && !half->position.is_null()) {
    j["current"] = {{"name", half->identity.name},
                    {"size", half->identity.size},
                    {"sha256", half->identity.sha256},
                    {"position", half->position}};
  }
  if (ledger_.size() == 0 && !j.contains("current")) return nullptr;
  return j;
}

std::vector<std::string> FileConnector::advisories() const {
  std::vector<std::string> out;
  if (stats_.files_waiting > 0) {
    out.push_back(source_->describe() + ": " + std::to_string(stats_.files_waiting) + " matching file(s) not complete yet (" +
                  (config_.done_suffix.empty() ? "still changing within stable_seconds" : "no done marker") + ")");
  }
  if (stats_.files_refused > 0) {
    out.push_back(source_->describe() + ": " + std::to_string(stats_.files_refused) +
                  " file(s) refused by the format and moved to the error folder");
  }
  for (const auto& m : move_problems_) out.push_back(m);
  return out;
}

}  // namespace dxhub
