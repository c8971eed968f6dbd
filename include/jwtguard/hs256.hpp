// HS256: HMAC-SHA256 (RFC 2104, RFC 7518 section 3.2) with the key's pads
// hashed once at load time.
//
// An HMAC is two SHA-256 runs, each starting with one 64-byte block derived
// from the key (key ^ ipad, key ^ opad). Those two blocks never change, so the
// key keeps the SHA-256 state after each of them and every MAC starts from a
// copy: two compressions saved per token, no allocation, no OpenSSL object
// to create per call. OpenSSL's EVP and HMAC interfaces cannot do this without
// allocating (their context copies duplicate provider state on the heap), so
// this file uses the low-level SHA256_* functions, deprecated in OpenSSL 3
// but present and allocation-free; the deprecation warning is silenced here
// only.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "jwtguard/error.hpp"

namespace jwtguard {

#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#endif

/// An HMAC-SHA256 key. Copyable; holds derived state only, never the secret.
namespace detail {
/// Names a key's material, for the verified-token cache: the first 8 bytes
/// of SHA-256 over the algorithm's name and the length-prefixed parts. Equal
/// material gives an equal id, so a key set reloaded with the same keys keeps
/// its cached tokens; two different keys share an id with probability
/// 2^-64, and only the keys' owner chooses keys.
[[nodiscard]] inline std::uint64_t material_id(
    std::string_view algorithm,
    std::initializer_list<std::span<const unsigned char>> parts) noexcept {
    SHA256_CTX ctx;
    SHA256_Init(&ctx);
    SHA256_Update(&ctx, algorithm.data(), algorithm.size());
    for (const auto part : parts) {
        const std::uint64_t size = part.size();
        SHA256_Update(&ctx, &size, sizeof size);
        SHA256_Update(&ctx, part.data(), part.size());
    }
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256_Final(digest, &ctx);
    std::uint64_t id;
    std::memcpy(&id, digest, sizeof id);
    OPENSSL_cleanse(digest, sizeof digest);
    OPENSSL_cleanse(&ctx, sizeof ctx);
    return id;
}

/// Whether the 32-byte MACs at `a` and `b` are equal, in a time that does not
/// depend on where they differ: the four words' differences are OR-ed with no
/// branch, and the empty asm statement hides the running value from the
/// optimizer so that it cannot stop at the first difference. (CRYPTO_memcmp
/// does the same a byte at a time, with eight times the instructions.)
[[nodiscard]] inline bool mac_equal(const unsigned char* a, const unsigned char* b) noexcept {
    std::uint64_t difference = 0;
    for (int i = 0; i < 4; ++i) {
        std::uint64_t x, y;
        std::memcpy(&x, a + 8 * i, 8);
        std::memcpy(&y, b + 8 * i, 8);
        difference |= x ^ y;
#if defined(__GNUC__)
        __asm__("" : "+r"(difference));
#endif
    }
    return difference == 0;
}
}  // namespace detail

class Hs256Key {
  public:
    /// RFC 7518 section 3.2: a key of the same size as the hash output or larger.
    static constexpr std::size_t min_secret_size = 32;
    static constexpr std::size_t mac_size = 32;
    static constexpr std::string_view algorithm = "HS256";
    /// Size in bytes of every MAC (the validator checks it before verify).
    [[nodiscard]] static constexpr std::size_t signature_size() noexcept { return mac_size; }

    /// Loads `secret` (raw bytes). Throws SetupError(key_too_short) below
    /// `min_secret_size` bytes.
    explicit Hs256Key(std::string_view secret) {
        if (secret.size() < min_secret_size)
            throw SetupError(Error::key_too_short,
                             "HS256 secret has " + std::to_string(secret.size()) +
                                 " bytes; at least " + std::to_string(min_secret_size) +
                                 " are required (RFC 7518 section 3.2)");
        unsigned char block[SHA256_CBLOCK] = {};
        if (secret.size() > SHA256_CBLOCK) {
            SHA256(reinterpret_cast<const unsigned char*>(secret.data()), secret.size(), block);
        } else {
            std::memcpy(block, secret.data(), secret.size());
        }
        unsigned char pad[SHA256_CBLOCK];
        for (std::size_t i = 0; i < SHA256_CBLOCK; ++i)
            pad[i] = block[i] ^ 0x36;
        SHA256_Init(&m_inner);
        SHA256_Update(&m_inner, pad, sizeof pad);
        for (std::size_t i = 0; i < SHA256_CBLOCK; ++i)
            pad[i] = block[i] ^ 0x5c;
        SHA256_Init(&m_outer);
        SHA256_Update(&m_outer, pad, sizeof pad);
        m_material_id = detail::material_id(algorithm, {block});
        OPENSSL_cleanse(block, sizeof block);
        OPENSSL_cleanse(pad, sizeof pad);
    }

    Hs256Key(const Hs256Key&) = default;
    Hs256Key& operator=(const Hs256Key&) = default;
    ~Hs256Key() {
        OPENSSL_cleanse(&m_inner, sizeof m_inner);
        OPENSSL_cleanse(&m_outer, sizeof m_outer);
    }

    /// HMAC-SHA256 of `input` into `out`.
    void mac(std::string_view input, unsigned char (&out)[mac_size]) const noexcept {
        unsigned char inner[mac_size];
        SHA256_CTX ctx = m_inner;
        SHA256_Update(&ctx, input.data(), input.size());
        SHA256_Final(inner, &ctx);
        ctx = m_outer;
        SHA256_Update(&ctx, inner, sizeof inner);
        SHA256_Final(out, &ctx);
    }

    /// True when `signature` is the MAC of `input`; compared in constant time.
    [[nodiscard]] bool verify(std::string_view input, const unsigned char* signature,
                              std::size_t size) const noexcept {
        if (size != mac_size) return false;
        unsigned char expected[mac_size];
        mac(input, expected);
        static_assert(mac_size == 32);
        return detail::mac_equal(expected, signature);
    }

    /// Names this key's material (see detail::material_id).
    [[nodiscard]] std::uint64_t material_id() const noexcept { return m_material_id; }

    /// The MAC of `input` as raw bytes.
    [[nodiscard]] std::string sign(std::string_view input) const {
        unsigned char out[mac_size];
        mac(input, out);
        return std::string(reinterpret_cast<const char*>(out), mac_size);
    }

  private:
    SHA256_CTX m_inner;  // state after key ^ ipad
    SHA256_CTX m_outer;  // state after key ^ opad
    std::uint64_t m_material_id = 0;
};

#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

}  // namespace jwtguard
