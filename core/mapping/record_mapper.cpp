#include "core/mapping/record_mapper.h"

#include <algorithm>
#include <cfloat>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "core/avro/ocf_writer.h"

namespace dxhub {

namespace {

using mapping::TargetType;

constexpr const char* kDefaultDateLayout = "YYYY-MM-DD";
constexpr const char* kDefaultTimestampLayout = "YYYY-MM-DD HH:MM:SS";
constexpr size_t kQuotedValueLimit = 64;

bool is_time_type(TargetType t) {
  return t == TargetType::kDate || t == TargetType::kTimestampMillis || t == TargetType::kTimestampMicros;
}

// What kind of source value failed, for error messages. The value itself
// never appears: reasons are logged and the rows hold personal data.
const char* kind_of(const FieldValue& v) {
  switch (v.type) {
    case FieldValue::Type::kNull: return "NULL";
    case FieldValue::Type::kInt: return "integer";
    case FieldValue::Type::kReal: return "real";
    case FieldValue::Type::kText: return "text";
    case FieldValue::Type::kBlob: return "blob";
  }
  return "value";
}

// Decimal text of `v` into buf (NUL-terminated); returns its length.
template <size_t N>
size_t render_integer(int64_t v, char (&buf)[N]) {
  static_assert(N >= 21, "room for INT64_MIN and the NUL");
  auto [end, ec] = std::to_chars(buf, buf + N - 1, v);
  *end = '\0';
  return static_cast<size_t>(end - buf);
}

}  // namespace

Expected<RecordMapper> RecordMapper::load(const std::string& mapping_path, const avro::Schema& schema) {
  DXHUB_ASSIGN_OR_RETURN(mapping::MappingSpec spec, mapping::load_mapping_spec(mapping_path));
  return build(spec, schema);
}

Expected<RecordMapper> RecordMapper::build(const mapping::MappingSpec& spec, const avro::Schema& schema) {
  const std::string where = "mapping " + spec.origin;
  auto described = mapping::describe_record_fields(schema);
  if (!described) return described.status().with_context(where);
  const std::vector<mapping::SchemaField>& schema_fields = *described;

  RecordMapper m;
  m.origin_ = spec.origin;
  m.resource_ = spec.resource;
  m.primary_key_ = spec.primary_key;
  std::vector<bool> mapped(schema_fields.size(), false);
  bool needs_timezone = false;

  for (const mapping::FieldMapping& fm : spec.fields) {
    const std::string at = where + ": field " + fm.field;
    const auto sf = std::find_if(schema_fields.begin(), schema_fields.end(),
                                 [&](const mapping::SchemaField& f) { return f.name == fm.field; });
    if (sf == schema_fields.end()) return config_error(at + ": not in schema " + schema.full_name());
    if (mapped[static_cast<size_t>(sf->index)]) return config_error(at + ": mapped twice");
    mapped[static_cast<size_t>(sf->index)] = true;

    FieldPlan plan;
    plan.field = fm.field;
    plan.column = fm.column;
    plan.field_index = sf->index;
    plan.type = sf->type;
    plan.nullable = sf->nullable;
    plan.null_branch = sf->null_branch;
    plan.value_branch = sf->value_branch;
    // An empty string is a value for text targets; for others it means "no value".
    plan.empty_text_is_null = sf->nullable && sf->type != TargetType::kString && sf->type != TargetType::kBytes;
    const auto column = std::find(m.source_columns_.begin(), m.source_columns_.end(), fm.column);
    plan.column_slot = static_cast<size_t>(column - m.source_columns_.begin());
    if (column == m.source_columns_.end()) m.source_columns_.push_back(fm.column);

    if (!fm.codes.empty()) {
      if (sf->type != TargetType::kEnum && sf->type != TargetType::kString) {
        return config_error(at + ": codes need an enum or string field, not " +
                            mapping::target_type_name(sf->type));
      }
      plan.has_codes = true;
      for (const auto& [code, target] : fm.codes) {
        LookupTarget lookup;
        if (sf->type == TargetType::kEnum) {
          const auto symbol = std::find(sf->symbols.begin(), sf->symbols.end(), target);
          if (symbol == sf->symbols.end()) {
            std::string symbols;
            for (const auto& s : sf->symbols) symbols += (symbols.empty() ? "" : ", ") + s;
            return config_error(at + ": code '" + code + "' maps to '" + target +
                                "', which is not a symbol of the enum (" + symbols + ")");
          }
          lookup.symbol = static_cast<int>(symbol - sf->symbols.begin());
        } else {
          lookup.text = target;
        }
        plan.lookup.emplace(code, std::move(lookup));
      }
    } else if (sf->type == TargetType::kEnum) {
      for (size_t s = 0; s < sf->symbols.size(); ++s) {
        plan.lookup.emplace(sf->symbols[s], LookupTarget{static_cast<int>(s), {}});
      }
    }

    if (fm.format && !is_time_type(sf->type)) {
      return config_error(at + ": \"format\" applies to date and timestamp fields, not " +
                          mapping::target_type_name(sf->type));
    }
    if (sf->type == TargetType::kDecimal) {
      plan.decimal = mapping::DecimalSpec{sf->precision, sf->scale, sf->fixed_size};
    }
    if (is_time_type(sf->type)) {
      const bool with_time = sf->type != TargetType::kDate;
      const std::string pattern = fm.format ? *fm.format : with_time ? kDefaultTimestampLayout : kDefaultDateLayout;
      auto layout = mapping::TimeLayout::compile(pattern, with_time);
      if (!layout) return layout.status().with_context(at);
      plan.layout = std::move(*layout);
      needs_timezone = needs_timezone || with_time;
    }
    m.fields_.push_back(std::move(plan));
  }

  if (spec.source_timezone) {
    auto offset = mapping::parse_utc_offset(*spec.source_timezone);
    if (!offset) return offset.status().with_context(where);
    m.utc_offset_seconds_ = *offset;
  } else if (needs_timezone) {
    return config_error(where + ": \"source_timezone\" is required to read text timestamps");
  }

  for (const mapping::SchemaField& sf : schema_fields) {
    if (mapped[static_cast<size_t>(sf.index)]) continue;
    if (!sf.nullable && !sf.default_value) {
      return config_error(where + ": field " + sf.name + " of schema " + schema.full_name() +
                          " is not mapped and is neither nullable nor has a default");
    }
    DefaultPlan plan;
    plan.field_index = sf.index;
    plan.type = sf.type;
    if (sf.default_value) {
      plan.value = *sf.default_value;
    } else {
      plan.value.is_null = true;  // nullable without a default: null
    }
    if (sf.nullable) plan.branch = plan.value.is_null ? sf.null_branch : sf.value_branch;
    m.defaults_.push_back(std::move(plan));
  }

  // encode() writes the fields in schema order; runs of defaults are
  // constant, so they are encoded here once.
  std::vector<int> plan_of_field(schema_fields.size(), -1);
  for (size_t p = 0; p < m.fields_.size(); ++p) {
    plan_of_field[static_cast<size_t>(m.fields_[p].field_index)] = static_cast<int>(p);
  }
  std::vector<const DefaultPlan*> default_of_field(schema_fields.size(), nullptr);
  for (const DefaultPlan& d : m.defaults_) default_of_field[static_cast<size_t>(d.field_index)] = &d;
  for (size_t f = 0; f < schema_fields.size(); ++f) {
    if (plan_of_field[f] >= 0) {
      m.encode_steps_.push_back(EncodeStep{plan_of_field[f], {}});
      continue;
    }
    if (m.encode_steps_.empty() || m.encode_steps_.back().field_plan >= 0) m.encode_steps_.push_back(EncodeStep{});
    std::string& constant = m.encode_steps_.back().constant;
    const DefaultPlan& d = *default_of_field[f];
    if (d.branch >= 0) avro::append_avro_long(constant, d.branch);
    mapping::ConvertedValue value;
    convert_default(d, value);
    mapping::append_avro_binary(value, constant);
  }

  const auto key = std::find_if(m.fields_.begin(), m.fields_.end(),
                                [&](const FieldPlan& p) { return p.field == spec.primary_key; });
  if (key == m.fields_.end()) {
    return config_error(where + ": primary_key " + spec.primary_key + " is not a mapped field");
  }
  if (key->type != TargetType::kString && key->type != TargetType::kInt && key->type != TargetType::kLong) {
    return config_error(where + ": primary_key " + spec.primary_key + " must be a string, int or long field, not " +
                        mapping::target_type_name(key->type));
  }
  return m;
}

Status RecordMapper::bind(const std::vector<std::string>& connector_columns) {
  std::vector<size_t> positions(source_columns_.size());
  for (size_t slot = 0; slot < source_columns_.size(); ++slot) {
    const auto it = std::find(connector_columns.begin(), connector_columns.end(), source_columns_[slot]);
    if (it == connector_columns.end()) {
      std::string available;
      for (const auto& c : connector_columns) available += (available.empty() ? "" : ", ") + c;
      return config_error("mapping " + origin_ + ": column " + source_columns_[slot] +
                          " is not among the source columns (" + available + ")");
    }
    positions[slot] = static_cast<size_t>(it - connector_columns.begin());
  }
  row_width_ = 0;
  for (FieldPlan& plan : fields_) {
    plan.row_position = positions[plan.column_slot];
    row_width_ = std::max(row_width_, plan.row_position + 1);
  }
  connector_columns_ = connector_columns;
  bound_ = true;
  return Status::ok();
}

Status RecordMapper::check_row(const RowView& row) const {
  if (!bound_) return internal_error("mapping " + origin_ + ": map() called before bind()");
  if (row.count < row_width_) {
    return data_error("the row has " + std::to_string(row.count) + " values, the mapping reads " +
                      std::to_string(row_width_));
  }
  return Status::ok();
}

Status RecordMapper::map(const RowView& row, avro_value_t* record) const {
  DXHUB_RETURN_IF_ERROR(check_row(row));
  for (const FieldPlan& plan : fields_) {
    avro_value_t field;
    if (int rc = avro_value_get_by_index(record, static_cast<size_t>(plan.field_index), &field, nullptr); rc != 0) {
      return avro_error(plan, rc);
    }
    DXHUB_RETURN_IF_ERROR(set_field(plan, row[plan.row_position], &field));
  }
  for (const DefaultPlan& plan : defaults_) {
    avro_value_t field;
    if (avro_value_get_by_index(record, static_cast<size_t>(plan.field_index), &field, nullptr) != 0) {
      return internal_error("mapping " + origin_ + ": the record does not match the schema");
    }
    DXHUB_RETURN_IF_ERROR(set_default(plan, &field));
  }
  return Status::ok();
}

Status RecordMapper::encode(const RowView& row, std::string& out) const {
  DXHUB_RETURN_IF_ERROR(check_row(row));
  const size_t start = out.size();
  for (const EncodeStep& step : encode_steps_) {
    if (step.field_plan < 0) {
      out.append(step.constant);
      continue;
    }
    const FieldPlan& plan = fields_[static_cast<size_t>(step.field_plan)];
    mapping::ConvertedValue value;
    if (!convert(plan, row[plan.row_position], value).is_ok()) {
      out.resize(start);
      return first_error(row);
    }
    if (plan.nullable) {
      avro::append_avro_long(out, value.kind == mapping::ConvertedValue::Kind::kNull ? plan.null_branch
                                                                                          : plan.value_branch);
    }
    mapping::append_avro_binary(value, out);
  }
  return Status::ok();
}

Status RecordMapper::first_error(const RowView& row) const {
  // encode() walks the schema's order, map() the mapping's: report the
  // field map() would have, so both paths dead-letter a row the same way.
  for (const FieldPlan& plan : fields_) {
    mapping::ConvertedValue value;
    DXHUB_RETURN_IF_ERROR(convert(plan, row[plan.row_position], value));
  }
  return internal_error("mapping " + origin_ + ": a conversion failed once and then succeeded");
}

Status RecordMapper::set_field(const FieldPlan& plan, const FieldValue& value, avro_value_t* field) const {
  mapping::ConvertedValue converted;
  DXHUB_RETURN_IF_ERROR(convert(plan, value, converted));
  avro_value_t branch;
  avro_value_t* target = field;
  if (plan.nullable) {
    const bool is_null = converted.kind == mapping::ConvertedValue::Kind::kNull;
    if (int rc = avro_value_set_branch(field, is_null ? plan.null_branch : plan.value_branch, &branch); rc != 0) {
      return avro_error(plan, rc);
    }
    target = &branch;
  }
  const int rc = mapping::set_avro_value(converted, target);
  return rc == 0 ? Status::ok() : avro_error(plan, rc);
}

Status RecordMapper::convert(const FieldPlan& plan, const FieldValue& value, mapping::ConvertedValue& out) const {
  using Type = FieldValue::Type;
  using Kind = mapping::ConvertedValue::Kind;
  const bool is_null =
      value.is_null() || (plan.empty_text_is_null && value.type == Type::kText && value.s.empty());
  if (is_null) {
    if (!plan.nullable) return field_error(plan, value, "is not allowed: the field is not nullable");
    out.kind = Kind::kNull;
    return Status::ok();
  }
  switch (plan.type) {
    case TargetType::kString: {
      if (plan.has_codes) return convert_lookup(plan, value, out);
      out.kind = Kind::kString;
      if (value.type == Type::kText || value.type == Type::kBlob) {
        if (!mapping::is_valid_utf8(value.s)) return field_error(plan, value, "is not valid UTF-8");
        if (!value.s.empty() && value.s.data()[value.s.size()] != '\0') {
          return internal_error("mapping " + origin_ + ": column " + plan.column +
                                ": the connector passed text without its terminating NUL");
        }
        out.text = value.s;
      } else if (value.type == Type::kInt) {
        out.text = std::string_view(out.digits, render_integer(value.i, out.digits));
      } else {  // kReal: shortest text that reads back the same
        auto [end, ec] = std::to_chars(out.digits, out.digits + sizeof out.digits - 1, value.d);
        if (ec != std::errc()) return field_error(plan, value, "cannot be rendered as text");
        *end = '\0';
        out.text = std::string_view(out.digits, static_cast<size_t>(end - out.digits));
      }
      return Status::ok();
    }
    case TargetType::kBytes:
      if (value.type != Type::kText && value.type != Type::kBlob) return field_error(plan, value, "is not bytes");
      out.kind = Kind::kBytes;
      out.text = value.s;
      return Status::ok();
    case TargetType::kInt:
    case TargetType::kLong: {
      int64_t v = 0;
      if (value.type == Type::kInt) {
        v = value.i;
      } else if (value.type == Type::kText) {
        if (!mapping::parse_int64(value.s, v)) return field_error(plan, value, "is not an integer");
      } else if (value.type == Type::kReal && std::isfinite(value.d) && std::trunc(value.d) == value.d &&
                 std::fabs(value.d) < 9.2e18) {
        v = static_cast<int64_t>(value.d);
      } else {
        return field_error(plan, value, "is not an integer");
      }
      if (plan.type == TargetType::kInt) {
        if (v < INT32_MIN || v > INT32_MAX) return field_error(plan, value, "is out of range for int");
        out.kind = Kind::kInt;
      } else {
        out.kind = Kind::kLong;
      }
      out.integer = v;
      return Status::ok();
    }
    case TargetType::kFloat:
    case TargetType::kDouble: {
      double v = 0;
      if (value.type == Type::kInt) {
        v = static_cast<double>(value.i);
      } else if (value.type == Type::kReal && std::isfinite(value.d)) {
        v = value.d;
      } else if (value.type != Type::kText || !mapping::parse_double(value.s, v)) {
        return field_error(plan, value, "is not a finite number");
      }
      if (plan.type == TargetType::kFloat) {
        if (std::fabs(v) > FLT_MAX) return field_error(plan, value, "is out of range for float");
        out.kind = Kind::kFloat;
        out.single = static_cast<float>(v);
      } else {
        out.kind = Kind::kDouble;
        out.real = v;
      }
      return Status::ok();
    }
    case TargetType::kBoolean: {
      bool v = false;
      if (value.type == Type::kInt && (value.i == 0 || value.i == 1)) {
        v = value.i == 1;
      } else if (value.type != Type::kText || !mapping::parse_bool(value.s, v)) {
        return field_error(plan, value, "is not a boolean (true/false/1/0)");
      }
      out.kind = Kind::kBoolean;
      out.integer = v ? 1 : 0;
      return Status::ok();
    }
    case TargetType::kEnum:
      return convert_lookup(plan, value, out);
    case TargetType::kDate: {
      int32_t days = 0;
      if (value.type == Type::kInt) {
        if (value.i < INT32_MIN || value.i > INT32_MAX) return field_error(plan, value, "is out of range for a date");
        days = static_cast<int32_t>(value.i);
      } else if (value.type != Type::kText || !plan.layout.parse_days(value.s, days)) {
        return field_error(plan, value, "is not a valid date (" + plan.layout.pattern() + ")");
      }
      out.kind = Kind::kInt;
      out.integer = days;
      return Status::ok();
    }
    case TargetType::kTimestampMillis:
    case TargetType::kTimestampMicros: {
      const int64_t per_second = plan.type == TargetType::kTimestampMillis ? 1000 : 1000000;
      int64_t v = 0;
      if (value.type == Type::kInt) {
        v = value.i;  // already epoch ms (or us)
      } else {
        int64_t local_seconds = 0;
        if (value.type != Type::kText || !plan.layout.parse_seconds(value.s, local_seconds)) {
          return field_error(plan, value, "is not a valid timestamp (" + plan.layout.pattern() + ")");
        }
        v = (local_seconds - utc_offset_seconds_) * per_second;
      }
      out.kind = Kind::kLong;
      out.integer = v;
      return Status::ok();
    }
    case TargetType::kDecimal: {
      size_t length = 0;
      mapping::DecimalProblem problem = mapping::DecimalProblem::kNotDecimal;
      if (value.type == Type::kText) {
        problem = mapping::decimal_from_text(value.s, plan.decimal, out.digits, length);
      } else if (value.type == Type::kInt) {
        problem = mapping::decimal_from_integer(value.i, plan.decimal, out.digits, length);
      } else if (value.type == Type::kReal) {
        problem = mapping::decimal_from_real(value.d, plan.decimal, out.digits, length);
      }
      if (problem != mapping::DecimalProblem::kOk) return decimal_error(plan, value, problem);
      out.kind = plan.decimal.fixed_size > 0 ? Kind::kFixed : Kind::kBytes;
      out.text = std::string_view(out.digits, length);
      return Status::ok();
    }
  }
  return internal_error("field " + plan.field + ": unknown target type");
}

Status RecordMapper::convert_lookup(const FieldPlan& plan, const FieldValue& value, mapping::ConvertedValue& out) {
  std::string_view key;
  char buf[24];
  if (value.type == FieldValue::Type::kText) {
    key = value.s;
  } else if (value.type == FieldValue::Type::kInt) {
    key = std::string_view(buf, render_integer(value.i, buf));
  } else {
    return field_error(plan, value, plan.has_codes ? "is not a code" : "is not an enum symbol");
  }
  const auto it = plan.lookup.find(key);
  if (it == plan.lookup.end()) {
    return field_error(plan, value, plan.has_codes ? "is not in the code table" : "is not a symbol of the enum");
  }
  if (plan.type == TargetType::kEnum) {
    out.kind = mapping::ConvertedValue::Kind::kEnum;
    out.integer = it->second.symbol;
  } else {
    out.kind = mapping::ConvertedValue::Kind::kString;
    out.text = it->second.text;  // a std::string: NUL-terminated
  }
  return Status::ok();
}

void RecordMapper::convert_default(const DefaultPlan& plan, mapping::ConvertedValue& out) {
  using Kind = mapping::ConvertedValue::Kind;
  const mapping::FieldDefault& d = plan.value;
  if (d.is_null) {
    out.kind = Kind::kNull;
    return;
  }
  out.integer = d.integer;
  switch (plan.type) {
    case TargetType::kString: out.kind = Kind::kString; out.text = d.text; return;
    case TargetType::kBytes: out.kind = Kind::kBytes; out.text = d.text; return;
    case TargetType::kInt:
    case TargetType::kDate: out.kind = Kind::kInt; out.integer = static_cast<int32_t>(d.integer); return;
    case TargetType::kLong:
    case TargetType::kTimestampMillis:
    case TargetType::kTimestampMicros: out.kind = Kind::kLong; return;
    case TargetType::kFloat: out.kind = Kind::kFloat; out.single = static_cast<float>(d.real); return;
    case TargetType::kDouble: out.kind = Kind::kDouble; out.real = d.real; return;
    case TargetType::kBoolean: out.kind = Kind::kBoolean; return;
    case TargetType::kEnum: out.kind = Kind::kEnum; return;
    case TargetType::kDecimal: out.kind = Kind::kNull; return;  // only null defaults are accepted
  }
}

Status RecordMapper::set_default(const DefaultPlan& plan, avro_value_t* field) {
  avro_value_t branch;
  avro_value_t* target = field;
  if (plan.branch >= 0) {
    if (avro_value_set_branch(field, plan.branch, &branch) != 0) {
      return internal_error("cannot select the default branch of field " + std::to_string(plan.field_index));
    }
    target = &branch;
  }
  mapping::ConvertedValue value;
  convert_default(plan, value);
  if (mapping::set_avro_value(value, target) != 0) {
    return internal_error("cannot set the default of field " + std::to_string(plan.field_index));
  }
  return Status::ok();
}

Status RecordMapper::field_error(const FieldPlan& plan, const FieldValue& value, std::string_view problem) {
  return data_error("field " + plan.field + " (column " + plan.column + "): " + kind_of(value) + " " +
                    std::string(problem));
}

Status RecordMapper::decimal_error(const FieldPlan& plan, const FieldValue& value, mapping::DecimalProblem problem) {
  const std::string form = "decimal(" + std::to_string(plan.decimal.precision) + "," +
                           std::to_string(plan.decimal.scale) + ")";
  switch (problem) {
    case mapping::DecimalProblem::kExceedsPrecision:
      return field_error(plan, value, "exceeds the precision of " + form);
    case mapping::DecimalProblem::kNotFinite:
      return field_error(plan, value, "is not a finite number for " + form);
    default:
      return field_error(plan, value, "is not a " + form + " number ([+-]digits[.digits])");
  }
}

Status RecordMapper::avro_error(const FieldPlan& plan, int rc) {
  // avro_strerror() is a shared, never-cleared buffer: report the code only.
  return internal_error("field " + plan.field + ": avro-c refused the value (error " + std::to_string(rc) +
                        "); does the record match the schema?");
}

Status RecordMapper::encode_primary_key(const RowView& row, std::string& out) const {
  for (const FieldPlan& plan : fields_) {
    if (plan.field != primary_key_) continue;
    if (!bound_ || plan.row_position >= row.count) {
      return internal_error("mapping " + origin_ + ": encode_primary_key before bind or on a short row");
    }
    mapping::ConvertedValue value;
    DXHUB_RETURN_IF_ERROR(convert(plan, row[plan.row_position], value));
    if (value.kind == mapping::ConvertedValue::Kind::kNull) {
      return data_error("field " + plan.field + " (column " + plan.column + "): the primary key is NULL");
    }
    mapping::append_avro_binary(value, out);
    return Status::ok();
  }
  return internal_error("mapping " + origin_ + ": the primary key is not a mapped field");
}

std::string RecordMapper::source_key(const RowView& row) const {
  for (const FieldPlan& plan : fields_) {
    if (plan.field != primary_key_ || !bound_ || plan.row_position >= row.count) continue;
    const FieldValue& v = row[plan.row_position];
    if (v.type == FieldValue::Type::kInt) return std::to_string(v.i);
    if (v.type == FieldValue::Type::kText) return std::string(v.s);
  }
  return {};
}

std::string RecordMapper::row_to_json(const RowView& row) const {
  nlohmann::ordered_json object = nlohmann::ordered_json::object();
  static constexpr char kHex[] = "0123456789abcdef";
  for (size_t i = 0; i < row.count; ++i) {
    // Built with append: GCC 12's -O3 misreports operator+ here (-Wrestrict, PR 105329).
    std::string name;
    if (i < connector_columns_.size()) {
      name = connector_columns_[i];
    } else {
      name.append("#").append(std::to_string(i));
    }
    const FieldValue& v = row[i];
    switch (v.type) {
      case FieldValue::Type::kNull: object[name] = nullptr; break;
      case FieldValue::Type::kInt: object[name] = v.i; break;
      case FieldValue::Type::kReal: object[name] = v.d; break;  // NaN/Inf dump as null
      case FieldValue::Type::kText:
        if (mapping::is_valid_utf8(v.s)) {
          object[name] = std::string(v.s);
        } else {
          // Kept byte for byte (replacement characters would lose them).
          std::string hex;
          for (unsigned char c : v.s) hex += {kHex[c >> 4], kHex[c & 15]};
          object[name] = nlohmann::ordered_json{{"invalid_utf8_hex", std::move(hex)}};
        }
        break;
      case FieldValue::Type::kBlob: {
        std::string hex = "0x";
        for (unsigned char c : v.s) hex += {kHex[c >> 4], kHex[c & 15]};
        object[name] = std::move(hex);
        break;
      }
    }
  }
  return object.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace dxhub
