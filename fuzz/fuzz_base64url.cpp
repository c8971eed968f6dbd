// Strict base64url decoding against a reference that reads RFC 4648
// section 5 literally, one character at a time: same verdict, same bytes,
// and every accepted input is the one canonical encoding of its bytes.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_support.hpp"
#include "jwtguard/base64url.hpp"

namespace {

int sextet(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
}

jwtguard::Base64Status reference_decode(std::string_view in, std::string& out) {
    using jwtguard::Base64Status;
    if (in.size() % 4 == 1) return Base64Status::invalid;  // 6 bits cannot end a byte
    unsigned bits = 0;
    int count = 0;
    for (const char c : in) {
        const int v = sextet(c);
        if (v < 0) return Base64Status::invalid;
        bits = bits << 6 | static_cast<unsigned>(v);
        count += 6;
        if (count >= 8) {
            count -= 8;
            out.push_back(static_cast<char>(bits >> count));
            bits &= (1u << count) - 1;
        }
    }
    // Bits left over after the last whole byte must be zero.
    return bits == 0 ? Base64Status::ok : Base64Status::non_canonical;
}

using Decoder = jwtguard::Base64Status (*)(std::string_view, unsigned char*, std::size_t&) noexcept;

/// One decoder against the reference.
void check(Decoder decode, std::string_view in, jwtguard::Base64Status expected_status,
           const std::string& expected) {
    // Exactly the documented size: ASan catches a write past it.
    std::vector<unsigned char> out(jwtguard::base64url_decoded_size(in.size()));
    std::size_t out_size = 12345;
    const auto status = decode(in, out.data(), out_size);
    FUZZ_CHECK(status == expected_status);
    if (status != jwtguard::Base64Status::ok) {
        FUZZ_CHECK(out_size == 0);
        return;
    }
    FUZZ_CHECK(out_size == expected.size());
    FUZZ_CHECK(out_size == 0 || std::memcmp(out.data(), expected.data(), out_size) == 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view in(reinterpret_cast<const char*>(data), size);
    std::string expected;
    const auto expected_status = reference_decode(in, expected);
    // The public entry point, and each path it may choose.
    check(jwtguard::base64url_decode, in, expected_status, expected);
    check(jwtguard::detail::base64url_decode_scalar, in, expected_status, expected);
#if JWTGUARD_AVX2
    if (jwtguard::detail::cpu_has_avx2())
        check(jwtguard::detail::base64url_decode_avx2, in, expected_status, expected);
#endif
    if (expected_status == jwtguard::Base64Status::ok)
        FUZZ_CHECK(jwtguard::base64url_encode(expected) == in);
    return 0;
}
