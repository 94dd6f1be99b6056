#include "connectors/file/xml_format_reader.h"

#include <fstream>
#include <optional>
#include <set>

#include "connectors/xml/xml_document.h"
#include "connectors/xml/xml_records.h"

namespace dxhub {

namespace {

constexpr size_t kDefaultMaxFileBytes = size_t{256} << 20;

class XmlFormatReader final : public FileFormatReader {
 public:
  XmlFormatReader(xml::RecordExtractor extractor, std::string name)
      : extractor_(std::move(extractor)), name_(std::move(name)) {
    ref_.reserve(name_.size() + 32);
  }

  Status load(const std::string& path, const xml::ParseLimits& limits, size_t resume_record) {
    next_ = resume_record;
    std::ifstream in(path, std::ios::binary);
    if (!in) return source_error("xml file " + name_ + ": cannot be opened");
    in.seekg(0, std::ios::end);
    const auto size = static_cast<size_t>(std::max<std::streamoff>(0, in.tellg()));
    if (size > limits.max_document_bytes) {
      failure_ = data_error("xml file " + name_ + ": XML refused: file of " + std::to_string(size) +
                            " bytes is larger than max_document_bytes " + std::to_string(limits.max_document_bytes));
      return Status::ok();
    }
    std::string bytes(size, '\0');
    in.seekg(0);
    if (size > 0 && !in.read(bytes.data(), static_cast<std::streamsize>(size))) {
      return source_error("xml file " + name_ + ": read failed");
    }
    auto doc = xml::parse(bytes, limits);
    if (!doc) {
      failure_ = doc.status().with_context("xml file " + name_);
      return Status::ok();
    }
    doc_ = std::move(*doc);
    auto context = xml::XPathContext::create(doc_.get(), extractor_.namespaces());
    if (!context) return context.status();
    context_.emplace(std::move(*context));
    auto records = context_->eval(extractor_.records_xpath(), nullptr);
    if (!records) return records.status().with_context("xml file " + name_);
    records_ = std::move(*records);
    if (extractor_.needs_discovery() && xml::node_count(records_.get()) > 0) {
      extractor_.discover_columns(xml::node_at(records_.get(), 0));
    }
    return Status::ok();
  }

  const std::vector<std::string>& columns() const override { return extractor_.columns(); }

  Expected<size_t> read(size_t max_rows, RowSink& sink) override {
    if (!failure_.is_ok()) return failure_;
    const size_t total = xml::node_count(records_.get());
    size_t handed = 0;
    while (handed < max_rows && next_ < total) {
      xmlNode* record = xml::node_at(records_.get(), next_);
      ++next_;
      ++handed;
      ref_.assign(name_);  // no temporaries: the buffer is reused
      ref_ += " record ";
      ref_ += std::to_string(next_);
      Status extracted = extractor_.extract(*context_, record);
      if (extracted.code() == StatusCode::kConfig) return extracted.with_context("xml file " + name_);
      if (!extracted.is_ok()) {
        std::string raw = xml::dump_node(record);
        DXHUB_RETURN_IF_ERROR(sink.on_bad_input(BadInput{ref_, extracted.message(), raw}));
        continue;
      }
      const auto& values = extractor_.values();
      DXHUB_RETURN_IF_ERROR(sink.on_row(RowView(values.data(), extractor_.columns().size(), ref_)));
    }
    return handed;
  }

  nlohmann::json position() const override {
    if (next_ == 0) return nullptr;
    return nlohmann::json{{"record", next_}};
  }

 private:
  xml::RecordExtractor extractor_;
  std::string name_;
  xml::DocPtr doc_;
  std::optional<xml::XPathContext> context_;
  xml::XPathResult records_;
  size_t next_ = 0;
  std::string ref_;  // reused per record
  Status failure_;   // the file could not be parsed: returned by read()
};

}  // namespace

Expected<std::unique_ptr<FileFormatReader>> open_xml_reader(const nlohmann::json& format,
                                                            const FileFormatInput& input,
                                                            const std::vector<std::string>& columns) {
  static const std::set<std::string> kKnown = {"kind",     "records_xpath",      "fields",   "namespaces",
                                               "encoding", "max_document_bytes", "max_depth"};
  for (auto it = format.begin(); it != format.end(); ++it) {
    if (!kKnown.count(it.key())) return config_error("file format xml: unknown setting \"" + it.key() + "\"");
  }
  xml::ParseLimits limits;
  limits.max_document_bytes = kDefaultMaxFileBytes;
  if (format.contains("max_document_bytes")) {
    const auto& v = format["max_document_bytes"];
    if (!v.is_number_integer() || v.get<int64_t>() <= 0) return config_error("file format xml: max_document_bytes must be a positive integer");
    limits.max_document_bytes = v.get<size_t>();
  }
  if (format.contains("max_depth")) {
    const auto& v = format["max_depth"];
    if (!v.is_number_integer()) return config_error("file format xml: max_depth must be an integer");
    limits.max_depth = v.get<int>();
  }
  if (format.contains("encoding")) {
    if (!format["encoding"].is_string()) return config_error("file format xml: encoding must be a string");
    limits.encoding = format["encoding"].get<std::string>();
  }
  DXHUB_RETURN_IF_ERROR(xml::check_limits(limits, "file format xml"));
  DXHUB_ASSIGN_OR_RETURN(auto extractor, xml::RecordExtractor::create(format, columns, {}, "file format xml"));

  size_t resume = 0;
  if (!input.resume.is_null()) {
    if (!input.resume.is_object() || !input.resume.contains("record") ||
        !input.resume["record"].is_number_integer() || input.resume["record"].get<int64_t>() < 0) {
      return config_error("file format xml: resume position must be {\"record\": N}");
    }
    resume = input.resume["record"].get<size_t>();
  }
  const std::string name = input.display_name.empty() ? input.path : input.display_name;
  auto reader = std::make_unique<XmlFormatReader>(std::move(extractor), name);
  DXHUB_RETURN_IF_ERROR(reader->load(input.path, limits, resume));
  return std::unique_ptr<FileFormatReader>(std::move(reader));
}

}  // namespace dxhub
