#include <jwtguard/base64url.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace jwtguard {
namespace {

struct Decoded {
    Base64Status status;
    std::string bytes;
};

Decoded decode(std::string_view in) {
    std::vector<unsigned char> out(base64url_decoded_size(in.size()) + 1);
    std::size_t size = 99;
    const Base64Status status = base64url_decode(in, out.data(), size);
    if (status != Base64Status::ok) {
        EXPECT_EQ(size, 0u);
    }
    return {status, std::string(reinterpret_cast<const char*>(out.data()), size)};
}

TEST(Base64url, Rfc4648Vectors) {
    const std::pair<std::string_view, std::string_view> vectors[] = {
        {"", ""},           {"f", "Zg"},          {"fo", "Zm8"},          {"foo", "Zm9v"},
        {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"},
    };
    for (const auto& [plain, encoded] : vectors) {
        EXPECT_EQ(base64url_encode(plain), encoded);
        const Decoded d = decode(encoded);
        EXPECT_EQ(d.status, Base64Status::ok) << encoded;
        EXPECT_EQ(d.bytes, plain);
    }
}

TEST(Base64url, UsesTheUrlAlphabet) {
    const std::string bytes("\xfb\xff\xbf", 3);
    EXPECT_EQ(base64url_encode(bytes), "-_-_");
    EXPECT_EQ(decode("-_-_").bytes, bytes);
    EXPECT_EQ(decode("+/+/").status, Base64Status::invalid);
}

TEST(Base64url, EveryByteValueRoundTrips) {
    std::string all;
    for (int i = 0; i < 256; ++i)
        all.push_back(static_cast<char>(i));
    for (std::size_t n = 0; n <= all.size(); n += 1) {
        const std::string part = all.substr(0, n);
        const std::string encoded = base64url_encode(part);
        EXPECT_EQ(encoded.size(), base64url_encoded_size(n));
        const Decoded d = decode(encoded);
        ASSERT_EQ(d.status, Base64Status::ok) << n;
        EXPECT_EQ(d.bytes, part);
    }
}

TEST(Base64url, RejectsPadding) {
    EXPECT_EQ(decode("Zg==").status, Base64Status::invalid);
    EXPECT_EQ(decode("Zm8=").status, Base64Status::invalid);
    EXPECT_EQ(decode("Zg=").status, Base64Status::invalid);
}

TEST(Base64url, RejectsWhitespaceAndOtherBytes) {
    using namespace std::literals;
    for (std::string_view bad :
         {"Zm9 v"sv, "Zm9v\n"sv, " Zm9v"sv, "Zm\r\n9v"sv, "Zm9\tv"sv, "Zm9."sv, "Z\0m9"sv}) {
        EXPECT_EQ(decode(bad).status, Base64Status::invalid) << bad;
    }
    for (int c = 128; c < 256; ++c) {
        std::string s = "Zm9";
        s.push_back(static_cast<char>(c));
        EXPECT_EQ(decode(s).status, Base64Status::invalid) << c;
    }
}

TEST(Base64url, RejectsImpossibleLength) {
    EXPECT_EQ(decode("A").status, Base64Status::invalid);
    EXPECT_EQ(decode("Zm9vY").status, Base64Status::invalid);
}

TEST(Base64url, RejectsNonZeroTrailingBits) {
    // "Zg" is the one spelling of "f"; "Zh".."Zv" decode to "f" too if the
    // low four bits are ignored.
    EXPECT_EQ(decode("Zg").status, Base64Status::ok);
    for (std::string_view bad : {"Zh", "Zi", "Zp", "Zv"})
        EXPECT_EQ(decode(bad).status, Base64Status::non_canonical) << bad;
    // Three characters leave two unused bits.
    EXPECT_EQ(decode("Zm8").status, Base64Status::ok);
    for (std::string_view bad : {"Zm9", "Zm-", "Zm_"})
        EXPECT_EQ(decode(bad).status, Base64Status::non_canonical) << bad;
}

TEST(Base64url, InvalidCharacterWinsOverTrailingBits) {
    EXPECT_EQ(decode("Z=h").status, Base64Status::invalid);
}

#if JWTGUARD_AVX2
/// Both paths on `in`, into buffers of exactly the documented size: the
/// same verdict, size and bytes.
void expect_paths_agree(std::string_view in) {
    const std::size_t capacity = base64url_decoded_size(in.size());
    std::vector<unsigned char> scalar(capacity + 1), avx2(capacity + 1);
    scalar[capacity] = avx2[capacity] = 0xa5;  // nothing may be written here
    std::size_t scalar_size = 7, avx2_size = 7;
    const Base64Status s = detail::base64url_decode_scalar(in, scalar.data(), scalar_size);
    const Base64Status v = detail::base64url_decode_avx2(in, avx2.data(), avx2_size);
    ASSERT_EQ(s, v) << in;
    ASSERT_EQ(scalar_size, avx2_size) << in;
    EXPECT_EQ(avx2[capacity], 0xa5) << in;
    if (s == Base64Status::ok) {
        EXPECT_TRUE(std::equal(scalar.begin(), scalar.begin() + static_cast<long>(scalar_size),
                               avx2.begin()))
            << in;
    }
}

TEST(Base64url, Avx2PathAgreesWithTheScalarOne) {
    if (!detail::cpu_has_avx2()) GTEST_SKIP() << "this CPU has no AVX2";
    // Every length around one, two and three blocks, of every byte pattern.
    std::string bytes;
    for (int i = 0; i < 160; ++i)
        bytes.push_back(static_cast<char>(i * 97 + 13));
    for (std::size_t n = 0; n <= bytes.size(); ++n)
        expect_paths_agree(base64url_encode(bytes.substr(0, n)));
    // Every byte value at every position of the first block and some of the
    // second, the rest valid: each character of the alphabet decodes to its
    // value and every other byte is refused, at any lane.
    const std::string valid = base64url_encode(bytes.substr(0, 60));  // 80 characters
    for (const std::size_t at : {0u, 1u, 7u, 15u, 16u, 22u, 31u, 32u, 47u, 63u}) {
        for (int c = 0; c < 256; ++c) {
            std::string in = valid;
            in[at] = static_cast<char>(c);
            expect_paths_agree(in);
        }
    }
    // Non-canonical tails after whole blocks.
    for (std::string_view tail : {"Zh", "Zm9", "Zg", "Zm8"})
        expect_paths_agree(valid.substr(0, 64) + std::string(tail));
    // A bad character at every position of every length from one block to
    // three: in every block, and in every tail the scalar code finishes.
    const std::string longer = base64url_encode(bytes.substr(0, 72));  // 96 characters
    for (std::size_t n = 32; n <= longer.size(); ++n) {
        for (std::size_t at = 0; at < n; ++at) {
            for (const char c : {'=', '.', '\0', '\xff'}) {
                std::string in = longer.substr(0, n);
                in[at] = c;
                expect_paths_agree(in);
            }
        }
    }
}
#endif

}  // namespace
}  // namespace jwtguard
