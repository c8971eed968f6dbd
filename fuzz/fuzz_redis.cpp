// Arbitrary bytes as what the Redis mirror reads from Redis: a revocation's
// text form (a stream entry's "r" field or a sorted-set member, which anyone
// with access to Redis can write) and a stream entry id. The parser must
// never crash, must accept exactly what an independent reading of the
// grammar in redis.hpp accepts, and an accepted text must be the one
// spelling format_revocation() gives its revocation. Ids that parse must
// survive a round trip through their canonical text.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_support.hpp"
#include "jwtguard/redis.hpp"

namespace {

constexpr std::int64_t no_exp = INT64_MAX;
constexpr std::int64_t max_date = std::int64_t{1} << 53;

/// A date field: "none", or decimal digits without a leading zero, at most 2^53.
bool reference_date(std::string_view s, std::int64_t& out) {
    if (s == "none") {
        out = no_exp;
        return true;
    }
    if (s.empty() || s.size() > 16 || (s.size() > 1 && s[0] == '0')) return false;
    std::int64_t v = 0;
    for (const char c : s) {
        if (c < '0' || c > '9') return false;
        v = v * 10 + (c - '0');
    }
    out = v;
    return v <= max_date;
}

bool reference_fingerprint(std::string_view s) {
    if (s.size() != 32) return false;
    bool hi_nonzero = false;
    for (std::size_t i = 0; i < 32; ++i) {
        const char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
        if (i >= 16 && c != '0') hi_nonzero = true;
    }
    return hi_nonzero;  // hi == 0 is the empty-slot marker
}

/// The grammar read anew: fields separated by single spaces.
bool reference_accepts(std::string_view text) {
    std::vector<std::string_view> fields;
    std::size_t start = 0;
    for (;;) {
        const std::size_t space = text.find(' ', start);
        fields.push_back(
            text.substr(start, space == std::string_view::npos ? space : space - start));
        if (space == std::string_view::npos) break;
        start = space + 1;
    }
    std::int64_t first = 0;
    std::int64_t last = 0;
    if (fields.size() == 4 && fields[0] == "token")
        return reference_date(fields[1], first) && reference_date(fields[2], last) &&
               reference_fingerprint(fields[3]) &&
               // One exp, none twice, or a range shorter than a year.
               (first == no_exp || last == no_exp ? first == last
                                                  : first <= last && last - first < 86400 * 365);
    if (fields.size() == 3 && fields[0] == "subject")
        return reference_date(fields[1], first) && first != no_exp &&
               reference_fingerprint(fields[2]);
    return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);

    jwtguard::Revocation r;
    const bool accepted = jwtguard::detail::parse_revocation(text, r);
    FUZZ_CHECK(accepted == reference_accepts(text));
    if (accepted) {
        FUZZ_CHECK(jwtguard::detail::record_valid(r));
        FUZZ_CHECK(jwtguard::detail::format_revocation(r) == text);
    }

    if (const auto id = jwtguard::detail::StreamId::parse(text)) {
        const auto again = jwtguard::detail::StreamId::parse(id->text());
        FUZZ_CHECK(again && *again == *id);
    }
    return 0;
}
