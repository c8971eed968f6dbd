// The JOSE header handler on arbitrary JSON, against rapidjson's DOM: the
// same structural verdict, the same first semantic error (crit, a
// parameter of the wrong type), the same alg, kid, typ and cty.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "fuzz_json_reference.hpp"
#include "fuzz_support.hpp"
#include "jwtguard/claims.hpp"
#include "jwtguard/json.hpp"

using jwtguard::Error;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size > jwtguard::max_token_size_limit) return 0;  // no header is larger
    const std::string_view json(reinterpret_cast<const char*>(data), size);
    jwtguard::detail::JsonBuffer buffer(json);
    jwtguard::Header header;
    const Error got = jwtguard::detail::parse_header(buffer.data(), buffer.size(), header);

    fuzz::Dom dom;
    if (!fuzz::structure_agrees(json, got, false, dom)) return 0;

    Error expected = Error::ok;
    std::optional<std::string_view> alg, kid, typ, cty;
    auto fail = [&](Error e) {
        if (expected == Error::ok) expected = e;
    };
    for (const auto& m : std::as_const(dom.typed).GetObject()) {
        const std::string_view name = fuzz::string_of(m.name);
        const std::optional<std::string_view> text =
            m.value.IsString() ? std::optional(fuzz::string_of(m.value)) : std::nullopt;
        if (name == "crit")
            fail(Error::crit_unsupported);
        else if (name == "alg")
            text ? void(alg = text) : fail(Error::alg_invalid);
        else if (name == "kid")
            text ? void(kid = text) : fail(Error::kid_invalid);
        else if (name == "typ")
            text ? void(typ = text) : fail(Error::typ_invalid);
        else if (name == "cty")
            text ? void(cty = text) : fail(Error::cty_invalid);
    }
    FUZZ_CHECK(got == expected);
    if (got == Error::ok) {
        FUZZ_CHECK(header.alg == alg);
        FUZZ_CHECK(header.kid == kid);
        FUZZ_CHECK(header.typ == typ);
        FUZZ_CHECK(header.cty == cty);
    }
    return 0;
}
