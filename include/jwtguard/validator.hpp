// The validation pipeline (DESIGN.md, "Data flow of one validation"):
//
//   size -> three segments -> header (strict base64url, strict JSON)
//   -> alg: present, not "none" -> key by kid; its algorithm must be alg
//   -> signature over the token's own prefix -> only now the payload
//   -> registered claims -> claim policy -> denylist (if any) -> ok
//
// With a verified-token cache (token_cache.hpp), a token seen before whose
// kid still names the key that verified it skips the signature and the
// parsing; the claim policy and the denylist are checked on every hit. A
// header segment this thread last saw on a verified token is not decoded
// and parsed again (header_memo.hpp): the same bytes give the same Header.
//
// `validate` is const, thread-safe, noexcept and allocation-free: every byte
// it writes goes to the caller's `Claims` or the stack.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <semaphore>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "jwtguard/base64url.hpp"
#include "jwtguard/claims.hpp"
#include "jwtguard/config.hpp"
#include "jwtguard/denylist.hpp"
#include "jwtguard/epoch.hpp"
#include "jwtguard/error.hpp"
#include "jwtguard/header_memo.hpp"
#include "jwtguard/json.hpp"
#include "jwtguard/keyset.hpp"
#include "jwtguard/segments.hpp"
#include "jwtguard/time.hpp"
#include "jwtguard/token_cache.hpp"

namespace jwtguard {

namespace detail {
/// What validate() raises when a token names a kid no key carries, for a
/// JwksRefresher (jwks_refresh.hpp) to fetch the key set again. Raising
/// takes no lock, allocates nothing and writes only when nothing is raised
/// yet, so a flood of unknown kids costs one load each.
class UnknownKidSignal {
  public:
    void raise() noexcept {
        if (m_armed.load(std::memory_order_relaxed)) signal();
    }
    /// Waits until raised (true, and lowered again) or `deadline` (false).
    template <class TimePoint>
    bool wait_until(const TimePoint& deadline) {
        if (!m_semaphore.try_acquire_until(deadline)) return false;
        m_raised.store(false, std::memory_order_release);
        return true;
    }
    /// Lowers a raise that is pending (a refresh just covered it).
    void clear() noexcept {
        if (m_semaphore.try_acquire()) m_raised.store(false, std::memory_order_release);
    }
    /// Wakes a waiter as if raised (to stop it).
    void wake() noexcept { signal(); }
    /// Whether someone listens; throws SetupError if one already does.
    void arm(bool on) {
        if (on && m_armed.exchange(true))
            throw SetupError(Error::option_invalid, "this validator already has a key refresher");
        if (!on) m_armed.store(false);
    }

  private:
    /// Releases the waiter once per raise: only the first of many writes.
    void signal() noexcept {
        if (!m_raised.load(std::memory_order_relaxed) &&
            !m_raised.exchange(true, std::memory_order_acq_rel))
            m_semaphore.release();
    }
    std::atomic<bool> m_armed{false};
    std::atomic<bool> m_raised{false};
    std::counting_semaphore<> m_semaphore{0};
};
}  // namespace detail

/// Everything a Validator is told besides its keys.
struct ValidatorOptions : ClaimPolicy {
    /// Longest token accepted, in bytes (inclusive), checked before any
    /// decoding; at most JWTGUARD_MAX_TOKEN_SIZE.
    std::size_t max_token_size = max_token_size_limit;
    /// Refuse tokens without `kid` (kid_missing) even when the key set holds
    /// exactly one key for their alg, so that adding a key later can never
    /// change how a kid-less token is checked. Default: accept them then.
    bool require_kid = false;
    /// Revocations to check every valid token against (after its signature
    /// and claims hold); not owned, must outlive the Validator. Its leeway
    /// must be at least this one's, and if it drops subject cut-offs after a
    /// maximum token lifetime, this validator must enforce one no longer.
    const Denylist* denylist = nullptr;
    /// With a denylist: while the signature is computed, find the payload's
    /// jti and exp (decoded, not parsed, not trusted) and let the denylist
    /// start loading the lines its check will read (Denylist::prefetch_hint).
    /// Changes no verdict (a hint is never a decision), only speed. On by
    /// default since 2026-12-04: where the filter's line is out of cache
    /// (a denylist larger than the caches, or a busy server), it took the
    /// check's cost from +104 to +63 ns (1M live, median of 8 paired runs,
    /// bench/README.md, "Work alongside the HMAC"); where everything it
    /// reads is in L1 (1,000 live), the hint's own work costs 25-30 ns.
    bool denylist_prefetch = true;
    /// Verified tokens to remember (off by default; see token_cache.hpp).
    TokenCacheOptions token_cache;
};

/// Validates bearer tokens against a key set and a claim policy.
class Validator {
  public:
    using Options = ValidatorOptions;

    /// Throws SetupError(option_invalid) for out-of-range options and
    /// SetupError(key_invalid) for an empty key set.
    explicit Validator(KeySet keys, Options options = {})
        : m_keys(check_not_empty(std::move(keys))), m_options(std::move(options)) {
        if (m_options.max_token_size == 0 || m_options.max_token_size > max_token_size_limit)
            throw SetupError(Error::option_invalid,
                             "max_token_size must lie in [1, " +
                                 std::to_string(max_token_size_limit) +
                                 "] (raise JWTGUARD_MAX_TOKEN_SIZE for more)");
        if (m_options.leeway < 0 || m_options.leeway > max_leeway)
            throw SetupError(Error::option_invalid,
                             "leeway must lie in [0, " + std::to_string(max_leeway) + "] seconds");
        if (m_options.max_lifetime < 0 || m_options.max_lifetime > max_numeric_date)
            throw SetupError(Error::option_invalid, "max_lifetime must lie in [0, 2^53] seconds");
        if (const Denylist* d = m_options.denylist) {
            // Otherwise a revocation could be dropped while its token is
            // still accepted.
            if (d->options().leeway < m_options.leeway)
                throw SetupError(Error::option_invalid,
                                 "the denylist's leeway is smaller than the validator's");
            const std::int64_t lifetime = d->options().max_token_lifetime;
            if (lifetime > 0 && (m_options.max_lifetime <= 0 || m_options.max_lifetime > lifetime))
                throw SetupError(Error::option_invalid,
                                 "the denylist drops subject cut-offs after max_token_lifetime = " +
                                     std::to_string(lifetime) +
                                     " s: set max_lifetime in (0, that] on the validator");
        }
        if (m_options.token_cache.entries > 0)
            m_cache = std::make_unique<detail::TokenCache>(m_options.token_cache);
    }

    /// A validator trusting one key, without kid.
    explicit Validator(Key key, Options options = {})
        : Validator(KeySet(std::move(key)), std::move(options)) {}

    [[nodiscard]] const Options& options() const noexcept { return m_options; }

    // Key rotation, safe while other threads validate (see RotatingKeySet).
    /// Replaces every key at once (e.g. a reloaded JWKS).
    void replace_keys(KeySet keys) { m_keys.replace(std::move(keys)); }
    /// Adds a key; throws SetupError(key_invalid) if its kid is taken.
    void add_key(Key key, std::optional<std::string> kid = std::nullopt) {
        m_keys.add(std::move(key), std::move(kid));
    }
    /// Removes the key with this kid: no token is checked with it from now on.
    bool remove_key(std::string_view kid) { return m_keys.remove(kid); }
    /// A copy of the keys in use.
    [[nodiscard]] KeySet keys() const { return m_keys.snapshot(); }

    /// True when the verified-token cache holds `token` now (false without a
    /// cache). For tests and statistics: validate() needs no such check.
    [[nodiscard]] bool is_cached(std::string_view token) const noexcept {
        return m_cache != nullptr && m_cache->may_hold(token.size()) &&
               m_cache->contains(token, m_cache->hash(token));
    }

    /// Validates `token` at time `now` (seconds since the epoch, a
    /// NumericDate in [0, 2^53]: anything else is now_invalid). On `ok`,
    /// `claims` describes the token; on any other value its content is
    /// unspecified. Never throws, never allocates.
    [[nodiscard]] Error validate(std::string_view token, std::int64_t now,
                                 Claims& claims) const noexcept {
        if (token.size() > m_options.max_token_size) return Error::token_too_large;

        detail::Segments parts;
        if (!detail::split_token(token, parts)) return Error::token_malformed;

        // One read section for everything that may be replaced meanwhile:
        // the key set (rotation) and the denylist's buckets.
        const detail::EpochGuard guard;
        const KeySet& keys = m_keys.current();

        // A token verified before, whose kid still names the same key.
        const bool cacheable = m_cache != nullptr && m_cache->may_hold(token.size());
        const std::uint64_t token_hash = cacheable ? m_cache->hash(token) : 0;
        if (cacheable) {
            if (const auto key_id = m_cache->find(token, token_hash, claims)) {
                const KeySet::Lookup found = keys.find(claims.header.kid, *claims.header.alg);
                if (found.error == Error::ok && found.key_id == *key_id)
                    return accept_cached(claims, now, parts.signature);
                // Otherwise the full path below says what changed.
            }
        }

        // Header: recalled if this thread verified a token with the same
        // header segment last, else decoded and parsed.
        char* scratch = claims.m_scratch;
        std::size_t header_size;
        detail::HeaderMemo& memo = detail::HeaderMemo::local();
        const bool recalled = memo.recall(parts.header, scratch, header_size, claims.header);
        if (!recalled) {
            if (const auto s = base64url_decode(
                    parts.header, reinterpret_cast<unsigned char*>(scratch), header_size);
                s != Base64Status::ok)
                return detail::base64_error(s, 0);
            scratch[header_size] = '\0';
            if (const Error e = detail::parse_header(scratch, header_size, claims.header);
                e != Error::ok)
                return e;
        }

        // Key and algorithm: the key decides, the token only names it.
        const Header& header = claims.header;
        if (!header.alg) return Error::alg_missing;
        if (detail::iequals_ascii(*header.alg, "none")) return Error::alg_none;
        // A nested JWT would need a second validation nobody asked for.
        if (header.cty && typ_matches(*header.cty, "JWT")) return Error::cty_nested_jwt;
        if (m_options.require_kid && !header.kid) return Error::kid_missing;
        const KeySet::Lookup found = keys.find(header.kid, *header.alg);
        if (found.error != Error::ok) {
            if (found.error == Error::kid_unknown) m_unknown_kid.raise();
            return found.error;
        }
        if (!key_accepts(*found.key, *header.alg)) return Error::alg_mismatch;

        // Signature, before a byte of the payload is parsed.
        if (parts.signature.size() > base64url_encoded_size(detail::max_signature_size))
            return Error::signature_length;
        unsigned char signature[detail::max_signature_size];
        std::size_t signature_size;
        if (const auto s = base64url_decode(parts.signature, signature, signature_size);
            s != Base64Status::ok)
            return detail::base64_error(s, 2);

        // While the signature is computed (inside an HMAC's chain of
        // compressions, which leaves execution units to spare), the
        // payload's bytes are decoded into their place below, and with a
        // denylist its prefetch hint starts loading the lines its check will
        // read. Nothing of the payload is parsed, and nothing decided, before
        // the signature holds: a payload that does not decode is decoded
        // again after the signature, which reports it.
        char* const payload = scratch + header_size + 1;
        std::size_t payload_size = 0;
        bool payload_decoded = false;
        Denylist::Hint hint;
        const auto alongside = [&]() noexcept {
            payload_decoded =
                base64url_decode(parts.payload, reinterpret_cast<unsigned char*>(payload),
                                 payload_size) == Base64Status::ok;
            if (payload_decoded && m_options.denylist != nullptr && m_options.denylist_prefetch)
                m_options.denylist->prefetch_hint(std::string_view(payload, payload_size), hint);
        };
        if (const Error e = verify_signature(*found.key, parts.signing_input, signature,
                                             signature_size, alongside);
            e != Error::ok)
            return e;
        // Only a header that came with a good signature is remembered.
        if (!recalled) memo.remember(parts.header, scratch, header_size, claims.header);

        // Payload: the bytes as signed, for the caller, and parsed where they
        // are (a payload with escapes is unescaped in a copy after them).
        if (!payload_decoded) {
            if (const auto s = base64url_decode(
                    parts.payload, reinterpret_cast<unsigned char*>(payload), payload_size);
                s != Base64Status::ok)
                return detail::base64_error(s, 1);
        }
        payload[payload_size] = '\0';
        char* const escaped_copy = payload + payload_size + 1;
        claims.m_payload_json = std::string_view(payload, payload_size);
        if (const Error e = detail::parse_claims(payload, payload_size, claims, escaped_copy);
            e != Error::ok)
            return e;

        // Verified and parsed: worth remembering, whatever `now` says of it.
        if (cacheable)
            m_cache->insert(token, token_hash, claims,
                            static_cast<std::size_t>(escaped_copy + payload_size + 1 - scratch),
                            found.key_id);
        return accept(claims, now, {signature, signature_size}, hint);
    }

  private:
    /// The checks every validation ends with, cached or not: the claim
    /// policy at `now`, then (only for a token that would otherwise be
    /// accepted, and because it needs the claims) the denylist, inside
    /// validate()'s read section.
    [[nodiscard]] Error accept(const Claims& claims, std::int64_t now,
                               std::span<const unsigned char> signature,
                               const Denylist::Hint& hint = {}) const noexcept {
        // The policy's ranges were checked at construction.
        if (const Error e = detail::check_claims_in_range(claims, m_options, now); e != Error::ok)
            return e;
        if (m_options.denylist == nullptr) return Error::ok;
        return m_options.denylist->check_in_section(claims, signature, hint);
    }

    /// The same, for a cache hit: the signature is decoded only if the
    /// denylist needs it (a token without jti is revoked by its signature).
    [[nodiscard]] Error accept_cached(const Claims& claims, std::int64_t now,
                                      std::string_view signature_segment) const noexcept {
        if (m_options.denylist == nullptr || claims.jti)
            return accept(claims, now, std::span<const unsigned char>());
        unsigned char signature[detail::max_signature_size];
        std::size_t size = 0;
        // It decoded when the token was verified.
        (void)base64url_decode(signature_segment, signature, size);
        return accept(claims, now, {signature, size});
    }

    /// The signature's verdict, calling `alongside()` once unless its size
    /// is wrong: during the MAC for a key whose verify() takes it (HmacKey),
    /// else before.
    template <class Alongside>
    [[nodiscard]] static Error verify_signature(const Key& key, std::string_view input,
                                                const unsigned char* signature, std::size_t size,
                                                const Alongside& alongside) noexcept {
        return std::visit(
            [&](const auto& k) {
                if (size != k.signature_size()) return Error::signature_length;
                if constexpr (requires { k.verify(input, signature, size, alongside); }) {
                    return k.verify(input, signature, size, alongside) ? Error::ok
                                                                       : Error::signature_invalid;
                } else {
                    alongside();
                    return k.verify(input, signature, size) ? Error::ok : Error::signature_invalid;
                }
            },
            key);
    }

    static KeySet check_not_empty(KeySet keys) {
        if (keys.empty()) throw SetupError(Error::key_invalid, "the key set is empty");
        return keys;
    }

    friend class JwksRefresher;

    RotatingKeySet m_keys;
    Options m_options;
    std::unique_ptr<detail::TokenCache> m_cache;  // null: no cache
    mutable detail::UnknownKidSignal m_unknown_kid;
};

}  // namespace jwtguard
