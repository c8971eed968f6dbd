// Helpers shared by the tests: tokens built from raw header and payload
// text, so tests can sign exactly the bytes a rule is about (sign() itself
// refuses to mint most of them).
#pragma once

#include <cstdint>
#include <memory>
#include <ostream>
#include <stdexcept>
#include <string>
#include <string_view>

#include <jwtguard/jwtguard.hpp>

namespace jwtguard {
/// GoogleTest prints an Error by its name.
inline void PrintTo(Error e, std::ostream* os) {
    *os << to_string(e);
}
}  // namespace jwtguard

namespace jwtguard::test {

inline constexpr std::int64_t now = 1'700'000'000;

/// prefix + decimal n: names of many revocations (spelled out: GCC 12 warns
/// falsely on "lit" + std::string).
inline std::string id(std::string_view prefix, long long n) {
    std::string s(prefix);
    s += std::to_string(n);
    return s;
}

/// Bytes from lowercase or uppercase hex (test vectors).
inline std::string from_hex(std::string_view hex) {
    std::string out;
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
        out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
    return out;
}
inline constexpr std::string_view secret = "0123456789abcdef0123456789abcdef:test-secret";
inline constexpr std::string_view other_secret = "fedcba9876543210fedcba9876543210:other-secret";

/// `header_b64 . payload_b64 . MAC` with the MAC over the exact segments.
inline std::string sign_segments(std::string_view header_b64, std::string_view payload_b64,
                                 const Hs256Key& key) {
    std::string token = std::string(header_b64) + "." + std::string(payload_b64);
    const std::string mac = key.sign(token);
    return token + "." + base64url_encode(mac);
}

/// The bytes of a base64url text the test knows to be valid.
inline std::string decoded(std::string_view text) {
    std::string out(base64url_decoded_size(text.size()), '\0');
    std::size_t size = 0;
    if (base64url_decode(text, reinterpret_cast<unsigned char*>(out.data()), size) !=
        Base64Status::ok)
        throw std::invalid_argument("test data is not base64url: " + std::string(text));
    out.resize(size);
    return out;
}

/// A token whose header and payload are exactly these bytes.
inline std::string make_token(std::string_view header_json, std::string_view payload_json,
                              const Hs256Key& key = Hs256Key(secret)) {
    return sign_segments(base64url_encode(header_json), base64url_encode(payload_json), key);
}

inline constexpr std::string_view hs256_header = R"({"alg":"HS256","typ":"JWT"})";
/// A payload that passes the default policy at `now`.
inline constexpr std::string_view good_payload =
    R"({"iss":"https://issuer.example","sub":"alice","exp":1700000600,"iat":1699999900,"jti":"id-1"})";

/// Claims live in a 12 KiB object: keep them off the test's stack frame.
inline std::unique_ptr<Claims> new_claims() {
    return std::make_unique<Claims>();
}

}  // namespace jwtguard::test
