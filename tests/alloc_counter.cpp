// See alloc_counter.hpp. The count is per thread (a thread_local of the
// executable, readable from inside malloc without allocating), so that a
// thread's figure is its own even while other threads allocate.
#include "alloc_counter.hpp"

#include <cerrno>
#include <cstddef>

extern "C" {
void* __libc_malloc(std::size_t);
void* __libc_calloc(std::size_t, std::size_t);
void* __libc_realloc(void*, std::size_t);
void* __libc_memalign(std::size_t, std::size_t);
void __libc_free(void*);
}

namespace {
thread_local std::size_t t_allocations = 0;
}  // namespace

std::size_t alloc_counter::thread_allocations() noexcept {
    return t_allocations;
}

extern "C" {
void* malloc(std::size_t size) {
    ++t_allocations;
    return __libc_malloc(size);
}
void* calloc(std::size_t n, std::size_t size) {
    ++t_allocations;
    return __libc_calloc(n, size);
}
void* realloc(void* p, std::size_t size) {
    ++t_allocations;
    return __libc_realloc(p, size);
}
void* aligned_alloc(std::size_t alignment, std::size_t size) {
    ++t_allocations;
    return __libc_memalign(alignment, size);
}
void* memalign(std::size_t alignment, std::size_t size) {
    ++t_allocations;
    return __libc_memalign(alignment, size);
}
int posix_memalign(void** out, std::size_t alignment, std::size_t size) {
    ++t_allocations;
    void* p = __libc_memalign(alignment, size);
    if (p == nullptr) return ENOMEM;
    *out = p;
    return 0;
}
void free(void* p) {
    __libc_free(p);
}
}
