#include "connectors/file/ftp_source.h"

#include <spdlog/spdlog.h>
#include <stdlib.h>  // mkdtemp

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "core/delivery/curl_handle.h"

namespace dxhub {

namespace fs = std::filesystem;

namespace {

int64_t utc_ms_from_modify(const std::string& v) {
  // YYYYMMDDHHMMSS[.sss], UTC (RFC 3659).
  if (v.size() < 14) return -1;
  struct tm t {};
  for (size_t k = 0; k < 14; ++k) {
    if (v[k] < '0' || v[k] > '9') return -1;
  }
  t.tm_year = std::stoi(v.substr(0, 4)) - 1900;
  t.tm_mon = std::stoi(v.substr(4, 2)) - 1;
  t.tm_mday = std::stoi(v.substr(6, 2));
  t.tm_hour = std::stoi(v.substr(8, 2));
  t.tm_min = std::stoi(v.substr(10, 2));
  t.tm_sec = std::stoi(v.substr(12, 2));
  return static_cast<int64_t>(timegm(&t)) * 1000;
}

bool acceptable_name(const std::string& name) {
  if (name.empty() || name == "." || name == "..") return false;
  for (char c : name) {
    if (c == '/' || c == '\r' || c == '\n' || c == '\0') return false;  // would break the path or a command
  }
  return true;
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::string line;
  std::istringstream in(text);
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

}  // namespace

std::vector<SourceEntry> parse_mlsd_listing(const std::string& text) {
  std::vector<SourceEntry> out;
  for (const auto& line : split_lines(text)) {
    size_t space = line.find(' ');
    if (space == std::string::npos) continue;
    std::string facts = line.substr(0, space);
    std::string name = line.substr(space + 1);
    bool is_file = false;
    SourceEntry e;
    bool has_size = false;
    size_t start = 0;
    while (start < facts.size()) {
      size_t end = facts.find(';', start);
      if (end == std::string::npos) end = facts.size();
      std::string fact = facts.substr(start, end - start);
      start = end + 1;
      size_t eq = fact.find('=');
      if (eq == std::string::npos) continue;
      std::string key = fact.substr(0, eq), value = fact.substr(eq + 1);
      for (auto& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (key == "type") {
        for (auto& c : value) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        is_file = value == "file";
      } else if (key == "size") {
        char* endp = nullptr;
        unsigned long long n = std::strtoull(value.c_str(), &endp, 10);
        has_size = endp != value.c_str() && *endp == '\0';
        e.size = n;
      } else if (key == "modify") {
        e.mtime_ms = utc_ms_from_modify(value);
      }
    }
    if (!is_file || !has_size || !acceptable_name(name)) continue;
    e.name = name;
    out.push_back(std::move(e));
  }
  return out;
}

std::vector<SourceEntry> parse_unix_listing(const std::string& text) {
  std::vector<SourceEntry> out;
  for (const auto& line : split_lines(text)) {
    if (line.empty() || line[0] != '-') continue;  // regular files only
    // Eight whitespace-separated fields, then the name (which may hold spaces).
    size_t pos = 0;
    std::string fields[8];
    bool ok = true;
    for (int f = 0; f < 8; ++f) {
      while (pos < line.size() && line[pos] == ' ') ++pos;
      size_t end = line.find(' ', pos);
      if (end == std::string::npos) {
        ok = false;
        break;
      }
      fields[f] = line.substr(pos, end - pos);
      pos = end;
    }
    if (!ok) continue;
    while (pos < line.size() && line[pos] == ' ') ++pos;
    std::string name = line.substr(pos);
    char* endp = nullptr;
    unsigned long long size = std::strtoull(fields[4].c_str(), &endp, 10);
    if (endp == fields[4].c_str() || *endp != '\0' || !acceptable_name(name)) continue;
    SourceEntry e;
    e.name = name;
    e.size = size;
    out.push_back(std::move(e));
  }
  return out;
}

namespace {

struct FtpSettings {
  std::string host;
  long port = 21;
  std::string directory = "/";
  std::string user = "anonymous";
  std::string password;  // from password_env; never logged
  bool tls = false;
  std::string ca_file;
  bool tls_verify = true;
  long connect_timeout_ms = 10000;
  long timeout_ms = 300000;
  int max_attempts = 3;
  long backoff_initial_ms = 500;
  long backoff_max_ms = 10000;
  bool mlsd = true;
  AfterRead after = AfterRead::kArchive;
  std::string archive_dir;  // absolute
  std::string error_dir;    // absolute
};

size_t append_to_string(char* data, size_t size, size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

size_t write_to_file(char* data, size_t size, size_t count, void* user) {
  return std::fwrite(data, size, count, static_cast<FILE*>(user)) * size;
}

struct FileCloser {
  void operator()(FILE* f) const {
    if (f) std::fclose(f);
  }
};

std::string join_remote(const std::string& dir, const std::string& name) {
  if (!dir.empty() && dir.back() == '/') return dir + name;
  return dir + "/" + name;
}

class FtpSource final : public FileSource {
 public:
  FtpSource(FtpSettings settings, std::string work_dir, bool owned_work_dir)
      : s_(std::move(settings)), work_dir_(std::move(work_dir)), owned_work_dir_(owned_work_dir) {
    describe_ = std::string(s_.tls ? "ftps " : "ftp ") + s_.host + ":" + std::to_string(s_.port) + s_.directory;
  }
  FtpSource(const FtpSource&) = delete;
  FtpSource& operator=(const FtpSource&) = delete;
  ~FtpSource() override {
    if (owned_work_dir_) {
      std::error_code ec;
      fs::remove_all(work_dir_, ec);
    }
  }

  const std::string& describe() const override { return describe_; }

  Expected<std::vector<SourceEntry>> list() override {
    std::string body;
    Status st = with_retries([&](CURL* h) -> Status {
      body.clear();
      DXHUB_RETURN_IF_ERROR(set_url(h, dir_url(s_.directory)));
      DXHUB_RETURN_IF_ERROR(curl::check_setopt(
          curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, s_.mlsd ? "MLSD" : "LIST"), "CUSTOMREQUEST"));
      DXHUB_RETURN_IF_ERROR(
          curl::check_setopt(curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, append_to_string), "WRITEFUNCTION"));
      DXHUB_RETURN_IF_ERROR(curl::check_setopt(curl_easy_setopt(h, CURLOPT_WRITEDATA, &body), "WRITEDATA"));
      return perform(h, "listing");
    });
    if (!st) return st;
    return s_.mlsd ? parse_mlsd_listing(body) : parse_unix_listing(body);
  }

  Expected<std::string> fetch(const SourceEntry& entry) override {
    std::error_code ec;
    fs::path downloads = fs::path(work_dir_) / "download";
    fs::create_directories(downloads, ec);
    if (ec) return io_error(describe_ + ": cannot create the work directory " + downloads.string());
    fs::path target = downloads / entry.name;
    fs::path partial = downloads / (".part-" + entry.name);
    Status st = with_retries([&](CURL* h) -> Status {
      std::unique_ptr<FILE, FileCloser> out(std::fopen(partial.c_str(), "wb"));
      if (!out) return io_error(describe_ + ": cannot write into " + downloads.string());
      DXHUB_RETURN_IF_ERROR(set_url(h, file_url(s_.directory, entry.name)));
      DXHUB_RETURN_IF_ERROR(
          curl::check_setopt(curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_to_file), "WRITEFUNCTION"));
      DXHUB_RETURN_IF_ERROR(curl::check_setopt(curl_easy_setopt(h, CURLOPT_WRITEDATA, out.get()), "WRITEDATA"));
      DXHUB_RETURN_IF_ERROR(perform(h, "download"));
      if (std::fflush(out.get()) != 0) return io_error(describe_ + ": cannot write a download");
      curl_off_t got = 0;
      curl_easy_getinfo(h, CURLINFO_SIZE_DOWNLOAD_T, &got);
      if (static_cast<uint64_t>(got) != entry.size) {
        // Changed between listing and download, or cut short: try again later.
        return unavailable_error(describe_ + ": a download's size differs from the listing");
      }
      return Status::ok();
    });
    if (!st) {
      fs::remove(partial, ec);
      return st;
    }
    fs::rename(partial, target, ec);
    if (ec) return io_error(describe_ + ": cannot place a download: " + ec.message());
    return target.string();
  }

  void release(const std::string& local_path) override {
    std::error_code ec;
    fs::remove(local_path, ec);
  }

  Status finish(const SourceEntry& entry, const std::string& sha256, const std::string& marker) override {
    std::vector<std::string> commands;
    if (s_.after == AfterRead::kDelete) {
      commands.push_back("DELE " + join_remote(s_.directory, entry.name));
      if (!marker.empty()) commands.push_back("DELE " + join_remote(s_.directory, marker));
    } else {
      DXHUB_RETURN_IF_ERROR(add_moves(commands, s_.archive_dir, entry.name, sha256, marker));
    }
    return run_commands(commands, "archiving a file");
  }

  Status refuse(const SourceEntry& entry, const std::string& local_path, const std::string& sha256,
                const std::string& marker, const std::string& reason) override {
    // The local copy and the reason stay in <work_dir>/error for the operator.
    std::error_code ec;
    fs::path errors = fs::path(work_dir_) / "error";
    fs::create_directories(errors, ec);
    for (int attempt = 0; attempt < 1000; ++attempt) {
      fs::path target = errors / suffixed_name(entry.name, sha256, attempt);
      if (fs::exists(target, ec)) continue;
      fs::rename(local_path, target, ec);
      std::ofstream note(target.string() + ".reason.txt", std::ios::trunc);
      note << reason << "\n";
      break;
    }
    std::vector<std::string> commands;
    DXHUB_RETURN_IF_ERROR(add_moves(commands, s_.error_dir, entry.name, sha256, marker));
    return run_commands(commands, "moving a refused file");
  }

 private:
  Status add_moves(std::vector<std::string>& commands, const std::string& folder, const std::string& name,
                   const std::string& sha256, const std::string& marker) {
    DXHUB_ASSIGN_OR_RETURN(std::vector<std::string> taken, names_in(folder));
    auto free_name = [&](const std::string& n) {
      for (int attempt = 0; attempt < 1000; ++attempt) {
        std::string candidate = suffixed_name(n, sha256, attempt);
        bool used = false;
        for (const auto& t : taken) used = used || t == candidate;
        if (!used) return candidate;
      }
      return suffixed_name(n, sha256, 1000);
    };
    commands.push_back("*MKD " + folder);  // '*': a failure (it exists) is not an error
    commands.push_back("RNFR " + join_remote(s_.directory, name));
    commands.push_back("RNTO " + join_remote(folder, free_name(name)));
    if (!marker.empty()) {
      commands.push_back("RNFR " + join_remote(s_.directory, marker));
      commands.push_back("RNTO " + join_remote(folder, free_name(marker)));
    }
    return Status::ok();
  }

  // Names in a remote folder (empty if it does not exist yet).
  Expected<std::vector<std::string>> names_in(const std::string& folder) {
    std::string body;
    Status st = with_retries([&](CURL* h) -> Status {
      body.clear();
      DXHUB_RETURN_IF_ERROR(set_url(h, dir_url(folder)));
      DXHUB_RETURN_IF_ERROR(curl::check_setopt(curl_easy_setopt(h, CURLOPT_DIRLISTONLY, 1L), "DIRLISTONLY"));
      DXHUB_RETURN_IF_ERROR(
          curl::check_setopt(curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, append_to_string), "WRITEFUNCTION"));
      DXHUB_RETURN_IF_ERROR(curl::check_setopt(curl_easy_setopt(h, CURLOPT_WRITEDATA, &body), "WRITEDATA"));
      return perform(h, "listing the archive");
    });
    std::vector<std::string> names;
    // Not there yet (CWD refused) or not listable: assume empty; MKD and
    // RNTO that follow report a real problem.
    if (!st) return names;
    for (auto& line : split_lines(body)) {
      size_t slash = line.rfind('/');
      names.push_back(slash == std::string::npos ? line : line.substr(slash + 1));
    }
    return names;
  }

  Status run_commands(const std::vector<std::string>& commands, const char* what) {
    return with_retries([&](CURL* h) -> Status {
      curl::HeaderList quote;
      for (const auto& c : commands) DXHUB_RETURN_IF_ERROR(quote.append(c));
      DXHUB_RETURN_IF_ERROR(set_url(h, dir_url("/")));
      DXHUB_RETURN_IF_ERROR(curl::check_setopt(curl_easy_setopt(h, CURLOPT_NOBODY, 1L), "NOBODY"));
      DXHUB_RETURN_IF_ERROR(curl::check_setopt(curl_easy_setopt(h, CURLOPT_QUOTE, quote.get()), "QUOTE"));
      return perform(h, what);
    });
  }

  std::string escape_path(const std::string& path) {
    // Each segment percent-encoded; the slashes kept.
    std::string out;
    size_t start = 0;
    while (start <= path.size()) {
      size_t end = path.find('/', start);
      if (end == std::string::npos) end = path.size();
      std::string segment = path.substr(start, end - start);
      if (!segment.empty()) {
        char* e = curl_easy_escape(nullptr, segment.data(), static_cast<int>(segment.size()));
        if (e) {
          out += e;
          curl_free(e);
        }
      }
      if (end < path.size()) out += '/';
      start = end + 1;
    }
    return out;
  }

  std::string base_url() const { return "ftp://" + s_.host + ":" + std::to_string(s_.port); }
  std::string dir_url(const std::string& dir) {
    std::string p = escape_path(dir);
    if (p.empty() || p.front() != '/') p = "/" + p;
    // "//" after the authority: an absolute path ("/%2F" would be the RFC 1738 form).
    std::string url = base_url() + "/" + p;
    if (url.back() != '/') url += '/';
    return url;
  }
  std::string file_url(const std::string& dir, const std::string& name) {
    return dir_url(dir) + escape_path(name);
  }

  Status set_url(CURL* h, const std::string& url) {
    return curl::check_setopt(curl_easy_setopt(h, CURLOPT_URL, url.c_str()), "URL");
  }

  // One fresh handle per attempt, with the common settings, then `op`.
  template <typename Op>
  Status with_retries(Op op) {
    long backoff = s_.backoff_initial_ms;
    Status last;
    for (int attempt = 1; attempt <= s_.max_attempts; ++attempt) {
      auto handle = curl::make_easy_handle();
      if (!handle) return handle.status();
      CURL* h = handle->get();
      error_buffer_[0] = '\0';
      Status st = common_options(h);
      if (st) st = op(h);
      if (st.code() != StatusCode::kUnavailable) return st;  // done, or retrying will not help
      last = st;
      if (attempt < s_.max_attempts) {
        spdlog::warn("{}: {} (attempt {} of {}, retrying in {} ms)", describe_, st.message(), attempt,
                     s_.max_attempts, backoff);
        std::this_thread::sleep_for(std::chrono::milliseconds(backoff));
        backoff = std::min(backoff * 2, s_.backoff_max_ms);
      }
    }
    // Still unreachable: the source cannot be read now; the cursor stays.
    return source_error(last.message());
  }

  Status common_options(CURL* h) {
    DXHUB_RETURN_IF_ERROR(curl::check_setopt(curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error_buffer_), "ERRORBUFFER"));
    DXHUB_RETURN_IF_ERROR(curl::check_setopt(curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L), "NOSIGNAL"));
    DXHUB_RETURN_IF_ERROR(curl::check_setopt(curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "ftp"), "PROTOCOLS_STR"));
    DXHUB_RETURN_IF_ERROR(curl::check_setopt(curl_easy_setopt(h, CURLOPT_USERNAME, s_.user.c_str()), "USERNAME"));
    DXHUB_RETURN_IF_ERROR(curl::check_setopt(curl_easy_setopt(h, CURLOPT_PASSWORD, s_.password.c_str()), "PASSWORD"));
    DXHUB_RETURN_IF_ERROR(
        curl::check_setopt(curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, s_.connect_timeout_ms), "CONNECTTIMEOUT_MS"));
    DXHUB_RETURN_IF_ERROR(curl::check_setopt(curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, s_.timeout_ms), "TIMEOUT_MS"));
    DXHUB_RETURN_IF_ERROR(curl::check_setopt(
        curl_easy_setopt(h, CURLOPT_FTP_RESPONSE_TIMEOUT, std::max(1L, s_.connect_timeout_ms / 1000)),
        "FTP_RESPONSE_TIMEOUT"));
    if (s_.tls) {
      DXHUB_RETURN_IF_ERROR(curl::check_setopt(curl_easy_setopt(h, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_ALL)), "USE_SSL"));
      if (!s_.ca_file.empty()) {
        DXHUB_RETURN_IF_ERROR(curl::check_setopt(curl_easy_setopt(h, CURLOPT_CAINFO, s_.ca_file.c_str()), "CAINFO"));
      }
      if (!s_.tls_verify) {
        DXHUB_RETURN_IF_ERROR(curl::check_setopt(curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L), "SSL_VERIFYPEER"));
        DXHUB_RETURN_IF_ERROR(curl::check_setopt(curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L), "SSL_VERIFYHOST"));
      }
    }
    return Status::ok();
  }

  // curl_easy_perform's result as Status: the peer unreachable is kUnavailable
  // (retried), a missing file kNotFound, anything else the server said kSource.
  Status perform(CURL* h, const char* what) {
    CURLcode code = curl_easy_perform(h);
    if (code == CURLE_OK) return Status::ok();
    std::string message = describe_ + ": " + what + " failed: " + curl_easy_strerror(code);
    if (error_buffer_[0] != '\0') message += std::string(" (") + error_buffer_ + ")";
    switch (code) {
      case CURLE_COULDNT_CONNECT:
      case CURLE_COULDNT_RESOLVE_HOST:
      case CURLE_OPERATION_TIMEDOUT:
      case CURLE_SEND_ERROR:
      case CURLE_RECV_ERROR:
      case CURLE_PARTIAL_FILE:
      case CURLE_GOT_NOTHING:
      case CURLE_FTP_ACCEPT_TIMEOUT:
      case CURLE_FTP_CANT_GET_HOST:
      case CURLE_FTP_WEIRD_PASV_REPLY:
      case CURLE_FTP_WEIRD_227_FORMAT:
      case CURLE_FTP_PORT_FAILED:
      case CURLE_SSL_CONNECT_ERROR:
        return unavailable_error(message);
      case CURLE_REMOTE_FILE_NOT_FOUND:
      case CURLE_FTP_COULDNT_RETR_FILE:
        return not_found_error(message);
      case CURLE_OUT_OF_MEMORY:
        return internal_error(message);
      default:
        // Login denied, access denied, a refused command, TLS refused: the
        // source, as configured, cannot be read; retrying will not help.
        return source_error(message);
    }
  }

  FtpSettings s_;
  std::string work_dir_;
  bool owned_work_dir_;
  std::string describe_;
  char error_buffer_[CURL_ERROR_SIZE] = {};
};

Expected<long> positive(const nlohmann::json& v, const std::string& key, long max) {
  if (!v.is_number_integer() || v.get<int64_t>() <= 0 || v.get<int64_t>() > max) {
    return config_error("file source (ftp): \"" + key + "\" must be an integer in 1.." + std::to_string(max));
  }
  return static_cast<long>(v.get<int64_t>());
}

std::string absolute_under(const std::string& base, const std::string& path) {
  if (!path.empty() && path[0] == '/') return path;
  return join_remote(base, path);
}

}  // namespace

Expected<std::unique_ptr<FileSource>> open_ftp_source(const nlohmann::json& settings, const std::string& work_dir) {
  FtpSettings s;
  std::string archive = "archive", error = "error";
  std::string password_env;
  for (auto it = settings.begin(); it != settings.end(); ++it) {
    const std::string& key = it.key();
    auto need_string = [&](std::string& into) -> Status {
      if (!it->is_string() || it->get_ref<const std::string&>().empty()) {
        return config_error("file source (ftp): \"" + key + "\" must be a non-empty string");
      }
      into = it->get<std::string>();
      return Status::ok();
    };
    if (key == "kind") {
      continue;
    } else if (key == "host") {
      DXHUB_RETURN_IF_ERROR(need_string(s.host));
    } else if (key == "port") {
      DXHUB_ASSIGN_OR_RETURN(s.port, positive(*it, key, 65535));
    } else if (key == "directory") {
      DXHUB_RETURN_IF_ERROR(need_string(s.directory));
      if (s.directory[0] != '/') return config_error("file source (ftp): \"directory\" must be an absolute path");
    } else if (key == "user") {
      DXHUB_RETURN_IF_ERROR(need_string(s.user));
    } else if (key == "password_env") {
      DXHUB_RETURN_IF_ERROR(need_string(password_env));
    } else if (key == "password") {
      return config_error("file source (ftp): a literal \"password\" is refused; name an environment variable "
                          "in \"password_env\"");
    } else if (key == "tls") {
      std::string v = it->is_string() ? it->get<std::string>() : "";
      if (v == "none") s.tls = false;
      else if (v == "explicit") s.tls = true;
      else return config_error("file source (ftp): \"tls\" must be \"none\" or \"explicit\"");
    } else if (key == "ca_file") {
      DXHUB_RETURN_IF_ERROR(need_string(s.ca_file));
    } else if (key == "tls_verify") {
      if (!it->is_boolean()) return config_error("file source (ftp): \"tls_verify\" must be true or false");
      s.tls_verify = it->get<bool>();
    } else if (key == "connect_timeout_ms") {
      DXHUB_ASSIGN_OR_RETURN(s.connect_timeout_ms, positive(*it, key, 3600000));
    } else if (key == "timeout_ms") {
      DXHUB_ASSIGN_OR_RETURN(s.timeout_ms, positive(*it, key, 86400000));
    } else if (key == "max_attempts") {
      DXHUB_ASSIGN_OR_RETURN(long v, positive(*it, key, 100));
      s.max_attempts = static_cast<int>(v);
    } else if (key == "backoff_initial_ms") {
      DXHUB_ASSIGN_OR_RETURN(s.backoff_initial_ms, positive(*it, key, 600000));
    } else if (key == "backoff_max_ms") {
      DXHUB_ASSIGN_OR_RETURN(s.backoff_max_ms, positive(*it, key, 600000));
    } else if (key == "listing") {
      std::string v = it->is_string() ? it->get<std::string>() : "";
      if (v == "mlsd") s.mlsd = true;
      else if (v == "list") s.mlsd = false;
      else return config_error("file source (ftp): \"listing\" must be \"mlsd\" or \"list\"");
    } else if (key == "after") {
      std::string v = it->is_string() ? it->get<std::string>() : "";
      if (v == "archive") s.after = AfterRead::kArchive;
      else if (v == "delete") s.after = AfterRead::kDelete;
      else return config_error("file source (ftp): \"after\" must be \"archive\" or \"delete\"");
    } else if (key == "archive_dir") {
      DXHUB_RETURN_IF_ERROR(need_string(archive));
    } else if (key == "error_dir") {
      DXHUB_RETURN_IF_ERROR(need_string(error));
    } else {
      return config_error("file source (ftp): unknown setting \"" + key +
                          "\" (known: kind, host, port, directory, user, password_env, tls, ca_file, tls_verify, "
                          "connect_timeout_ms, timeout_ms, max_attempts, backoff_initial_ms, backoff_max_ms, "
                          "listing, after, archive_dir, error_dir)");
    }
  }
  if (s.host.empty()) return config_error("file source (ftp): needs \"host\"");
  for (char c : s.host) {
    if (c == '/' || c == '@' || c == ' ' || c == '?' || c == '#') {
      return config_error("file source (ftp): \"host\" must be a host name or address only");
    }
  }
  for (const std::string* p : {&archive, &error}) {
    for (char c : *p) {
      if (c == '\r' || c == '\n') return config_error("file source (ftp): a folder name holds a line break");
    }
  }
  if (!password_env.empty()) {
    const char* v = std::getenv(password_env.c_str());
    if (v == nullptr || *v == '\0') {
      return config_error("file source (ftp): the environment variable named by \"password_env\" (" + password_env +
                          ") is not set");
    }
    s.password = v;
  }
  s.archive_dir = absolute_under(s.directory, archive);
  s.error_dir = absolute_under(s.directory, error);
  std::string dir = work_dir;
  bool owned = false;
  if (dir.empty()) {
    // Opened without a work directory (check, discover): a private temporary one.
    std::string pattern = (fs::temp_directory_path() / "dxhub-ftp-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) return io_error("file source (ftp): cannot create a work directory");
    dir = pattern;
    owned = true;
  }
  return std::unique_ptr<FileSource>(std::make_unique<FtpSource>(std::move(s), dir, owned));
}

}  // namespace dxhub
