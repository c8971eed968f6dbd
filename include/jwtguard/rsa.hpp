// RS256, RS384, RS512: RSASSA-PKCS1-v1_5 (RFC 8017 section 8.2, RFC 7518
// section 3.3), and PS256, PS384, PS512: RSASSA-PSS with MGF1 of the same
// hash and a salt as long as the hash (RFC 8017 section 8.1, RFC 7518
// section 3.5), verification with an RSA public key.
//
// PKCS#1 v1.5 verification never parses the padding. It raises the
// signature to the public exponent, then compares the whole result with the
// one encoding that is valid for this message: 00 01 FF..FF 00, the DER
// DigestInfo of the hash, and the hash (EMSA-PKCS1-v1_5, RFC 8017 section
// 9.2). A parser that reads the padding and then the DigestInfo is where
// Bleichenbacher-style forgeries for small exponents get in (garbage hidden
// in the padding or in the ASN.1 lengths); comparing every byte of a freshly
// built encoding leaves nothing to hide anything in.
//
// PSS cannot be checked that way (the salt is random), so EMSA-PSS-VERIFY
// (RFC 8017 section 9.1.2) runs step by step with the salt length fixed to
// the hash's: every byte of the padding string must be zero, followed by
// 0x01 at exactly the place the fixed salt length puts it, so a signature
// made with any other salt length fails, and so does one whose MGF hash is
// another (its mask decodes to garbage).
//
// Why not EVP_DigestVerify. OpenSSL's EVP verify allocates on every call
// (contexts, provider operations: ~28 allocations per token, measured in
// DESIGN.md). The arithmetic here uses OpenSSL's BN API with memory set up
// once: the key keeps its Montgomery context (BN_MONT_CTX, computed at load),
// and each thread keeps one BN_CTX and two BIGNUMs that grow to the largest
// key seen and are reused. A validation therefore allocates nothing once a
// thread has verified one token with its largest key.
//
// Keys: at least 2048-bit moduli (smaller ones are a SetupError, never a
// silent accept), at most 4096 bits (the largest signature the validator's
// stack buffer holds); an odd public exponent in [3, 2^32). One key is one
// algorithm: an RS256 key never checks a PS256 token.
#pragma once

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "jwtguard/error.hpp"
#include "jwtguard/pem.hpp"
#include "jwtguard/sha.hpp"

namespace jwtguard {

namespace detail {
struct BnCtxFree {
    void operator()(BN_CTX* c) const noexcept { BN_CTX_free(c); }
};
struct MontFree {
    void operator()(BN_MONT_CTX* m) const noexcept { BN_MONT_CTX_free(m); }
};

/// One thread's memory for RSA arithmetic, reused by every verification on
/// that thread (created on its first one).
struct RsaScratch {
    std::unique_ptr<BN_CTX, BnCtxFree> ctx{BN_CTX_new()};
    BnPtr signature{BN_new()};
    BnPtr result{BN_new()};
    [[nodiscard]] bool usable() const noexcept { return ctx && signature && result; }

    [[nodiscard]] static RsaScratch& local() {
        thread_local RsaScratch scratch;
        return scratch;
    }
};

/// An RSA public key's arithmetic, the same for every RS and PS algorithm.
/// Copies share the loaded key.
class RsaPublic {
  public:
    static constexpr int min_modulus_bits = 2048;
    static constexpr int max_modulus_bits = 4096;
    static constexpr std::size_t max_size = max_modulus_bits / 8;

    /// From PEM: SPKI ("BEGIN PUBLIC KEY") or PKCS#1 ("BEGIN RSA PUBLIC KEY").
    [[nodiscard]] static RsaPublic from_pem(std::string_view pem) {
        const PkeyPtr pkey = decode_pem(pem, "RSA", true, "RSA PUBLIC KEY", "an RSA public key");
        return from_pkey(pkey.get());
    }
    /// From an EVP key holding at least the public half.
    [[nodiscard]] static RsaPublic from_pkey(const EVP_PKEY* pkey) {
        return RsaPublic(bn_param(pkey, OSSL_PKEY_PARAM_RSA_N),
                         bn_param(pkey, OSSL_PKEY_PARAM_RSA_E));
    }
    /// From big-endian unsigned modulus and exponent bytes.
    [[nodiscard]] static RsaPublic from_components(std::span<const unsigned char> n,
                                                   std::span<const unsigned char> e) {
        BnPtr modulus(BN_bin2bn(n.data(), static_cast<int>(n.size()), nullptr));
        BnPtr exponent(BN_bin2bn(e.data(), static_cast<int>(e.size()), nullptr));
        if (!modulus || !exponent) throw std::bad_alloc();
        return RsaPublic(std::move(modulus), std::move(exponent));
    }

    [[nodiscard]] std::size_t size() const noexcept { return m_key->size; }
    [[nodiscard]] int bits() const noexcept { return BN_num_bits(m_key->n.get()); }
    /// Names this key's material for `algorithm` (detail::material_id).
    [[nodiscard]] std::uint64_t material_id(std::string_view algorithm) const noexcept {
        return detail::material_id(algorithm, {m_key->n_bytes, m_key->e_bytes});
    }
    [[nodiscard]] std::span<const unsigned char> n() const noexcept { return m_key->n_bytes; }
    [[nodiscard]] std::span<const unsigned char> e() const noexcept { return m_key->e_bytes; }

    /// signature^e mod n into `out` (size() bytes, big-endian). False when
    /// the signature is not size() bytes or not below n (RFC 8017 5.2.2).
    /// Never allocates once the calling thread has used a key this size.
    [[nodiscard]] bool recover(const unsigned char* signature, std::size_t size,
                               unsigned char* out) const noexcept {
        const Impl& key = *m_key;
        if (size != key.size) return false;
        RsaScratch* scratch = nullptr;
        try {
            scratch = &RsaScratch::local();
        } catch (...) {
            return false;  // no memory for this thread's first verification
        }
        if (!scratch->usable()) return false;
        BIGNUM* s = scratch->signature.get();
        BIGNUM* m = scratch->result.get();
        if (BN_bin2bn(signature, static_cast<int>(size), s) == nullptr ||
            BN_ucmp(s, key.n.get()) >= 0)
            return false;
        if (BN_mod_exp_mont(m, s, key.e.get(), key.n.get(), scratch->ctx.get(), key.mont.get()) !=
            1)
            return false;
        return BN_bn2binpad(m, out, static_cast<int>(size)) == static_cast<int>(size);
    }

  private:
    struct Impl {
        BnPtr n;
        BnPtr e;
        std::unique_ptr<BN_MONT_CTX, MontFree> mont;
        std::size_t size = 0;
        std::vector<unsigned char> n_bytes;
        std::vector<unsigned char> e_bytes;
    };

    RsaPublic(BnPtr n, BnPtr e) {
        const int bits = BN_num_bits(n.get());
        if (bits < min_modulus_bits)
            throw SetupError(Error::key_too_short,
                             "RSA modulus has " + std::to_string(bits) + " bits; at least " +
                                 std::to_string(min_modulus_bits) + " are required");
        if (bits > max_modulus_bits)
            throw SetupError(Error::key_invalid,
                             "RSA modulus has " + std::to_string(bits) + " bits; at most " +
                                 std::to_string(max_modulus_bits) + " are supported");
        if (!BN_is_odd(n.get())) throw SetupError(Error::key_invalid, "RSA modulus is even");
        // A sane public exponent: odd, at least 3, below 2^32 (and so below n).
        if (!BN_is_odd(e.get()) || BN_num_bits(e.get()) > 32 ||
            BN_cmp(e.get(), BN_value_one()) <= 0)
            throw SetupError(Error::key_invalid,
                             "RSA public exponent must be odd and in [3, 2^32)");
        auto impl = std::make_shared<Impl>();
        impl->size = static_cast<std::size_t>(BN_num_bytes(n.get()));
        impl->mont.reset(BN_MONT_CTX_new());
        const std::unique_ptr<BN_CTX, BnCtxFree> ctx(BN_CTX_new());
        if (!impl->mont || !ctx || BN_MONT_CTX_set(impl->mont.get(), n.get(), ctx.get()) != 1)
            throw std::bad_alloc();
        impl->n_bytes.resize(impl->size);
        impl->e_bytes.resize(static_cast<std::size_t>(BN_num_bytes(e.get())));
        BN_bn2bin(n.get(), impl->n_bytes.data());
        BN_bn2bin(e.get(), impl->e_bytes.data());
        impl->n = std::move(n);
        impl->e = std::move(e);
        m_key = std::move(impl);
    }

    std::shared_ptr<const Impl> m_key;
};

/// MGF1 (RFC 8017 appendix B.2.1) of `seed` with `Hash`, XOR-ed into
/// `out[0, size)`.
template <class Hash>
void mgf1_xor(const unsigned char* seed, std::size_t seed_size, unsigned char* out,
              std::size_t size) noexcept {
    unsigned char block[Hash::digest_size];
    for (std::uint32_t counter = 0; size > 0; ++counter) {
        const unsigned char c[4] = {
            static_cast<unsigned char>(counter >> 24), static_cast<unsigned char>(counter >> 16),
            static_cast<unsigned char>(counter >> 8), static_cast<unsigned char>(counter)};
        typename Hash::Context ctx;
        Hash::init(ctx);
        Hash::update(ctx, seed, seed_size);
        Hash::update(ctx, c, sizeof c);
        Hash::final(block, ctx);
        const std::size_t n = size < sizeof block ? size : sizeof block;
        for (std::size_t i = 0; i < n; ++i)
            out[i] ^= block[i];
        out += n;
        size -= n;
    }
}
}  // namespace detail

/// An RSA public key for one algorithm: RS256/384/512 (`Pss` false) or
/// PS256/384/512 (`Pss` true). Copies share the loaded key.
template <class Hash, bool Pss>
class RsaKey {
  public:
    static constexpr std::string_view algorithm = Pss ? Hash::ps : Hash::rs;
    static constexpr int min_modulus_bits = detail::RsaPublic::min_modulus_bits;
    static constexpr int max_modulus_bits = detail::RsaPublic::max_modulus_bits;

    /// Loads a public key from PEM: SPKI ("BEGIN PUBLIC KEY") or PKCS#1
    /// ("BEGIN RSA PUBLIC KEY"). Throws SetupError: key_too_short below 2048
    /// bits, key_invalid for anything else that is not an acceptable RSA
    /// public key (private keys included: hand over the public half).
    [[nodiscard]] static RsaKey from_pem(std::string_view pem) {
        return RsaKey(detail::RsaPublic::from_pem(pem));
    }

    /// A public key from its modulus and exponent, big-endian unsigned bytes
    /// (as in a JWK's `n` and `e` after base64url decoding). Throws like
    /// from_pem.
    [[nodiscard]] static RsaKey from_components(std::span<const unsigned char> n,
                                                std::span<const unsigned char> e) {
        return RsaKey(detail::RsaPublic::from_components(n, e));
    }

    /// The same key material for this algorithm.
    explicit RsaKey(detail::RsaPublic key)
        : m_key(std::move(key)), m_material_id(m_key.material_id(algorithm)) {}

    /// Size in bytes of every signature of this key (the modulus size).
    [[nodiscard]] std::size_t signature_size() const noexcept { return m_key.size(); }
    [[nodiscard]] int modulus_bits() const noexcept { return m_key.bits(); }
    /// Names this key's material (see detail::material_id).
    [[nodiscard]] std::uint64_t material_id() const noexcept { return m_material_id; }
    [[nodiscard]] const detail::RsaPublic& material() const noexcept { return m_key; }

    /// True when `signature` (of `size` bytes) is this key's signature of
    /// `input`. Never allocates once the calling thread has verified one
    /// signature of a key this size.
    [[nodiscard]] bool verify(std::string_view input, const unsigned char* signature,
                              std::size_t size) const noexcept {
        unsigned char recovered[detail::RsaPublic::max_size];
        if (!m_key.recover(signature, size, recovered)) return false;
        if constexpr (Pss) {
            return pss_holds(input, recovered, size);
        } else {
            unsigned char expected[detail::RsaPublic::max_size];
            encode(input, expected, size);
            return CRYPTO_memcmp(recovered, expected, size) == 0;
        }
    }

  private:
    /// EMSA-PKCS1-v1_5 encoding of Hash(input) in `size` bytes.
    static void encode(std::string_view input, unsigned char* out, std::size_t size) noexcept {
        constexpr std::size_t tail = sizeof Hash::digest_info + Hash::digest_size;
        const std::size_t padding = size - tail - 3;  // >= 8: size is at least 256
        out[0] = 0x00;
        out[1] = 0x01;
        std::memset(out + 2, 0xff, padding);
        out[2 + padding] = 0x00;
        std::memcpy(out + 3 + padding, Hash::digest_info, sizeof Hash::digest_info);
        detail::digest<Hash>(input.data(), input.size(), out + size - Hash::digest_size);
    }

    /// EMSA-PSS-VERIFY (RFC 8017 9.1.2) of `input` against the recovered
    /// `size`-byte integer, with sLen = hLen and MGF1 of Hash.
    [[nodiscard]] bool pss_holds(std::string_view input, unsigned char* m,
                                 std::size_t size) const noexcept {
        constexpr std::size_t h_len = Hash::digest_size;
        constexpr std::size_t s_len = h_len;
        const std::size_t em_bits = static_cast<std::size_t>(m_key.bits()) - 1;
        const std::size_t em_len = (em_bits + 7) / 8;
        // I2OSP(m, emLen): when emBits is a multiple of 8 the integer has
        // one byte fewer than the modulus, and that byte must be zero.
        if (em_len < size && m[0] != 0) return false;
        unsigned char* em = m + (size - em_len);
        if (em_len < h_len + s_len + 2 || em[em_len - 1] != 0xbc) return false;
        const std::size_t db_len = em_len - h_len - 1;
        const unsigned char* h = em + db_len;
        const auto top_mask = static_cast<unsigned char>(0xff >> (8 * em_len - em_bits));
        if ((em[0] & ~top_mask) != 0) return false;
        unsigned char* db = em;  // unmasked in place
        detail::mgf1_xor<Hash>(h, h_len, db, db_len);
        db[0] &= top_mask;
        const std::size_t ps_len = em_len - h_len - s_len - 2;
        for (std::size_t i = 0; i < ps_len; ++i)
            if (db[i] != 0) return false;
        if (db[ps_len] != 0x01) return false;
        unsigned char m_hash[h_len];
        detail::digest<Hash>(input.data(), input.size(), m_hash);
        static constexpr unsigned char zeros[8] = {};
        typename Hash::Context ctx;
        Hash::init(ctx);
        Hash::update(ctx, zeros, sizeof zeros);
        Hash::update(ctx, m_hash, h_len);
        Hash::update(ctx, db + db_len - s_len, s_len);
        unsigned char expected[h_len];
        Hash::final(expected, ctx);
        return CRYPTO_memcmp(expected, h, h_len) == 0;
    }

    detail::RsaPublic m_key;
    std::uint64_t m_material_id;
};

using Rs256Key = RsaKey<detail::Sha256, false>;
using Rs384Key = RsaKey<detail::Sha384, false>;
using Rs512Key = RsaKey<detail::Sha512, false>;
using Ps256Key = RsaKey<detail::Sha256, true>;
using Ps384Key = RsaKey<detail::Sha384, true>;
using Ps512Key = RsaKey<detail::Sha512, true>;

/// An RSA private key for signing one algorithm's tokens (issuers, tests,
/// the CLI). Setup-side: signing allocates and throws SetupError on failure.
template <class Hash, bool Pss>
class RsaPrivateKey {
  public:
    static constexpr std::string_view algorithm = RsaKey<Hash, Pss>::algorithm;

    /// Loads an unencrypted private key from PEM: PKCS#8 ("BEGIN PRIVATE
    /// KEY") or PKCS#1 ("BEGIN RSA PRIVATE KEY"). Throws SetupError:
    /// key_too_short below 2048 bits, key_invalid otherwise (encrypted keys
    /// included: decrypt them first).
    [[nodiscard]] static RsaPrivateKey from_pem(std::string_view pem) {
        RsaPrivateKey key(
            detail::decode_pem(pem, "RSA", false, "RSA PRIVATE KEY", "an RSA private key"));
        // The public half must be one the validator accepts (size, exponent).
        (void)key.public_key();
        return key;
    }

    /// The signature of `input`.
    [[nodiscard]] std::string sign(std::string_view input) const {
        return detail::evp_sign(m_key.get(), {Hash::evp(), Pss}, input);
    }

    /// The matching public key (what a validator should trust).
    [[nodiscard]] RsaKey<Hash, Pss> public_key() const {
        return RsaKey<Hash, Pss>(detail::RsaPublic::from_pkey(m_key.get()));
    }

  private:
    explicit RsaPrivateKey(detail::PkeyPtr key) : m_key(std::move(key)) {}
    detail::PkeyPtr m_key;
};

using Rs256PrivateKey = RsaPrivateKey<detail::Sha256, false>;
using Rs384PrivateKey = RsaPrivateKey<detail::Sha384, false>;
using Rs512PrivateKey = RsaPrivateKey<detail::Sha512, false>;
using Ps256PrivateKey = RsaPrivateKey<detail::Sha256, true>;
using Ps384PrivateKey = RsaPrivateKey<detail::Sha384, true>;
using Ps512PrivateKey = RsaPrivateKey<detail::Sha512, true>;

}  // namespace jwtguard
