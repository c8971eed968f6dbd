// Whole tokens through a Validator holding an HS256 key ("hs") and an RS256
// key ("rs"), with a denylist. The first input byte can have the harness
// sign the token's own prefix with either key, so that the fuzzer reaches
// the payload and claims stages too. Checked on every input: no crash, no
// exception, no allocation (where ASan can count them), and an accepted
// token must carry a signature recomputed independently with bare OpenSSL,
// claims that hold at `now`, and no revoked jti or subject. A second
// Validator, the same but with a small verified-token cache, validates each
// input twice (the second time usually from its cache, at a `now` that bits
// 2-3 of the first byte move forward): verdicts and Claims must be those of
// the uncached one. A third Validator, without the denylist's prefetch hint
// (which reads the payload before the signature holds), must give the same
// verdict and Claims.
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "../tests/test_keys.hpp"
#include "fuzz_support.hpp"
#include "jwtguard/jwtguard.hpp"

using jwtguard::Error;

namespace {

constexpr std::int64_t revoked_exp = fuzz::now + 3600;

struct Fixture {
    jwtguard::Hs256Key hs{fuzz::hs256_secret};
    jwtguard::Rs256PrivateKey rs_private =
        jwtguard::Rs256PrivateKey::from_pem(fuzz::rs256_private_pem);
    jwtguard::Denylist denylist{{}, fuzz::now};
    std::unique_ptr<jwtguard::Validator> validator;
    std::unique_ptr<jwtguard::Validator> cached;
    std::unique_ptr<jwtguard::Validator> unhinted;  // no denylist prefetch hint

    Fixture() {
        jwtguard::KeySet keys;
        keys.add(hs, "hs");
        keys.add(rs_private.public_key(), "rs");
        denylist.revoke_jti("revoked", revoked_exp);
        denylist.revoke_subject("logged-out", fuzz::now);
        jwtguard::ValidatorOptions options;
        options.denylist = &denylist;
        options.audiences = {"api"};
        options.denylist_prefetch = true;
        validator = std::make_unique<jwtguard::Validator>(keys, options);
        options.denylist_prefetch = false;
        unhinted = std::make_unique<jwtguard::Validator>(keys, options);
        options.denylist_prefetch = true;
        options.token_cache.entries = 8;
        cached = std::make_unique<jwtguard::Validator>(std::move(keys), options);
        // First use of each key on this thread sets up per-thread state
        // (epoch slot, RSA scratch): done here, outside the counted calls.
        const std::string claims = R"({"aud":"api","exp":)" + std::to_string(fuzz::now + 60) + "}";
        jwtguard::Claims c;
        FUZZ_CHECK(validator->validate(jwtguard::sign(hs, claims, {.kid = "hs"}), fuzz::now, c) ==
                   Error::ok);
        FUZZ_CHECK(validator->validate(jwtguard::sign(rs_private, claims, {.kid = "rs"}), fuzz::now,
                                       c) == Error::ok);
    }
};

/// Every field a caller can read is the same.
bool same_claims(const jwtguard::Claims& a, const jwtguard::Claims& b) {
    if (a.header.alg != b.header.alg || a.header.kid != b.header.kid ||
        a.header.typ != b.header.typ || a.header.cty != b.header.cty || a.iss != b.iss ||
        a.sub != b.sub || a.jti != b.jti || a.exp != b.exp || a.nbf != b.nbf || a.iat != b.iat ||
        a.has_aud() != b.has_aud() || a.aud().size() != b.aud().size() ||
        a.payload_json() != b.payload_json())
        return false;
    for (std::size_t i = 0; i < a.aud().size(); ++i)
        if (a.aud()[i] != b.aud()[i]) return false;
    return true;
}

Fixture& fixture() {
    static Fixture f;
    return f;
}

std::string decode(std::string_view text) {
    std::string out(jwtguard::base64url_decoded_size(text.size()), '\0');
    std::size_t size = 0;
    if (jwtguard::base64url_decode(text, reinterpret_cast<unsigned char*>(out.data()), size) !=
        jwtguard::Base64Status::ok)
        return {};
    out.resize(size);
    return out;
}

bool hmac_holds(std::string_view input, std::string_view signature) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    HMAC(EVP_sha256(), fuzz::hs256_secret.data(), static_cast<int>(fuzz::hs256_secret.size()),
         reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &size);
    return signature.size() == size &&
           std::string_view(reinterpret_cast<char*>(mac), size) == signature;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    Fixture& f = fixture();
    std::string token(reinterpret_cast<const char*>(data) + 1, size - 1);
    const std::size_t dot = token.rfind('.');
    if (dot != std::string::npos && (data[0] & 3) != 0 && (data[0] & 3) != 3) {
        const std::string_view input(token.data(), dot);
        const std::string signature =
            (data[0] & 3) == 1 ? f.hs.sign(input) : f.rs_private.sign(input);
        token.resize(dot + 1);
        jwtguard::base64url_encode(signature, token);
    }

    const bool counting = fuzz::count_allocations();
    auto claims = std::make_unique<jwtguard::Claims>();
    // The first validation decodes and parses the header; the ones below
    // recall it from the thread's memo if the signature held, and must
    // agree (header_memo.hpp).
    jwtguard::detail::HeaderMemo::local().clear();
    const std::size_t before = fuzz::allocations.load();
    const Error result = f.validator->validate(token, fuzz::now, *claims);
    if (counting) FUZZ_CHECK(fuzz::allocations.load() == before);
    FUZZ_CHECK(jwtguard::to_string(result) != "unknown_error");

    // Without the denylist's prefetch hint (read from the unverified
    // payload): the same verdict and claims, whatever the hint found.
    auto unhinted = std::make_unique<jwtguard::Claims>();
    FUZZ_CHECK(f.unhinted->validate(token, fuzz::now, *unhinted) == result);
    if (result == Error::ok) FUZZ_CHECK(same_claims(*claims, *unhinted));

    // The cached validator agrees, on a miss (insert) and on a hit.
    auto from_cache = std::make_unique<jwtguard::Claims>();
    auto fresh = std::make_unique<jwtguard::Claims>();
    const std::size_t cached_before = fuzz::allocations.load();
    FUZZ_CHECK(f.cached->validate(token, fuzz::now, *from_cache) == result);
    if (result == Error::ok) FUZZ_CHECK(same_claims(*claims, *from_cache));
    const std::int64_t later = fuzz::now + ((data[0] >> 2) & 3) * 1800;
    const Error at_later = f.validator->validate(token, later, *fresh);
    FUZZ_CHECK(f.cached->validate(token, later, *from_cache) == at_later);
    if (at_later == Error::ok) FUZZ_CHECK(same_claims(*fresh, *from_cache));
    if (counting) FUZZ_CHECK(fuzz::allocations.load() == cached_before);
    if (result != Error::ok) return 0;

    // Accepted: the signature must be the key's, recomputed here.
    const std::size_t last = token.rfind('.');
    FUZZ_CHECK(last != std::string::npos);
    const std::string_view input(token.data(), last);
    const std::string signature = decode(std::string_view(token).substr(last + 1));
    FUZZ_CHECK(claims->header.alg.has_value());
    if (*claims->header.alg == "HS256") {
        FUZZ_CHECK(hmac_holds(input, signature));
    } else {
        FUZZ_CHECK(*claims->header.alg == "RS256");
        FUZZ_CHECK(jwtguard::test::openssl_verify(fuzz::openssl_rs256_key(), input, signature));
    }
    // Claims that hold at now (leeway 0), and nothing revoked.
    FUZZ_CHECK(claims->exp.has_value() && fuzz::now < *claims->exp);
    FUZZ_CHECK(!claims->nbf || *claims->nbf <= fuzz::now);
    FUZZ_CHECK(!claims->iat || *claims->iat <= fuzz::now);
    // An audience is configured: aud is required and names it.
    FUZZ_CHECK(claims->has_aud());
    bool ours = false;
    for (const std::string_view a : claims->aud())
        ours |= a == "api";
    FUZZ_CHECK(ours);
    FUZZ_CHECK(!(claims->jti == "revoked" && claims->exp == revoked_exp));
    FUZZ_CHECK(claims->sub != "logged-out" || claims->iat == fuzz::now);
    return 0;
}
