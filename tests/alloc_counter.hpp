// Counts heap allocations per thread, every one of them: alloc_counter.cpp
// replaces malloc and its siblings, so operator new, rapidjson and OpenSSL
// (whose CRYPTO_malloc calls malloc) are all seen. Link alloc_counter.cpp
// into a program (the allocation test, the benchmarks) to use this; never
// into one built with a sanitizer, which replaces malloc too.
#pragma once

#include <cstddef>

namespace alloc_counter {
/// Heap allocations the calling thread has made so far.
[[nodiscard]] std::size_t thread_allocations() noexcept;
}  // namespace alloc_counter
