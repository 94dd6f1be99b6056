// Reads a SOAP 1.1 / SOAP 1.2 service or a plain XML API page by page over
// HTTP (libcurl, core/delivery/curl_handle.h), records by XPath, fields by
// relative paths (connectors/xml/xml_records.h), every response parsed by
// the hardened layer (connectors/xml/xml_document.h).
//
// Settings (connector config, a JSON object; unknown keys are refused):
//   url               endpoint (required); may hold placeholders (URL-escaped)
//   protocol          "soap11" (default: text/xml + SOAPAction), "soap12"
//                     (application/soap+xml; action="..."), "xml" (plain API)
//   method            "POST" (SOAP: the only one) or "GET" (xml default)
//   soap_action       the SOAP action (default "")
//   body_template     request body (required for SOAP; XML-escaped placeholders)
//   content_type      body type for xml POST (default application/xml; charset=utf-8)
//   headers           {"Name": "value"} extra request headers
//   namespaces        {"prefix": "uri"} for the XPaths
//   records_xpath     XPath of the record elements in a response (required)
//   fields            {"column": "relative path"}; default: child element by
//                     local name, else attribute (see xml_records.h)
//   key_column        the record's identity (required): a record without it
//                     is bad input
//   cursor_column     "last changed" field: incremental reads by the
//                     {{updated_since}} placeholder (omitted: full refresh)
//   initial_since     {{updated_since}} before any cursor (default "")
//   cursor_order      "ascending" (default: the service returns records by
//                     (cursor, key) ascending; the cursor advances per batch
//                     and a record out of order fails the read) or "none" (the
//                     cursor advances only when a run has read every page)
//   paging            "none" (default, one request), "page" ({{page}} from
//                     first_page), "offset" ({{offset}} from 0, advanced by
//                     the records of each page); {{page_size}} is page_size
//   first_page        default 1;  page_size  default 100
//   total_xpath       XPath of the total record count in a page: paging
//                     stops once that many records were seen (default: stop
//                     at the first page without records)
//   max_pages         default 100000: more pages in one run fail the read
//   timeout_ms        whole request, default 30000; connect_timeout_ms 10000
//   retries           default 3 (0..10) on transport errors, 5xx, 429, HTML
//                     or malformed/truncated bodies; retry_backoff_ms default
//                     500, doubled per attempt (with jitter), at most 30 s
//   max_response_bytes default 67108864 (64 MiB); max_depth default 128
// Placeholders: {{page}} {{offset}} {{page_size}} {{updated_since}}; one
// that the paging or incremental settings do not provide is refused.
//
// Incremental rules (those of connectors/sqlite_table): each open asks the
// service for records with cursor >= V (the cursor's value) and re-reads the
// whole tie group at V, skipping a record only when its key and an XXH3
// digest of its values match one already sent at V; records below V are
// skipped (a service that ignores the filter still delivers no duplicates).
// A record without a cursor value is bad input. Page or offset paging over
// a source that changes during the run can shift records between pages; the
// re-read of the tie group at the next open covers only records at V.
//
// Errors: an unreachable service (after the retries) is kSource and the
// cursor stays; a SOAP fault (1.1 faultcode/faultstring, 1.2 Code/Reason) is
// kSource naming the page, the code and the reason. A record that does not
// form a row goes to sink.on_bad_input as "page N record I".
//
// Cursor: {"v": 1, "value": "<V>", "boundary": [["<key>", "<16 hex>"], ...]};
// null for full refresh.
#pragma once

#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

#include "connectors/connector.h"

namespace dxhub {

class SoapXmlConnector;

struct SoapXmlOpen {
  static constexpr const char* kKind = "soap_xml";
  static Expected<std::unique_ptr<Connector>> open(const nlohmann::json& config, const std::vector<std::string>& columns,
                                                   const nlohmann::json& cursor, const ConnectorOpenOptions& options);
};

}  // namespace dxhub
