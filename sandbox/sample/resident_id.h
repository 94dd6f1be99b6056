// Resident identity numbers (公民身份号码, GB 11643-1999): 6-digit division
// code, 8-digit birth date, 3-digit sequence (odd = male), check character.
#pragma once

#include <string_view>

namespace dxhub::sample {

// The check character for the first 17 digits of an ID ('0'-'9' or 'X').
// `first17` must be exactly 17 ASCII digits; anything else returns '\0'.
char resident_id_check_char(std::string_view first17);

// True when `id` is 18 characters, 17 digits plus the matching check character.
bool resident_id_is_valid(std::string_view id);

}  // namespace dxhub::sample
