#include <jwtguard/bloom.hpp>

#include <gtest/gtest.h>

#ifndef XXH_INLINE_ALL
#define XXH_INLINE_ALL
#endif
#include <xxhash.h>

#include <cstdint>

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

TEST(FastRange, MapsOntoTheWholeRange) {
    EXPECT_EQ(detail::fast_range(0, 10), 0u);
    EXPECT_EQ(detail::fast_range(~std::uint64_t{0}, 10), 9u);
    EXPECT_EQ(detail::fast_range(std::uint64_t{1} << 63, 10), 5u);
}

}  // namespace
}  // namespace jwtguard
