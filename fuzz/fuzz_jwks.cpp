// load_jwks on arbitrary documents (the first byte picks the caller's
// default algorithm). Only SetupError may come out; a document rapidjson's
// DOM finds unusable must throw and a usable one must not; every JWK of the
// "keys" array is either loaded or reported, in order; and a loaded JWK
// must satisfy every rule of keyset.hpp, checked here on the DOM.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "fuzz_json_reference.hpp"
#include "fuzz_support.hpp"
#include "jwtguard/keyset.hpp"

using jwtguard::Error;

namespace {

using fuzz::string_of;

bool unique_members(const rapidjson::Value& object) {
    std::set<std::string_view> names;
    for (const auto& m : object.GetObject())
        if (!names.insert(string_of(m.name)).second) return false;
    return object.MemberCount() <= jwtguard::max_members;
}

std::optional<std::string_view> string_member(const rapidjson::Value& jwk, const char* name) {
    const auto m = jwk.FindMember(name);
    if (m == jwk.MemberEnd() || !m->value.IsString()) return std::nullopt;
    return string_of(m->value);
}

/// What a loaded JWK must be; its algorithm, or nullopt if it is no key.
std::optional<std::string_view> loadable_alg(const rapidjson::Value& jwk,
                                             std::optional<std::string_view> default_alg) {
    if (!jwk.IsObject() || !unique_members(jwk)) return std::nullopt;
    if (jwk.HasMember("kid") && !jwk["kid"].IsString()) return std::nullopt;
    if (jwk.HasMember("use") && string_member(jwk, "use") != "sig") return std::nullopt;
    if (jwk.HasMember("key_ops")) {
        const auto& ops = jwk["key_ops"];
        if (!ops.IsArray()) return std::nullopt;
        bool verify = false;
        for (const auto& op : ops.GetArray())
            verify |= op.IsString() && string_of(op) == "verify";
        if (!verify) return std::nullopt;
    }
    if (jwk.HasMember("alg") && !jwk["alg"].IsString()) return std::nullopt;
    const auto alg = jwk.HasMember("alg") ? string_member(jwk, "alg") : default_alg;
    const auto kty = string_member(jwk, "kty");
    if (!alg || !kty) return std::nullopt;
    const auto rsa_alg = [&] {
        for (const char* a : {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"})
            if (*alg == a) return true;
        return false;
    };
    if (*kty == "RSA" && rsa_alg()) {
        for (const char* secret : {"d", "p", "q", "dp", "dq", "qi", "oth"})
            if (jwk.HasMember(secret)) return std::nullopt;
        if (!string_member(jwk, "n") || !string_member(jwk, "e")) return std::nullopt;
        return alg;
    }
    if (*kty == "oct" && (*alg == "HS256" || *alg == "HS384" || *alg == "HS512")) {
        // At least the hash's size: 32, 48, 64 bytes, that is 43, 64, 86
        // base64url characters.
        const std::size_t least = *alg == "HS256" ? 43 : *alg == "HS384" ? 64 : 86;
        const auto k = string_member(jwk, "k");
        if (!k || k->size() < least) return std::nullopt;
        return alg;
    }
    if (*kty == "EC") {
        // The curve the algorithm names, coordinates of its size (the point
        // on the curve is Nettle's check), no private part.
        const auto crv = string_member(jwk, "crv");
        const std::size_t chars = *alg == "ES256" ? 43 : *alg == "ES384" ? 64 : 88;
        const bool named = (*alg == "ES256" && crv == "P-256") ||
                           (*alg == "ES384" && crv == "P-384") ||
                           (*alg == "ES512" && crv == "P-521");
        const auto x = string_member(jwk, "x");
        const auto y = string_member(jwk, "y");
        if (!named || jwk.HasMember("d") || !x || !y || x->size() != chars || y->size() != chars)
            return std::nullopt;
        return alg;
    }
    if (*kty == "OKP" && (*alg == "EdDSA" || *alg == "Ed25519")) {
        const auto x = string_member(jwk, "x");
        if (string_member(jwk, "crv") != "Ed25519" || jwk.HasMember("d") || !x || x->size() != 43)
            return std::nullopt;
        return alg;
    }
    return std::nullopt;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    static constexpr std::optional<std::string_view> defaults[] = {std::nullopt, "HS256", "RS256",
                                                                   "ES256"};
    const std::optional<std::string_view> default_alg = defaults[data[0] % 4];
    const std::string_view json(reinterpret_cast<const char*>(data) + 1, size - 1);

    std::optional<jwtguard::JwksLoad> load;
    try {
        load.emplace(jwtguard::load_jwks(json, default_alg));
    } catch (const jwtguard::SetupError& e) {
        FUZZ_CHECK(e.code() == Error::key_invalid);
    }

    rapidjson::Document doc;
    // An escaped lone surrogate is refused like in a token (rapidjson's DOM
    // would keep it as invalid UTF-8).
    const bool usable = fuzz::parse_reference(json, doc) && !fuzz::has_surrogate(doc) &&
                        doc.IsObject() && unique_members(doc) && doc.HasMember("keys") &&
                        doc["keys"].IsArray();
    FUZZ_CHECK(load.has_value() == usable);
    if (!load) return 0;

    const auto& keys = doc["keys"].GetArray();
    FUZZ_CHECK(load->keys.size() + load->rejected.size() == keys.Size());
    std::size_t next = 0;  // rejections come in array order, each index once
    std::set<std::string_view> kids;
    std::size_t rejected_at = 0;
    for (std::size_t i = 0; i < keys.Size(); ++i) {
        const rapidjson::Value& jwk = keys[static_cast<rapidjson::SizeType>(i)];
        const bool rejected =
            rejected_at < load->rejected.size() && load->rejected[rejected_at].index == i;
        if (rejected) {
            const jwtguard::JwkRejection& r = load->rejected[rejected_at++];
            FUZZ_CHECK(r.index >= next);
            next = r.index + 1;
            FUZZ_CHECK(r.code == Error::key_invalid || r.code == Error::key_too_short);
            FUZZ_CHECK(!r.reason.empty());
            if (jwk.IsObject() && jwk.HasMember("kid") && jwk["kid"].IsString() &&
                unique_members(jwk))
                FUZZ_CHECK(r.kid == string_of(jwk["kid"]));
            continue;
        }
        const auto alg = loadable_alg(jwk, default_alg);
        FUZZ_CHECK(alg.has_value());
        if (jwk.HasMember("kid")) {
            const std::string_view kid = string_of(jwk["kid"]);
            FUZZ_CHECK(kids.insert(kid).second);  // a kid names one key
            const auto found = load->keys.find(kid, *alg);
            FUZZ_CHECK(found.error == Error::ok);
            FUZZ_CHECK(jwtguard::key_accepts(*found.key, *alg));
        }
    }
    FUZZ_CHECK(rejected_at == load->rejected.size());
    return 0;
}
