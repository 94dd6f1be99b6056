#include "connectors/file/local_source.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <system_error>

namespace dxhub {

namespace fs = std::filesystem;

std::string suffixed_name(const std::string& name, const std::string& sha256, int attempt) {
  if (attempt == 0) return name;
  fs::path p(name);
  std::string stem = p.stem().string();
  std::string ext = p.extension().string();
  std::string parent = p.parent_path().string();
  std::string out = parent.empty() ? std::string() : parent + "/";
  out += stem + "." + sha256.substr(0, 12);
  if (attempt > 1) out += "-" + std::to_string(attempt);
  out += ext;
  return out;
}

namespace {

int64_t to_ms(const struct timespec& t) { return static_cast<int64_t>(t.tv_sec) * 1000 + t.tv_nsec / 1000000; }

class LocalSource final : public FileSource {
 public:
  LocalSource(fs::path directory, fs::path archive, fs::path error, bool recursive, AfterRead after)
      : directory_(std::move(directory)),
        archive_(std::move(archive)),
        error_(std::move(error)),
        recursive_(recursive),
        after_(after),
        describe_("drop folder " + directory_.string()) {}

  const std::string& describe() const override { return describe_; }

  Expected<std::vector<SourceEntry>> list() override {
    std::vector<SourceEntry> out;
    std::error_code ec;
    if (!fs::is_directory(directory_, ec)) return source_error(describe_ + ": not a directory");
    DXHUB_RETURN_IF_ERROR(list_dir(directory_, "", out));
    return out;
  }

  Expected<std::string> fetch(const SourceEntry& entry) override {
    std::string path = (directory_ / entry.name).string();
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return not_found_error(describe_ + ": a file vanished before reading");
    return path;
  }

  void release(const std::string&) override {}

  Status finish(const SourceEntry& entry, const std::string& sha256, const std::string& marker) override {
    if (after_ == AfterRead::kDelete) {
      DXHUB_RETURN_IF_ERROR(remove_file(entry.name));
      if (!marker.empty()) DXHUB_RETURN_IF_ERROR(remove_file(marker));
      return Status::ok();
    }
    DXHUB_ASSIGN_OR_RETURN(fs::path target, move_into(archive_, entry.name, sha256));
    if (!marker.empty()) {
      DXHUB_RETURN_IF_ERROR(move_into(archive_, marker, sha256).status());
    }
    (void)target;
    return Status::ok();
  }

  Status refuse(const SourceEntry& entry, const std::string&, const std::string& sha256, const std::string& marker,
                const std::string& reason) override {
    DXHUB_ASSIGN_OR_RETURN(fs::path target, move_into(error_, entry.name, sha256));
    std::ofstream note(target.string() + ".reason.txt", std::ios::trunc);
    note << reason << "\n";
    if (!note) return io_error(describe_ + ": cannot write the reason beside a refused file in " + error_.string());
    if (!marker.empty()) DXHUB_RETURN_IF_ERROR(move_into(error_, marker, sha256).status());
    return Status::ok();
  }

 private:
  bool excluded_dir(const fs::path& p) const {
    std::error_code ec;
    return fs::equivalent(p, archive_, ec) || fs::equivalent(p, error_, ec);
  }

  Status list_dir(const fs::path& dir, const std::string& prefix, std::vector<SourceEntry>& out) {
    std::error_code ec;
    fs::directory_iterator it(dir, ec);
    if (ec) return source_error(describe_ + ": cannot list " + dir.string() + ": " + ec.message());
    for (const auto& dirent : it) {
      const std::string base = dirent.path().filename().string();
      if (base.empty() || base[0] == '.') continue;  // hidden: uploaders' temporary files
      struct stat st {};
      if (::stat(dirent.path().c_str(), &st) != 0) continue;  // vanished or a dangling link
      if (S_ISDIR(st.st_mode)) {
        if (recursive_ && !excluded_dir(dirent.path())) {
          DXHUB_RETURN_IF_ERROR(list_dir(dirent.path(), prefix + base + "/", out));
        }
        continue;
      }
      if (!S_ISREG(st.st_mode)) continue;
      SourceEntry e;
      e.name = prefix + base;
      e.size = static_cast<uint64_t>(st.st_size);
      e.mtime_ms = to_ms(st.st_mtim);
      // ctime moves on every write and on a timestamp reset (cp -p), so
      // max(mtime, ctime) is when the file last changed in any way.
      e.quiet_since_ms = std::max(e.mtime_ms, to_ms(st.st_ctim));
      out.push_back(std::move(e));
    }
    return Status::ok();
  }

  Status remove_file(const std::string& name) {
    std::error_code ec;
    fs::remove(directory_ / name, ec);
    if (ec) return io_error(describe_ + ": cannot delete a finished file: " + ec.message());
    return Status::ok();
  }

  // Moves directory_/name into `folder` under the same relative name, or a
  // suffixed one if taken. Returns the target.
  Expected<fs::path> move_into(const fs::path& folder, const std::string& name, const std::string& sha256) {
    std::error_code ec;
    fs::path source = directory_ / name;
    for (int attempt = 0; attempt < 1000; ++attempt) {
      fs::path target = folder / suffixed_name(name, sha256, attempt);
      if (fs::exists(target, ec)) continue;
      fs::create_directories(target.parent_path(), ec);
      if (ec) return io_error(describe_ + ": cannot create " + target.parent_path().string() + ": " + ec.message());
      fs::rename(source, target, ec);
      if (ec == std::errc::cross_device_link) {
        // Another file system: copy, then remove the original.
        ec.clear();
        fs::copy_file(source, target, ec);
        if (!ec) fs::remove(source, ec);
      }
      if (ec) return io_error(describe_ + ": cannot move a file to " + folder.string() + ": " + ec.message());
      return target;
    }
    return io_error(describe_ + ": no free name in " + folder.string());
  }

  fs::path directory_, archive_, error_;
  bool recursive_;
  AfterRead after_;
  std::string describe_;
};

}  // namespace

Expected<std::unique_ptr<FileSource>> open_local_source(const nlohmann::json& settings) {
  std::string directory, archive, error;
  bool recursive = false;
  AfterRead after = AfterRead::kArchive;
  for (auto it = settings.begin(); it != settings.end(); ++it) {
    const std::string& key = it.key();
    auto need_string = [&](std::string& into) -> Status {
      if (!it->is_string() || it->get_ref<const std::string&>().empty()) {
        return config_error("file source: \"" + key + "\" must be a non-empty string");
      }
      into = it->get<std::string>();
      return Status::ok();
    };
    if (key == "kind") continue;
    if (key == "directory") {
      DXHUB_RETURN_IF_ERROR(need_string(directory));
    } else if (key == "archive_dir") {
      DXHUB_RETURN_IF_ERROR(need_string(archive));
    } else if (key == "error_dir") {
      DXHUB_RETURN_IF_ERROR(need_string(error));
    } else if (key == "recursive") {
      if (!it->is_boolean()) return config_error("file source: \"recursive\" must be true or false");
      recursive = it->get<bool>();
    } else if (key == "after") {
      std::string v = it->is_string() ? it->get<std::string>() : "";
      if (v == "archive") after = AfterRead::kArchive;
      else if (v == "delete") after = AfterRead::kDelete;
      else return config_error("file source: \"after\" must be \"archive\" or \"delete\"");
    } else {
      return config_error("file source (local): unknown setting \"" + key +
                          "\" (known: kind, directory, recursive, archive_dir, error_dir, after)");
    }
  }
  if (directory.empty()) return config_error("file source (local): needs \"directory\"");
  fs::path dir(directory);
  fs::path archive_path = archive.empty() ? dir / "archive" : fs::path(archive);
  fs::path error_path = error.empty() ? dir / "error" : fs::path(error);
  if (archive_path.is_relative() && !archive.empty()) archive_path = dir / archive_path;
  if (error_path.is_relative() && !error.empty()) error_path = dir / error_path;
  return std::unique_ptr<FileSource>(
      std::make_unique<LocalSource>(dir, archive_path, error_path, recursive, after));
}

}  // namespace dxhub
