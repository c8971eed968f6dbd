// EdDSA with Ed25519 (RFC 8032, RFC 8037): JWS `alg` "EdDSA", or RFC
// 9864's fully specified "Ed25519", with the same keys.
//
// Why libsodium. OpenSSL's EVP_DigestVerify allocates on every call, and
// the allocation-free request path is a contract. libsodium's
// crypto_sign_verify_detached allocates nothing and was the fastest of the
// three candidates measured (bench/bench_ed25519.cpp, README). It refuses
// what RFC 8032 section 5.1.7 refuses (S >= L), and more: a small-order R
// or public key, and a non-canonical public key encoding.
//
// Keys are checked at load (crypto_core_ed25519_is_valid_point): a public
// key that is not a canonical encoding of a point of the prime-order
// subgroup, or is of small order, is refused there rather than failing
// every token later. Ed448 is not supported: its JWKs are refused with that
// reason.
#pragma once

#include <sodium.h>

#include <openssl/evp.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "jwtguard/error.hpp"
#include "jwtguard/pem.hpp"
#include "jwtguard/sha.hpp"

namespace jwtguard {

namespace detail {
/// libsodium's one-time initialisation (thread-safe, idempotent).
inline void sodium_ready() {
    if (sodium_init() < 0) throw SetupError(Error::key_invalid, "libsodium failed to initialise");
}
}  // namespace detail

/// An Ed25519 public key (EdDSA).
class Ed25519Key {
  public:
    static constexpr std::string_view algorithm = "EdDSA";
    /// RFC 9864's name for the same algorithm with these keys.
    static constexpr std::string_view fully_specified_algorithm = "Ed25519";
    static constexpr std::size_t key_size = 32;

    /// Loads a public key from SPKI PEM ("BEGIN PUBLIC KEY").
    [[nodiscard]] static Ed25519Key from_pem(std::string_view pem) {
        const detail::PkeyPtr pkey =
            detail::decode_pem(pem, "ED25519", true, nullptr, "an Ed25519 public key");
        return from_pkey(pkey.get());
    }

    /// From an EVP Ed25519 key holding at least the public half.
    [[nodiscard]] static Ed25519Key from_pkey(const EVP_PKEY* pkey) {
        unsigned char bytes[key_size];
        std::size_t size = sizeof bytes;
        if (EVP_PKEY_get_raw_public_key(pkey, bytes, &size) != 1 || size != key_size)
            throw SetupError(Error::key_invalid, "the Ed25519 key has no 32-byte public key");
        return Ed25519Key(std::span<const unsigned char>(bytes, size));
    }

    /// A public key from its 32 bytes (a JWK's `x`). Throws
    /// SetupError(key_invalid) for another size or a point refused above.
    explicit Ed25519Key(std::span<const unsigned char> public_key) {
        detail::sodium_ready();
        if (public_key.size() != key_size)
            throw SetupError(Error::key_invalid, "an Ed25519 public key is 32 bytes, not " +
                                                     std::to_string(public_key.size()));
        if (crypto_core_ed25519_is_valid_point(public_key.data()) != 1)
            throw SetupError(Error::key_invalid,
                             "the Ed25519 public key is not a canonical point of the prime-order "
                             "subgroup (or is of small order)");
        std::copy(public_key.begin(), public_key.end(), m_key.begin());
        m_material_id = detail::material_id(algorithm, {m_key});
    }

    /// Whether a token's `alg` names this key's algorithm.
    [[nodiscard]] static constexpr bool accepts(std::string_view alg) noexcept {
        return alg == algorithm || alg == fully_specified_algorithm;
    }

    [[nodiscard]] static constexpr std::size_t signature_size() noexcept { return 64; }
    /// Names this key's material (see detail::material_id).
    [[nodiscard]] std::uint64_t material_id() const noexcept { return m_material_id; }
    [[nodiscard]] std::span<const unsigned char> bytes() const noexcept { return m_key; }

    /// True when `signature` is this key's Ed25519 signature of `input`.
    /// Allocates nothing.
    [[nodiscard]] bool verify(std::string_view input, const unsigned char* signature,
                              std::size_t size) const noexcept {
        return size == signature_size() &&
               crypto_sign_verify_detached(signature,
                                           reinterpret_cast<const unsigned char*>(input.data()),
                                           input.size(), m_key.data()) == 0;
    }

  private:
    std::array<unsigned char, key_size> m_key{};
    std::uint64_t m_material_id = 0;
};

/// An Ed25519 private key for signing EdDSA tokens (issuers, tests, the
/// CLI). Setup-side: signing allocates and throws SetupError on failure.
class Ed25519PrivateKey {
  public:
    static constexpr std::string_view algorithm = Ed25519Key::algorithm;

    /// Loads an unencrypted private key from PKCS#8 PEM ("BEGIN PRIVATE KEY").
    [[nodiscard]] static Ed25519PrivateKey from_pem(std::string_view pem) {
        Ed25519PrivateKey key(
            detail::decode_pem(pem, "ED25519", false, nullptr, "an Ed25519 private key"));
        (void)key.public_key();
        return key;
    }

    /// The Ed25519 signature of `input`.
    [[nodiscard]] std::string sign(std::string_view input) const {
        return detail::evp_sign(m_key.get(), {}, input);
    }

    /// The matching public key (what a validator should trust).
    [[nodiscard]] Ed25519Key public_key() const { return Ed25519Key::from_pkey(m_key.get()); }

  private:
    explicit Ed25519PrivateKey(detail::PkeyPtr key) : m_key(std::move(key)) {}
    detail::PkeyPtr m_key;
};

}  // namespace jwtguard
