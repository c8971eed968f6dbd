// Data shared by the benchmarks: realistic jti values and denylists full of
// revocations whose exps crowd into the few buckets of one token lifetime.
#pragma once

#include <openssl/encoder.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <jwtguard/jwtguard.hpp>

#include <benchmark/benchmark.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "alloc_counter.hpp"  // tests/: every heap allocation, OpenSSL's included

namespace bench {

inline constexpr std::int64_t now = 1'700'000'000;
/// Every token lives 15 minutes: revocations fall into 15 one-minute buckets.
inline constexpr std::int64_t lifetime = 900;

/// UUID-shaped jti values (36 bytes): jti(i) of one family differs from
/// every other by its first 8 bytes (i times an odd constant, plus the
/// family), so the denylist memory a lookup probes is different every time.
class JtiMaker {
  public:
    static constexpr std::size_t size = 36;
    explicit JtiMaker(std::uint64_t family) : m_family(family) {
        for (auto& text : m_text)
            std::memcpy(text, template_jti, size);
    }
    /// jti(i), valid until `ring` more calls (for building denylists; lookup
    /// loops use JtiStream).
    std::string_view operator()(std::uint64_t i) noexcept {
        char* text = m_text[i % ring];
        write(m_family, i, text);
        return {text, size};
    }
    /// Writes the first 8 bytes of jti(i) of `family` over `text`, a copy of
    /// the template.
    static void write(std::uint64_t family, std::uint64_t i, char* text) noexcept {
        const std::uint64_t head = i * 0x9e3779b97f4a7c15ULL + family * 0x632be59bd9b4e019ULL;
        std::memcpy(text, &head, sizeof head);
    }
    /// The exp of token i: spread over one lifetime from now.
    [[nodiscard]] static std::int64_t exp(std::uint64_t i) noexcept {
        return now + 1 + static_cast<std::int64_t>((i * 2654435761u) % lifetime);
    }

    static constexpr char template_jti[] = "6ba7b810-9dad-11d1-80b4-00c04fd430c8";

  private:
    static constexpr std::size_t ring = 32;
    std::uint64_t m_family;
    char m_text[ring][48];
};

/// The jtis one benchmark loop looks up, in the order of the indices `next()`
/// returns: each call gives jti(i) and exp(i) of the next index.
///
/// Each jti is written `lead` calls before it is returned, so that its bytes
/// sit in L1 when the lookup hashes them, as a token's bytes do inside a
/// validation (decoded well before the denylist is asked). Written just
/// before, they would still be in the store buffer: XXH3 reads a 36-byte
/// input as overlapping 8-byte words (offsets 0, 4, 8, ... 28), which no
/// single store can forward, so every hash would wait for the store to
/// commit; and stores commit in order, only after everything before them,
/// the previous lookup's memory access included, has retired. That chains
/// "independent" lookups together (measured: 10M live, misses back to back,
/// 85-124 ns written just before, 54-58 ns written ahead; the hash alone,
/// one at a time, 17.5 against 14.9 ns).
template <class Next>
class JtiStream {
  public:
    struct Jti {
        std::string_view text;
        std::int64_t exp;
    };

    JtiStream(std::uint64_t family, Next next) : m_family(family), m_next(std::move(next)) {
        for (auto& slot : m_ring)
            std::memcpy(slot.text, JtiMaker::template_jti, JtiMaker::size);
        for (std::size_t k = 0; k < lead; ++k)
            prepare(m_ring[k]);
    }

    Jti operator()() noexcept {
        Slot& slot = m_ring[m_at % ring];
        const Jti jti{{slot.text, JtiMaker::size}, slot.exp};
        prepare(m_ring[(m_at + lead) % ring]);
        ++m_at;
        return jti;
    }

  private:
    static constexpr std::size_t ring = 32;
    static constexpr std::size_t lead = 16;
    struct Slot {
        char text[48];
        std::int64_t exp;
    };
    void prepare(Slot& slot) noexcept {
        const std::uint64_t i = m_next();
        JtiMaker::write(m_family, i, slot.text);
        slot.exp = JtiMaker::exp(i);
    }

    std::uint64_t m_family;
    Next m_next;
    Slot m_ring[ring];
    std::size_t m_at = 0;
};

/// Indices 0, 1, 2, ... (from `first`).
[[nodiscard]] inline auto sequential(std::uint64_t first = 0) {
    return [i = first]() mutable { return i++; };
}

inline constexpr std::uint64_t revoked_family = 1;  // jti(0 .. count-1) are revoked
inline constexpr std::uint64_t fresh_family = 2;    // never revoked

/// The floor of one denylist lookup: what no denylist of the issue's design
/// can avoid. The jti's fingerprint (`detail::fingerprint`, as the denylist
/// computes it: XXH3-128 seeded with the exp), then one random 64-byte line
/// read (all eight words) in a region the size of the smallest filter that
/// meets the 0.6% false-positive budget (12 bits per key for `keys` keys:
/// 1.5 MB at 1M, 15 MB at 10M), mapped as the denylist's tables are. For a
/// revoked token (`with_set`), also one random line of the smallest exact
/// set (16 bytes per key, full), the two reads issued together: both
/// addresses come from the hash alone. No buckets, no epoch, no bit tests.
class LookupFloor {
  public:
    LookupFloor(std::size_t keys, bool with_set)
        : m_filter_lines(keys * 12 / 512 + 1),
          m_set_lines(with_set ? keys * 16 / 64 : 0),
          m_memory((m_filter_lines + m_set_lines) * 64) {
        auto* words = static_cast<std::uint64_t*>(m_memory.data());
        for (std::size_t w = 0; w < (m_filter_lines + m_set_lines) * 8; ++w)
            words[w] = XXH3_64bits(&w, sizeof w);  // real pages, not the zero page
    }

    /// The lines' words folded with the fingerprint (0 almost never).
    [[nodiscard]] std::uint64_t probe(std::string_view jti, std::int64_t exp) const noexcept {
        const auto* words = static_cast<const std::uint64_t*>(m_memory.data());
        const jwtguard::detail::Fingerprint h = jwtguard::detail::fingerprint(
            jwtguard::detail::NameKind::jti, jti.data(), jti.size(), exp);
        const std::uint64_t* filter_line =
            words + jwtguard::detail::fast_range(h.hi, m_filter_lines) * 8;
        std::uint64_t folded = h.lo;
        for (std::size_t w = 0; w < 8; ++w)
            folded ^= filter_line[w];
        if (m_set_lines != 0) {
            const std::uint64_t* set_line =
                words + m_filter_lines * 8 + jwtguard::detail::fast_range(h.lo, m_set_lines) * 8;
            for (std::size_t w = 0; w < 8; ++w)
                folded ^= set_line[w];
        }
        return folded;
    }

  private:
    std::size_t m_filter_lines, m_set_lines;
    jwtguard::detail::LargeBuffer m_memory;
};

/// Who uses a shared denylist: benchmarks that add revocations get their
/// own, so that the others always see exactly `count` (benchmarks run in
/// random order).
enum class Use { lookups, writer, validate, validate_with_writer };

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

/// Revokes 100,000 fresh jtis per second into a denylist on its own thread
/// (1000 every 10 ms), from construction to destruction.
class RevocationWriter {
  public:
    explicit RevocationWriter(jwtguard::Denylist& denylist)
        : m_thread([this, &denylist] { run(denylist); }) {}
    RevocationWriter(const RevocationWriter&) = delete;
    RevocationWriter& operator=(const RevocationWriter&) = delete;
    ~RevocationWriter() {
        m_stop = true;
        m_thread.join();
    }

  private:
    void run(jwtguard::Denylist& denylist) {
        JtiMaker jti(3);
        std::uint64_t next = 0;
        auto tick = std::chrono::steady_clock::now();
        while (!m_stop.load(std::memory_order_relaxed)) {
            for (int k = 0; k < 1000; ++k, ++next)
                (void)denylist.revoke_jti(jti(next), JtiMaker::exp(next));
            tick += std::chrono::milliseconds(10);
            std::this_thread::sleep_until(tick);
        }
    }
    std::atomic<bool> m_stop{false};
    std::thread m_thread;
};

/// The calling thread's heap allocations (OpenSSL's included) from
/// construction to report(), per iteration: build it just before the loop.
class AllocationMeter {
  public:
    void report(benchmark::State& state) const {
        const auto count = alloc_counter::thread_allocations() - m_start;
        const auto iterations = state.iterations() > 0 ? state.iterations() : 1;
        state.counters["allocs_per_op"] =
            benchmark::Counter(static_cast<double>(count) / static_cast<double>(iterations),
                               benchmark::Counter::kAvgThreads);
    }

  private:
    std::size_t m_start = alloc_counter::thread_allocations();
};

/// The claim policy every validation benchmark uses (the realistic
/// payload's issuer and one of its audiences).
inline jwtguard::Validator::Options policy() {
    jwtguard::Validator::Options options;
    options.issuers = {"https://auth.example.com/"};
    options.audiences = {"https://api.example.com"};
    return options;
}

/// The realistic claims every validation benchmark uses (iss, sub, two
/// audiences, exp, nbf, iat, a UUID jti, email, roles, scope: ~330 bytes),
/// with a jti to vary.
inline std::string realistic_payload(
    std::string_view jti = "6ba7b810-9dad-11d1-80b4-00c04fd430c8") {
    return R"({"iss":"https://auth.example.com/","sub":"user-8f14e45f-ceea-467f-a8f0-2c7d9a1b3e5c","aud":["https://api.example.com","https://admin.example.com"],"exp":1700003600,"nbf":1699999990,"iat":1700000000,"jti":")" +
           std::string(jti) +
           R"(","email":"alice.liddell@example.com","roles":["reader","writer","billing-admin"],"scope":"openid profile email"})";
}

/// Claims shaped like a Keycloak access token: the realistic ones' kind of
/// registered claims plus nested objects (~650 bytes, 7 members below the
/// top level).
inline std::string nested_payload() {
    return R"({"exp":1700003600,"iat":1700000000,"jti":"6ba7b810-9dad-11d1-80b4-00c04fd430c8","iss":"https://auth.example.com/realms/demo","aud":"account","sub":"8f14e45f-ceea-467f-a8f0-2c7d9a1b3e5c","typ":"Bearer","azp":"web-app","session_state":"1c1a2a3b-4c5d-6e7f-8091-a2b3c4d5e6f7","realm_access":{"roles":["offline_access","uma_authorization","default-roles-demo"]},"resource_access":{"account":{"roles":["manage-account","view-profile"]},"web-app":{"roles":["reader"]}},"scope":"openid email profile","email_verified":true,"name":"Alice Liddell","preferred_username":"alice","address":{"country":"GB","locality":"Oxford"},"email":"alice.liddell@example.com"})";
}

inline constexpr std::string_view hs256_secret = "0123456789abcdef0123456789abcdef:bench-secret";

/// The floor of every HS256 row: OpenSSL's HMAC-SHA256 with the pads
/// precomputed (each MAC starts from a copy of the SHA256_CTX after
/// key ^ ipad and key ^ opad, then SHA256_Update and SHA256_Final), and the
/// constant-time compare: the fastest way OpenSSL's interface offers, what
/// any HS256 validation must at least spend. (jwtguard's Hs256Key ends each
/// run without SHA256_Final's buffering and cleansing, hmac.hpp, and so
/// runs a little below it: BM_hs256_verify.)
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#endif
class OpensslHmacFloor {
  public:
    explicit OpensslHmacFloor(std::string_view secret) {
        unsigned char block[SHA256_CBLOCK] = {}, pad[SHA256_CBLOCK];
        std::memcpy(block, secret.data(), secret.size());  // a bench secret: < 64 bytes
        for (int i = 0; i < SHA256_CBLOCK; ++i)
            pad[i] = block[i] ^ 0x36;
        SHA256_Init(&m_inner);
        SHA256_Update(&m_inner, pad, sizeof pad);
        for (int i = 0; i < SHA256_CBLOCK; ++i)
            pad[i] = block[i] ^ 0x5c;
        SHA256_Init(&m_outer);
        SHA256_Update(&m_outer, pad, sizeof pad);
    }
    void mac(std::string_view input, unsigned char (&out)[32]) const noexcept {
        unsigned char mid[32];
        SHA256_CTX ctx = m_inner;
        SHA256_Update(&ctx, input.data(), input.size());
        SHA256_Final(mid, &ctx);
        ctx = m_outer;
        SHA256_Update(&ctx, mid, sizeof mid);
        SHA256_Final(out, &ctx);
    }
    [[nodiscard]] bool verify(std::string_view input,
                              const unsigned char* expected) const noexcept {
        unsigned char out[32];
        mac(input, out);
        return CRYPTO_memcmp(out, expected, 32) == 0;
    }

  private:
    SHA256_CTX m_inner, m_outer;
};
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

/// The HS256 benchmarks' token: alg/typ/kid header and the realistic claims.
inline const std::string& hs256_token() {
    static const std::string t =
        jwtguard::sign(jwtguard::Hs256Key(hs256_secret), realistic_payload(),
                       {.kid = std::string("2026-11-key-1")});
    return t;
}

/// A 2048-bit RSA key made for the run, its public PEM, and one signed token.
struct Rs256Fixture {
    static constexpr std::string_view kid = "2026-11-rsa";
    EVP_PKEY* pkey = EVP_RSA_gen(2048);
    std::string pem;
    std::string token;
    std::string signing_input;
    std::string signature;

    Rs256Fixture() {
        OSSL_ENCODER_CTX* ctx = OSSL_ENCODER_CTX_new_for_pkey(pkey, EVP_PKEY_PUBLIC_KEY, "PEM",
                                                              "SubjectPublicKeyInfo", nullptr);
        unsigned char* data = nullptr;
        std::size_t size = 0;
        OSSL_ENCODER_to_data(ctx, &data, &size);
        OSSL_ENCODER_CTX_free(ctx);
        pem.assign(reinterpret_cast<char*>(data), size);
        OPENSSL_free(data);
        token = sign(realistic_payload(), &signing_input, &signature);
    }

    /// A token over `payload` (thread-safe: one signing context per call).
    std::string sign(const std::string& payload, std::string* input_out = nullptr,
                     std::string* signature_out = nullptr) const {
        std::string input =
            jwtguard::base64url_encode(R"({"alg":"RS256","typ":"JWT","kid":"2026-11-rsa"})");
        input += '.';
        input += jwtguard::base64url_encode(payload);
        EVP_MD_CTX* md = EVP_MD_CTX_new();
        std::size_t length = 0;
        EVP_DigestSignInit(md, nullptr, EVP_sha256(), nullptr, pkey);
        EVP_DigestSign(md, nullptr, &length, reinterpret_cast<const unsigned char*>(input.data()),
                       input.size());
        std::string sig(length, '\0');
        EVP_DigestSign(md, reinterpret_cast<unsigned char*>(sig.data()), &length,
                       reinterpret_cast<const unsigned char*>(input.data()), input.size());
        EVP_MD_CTX_free(md);
        std::string t = input + "." + jwtguard::base64url_encode(sig);
        if (input_out != nullptr) *input_out = std::move(input);
        if (signature_out != nullptr) *signature_out = std::move(sig);
        return t;
    }

    /// A validator trusting the key, with the benchmarks' claim policy.
    [[nodiscard]] jwtguard::Validator validator(jwtguard::Validator::Options options = {}) const {
        jwtguard::KeySet keys;
        keys.add(jwtguard::Rs256Key::from_pem(pem), std::string(kid));
        options.issuers = policy().issuers;
        options.audiences = policy().audiences;
        return jwtguard::Validator(std::move(keys), std::move(options));
    }
};

inline const Rs256Fixture& rs256_fixture() {
    static const Rs256Fixture f;
    return f;
}

}  // namespace bench
