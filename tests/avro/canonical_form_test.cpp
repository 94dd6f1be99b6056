#include "core/avro/canonical_form.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "core/avro/schema.h"

namespace dxhub::avro {
namespace {

std::string hex(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

std::string canonical(std::string_view json) {
  auto form = parsing_canonical_form(json);
  EXPECT_TRUE(form.has_value()) << form.status().to_string();
  return form ? *form : std::string();
}

const char* kHouseholdMember = R"({
  "type": "record", "name": "HouseholdMember",
  "namespace": "cn.gov.hubei.daye.public_security",
  "doc": "户籍人口",
  "fields": [
    {"name": "id_card", "type": "string", "doc": "公民身份号码"},
    {"name": "name", "type": "string"},
    {"name": "birth_date", "type": {"type": "int", "logicalType": "date"}},
    {"name": "phone", "type": ["null", "string"], "default": null}
  ]
})";

TEST(CanonicalForm, SpecVectorsForPrimitives) {
  EXPECT_EQ(canonical(R"("int")"), R"("int")");
  EXPECT_EQ(hex(crc64_avro(R"("int")")), "7275d51a3f395c8f");
  EXPECT_EQ(hex(crc64_avro(R"("string")")), "8f014872634503c7");
  EXPECT_EQ(hex(crc64_avro(R"("null")")), "63dd24e7cc258f8a");
  EXPECT_EQ(canonical(R"({"type": "string"})"), R"("string")");
  EXPECT_EQ(canonical(R"({"type":"long","logicalType":"timestamp-millis"})"), R"("long")");
}

TEST(CanonicalForm, CrcOfEmptyInputIsTheSeed) {
  EXPECT_EQ(crc64_avro(""), 0xc15d213aa4d7a795ULL);
}

TEST(CanonicalForm, SpecVectorStripsDocAndOrdersKeys) {
  const char* json = R"({"fields":[{"doc":"d","type":"long","name":"x"}],"name":"A","type":"record"})";
  const std::string form = canonical(json);
  EXPECT_EQ(form, R"({"name":"A","type":"record","fields":[{"name":"x","type":"long"}]})");
  EXPECT_EQ(hex(crc64_avro(form)), "643a5d293ad17708");
}

TEST(CanonicalForm, HouseholdMemberVector) {
  const std::string form = canonical(kHouseholdMember);
  EXPECT_EQ(form,
            R"({"name":"cn.gov.hubei.daye.public_security.HouseholdMember","type":"record","fields":[)"
            R"({"name":"id_card","type":"string"},{"name":"name","type":"string"},)"
            R"({"name":"birth_date","type":"int"},{"name":"phone","type":["null","string"]}]})");
  EXPECT_EQ(hex(crc64_avro(form)), "c41ddc58cb5eb57c");
}

TEST(CanonicalForm, EnumFixedArrayMapUnion) {
  const char* json = R"({"type":"record","name":"R","namespace":"a.b","aliases":["Old"],"fields":[
    {"name":"e","type":{"type":"enum","name":"Color","symbols":["RED","GREEN"],"doc":"x","default":"RED"}},
    {"name":"f","type":{"type":"fixed","size":16,"name":"Md5","namespace":"c"}},
    {"name":"a","type":{"type":"array","items":{"type":"map","values":"Color"}}},
    {"name":"u","type":["null",{"type":"array","items":"c.Md5"},"Md5x"]}]})";
  // "Md5x" is undefined: the form must refuse it.
  EXPECT_EQ(parsing_canonical_form(json).status().code(), StatusCode::kConfig);

  const char* valid = R"({"type":"record","name":"R","namespace":"a.b","aliases":["Old"],"fields":[
    {"name":"e","type":{"type":"enum","name":"Color","symbols":["RED","GREEN"],"doc":"x","default":"RED"}},
    {"name":"f","type":{"type":"fixed","size":16,"name":"Md5","namespace":"c"}},
    {"name":"a","type":{"type":"array","items":{"type":"map","values":"Color"}}},
    {"name":"u","type":["null",{"type":"array","items":"c.Md5"},"Color"]}]})";
  EXPECT_EQ(canonical(valid),
            R"({"name":"a.b.R","type":"record","fields":[)"
            R"({"name":"e","type":{"name":"a.b.Color","type":"enum","symbols":["RED","GREEN"]}},)"
            R"({"name":"f","type":{"name":"c.Md5","type":"fixed","size":16}},)"
            R"({"name":"a","type":{"type":"array","items":{"type":"map","values":"a.b.Color"}}},)"
            R"({"name":"u","type":["null",{"type":"array","items":"c.Md5"},"a.b.Color"]}]})");
}

TEST(CanonicalForm, NestedNamespacesInheritFromTheEnclosingNamedType) {
  // Inner is declared with a dotted name: its namespace (x.y) is what its own
  // nested types inherit, not the outer record's.
  const char* json = R"({"type":"record","name":"Outer","namespace":"n1","fields":[
    {"name":"i","type":{"type":"record","name":"x.y.Inner","namespace":"ignored","fields":[
      {"name":"deep","type":{"type":"enum","name":"Deep","symbols":["A"]}}]}},
    {"name":"j","type":{"type":"record","name":"Plain","namespace":"","fields":[
      {"name":"k","type":{"type":"fixed","name":"F","size":2}}]}},
    {"name":"again","type":"x.y.Deep"},
    {"name":"outer_ref","type":"Plain"}]})";
  EXPECT_EQ(canonical(json),
            R"({"name":"n1.Outer","type":"record","fields":[)"
            R"({"name":"i","type":{"name":"x.y.Inner","type":"record","fields":[)"
            R"({"name":"deep","type":{"name":"x.y.Deep","type":"enum","symbols":["A"]}}]}},)"
            R"({"name":"j","type":{"name":"Plain","type":"record","fields":[)"
            R"({"name":"k","type":{"name":"F","type":"fixed","size":2}}]}},)"
            R"({"name":"again","type":"x.y.Deep"},)"
            R"({"name":"outer_ref","type":"Plain"}]})");
}

TEST(CanonicalForm, RecursiveTypeIsReferencedByFullNameAfterDefinition) {
  const char* json = R"({"type":"record","name":"Node","namespace":"t","fields":[
    {"name":"next","type":["null","Node"]}]})";
  EXPECT_EQ(canonical(json),
            R"({"name":"t.Node","type":"record","fields":[{"name":"next","type":["null","t.Node"]}]})");
}

TEST(CanonicalForm, StringsKeepUtf8AndIntegersAreNormalised) {
  const char* json = R"({"type":"enum","name":"\u59d3","symbols":["A"]})";
  EXPECT_EQ(canonical(json), "{\"name\":\"姓\",\"type\":\"enum\",\"symbols\":[\"A\"]}");
  EXPECT_EQ(canonical(R"({"type":"fixed","name":"F","size":16})"),
            R"({"name":"F","type":"fixed","size":16})");
  EXPECT_EQ(parsing_canonical_form(R"({"type":"fixed","name":"F","size":1.5})").status().code(),
            StatusCode::kConfig);
  EXPECT_EQ(parsing_canonical_form(R"({"type":"fixed","name":"F","size":"16"})").status().code(),
            StatusCode::kConfig);
}

TEST(CanonicalForm, MalformedInputIsConfigError) {
  EXPECT_EQ(parsing_canonical_form("{").status().code(), StatusCode::kConfig);
  EXPECT_EQ(parsing_canonical_form(R"({"name":"x"})").status().code(), StatusCode::kConfig);
  EXPECT_EQ(parsing_canonical_form(R"({"type":"record","name":"R"})").status().code(),
            StatusCode::kConfig);
  EXPECT_EQ(parsing_canonical_form(R"("Unknown")").status().code(), StatusCode::kConfig);
}

TEST(Schema, KeepsOriginalTextAndComputesFingerprint) {
  auto schema = Schema::from_json(kHouseholdMember);
  ASSERT_TRUE(schema.has_value()) << schema.status().to_string();
  EXPECT_EQ(schema->json(), kHouseholdMember);
  EXPECT_EQ(schema->fingerprint_hex(), "c41ddc58cb5eb57c");
  EXPECT_EQ(schema->fingerprint(), 0xc41ddc58cb5eb57cULL);
  EXPECT_EQ(schema->full_name(), "cn.gov.hubei.daye.public_security.HouseholdMember");
  auto value = schema->new_value();
  ASSERT_TRUE(value.has_value());
  EXPECT_EQ(avro_value_get_type(value->get()), AVRO_RECORD);
  size_t fields = 0;
  ASSERT_EQ(avro_value_get_size(value->get(), &fields), 0);
  EXPECT_EQ(fields, 4u);
  avro::Value moved = std::move(*value);
  EXPECT_EQ(avro_value_get_type(moved.get()), AVRO_RECORD);
}

TEST(Schema, BadSchemaIsConfigError) {
  auto not_json = Schema::from_json("{\"type\":");
  EXPECT_EQ(not_json.status().code(), StatusCode::kConfig);
  // Structurally fine for the canonicaliser, but "1bad" is not a valid Avro name.
  auto bad_name = Schema::from_json(R"({"type":"record","name":"1bad","fields":[]})");
  EXPECT_EQ(bad_name.status().code(), StatusCode::kConfig);
  EXPECT_FALSE(bad_name.status().message().empty());
  auto missing = Schema::from_file("/nonexistent/dir/schema.avsc");
  EXPECT_EQ(missing.status().code(), StatusCode::kConfig);
}

}  // namespace
}  // namespace dxhub::avro
