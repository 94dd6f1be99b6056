#include "sandbox/sample/resident_id.h"

namespace dxhub::sample {

char resident_id_check_char(std::string_view first17) {
  static constexpr int kWeights[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
  static constexpr char kCheck[] = "10X98765432";
  if (first17.size() != 17) return '\0';
  int sum = 0;
  for (size_t i = 0; i < 17; ++i) {
    const char c = first17[i];
    if (c < '0' || c > '9') return '\0';
    sum += (c - '0') * kWeights[i];
  }
  return kCheck[sum % 11];
}

bool resident_id_is_valid(std::string_view id) {
  if (id.size() != 18) return false;
  const char check = resident_id_check_char(id.substr(0, 17));
  return check != '\0' && id[17] == check;
}

}  // namespace dxhub::sample
