// RS256: RSASSA-PKCS1-v1_5 with SHA-256 (RFC 8017 section 8.2, RFC 7518
// section 3.3), verification with an RSA public key.
//
// Verification never parses the padding. It raises the signature to the
// public exponent, then compares the whole result with the one encoding that
// is valid for this message: 00 01 FF..FF 00, the DER DigestInfo of SHA-256,
// and the hash (EMSA-PKCS1-v1_5, RFC 8017 section 9.2). A parser that reads
// the padding and then the DigestInfo is where Bleichenbacher-style forgeries
// for small exponents get in (garbage hidden in the padding or in the ASN.1
// lengths); comparing every byte of a freshly built encoding leaves nothing to
// hide anything in.
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
// stack buffer holds); an odd public exponent in [3, 2^32).
#pragma once

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/decoder.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "jwtguard/error.hpp"
#include "jwtguard/hs256.hpp"  // detail::material_id

namespace jwtguard {

namespace detail {
struct BnFree {
    void operator()(BIGNUM* b) const noexcept { BN_free(b); }
};
struct BnCtxFree {
    void operator()(BN_CTX* c) const noexcept { BN_CTX_free(c); }
};
struct MontFree {
    void operator()(BN_MONT_CTX* m) const noexcept { BN_MONT_CTX_free(m); }
};
struct PkeyFree {
    void operator()(EVP_PKEY* k) const noexcept { EVP_PKEY_free(k); }
};
struct DecoderFree {
    void operator()(OSSL_DECODER_CTX* d) const noexcept { OSSL_DECODER_CTX_free(d); }
};
using BnPtr = std::unique_ptr<BIGNUM, BnFree>;

/// DER of DigestInfo{ sha256, NULL } followed by the OCTET STRING header of
/// the 32-byte hash (RFC 8017 section 9.2, note 1).
inline constexpr unsigned char sha256_digest_info[] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60,
                                                       0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                                                       0x01, 0x05, 0x00, 0x04, 0x20};

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
}  // namespace detail

/// An RSA public key for RS256. Copies share the loaded key (copying happens
/// at setup; validation only reads it).
class Rs256Key {
  public:
    static constexpr std::string_view algorithm = "RS256";
    static constexpr int min_modulus_bits = 2048;
    static constexpr int max_modulus_bits = 4096;

    /// Loads a public key from PEM: SPKI ("BEGIN PUBLIC KEY") or PKCS#1
    /// ("BEGIN RSA PUBLIC KEY"). Throws SetupError: key_too_short below 2048
    /// bits, key_invalid for anything else that is not an acceptable RSA
    /// public key (private keys included: hand over the public half).
    [[nodiscard]] static Rs256Key from_pem(std::string_view pem) {
        const bool spki = pem.find("-----BEGIN PUBLIC KEY-----") != std::string_view::npos;
        const bool pkcs1 = pem.find("-----BEGIN RSA PUBLIC KEY-----") != std::string_view::npos;
        if (spki == pkcs1)
            throw SetupError(Error::key_invalid,
                             "expected one PEM block BEGIN PUBLIC KEY or BEGIN RSA PUBLIC KEY");
        EVP_PKEY* raw = nullptr;
        const std::unique_ptr<OSSL_DECODER_CTX, detail::DecoderFree> decoder(
            OSSL_DECODER_CTX_new_for_pkey(&raw, "PEM",
                                          spki ? "SubjectPublicKeyInfo" : "type-specific", "RSA",
                                          EVP_PKEY_PUBLIC_KEY, nullptr, nullptr));
        const auto* data = reinterpret_cast<const unsigned char*>(pem.data());
        std::size_t size = pem.size();
        if (!decoder || OSSL_DECODER_from_data(decoder.get(), &data, &size) != 1 || raw == nullptr)
            throw SetupError(Error::key_invalid, "the PEM text is not an RSA public key");
        const std::unique_ptr<EVP_PKEY, detail::PkeyFree> pkey(raw);
        if (!EVP_PKEY_is_a(pkey.get(), "RSA"))
            throw SetupError(Error::key_invalid, "the key is not a plain RSA key");
        BIGNUM* n = nullptr;
        BIGNUM* e = nullptr;
        const bool got_n = EVP_PKEY_get_bn_param(pkey.get(), OSSL_PKEY_PARAM_RSA_N, &n) == 1;
        detail::BnPtr modulus(n);
        const bool got_e = EVP_PKEY_get_bn_param(pkey.get(), OSSL_PKEY_PARAM_RSA_E, &e) == 1;
        detail::BnPtr exponent(e);
        if (!got_n || !got_e) throw SetupError(Error::key_invalid, "the RSA key has no n or e");
        return Rs256Key(std::move(modulus), std::move(exponent));
    }

    /// A public key from its modulus and exponent, big-endian unsigned bytes
    /// (as in a JWK's `n` and `e` after base64url decoding). Throws like
    /// from_pem.
    [[nodiscard]] static Rs256Key from_components(std::span<const unsigned char> n,
                                                  std::span<const unsigned char> e) {
        detail::BnPtr modulus(BN_bin2bn(n.data(), static_cast<int>(n.size()), nullptr));
        detail::BnPtr exponent(BN_bin2bn(e.data(), static_cast<int>(e.size()), nullptr));
        if (!modulus || !exponent) throw std::bad_alloc();
        return Rs256Key(std::move(modulus), std::move(exponent));
    }

    /// Size in bytes of every signature of this key (the modulus size).
    [[nodiscard]] std::size_t signature_size() const noexcept { return m_key->size; }
    [[nodiscard]] int modulus_bits() const noexcept { return BN_num_bits(m_key->n.get()); }
    /// Names this key's material (see detail::material_id).
    [[nodiscard]] std::uint64_t material_id() const noexcept { return m_key->material_id; }

    /// True when `signature` (of `size` bytes) is this key's RS256 signature
    /// of `input`. Never allocates once the calling thread has verified one
    /// signature of a key this size.
    [[nodiscard]] bool verify(std::string_view input, const unsigned char* signature,
                              std::size_t size) const noexcept {
        const Impl& key = *m_key;
        if (size != key.size) return false;
        detail::RsaScratch* scratch = nullptr;
        try {
            scratch = &detail::RsaScratch::local();
        } catch (...) {
            return false;  // no memory for this thread's first verification
        }
        if (!scratch->usable()) return false;
        BIGNUM* s = scratch->signature.get();
        BIGNUM* m = scratch->result.get();
        // RFC 8017 8.2.2 / 5.2.2: the signature representative must be < n.
        if (BN_bin2bn(signature, static_cast<int>(size), s) == nullptr ||
            BN_ucmp(s, key.n.get()) >= 0)
            return false;
        if (BN_mod_exp_mont(m, s, key.e.get(), key.n.get(), scratch->ctx.get(), key.mont.get()) !=
            1)
            return false;
        unsigned char decrypted[max_modulus_bits / 8];
        if (BN_bn2binpad(m, decrypted, static_cast<int>(size)) != static_cast<int>(size))
            return false;
        unsigned char expected[max_modulus_bits / 8];
        encode(input, expected, size);
        return CRYPTO_memcmp(decrypted, expected, size) == 0;
    }

  private:
    struct Impl {
        detail::BnPtr n;
        detail::BnPtr e;
        std::unique_ptr<BN_MONT_CTX, detail::MontFree> mont;
        std::size_t size = 0;
        std::uint64_t material_id = 0;
    };

    Rs256Key(detail::BnPtr n, detail::BnPtr e) {
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
        const std::unique_ptr<BN_CTX, detail::BnCtxFree> ctx(BN_CTX_new());
        if (!impl->mont || !ctx || BN_MONT_CTX_set(impl->mont.get(), n.get(), ctx.get()) != 1)
            throw std::bad_alloc();
        std::vector<unsigned char> n_bytes(impl->size);
        std::vector<unsigned char> e_bytes(static_cast<std::size_t>(BN_num_bytes(e.get())));
        BN_bn2bin(n.get(), n_bytes.data());
        BN_bn2bin(e.get(), e_bytes.data());
        impl->material_id = detail::material_id(algorithm, {n_bytes, e_bytes});
        impl->n = std::move(n);
        impl->e = std::move(e);
        m_key = std::move(impl);
    }

    /// EMSA-PKCS1-v1_5 encoding of SHA-256(input) in `size` bytes.
    static void encode(std::string_view input, unsigned char* out, std::size_t size) noexcept {
        constexpr std::size_t tail = sizeof detail::sha256_digest_info + SHA256_DIGEST_LENGTH;
        const std::size_t padding = size - tail - 3;  // >= 8: size is at least 256
        out[0] = 0x00;
        out[1] = 0x01;
        std::memset(out + 2, 0xff, padding);
        out[2 + padding] = 0x00;
        std::memcpy(out + 3 + padding, detail::sha256_digest_info,
                    sizeof detail::sha256_digest_info);
        // SHA256() would go through EVP_Q_digest, which allocates; the
        // low-level functions (deprecated in OpenSSL 3) do not.
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#endif
        SHA256_CTX sha;
        SHA256_Init(&sha);
        SHA256_Update(&sha, input.data(), input.size());
        SHA256_Final(out + size - SHA256_DIGEST_LENGTH, &sha);
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif
    }

    std::shared_ptr<const Impl> m_key;
};

/// An RSA private key for signing RS256 tokens (issuers, tests, the CLI).
/// Setup-side: signing allocates and throws SetupError on failure.
class Rs256PrivateKey {
  public:
    static constexpr std::string_view algorithm = "RS256";

    /// Loads an unencrypted private key from PEM: PKCS#8 ("BEGIN PRIVATE
    /// KEY") or PKCS#1 ("BEGIN RSA PRIVATE KEY"). Throws SetupError:
    /// key_too_short below 2048 bits, key_invalid otherwise (encrypted keys
    /// included: decrypt them first).
    [[nodiscard]] static Rs256PrivateKey from_pem(std::string_view pem) {
        const bool pkcs8 = pem.find("-----BEGIN PRIVATE KEY-----") != std::string_view::npos;
        const bool pkcs1 = pem.find("-----BEGIN RSA PRIVATE KEY-----") != std::string_view::npos;
        if (pkcs8 == pkcs1)
            throw SetupError(Error::key_invalid,
                             "expected one unencrypted PEM block BEGIN PRIVATE KEY or BEGIN RSA "
                             "PRIVATE KEY");
        EVP_PKEY* raw = nullptr;
        const std::unique_ptr<OSSL_DECODER_CTX, detail::DecoderFree> decoder(
            OSSL_DECODER_CTX_new_for_pkey(&raw, "PEM", pkcs8 ? "PrivateKeyInfo" : "type-specific",
                                          "RSA", EVP_PKEY_KEYPAIR, nullptr, nullptr));
        const auto* data = reinterpret_cast<const unsigned char*>(pem.data());
        std::size_t size = pem.size();
        if (!decoder || OSSL_DECODER_from_data(decoder.get(), &data, &size) != 1 || raw == nullptr)
            throw SetupError(Error::key_invalid, "the PEM text is not an RSA private key");
        std::shared_ptr<EVP_PKEY> pkey(raw, detail::PkeyFree());
        if (!EVP_PKEY_is_a(pkey.get(), "RSA"))
            throw SetupError(Error::key_invalid, "the key is not a plain RSA key");
        Rs256PrivateKey key(std::move(pkey));
        // The public half must be one the validator accepts (size, exponent).
        (void)key.public_key();
        return key;
    }

    /// The RS256 signature of `input`.
    [[nodiscard]] std::string sign(std::string_view input) const {
        const std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(),
                                                                          &EVP_MD_CTX_free);
        const auto* message = reinterpret_cast<const unsigned char*>(input.data());
        std::size_t size = 0;
        std::string signature;
        if (ctx &&
            EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, m_key.get()) == 1 &&
            EVP_DigestSign(ctx.get(), nullptr, &size, message, input.size()) == 1) {
            signature.resize(size);
            if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &size,
                               message, input.size()) == 1) {
                signature.resize(size);
                return signature;
            }
        }
        throw SetupError(Error::key_invalid, "OpenSSL could not sign with the RSA key");
    }

    /// The matching public key (what a validator should trust).
    [[nodiscard]] Rs256Key public_key() const {
        BIGNUM* n = nullptr;
        BIGNUM* e = nullptr;
        const bool got_n = EVP_PKEY_get_bn_param(m_key.get(), OSSL_PKEY_PARAM_RSA_N, &n) == 1;
        const detail::BnPtr modulus(n);
        const bool got_e = EVP_PKEY_get_bn_param(m_key.get(), OSSL_PKEY_PARAM_RSA_E, &e) == 1;
        const detail::BnPtr exponent(e);
        if (!got_n || !got_e) throw SetupError(Error::key_invalid, "the RSA key has no n or e");
        std::string n_bytes(static_cast<std::size_t>(BN_num_bytes(n)), '\0');
        std::string e_bytes(static_cast<std::size_t>(BN_num_bytes(e)), '\0');
        BN_bn2bin(n, reinterpret_cast<unsigned char*>(n_bytes.data()));
        BN_bn2bin(e, reinterpret_cast<unsigned char*>(e_bytes.data()));
        return Rs256Key::from_components(
            {reinterpret_cast<const unsigned char*>(n_bytes.data()), n_bytes.size()},
            {reinterpret_cast<const unsigned char*>(e_bytes.data()), e_bytes.size()});
    }

  private:
    explicit Rs256PrivateKey(std::shared_ptr<EVP_PKEY> key) : m_key(std::move(key)) {}
    std::shared_ptr<EVP_PKEY> m_key;
};

}  // namespace jwtguard
