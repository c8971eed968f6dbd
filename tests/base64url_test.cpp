#include <jwtguard/base64url.hpp>

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace jwtguard
