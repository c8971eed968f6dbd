// The keys a Validator trusts, each with an optional `kid`.
//
// The token names a key (by `kid`), never supplies one, and never chooses the
// algorithm: each key carries its own, and the header's `alg` must equal it.
// A token without `kid` is accepted only when exactly one key of the set has
// its `alg`, so adding a second key never silently changes which key checks
// kid-less tokens. A token whose `kid` no key carries may still be checked by
// a key loaded without kid (an operator who hands over one bare secret means
// "this key, whatever the token calls it"), but only when exactly one such
// key has the token's `alg`; a key with a kid only ever checks its own kid.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "jwtguard/error.hpp"
#include "jwtguard/hs256.hpp"
#include "jwtguard/rs256.hpp"

namespace jwtguard {

/// Any key jwtguard can verify with.
using Key = std::variant<Hs256Key, Rs256Key>;

/// The JWS `alg` name of `key`'s algorithm.
[[nodiscard]] inline std::string_view algorithm_of(const Key& key) noexcept {
    return std::visit([](const auto& k) { return k.algorithm; }, key);
}

/// A set of verification keys, immutable once a Validator holds it.
class KeySet {
  public:
    /// Result of a lookup: the key, or why there is none.
    struct Lookup {
        const Key* key;
        Error error;
    };

    KeySet() = default;
    /// A set of one key, without kid.
    explicit KeySet(Key key) { add(std::move(key)); }

    /// Adds `key`, selected by `kid` when given. Throws SetupError(key_invalid)
    /// when another key already has that kid.
    void add(Key key, std::optional<std::string> kid = std::nullopt) {
        if (kid) {
            for (const Entry& e : m_entries)
                if (e.kid == kid)
                    throw SetupError(Error::key_invalid, "two keys have the kid \"" + *kid + "\"");
        }
        m_entries.push_back(Entry{std::move(kid), std::move(key)});
    }

    [[nodiscard]] std::size_t size() const noexcept { return m_entries.size(); }
    [[nodiscard]] bool empty() const noexcept { return m_entries.empty(); }

    /// The key for a token whose header has `kid` (if any) and `alg`. Does not
    /// check that the key's algorithm is `alg` when found by kid: the caller
    /// does, so the two refusals keep their own codes.
    [[nodiscard]] Lookup find(std::optional<std::string_view> kid,
                              std::string_view alg) const noexcept {
        if (kid) {
            for (const Entry& e : m_entries)
                if (e.kid && *e.kid == *kid) return {&e.key, Error::ok};
        }
        // Keys for `alg` that may check this token: all of them for a token
        // without kid, the kid-less ones for a kid no key carries.
        const Key* match = nullptr;
        for (const Entry& e : m_entries) {
            if ((kid && e.kid) || algorithm_of(e.key) != alg) continue;
            if (match != nullptr) return {nullptr, kid ? Error::kid_unknown : Error::kid_missing};
            match = &e.key;
        }
        if (match == nullptr) return {nullptr, kid ? Error::kid_unknown : Error::alg_mismatch};
        return {match, Error::ok};
    }

  private:
    struct Entry {
        std::optional<std::string> kid;
        Key key;
    };
    std::vector<Entry> m_entries;
};

}  // namespace jwtguard
