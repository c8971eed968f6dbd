// Whole tokens through a Validator holding an HS256 key ("hs") and an RS256
// key ("rs"), with a denylist. The first input byte can have the harness
// sign the token's own prefix with either key, so that the fuzzer reaches
// the payload and claims stages too. Checked on every input: no crash, no
// exception, no allocation (where ASan can count them), and an accepted
// token must carry a signature recomputed independently with bare OpenSSL,
// claims that hold at `now`, and no revoked jti or subject.
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "../tests/test_rsa.hpp"
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

    Fixture() {
        jwtguard::KeySet keys;
        keys.add(hs, "hs");
        keys.add(rs_private.public_key(), "rs");
        denylist.revoke_jti("revoked", revoked_exp);
        denylist.revoke_subject("logged-out", fuzz::now);
        jwtguard::ValidatorOptions options;
        options.denylist = &denylist;
        options.audiences = {"api"};
        validator = std::make_unique<jwtguard::Validator>(std::move(keys), options);
        // First use of each key on this thread sets up per-thread state
        // (epoch slot, RSA scratch): done here, outside the counted calls.
        const std::string claims = R"({"exp":)" + std::to_string(fuzz::now + 60) + "}";
        jwtguard::Claims c;
        FUZZ_CHECK(validator->validate(jwtguard::sign(hs, claims, {.kid = "hs"}), fuzz::now, c) ==
                   Error::ok);
        FUZZ_CHECK(validator->validate(jwtguard::sign(rs_private, claims, {.kid = "rs"}), fuzz::now,
                                       c) == Error::ok);
    }
};

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
    const std::size_t before = fuzz::allocations.load();
    const Error result = f.validator->validate(token, fuzz::now, *claims);
    if (counting) FUZZ_CHECK(fuzz::allocations.load() == before);
    FUZZ_CHECK(jwtguard::to_string(result) != "unknown_error");
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
    if (claims->has_aud()) {
        bool ours = false;
        for (const std::string_view a : claims->aud())
            ours |= a == "api";
        FUZZ_CHECK(ours);
    }
    FUZZ_CHECK(!(claims->jti == "revoked" && claims->exp == revoked_exp));
    FUZZ_CHECK(claims->sub != "logged-out" || claims->iat == fuzz::now);
    return 0;
}
