#include "core/engine/batch_identity.h"

#include "core/protocol/signing.h"

namespace dxhub {

namespace {

int hex_digit(char c) { return c <= '9' ? c - '0' : c - 'a' + 10; }

}  // namespace

std::array<uint8_t, avro::OcfWriter::kSyncBytes> batch_sync_marker(std::string_view resource, int64_t epoch,
                                                                   int64_t sequence, std::string_view cursor_from) {
  std::string material = "dxhub-sync-v1\n";
  material.append(resource).append("\n").append(std::to_string(epoch)).append("\n");
  material.append(std::to_string(sequence)).append("\n").append(cursor_from);
  std::string digest = protocol::sha256_hex(material);  // lowercase hex
  std::array<uint8_t, avro::OcfWriter::kSyncBytes> marker{};
  for (size_t i = 0; i < marker.size(); ++i) {
    marker[i] = static_cast<uint8_t>(hex_digit(digest[2 * i]) * 16 + hex_digit(digest[2 * i + 1]));
  }
  return marker;
}

std::string batch_id_for(std::string_view resource, std::string_view cursor_from, std::string_view cursor_to,
                         std::string_view body_sha256_hex) {
  std::string material = "dxhub-batch-v1\n";
  material.append(resource).append("\n").append(cursor_from).append("\n").append(cursor_to);
  material.append("\n").append(body_sha256_hex);
  return protocol::sha256_hex(material).substr(0, 32);
}

}  // namespace dxhub
