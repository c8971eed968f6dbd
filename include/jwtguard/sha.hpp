// The three hashes under every JWS algorithm (SHA-256, SHA-384, SHA-512),
// as traits that the algorithm families take as a template parameter: the
// HS, RS, PS and ES algorithms of one hash differ only in what they do
// around it.
//
// The low-level SHA*_ functions are used because they allocate nothing;
// OpenSSL 3 deprecates them (EVP_Digest* allocate per call), so the
// deprecation warning is silenced in the headers that call them, and only
// there.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <span>
#include <string_view>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#endif

namespace jwtguard::detail {

/// SHA-256 and the JWS names built on it.
struct Sha256 {
    using Context = SHA256_CTX;
    static constexpr std::size_t digest_size = 32;
    static constexpr std::size_t block_size = 64;
    static constexpr std::string_view hs = "HS256", rs = "RS256", ps = "PS256", es = "ES256";
    /// DER of DigestInfo{ sha256, NULL } and the OCTET STRING header of the
    /// hash (RFC 8017 section 9.2, note 1).
    static constexpr unsigned char digest_info[] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60,
                                                    0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                                                    0x01, 0x05, 0x00, 0x04, 0x20};
    static void init(Context& c) noexcept { SHA256_Init(&c); }
    static void update(Context& c, const void* data, std::size_t size) noexcept {
        SHA256_Update(&c, data, size);
    }
    static void final(unsigned char* out, Context& c) noexcept { SHA256_Final(out, &c); }
    /// The same hash for EVP (setup-side signing).
    static const EVP_MD* evp() noexcept { return EVP_sha256(); }
};

/// SHA-384 (SHA-512's compression, another start and a shorter output).
struct Sha384 {
    using Context = SHA512_CTX;
    static constexpr std::size_t digest_size = 48;
    static constexpr std::size_t block_size = 128;
    static constexpr std::string_view hs = "HS384", rs = "RS384", ps = "PS384", es = "ES384";
    static constexpr unsigned char digest_info[] = {0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60,
                                                    0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                                                    0x02, 0x05, 0x00, 0x04, 0x30};
    static void init(Context& c) noexcept { SHA384_Init(&c); }
    static void update(Context& c, const void* data, std::size_t size) noexcept {
        SHA384_Update(&c, data, size);
    }
    static void final(unsigned char* out, Context& c) noexcept { SHA384_Final(out, &c); }
    /// The same hash for EVP (setup-side signing).
    static const EVP_MD* evp() noexcept { return EVP_sha384(); }
};

/// SHA-512.
struct Sha512 {
    using Context = SHA512_CTX;
    static constexpr std::size_t digest_size = 64;
    static constexpr std::size_t block_size = 128;
    static constexpr std::string_view hs = "HS512", rs = "RS512", ps = "PS512", es = "ES512";
    static constexpr unsigned char digest_info[] = {0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60,
                                                    0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                                                    0x03, 0x05, 0x00, 0x04, 0x40};
    static void init(Context& c) noexcept { SHA512_Init(&c); }
    static void update(Context& c, const void* data, std::size_t size) noexcept {
        SHA512_Update(&c, data, size);
    }
    static void final(unsigned char* out, Context& c) noexcept { SHA512_Final(out, &c); }
    /// The same hash for EVP (setup-side signing).
    static const EVP_MD* evp() noexcept { return EVP_sha512(); }
};

/// The largest digest of the three.
inline constexpr std::size_t max_digest_size = Sha512::digest_size;

/// `Hash` of `data` into `out` (Hash::digest_size bytes).
template <class Hash>
void digest(const void* data, std::size_t size, unsigned char* out) noexcept {
    typename Hash::Context c;
    Hash::init(c);
    Hash::update(c, data, size);
    Hash::final(out, c);
}

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

/// Whether the `Size`-byte MACs at `a` and `b` are equal, in a time that
/// does not depend on where they differ: the words' differences are OR-ed
/// with no branch, and the empty asm statement hides the running value from
/// the optimizer so that it cannot stop at the first difference.
/// (CRYPTO_memcmp does the same a byte at a time, with eight times the
/// instructions.)
template <std::size_t Size>
[[nodiscard]] bool mac_equal(const unsigned char* a, const unsigned char* b) noexcept {
    static_assert(Size % 8 == 0);
    std::uint64_t difference = 0;
    for (std::size_t i = 0; i < Size / 8; ++i) {
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

}  // namespace jwtguard::detail

#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif
