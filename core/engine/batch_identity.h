// A batch's identity is derived from what it is, never drawn at random, so
// that a batch read again after a crash, or after the state file was
// restored from a backup, is the same batch byte for byte and the province
// keeps it once (it deduplicates by batch id):
//
//   sync marker = SHA-256("dxhub-sync-v1\n" resource \n epoch \n sequence \n cursor_from)[0..16)
//   batch id    = hex(SHA-256("dxhub-batch-v1\n" resource \n cursor_from \n cursor_to \n body_sha256)[0..16))
//
// The container's header carries resource, epoch and sequence and its blocks
// the records, so equal rows read from an equal position under an equal
// state give an equal body, digest and id; anything else gives another id.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/avro/ocf_writer.h"

namespace dxhub {

std::array<uint8_t, avro::OcfWriter::kSyncBytes> batch_sync_marker(std::string_view resource, int64_t epoch,
                                                                   int64_t sequence, std::string_view cursor_from);

std::string batch_id_for(std::string_view resource, std::string_view cursor_from, std::string_view cursor_to,
                         std::string_view body_sha256_hex);

}  // namespace dxhub
