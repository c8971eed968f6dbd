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
    /// One compression of the 64-byte `block` into `c`'s state (no counting,
    /// no buffering: see finish_blocks).
    static void transform(Context& c, const unsigned char* block) noexcept {
        SHA256_Transform(&c, block);
    }
    using Word = std::uint32_t;                    // of the state, c.h[0..7]
    static constexpr std::size_t length_size = 8;  // bytes of the message length in the padding
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
    static void transform(Context& c, const unsigned char* block) noexcept {
        SHA512_Transform(&c, block);
    }
    using Word = std::uint64_t;
    static constexpr std::size_t length_size = 16;
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
    static void transform(Context& c, const unsigned char* block) noexcept {
        SHA512_Transform(&c, block);
    }
    using Word = std::uint64_t;
    static constexpr std::size_t length_size = 16;
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

/// Ends a `Hash` run whose state `c` has taken every whole block of a
/// message of `total` bytes but its last `size` bytes (`tail`, fewer than a
/// block): pads them (FIPS 180-4 section 5.1: 0x80, zeros, the length in
/// bits, big-endian), compresses the one or two blocks that makes, and
/// writes the digest (the state's first words, big-endian) to `out`.
///
/// What Hash::final does, without what a MAC does not need: final counts
/// the bytes it was given, copies the tail into the context's buffer, and
/// cleanses the whole context afterwards (SHA256_Final and its update:
/// 15-35 ns of an HS256 token's ~500 ns, measured in bench/README.md). Here
/// the caller knows the length, and what is left on its stack is a state
/// after the message, from which no earlier state (a key's pads) can be
/// computed.
template <class Hash>
void finish_blocks(typename Hash::Context& c, const unsigned char* tail, std::size_t size,
                   std::uint64_t total, unsigned char* out) noexcept {
    constexpr std::size_t block = Hash::block_size;
    unsigned char last[2 * block];
    std::memcpy(last, tail, size);
    last[size] = 0x80;
    const std::size_t padded = size + 1 + Hash::length_size <= block ? block : 2 * block;
    std::memset(last + size + 1, 0, padded - size - 1);
    const std::uint64_t bits = total * 8;  // a token is far below 2^61 bytes
    for (std::size_t i = 0; i < 8; ++i)
        last[padded - 1 - i] = static_cast<unsigned char>(bits >> (8 * i));
    Hash::transform(c, last);
    if (padded == 2 * block) Hash::transform(c, last + block);
    using Word = typename Hash::Word;
    for (std::size_t i = 0; i < Hash::digest_size / sizeof(Word); ++i) {
        Word big_endian;
        if constexpr (sizeof(Word) == 4)
            big_endian = __builtin_bswap32(c.h[i]);
        else
            big_endian = __builtin_bswap64(c.h[i]);
        std::memcpy(out + i * sizeof(Word), &big_endian, sizeof(Word));
    }
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
