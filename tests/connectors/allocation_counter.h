// Counts heap allocations made through global operator new in this test
// binary (and the plugins it loads), to check that per-row paths allocate
// nothing.
#pragma once

#include <cstddef>

namespace dxhub::testing {
size_t allocation_count();
}  // namespace dxhub::testing
