// Data shared by the benchmarks: realistic jti values and denylists full of
// revocations whose exps crowd into the few buckets of one token lifetime.
#pragma once

#include <jwtguard/denylist.hpp>

#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <string_view>
#include <vector>

namespace bench {

inline constexpr std::int64_t now = 1'700'000'000;
/// Every token lives 15 minutes: revocations fall into 15 one-minute buckets.
inline constexpr std::int64_t lifetime = 900;

/// UUID-shaped jti values (36 bytes), made on the fly in one buffer: jti(i)
/// of one family differs from every other by its first 8 bytes (i times an
/// odd constant, plus the family). A lookup thus starts from a jti string
/// that is in L1 (as the token's own bytes are inside a validation), while
/// the denylist memory it probes is different every time.
class JtiMaker {
  public:
    static constexpr std::size_t size = 36;
    explicit JtiMaker(std::uint64_t family) : m_family(family * 0x632be59bd9b4e019ULL) {
        for (auto& text : m_text)
            std::memcpy(text, "6ba7b810-9dad-11d1-80b4-00c04fd430c8", size);
    }
    std::string_view operator()(std::uint64_t i) noexcept {
        // A ring of buffers, so that consecutive lookups do not reuse one.
        char* text = m_text[i % ring];
        const std::uint64_t head = i * 0x9e3779b97f4a7c15ULL + m_family;
        std::memcpy(text, &head, sizeof head);
        return {text, size};
    }
    /// The exp of token i: spread over one lifetime from now.
    [[nodiscard]] static std::int64_t exp(std::uint64_t i) noexcept {
        return now + 1 + static_cast<std::int64_t>((i * 2654435761u) % lifetime);
    }

  private:
    static constexpr std::size_t ring = 32;
    std::uint64_t m_family;
    char m_text[ring][48];
};

inline constexpr std::uint64_t revoked_family = 1;  // jti(0 .. count-1) are revoked
inline constexpr std::uint64_t fresh_family = 2;    // never revoked

/// Who uses a shared denylist: benchmarks that add revocations get their
/// own, so that the others always see exactly `count` (benchmarks run in
/// random order).
enum class Use { lookups, writer, validate };

/// A denylist holding `count` live revocations (built once per count and use).
inline jwtguard::Denylist& denylist_with(std::size_t count, Use use = Use::lookups) {
    static std::map<std::pair<std::size_t, Use>, std::unique_ptr<jwtguard::Denylist>> cache;
    auto& slot = cache[{count, use}];
    if (!slot) {
        slot = std::make_unique<jwtguard::Denylist>(jwtguard::DenylistOptions{}, now);
        JtiMaker jti(revoked_family);
        for (std::uint64_t i = 0; i < count; ++i)
            slot->revoke_jti(jti(i), JtiMaker::exp(i));
    }
    return *slot;
}

}  // namespace bench
