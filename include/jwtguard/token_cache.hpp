// A cache of verified tokens, so that a token presented again (a client
// sends the same access token on every request of its lifetime) skips the
// signature check, the part of an RS256 validation that costs ~20 us.
//
// A hit skips only what cannot have changed: the signature over the same
// bytes under the same key, and the parsing of the same bytes. Everything
// time- or state-dependent is checked again by the Validator on every hit:
// the key (the token's kid must still name a key with the material it was
// verified with, detail::material_id: a removed or replaced key turns the
// hit into a full validation, which then reports what changed, while a
// reload of the same keys keeps the entries), exp/nbf/iat at the current
// `now`, and the denylist.
//
// Layout: `entries` slots of `entry_bytes`, two-way set associative, fixed
// at construction (nothing is allocated afterwards). A slot holds the token
// bytes, the Claims' scratch image (decoded header, payload as signed, room
// for its unescaped copy) and the Claims' fields as offsets into that image, so a hit
// rebuilds exactly the Claims the verification produced. A hash of the token
// only picks the set and rejects most misses early; a hit needs every byte
// of the token to match, so colliding hashes cannot make a forged token hit.
//
// Concurrency: a sequence lock per slot. Readers never write shared memory
// and never wait: a slot being written (odd sequence) or rewritten during
// the read (sequence changed) is a miss. Writers (after a successful
// verification) claim a slot by compare-and-swap and skip the insert if
// another writer holds it. Every shared word is a std::atomic, read and
// written relaxed between the sequence's acquire and release (Boehm, "Can
// seqlocks get along with programming language memory models?", 2012).
#pragma once

#include <xxhash.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "jwtguard/claims.hpp"
#include "jwtguard/error.hpp"

namespace jwtguard {

struct TokenCacheOptions {
    /// Number of cached tokens, in [0, 2^30]; 0 turns the cache off.
    /// entries * entry_bytes must stay within 2^40 bytes.
    std::size_t entries = 0;
    /// Bytes per entry, a multiple of 8 in [216, 2^20]: a token is cached
    /// only if it, its decoded header and
    /// payload and the room for an unescaped copy of it fit (about 2.6 times the
    /// token's size; 2048 holds tokens up to ~760 bytes). Memory is
    /// entries * entry_bytes, allocated once.
    std::size_t entry_bytes = 2048;
    /// Tests only: replaces the token hash (e.g. with a constant, to make
    /// every token collide).
    std::uint64_t (*hash_for_testing)(std::string_view token) = nullptr;
};

namespace detail {

/// The verified-token cache a Validator owns (see the top of this header).
class TokenCache {
  public:
    using Options = TokenCacheOptions;

    /// Throws SetupError(option_invalid) for sizes out of range (see
    /// TokenCacheOptions), before any arithmetic on them.
    explicit TokenCache(const Options& options)
        : m_hash(options.hash_for_testing),
          m_slot_words(checked(options).entry_bytes / 8),
          m_sets((options.entries + 1) / 2),
          m_words(new std::atomic<std::uint64_t>[m_sets * ways * m_slot_words]()) {}

    /// The ranges of the options: entry_bytes a multiple of 8 in
    /// [min_entry_bytes, max_entry_bytes], entries in [1, max_entries], and
    /// the whole cache at most max_bytes. Every product below then fits.
    static constexpr std::size_t max_entries = std::size_t{1} << 30;
    static constexpr std::size_t max_bytes = std::size_t{1} << 40;

    /// `options`, or SetupError(option_invalid) naming the range it misses.
    static const Options& checked(const Options& options) {
        if (options.entry_bytes < min_entry_bytes || options.entry_bytes > max_entry_bytes ||
            options.entry_bytes % 8 != 0)
            throw SetupError(Error::option_invalid,
                             "token cache entry_bytes must be a multiple of 8 in [" +
                                 std::to_string(min_entry_bytes) + ", " +
                                 std::to_string(max_entry_bytes) + "]");
        if (options.entries < 1 || options.entries > max_entries)
            throw SetupError(Error::option_invalid, "token cache entries must lie in [1, " +
                                                        std::to_string(max_entries) +
                                                        "] (0 turns the cache off)");
        // Two ways per set: an odd count is rounded up to the next set.
        if ((options.entries + 1) / 2 * 2 > max_bytes / options.entry_bytes)
            throw SetupError(Error::option_invalid,
                             "token cache entries * entry_bytes must be at most " +
                                 std::to_string(max_bytes) + " bytes");
        return options;
    }

    /// The hash that picks a token's set: of the token's last 32 bytes, which
    /// lie in its signature. Only tokens whose signature held are inserted,
    /// and nobody without the key can make two of those share 32 signature
    /// characters; a forged token that copies a cached one's tail lands in
    /// its set and misses on the full comparison. Hashing 32 bytes instead of
    /// the whole token saves ~25 ns a lookup.
    [[nodiscard]] std::uint64_t hash(std::string_view token) const noexcept {
        if (m_hash != nullptr) return m_hash(token);
        const std::size_t tail = std::min<std::size_t>(token.size(), 32);
        return XXH3_64bits(token.data() + token.size() - tail, tail);
    }

    /// True when a token of this size may be cached at all.
    [[nodiscard]] bool may_hold(std::size_t token_size) const noexcept {
        return token_size <= (m_slot_words - fixed_words) * 8;
    }

    /// On a hit, rebuilds in `claims` what the verification that inserted
    /// `token` produced and returns the id of the key it was verified with;
    /// nullopt on a miss (then `claims` may hold anything).
    [[nodiscard]] std::optional<std::uint64_t> find(std::string_view token, std::uint64_t hash,
                                                    Claims& claims) const noexcept {
        const std::size_t set = static_cast<std::size_t>(hash % m_sets);
        for (std::size_t way = 0; way < ways; ++way)
            if (const auto key_id = read(slot(set, way), token, hash, claims)) return key_id;
        return std::nullopt;
    }

    /// True when `token` is cached now (for tests and statistics).
    [[nodiscard]] bool contains(std::string_view token, std::uint64_t hash) const noexcept {
        const std::size_t set = static_cast<std::size_t>(hash % m_sets);
        for (std::size_t way = 0; way < ways; ++way) {
            const std::atomic<std::uint64_t>* s = slot(set, way);
            const std::uint64_t sequence = s[sequence_word].load(std::memory_order_acquire);
            if ((sequence & 1) != 0 || sequence == 0 ||
                s[hash_word].load(std::memory_order_relaxed) != hash ||
                (s[sizes_word].load(std::memory_order_relaxed) >> 32) != token.size())
                continue;
            const std::size_t aud_words = std::min<std::size_t>(
                s[flags_word].load(std::memory_order_relaxed) >> 32, std::size_t{max_audiences});
            if (fixed_words + aud_words + words_for(token.size()) > m_slot_words) continue;
            const bool same = equal(s + fixed_words + aud_words, token);
            std::atomic_thread_fence(std::memory_order_acquire);
            if (same && s[sequence_word].load(std::memory_order_relaxed) == sequence) return true;
        }
        return false;
    }

    /// Caches a token that has just been verified with key `key_id`, as
    /// `claims` describes it; `image_size` bytes of its scratch hold every
    /// view. Never waits: a token that does not fit, or whose set is being
    /// written by another thread, is not cached.
    void insert(std::string_view token, std::uint64_t hash, const Claims& claims,
                std::size_t image_size, std::uint64_t key_id) noexcept {
        const std::size_t aud_words = claims.m_aud_count;
        const std::size_t words =
            fixed_words + aud_words + words_for(token.size()) + words_for(image_size);
        if (words > m_slot_words) return;
        const char* base = claims.m_scratch;
        // Every view must lie in the image (the parser's do; anything else
        // is not cached rather than rebuilt wrong).
        const auto inside = [&](std::optional<std::string_view> v) {
            return !v || (v->data() >= base && v->data() + v->size() <= base + image_size);
        };
        const Header& h = claims.header;
        bool all_inside = inside(h.alg) && h.alg && inside(h.kid) && inside(h.typ) &&
                          inside(h.cty) && inside(claims.iss) && inside(claims.sub) &&
                          inside(claims.jti) && inside(claims.m_payload_json);
        for (std::size_t i = 0; i < aud_words; ++i)
            all_inside = all_inside && inside(claims.m_aud[i]);
        if (!all_inside) return;
        const std::size_t set = static_cast<std::size_t>(hash % m_sets);
        // The older of the two ways goes (first in, first out per set).
        std::size_t victim = 0;
        for (std::size_t way = 0; way < ways; ++way) {
            const std::atomic<std::uint64_t>* s = slot(set, way);
            if (s[hash_word].load(std::memory_order_relaxed) == hash &&
                s[sizes_word].load(std::memory_order_relaxed) == sizes_of(token.size(), image_size))
                return;  // most likely this token, inserted by another thread
            if (s[stamp_word].load(std::memory_order_relaxed) <
                slot(set, victim)[stamp_word].load(std::memory_order_relaxed))
                victim = way;
        }
        std::atomic<std::uint64_t>* s = slot(set, victim);
        std::uint64_t sequence = s[sequence_word].load(std::memory_order_relaxed);
        if ((sequence & 1) != 0 || !s[sequence_word].compare_exchange_strong(
                                       sequence, sequence + 1, std::memory_order_relaxed))
            return;  // another writer has it
        std::atomic_thread_fence(std::memory_order_release);

        const auto view_word = [&](std::optional<std::string_view> v) -> std::uint64_t {
            if (!v) return absent;
            return (static_cast<std::uint64_t>(v->data() - base) << 32) | v->size();
        };
        s[hash_word].store(hash, std::memory_order_relaxed);
        s[sizes_word].store(sizes_of(token.size(), image_size), std::memory_order_relaxed);
        s[key_word].store(key_id, std::memory_order_relaxed);
        s[stamp_word].store(m_stamp.fetch_add(1, std::memory_order_relaxed) + 1,
                            std::memory_order_relaxed);
        s[alg_word].store(view_word(h.alg), std::memory_order_relaxed);
        s[kid_word].store(view_word(h.kid), std::memory_order_relaxed);
        s[typ_word].store(view_word(h.typ), std::memory_order_relaxed);
        s[cty_word].store(view_word(h.cty), std::memory_order_relaxed);
        s[iss_word].store(view_word(claims.iss), std::memory_order_relaxed);
        s[sub_word].store(view_word(claims.sub), std::memory_order_relaxed);
        s[jti_word].store(view_word(claims.jti), std::memory_order_relaxed);
        s[payload_word].store(view_word(claims.m_payload_json), std::memory_order_relaxed);
        s[exp_word].store(static_cast<std::uint64_t>(claims.exp.value_or(0)),
                          std::memory_order_relaxed);
        s[nbf_word].store(static_cast<std::uint64_t>(claims.nbf.value_or(0)),
                          std::memory_order_relaxed);
        s[iat_word].store(static_cast<std::uint64_t>(claims.iat.value_or(0)),
                          std::memory_order_relaxed);
        s[exp_fraction_word].store(claims.m_exp_fraction.digits, std::memory_order_relaxed);
        s[iat_fraction_word].store(claims.m_iat_fraction.digits, std::memory_order_relaxed);
        const std::uint64_t flags = (claims.exp ? has_exp : 0) | (claims.nbf ? has_nbf : 0) |
                                    (claims.iat ? has_iat : 0) | (claims.m_has_aud ? has_aud : 0) |
                                    (claims.m_exp_fraction.more ? exp_fraction_more : 0) |
                                    (claims.m_iat_fraction.more ? iat_fraction_more : 0) |
                                    (static_cast<std::uint64_t>(aud_words) << 32);
        s[flags_word].store(flags, std::memory_order_relaxed);
        std::atomic<std::uint64_t>* data = s + fixed_words;
        for (std::size_t i = 0; i < aud_words; ++i)
            data[i].store(view_word(claims.m_aud[i]), std::memory_order_relaxed);
        data += aud_words;
        store_bytes(data, token.data(), token.size());
        data += words_for(token.size());
        store_bytes(data, base, image_size);

        s[sequence_word].store(sequence + 2, std::memory_order_release);
    }

  private:
    static constexpr std::size_t ways = 2;
    static constexpr std::uint64_t absent = ~std::uint64_t{0};
    static constexpr std::uint64_t has_exp = 1, has_nbf = 2, has_iat = 4, has_aud = 8,
                                   exp_fraction_more = 16, iat_fraction_more = 32;
    enum : std::size_t {
        sequence_word,
        hash_word,
        sizes_word,
        key_word,
        stamp_word,
        alg_word,
        kid_word,
        typ_word,
        cty_word,
        iss_word,
        sub_word,
        jti_word,
        payload_word,
        exp_word,
        nbf_word,
        iat_word,
        exp_fraction_word,
        iat_fraction_word,
        flags_word,
        fixed_words
    };
    static constexpr std::size_t min_entry_bytes = fixed_words * 8 + 64;
    static_assert(min_entry_bytes == 216, "update TokenCacheOptions::entry_bytes' range");
    static constexpr std::size_t max_entry_bytes = std::size_t{1} << 20;

    [[nodiscard]] static constexpr std::size_t words_for(std::size_t bytes) noexcept {
        return (bytes + 7) / 8;
    }
    [[nodiscard]] static constexpr std::uint64_t sizes_of(std::size_t token,
                                                          std::size_t image) noexcept {
        return (static_cast<std::uint64_t>(token) << 32) | image;
    }

    [[nodiscard]] std::atomic<std::uint64_t>* slot(std::size_t set,
                                                   std::size_t way) const noexcept {
        return m_words.get() + (set * ways + way) * m_slot_words;
    }

    static void store_bytes(std::atomic<std::uint64_t>* to, const char* from,
                            std::size_t size) noexcept {
        const std::size_t full = size / 8;
        for (std::size_t i = 0; i < full; ++i) {
            std::uint64_t w;
            std::memcpy(&w, from + i * 8, 8);
            to[i].store(w, std::memory_order_relaxed);
        }
        if (const std::size_t rest = size % 8; rest != 0) {
            std::uint64_t w = 0;
            std::memcpy(&w, from + full * 8, rest);
            to[full].store(w, std::memory_order_relaxed);
        }
    }

    /// True when the words at `from` hold exactly the bytes of `token`.
    [[nodiscard]] static bool equal(const std::atomic<std::uint64_t>* from,
                                    std::string_view token) noexcept {
        const std::size_t full = token.size() / 8;
        std::uint64_t difference = 0;
        for (std::size_t i = 0; i < full; ++i) {
            std::uint64_t w;
            std::memcpy(&w, token.data() + i * 8, 8);
            difference |= from[i].load(std::memory_order_relaxed) ^ w;
        }
        if (const std::size_t rest = token.size() % 8; rest != 0) {
            std::uint64_t w = 0;
            std::memcpy(&w, token.data() + full * 8, rest);
            difference |= from[full].load(std::memory_order_relaxed) ^ w;
        }
        return difference == 0;
    }

    /// One slot's verdict for `token` (see find()).
    std::optional<std::uint64_t> read(const std::atomic<std::uint64_t>* s, std::string_view token,
                                      std::uint64_t hash, Claims& claims) const noexcept {
        const std::uint64_t sequence = s[sequence_word].load(std::memory_order_acquire);
        if ((sequence & 1) != 0 || s[hash_word].load(std::memory_order_relaxed) != hash)
            return std::nullopt;
        const std::uint64_t sizes = s[sizes_word].load(std::memory_order_relaxed);
        const std::size_t token_size = sizes >> 32;
        const std::size_t image_size = sizes & 0xFFFFFFFF;
        if (token_size != token.size() || sequence == 0) return std::nullopt;
        std::uint64_t fields[fixed_words];
        for (std::size_t i = key_word; i < fixed_words; ++i)
            fields[i] = s[i].load(std::memory_order_relaxed);
        // Bounds from words that may be torn: clamp before use; the sequence
        // check below throws away whatever they produced.
        const std::size_t aud_words =
            std::min<std::size_t>(fields[flags_word] >> 32, std::size_t{max_audiences});
        const std::size_t token_words = words_for(token_size);
        const std::size_t image_words =
            std::min(words_for(image_size),
                     m_slot_words - std::min(m_slot_words, fixed_words + aud_words + token_words));
        if (fixed_words + aud_words + token_words > m_slot_words ||
            image_words * 8 > sizeof claims.m_scratch)
            return std::nullopt;
        const std::atomic<std::uint64_t>* data = s + fixed_words;
        std::uint64_t aud[max_audiences];
        for (std::size_t i = 0; i < aud_words; ++i)
            aud[i] = data[i].load(std::memory_order_relaxed);
        data += aud_words;
        // Every byte of the token must match.
        if (!equal(data, token)) return std::nullopt;
        data += token_words;
        char* const base = claims.m_scratch;
        for (std::size_t i = 0; i < image_words; ++i) {
            const std::uint64_t w = data[i].load(std::memory_order_relaxed);
            std::memcpy(base + i * 8, &w, 8);
        }
        std::atomic_thread_fence(std::memory_order_acquire);
        if (s[sequence_word].load(std::memory_order_relaxed) != sequence) return std::nullopt;

        // A consistent entry: rebuild the Claims around the image.
        const auto view = [&](std::uint64_t w) -> std::optional<std::string_view> {
            if (w == absent) return std::nullopt;
            return std::string_view(base + (w >> 32), w & 0xFFFFFFFF);
        };
        Header& h = claims.header;
        h.alg = view(fields[alg_word]);
        h.kid = view(fields[kid_word]);
        h.typ = view(fields[typ_word]);
        h.cty = view(fields[cty_word]);
        claims.iss = view(fields[iss_word]);
        claims.sub = view(fields[sub_word]);
        claims.jti = view(fields[jti_word]);
        claims.m_payload_json = *view(fields[payload_word]);
        const std::uint64_t flags = fields[flags_word];
        const auto date = [&](std::uint64_t bit, std::size_t word) -> std::optional<std::int64_t> {
            if ((flags & bit) == 0) return std::nullopt;
            return static_cast<std::int64_t>(fields[word]);
        };
        claims.exp = date(has_exp, exp_word);
        claims.nbf = date(has_nbf, nbf_word);
        claims.iat = date(has_iat, iat_word);
        claims.m_has_aud = (flags & has_aud) != 0;
        claims.m_exp_fraction = {fields[exp_fraction_word], (flags & exp_fraction_more) != 0};
        claims.m_iat_fraction = {fields[iat_fraction_word], (flags & iat_fraction_more) != 0};
        claims.m_aud_count = aud_words;
        for (std::size_t i = 0; i < aud_words; ++i)
            claims.m_aud[i] = *view(aud[i]);
        return fields[key_word];
    }

    std::uint64_t (*m_hash)(std::string_view);
    std::size_t m_slot_words;
    std::size_t m_sets;
    std::unique_ptr<std::atomic<std::uint64_t>[]> m_words;
    std::atomic<std::uint64_t> m_stamp{0};
};

}  // namespace detail
}  // namespace jwtguard
