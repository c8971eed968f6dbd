// ES256, ES384, ES512: ECDSA over P-256, P-384 and P-521 with SHA-256,
// SHA-384 and SHA-512 (RFC 7518 section 3.4).
//
// The signature is exactly r || s, each as many bytes as the curve's order
// (32, 48, 66): DER, or any other length, is signature_length; r and s must
// lie in [1, n-1].
//
// Why Nettle. OpenSSL's ECDSA verification allocates on every call (EVP
// contexts, and inside EC_POINT_mul the precomputation tables and scalar
// arrays), and the allocation-free request path is a contract. Nettle's
// low-level `ecc_ecdsa_verify` takes the caller's scratch memory and
// allocates nothing; each thread keeps one scratch area, sized for the
// largest curve on its first verification. Its cost against OpenSSL's
// allocating EVP_DigestVerify is measured in bench/bench_algorithms.cpp and
// written down in the README. Nettle alone refuses the valid signatures
// whose verification adds a point to itself; `verify_point_duplication`
// decides those after its refusal.
//
// Malleability: (r, s) and (r, n - s) are both valid for the same message.
// A token revoked by its signature (it has no jti) must stay revoked in its
// twin's form, so the denylist names an ECDSA signature by its canonical
// form, s replaced by min(s, n - s) (`canonical_ecdsa_signature`).
//
// Keys: a public point given by its affine coordinates, each exactly the
// size of the curve's field (JWK, RFC 7518 section 6.2.1), checked to lie on
// the curve (Nettle's ecc_point_set), or an SPKI PEM of the same curve.
#pragma once

#include <gmp.h>
#include <nettle/ecc-curve.h>
#include <nettle/ecc.h>
#include <nettle/ecdsa.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "jwtguard/error.hpp"
#include "jwtguard/pem.hpp"
#include "jwtguard/sha.hpp"

namespace jwtguard {

namespace detail {
/// The curves, with their hash, JWK name, OpenSSL group name and order n.
struct P256 {
    using Hash = Sha256;
    static constexpr std::size_t size = 32, bits = 256;
    static constexpr std::string_view crv = "P-256", group = "prime256v1";
    static const ecc_curve* curve() noexcept { return nettle_get_secp_256r1(); }
    static constexpr unsigned char order[size] = {0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00,
                                                  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                                  0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84,
                                                  0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51};
};
struct P384 {
    using Hash = Sha384;
    static constexpr std::size_t size = 48, bits = 384;
    static constexpr std::string_view crv = "P-384", group = "secp384r1";
    static const ecc_curve* curve() noexcept { return nettle_get_secp_384r1(); }
    static constexpr unsigned char order[size] = {
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xc7, 0x63, 0x4d, 0x81, 0xf4, 0x37, 0x2d, 0xdf, 0x58, 0x1a, 0x0d, 0xb2,
        0x48, 0xb0, 0xa7, 0x7a, 0xec, 0xec, 0x19, 0x6a, 0xcc, 0xc5, 0x29, 0x73};
};
struct P521 {
    using Hash = Sha512;
    static constexpr std::size_t size = 66, bits = 521;
    static constexpr std::string_view crv = "P-521", group = "secp521r1";
    static const ecc_curve* curve() noexcept { return nettle_get_secp_521r1(); }
    static constexpr unsigned char order[size] = {
        0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xfa, 0x51, 0x86, 0x87, 0x83, 0xbf, 0x2f, 0x96, 0x6b,
        0x7f, 0xcc, 0x01, 0x48, 0xf7, 0x09, 0xa5, 0xd0, 0x3b, 0xb5, 0xc9, 0xb8, 0x89, 0x9c,
        0x47, 0xae, 0xbb, 0x6f, 0xb7, 0x1e, 0x91, 0x38, 0x64, 0x09};
};

/// Limbs of a number of `bytes` bytes.
constexpr std::size_t limbs_for(std::size_t bytes) noexcept {
    return (bytes + sizeof(mp_limb_t) - 1) / sizeof(mp_limb_t);
}

/// The big-endian `bytes` as `count` little-endian limbs.
inline void bytes_to_limbs(const unsigned char* bytes, std::size_t size, mp_limb_t* limbs,
                           std::size_t count) noexcept {
    for (std::size_t i = 0; i < count; ++i)
        limbs[i] = 0;
    for (std::size_t i = 0; i < size; ++i) {
        const std::size_t bit = 8 * (size - 1 - i);
        limbs[bit / (8 * sizeof(mp_limb_t))] |= static_cast<mp_limb_t>(bytes[i])
                                                << (bit % (8 * sizeof(mp_limb_t)));
    }
}

/// Whether the big-endian `x` (Curve::size bytes) lies in [1, n-1].
template <class Curve>
[[nodiscard]] bool in_scalar_range(const unsigned char* x) noexcept {
    bool zero = true;
    for (std::size_t i = 0; i < Curve::size; ++i)
        zero &= x[i] == 0;
    return !zero && std::memcmp(x, Curve::order, Curve::size) < 0;
}

/// The big-endian `size` bytes of the `count` little-endian limbs.
inline void limbs_to_bytes(const mp_limb_t* limbs, std::size_t count, unsigned char* bytes,
                           std::size_t size) noexcept {
    for (std::size_t i = 0; i < size; ++i) {
        const std::size_t bit = 8 * (size - 1 - i);
        const std::size_t limb = bit / (8 * sizeof(mp_limb_t));
        bytes[i] = limb < count
                       ? static_cast<unsigned char>(limbs[limb] >> (bit % (8 * sizeof(mp_limb_t))))
                       : 0;
    }
}

/// One thread's scratch memory for Nettle's ECDSA and the order arithmetic
/// of `verify_point_duplication`, grown to the largest curve on the
/// thread's first verification and reused.
[[nodiscard]] inline mp_limb_t* ecdsa_scratch() {
    thread_local std::vector<mp_limb_t> scratch = [] {
        mp_size_t most = 0;
        for (const ecc_curve* c :
             {nettle_get_secp_256r1(), nettle_get_secp_384r1(), nettle_get_secp_521r1()}) {
            const mp_size_t n = ecc_size(c);
            most = std::max({most, ecc_ecdsa_verify_itch(c), ecc_ecdsa_sign_itch(c),
                             mpn_sec_mul_itch(n, n), mpn_sec_div_r_itch(2 * n, n)});
        }
        return std::vector<mp_limb_t>(static_cast<std::size_t>(most));
    }();
    return scratch.data();
}

/// Numbers modulo a curve's order n, for the one rare path of ECDSA
/// verification that needs them (`verify_point_duplication`). GMP's mpn
/// functions used here work in the caller's scratch (mpn_sec_mul,
/// mpn_sec_div_r) or in none, and allocate nothing.
template <class Curve>
struct OrderArithmetic {
    static constexpr std::size_t limbs = limbs_for(Curve::size);
    using Number = std::array<mp_limb_t, limbs>;

    mp_limb_t* scratch;
    Number n{};

    explicit OrderArithmetic(mp_limb_t* scratch_) noexcept : scratch(scratch_) {
        bytes_to_limbs(Curve::order, Curve::size, n.data(), limbs);
    }

    /// The big-endian `bytes` (at most Curve::size of them) modulo n.
    [[nodiscard]] Number from_bytes(const unsigned char* bytes, std::size_t size) const noexcept {
        Number a;
        bytes_to_limbs(bytes, size, a.data(), limbs);
        mpn_sec_div_r(a.data(), limbs, n.data(), limbs, scratch);
        return a;
    }
    [[nodiscard]] Number from_limbs(const mp_limb_t* a) const noexcept {
        Number copy;
        std::copy(a, a + limbs, copy.begin());
        return copy;
    }
    [[nodiscard]] Number multiply(const Number& a, const Number& b) const noexcept {
        mp_limb_t product[2 * limbs];
        mpn_sec_mul(product, a.data(), limbs, b.data(), limbs, scratch);
        mpn_sec_div_r(product, 2 * limbs, n.data(), limbs, scratch);
        return from_limbs(product);
    }
    /// 1/a for a in [1, n-1] (n is prime, so it has one): the binary
    /// extended Euclid, in variable time, which is fine for public numbers
    /// (a signature, a key) and four times faster here than GMP's
    /// constant-time mpn_sec_invert. Zero, which has no inverse, gives zero.
    [[nodiscard]] Number inverse(const Number& a) const noexcept {
        if (is_zero(a)) return a;
        Number u = a, v = n, x1 = small(1), x2{};
        // Invariants: x1 * a == u and x2 * a == v (mod n).
        const auto halve = [this](Number& value, Number& coefficient) {
            while ((value[0] & 1) == 0) {
                (void)mpn_rshift(value.data(), value.data(), limbs, 1);
                mp_limb_t carry = 0;
                if ((coefficient[0] & 1) != 0)
                    carry = mpn_add_n(coefficient.data(), coefficient.data(), n.data(), limbs);
                (void)mpn_rshift(coefficient.data(), coefficient.data(), limbs, 1);
                coefficient[limbs - 1] |= carry << (GMP_NUMB_BITS - 1);
            }
        };
        const auto subtract = [this](Number& x, const Number& y) {  // x - y mod n
            if (mpn_sub_n(x.data(), x.data(), y.data(), limbs) != 0)
                (void)mpn_add_n(x.data(), x.data(), n.data(), limbs);
        };
        const Number one = small(1);
        while (u != one && v != one) {
            halve(u, x1);
            halve(v, x2);
            if (mpn_cmp(u.data(), v.data(), limbs) >= 0) {
                (void)mpn_sub_n(u.data(), u.data(), v.data(), limbs);
                subtract(x1, x2);
            } else {
                (void)mpn_sub_n(v.data(), v.data(), u.data(), limbs);
                subtract(x2, x1);
            }
        }
        return u == one ? x1 : x2;
    }
    /// n - a, for a in [1, n-1].
    [[nodiscard]] Number negate(const Number& a) const noexcept {
        Number difference;
        mpn_sub_n(difference.data(), n.data(), a.data(), limbs);
        return difference;
    }
    [[nodiscard]] static Number small(mp_limb_t value) noexcept {
        Number a{};
        a[0] = value;
        return a;
    }
    [[nodiscard]] static bool is_zero(const Number& a) noexcept {
        return std::all_of(a.begin(), a.end(), [](mp_limb_t limb) { return limb == 0; });
    }

    /// The x coordinate of k*G modulo n, for k in [1, n-1]. Nettle has no
    /// allocation-free public multiplication by G other than inside
    /// ecc_ecdsa_sign, whose r is exactly x(k*G) mod n for the nonce k
    /// (its s, over a zero private key, is discarded).
    [[nodiscard]] Number x_of_multiple_of_generator(const Number& k) const noexcept {
        const Number zero{};
        Number x, unused;
        const unsigned char no_digest[1] = {0};
        ecc_ecdsa_sign(Curve::curve(), zero.data(), k.data(), 0, no_digest, x.data(), unused.data(),
                       scratch);
        return x;
    }

    /// `a` as a digest that Nettle's ECDSA reads back as the number a: the
    /// curve's size in bytes, a in its leftmost `bits` bits (Nettle drops
    /// the bits of a digest beyond the order's bit size at the low end).
    void to_digest(const Number& a, unsigned char (&digest)[Curve::size]) const noexcept {
        mp_limb_t shifted[limbs];
        constexpr unsigned spare = 8 * Curve::size - Curve::bits;
        if constexpr (spare == 0)
            std::copy(a.begin(), a.end(), shifted);
        else
            (void)mpn_lshift(shifted, a.data(), limbs, spare);
        limbs_to_bytes(shifted, limbs, digest, Curve::size);
    }
};

/// The verdict on a signature that Nettle's ecc_ecdsa_verify refused, in
/// the one case where its refusal can be wrong. Nettle computes
/// R = u1*G + u2*Q (u1 = h/s, u2 = r/s) with an addition formula that cannot
/// double a point: when u1*G == u2*Q its result is garbage and a valid
/// signature is refused (Wycheproof's "PointDuplication" vectors). Only the
/// key's owner can make such a signature, since then Q == (h/r)*G, but a
/// valid signature is valid, so the case is decided exactly here:
///   1. u1*G == +-u2*Q  <=>  Q == +-c*G with c = h/r (multiply by s/r).
///      x(c*G) mod n == x(Q) mod n tests that, for the cost of one
///      multiplication by G; any other refusal (every invalid signature)
///      ends here.
///   2. The sign: Q == +c*G exactly when -c*G + 2*Q == Q (for Q == -c*G it
///      is 3*Q, whose x differs), tested by a Nettle verification whose
///      r is x(Q) mod n, u1 = -c and u2 = 2, none of which doubles.
///      Q == -c*G makes R the point at infinity: refused.
///   3. Q == c*G: R == 2*u1*G, and the signature holds when
///      x(2*u1*G) mod n == r.
template <class Curve>
[[nodiscard]] bool verify_point_duplication(const ecc_point& q, std::span<const unsigned char> qx,
                                            const unsigned char* digest, std::size_t digest_size,
                                            const mp_limb_t* r_limbs, const mp_limb_t* s_limbs,
                                            mp_limb_t* scratch) noexcept {
    using Arithmetic = OrderArithmetic<Curve>;
    const Arithmetic mod(scratch);
    // Nettle's h: a digest no longer than the order is read whole (each
    // curve's hash is at most as long).
    static_assert(Curve::Hash::digest_size <= Curve::size);
    const typename Arithmetic::Number h = mod.from_bytes(digest, digest_size);
    // u1 == 0: Nettle adds nothing, so it could not have doubled.
    if (Arithmetic::is_zero(h)) return false;
    const typename Arithmetic::Number r = mod.from_limbs(r_limbs);
    const typename Arithmetic::Number c = mod.multiply(h, mod.inverse(r));
    const typename Arithmetic::Number x_of_q = mod.from_bytes(qx.data(), qx.size());
    if (mod.x_of_multiple_of_generator(c) != x_of_q || Arithmetic::is_zero(x_of_q)) return false;
    // 2: s2 = x(Q) / 2 makes u2 = r2 / s2 = 2; h2 = -c * s2 makes u1 = -c.
    const typename Arithmetic::Number s2 = mod.multiply(x_of_q, mod.inverse(Arithmetic::small(2)));
    unsigned char h2[Curve::size];
    mod.to_digest(mod.multiply(mod.negate(c), s2), h2);
    if (ecc_ecdsa_verify(Curve::curve(), q.p, sizeof h2, h2, x_of_q.data(), s2.data(), scratch) !=
        1)
        return false;
    // 3: 2 * u1 = 2h / s.
    const typename Arithmetic::Number twice_u1 =
        mod.multiply(mod.multiply(Arithmetic::small(2), h), mod.inverse(mod.from_limbs(s_limbs)));
    return mod.x_of_multiple_of_generator(twice_u1) == r;
}

struct MpzGuard {
    mpz_t value;
    MpzGuard() { mpz_init(value); }
    ~MpzGuard() { mpz_clear(value); }
    MpzGuard(const MpzGuard&) = delete;
    MpzGuard& operator=(const MpzGuard&) = delete;
};
}  // namespace detail

/// Replaces an ECDSA signature r || s of `Curve` by its canonical form,
/// s := min(s, n - s), in place. Anything that is not a signature of the
/// curve's size with s in [1, n-1] is left as it is (no valid signature
/// looks like that).
template <class Curve>
void canonicalize_ecdsa_signature(unsigned char* signature, std::size_t size) noexcept {
    if (size != 2 * Curve::size) return;
    unsigned char* s = signature + Curve::size;
    if (!detail::in_scalar_range<Curve>(s)) return;
    unsigned char twin[Curve::size];
    unsigned borrow = 0;
    for (std::size_t i = Curve::size; i-- > 0;) {
        const unsigned difference = static_cast<unsigned>(Curve::order[i]) - s[i] - borrow;
        twin[i] = static_cast<unsigned char>(difference);
        borrow = (difference >> 8) & 1;
    }
    if (std::memcmp(twin, s, Curve::size) < 0) std::memcpy(s, twin, Curve::size);
}

namespace detail {
/// `signature` in its canonical form, written to `buffer`, when it has the
/// size of a `Curve` signature; otherwise `signature` itself.
template <class Curve>
[[nodiscard]] std::span<const unsigned char> canonical_ecdsa(
    std::span<const unsigned char> signature, unsigned char* buffer) noexcept {
    if (signature.size() != 2 * Curve::size) return signature;
    std::memcpy(buffer, signature.data(), signature.size());
    canonicalize_ecdsa_signature<Curve>(buffer, signature.size());
    return {buffer, signature.size()};
}

/// The bytes that name a token's signature in the denylist: for ES256/384/
/// 512 (the header's `alg`) its canonical form, written to `buffer` (2 * 66
/// bytes at most); for any other algorithm the signature itself, uncopied.
[[nodiscard]] inline std::span<const unsigned char> signature_name(
    std::optional<std::string_view> alg, std::span<const unsigned char> signature,
    unsigned char (&buffer)[2 * P521::size]) noexcept {
    if (alg == Sha256::es) return canonical_ecdsa<P256>(signature, buffer);
    if (alg == Sha384::es) return canonical_ecdsa<P384>(signature, buffer);
    if (alg == Sha512::es) return canonical_ecdsa<P521>(signature, buffer);
    return signature;
}
}  // namespace detail

/// An ECDSA public key of one curve: ES256 (P-256), ES384 (P-384) or ES512
/// (P-521). Copies share the loaded point.
template <class Curve>
class EcdsaKey {
  public:
    using curve_type = Curve;
    static constexpr std::string_view algorithm = Curve::Hash::es;
    static constexpr std::size_t coordinate_size = Curve::size;

    /// Loads a public key of this curve from SPKI PEM ("BEGIN PUBLIC KEY").
    /// Throws SetupError(key_invalid) for any other key or curve.
    [[nodiscard]] static EcdsaKey from_pem(std::string_view pem) {
        const detail::PkeyPtr pkey =
            detail::decode_pem(pem, "EC", true, nullptr, "an EC public key");
        return from_pkey(pkey.get());
    }

    /// From an EVP EC key holding at least the public half.
    [[nodiscard]] static EcdsaKey from_pkey(const EVP_PKEY* pkey) {
        char group[64] = {};
        if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                           nullptr) != 1)
            throw SetupError(Error::key_invalid, "the EC key has no named curve");
        if (group != Curve::group)
            throw SetupError(Error::key_invalid, "the EC key is on " + std::string(group) +
                                                     ", not " + std::string(Curve::crv) + " as " +
                                                     std::string(algorithm) + " requires");
        unsigned char x[Curve::size], y[Curve::size];
        if (BN_bn2binpad(detail::bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_X).get(), x, Curve::size) <
                0 ||
            BN_bn2binpad(detail::bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_Y).get(), y, Curve::size) <
                0)
            throw SetupError(Error::key_invalid, "the EC key's point does not fit its curve");
        return from_coordinates(x, y);
    }

    /// A public key from its affine coordinates, big-endian, each exactly
    /// `coordinate_size` bytes (a JWK's `x` and `y`). Throws
    /// SetupError(key_invalid) for another size, a coordinate not below the
    /// field prime, or a point not on the curve.
    [[nodiscard]] static EcdsaKey from_coordinates(std::span<const unsigned char> x,
                                                   std::span<const unsigned char> y) {
        if (x.size() != Curve::size || y.size() != Curve::size)
            throw SetupError(Error::key_invalid, std::string(Curve::crv) + " coordinates must be " +
                                                     std::to_string(Curve::size) +
                                                     " bytes each (got " +
                                                     std::to_string(x.size()) + " and " +
                                                     std::to_string(y.size()) + ")");
        auto impl = std::make_shared<Impl>();
        ecc_point_init(&impl->point, Curve::curve());
        impl->initialized = true;
        if (static_cast<std::size_t>(ecc_size(Curve::curve())) != limbs)
            throw SetupError(Error::key_invalid, "Nettle's curve size is not the expected one");
        detail::MpzGuard mx, my;
        mpz_import(mx.value, x.size(), 1, 1, 1, 0, x.data());
        mpz_import(my.value, y.size(), 1, 1, 1, 0, y.data());
        if (ecc_point_set(&impl->point, mx.value, my.value) != 1)
            throw SetupError(Error::key_invalid,
                             "the point is not on " + std::string(Curve::crv) +
                                 " (or a coordinate is not below the field prime)");
        std::vector<unsigned char> xy(x.begin(), x.end());
        xy.insert(xy.end(), y.begin(), y.end());
        impl->material_id = detail::material_id(algorithm, {xy});
        impl->x.assign(x.begin(), x.end());
        impl->y.assign(y.begin(), y.end());
        return EcdsaKey(std::move(impl));
    }

    /// Size in bytes of every signature (r || s).
    [[nodiscard]] static constexpr std::size_t signature_size() noexcept { return 2 * Curve::size; }
    /// Names this key's material (see detail::material_id).
    [[nodiscard]] std::uint64_t material_id() const noexcept { return m_key->material_id; }
    [[nodiscard]] std::span<const unsigned char> x() const noexcept { return m_key->x; }
    [[nodiscard]] std::span<const unsigned char> y() const noexcept { return m_key->y; }

    /// True when `signature` is this key's r || s signature of `input`.
    /// Never allocates once the calling thread has verified one signature.
    [[nodiscard]] bool verify(std::string_view input, const unsigned char* signature,
                              std::size_t size) const noexcept {
        // r and s in [1, n-1] (RFC 7518 3.4, DESIGN.md): Nettle checks it
        // again inside, but the rule is jwtguard's and stays stated here.
        if (size != signature_size() || !detail::in_scalar_range<Curve>(signature) ||
            !detail::in_scalar_range<Curve>(signature + Curve::size))
            return false;
        mp_limb_t* scratch = nullptr;
        try {
            scratch = detail::ecdsa_scratch();
        } catch (...) {
            return false;  // no memory for this thread's first verification
        }
        mp_limb_t r[limbs], s[limbs];
        detail::bytes_to_limbs(signature, Curve::size, r, limbs);
        detail::bytes_to_limbs(signature + Curve::size, Curve::size, s, limbs);
        unsigned char digest[Curve::Hash::digest_size];
        detail::digest<typename Curve::Hash>(input.data(), input.size(), digest);
        return ecc_ecdsa_verify(Curve::curve(), m_key->point.p, sizeof digest, digest, r, s,
                                scratch) == 1 ||
               detail::verify_point_duplication<Curve>(m_key->point, m_key->x, digest,
                                                       sizeof digest, r, s, scratch);
    }

  private:
    static constexpr std::size_t limbs = detail::limbs_for(Curve::size);

    struct Impl {
        ecc_point point{};
        bool initialized = false;
        std::uint64_t material_id = 0;
        std::vector<unsigned char> x, y;
        Impl() = default;
        Impl(const Impl&) = delete;
        Impl& operator=(const Impl&) = delete;
        ~Impl() {
            if (initialized) ecc_point_clear(&point);
        }
    };

    explicit EcdsaKey(std::shared_ptr<const Impl> key) : m_key(std::move(key)) {}
    std::shared_ptr<const Impl> m_key;
};

using Es256Key = EcdsaKey<detail::P256>;
using Es384Key = EcdsaKey<detail::P384>;
using Es512Key = EcdsaKey<detail::P521>;

/// An EC private key for signing one curve's tokens (issuers, tests, the
/// CLI). Setup-side: signing allocates and throws SetupError on failure.
template <class Curve>
class EcdsaPrivateKey {
  public:
    static constexpr std::string_view algorithm = EcdsaKey<Curve>::algorithm;

    /// Loads an unencrypted private key of this curve from PEM: PKCS#8
    /// ("BEGIN PRIVATE KEY") or SEC 1 ("BEGIN EC PRIVATE KEY").
    [[nodiscard]] static EcdsaPrivateKey from_pem(std::string_view pem) {
        EcdsaPrivateKey key(
            detail::decode_pem(pem, "EC", false, "EC PRIVATE KEY", "an EC private key"));
        (void)key.public_key();  // the right curve, a valid point
        return key;
    }

    /// The r || s signature of `input`.
    [[nodiscard]] std::string sign(std::string_view input) const {
        const std::string der = detail::evp_sign(m_key.get(), {Curve::Hash::evp(), false}, input);
        const auto* data = reinterpret_cast<const unsigned char*>(der.data());
        const std::unique_ptr<ECDSA_SIG, decltype(&ECDSA_SIG_free)> sig(
            d2i_ECDSA_SIG(nullptr, &data, static_cast<long>(der.size())), &ECDSA_SIG_free);
        std::string out(2 * Curve::size, '\0');
        auto* bytes = reinterpret_cast<unsigned char*>(out.data());
        if (!sig ||
            BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), bytes, Curve::size) !=
                static_cast<int>(Curve::size) ||
            BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), bytes + Curve::size, Curve::size) !=
                static_cast<int>(Curve::size))
            throw SetupError(Error::key_invalid, "OpenSSL's ECDSA signature did not decode");
        return out;
    }

    /// The matching public key (what a validator should trust).
    [[nodiscard]] EcdsaKey<Curve> public_key() const {
        return EcdsaKey<Curve>::from_pkey(m_key.get());
    }

  private:
    explicit EcdsaPrivateKey(detail::PkeyPtr key) : m_key(std::move(key)) {}
    detail::PkeyPtr m_key;
};

using Es256PrivateKey = EcdsaPrivateKey<detail::P256>;
using Es384PrivateKey = EcdsaPrivateKey<detail::P384>;
using Es512PrivateKey = EcdsaPrivateKey<detail::P521>;

}  // namespace jwtguard
