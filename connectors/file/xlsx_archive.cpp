#include "connectors/file/xlsx_archive.h"

#include <libxml/xmlreader.h>
#include <zip.h>

#include <cstdio>
#include <cstring>

namespace dxhub {

namespace {
constexpr int kMaxXmlDepth = 64;
constexpr uint64_t kRatioCheckedAbove = 1 << 20;

std::string zip_error_text(int code) {
  zip_error_t error;
  zip_error_init_with_code(&error, code);
  std::string text = zip_error_strerror(&error);
  zip_error_fini(&error);
  return text;
}
}  // namespace

ZipEntryReader::ZipEntryReader(zip_file* file, std::string entry, std::string archive_name, uint64_t declared,
                               uint64_t limit)
    : file_(file), entry_(std::move(entry)), archive_name_(std::move(archive_name)), declared_(declared),
      limit_(limit) {}

ZipEntryReader::~ZipEntryReader() {
  if (file_ != nullptr) zip_fclose(file_);
}

long ZipEntryReader::read(char* buf, size_t len) {
  if (!status_.is_ok()) return -1;
  zip_int64_t n = zip_fread(file_, buf, len);
  if (n < 0) {
    status_ = data_error(archive_name_ + ": damaged zip entry " + entry_ + " (" + zip_file_strerror(file_) + ")");
    return -1;
  }
  total_ += static_cast<uint64_t>(n);
  if (total_ > declared_ || total_ > limit_) {
    status_ = data_error(archive_name_ + ": zip entry " + entry_ +
                         " inflates past its declared size or the limit (zip bomb?)");
    return -1;
  }
  return static_cast<long>(n);
}

Expected<std::unique_ptr<ZipArchive>> ZipArchive::open(const std::string& path, const std::string& display_name,
                                                       ZipLimits limits) {
  char magic[4] = {0, 0, 0, 0};
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return source_error(display_name + ": cannot open");
  const size_t got = std::fread(magic, 1, 4, f);
  std::fclose(f);
  if (got < 4 || std::memcmp(magic, "PK\x03\x04", 4) != 0) {
    return data_error(display_name + ": not an xlsx file (not a zip archive)");
  }
  int err = 0;
  zip_t* archive = zip_open(path.c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &err);
  if (archive == nullptr) {
    return data_error(display_name + ": truncated or damaged zip archive (" + zip_error_text(err) + ")");
  }
  return std::unique_ptr<ZipArchive>(new ZipArchive(archive, display_name, limits));
}

ZipArchive::~ZipArchive() { zip_discard(archive_); }

bool ZipArchive::has(const std::string& entry) const { return zip_name_locate(archive_, entry.c_str(), 0) >= 0; }

Expected<std::unique_ptr<ZipEntryReader>> ZipArchive::open_entry(const std::string& entry, bool required) {
  zip_int64_t index = zip_name_locate(archive_, entry.c_str(), 0);
  if (index < 0) {
    if (!required) return std::unique_ptr<ZipEntryReader>();
    return data_error(name_ + ": no " + entry + " in the archive");
  }
  zip_stat_t st;
  zip_stat_init(&st);
  if (zip_stat_index(archive_, static_cast<zip_uint64_t>(index), 0, &st) != 0 || !(st.valid & ZIP_STAT_SIZE)) {
    return data_error(name_ + ": damaged zip entry " + entry);
  }
  if (st.size > limits_.max_entry_bytes) {
    return data_error(name_ + ": zip entry " + entry + " declares " + std::to_string(st.size) +
                      " bytes, above the limit " + std::to_string(limits_.max_entry_bytes) + " (zip bomb?)");
  }
  if ((st.valid & ZIP_STAT_COMP_SIZE) && st.size > kRatioCheckedAbove &&
      st.size / std::max<zip_uint64_t>(st.comp_size, 1) > limits_.max_ratio) {
    return data_error(name_ + ": zip entry " + entry + " compresses more than " + std::to_string(limits_.max_ratio) +
                      ":1 (zip bomb?)");
  }
  zip_file_t* file = zip_fopen_index(archive_, static_cast<zip_uint64_t>(index), 0);
  if (file == nullptr) {
    return data_error(name_ + ": cannot read zip entry " + entry + " (" + zip_strerror(archive_) + ")");
  }
  return std::make_unique<ZipEntryReader>(file, entry, name_, st.size, limits_.max_entry_bytes);
}

struct XmlStreamCallbacks {
  static int read(void* context, char* buffer, int len) {
    auto* self = static_cast<XmlStream*>(context);
    long n = self->entry_->read(buffer, static_cast<size_t>(len));
    return static_cast<int>(n);
  }
  static int close(void*) { return 0; }
  static void error(void* context, const xmlError* error) {
    auto* self = static_cast<XmlStream*>(context);
    if (self->error_.empty() && error != nullptr) self->error_ = "line " + std::to_string(error->line);
  }
};

Expected<std::unique_ptr<XmlStream>> XmlStream::open(std::unique_ptr<ZipEntryReader> entry) {
  std::unique_ptr<XmlStream> stream(new XmlStream(std::move(entry)));
  // No XML_PARSE_NOENT (entity substitution), DTDLOAD, DTDATTR or HUGE.
  const int options = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOCDATA;
  stream->reader_ = xmlReaderForIO(&XmlStreamCallbacks::read, &XmlStreamCallbacks::close, stream.get(),
                                   stream->entry_->entry().c_str(), nullptr, options);
  if (stream->reader_ == nullptr) return internal_error("libxml2 cannot create a reader");
  xmlTextReaderSetStructuredErrorHandler(
      stream->reader_, [](void* ctx, xmlErrorPtr e) { XmlStreamCallbacks::error(ctx, e); }, stream.get());
  return stream;
}

XmlStream::~XmlStream() {
  if (reader_ != nullptr) xmlFreeTextReader(reader_);
}

Expected<bool> XmlStream::next() {
  int rc = xmlTextReaderRead(reader_);
  if (rc == 0) return false;
  if (rc < 0) {
    if (!entry_->status().is_ok()) return entry_->status();
    return data_error(entry_->where() + " is not well-formed XML" + (error_.empty() ? "" : " (" + error_ + ")"));
  }
  const int type = xmlTextReaderNodeType(reader_);
  empty_ = false;
  switch (type) {
    case XML_READER_TYPE_ELEMENT:
      node_ = Node::kStart;
      empty_ = xmlTextReaderIsEmptyElement(reader_) == 1;
      if (xmlTextReaderDepth(reader_) > kMaxXmlDepth) {
        return data_error(entry_->where() + " nests elements deeper than " + std::to_string(kMaxXmlDepth));
      }
      break;
    case XML_READER_TYPE_END_ELEMENT:
      node_ = Node::kEnd;
      break;
    case XML_READER_TYPE_TEXT:
    case XML_READER_TYPE_CDATA:
    case XML_READER_TYPE_SIGNIFICANT_WHITESPACE:
    case XML_READER_TYPE_WHITESPACE:
      node_ = Node::kText;
      break;
    case XML_READER_TYPE_DOCUMENT_TYPE:
    case XML_READER_TYPE_ENTITY_REFERENCE:
    case XML_READER_TYPE_ENTITY:
      return data_error(entry_->where() + " has a DTD or entity reference (refused)");
    default:
      node_ = Node::kOther;
      break;
  }
  return true;
}

std::string_view XmlStream::name() const {
  const xmlChar* n = xmlTextReaderConstLocalName(reader_);
  return n ? std::string_view(reinterpret_cast<const char*>(n)) : std::string_view();
}

std::string_view XmlStream::text() const {
  const xmlChar* v = xmlTextReaderConstValue(reader_);
  return v ? std::string_view(reinterpret_cast<const char*>(v)) : std::string_view();
}

int XmlStream::depth() const { return xmlTextReaderDepth(reader_); }

bool XmlStream::move_to_attribute(bool first) {
  return (first ? xmlTextReaderMoveToFirstAttribute(reader_) : xmlTextReaderMoveToNextAttribute(reader_)) == 1;
}

void XmlStream::move_to_element() { xmlTextReaderMoveToElement(reader_); }

std::string_view XmlStream::attribute_name() const { return name(); }
std::string_view XmlStream::attribute_value() const { return text(); }

}  // namespace dxhub
