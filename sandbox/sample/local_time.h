// Calendar helpers for sample rows: dates as days since 1970-01-01 and
// naive local times ('YYYY-MM-DD HH:MM:SS', no zone) as seconds since
// 1970-01-01 00:00:00 of the same wall clock.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/common/status.h"

namespace dxhub::sample {

int32_t days_of(int year, unsigned month, unsigned day);
std::chrono::year_month_day ymd_of(int32_t days);

// Writes 'YYYY-MM-DD' into out[0..10).
void format_date(int32_t days, char* out);
// Writes 'YYYY-MM-DD HH:MM:SS' into out[0..19).
void format_local_time(int64_t seconds, char* out);
// Strict 'YYYY-MM-DD HH:MM:SS' of a real date and time; else kConfig.
Expected<int64_t> parse_local_time(std::string_view text);

// The current time in Asia/Shanghai (+08:00, no DST) as 'YYYY-MM-DD HH:MM:SS'.
std::string shanghai_now();

}  // namespace dxhub::sample
