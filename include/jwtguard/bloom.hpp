// Split-block bloom filter: the first, cheap stage of a denylist lookup.
//
// Layout. The filter is an array of 64-byte blocks, each one cache line of
// eight 64-bit words. A key (already a well-mixed 64-bit hash) picks one
// block with its high bits and sets one bit in each of the block's eight
// words, chosen by multiplying its low 32 bits by eight odd constants and
// keeping the top six bits of each product. A query touches exactly one
// cache line, so a lookup of a key that is absent (the common case: most
// tokens are not revoked) costs one memory access, and the eight word tests
// need no further loads.
//
// Trade-off. Confining a key to one block raises the false-positive rate a
// little above that of a classic bloom filter of the same size (blocks fill
// unevenly), which is paid for with a few more bits per key: the denylist's
// default, measured in tests/bloom_test.cpp and bench/bench_bloom.cpp, keeps
// it under 0.6% at full load. The filter never has false negatives.
//
// Concurrency. One writer at a time (the caller serializes inserts), any
// number of readers at once: words are atomics, readers load them relaxed and
// can never see a bit that is later cleared (bits are only ever set). A reader
// racing an insert may miss the key being inserted, which is the same as
// having looked a moment earlier.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <type_traits>

namespace jwtguard {

namespace detail {
/// floor(x * n / 2^64): maps a uniform 64-bit hash onto [0, n) without a
/// division and without the bias of `x % n` for large n.
[[nodiscard]] inline std::uint64_t fast_range(std::uint64_t x, std::uint64_t n) noexcept {
    __extension__ using uint128 = unsigned __int128;  // GCC and Clang; -Wpedantic knows it
    return static_cast<std::uint64_t>((static_cast<uint128>(x) * n) >> 64);
}
/// Starts the lifetime of `count` value-initialized T in raw `storage`
/// (trivially destructible T only: nothing has to end it).
template <class T>
T* construct_array(void* storage, std::size_t count) noexcept {
    static_assert(std::is_trivially_destructible_v<T>);
    auto* first = static_cast<T*>(storage);
    for (std::size_t i = 0; i < count; ++i)
        new (first + i) T();
    return first;
}

/// Cache-line-aligned, zeroed memory for a filter or table. From 2 MiB on it
/// is mapped fresh from the kernel, aligned to 2 MiB, with transparent huge
/// pages requested: a random probe into hundreds of megabytes then costs one
/// memory access instead of a page walk that misses the cache too. (Through
/// malloc the same request could land on heap pages already faulted in as
/// small pages, and the advice would silently do nothing.) The size is not
/// rounded up to whole huge pages: the last partial one stays in small
/// pages rather than waste up to 2 MiB per table.
class LargeBuffer {
  public:
    static constexpr std::size_t huge_page = std::size_t{2} << 20;

    explicit LargeBuffer(std::size_t bytes) : m_size((bytes + 63) / 64 * 64) {
        if (m_size < huge_page) {
            if (::posix_memalign(&m_data, 64, m_size) != 0) throw std::bad_alloc();
            std::memset(m_data, 0, m_size);
            return;
        }
        // Map one huge page more than needed, then unmap the unaligned head
        // and the tail beyond the (page-rounded) size.
        const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
        m_mapped = (m_size + page - 1) / page * page;
        void* raw = ::mmap(nullptr, m_mapped + huge_page, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (raw == MAP_FAILED) throw std::bad_alloc();
        const auto start = reinterpret_cast<std::uintptr_t>(raw);
        const std::uintptr_t aligned = (start + huge_page - 1) / huge_page * huge_page;
        if (aligned > start) ::munmap(raw, aligned - start);
        const std::uintptr_t end = start + m_mapped + huge_page;
        if (end > aligned + m_mapped)
            ::munmap(reinterpret_cast<void*>(aligned + m_mapped), end - aligned - m_mapped);
        m_data = reinterpret_cast<void*>(aligned);
#ifdef MADV_HUGEPAGE
        (void)::madvise(m_data, m_mapped, MADV_HUGEPAGE);  // advice only
#endif
    }
    ~LargeBuffer() {
        if (m_mapped != 0)
            ::munmap(m_data, m_mapped);
        else
            std::free(m_data);
    }
    LargeBuffer(const LargeBuffer&) = delete;
    LargeBuffer& operator=(const LargeBuffer&) = delete;

    [[nodiscard]] void* data() const noexcept {
        return m_data;
    }
    [[nodiscard]] std::size_t size() const noexcept {
        return m_size;
    }

  private:
    std::size_t m_size;
    std::size_t m_mapped = 0;  ///< bytes mapped with mmap (0: from malloc)
    void* m_data = nullptr;
};
}  // namespace detail

class SplitBlockBloom {
  public:
    static constexpr std::size_t block_bytes = 64;
    static constexpr std::size_t words_per_block = block_bytes / sizeof(std::uint64_t);

    /// A filter of `blocks` cache lines (at least 1), all bits clear.
    explicit SplitBlockBloom(std::size_t blocks)
        : m_blocks(blocks == 0 ? 1 : blocks),
          m_owned(std::make_unique<detail::LargeBuffer>(m_blocks * block_bytes)),
          m_data(detail::construct_array<Block>(m_owned->data(), m_blocks)) {}

    /// A filter of `blocks` (at least 1) cache lines in caller-owned
    /// storage, 64-byte aligned and `blocks * block_bytes` long, which must
    /// outlive it (a table keeps its filter beside its slots this way).
    SplitBlockBloom(void* storage, std::size_t blocks)
        : m_blocks(blocks == 0 ? 1 : blocks),
          m_data(detail::construct_array<Block>(storage, m_blocks)) {}

    /// The number of blocks that gives `bits_per_key` bits to each of `keys`.
    [[nodiscard]] static std::size_t blocks_for(std::size_t keys, double bits_per_key) noexcept {
        const double bits = static_cast<double>(keys) * bits_per_key;
        const auto blocks = static_cast<std::size_t>(bits / (block_bytes * 8)) + 1;
        return blocks;
    }

    /// Sets the key's bits. The caller serializes inserts.
    void insert(std::uint64_t hash) noexcept {
        Block& block = m_data[detail::fast_range(hash, m_blocks)];
        const auto low = static_cast<std::uint32_t>(hash);
        for (std::size_t i = 0; i < words_per_block; ++i)
            block.words[i].fetch_or(bit(low, i), std::memory_order_relaxed);
    }

    /// False when the key was certainly never inserted.
    [[nodiscard]] bool may_contain(std::uint64_t hash) const noexcept {
        const Block& block = m_data[detail::fast_range(hash, m_blocks)];
        const auto low = static_cast<std::uint32_t>(hash);
        // No early exit: the eight tests are independent and branch-free,
        // cheaper than a data-dependent branch per word. Each shifts its
        // word's bit (bit_index) down to bit 0 and ands it in: five
        // instructions a word where building the mask (1 << index, and-not,
        // or) took eight, in a lookup that validate() pays for every token.
        std::uint64_t present = 1;
        // Unrolled, so that the multipliers are immediates: fewer
        // instructions per probe let more probes wait on memory at once.
#pragma GCC unroll 8
        for (std::size_t i = 0; i < words_per_block; ++i)
            present &= block.words[i].load(std::memory_order_relaxed) >> bit_index(low, i);
        return present != 0;
    }

    /// Starts loading the key's block into cache (for batched lookups).
    void prefetch(std::uint64_t hash) const noexcept {
        __builtin_prefetch(&m_data[detail::fast_range(hash, m_blocks)], 0, 3);
    }

    [[nodiscard]] std::size_t blocks() const noexcept {
        return m_blocks;
    }
    [[nodiscard]] std::size_t memory_bytes() const noexcept {
        return m_blocks * block_bytes;
    }

  private:
    struct alignas(block_bytes) Block {
        std::atomic<std::uint64_t> words[words_per_block] = {};
    };
    static_assert(sizeof(Block) == block_bytes);

    /// The bit of `word` (0 to 63) a key sets.
    [[nodiscard]] static unsigned bit_index(std::uint32_t low, std::size_t word) noexcept {
        // Random odd multipliers (drawn once for jwtguard); each product's top
        // six bits pick a bit of the word.
        static constexpr std::uint32_t salt[words_per_block] = {
            0xc13da58bU, 0x9362da5dU, 0xe5c15b63U, 0xf6fadfa7U,
            0xa7ace733U, 0x7e6ddce7U, 0x28f00481U, 0x2c63888fU};
        return (low * salt[word]) >> 26;
    }
    [[nodiscard]] static std::uint64_t bit(std::uint32_t low, std::size_t word) noexcept {
        return std::uint64_t{1} << bit_index(low, word);
    }

    std::size_t m_blocks;
    std::unique_ptr<detail::LargeBuffer> m_owned;
    Block* m_data;
};

}  // namespace jwtguard
