#include "connectors/common/boundary_set.h"

#include "connectors/common/typed_cursor_value.h"

namespace dxhub {

using namespace typed_cursor;

namespace {

std::string dump_safe(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

void BoundarySet::clear() {
  entries_.clear();
  key_bytes_.clear();
  slots_.clear();
}

void BoundarySet::reserve(size_t entries, size_t key_bytes) {
  entries_.reserve(entries);
  key_bytes_.reserve(key_bytes);
}

void BoundarySet::append(FieldValue::Type type, int64_t i, double d, std::string_view bytes, uint64_t hash,
                         uint64_t digest) {
  Entry e{hash, digest, i, d, static_cast<uint32_t>(key_bytes_.size()), static_cast<uint32_t>(bytes.size()), type,
          false};
  key_bytes_.append(bytes);
  entries_.push_back(e);
}

void BoundarySet::build_index() {
  size_t capacity = 16;
  while (capacity < entries_.size() * 2) capacity *= 2;
  slots_.assign(capacity, 0);
  for (size_t k = 0; k < entries_.size(); ++k) {
    size_t slot = entries_[k].key_hash & (capacity - 1);
    while (slots_[slot] != 0) slot = (slot + 1) & (capacity - 1);
    slots_[slot] = static_cast<uint32_t>(k + 1);
  }
}

int64_t BoundarySet::find(FieldValue::Type type, int64_t i, double d, std::string_view bytes, uint64_t hash) const {
  if (slots_.empty()) return -1;
  const size_t mask = slots_.size() - 1;
  for (size_t slot = hash & mask; slots_[slot] != 0; slot = (slot + 1) & mask) {
    const Entry& e = entries_[slots_[slot] - 1];
    if (e.key_hash == hash &&
        same_key(e.type, e.i, e.d, std::string_view(key_bytes_).substr(e.offset, e.length), type, i, d, bytes)) {
      return static_cast<int64_t>(slots_[slot] - 1);
    }
  }
  return -1;
}

int64_t BoundarySet::find(FieldValue::Type type, int64_t i, double d, std::string_view bytes, uint64_t hash,
                          uint64_t digest) const {
  if (slots_.empty()) return -1;
  const size_t mask = slots_.size() - 1;
  int64_t best = -1;
  for (size_t slot = hash & mask; slots_[slot] != 0; slot = (slot + 1) & mask) {
    const Entry& e = entries_[slots_[slot] - 1];
    if (e.key_hash == hash &&
        same_key(e.type, e.i, e.d, std::string_view(key_bytes_).substr(e.offset, e.length), type, i, d, bytes)) {
      const auto index = static_cast<int64_t>(slots_[slot] - 1);
      if (!e.consumed && e.digest == digest) return index;  // this very row
      if (best < 0 || (entries_[static_cast<size_t>(best)].consumed && !e.consumed)) best = index;
    }
  }
  return best;
}

void BoundarySet::to_json(nlohmann::json& array, bool only_unconsumed) const {
  for (const Entry& e : entries_) {
    if (only_unconsumed && e.consumed) continue;
    array.push_back(nlohmann::json::array(
        {typed_json(e.type, e.i, e.d, std::string_view(key_bytes_).substr(e.offset, e.length)), digest_hex(e.digest)}));
  }
}

Status BoundarySet::load(const nlohmann::json& array, const std::string& what) {
  clear();
  if (!array.is_array()) return config_error(what + "expected an array of [key, digest]");
  TypedValue key;
  for (const auto& item : array) {
    if (!item.is_array() || item.size() != 2 || !item[1].is_string() || !parse_typed(item[0], key) ||
        key.type == FieldValue::Type::kNull) {
      return config_error(what + "bad [key, digest] entry " + dump_safe(item));
    }
    const auto& hex = item[1].get_ref<const std::string&>();
    std::string raw;
    if (hex.size() != 16 || !from_hex(hex, raw)) return config_error(what + "bad digest in " + dump_safe(item));
    uint64_t digest = 0;
    for (unsigned char b : raw) digest = (digest << 8) | b;
    append(key.type, key.i, key.d, key.s, key_hash(key.type, key.i, key.d, key.s), digest);
  }
  build_index();
  return Status::ok();
}

nlohmann::json boundary_cursor_json(nlohmann::json value, const BoundarySet& boundary_new,
                                    const BoundarySet* boundary_old, const BoundarySet& nulls_new,
                                    const BoundarySet* nulls_old) {
  nlohmann::json boundary = nlohmann::json::array();
  boundary_new.to_json(boundary, false);
  if (boundary_old) boundary_old->to_json(boundary, true);
  nlohmann::json nulls = nlohmann::json::array();
  nulls_new.to_json(nulls, false);
  if (nulls_old) nulls_old->to_json(nulls, true);
  return nlohmann::json{{"v", 2}, {"value", std::move(value)}, {"boundary", std::move(boundary)},
                        {"nulls", std::move(nulls)}};
}

}  // namespace dxhub
