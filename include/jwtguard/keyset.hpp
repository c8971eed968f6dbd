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
//
// Keys come from code (Hs256Key, Rs256Key) or from JSON Web Keys (RFC 7517):
// `load_jwks` reads a JWKS document and reports every key it refuses, one by
// one with the reason, while the others load. A JWK's `alg` pins its
// algorithm; a JWK without `alg` takes the one the caller names, and without
// either it is refused (never guessed from `kty`). `use` other than "sig",
// `key_ops` without "verify", private RSA members and non-minimal or padded
// encodings are refused too, and so is a document that is not strict JSON
// (invalid UTF-8, a raw control character or NUL byte) or has an object with
// a member name twice:
// RFC 7517 section 4 lets a parser either refuse those or keep the last
// duplicate, and rapidjson's lookups would find the first.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "jwtguard/config.hpp"  // before rapidjson: JWTGUARD_RAPIDJSON_SIMD

#include <rapidjson/document.h>

#include "jwtguard/base64url.hpp"
#include "jwtguard/ecdsa.hpp"
#include "jwtguard/ed25519.hpp"
#include "jwtguard/epoch.hpp"
#include "jwtguard/error.hpp"
#include "jwtguard/hmac.hpp"
#include "jwtguard/json.hpp"
#include "jwtguard/rsa.hpp"

namespace jwtguard {

/// Any key jwtguard can verify with: one per JWS signature algorithm.
using Key = std::variant<Hs256Key, Hs384Key, Hs512Key, Rs256Key, Rs384Key, Rs512Key, Ps256Key,
                         Ps384Key, Ps512Key, Es256Key, Es384Key, Es512Key, Ed25519Key>;

/// The JWS `alg` name of `key`'s algorithm.
[[nodiscard]] inline std::string_view algorithm_of(const Key& key) noexcept {
    return std::visit([](const auto& k) { return k.algorithm; }, key);
}

/// Whether a token whose header says `alg` is for `key`: its algorithm's
/// name, or (Ed25519) the other name of the same algorithm.
[[nodiscard]] inline bool key_accepts(const Key& key, std::string_view alg) noexcept {
    return std::visit(
        [&](const auto& k) {
            if constexpr (requires { k.accepts(alg); })
                return k.accepts(alg);
            else
                return alg == k.algorithm;
        },
        key);
}

/// Every `alg` name a key can have, in the order of `Key` (Ed25519's other
/// name last): what the CLI's --alg lists.
inline constexpr std::string_view all_algorithms[] = {"HS256", "HS384", "HS512", "RS256",  "RS384",
                                                      "RS512", "PS256", "PS384", "PS512",  "ES256",
                                                      "ES384", "ES512", "EdDSA", "Ed25519"};

namespace detail {
/// Calls `make(std::type_identity<K>{})` for the alternative K of Key whose
/// algorithm is `alg` and returns its Key; SetupError(key_invalid) when no
/// alternative has that name.
template <class Make, std::size_t I = 0>
[[nodiscard]] Key key_for_algorithm(std::string_view alg, Make&& make) {
    if constexpr (I == std::variant_size_v<Key>) {
        throw SetupError(Error::key_invalid,
                         "\"" + std::string(alg) + "\" is not a JWS signature algorithm");
    } else {
        using K = std::variant_alternative_t<I, Key>;
        bool match;
        if constexpr (requires { K::accepts(alg); })
            match = K::accepts(alg);  // one key type, two names (Ed25519)
        else
            match = alg == K::algorithm;
        if (match) return Key(make(std::type_identity<K>{}));
        return key_for_algorithm<Make, I + 1>(alg, std::forward<Make>(make));
    }
}
}  // namespace detail

/// A set of verification keys, immutable once a Validator holds it.
class KeySet {
  public:
    /// Result of a lookup: the key, or why there is none.
    struct Lookup {
        const Key* key;
        Error error;
        /// Names the key's material (detail::material_id): the same for the
        /// same key however often it is loaded, different for another. The
        /// verified-token cache uses it to tell that a token's kid still
        /// names the key that verified it.
        std::uint64_t key_id = 0;
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
        const std::uint64_t id = std::visit([](const auto& k) { return k.material_id(); }, key);
        m_entries.push_back(Entry{std::move(kid), std::move(key), id});
    }

    /// Adds every key of `other` (several key files, one set). Throws
    /// SetupError(key_invalid) like add, leaving this set as it was.
    void merge(KeySet other) {
        for (const Entry& e : other.m_entries) {
            if (!e.kid) continue;
            for (const Entry& mine : m_entries)
                if (mine.kid == e.kid)
                    throw SetupError(Error::key_invalid,
                                     "two keys have the kid \"" + *e.kid + "\"");
        }
        for (Entry& e : other.m_entries)
            m_entries.push_back(std::move(e));
    }
    /// Removes the key with this kid; false if none has it.
    bool remove(std::string_view kid) {
        const auto it = std::find_if(m_entries.begin(), m_entries.end(),
                                     [&](const Entry& e) { return e.kid && *e.kid == kid; });
        if (it == m_entries.end()) return false;
        m_entries.erase(it);
        return true;
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
                if (e.kid && *e.kid == *kid) return {&e.key, Error::ok, e.id};
        }
        // Keys for `alg` that may check this token: all of them for a token
        // without kid, the kid-less ones for a kid no key carries.
        const Entry* match = nullptr;
        for (const Entry& e : m_entries) {
            if ((kid && e.kid) || !key_accepts(e.key, alg)) continue;
            if (match != nullptr) return {nullptr, kid ? Error::kid_unknown : Error::kid_missing};
            match = &e;
        }
        if (match == nullptr) return {nullptr, kid ? Error::kid_unknown : Error::alg_mismatch};
        return {&match->key, Error::ok, match->id};
    }

  private:
    struct Entry {
        std::optional<std::string> kid;
        Key key;
        std::uint64_t id;
    };

    std::vector<Entry> m_entries;
};

/// The key set a Validator reads, replaceable while validations run. Readers
/// (inside an epoch read section) take no lock, increment no shared counter
/// and allocate nothing: they load one pointer to an immutable KeySet.
/// Writers copy the current set, change the copy and publish it with one
/// atomic store; the old set is freed once no reader can see it
/// (epoch.hpp). A removed key checks no token from the moment `remove`
/// returns.
class RotatingKeySet {
  public:
    explicit RotatingKeySet(KeySet keys) : m_current(new KeySet(std::move(keys))) {}
    ~RotatingKeySet() { delete m_current.load(std::memory_order_relaxed); }
    RotatingKeySet(const RotatingKeySet&) = delete;
    RotatingKeySet& operator=(const RotatingKeySet&) = delete;

    /// The current set; only valid inside the caller's epoch read section.
    [[nodiscard]] const KeySet& current() const noexcept {
        return *m_current.load(std::memory_order_seq_cst);
    }

    /// Replaces the whole set (a JWKS reload) atomically.
    void replace(KeySet keys) { publish(std::make_unique<KeySet>(std::move(keys))); }

    /// Adds a key (throws SetupError like KeySet::add).
    void add(Key key, std::optional<std::string> kid = std::nullopt) {
        std::lock_guard lock(m_writer);
        auto next = std::make_unique<KeySet>(*m_current.load(std::memory_order_relaxed));
        next->add(std::move(key), std::move(kid));
        publish_locked(std::move(next));
    }

    /// Removes the key with this kid; false if none has it.
    bool remove(std::string_view kid) {
        std::lock_guard lock(m_writer);
        auto next = std::make_unique<KeySet>(*m_current.load(std::memory_order_relaxed));
        if (!next->remove(kid)) return false;
        publish_locked(std::move(next));
        return true;
    }

    /// A copy of the current set.
    [[nodiscard]] KeySet snapshot() const {
        std::lock_guard lock(m_writer);
        return *m_current.load(std::memory_order_relaxed);
    }

  private:
    void publish(std::unique_ptr<KeySet> next) {
        std::lock_guard lock(m_writer);
        publish_locked(std::move(next));
    }
    void publish_locked(std::unique_ptr<KeySet> next) {
        const KeySet* old = m_current.exchange(next.release(), std::memory_order_seq_cst);
        m_retired.retire(const_cast<KeySet*>(old));
        m_retired.reclaim();
    }

    mutable std::mutex m_writer;
    std::atomic<const KeySet*> m_current;
    detail::RetireList m_retired;
};

/// A key of a JWKS that was not loaded, and why.
struct JwkRejection {
    std::size_t index;               ///< position in the "keys" array
    std::optional<std::string> kid;  ///< its kid, when it had a string one
    Error code;                      ///< key_invalid, key_too_short, ...
    std::string reason;
};

/// What `load_jwks` made of a document.
struct JwksLoad {
    KeySet keys;
    std::vector<JwkRejection> rejected;
};

namespace detail {
/// Parses a JWK or JWKS document strictly (see the top of this file); `what`
/// names it in the error.
inline void parse_jwk_document(std::string_view json, rapidjson::Document& doc, const char* what) {
    // The token's own pre-check: a NUL byte (which rapidjson would read as
    // the end of the text) counts as a raw control character.
    switch (json_text_fault(json.data(), json.size())) {
        case JsonFault::none:
            break;
        case JsonFault::syntax:
            throw SetupError(Error::key_invalid,
                             std::string(what) + " holds a raw control character (or NUL)");
        default:
            throw SetupError(Error::key_invalid, std::string(what) +
                                                     " is not valid UTF-8 (or escapes a lone "
                                                     "surrogate)");
    }
    // From a NUL-terminated, padded copy (rapidjson's SIMD scanning reads
    // whole 16-byte blocks): its Parse(text, length) would skip any of the
    // three bytes of a UTF-8 BOM at the start, one by one, even alone (so
    // "\xbf{...}" would load). Iterative: a deeply nested document must not
    // exhaust the stack.
    JsonBuffer text(json);
    doc.Parse<rapidjson::kParseIterativeFlag>(text.data());
    if (doc.HasParseError())
        throw SetupError(Error::key_invalid, std::string(what) + " is not valid JSON");
}

/// Refuses a document (a JWK, a JWKS) with a member name twice in any of
/// its objects, with an object of more members than a token's header may
/// have (no JWK comes near), or nested deeper than a token may be: the rules
/// of a token's JSON (DESIGN.md), checked on the header's allocation-free
/// MemberSet. `depth` is the nesting of `value`, the root being 1; objects
/// below `levels` are not looked at (a JWKS checks its own members, and each
/// JWK is checked whole when it is loaded, so that one bad JWK is refused
/// alone).
inline void check_unique_members(const rapidjson::Value& value, const char* what,
                                 int levels = max_json_depth, int depth = 1) {
    if (!value.IsObject() && !value.IsArray()) return;
    if (depth > max_json_depth)
        throw SetupError(Error::key_invalid, std::string(what) + " nests deeper than " +
                                                 std::to_string(max_json_depth) + " levels");
    if (depth > levels) return;
    if (value.IsArray()) {
        for (const auto& e : value.GetArray())
            check_unique_members(e, what, levels, depth + 1);
        return;
    }
    if (value.MemberCount() > max_members)
        throw SetupError(Error::key_invalid, std::string(what) + " has more than " +
                                                 std::to_string(max_members) + " members");
    MemberSet names;
    for (const auto& m : value.GetObject()) {
        const std::string_view name(m.name.GetString(), m.name.GetStringLength());
        if (!names.insert(0, name))
            throw SetupError(Error::key_invalid, std::string(what) + " has the member \"" +
                                                     std::string(name) + "\" twice");
        check_unique_members(m.value, what, levels, depth + 1);
    }
}

/// A base64url JWK member decoded strictly (no padding, canonical bits).
[[nodiscard]] inline std::string jwk_bytes(const rapidjson::Value& jwk, const char* name) {
    const auto member = jwk.FindMember(name);
    if (member == jwk.MemberEnd() || !member->value.IsString())
        throw SetupError(Error::key_invalid,
                         std::string("\"") + name + "\" is missing or not a string");
    const std::string_view text(member->value.GetString(), member->value.GetStringLength());
    std::string out(base64url_decoded_size(text.size()), '\0');
    std::size_t size = 0;
    if (base64url_decode(text, reinterpret_cast<unsigned char*>(out.data()), size) !=
        Base64Status::ok)
        throw SetupError(Error::key_invalid,
                         std::string("\"") + name + "\" is not strict unpadded base64url");
    out.resize(size);
    return out;
}

[[nodiscard]] inline std::span<const unsigned char> as_bytes(const std::string& s) noexcept {
    return {reinterpret_cast<const unsigned char*>(s.data()), s.size()};
}

/// One JWK as a key (throws SetupError with the reason).
[[nodiscard]] inline Key key_from_jwk(const rapidjson::Value& jwk,
                                      std::optional<std::string_view> default_alg) {
    if (!jwk.IsObject()) throw SetupError(Error::key_invalid, "a JWK must be a JSON object");
    check_unique_members(jwk, "the JWK");
    auto string_member = [&](const char* name) -> std::optional<std::string_view> {
        const auto m = jwk.FindMember(name);
        if (m == jwk.MemberEnd()) return std::nullopt;
        if (!m->value.IsString())
            throw SetupError(Error::key_invalid, std::string("\"") + name + "\" is not a string");
        return std::string_view(m->value.GetString(), m->value.GetStringLength());
    };
    const auto kty = string_member("kty");
    if (!kty) throw SetupError(Error::key_invalid, "\"kty\" is missing");
    if (const auto use = string_member("use"); use && *use != "sig")
        throw SetupError(Error::key_invalid,
                         "\"use\" is \"" + std::string(*use) + "\", not \"sig\"");
    if (const auto ops = jwk.FindMember("key_ops"); ops != jwk.MemberEnd()) {
        bool verify = false;
        if (!ops->value.IsArray())
            throw SetupError(Error::key_invalid, "\"key_ops\" is not an array");
        for (const auto& op : ops->value.GetArray())
            verify |=
                op.IsString() && std::string_view(op.GetString(), op.GetStringLength()) == "verify";
        if (!verify) throw SetupError(Error::key_invalid, "\"key_ops\" does not allow \"verify\"");
    }
    std::optional<std::string_view> alg = string_member("alg");
    if (!alg) alg = default_alg;
    if (!alg)
        throw SetupError(Error::key_invalid,
                         "the JWK has no \"alg\" and no default algorithm was given");
    // The key's algorithm decides which members it must have; a kty that
    // does not fit the algorithm is refused by name.
    auto require_kty = [&](std::string_view family, std::string_view wanted) {
        if (*kty != wanted)
            throw SetupError(Error::key_invalid, "alg \"" + std::string(*alg) + "\" needs kty \"" +
                                                     std::string(wanted) + "\", not \"" +
                                                     std::string(*kty) + "\" (" +
                                                     std::string(family) + ")");
    };
    auto refuse_private = [&](std::initializer_list<const char*> members) {
        for (const char* private_member : members)
            if (jwk.HasMember(private_member))
                throw SetupError(Error::key_invalid, "the JWK holds private key material (\"" +
                                                         std::string(private_member) +
                                                         "\"): publish public keys only");
    };
    if (*kty != "RSA" && *kty != "oct" && *kty != "EC" && *kty != "OKP")
        throw SetupError(Error::key_invalid,
                         "\"kty\" \"" + std::string(*kty) + "\" is not supported");
    if (*kty == "OKP") {
        const auto crv = string_member("crv");
        if (!crv) throw SetupError(Error::key_invalid, "\"crv\" is missing");
        if (*crv == "Ed448" || *crv == "X25519" || *crv == "X448")
            throw SetupError(Error::key_invalid,
                             "OKP curve \"" + std::string(*crv) +
                                 "\" is not supported (Ed25519 only; X25519 and X448 do not "
                                 "sign)");
    }
    return key_for_algorithm(*alg, [&]<class K>(std::type_identity<K>) -> K {
        if constexpr (requires { K::mac_size; }) {
            require_kty("HMAC", "oct");
            return K(jwk_bytes(jwk, "k"));
        } else if constexpr (requires { K::min_modulus_bits; }) {
            require_kty("RSA", "RSA");
            refuse_private({"d", "p", "q", "dp", "dq", "qi", "oth"});
            const std::string n = jwk_bytes(jwk, "n");
            const std::string e = jwk_bytes(jwk, "e");
            // RFC 7518 6.3.1: the minimum number of octets.
            if (n.empty() || e.empty() || n[0] == '\0' || e[0] == '\0')
                throw SetupError(Error::key_invalid,
                                 "\"n\" or \"e\" has a leading zero octet or is empty");
            return K::from_components(as_bytes(n), as_bytes(e));
        } else if constexpr (requires { K::coordinate_size; }) {
            require_kty("ECDSA", "EC");
            refuse_private({"d"});
            const auto crv = string_member("crv");
            if (!crv || *crv != K::curve_type::crv)
                throw SetupError(Error::key_invalid, std::string(K::algorithm) +
                                                         " needs \"crv\" \"" +
                                                         std::string(K::curve_type::crv) + "\"");
            const std::string x = jwk_bytes(jwk, "x");
            const std::string y = jwk_bytes(jwk, "y");
            return K::from_coordinates(as_bytes(x), as_bytes(y));
        } else {
            require_kty("EdDSA", "OKP");
            refuse_private({"d"});
            if (string_member("crv") != std::optional<std::string_view>("Ed25519"))
                throw SetupError(Error::key_invalid, "EdDSA needs \"crv\" \"Ed25519\"");
            return K(as_bytes(jwk_bytes(jwk, "x")));
        }
    });
}
}  // namespace detail

/// The HMAC key of `alg` (HS256, HS384 or HS512) from its raw secret.
/// Throws SetupError: key_too_short for a secret shorter than the hash,
/// key_invalid for an algorithm that does not take a secret.
[[nodiscard]] inline Key load_secret_key(std::string_view secret, std::string_view alg = "HS256") {
    return detail::key_for_algorithm(alg, [&]<class K>(std::type_identity<K>) -> K {
        if constexpr (requires { K::mac_size; })
            return K(secret);
        else
            throw SetupError(Error::key_invalid,
                             "alg \"" + std::string(alg) + "\" takes a public key, not a secret");
    });
}

/// Loads a PEM public key: RSA (SPKI or PKCS#1), EC on P-256, P-384 or
/// P-521 (SPKI) or Ed25519 (SPKI). `alg` chooses the algorithm of an RSA key
/// (default RS256: one RSA key is RS* or PS*, never both); for an EC or
/// Ed25519 key the key decides it (ES256 for a P-256 key, ...), and an `alg`
/// that says otherwise is refused. Throws SetupError with the reason.
[[nodiscard]] inline Key load_pem_public_key(std::string_view pem,
                                             std::optional<std::string_view> alg = std::nullopt) {
    detail::PkeyPtr pkey;
    std::string_view family, natural;
    for (const auto& [type, specific] :
         {std::pair<const char*, const char*>{"RSA", "RSA PUBLIC KEY"},
          {"EC", nullptr},
          {"ED25519", nullptr}}) {
        try {
            pkey = detail::decode_pem(pem, type, true, specific, "a public key");
            family = type;
            break;
        } catch (const SetupError&) {
        }
    }
    if (!pkey)
        throw SetupError(Error::key_invalid,
                         "the PEM text is not an RSA, EC (P-256, P-384, P-521) or Ed25519 public "
                         "key (hand over the public half, BEGIN PUBLIC KEY)");
    if (family == "RSA") {
        natural = Rs256Key::algorithm;
    } else if (family == "ED25519") {
        natural = Ed25519Key::algorithm;
    } else {
        char group[64] = {};
        (void)EVP_PKEY_get_utf8_string_param(pkey.get(), OSSL_PKEY_PARAM_GROUP_NAME, group,
                                             sizeof group, nullptr);
        const std::string_view g(group);
        natural =
            g == detail::P256::group   ? Es256Key::algorithm
            : g == detail::P384::group ? Es384Key::algorithm
            : g == detail::P521::group
                ? Es512Key::algorithm
                : throw SetupError(Error::key_invalid, "the EC key's curve \"" + std::string(g) +
                                                           "\" is not P-256, P-384 or P-521");
    }
    const std::string_view chosen = alg.value_or(natural);
    auto mismatch = [&]() -> SetupError {
        return SetupError(Error::key_invalid, "alg \"" + std::string(chosen) +
                                                  "\" cannot use this " + std::string(family) +
                                                  " key (it is a " + std::string(natural) +
                                                  " key)");
    };
    return detail::key_for_algorithm(chosen, [&]<class K>(std::type_identity<K>) -> K {
        if constexpr (requires { K::min_modulus_bits; }) {
            if (family != "RSA") throw mismatch();
            return K(detail::RsaPublic::from_pkey(pkey.get()));
        } else if constexpr (requires { K::coordinate_size; }) {
            if (family != "EC" || natural != K::algorithm) throw mismatch();
            return K::from_pkey(pkey.get());
        } else if constexpr (requires { K::key_size; }) {
            if (family != "ED25519") throw mismatch();
            return K::from_pkey(pkey.get());
        } else {
            throw mismatch();  // an HMAC algorithm takes a secret
        }
    });
}

/// Loads one JWK (RFC 7517 section 4). Throws SetupError with the reason.
[[nodiscard]] inline Key load_jwk(std::string_view json,
                                  std::optional<std::string_view> default_alg = std::nullopt) {
    rapidjson::Document doc;
    detail::parse_jwk_document(json, doc, "the JWK");
    return detail::key_from_jwk(doc, default_alg);
}

/// Loads a JWKS document (RFC 7517 section 5): every acceptable key, selected
/// by its kid; every other key in `rejected` with its reason. Throws
/// SetupError(key_invalid) only when the document itself is unusable (not
/// JSON, no "keys" array).
[[nodiscard]] inline JwksLoad load_jwks(
    std::string_view json, std::optional<std::string_view> default_alg = std::nullopt) {
    rapidjson::Document doc;
    detail::parse_jwk_document(json, doc, "the JWKS");
    if (!doc.IsObject() || !doc.HasMember("keys") || !doc["keys"].IsArray())
        throw SetupError(Error::key_invalid, "the JWKS has no \"keys\" array");
    detail::check_unique_members(doc, "the JWKS", 1);
    JwksLoad result;
    std::size_t index = 0;
    for (const auto& jwk : doc["keys"].GetArray()) {
        std::optional<std::string> kid;
        try {
            if (jwk.IsObject() && jwk.HasMember("kid")) {
                if (!jwk["kid"].IsString())
                    throw SetupError(Error::key_invalid, "\"kid\" is not a string");
                kid.emplace(jwk["kid"].GetString(), jwk["kid"].GetStringLength());
            }
            result.keys.add(detail::key_from_jwk(jwk, default_alg), kid);
        } catch (const SetupError& e) {
            result.rejected.push_back({index, kid, e.code(), e.what()});
        }
        ++index;
    }
    return result;
}

}  // namespace jwtguard
