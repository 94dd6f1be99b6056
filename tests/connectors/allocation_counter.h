// Counts heap allocations made through global operator new in this test
// binary (and the plugins it loads), to check that per-row paths allocate
// nothing.
#pragma once

#include <cstddef>

namespace dxhub::testing {
size_t allocation_count();
// Those made by the calling thread only (servers running in-process on
// other threads left out).
size_t thread_allocation_count();
}  // namespace dxhub::testing
