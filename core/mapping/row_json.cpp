#include "core/mapping/row_json.h"

#include <nlohmann/json.hpp>

namespace dxhub {

Expected<StoredRow> StoredRow::parse(std::string_view row_json) {
  auto doc = nlohmann::ordered_json::parse(row_json, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) return data_error("stored row is not a JSON object");
  StoredRow row;
  for (const auto& [name, value] : doc.items()) {
    row.columns_.push_back(name);
    if (value.is_null()) {
      row.values_.push_back(FieldValue::null());
    } else if (value.is_boolean()) {
      row.values_.push_back(FieldValue::integer(value.get<bool>() ? 1 : 0));
    } else if (value.is_number_integer()) {
      // Unsigned values above INT64_MAX cannot come from row_to_json (SQLite integers are signed).
      row.values_.push_back(FieldValue::integer(value.get<int64_t>()));
    } else if (value.is_number()) {
      row.values_.push_back(FieldValue::real(value.get<double>()));
    } else {
      row.text_.push_back(value.is_string()
                              ? value.get<std::string>()
                              : value.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace));
      row.values_.push_back(FieldValue::text(row.text_.back()));
    }
  }
  return row;
}

}  // namespace dxhub
