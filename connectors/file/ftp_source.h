// An FTP or FTPS (explicit TLS) directory through libcurl (see
// file_connector.h for the settings). Files are downloaded into the
// connector's work directory, read there, and afterwards renamed into the
// remote archive directory (RNFR/RNTO) or deleted (DELE).
#pragma once

#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

#include "connectors/file/file_source.h"

namespace dxhub {

Expected<std::unique_ptr<FileSource>> open_ftp_source(const nlohmann::json& settings, const std::string& work_dir);

// Listing parsers (public for tests). MLSD: "type=file;size=12;modify=20261201101500; name".
// LIST: Unix "ls -l" lines ("-rw-r--r-- 1 u g 12 Dec 01 10:15 name"); mtime unknown.
std::vector<SourceEntry> parse_mlsd_listing(const std::string& text);
std::vector<SourceEntry> parse_unix_listing(const std::string& text);

}  // namespace dxhub
