// The "xml" file format: records picked by XPath, fields by relative paths
// (connectors/xml/xml_records.h), parsed by the hardened layer
// (connectors/xml/xml_document.h: no DTD, no entities, no XInclude, no
// network, depth and size limits).
//
// Settings (the format object):
//   kind                "xml"
//   records_xpath       XPath of the record elements (required)
//   fields              {"column": "relative path"} (optional)
//   namespaces          {"prefix": "uri"} (optional)
//   encoding            overrides the declared encoding, e.g. "GB18030" (optional)
//   max_document_bytes  default 268435456 (256 MiB): a larger file is refused
//                       (kData); the whole file is parsed into memory, about
//                       5-10x its size, so raise this only with the memory for it
//   max_depth           default 128 (1..256): deeper element nesting is refused
// Source references: "<name> record N" (N from 1). position(): {"record": N},
// the number of records already handed out.
#pragma once

#include <memory>

#include "connectors/file/file_format.h"

namespace dxhub {

Expected<std::unique_ptr<FileFormatReader>> open_xml_reader(const nlohmann::json& format,
                                                            const FileFormatInput& input,
                                                            const std::vector<std::string>& columns);

}  // namespace dxhub
