// HS256, HS384, HS512: HMAC (RFC 2104, RFC 7518 section 3.2) with the key's
// pads hashed once at load time.
//
// An HMAC is two hash runs, each starting with one block derived from the
// key (key ^ ipad, key ^ opad). Those two blocks never change, so the key
// keeps the hash state after each of them and every MAC starts from a copy:
// two compressions saved per token, no allocation, no OpenSSL object to
// create per call. OpenSSL's EVP and HMAC interfaces cannot do this without
// allocating (their context copies duplicate provider state on the heap), so
// this file uses the low-level hash functions (sha.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>

#include <openssl/crypto.h>

#include "jwtguard/error.hpp"
#include "jwtguard/sha.hpp"

namespace jwtguard {

/// An HMAC key for one hash (HS256, HS384 or HS512). Copyable; holds derived
/// state only, never the secret.
template <class Hash>
class HmacKey {
  public:
    /// RFC 7518 section 3.2: a key of the same size as the hash output or larger.
    static constexpr std::size_t min_secret_size = Hash::digest_size;
    static constexpr std::size_t mac_size = Hash::digest_size;
    static constexpr std::string_view algorithm = Hash::hs;
    /// Size in bytes of every MAC (the validator checks it before verify).
    [[nodiscard]] static constexpr std::size_t signature_size() noexcept { return mac_size; }

    /// Loads `secret` (raw bytes). Throws SetupError(key_too_short) below
    /// `min_secret_size` bytes.
    explicit HmacKey(std::string_view secret) {
        if (secret.size() < min_secret_size)
            throw SetupError(Error::key_too_short, std::string(algorithm) + " secret has " +
                                                       std::to_string(secret.size()) +
                                                       " bytes; at least " +
                                                       std::to_string(min_secret_size) +
                                                       " are required (RFC 7518 section 3.2)");
        unsigned char block[Hash::block_size] = {};
        if (secret.size() > Hash::block_size) {
            detail::digest<Hash>(secret.data(), secret.size(), block);
        } else {
            std::memcpy(block, secret.data(), secret.size());
        }
        unsigned char pad[Hash::block_size];
        for (std::size_t i = 0; i < Hash::block_size; ++i)
            pad[i] = block[i] ^ 0x36;
        Hash::init(m_inner);
        Hash::update(m_inner, pad, sizeof pad);
        for (std::size_t i = 0; i < Hash::block_size; ++i)
            pad[i] = block[i] ^ 0x5c;
        Hash::init(m_outer);
        Hash::update(m_outer, pad, sizeof pad);
        m_material_id = detail::material_id(algorithm, {block});
        OPENSSL_cleanse(block, sizeof block);
        OPENSSL_cleanse(pad, sizeof pad);
    }

    HmacKey(const HmacKey&) = default;
    HmacKey& operator=(const HmacKey&) = default;
    ~HmacKey() {
        OPENSSL_cleanse(&m_inner, sizeof m_inner);
        OPENSSL_cleanse(&m_outer, sizeof m_outer);
    }

    /// The MAC of `input` into `out`: the whole blocks through the hash's
    /// bulk update (no copy), the padding by detail::finish_blocks. Both runs
    /// start one block in (the pad's), which their lengths count.
    void mac(std::string_view input, unsigned char (&out)[mac_size]) const noexcept {
        mac(input, out, nothing_alongside);
    }

    /// The same, calling `alongside()` once, after the first half of the
    /// input's whole blocks: work that does not depend on the MAC then runs
    /// while the compressions, one long chain of dependent instructions,
    /// are still in flight, and part of it is hidden (a 35 ns payload
    /// decode costs ~22 ns there, ~8 ns net of the second update's setup:
    /// bench/README.md, "Work alongside the HMAC").
    template <class Alongside>
    void mac(std::string_view input, unsigned char (&out)[mac_size],
             Alongside&& alongside) const noexcept {
        const auto* bytes = reinterpret_cast<const unsigned char*>(input.data());
        const std::size_t blocks = input.size() / Hash::block_size;
        // Without work alongside, one bulk update (each call costs its setup).
        const std::size_t first = std::is_same_v<std::decay_t<Alongside>, NothingAlongside>
                                      ? blocks * Hash::block_size
                                      : (blocks + 1) / 2 * Hash::block_size;
        const std::size_t whole = blocks * Hash::block_size;
        unsigned char inner[mac_size];
        typename Hash::Context ctx = m_inner;
        if (first != 0) Hash::update(ctx, bytes, first);
        alongside();
        if (whole != first) Hash::update(ctx, bytes + first, whole - first);
        detail::finish_blocks<Hash>(ctx, bytes + whole, input.size() - whole,
                                    Hash::block_size + input.size(), inner);
        ctx = m_outer;
        detail::finish_blocks<Hash>(ctx, inner, sizeof inner, Hash::block_size + sizeof inner, out);
    }

    /// True when `signature` is the MAC of `input`; compared in constant time.
    [[nodiscard]] bool verify(std::string_view input, const unsigned char* signature,
                              std::size_t size) const noexcept {
        return verify(input, signature, size, nothing_alongside);
    }

    /// The same, calling `alongside()` once during the MAC (see mac()), or
    /// not at all for a signature of the wrong size.
    template <class Alongside>
    [[nodiscard]] bool verify(std::string_view input, const unsigned char* signature,
                              std::size_t size, Alongside&& alongside) const noexcept {
        if (size != mac_size) return false;
        unsigned char expected[mac_size];
        mac(input, expected, alongside);
        return detail::mac_equal<mac_size>(expected, signature);
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
    struct NothingAlongside {
        void operator()() const noexcept {}
    };
    static constexpr NothingAlongside nothing_alongside{};

    typename Hash::Context m_inner;  // state after key ^ ipad
    typename Hash::Context m_outer;  // state after key ^ opad
    std::uint64_t m_material_id = 0;
};

using Hs256Key = HmacKey<detail::Sha256>;
using Hs384Key = HmacKey<detail::Sha384>;
using Hs512Key = HmacKey<detail::Sha512>;

}  // namespace jwtguard
