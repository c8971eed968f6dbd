#include <jwtguard/bloom.hpp>

#include <gtest/gtest.h>

#ifndef XXH_INLINE_ALL
#define XXH_INLINE_ALL
#endif
#include <xxhash.h>

#include <cstdint>
#include <cstring>

namespace jwtguard {
namespace {

std::uint64_t key(std::uint64_t i, std::uint64_t seed) {
    return XXH3_64bits_withSeed(&i, sizeof i, seed);
}

TEST(SplitBlockBloom, HasNoFalseNegatives) {
    SplitBlockBloom bloom(SplitBlockBloom::blocks_for(50'000, 12.0));
    for (std::uint64_t i = 0; i < 50'000; ++i)
        bloom.insert(key(i, 1));
    for (std::uint64_t i = 0; i < 50'000; ++i)
        ASSERT_TRUE(bloom.may_contain(key(i, 1))) << i;
}

TEST(SplitBlockBloom, EmptyFilterContainsNothing) {
    const SplitBlockBloom bloom(4);
    for (std::uint64_t i = 0; i < 10'000; ++i)
        EXPECT_FALSE(bloom.may_contain(key(i, 1)));
}

TEST(SplitBlockBloom, FalsePositivesStayUnderTargetAtFullLoad) {
    // The denylist's default: 12 bits per key at a cell's full load must give
    // at most 0.6% false positives (measured, not computed).
    constexpr std::uint64_t keys = 200'000;
    SplitBlockBloom bloom(SplitBlockBloom::blocks_for(keys, 12.0));
    for (std::uint64_t i = 0; i < keys; ++i)
        bloom.insert(key(i, 1));
    std::uint64_t false_positives = 0;
    constexpr std::uint64_t queries = 1'000'000;
    for (std::uint64_t i = 0; i < queries; ++i)
        false_positives += bloom.may_contain(key(i, 2));
    const double rate = static_cast<double>(false_positives) / queries;
    EXPECT_LT(rate, 0.006);
    // And the filter is not trivially empty or full: fewer bits, more errors.
    SplitBlockBloom small(SplitBlockBloom::blocks_for(keys, 6.0));
    for (std::uint64_t i = 0; i < keys; ++i)
        small.insert(key(i, 1));
    std::uint64_t small_false_positives = 0;
    for (std::uint64_t i = 0; i < queries; ++i)
        small_false_positives += small.may_contain(key(i, 2));
    EXPECT_GT(small_false_positives, false_positives * 3);
}

TEST(SplitBlockBloom, SizesInWholeCacheLines) {
    EXPECT_EQ(SplitBlockBloom::blocks_for(0, 12.0), 1u);
    EXPECT_EQ(SplitBlockBloom::blocks_for(1024, 12.0), 1024u * 12 / 512 + 1);
    const SplitBlockBloom bloom(10);
    EXPECT_EQ(bloom.blocks(), 10u);
    EXPECT_EQ(bloom.memory_bytes(), 640u);
    EXPECT_EQ(SplitBlockBloom(0).blocks(), 1u);
}

TEST(LargeBuffer, BigBuffersAreZeroedAndHugePageAligned) {
    for (std::size_t bytes :
         {std::size_t{100}, std::size_t{3} << 20, (std::size_t{5} << 20) + 100}) {
        const detail::LargeBuffer buffer(bytes);
        const auto address = reinterpret_cast<std::uintptr_t>(buffer.data());
        EXPECT_EQ(
            address %
                (bytes >= detail::LargeBuffer::huge_page ? detail::LargeBuffer::huge_page : 64),
            0u)
            << bytes;
        EXPECT_GE(buffer.size(), bytes);
        const auto* data = static_cast<const unsigned char*>(buffer.data());
        std::size_t nonzero = 0;
        for (std::size_t i = 0; i < buffer.size(); ++i)
            nonzero += data[i] != 0;
        EXPECT_EQ(nonzero, 0u) << bytes;
        std::memset(buffer.data(), 0xab, buffer.size());  // all of it is writable
    }
    // A filter that big works like a small one.
    SplitBlockBloom bloom(std::size_t{4} << 20 >> 6);
    for (std::uint64_t i = 0; i < 100'000; ++i)
        bloom.insert(key(i, 1));
    for (std::uint64_t i = 0; i < 100'000; ++i)
        ASSERT_TRUE(bloom.may_contain(key(i, 1)));
    std::uint64_t false_positives = 0;
    for (std::uint64_t i = 0; i < 100'000; ++i)
        false_positives += bloom.may_contain(key(i, 2));
    EXPECT_LT(false_positives, 10u);  // 335 bits per key: practically none
}

TEST(FastRange, MapsOntoTheWholeRange) {
    EXPECT_EQ(detail::fast_range(0, 10), 0u);
    EXPECT_EQ(detail::fast_range(~std::uint64_t{0}, 10), 9u);
    EXPECT_EQ(detail::fast_range(std::uint64_t{1} << 63, 10), 5u);
}

}  // namespace
}  // namespace jwtguard
