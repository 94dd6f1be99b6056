// Maps source rows to Avro records as a mapping file says. Everything that
// can be decided once (field positions, converters, code tables, column
// positions, the encoding of defaults) is decided in load() and bind();
// map() and encode() then run per row without heap allocation.
#pragma once

#include <avro.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/avro/schema.h"
#include "core/common/row.h"
#include "core/common/status.h"
#include "core/mapping/converted_value.h"
#include "core/mapping/decimal.h"
#include "core/mapping/mapping_spec.h"
#include "core/mapping/schema_fields.h"
#include "core/mapping/value_parsers.h"

namespace dxhub {

class RecordMapper {
 public:
  // Loads the mapping file and checks it against `schema`: every mapped
  // field exists; every schema field is mapped unless nullable or it has a
  // default; codes only on enum/string fields and every code target is a
  // valid enum symbol; formats only on date/timestamp fields; the primary
  // key is a mapped string/int/long field. Violations are kConfig naming
  // the mapping file and the field.
  static Expected<RecordMapper> load(const std::string& mapping_path, const avro::Schema& schema);
  static Expected<RecordMapper> build(const mapping::MappingSpec& spec, const avro::Schema& schema);

  // Distinct columns the mapping reads, in first-use order.
  const std::vector<std::string>& source_columns() const { return source_columns_; }
  const std::string& primary_key() const { return primary_key_; }  // Avro field name
  const std::string& resource() const { return resource_; }

  // Resolves column positions against the connector's columns (exact
  // names); a column the mapping needs but the connector lacks is kConfig.
  Status bind(const std::vector<std::string>& connector_columns);

  // Fills `record`, a generic value of the schema (reset it first), from
  // `row`, laid out as the bound connector columns. A bad value is kData
  // naming field, column, the kind of source value and the problem -- never
  // the value itself (reasons end up in logs); the caller dead-letters the row.
  Status map(const RowView& row, avro_value_t* record) const;

  // The compiled path: APPENDS the Avro binary encoding of the record to
  // `out`, exactly the bytes avro_value_write would produce for the record
  // map() fills (same conversions, same defaults), without going through an
  // avro-c value. Errors are the same Status map() returns for the row (the
  // first failing field in mapping order); on error `out` is left as it was.
  Status encode(const RowView& row, std::string& out) const;

  // APPENDS the Avro binary of the primary key field alone, converted as
  // encode() converts it but without a union index (a tombstone's key field
  // is the key's type without null). kData when the key does not convert
  // or is NULL; on error `out` is left as it was.
  Status encode_primary_key(const RowView& row, std::string& out) const;

  // The source value behind the primary key field, as text ("" when it
  // is NULL or the mapper is not bound): names a dead-lettered row.
  std::string source_key(const RowView& row) const;

  // The row as a JSON object (column name -> value) for the dead-letter
  // store. Blobs are "0x" + hex; text that is not valid UTF-8 is
  // {"invalid_utf8_hex": "<hex>"} so that its bytes survive. Never throws on
  // any byte sequence.
  std::string row_to_json(const RowView& row) const;

 private:
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  // What a source value turns into after a lookup (code table or enum symbol).
  struct LookupTarget {
    int symbol = -1;   // enum targets
    std::string text;  // string targets
  };
  using LookupTable = std::unordered_map<std::string, LookupTarget, StringHash, std::equal_to<>>;

  struct FieldPlan {
    std::string field;
    std::string column;
    int field_index = 0;
    mapping::TargetType type = mapping::TargetType::kString;
    bool nullable = false;
    bool empty_text_is_null = false;
    int null_branch = -1;
    int value_branch = -1;
    size_t column_slot = 0;  // position in source_columns_
    size_t row_position = 0;  // position in the bound connector row
    bool has_codes = false;
    LookupTable lookup;  // codes, or enum symbol names when there are none
    mapping::TimeLayout layout;
    mapping::DecimalSpec decimal;  // kDecimal
  };
  struct DefaultPlan {
    int field_index = 0;
    mapping::TargetType type = mapping::TargetType::kString;
    int branch = -1;  // union branch to select, -1 when not a union
    mapping::FieldDefault value;
  };

  // One schema field in encode() order: a mapped field, or the constant
  // bytes of one or more consecutive defaulted fields.
  struct EncodeStep {
    int field_plan = -1;    // index into fields_, or -1 for `constant`
    std::string constant;   // pre-encoded defaults (union index included)
  };

  RecordMapper() = default;
  Status check_row(const RowView& row) const;
  Status set_field(const FieldPlan& plan, const FieldValue& value, avro_value_t* field) const;
  // The shared conversion: validates `value` for `plan` and fills `out`
  // (kNull only for a nullable field).
  Status convert(const FieldPlan& plan, const FieldValue& value, mapping::ConvertedValue& out) const;
  static Status convert_lookup(const FieldPlan& plan, const FieldValue& value, mapping::ConvertedValue& out);
  static void convert_default(const DefaultPlan& plan, mapping::ConvertedValue& out);
  static Status set_default(const DefaultPlan& plan, avro_value_t* field);
  // The error map() reports for a row encode() found bad.
  Status first_error(const RowView& row) const;
  static Status field_error(const FieldPlan& plan, const FieldValue& value, std::string_view problem);
  static Status decimal_error(const FieldPlan& plan, const FieldValue& value, mapping::DecimalProblem problem);
  static Status avro_error(const FieldPlan& plan, int rc);

  std::string origin_;
  std::string resource_;
  std::string primary_key_;
  int32_t utc_offset_seconds_ = 0;
  std::vector<std::string> source_columns_;
  std::vector<FieldPlan> fields_;
  std::vector<DefaultPlan> defaults_;
  std::vector<EncodeStep> encode_steps_;  // schema order
  std::vector<std::string> connector_columns_;
  size_t row_width_ = 0;  // a row must hold at least this many values
  bool bound_ = false;
};

}  // namespace dxhub
