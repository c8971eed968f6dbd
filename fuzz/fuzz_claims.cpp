// The claims handler on arbitrary JSON, against rapidjson's DOM: the same
// structural verdict, the same first semantic error, the same registered
// claims; NumericDates against an exact reading of the number's text.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fuzz_json_reference.hpp"
#include "fuzz_support.hpp"
#include "jwtguard/claims.hpp"
#include "jwtguard/json.hpp"

using jwtguard::Error;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size > jwtguard::max_token_size_limit) return 0;  // no payload is larger
    const std::string_view json(reinterpret_cast<const char*>(data), size);
    jwtguard::detail::JsonBuffer buffer(json);
    auto claims = std::make_unique<jwtguard::Claims>();
    const Error got = jwtguard::detail::parse_claims(buffer.data(), buffer.size(), *claims);

    fuzz::Dom dom;
    if (!fuzz::structure_agrees(json, got, true, dom)) return 0;

    Error expected = Error::ok;
    auto fail = [&](Error e) {
        if (expected == Error::ok) expected = e;
    };
    std::optional<std::string_view> iss, sub, jti;
    std::optional<std::int64_t> exp, nbf, iat;
    bool has_aud = false;
    std::vector<std::string_view> aud;
    auto audience = [&](const rapidjson::Value& v) {
        if (!v.IsString()) return fail(Error::aud_invalid);
        if (aud.size() == jwtguard::max_audiences) return fail(Error::aud_too_many);
        aud.push_back(fuzz::string_of(v));
    };
    const auto text_root = std::as_const(dom.text).GetObject();
    auto text_member = text_root.begin();
    for (const auto& m : std::as_const(dom.typed).GetObject()) {
        const std::string_view name = fuzz::string_of(m.name);
        const rapidjson::Value& number_text = (text_member++)->value;
        const std::optional<std::string_view> text =
            m.value.IsString() ? std::optional(fuzz::string_of(m.value)) : std::nullopt;
        auto date = [&](std::optional<std::int64_t>& out, Error invalid) {
            const auto d = m.value.IsNumber() ? fuzz::reference_date(fuzz::string_of(number_text))
                                              : std::nullopt;
            d ? void(out = d->seconds) : fail(invalid);
            if (d) {
                // The fraction a maximum lifetime is compared on, exactly.
                std::int64_t seconds = 0;
                jwtguard::detail::DateFraction fraction;
                FUZZ_CHECK(jwtguard::detail::parse_numeric_date(fuzz::string_of(number_text),
                                                                seconds, &fraction));
                FUZZ_CHECK(seconds == d->seconds);
                FUZZ_CHECK(fraction.digits == d->fraction_digits);
                FUZZ_CHECK(fraction.more == d->fraction_more);
            }
        };
        if (name == "iss") {
            text ? void(iss = text) : fail(Error::iss_invalid);
        } else if (name == "sub") {
            text ? void(sub = text) : fail(Error::sub_invalid);
        } else if (name == "jti") {
            text ? void(jti = text) : fail(Error::jti_invalid);
        } else if (name == "exp") {
            date(exp, Error::exp_invalid);
        } else if (name == "nbf") {
            date(nbf, Error::nbf_invalid);
        } else if (name == "iat") {
            date(iat, Error::iat_invalid);
        } else if (name == "aud") {
            has_aud = true;
            if (m.value.IsArray()) {
                for (const auto& e : m.value.GetArray())
                    audience(e);
                if (aud.empty()) fail(Error::aud_invalid);
            } else {
                audience(m.value);
            }
        }
    }
    FUZZ_CHECK(got == expected);
    if (got != Error::ok) return 0;
    FUZZ_CHECK(claims->iss == iss);
    FUZZ_CHECK(claims->sub == sub);
    FUZZ_CHECK(claims->jti == jti);
    FUZZ_CHECK(claims->exp == exp);
    FUZZ_CHECK(claims->nbf == nbf);
    FUZZ_CHECK(claims->iat == iat);
    FUZZ_CHECK(claims->has_aud() == has_aud);
    const auto got_aud = claims->aud();
    FUZZ_CHECK(std::vector<std::string_view>(got_aud.begin(), got_aud.end()) == aud);
    return 0;
}
