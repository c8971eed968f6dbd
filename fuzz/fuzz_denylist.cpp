// A byte string read as denylist options and then a sequence of operations
// (revoke a jti, look one up, revoke a subject, read a cut-off, check a
// token's claims, advance time), each checked against a reference model
// built from std::map. The guarantees checked are DESIGN.md's: no false
// positive ever, nothing lost while its token lives (exp + leeway + one
// bucket width), nothing kept once exp + leeway + two widths have passed,
// and subject cut-offs kept until cut-off + lifetime + leeway + one width.
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "fuzz_support.hpp"
#include "jwtguard/claims.hpp"
#include "jwtguard/denylist.hpp"

using jwtguard::Error;
using jwtguard::RevokeResult;

namespace {

struct Reader {
    const std::uint8_t* data;
    std::size_t size;
    std::size_t at = 0;
    [[nodiscard]] bool has(std::size_t n) const { return at + n <= size; }
    std::uint8_t next() { return at < size ? data[at++] : 0; }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    Reader in{data, size};
    if (!in.has(4)) return 0;
    jwtguard::DenylistOptions o;
    o.bucket_width = 1 + in.next() % 64;
    o.horizon = std::int64_t{in.next()} * 15;
    o.leeway = in.next() % 100;
    const std::uint8_t b = in.next();
    o.shards = std::size_t{1} << (b % 4);
    o.max_token_lifetime = std::int64_t{b >> 2} * 50;
    const std::int64_t w = o.bucket_width;
    std::int64_t t = fuzz::now;
    jwtguard::Denylist d(o, t);

    // (jti, exp) -> revoked, exp -1 standing for "no exp"; sub -> cut-off.
    std::map<std::pair<std::string, std::int64_t>, bool> revoked;
    std::map<std::string, std::int64_t> cutoffs;
    static auto claims = std::make_unique<jwtguard::Claims>();

    auto exp_from = [&](std::uint8_t kind, std::uint8_t x) -> std::int64_t {
        switch (kind % 4) {
            case 0:
                return -1;
            case 1:  // an exact bucket edge near now
                return (t / w + x % 5 - 2) * w + (x / 5 % 2) * (w - 1);
            case 2:  // beyond the horizon
                return t + o.horizon + std::int64_t{x} * 37;
            default:
                return t - 200 + (std::int64_t{x} * 16) % (o.horizon + 600);
        }
    };
    auto as_optional = [](std::int64_t e) {
        return e < 0 ? std::optional<std::int64_t>() : std::optional<std::int64_t>(e);
    };
    auto live = [&](std::int64_t e) { return e < 0 || t < e + o.leeway + w; };
    auto subject_live = [&](std::int64_t cutoff) {
        return o.max_token_lifetime == 0 || t < cutoff + o.max_token_lifetime + o.leeway + w;
    };

    while (in.has(4)) {
        const std::uint8_t op = in.next();
        const std::uint8_t name_byte = in.next();
        const std::uint8_t x = in.next();
        const std::uint8_t y = in.next();
        const std::string name(1, static_cast<char>('a' + name_byte % 16));
        const std::int64_t e = exp_from(name_byte >> 4, x);
        switch (op % 6) {
            case 0: {
                const RevokeResult r = d.revoke_jti(name, as_optional(e));
                if (r == RevokeResult::already_expired) {
                    FUZZ_CHECK(!live(e));  // only an expired token may be refused
                } else {
                    FUZZ_CHECK(r == (revoked.count({name, e}) ? RevokeResult::already_revoked
                                                              : RevokeResult::added));
                    revoked[{name, e}] = true;
                }
                break;
            }
            case 1: {
                const bool got = d.is_revoked(name, as_optional(e));
                const bool is = revoked.count({name, e}) > 0;
                if (!is) FUZZ_CHECK(!got);           // no false positive
                if (is && live(e)) FUZZ_CHECK(got);  // nothing lost
                if (is && e >= 0 && t >= e + o.leeway + 2 * w) FUZZ_CHECK(!got);
                break;
            }
            case 2: {
                const std::int64_t cutoff = t - 400 + std::int64_t{x} * 4;
                const RevokeResult r = d.revoke_subject(name, cutoff);
                const auto old = cutoffs.find(name);
                if (!subject_live(cutoff)) {
                    FUZZ_CHECK(r == RevokeResult::already_expired);
                } else if (old != cutoffs.end() && old->second >= cutoff) {
                    FUZZ_CHECK(r == RevokeResult::already_revoked);
                } else {
                    FUZZ_CHECK(r == RevokeResult::added);
                    cutoffs[name] = cutoff;
                }
                break;
            }
            case 3: {
                const auto got = d.subject_cutoff(name);
                const auto it = cutoffs.find(name);
                FUZZ_CHECK(got == (it == cutoffs.end() ? std::nullopt
                                                       : std::optional<std::int64_t>(it->second)));
                break;
            }
            case 4: {  // a validated token's verdict
                claims->jti = name;
                claims->exp = as_optional(e);
                if (y & 1)
                    claims->sub = name;
                else
                    claims->sub.reset();
                if (y & 2)
                    claims->iat = t - 400 + std::int64_t{x} * 4;
                else
                    claims->iat.reset();
                const Error got = d.check(*claims, {});
                const bool is = revoked.count({name, e}) > 0;
                const auto cut = claims->sub ? cutoffs.find(name) : cutoffs.end();
                const bool subject =
                    cut != cutoffs.end() && (!claims->iat || *claims->iat < cut->second);
                if (is && live(e)) FUZZ_CHECK(got == Error::revoked);
                if (!is) FUZZ_CHECK(got == (subject ? Error::subject_revoked : Error::ok));
                break;
            }
            default: {
                t += (std::int64_t{x} << 8 | y) % (3 * w + 1);
                d.advance(t);
                for (auto it = revoked.begin(); it != revoked.end();) {
                    const std::int64_t exp = it->first.second;
                    it =
                        exp >= 0 && t >= exp + o.leeway + 2 * w ? revoked.erase(it) : std::next(it);
                }
                for (auto it = cutoffs.begin(); it != cutoffs.end();)
                    it = subject_live(it->second) ? std::next(it) : cutoffs.erase(it);
                break;
            }
        }
    }
    std::size_t must_be_there = 0;
    for (const auto& [key, value] : revoked)
        must_be_there += live(key.second);
    FUZZ_CHECK(d.size() >= must_be_there);
    FUZZ_CHECK(d.size() <= revoked.size());
    return 0;
}
