#include "core/ingest/post_decoder.h"

#include <simdjson.h>

#include <cctype>

#include "connectors/common/json_scalar.h"
#include "core/avro/avro_c_reader.h"
#include "core/engine/staged_batches.h"

namespace dxhub {

namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

void add_error(DecodedPost& out, int64_t index, std::string reason) {
  ++out.invalid;
  if (out.errors.size() < DecodedPost::kMaxErrors) out.errors.push_back({index, std::move(reason)});
}

Status too_many(int64_t max_records) {
  return data_error("more than ingest.max_records_per_post (" + std::to_string(max_records) +
                    ") records in one post");
}

}  // namespace

std::optional<PostFormat> post_format_for(std::string_view content_type) {
  const std::string type = lower(content_type.substr(0, content_type.find(';')));
  std::string_view trimmed = type;
  while (!trimmed.empty() && trimmed.back() == ' ') trimmed.remove_suffix(1);
  if (trimmed == "application/json") return PostFormat::kJson;
  if (trimmed == "avro/binary" || trimmed == "application/avro" || trimmed == "application/vnd.apache.avro+binary") {
    return PostFormat::kAvroOcf;
  }
  return std::nullopt;
}

Expected<std::unique_ptr<PostDecoder>> PostDecoder::load(const std::string& schema_path,
                                                         const std::string& mapping_path) {
  DXHUB_ASSIGN_OR_RETURN(avro::Schema schema, avro::Schema::from_file(schema_path));
  DXHUB_ASSIGN_OR_RETURN(RecordMapper mapper, RecordMapper::load(mapping_path, schema));
  // Posted records carry the mapping's own columns, in its order.
  DXHUB_RETURN_IF_ERROR(mapper.bind(mapper.source_columns()));
  return std::unique_ptr<PostDecoder>(new PostDecoder(std::move(schema), std::move(mapper)));
}

Status PostDecoder::decode(PostFormat format, std::string_view body, int64_t max_records, DecodedPost& out) const {
  out = DecodedPost{};
  return format == PostFormat::kJson ? decode_json(body, max_records, out) : decode_ocf(body, max_records, out);
}

Status PostDecoder::decode_json(std::string_view body, int64_t max_records, DecodedPost& out) const {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (auto error = parser.parse(body.data(), body.size()).get(doc); error) {
    return data_error(error == simdjson::UTF8_ERROR ? std::string("the body is not valid UTF-8")
                                                    : std::string("the body is not JSON (") +
                                                          simdjson::error_message(error) + ")");
  }
  simdjson::dom::array records;
  if (doc.is_object()) {
    simdjson::dom::element field;
    if (doc.get_object().value_unsafe()["records"].get(field) != simdjson::SUCCESS || !field.is_array()) {
      return data_error("the body must be {\"records\": [...]} (or a JSON array of records)");
    }
    records = field.get_array().value_unsafe();
  } else if (doc.is_array()) {
    records = doc.get_array().value_unsafe();
  } else {
    return data_error("the body must be {\"records\": [...]} (or a JSON array of records)");
  }
  if (static_cast<int64_t>(records.size()) > max_records) return too_many(max_records);

  const std::vector<std::string>& columns = mapper_.source_columns();
  std::vector<FieldValue> values(columns.size());
  std::string encoded;
  int64_t index = 0;
  for (simdjson::dom::element record : records) {
    if (!record.is_object()) {
      add_error(out, index++, "not a JSON object");
      continue;
    }
    simdjson::dom::object object = record.get_object().value_unsafe();
    std::string bad_column;
    for (size_t c = 0; c < columns.size(); ++c) {
      simdjson::dom::element v;
      if (object[columns[c]].get(v) != simdjson::SUCCESS) {
        values[c] = FieldValue::null();
      } else if (!json_scalar_value(v, values[c])) {  // a push record is flat
        bad_column = columns[c];
        break;
      }
    }
    if (!bad_column.empty()) {
      add_error(out, index++, "column " + bad_column + ": an object or array where a single value belongs");
      continue;
    }
    encoded.clear();
    if (Status mapped = mapper_.encode(RowView(values.data(), values.size()), encoded); !mapped.is_ok()) {
      if (mapped.code() != StatusCode::kData) return mapped;
      add_error(out, index++, mapped.message());
      continue;
    }
    append_staged_record(out.records, encoded);
    ++out.record_count;
    ++index;
  }
  return Status::ok();
}

Status PostDecoder::decode_ocf(std::string_view body, int64_t max_records, DecodedPost& out) const {
  const std::string expected = schema_.fingerprint_hex();
  avro::OcfReadCallbacks callbacks;
  callbacks.on_checked = [&](const avro::DecodedFile& file, avro_schema_t) -> Status {
    auto writer_schema = avro::Schema::from_json(file.schema_json);
    if (!writer_schema) return data_error("the file's schema does not parse: " + writer_schema.status().message());
    if (writer_schema->fingerprint_hex() != expected) {
      return data_error("the file's writer schema (fingerprint " + writer_schema->fingerprint_hex() +
                        ") is not the resource's (" + expected + "): write the records in the resource's schema");
    }
    if (file.record_count > max_records) return too_many(max_records);
    return Status::ok();
  };
  callbacks.on_record = [&](const avro::DecodedRecord& record) -> Status {
    append_staged_record(out.records, record.bytes);
    ++out.record_count;
    return Status::ok();
  };
  auto decoded = avro::read_ocf_with_avro_c(body, callbacks);
  if (!decoded) {
    out.records.clear();
    out.record_count = 0;
    const Status& s = decoded.status();
    if (s.code() == StatusCode::kData && s.message().starts_with("more than ingest.")) return s;
    return data_error("not a valid Avro object container file of the resource: " + s.message());
  }
  return Status::ok();
}

}  // namespace dxhub
