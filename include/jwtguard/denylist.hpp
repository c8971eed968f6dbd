// Denylist: revoked tokens, checked on every request without a lock, an
// allocation or a write to shared memory.
//
// What it holds. A revocation names one token by a 128-bit fingerprint
// (XXH3-128 of its `jti`, or of its decoded signature when it has no `jti`,
// seeded with its `exp` and the kind of name) and lives until that token
// would have expired anyway: its `exp` plus the validators' leeway plus one
// bucket width of slack (so a validator whose clock lags the denylist's by
// less than a bucket width never sees a revocation vanish early). A subject
// cut-off ("log out everywhere") rejects every token of one `sub` issued
// before a time, and lives until that time plus the maximum token lifetime.
//
// Time buckets. The timeline is cut into buckets `bucket_width` seconds wide;
// a ring of them covers from the oldest live one to `horizon` seconds ahead
// of now. A revocation goes into the bucket of its token's `exp`, and a
// lookup goes straight to the bucket of the presented token's own (signed)
// `exp`: one bucket is probed, never all of them. Expiry unlinks a whole
// bucket with one pointer store (`advance`); nothing is swept per entry and
// nothing is done per request. A revocation whose `exp` lies beyond the ring
// (or that has none) goes to the overflow bucket, which every lookup also
// probes when it is not empty, and which `advance` moves into the ring as the
// ring catches up with it.
//
// Cells. A bucket is split into `shards` cells by the fingerprint's low bits;
// each cell is an insert-only open-addressing table of fingerprints (16
// bytes each, linear probing, at most 85% full) with a split-block bloom
// filter in front sized to the table's capacity. A lookup of a token that is
// not revoked (the common case) costs one bloom probe: one cache line. Only a
// bloom hit reads the table, so callers never see a false positive. A full
// cell is replaced by one 1.5 times larger, filter rebuilt from the exact
// fingerprints, so a bucket grows with its own load (revocations crowd into
// the few buckets of a deployment's usual token lifetime) and its false-
// positive rate stays near target as it fills; growth by 1.5 keeps every
// table at least 56% full, which bounds memory per revocation.
//
// Concurrency. Writers lock one shard (so revocations of different shards
// proceed in parallel); `advance` and `compact` lock all of them. Readers
// lock nothing: they find cells through atomic pointers, inside an epoch
// read section (epoch.hpp), and writers free an unlinked bucket or a
// replaced cell only once no reader can still see it. A table slot is
// published by writing its high word last, with release order; a reader
// that sees the high word sees the whole fingerprint.
//
// Durability. With a journal path, every revocation is appended to a
// journal before it is acknowledged (journal.hpp: the file format, and how
// several processes share one journal); `compact` moves every live entry
// into a snapshot and starts a new journal; start-up loads both, and
// `catch_up` applies what other processes appended since.
#pragma once

#include <algorithm>
#include <atomic>
#include <bit>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <vector>

#include "jwtguard/base64url.hpp"
#include "jwtguard/bloom.hpp"
#include "jwtguard/claims.hpp"
#include "jwtguard/config.hpp"
#include "jwtguard/ecdsa.hpp"  // detail::signature_name
#include "jwtguard/epoch.hpp"
#include "jwtguard/error.hpp"
#include "jwtguard/journal.hpp"
#include "jwtguard/json.hpp"
#include "jwtguard/segments.hpp"
#include "jwtguard/time.hpp"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#ifndef XXH_INLINE_ALL
#define XXH_INLINE_ALL
#endif
#include <xxhash.h>

namespace jwtguard {

struct DenylistOptions {
    /// Seconds per time bucket. Wider buckets mean fewer, larger cells and
    /// entries kept up to one width longer than needed.
    std::int64_t bucket_width = 60;
    /// How far ahead of now the ring of buckets reaches; later `exp`s go to
    /// the overflow bucket. Set it to the longest token lifetime you issue.
    std::int64_t horizon = 24 * 3600;
    /// The validators' leeway: a revocation is kept until exp + leeway (+ one
    /// bucket width). A Validator refuses a denylist with a smaller leeway.
    std::int64_t leeway = 0;
    /// If positive, subject cut-offs are dropped at cut-off + this (+ leeway
    /// + one bucket width), and a Validator using this denylist must enforce
    /// a `max_lifetime` of at most this. 0 keeps cut-offs for ever.
    std::int64_t max_token_lifetime = 0;
    /// Writer shards (a power of two): revocations in different shards do not
    /// contend. More shards also mean more, smaller tables per bucket; 4 keeps
    /// them big enough for huge pages at millions of revocations (measured
    /// in bench/README.md).
    std::size_t shards = 4;
    /// Bloom filter bits per fingerprint at a cell's full load: 12 gives
    /// 0.43% false positives there (measured), less below full load.
    double bloom_bits_per_key = 12.0;
    /// Journal file; empty keeps the denylist in memory only. The snapshot
    /// lives beside it, at journal_path + ".snapshot".
    std::string journal_path;
    JournalSync journal_sync = JournalSync::each_record;
    /// Load the journal and snapshot but never write either (for tools that
    /// only look): the journal must exist, and revocations stay in memory.
    bool journal_read_only = false;
};

/// What a revocation did.
enum class RevokeResult : std::uint8_t {
    added,
    already_revoked,
    /// The token has expired (with leeway and slack): nothing to keep.
    already_expired,
};

namespace detail {

/// What a fingerprint names; part of its seed, so names of different kinds
/// never collide.
enum class NameKind : std::uint64_t { jti = 1, signature = 2, subject = 3 };

/// The fingerprint of a name: XXH3-128 seeded with its kind and exp. Inlined
/// (a call cost ~12 instructions of a denylist check's ~230, in a check
/// validate() pays for every token).
[[nodiscard]] [[gnu::flatten]] [[gnu::always_inline]] inline Fingerprint fingerprint(
    NameKind kind, const void* data, std::size_t size, std::int64_t exp) noexcept {
    const std::uint64_t date =
        exp == no_exp ? std::uint64_t{1} << 54 : static_cast<std::uint64_t>(exp);
    const std::uint64_t seed = kind == NameKind::subject
                                   ? static_cast<std::uint64_t>(kind)
                                   : (date << 2) | static_cast<std::uint64_t>(kind);
    const XXH128_hash_t h = XXH3_128bits_withSeed(data, size, seed);
    // hi == 0 marks an empty table slot.
    return {h.low64, h.high64 == 0 ? 1 : h.high64};
}

/// Division by a divisor fixed at run time, as a multiply and a shift
/// (Granlund and Montgomery's round-up method): exact for every dividend
/// below 2^54 and divisor below 2^32. A lookup divides `exp` by the bucket
/// width; a 64-bit hardware division would cost more than the rest of the
/// arithmetic of a lookup.
class Divider {
  public:
    explicit Divider(std::uint64_t divisor) noexcept {
        int l = 0;
        while ((std::uint64_t{1} << l) < divisor)
            ++l;  // l = ceil(log2 divisor)
        m_shift = 54 + l;
        // m = ceil(2^(54 + l) / divisor) < 2^55
        const uint128 numerator = uint128{1} << m_shift;
        m_multiplier = static_cast<std::uint64_t>((numerator + divisor - 1) / divisor);
    }
    [[nodiscard]] std::uint64_t operator()(std::uint64_t x) const noexcept {
        return static_cast<std::uint64_t>((static_cast<uint128>(x) * m_multiplier) >> m_shift);
    }

  private:
    __extension__ using uint128 = unsigned __int128;
    std::uint64_t m_multiplier = 0;
    int m_shift = 0;
};

[[nodiscard]] constexpr std::int64_t floor_div(std::int64_t a, std::int64_t b) noexcept {
    const std::int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/// An insert-only open-addressing set of fingerprints behind a split-block
/// bloom filter. One writer at a time; readers any time.
class FingerprintTable {
  public:
    static constexpr double max_load = 0.85;
    static constexpr std::size_t initial_capacity = 16;

    FingerprintTable(std::size_t capacity, double bits_per_key)
        : m_capacity(std::max<std::size_t>(capacity, 2)),
          m_limit(std::max<std::size_t>(
              static_cast<std::size_t>(static_cast<double>(m_capacity) * max_load), 1)),
          m_blocks(SplitBlockBloom::blocks_for(m_limit, bits_per_key)),
          m_memory(m_blocks * SplitBlockBloom::block_bytes + m_capacity * sizeof(Slot)),
          m_bloom(m_memory.data(), m_blocks),
          m_slots(construct_array<Slot>(
              static_cast<char*>(m_memory.data()) + m_blocks * SplitBlockBloom::block_bytes,
              m_capacity)) {}
    FingerprintTable(const FingerprintTable&) = delete;
    FingerprintTable& operator=(const FingerprintTable&) = delete;

    [[nodiscard]] bool contains(const Fingerprint& fp) const noexcept {
        return m_bloom.may_contain(fp.hi) && contains_exact(fp);
    }

    [[nodiscard]] bool contains_exact(const Fingerprint& fp) const noexcept {
        for (std::size_t i = fast_range(fp.lo, m_capacity);; i = next(i)) {
            const std::uint64_t hi = m_slots[i].hi.load(std::memory_order_acquire);
            if (hi == 0) return false;
            if (hi == fp.hi && m_slots[i].lo.load(std::memory_order_relaxed) == fp.lo) return true;
        }
    }

    void prefetch(const Fingerprint& fp) const noexcept { m_bloom.prefetch(fp.hi); }
    [[nodiscard]] bool filter_may_contain(const Fingerprint& fp) const noexcept {
        return m_bloom.may_contain(fp.hi);
    }

    [[nodiscard]] bool full() const noexcept { return m_size >= m_limit; }

    /// Adds `fp` (absent, and the table not full). The caller is the one writer.
    void insert(const Fingerprint& fp) noexcept {
        std::size_t i = fast_range(fp.lo, m_capacity);
        while (m_slots[i].hi.load(std::memory_order_relaxed) != 0)
            i = next(i);
        m_slots[i].lo.store(fp.lo, std::memory_order_relaxed);
        m_slots[i].hi.store(fp.hi, std::memory_order_release);
        m_bloom.insert(fp.hi);
        ++m_size;
    }

    /// A table 1.5 times larger holding the same fingerprints.
    [[nodiscard]] std::unique_ptr<FingerprintTable> grown(double bits_per_key) const {
        auto bigger = std::make_unique<FingerprintTable>(m_capacity + m_capacity / 2, bits_per_key);
        for_each([&](const Fingerprint& fp) { bigger->insert(fp); });
        return bigger;
    }

    template <class F>
    void for_each(F&& f) const {
        for (std::size_t i = 0; i < m_capacity; ++i) {
            const std::uint64_t hi = m_slots[i].hi.load(std::memory_order_acquire);
            if (hi != 0) f(Fingerprint{m_slots[i].lo.load(std::memory_order_relaxed), hi});
        }
    }

    [[nodiscard]] std::size_t size() const noexcept { return m_size; }
    [[nodiscard]] std::size_t memory_bytes() const noexcept {
        return sizeof(*this) + m_memory.size();
    }

  private:
    struct Slot {
        std::atomic<std::uint64_t> hi{0};
        std::atomic<std::uint64_t> lo{0};
    };

    [[nodiscard]] std::size_t next(std::size_t i) const noexcept {
        return i + 1 == m_capacity ? 0 : i + 1;
    }

    std::size_t m_capacity;
    std::size_t m_limit;
    std::size_t m_size = 0;
    std::size_t m_blocks;
    // One allocation: the filter's blocks, then the slots (huge pages when
    // big enough, so a probe of either rarely needs a page walk).
    LargeBuffer m_memory;
    SplitBlockBloom m_bloom;
    Slot* m_slots;
};

/// One time bucket (or the overflow): one table per shard, created on first use.
struct Bucket {
    Bucket(std::int64_t bucket_index, std::size_t shard_count)
        : index(bucket_index),
          shards(shard_count),
          cells(new std::atomic<FingerprintTable*>[shard_count]) {
        for (std::size_t i = 0; i < shards; ++i)
            cells[i].store(nullptr, std::memory_order_relaxed);
    }
    ~Bucket() {
        for (std::size_t i = 0; i < shards; ++i)
            delete cells[i].load(std::memory_order_relaxed);
    }
    Bucket(const Bucket&) = delete;
    Bucket& operator=(const Bucket&) = delete;

    const std::int64_t index;
    const std::size_t shards;
    std::unique_ptr<std::atomic<FingerprintTable*>[]> cells;
};

/// Subject cut-offs: fingerprint of `sub` -> cut-off time. Few entries, so
/// no filter; writers serialize on the Denylist's subject mutex.
class SubjectTable {
  public:
    explicit SubjectTable(std::size_t capacity)
        : m_capacity(std::max<std::size_t>(capacity, 8)), m_slots(new Slot[m_capacity]) {}

    [[nodiscard]] std::optional<std::int64_t> find(const Fingerprint& fp) const noexcept {
        for (std::size_t i = fast_range(fp.lo, m_capacity);; i = next(i)) {
            const std::uint64_t hi = m_slots[i].hi.load(std::memory_order_acquire);
            if (hi == 0) return std::nullopt;
            if (hi == fp.hi && m_slots[i].lo.load(std::memory_order_relaxed) == fp.lo)
                return m_slots[i].cutoff.load(std::memory_order_acquire);
        }
    }

    /// Table at most half full: room for one more?
    [[nodiscard]] bool full() const noexcept { return (m_size + 1) * 2 > m_capacity; }

    /// Sets the cut-off of `fp` to the later of its current one and `cutoff`;
    /// false when the table already held a cut-off at least as late.
    bool upsert(const Fingerprint& fp, std::int64_t cutoff) noexcept {
        std::size_t i = fast_range(fp.lo, m_capacity);
        for (;; i = next(i)) {
            const std::uint64_t hi = m_slots[i].hi.load(std::memory_order_relaxed);
            if (hi == 0) break;
            if (hi == fp.hi && m_slots[i].lo.load(std::memory_order_relaxed) == fp.lo) {
                if (m_slots[i].cutoff.load(std::memory_order_relaxed) >= cutoff) return false;
                m_slots[i].cutoff.store(cutoff, std::memory_order_release);
                return true;
            }
        }
        m_slots[i].cutoff.store(cutoff, std::memory_order_relaxed);
        m_slots[i].lo.store(fp.lo, std::memory_order_relaxed);
        m_slots[i].hi.store(fp.hi, std::memory_order_release);
        ++m_size;
        return true;
    }

    template <class F>
    void for_each(F&& f) const {
        for (std::size_t i = 0; i < m_capacity; ++i) {
            const std::uint64_t hi = m_slots[i].hi.load(std::memory_order_acquire);
            if (hi != 0)
                f(Fingerprint{m_slots[i].lo.load(std::memory_order_relaxed), hi},
                  m_slots[i].cutoff.load(std::memory_order_relaxed));
        }
    }

    [[nodiscard]] std::size_t size() const noexcept { return m_size; }
    [[nodiscard]] std::size_t capacity() const noexcept { return m_capacity; }
    [[nodiscard]] std::size_t memory_bytes() const noexcept {
        return sizeof(*this) + m_capacity * sizeof(Slot);
    }

  private:
    struct alignas(32) Slot {
        std::atomic<std::uint64_t> hi{0};
        std::atomic<std::uint64_t> lo{0};
        std::atomic<std::int64_t> cutoff{0};
    };
    [[nodiscard]] std::size_t next(std::size_t i) const noexcept {
        return i + 1 == m_capacity ? 0 : i + 1;
    }
    std::size_t m_capacity;
    std::size_t m_size = 0;
    std::unique_ptr<Slot[]> m_slots;
};

}  // namespace detail

/// The revoked-token store. Thread-safe: any number of readers and writers.
namespace detail {
/// The values of the first `"jti":` and the first `"exp":` members of
/// `json` by a plain scan (no parse): for each name, its first quoted
/// occurrence followed, after optional whitespace, by a colon; `jti` and
/// `exp` receive the text after that colon and its whitespace (empty when
/// not found). One pass, 16 bytes per step: a quote whose fourth byte on is
/// a quote again starts a three-letter quoted text, the only candidates
/// (a claims set has a handful). A hint's helper (Denylist::prefetch_hint):
/// it may find a member of a nested object, or text inside a string, and
/// that is fine.
inline void scan_jti_and_exp_members(std::string_view json, std::string_view& jti,
                                     std::string_view& exp) noexcept {
    jti = exp = {};
    const char* const p = json.data();
    const std::size_t n = json.size();
    auto skip_space = [&](std::size_t i) {
        while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r'))
            ++i;
        return i;
    };
    // Three letters as one word, compared at once (any byte order will do).
    auto letters = [](char a, char b, char c) {
        return std::uint32_t{static_cast<unsigned char>(a)} |
               std::uint32_t{static_cast<unsigned char>(b)} << 8 |
               std::uint32_t{static_cast<unsigned char>(c)} << 16;
    };
    const std::uint32_t jti_name = letters('j', 't', 'i'), exp_name = letters('e', 'x', 'p');
    // The quoted text of three letters at `at` (its opening quote): true
    // when both are found.
    auto candidate = [&](std::size_t at) {
        const std::uint32_t name = letters(p[at + 1], p[at + 2], p[at + 3]);
        std::string_view* const out = name == jti_name ? &jti : name == exp_name ? &exp : nullptr;
        if (out == nullptr || out->data() != nullptr) return false;
        std::size_t colon = at + 5;
        if (colon < n && p[colon] != ':') colon = skip_space(colon);
        if (colon < n && p[colon] == ':') {
            std::size_t value = colon + 1;
            if (value < n && p[value] <= ' ') value = skip_space(value);
            *out = std::string_view(p + value, n - value);
        }
        return jti.data() != nullptr && exp.data() != nullptr;
    };
    std::size_t at = 0;
#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"');
    auto pairs = [&](std::size_t from) {  // quotes at from + i and from + i + 4
        const __m128i open =
            _mm_cmpeq_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + from)), quote);
        const __m128i close =
            _mm_cmpeq_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + from + 4)), quote);
        return static_cast<std::uint32_t>(_mm_movemask_epi8(_mm_and_si128(open, close)));
    };
    // 32 bytes per step, then 16: every load inside the text.
    for (; at + 36 <= n; at += 32)
        for (std::uint32_t m = pairs(at) | pairs(at + 16) << 16; m != 0; m &= m - 1)
            if (candidate(at + static_cast<std::size_t>(std::countr_zero(m)))) return;
    if (at + 20 <= n) {
        for (std::uint32_t m = pairs(at); m != 0; m &= m - 1)
            if (candidate(at + static_cast<std::size_t>(std::countr_zero(m)))) return;
        at += 16;
    }
#endif
    for (; at + 5 <= n; ++at)
        if (p[at] == '"' && p[at + 4] == '"' && candidate(at)) return;
}

/// A hint's jti (a string without escapes) and integer exp, read from the
/// texts `jti_text` and `exp_text` that start with their values (as
/// scan_jti_and_exp_members gives them); false when either is not in that
/// simple form.
[[nodiscard]] inline bool read_jti_and_exp(std::string_view jti_text, std::string_view exp_text,
                                           std::string_view& jti, std::int64_t& exp) noexcept {
    std::string_view rest = jti_text;
    if (rest.empty() || rest[0] != '"') return false;
    // The first quote or backslash after the opening quote: a quote ends
    // the jti, a backslash leaves no hint.
    std::size_t end = 1;
#if defined(__SSE2__)
    for (const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\');
         end + 16 <= rest.size(); end += 16) {
        const __m128i block = _mm_loadu_si128(reinterpret_cast<const __m128i*>(rest.data() + end));
        if (const auto m = static_cast<unsigned>(_mm_movemask_epi8(
                _mm_or_si128(_mm_cmpeq_epi8(block, quote), _mm_cmpeq_epi8(block, backslash))));
            m != 0) {
            end += static_cast<std::size_t>(std::countr_zero(m));
            break;
        }
    }
#endif
    while (end < rest.size() && rest[end] != '"' && rest[end] != '\\')
        ++end;
    if (end == rest.size() || rest[end] != '"') return false;
    jti = rest.substr(1, end - 1);
    if (exp_text.data() == nullptr) return false;
    rest = exp_text;
    std::size_t digits = 0;
    std::uint64_t value = 0;
    if (rest.size() >= 8 && eight_digits(rest.data(), value)) digits = 8;
    for (; digits < rest.size() && digits < 16; ++digits) {
        const auto digit = static_cast<unsigned>(rest[digits] - '0');
        if (digit > 9) break;
        value = value * 10 + digit;
    }
    if (digits == 0 || digits == 16 ||
        (digits < rest.size() &&
         (rest[digits] == '.' || rest[digits] == 'e' || rest[digits] == 'E')))
        return false;
    const auto date = static_cast<std::int64_t>(value);  // below 10^16
    if (!is_numeric_date(date)) return false;
    exp = date;
    return true;
}

/// Where the calling thread's last hint found `"jti":` and `"exp":`
/// followed by their values. Tokens of one issuer share a layout (the same
/// members in the same order, often of the same lengths), so the next
/// payload usually has both names at the same places: checking those 12
/// bytes replaces the scan. A hint like any other: whatever it finds is
/// never a decision.
class HintLayout {
  public:
    /// The calling thread's layout.
    [[nodiscard]] static HintLayout& local() noexcept {
        static thread_local HintLayout layout;
        return layout;
    }

    /// If `json` has both names right before the remembered places: the
    /// texts from there, as scan_jti_and_exp_members gives them.
    [[nodiscard]] bool recall(std::string_view json, std::string_view& jti_text,
                              std::string_view& exp_text) const noexcept {
        if (!named(json, m_jti, jti_name) || !named(json, m_exp, exp_name)) return false;
        jti_text = json.substr(m_jti);
        exp_text = json.substr(m_exp);
        return true;
    }

    /// Remembers where scan_jti_and_exp_members found the values in `json`
    /// (only where both names end right before them).
    void remember(std::string_view json, std::string_view jti_text,
                  std::string_view exp_text) noexcept {
        if (jti_text.data() == nullptr || exp_text.data() == nullptr) return;
        const auto jti = static_cast<std::size_t>(jti_text.data() - json.data());
        const auto exp = static_cast<std::size_t>(exp_text.data() - json.data());
        if (named(json, jti, jti_name) && named(json, exp, exp_name)) {
            m_jti = jti;
            m_exp = exp;
        }
    }

  private:
    static constexpr std::size_t name_size = 6;
    static constexpr char jti_name[] = "\"jti\":";
    static constexpr char exp_name[] = "\"exp\":";

    [[nodiscard]] static bool named(std::string_view json, std::size_t value,
                                    const char* name) noexcept {
        return value >= name_size && value < json.size() &&
               std::memcmp(json.data() + value - name_size, name, name_size) == 0;
    }

    std::size_t m_jti = 0, m_exp = 0;  // 0: nothing remembered (never a value's place)
};
}  // namespace detail

class Denylist {
  public:
    using Options = DenylistOptions;

    /// A lookup key: the fingerprint and time bucket of one token name.
    struct Key {
        detail::Fingerprint fp;
        /// Time bucket of the exp; max for a token without exp.
        std::int64_t bucket = 0;
    };

    /// An empty denylist at time `now`, or the one its journal and snapshot
    /// describe. Throws SetupError for bad options and std::system_error when
    /// the journal cannot be read or created.
    explicit Denylist(Options options, std::int64_t now)
        : m_options(std::move(options)), m_now(now) {
        check_now(now);
        check_options();
        m_shard_mask = m_options.shards - 1;
        m_bucket_of = detail::Divider(static_cast<std::uint64_t>(m_options.bucket_width));
        // A power of two, so that a lookup finds its slot with a mask.
        m_ring_size = std::bit_ceil(static_cast<std::size_t>(
            (m_options.horizon + m_options.leeway) / m_options.bucket_width + 4));
        m_ring.reset(new std::atomic<detail::Bucket*>[m_ring_size]);
        for (std::size_t i = 0; i < m_ring_size; ++i)
            m_ring[i].store(nullptr, std::memory_order_relaxed);
        m_shards.reset(new Shard[m_options.shards]);
        m_base = base_for(now);
        if (m_options.journal_path.empty()) return;
        try {
            m_journal.emplace(m_options.journal_path, m_options.journal_sync,
                              m_options.journal_read_only, m_report, [&](const detail::Record& r) {
                                  const RevokeResult result = insert_record(r);
                                  if (result == RevokeResult::already_expired)
                                      ++m_report.expired_records;
                                  return result == RevokeResult::added;
                              });
        } catch (...) {
            release();  // what the records loaded so far built
            throw;
        }
    }

    ~Denylist() { release(); }
    Denylist(const Denylist&) = delete;
    Denylist& operator=(const Denylist&) = delete;

    [[nodiscard]] const Options& options() const noexcept { return m_options; }

    // --- lookups: lock-free, allocation-free, noexcept ---------------------

    /// The key of a `jti` for a token with this `exp` (nullopt: no exp).
    [[nodiscard]] Key jti_key(std::string_view jti,
                              std::optional<std::int64_t> exp) const noexcept {
        return key_of(detail::NameKind::jti, jti.data(), jti.size(), exp);
    }
    /// The key of a token without `jti`: its decoded signature bytes, an
    /// ECDSA signature (header `alg` ES*) in its canonical form so that its
    /// (r, n - s) twin has the same key.
    [[nodiscard]] Key signature_key(std::optional<std::string_view> alg,
                                    std::span<const unsigned char> signature,
                                    std::optional<std::int64_t> exp) const noexcept {
        unsigned char buffer[2 * detail::P521::size];
        const auto name = detail::signature_name(alg, signature, buffer);
        return key_of(detail::NameKind::signature, name.data(), name.size(), exp);
    }

    /// True when the token named by `key` is revoked.
    [[nodiscard]] bool contains(const Key& key) const noexcept {
        const detail::EpochGuard guard;
        return contains_in_section(key);
    }

    [[nodiscard]] bool is_revoked(std::string_view jti,
                                  std::optional<std::int64_t> exp) const noexcept {
        return contains(jti_key(jti, exp));
    }

    /// Starts loading the cache line a later `contains(key)` will probe, so
    /// that lookups of a batch overlap their memory latency.
    void prefetch(const Key& key) const noexcept {
        const detail::EpochGuard guard;
        if (const detail::FingerprintTable* cell = ring_cell(key)) cell->prefetch(key.fp);
    }

    /// What prefetch_hint() found: the key it computed, and a copy of the
    /// jti bytes and the exp it computed it from.
    struct Hint {
        static constexpr std::size_t max_jti = 64;
        /// Whether check() may take `key`: false when no jti and exp were
        /// found, or the jti was longer than the copy.
        bool usable = false;
        std::uint8_t jti_size = 0;
        char jti[max_jti];
        std::int64_t exp = 0;
        Key key;
    };

    /// Starts loading the cache lines check() will read for a token whose
    /// payload is `payload_json`, decoded but NOT verified: a hint read
    /// before the signature is checked, so that the lines arrive while the
    /// signature is computed. Never a decision: it looks for `"jti":"..."`
    /// (no escapes) and an integer `"exp"` where the thread's last hint
    /// found them (detail::HintLayout), else with a plain scan, and
    /// whatever it finds (or a hostile token makes it find) costs at most a
    /// useless load. check() still parses nothing itself and decides on the
    /// verified claims only; it takes `hint`'s key only for a verified jti
    /// and exp equal to those the key was computed from.
    void prefetch_hint(std::string_view payload_json, Hint& hint) const noexcept {
        std::string_view jti_text, exp_text;
        detail::HintLayout& layout = detail::HintLayout::local();
        if (!layout.recall(payload_json, jti_text, exp_text)) {
            detail::scan_jti_and_exp_members(payload_json, jti_text, exp_text);
            layout.remember(payload_json, jti_text, exp_text);
        }
        std::string_view jti;
        std::int64_t exp = 0;
        if (!detail::read_jti_and_exp(jti_text, exp_text, jti, exp)) return;
        const detail::EpochGuard guard;
        hint.key = jti_key(jti, exp);
        if (jti.size() <= Hint::max_jti) {
            hint.usable = true;
            hint.jti_size = static_cast<std::uint8_t>(jti.size());
            std::memcpy(hint.jti, jti.data(), jti.size());
            hint.exp = exp;
        }
        // Acquire: the table's fields (which prefetch() reads) were written
        // by the writer that published it.
        if (const detail::Bucket* o = m_overflow.load(std::memory_order_acquire))
            if (const auto* t =
                    o->cells[hint.key.fp.lo & m_shard_mask].load(std::memory_order_acquire))
                t->prefetch(hint.key.fp);
        if (const detail::FingerprintTable* cell = ring_cell(hint.key)) cell->prefetch(hint.key.fp);
    }

    /// Diagnostics: the bloom stage's answer alone (true may be a false
    /// positive), to measure the filter's false-positive rate.
    [[nodiscard]] bool filter_may_contain(const Key& key) const noexcept {
        const detail::EpochGuard guard;
        const detail::FingerprintTable* t = ring_cell(key);
        return t != nullptr && t->filter_may_contain(key.fp);
    }

    /// The cut-off of a subject, if one is set.
    [[nodiscard]] std::optional<std::int64_t> subject_cutoff(std::string_view sub) const noexcept {
        const detail::EpochGuard guard;
        return subject_cutoff_in_section(sub);
    }

    /// The denylist's verdict on a validated token: `revoked`,
    /// `subject_revoked` or `ok`. `signature` is the token's decoded
    /// signature (used only when it has no jti).
    [[nodiscard]] Error check(const Claims& claims,
                              std::span<const unsigned char> signature) const noexcept {
        return check(claims, signature, Hint{});
    }
    /// The same, given what prefetch_hint() found in the payload the claims
    /// were parsed from.
    [[nodiscard]] Error check(const Claims& claims, std::span<const unsigned char> signature,
                              const Hint& hint) const noexcept {
        const detail::EpochGuard guard;
        return check_in_section(claims, signature, hint);
    }

    // --- revocations ------------------------------------------------------

    /// Revokes the token with this `jti` and `exp` (nullopt: a token without
    /// exp, revoked for ever). Throws SetupError(exp_invalid) for an exp
    /// outside [0, 2^53], and std::system_error if the journal write failed
    /// (the revocation is then in force in memory but not durable).
    RevokeResult revoke_jti(std::string_view jti, std::optional<std::int64_t> exp) {
        return apply(jti_revocation(jti, exp));
    }

    /// Revokes a token by the token itself: its jti if it has one, else its
    /// signature. The signature is not verified: revoke only tokens you have
    /// validated (or trust), since anyone can write a token naming any jti.
    /// Returns the structural error of a malformed token, or ok (with what
    /// was done in `result`).
    [[nodiscard]] Error revoke_token(std::string_view token, RevokeResult* result = nullptr) {
        Revocation revocation;
        if (const Error e = token_revocation(token, revocation); e != Error::ok) return e;
        const RevokeResult r = apply(revocation);
        if (result != nullptr) *result = r;
        return Error::ok;
    }

    // --- "log out everywhere" with whole-second dates ------------------------
    //
    // A cut-off refuses the tokens whose floor(iat) is below it. With iat in
    // whole seconds, "issued before" and "issued after" a log-out-all in the
    // same second look alike, so an issuer keeps two rules, which these two
    // functions compute (the example server holds a per-user lock around
    // each use, so that issuing and cutting off are ordered):
    //   - a token of `sub` is dated issue_date_for(sub, now): never before
    //     the subject's cut-off, so a session started after a log-out-all
    //     survives it;
    //   - a log-out-all sets cutoff_after(sub, now): after `now` and after
    //     the current cut-off, so it also ends the sessions dated at the
    //     current cut-off (a second log-out-all in the same second).
    // A token dated up to leeway seconds ahead still validates; an issuer
    // should refuse to mint one dated further ahead (it would be iat_in_future)
    // and ask the client to retry when the clock has caught up.

    /// The iat for a token of `sub` issued at `now`: max(now, its cut-off).
    [[nodiscard]] std::int64_t issue_date_for(std::string_view sub,
                                              std::int64_t now) const noexcept {
        const auto cutoff = subject_cutoff(sub);
        return cutoff && *cutoff > now ? *cutoff : now;
    }

    /// The cut-off that ends every token of `sub` issued up to `now`, those
    /// dated at the current cut-off included: max(now + 1, cut-off + 1).
    /// Throws SetupError(option_invalid) when that leaves [0, 2^53].
    [[nodiscard]] std::int64_t cutoff_after(std::string_view sub, std::int64_t now) const {
        check_now(now);
        const auto cutoff = subject_cutoff(sub);
        const std::int64_t next = std::max(now, cutoff.value_or(now)) + 1;
        if (!is_numeric_date(next))
            throw SetupError(Error::option_invalid, "a cut-off must lie in [0, 2^53]");
        return next;
    }

    /// Rejects every token of `sub` whose iat is before `cutoff` (and every
    /// one without iat). A later cut-off replaces an earlier one; an earlier
    /// one changes nothing (already_revoked). Throws SetupError(option_invalid)
    /// for a cut-off outside [0, 2^53], and like revoke_jti.
    RevokeResult revoke_subject(std::string_view sub, std::int64_t cutoff) {
        return apply(subject_revocation(sub, cutoff));
    }

    // --- revocations as values, to ship elsewhere before applying ----------

    /// What revoke_jti(jti, exp) applies, without applying it. Throws like it.
    [[nodiscard]] static Revocation jti_revocation(std::string_view jti,
                                                   std::optional<std::int64_t> exp) {
        check_exp(exp);
        const std::int64_t e = exp.value_or(detail::no_exp);
        return {RevocationKind::revoked, e, e,
                detail::fingerprint(detail::NameKind::jti, jti.data(), jti.size(), e)};
    }

    /// What revoke_subject(sub, cutoff) applies, without applying it.
    [[nodiscard]] static Revocation subject_revocation(std::string_view sub, std::int64_t cutoff) {
        if (!is_numeric_date(cutoff))
            throw SetupError(Error::option_invalid, "a cut-off must lie in [0, 2^53]");
        return {RevocationKind::subject, cutoff, cutoff,
                detail::fingerprint(detail::NameKind::subject, sub.data(), sub.size(), 0)};
    }

    /// What revoke_token(token) applies, without applying it: ok and `out`, or
    /// the token's structural error.
    [[nodiscard]] static Error token_revocation(std::string_view token, Revocation& out) {
        detail::Segments parts;
        if (token.size() > max_token_size_limit) return Error::token_too_large;
        if (!detail::split_token(token, parts)) return Error::token_malformed;
        auto claims = std::make_unique<Claims>();
        std::vector<unsigned char> bytes(token.size() + detail::json_padding + 1);
        std::size_t size = 0;
        if (const auto s = base64url_decode(parts.header, bytes.data(), size);
            s != Base64Status::ok)
            return detail::base64_error(s, 0);
        // Kept to the end: claims->header.alg views it (the signature's name).
        detail::JsonBuffer header(std::string_view(reinterpret_cast<char*>(bytes.data()), size));
        if (const Error e = detail::parse_header(header.data(), header.size(), claims->header);
            e != Error::ok)
            return e;
        if (const auto s = base64url_decode(parts.payload, bytes.data(), size);
            s != Base64Status::ok)
            return detail::base64_error(s, 1);
        detail::JsonBuffer payload(std::string_view(reinterpret_cast<char*>(bytes.data()), size));
        if (const Error e = detail::parse_claims(payload.data(), payload.size(), *claims);
            e != Error::ok)
            return e;
        std::vector<unsigned char> signature(base64url_decoded_size(parts.signature.size()) + 1);
        std::size_t signature_size = 0;
        if (const auto s = base64url_decode(parts.signature, signature.data(), signature_size);
            s != Base64Status::ok)
            return detail::base64_error(s, 2);
        if (signature_size == 0) return Error::signature_length;
        unsigned char buffer[2 * detail::P521::size];
        const auto name =
            detail::signature_name(claims->header.alg, {signature.data(), signature_size}, buffer);
        const std::int64_t e = claims->exp.value_or(detail::no_exp);
        out = {RevocationKind::revoked, e, e,
               claims->jti
                   ? detail::fingerprint(detail::NameKind::jti, claims->jti->data(),
                                         claims->jti->size(), e)
                   : detail::fingerprint(detail::NameKind::signature, name.data(), name.size(), e)};
        return Error::ok;
    }

    /// Applies a revocation (made by one of the three functions above, here
    /// or in another process) and journals it if it added anything. Throws
    /// SetupError(option_invalid) for a revocation with a field out of range,
    /// and std::system_error like revoke_jti.
    RevokeResult apply(const Revocation& revocation) {
        RevokeResult result{};
        apply_all({&revocation, 1}, &result);
        return result;
    }

    /// Applies many revocations (a mirror's batch) with one journal sync at
    /// the end rather than one per record; returns how many added anything.
    /// `results`, if given, receives each one's result. Checks every
    /// revocation before it applies any; throws like apply().
    std::size_t apply_all(std::span<const Revocation> revocations,
                          RevokeResult* results = nullptr) {
        for (const Revocation& r : revocations)
            if (!detail::record_valid(r))
                throw SetupError(Error::option_invalid, "a revocation field is out of range");
        std::unique_lock<std::mutex> journal = journal_lock();
        std::size_t added = 0;
        std::vector<Revocation> to_journal;
        for (std::size_t i = 0; i < revocations.size(); ++i) {
            const RevokeResult result = insert_record(revocations[i]);
            if (results != nullptr) results[i] = result;
            if (result != RevokeResult::added) continue;
            ++added;
            if (journal_writable()) to_journal.push_back(revocations[i]);
        }
        if (!to_journal.empty()) m_journal->append(to_journal);
        // A grown cell retired its predecessor: free it as soon as readers
        // allow, so that replaced tables do not pile up between advances.
        if (m_retired.has_pending()) m_retired.reclaim();
        return added;
    }

    /// Moves time forward to `now` (never back): drops buckets whose tokens
    /// have all expired, moves overflow entries the ring now covers into it,
    /// drops expired subject cut-offs, and frees what readers no longer see.
    /// Call it periodically (e.g. every bucket width).
    /// Throws SetupError(option_invalid) for a `now` outside [0, 2^53].
    void advance(std::int64_t now) {
        check_now(now);
        {
            std::lock_guard maintenance(m_maintenance_mutex);
            AllShards all(*this);
            if (now > m_now.load(std::memory_order_relaxed)) {
                m_now.store(now, std::memory_order_relaxed);
                drop_buckets_locked(base_for(now));
                rebucket_overflow_locked();
                expire_subjects();
            }
        }
        m_retired.reclaim();
    }

    /// Writes every live entry into the snapshot (atomically: a temporary
    /// file renamed over the old one) and starts a new, empty journal, after
    /// applying what other processes appended (so the snapshot holds it
    /// too). Needs a writable journal. Throws std::system_error on I/O
    /// failure (what was there stays readable: loading the old journal
    /// after a new snapshot applies its records twice, which is harmless).
    void compact() {
        if (!journal_writable())
            throw SetupError(Error::option_invalid, "compact needs a writable journal");
        std::unique_lock<std::mutex> journal = journal_lock();
        m_journal->compact(
            [&](const detail::Record& r) { return insert_record(r) == RevokeResult::added; },
            [&] {
                std::lock_guard maintenance(m_maintenance_mutex);
                std::vector<unsigned char> image(detail::snapshot_magic,
                                                 detail::snapshot_magic + detail::magic_size);
                for_each_live_locked([&](const detail::Record& r) {
                    const std::size_t at = image.size();
                    image.resize(at + detail::record_size);
                    detail::encode_record(r, image.data() + at);
                });
                return image;
            });
    }

    /// Applies what other processes appended to the journal since this
    /// denylist last looked (at construction or the last catch_up), and the
    /// new snapshot when one of them compacted. Takes no file lock and never
    /// waits for another process: nginx's workers call it on a timer. Needs
    /// a journal path (read-only is enough). Throws SetupError if the file
    /// at the path is no longer a journal, std::system_error for I/O.
    CatchUpReport catch_up() {
        if (!m_journal) throw SetupError(Error::option_invalid, "catch_up needs a journal");
        std::unique_lock<std::mutex> journal = journal_lock();
        const CatchUpReport report = m_journal->catch_up(
            [&](const detail::Record& r) { return insert_record(r) == RevokeResult::added; });
        if (m_retired.has_pending()) m_retired.reclaim();
        return report;
    }

    /// Every revocation in force, as a snapshot holds them (a bucket's
    /// entries carry the bucket's exp range): for a mirror that must publish
    /// again what this denylist holds. Revocations wait meanwhile.
    [[nodiscard]] std::vector<Revocation> live_revocations() const {
        std::lock_guard maintenance(m_maintenance_mutex);
        std::vector<Revocation> out;
        for_each_live_locked([&](const Revocation& r) { out.push_back(r); });
        return out;
    }

    // --- statistics (writers' view; take locks) -----------------------------

    /// Live revocations (jti or token), counting entries of not yet dropped
    /// buckets.
    [[nodiscard]] std::size_t size() const noexcept {
        std::size_t n = 0;
        for (std::size_t s = 0; s < m_options.shards; ++s)
            n += m_shards[s].count.load(std::memory_order_relaxed);
        return n;
    }

    /// Subjects with a cut-off.
    [[nodiscard]] std::size_t subjects() const {
        std::lock_guard lock(m_subject_mutex);
        const auto* table = m_subjects.load(std::memory_order_relaxed);
        return table == nullptr ? 0 : table->size();
    }

    /// Bytes held by buckets, cells, filters, the ring and cut-offs.
    [[nodiscard]] std::size_t memory_bytes() const {
        std::lock_guard maintenance(m_maintenance_mutex);
        AllShards all(*this);
        std::size_t bytes =
            sizeof(*this) + m_ring_size * sizeof(m_ring[0]) + m_options.shards * sizeof(Shard);
        auto bucket_bytes = [&](const detail::Bucket& b) {
            bytes += sizeof(b) + b.shards * sizeof(b.cells[0]);
            for_each_cell(b, [&](const detail::FingerprintTable& t) { bytes += t.memory_bytes(); });
        };
        for (std::size_t i = 0; i < m_ring_size; ++i)
            if (const auto* b = m_ring[i].load(std::memory_order_relaxed)) bucket_bytes(*b);
        if (const auto* b = m_overflow.load(std::memory_order_relaxed)) bucket_bytes(*b);
        for (std::size_t s = 0; s < m_options.shards; ++s)
            bytes += m_shards[s].overflow.capacity() * sizeof(OverflowEntry);
        std::lock_guard subjects(m_subject_mutex);
        if (const auto* t = m_subjects.load(std::memory_order_relaxed)) bytes += t->memory_bytes();
        return bytes;
    }

    /// What start-up found in the snapshot and journal.
    [[nodiscard]] const JournalReport& journal_report() const noexcept { return m_report; }

    /// The time of the last `advance` (or construction).
    [[nodiscard]] std::int64_t now() const noexcept {
        return m_now.load(std::memory_order_relaxed);
    }

  private:
    struct OverflowEntry {
        detail::Fingerprint fp;
        std::int64_t first;  // exp range of the token (first == last unless from a snapshot)
        std::int64_t last;
    };

    struct alignas(64) Shard {
        std::mutex mutex;
        std::atomic<std::size_t> count{0};
        /// Writer-side list of what the overflow bucket holds, with exps.
        std::vector<OverflowEntry> overflow;
    };

    /// Locks every shard, in order, for the scope.
    /// Calls f(record) for every revocation in force. The caller holds the
    /// maintenance lock; this takes every shard's and the subjects'.
    template <class F>
    void for_each_live_locked(F&& f) const {
        AllShards all(*this);
        const std::int64_t w = m_options.bucket_width;
        for (std::size_t i = 0; i < m_ring_size; ++i) {
            const detail::Bucket* b = m_ring[i].load(std::memory_order_relaxed);
            if (b == nullptr || b->index < m_base) continue;
            for_each_cell(*b, [&](const detail::FingerprintTable& t) {
                t.for_each([&](const detail::Fingerprint& fp) {
                    f(detail::Record{detail::RecordKind::revoked, b->index * w,
                                     b->index * w + w - 1, fp});
                });
            });
        }
        for (std::size_t s = 0; s < m_options.shards; ++s)
            for (const OverflowEntry& e : m_shards[s].overflow)
                f(detail::Record{detail::RecordKind::revoked, e.first, e.last, e.fp});
        std::lock_guard subjects(m_subject_mutex);
        if (const auto* table = m_subjects.load(std::memory_order_relaxed))
            table->for_each([&](const detail::Fingerprint& fp, std::int64_t cutoff) {
                f(detail::Record{detail::RecordKind::subject, cutoff, cutoff, fp});
            });
    }

    class AllShards {
      public:
        explicit AllShards(const Denylist& d) : m_d(d) {
            for (std::size_t s = 0; s < m_d.m_options.shards; ++s)
                m_d.m_shards[s].mutex.lock();
        }
        ~AllShards() {
            for (std::size_t s = m_d.m_options.shards; s-- > 0;)
                m_d.m_shards[s].mutex.unlock();
        }
        AllShards(const AllShards&) = delete;
        AllShards& operator=(const AllShards&) = delete;

      private:
        const Denylist& m_d;
    };

    static constexpr std::int64_t overflow_only = std::numeric_limits<std::int64_t>::max();
    /// Buckets one revocation may occupy (see wide_range).
    static constexpr std::int64_t max_record_buckets = 64;

    /// Frees every bucket, the overflow, the cut-offs and the journal's
    /// descriptor (no reader may be left).
    void release() noexcept {
        for (std::size_t i = 0; i < m_ring_size; ++i)
            delete m_ring[i].exchange(nullptr, std::memory_order_relaxed);
        delete m_overflow.exchange(nullptr, std::memory_order_relaxed);
        delete m_subjects.exchange(nullptr, std::memory_order_relaxed);
        m_journal.reset();
    }

    void check_options() const {
        const Options& o = m_options;
        auto fail = [](const std::string& what) { throw SetupError(Error::option_invalid, what); };
        // At most one record span: a snapshot record carries one bucket.
        if (o.bucket_width < 1 || o.bucket_width > detail::max_record_span)
            fail("bucket_width must lie in [1 s, 1 year]");
        if (o.horizon < 0 || o.horizon > 86400 * 3660) fail("horizon must lie in [0, 10 years]");
        // The ring spans (horizon + leeway) / bucket_width buckets.
        if ((o.horizon + std::max<std::int64_t>(o.leeway, 0)) / o.bucket_width > (1 << 24))
            fail("(horizon + leeway) / bucket_width must be at most 2^24 buckets");
        if (o.leeway < 0 || o.leeway > max_leeway) fail("leeway must lie in [0, 2^31] seconds");
        if (o.max_token_lifetime < 0 || o.max_token_lifetime > max_numeric_date)
            fail("max_token_lifetime must lie in [0, 2^53]");
        if (o.shards == 0 || o.shards > 4096 || (o.shards & (o.shards - 1)) != 0)
            fail("shards must be a power of two in [1, 4096]");
        if (!(o.bloom_bits_per_key >= 4.0 && o.bloom_bits_per_key <= 64.0))
            fail("bloom_bits_per_key must lie in [4, 64]");
    }

    static void check_now(std::int64_t now) {
        if (!is_numeric_date(now))
            throw SetupError(Error::option_invalid, "now must be a NumericDate in [0, 2^53]");
    }

    static void check_exp(std::optional<std::int64_t> exp) {
        if (exp && !is_numeric_date(*exp))
            throw SetupError(Error::exp_invalid, "exp must lie in [0, 2^53]");
    }

    [[nodiscard]] Key key_of(detail::NameKind kind, const void* data, std::size_t size,
                             std::optional<std::int64_t> exp) const noexcept {
        const std::int64_t e = exp.value_or(detail::no_exp);
        // exp is a NumericDate (in [0, 2^53]) here: the Divider is exact.
        return {detail::fingerprint(kind, data, size, e),
                exp ? static_cast<std::int64_t>(m_bucket_of(static_cast<std::uint64_t>(*exp)))
                    : overflow_only};
    }

    /// The oldest bucket that is not yet droppable at `now`: bucket a is
    /// dropped once every exp in it (at most (a+1)w - 1) satisfies
    /// exp + leeway + w <= now.
    [[nodiscard]] std::int64_t base_for(std::int64_t now) const noexcept {
        return detail::floor_div(now - m_options.leeway + 1, m_options.bucket_width) - 1;
    }

    [[nodiscard]] bool expired(std::int64_t last_exp) const noexcept {
        return last_exp != detail::no_exp &&
               detail::floor_div(last_exp, m_options.bucket_width) < m_base;
    }

    [[nodiscard]] bool subject_expired(std::int64_t cutoff) const noexcept {
        return m_options.max_token_lifetime > 0 &&
               cutoff + m_options.max_token_lifetime + m_options.leeway + m_options.bucket_width <=
                   m_now.load(std::memory_order_relaxed);
    }

    template <class F>
    static void for_each_cell(const detail::Bucket& b, F&& f) {
        for (std::size_t s = 0; s < b.shards; ++s)
            if (const auto* t = b.cells[s].load(std::memory_order_relaxed)) f(*t);
    }

    [[nodiscard]] const detail::FingerprintTable* ring_cell(const Key& key) const noexcept {
        if (key.bucket == overflow_only) return nullptr;
        const auto slot_index = static_cast<std::size_t>(key.bucket) & (m_ring_size - 1);
        const detail::Bucket* b = m_ring[slot_index].load(std::memory_order_seq_cst);
        if (b == nullptr || b->index != key.bucket) return nullptr;
        return b->cells[key.fp.lo & m_shard_mask].load(std::memory_order_seq_cst);
    }

    /// Whether the verified jti has the bytes the hint hashed (its copy, so
    /// nothing that happened to the payload since matters) and the verified
    /// exp is the hint's: then the hint's key is the claims' key, which is a
    /// function of those alone.
    [[nodiscard]] static bool hint_names(const Hint& hint, const Claims& claims) noexcept {
        return hint.usable && claims.exp == hint.exp && claims.jti->size() == hint.jti_size &&
               std::memcmp(claims.jti->data(), hint.jti, hint.jti_size) == 0;
    }

    // Validator::validate checks inside its own read section.
    friend class Validator;
    /// check(), for a caller inside a read section. Out of line: inlined, it
    /// made validate() save six more registers on every path, with a
    /// denylist or not (+12 instructions, ~2-4% slower in a harness without
    /// one).
    [[gnu::noinline]] [[nodiscard]] Error check_in_section(const Claims& claims,
                                                           std::span<const unsigned char> signature,
                                                           const Hint& hint) const noexcept {
        const Key key = !claims.jti ? signature_key(claims.header.alg, signature, claims.exp)
                        : hint_names(hint, claims) ? hint.key
                                                   : jti_key(*claims.jti, claims.exp);
        if (contains_in_section(key)) return Error::revoked;
        if (claims.sub) {
            if (const auto cutoff = subject_cutoff_in_section(*claims.sub)) {
                // Issued before the cut-off, or with no date to tell.
                if (!claims.iat || claims.iat_floor() < *cutoff) return Error::subject_revoked;
            }
        }
        return Error::ok;
    }

    [[nodiscard]] bool contains_in_section(const Key& key) const noexcept {
        // Overflow first: `advance` inserts a moved entry into the ring before
        // it takes it out of the overflow, so this order never misses it.
        if (const detail::Bucket* o = m_overflow.load(std::memory_order_seq_cst)) {
            const auto* t = o->cells[key.fp.lo & m_shard_mask].load(std::memory_order_seq_cst);
            if (t != nullptr && t->contains(key.fp)) return true;
        }
        const detail::FingerprintTable* t = ring_cell(key);
        return t != nullptr && t->contains(key.fp);
    }

    [[nodiscard]] std::optional<std::int64_t> subject_cutoff_in_section(
        std::string_view sub) const noexcept {
        const detail::SubjectTable* table = m_subjects.load(std::memory_order_seq_cst);
        if (table == nullptr) return std::nullopt;
        return table->find(
            detail::fingerprint(detail::NameKind::subject, sub.data(), sub.size(), 0));
    }

    [[nodiscard]] bool journal_writable() const noexcept {
        return m_journal && m_journal->writable();
    }
    [[nodiscard]] std::unique_lock<std::mutex> journal_lock() {
        if (!m_journal) return {};
        return std::unique_lock<std::mutex>(m_journal_mutex);
    }

    /// Inserts a fingerprint whose token's exp lies in [first, last]: into
    /// every bucket of that range the ring covers, the rest to the overflow.
    /// Holds the fingerprint's shard lock.
    RevokeResult insert_locked(const detail::Fingerprint& fp, std::int64_t first,
                               std::int64_t last) {
        if (expired(last)) return RevokeResult::already_expired;
        const std::int64_t w = m_options.bucket_width;
        const std::int64_t ring_end = m_base + static_cast<std::int64_t>(m_ring_size);
        bool added = false;
        const bool wide = wide_range(first, last);
        if (first != detail::no_exp && !wide) {
            const std::int64_t from = std::max(detail::floor_div(first, w), m_base);
            const std::int64_t to = std::min(detail::floor_div(last, w), ring_end - 1);
            for (std::int64_t a = from; a <= to; ++a)
                added |= insert_ring_locked(fp, a);
        }
        if (wide || last == detail::no_exp || detail::floor_div(last, w) >= ring_end) {
            // Keep the part of the range beyond the ring for re-bucketing.
            const std::int64_t from =
                first == detail::no_exp || wide ? first : std::max(first, ring_end * w);
            if (insert_cell_locked(overflow_bucket_locked(), fp)) {
                m_shards[fp.lo & m_shard_mask].overflow.push_back({fp, from, last});
                added = true;
            }
        }
        return added ? RevokeResult::added : RevokeResult::already_revoked;
    }

    /// Whether an exp range covers more buckets than any one revocation
    /// needs (a snapshot written with a wider bucket width than this one's
    /// spans a few): such a range, only a damaged or hostile record asks
    /// for, stays one entry of the overflow bucket until it expires instead
    /// of taking a bucket in every ring slot it covers.
    [[nodiscard]] bool wide_range(std::int64_t first, std::int64_t last) const noexcept {
        const std::int64_t w = m_options.bucket_width;
        return first != detail::no_exp &&
               detail::floor_div(last, w) - detail::floor_div(first, w) >= max_record_buckets;
    }

    /// Whether an overflow entry belongs in the ring now.
    [[nodiscard]] bool ring_reaches(const OverflowEntry& e, std::int64_t ring_end) const noexcept {
        return e.first != detail::no_exp && !wide_range(e.first, e.last) &&
               detail::floor_div(e.first, m_options.bucket_width) < ring_end;
    }

    bool insert_ring_locked(const detail::Fingerprint& fp, std::int64_t bucket_index) {
        std::atomic<detail::Bucket*>& slot =
            m_ring[static_cast<std::size_t>(bucket_index) & (m_ring_size - 1)];
        detail::Bucket* b = slot.load(std::memory_order_acquire);
        if (b == nullptr) {
            auto fresh = std::make_unique<detail::Bucket>(bucket_index, m_options.shards);
            // Writers of other shards may create it at the same moment.
            if (slot.compare_exchange_strong(b, fresh.get(), std::memory_order_seq_cst))
                b = fresh.release();
        }
        // The ring holds only buckets in [m_base, m_base + size): a slot holds
        // either nothing or exactly this bucket (advance dropped older ones).
        return insert_cell_locked(*b, fp);
    }

    detail::Bucket& overflow_bucket_locked() {
        detail::Bucket* o = m_overflow.load(std::memory_order_acquire);
        if (o == nullptr) {
            auto fresh = std::make_unique<detail::Bucket>(overflow_only, m_options.shards);
            if (m_overflow.compare_exchange_strong(o, fresh.get(), std::memory_order_seq_cst))
                o = fresh.release();
        }
        return *o;
    }

    /// Adds `fp` to its shard's cell of `b`, growing the cell when full.
    bool insert_cell_locked(detail::Bucket& b, const detail::Fingerprint& fp) {
        const std::size_t s = fp.lo & m_shard_mask;
        detail::FingerprintTable* t = b.cells[s].load(std::memory_order_relaxed);
        if (t == nullptr) {
            t = new detail::FingerprintTable(detail::FingerprintTable::initial_capacity,
                                             m_options.bloom_bits_per_key);
            b.cells[s].store(t, std::memory_order_seq_cst);
        } else if (t->contains_exact(fp)) {
            return false;
        }
        if (t->full()) {
            auto bigger = t->grown(m_options.bloom_bits_per_key);
            b.cells[s].store(bigger.get(), std::memory_order_seq_cst);
            m_retired.retire(t);
            t = bigger.release();
        }
        t->insert(fp);
        m_shards[s].count.fetch_add(1, std::memory_order_relaxed);
        return true;
    }

    /// Unlinks every bucket below `new_base`. Holds all shard locks.
    void drop_buckets_locked(std::int64_t new_base) {
        if (new_base <= m_base) return;
        const std::int64_t end =
            std::min(new_base, m_base + static_cast<std::int64_t>(m_ring_size));
        for (std::int64_t a = m_base; a < end; ++a) {
            std::atomic<detail::Bucket*>& slot =
                m_ring[static_cast<std::size_t>(a) & (m_ring_size - 1)];
            detail::Bucket* b = slot.load(std::memory_order_relaxed);
            if (b == nullptr || b->index >= new_base) continue;
            slot.store(nullptr, std::memory_order_seq_cst);
            for (std::size_t s = 0; s < b->shards; ++s)
                if (const auto* t = b->cells[s].load(std::memory_order_relaxed))
                    m_shards[s].count.fetch_sub(t->size(), std::memory_order_relaxed);
            m_retired.retire(b);
        }
        m_base = new_base;
    }

    /// Moves overflow entries that the ring now reaches into it, drops the
    /// expired ones, and rebuilds the overflow bucket from what remains.
    /// Holds all shard locks.
    void rebucket_overflow_locked() {
        detail::Bucket* old = m_overflow.load(std::memory_order_relaxed);
        if (old == nullptr) return;
        const std::int64_t w = m_options.bucket_width;
        const std::int64_t ring_end = m_base + static_cast<std::int64_t>(m_ring_size);
        bool changed = false;
        for (std::size_t s = 0; s < m_options.shards; ++s)
            for (const OverflowEntry& e : m_shards[s].overflow)
                changed |= ring_reaches(e, ring_end) || expired(e.last);
        if (!changed) return;
        // First into the ring (readers look at the overflow first)...
        auto fresh = std::make_unique<detail::Bucket>(overflow_only, m_options.shards);
        std::size_t kept = 0;
        for (std::size_t s = 0; s < m_options.shards; ++s) {
            std::vector<OverflowEntry> remaining;
            for (const OverflowEntry& e : m_shards[s].overflow) {
                if (expired(e.last)) continue;
                if (ring_reaches(e, ring_end)) {
                    const std::int64_t to = std::min(detail::floor_div(e.last, w), ring_end - 1);
                    for (std::int64_t a = std::max(detail::floor_div(e.first, w), m_base); a <= to;
                         ++a)
                        insert_ring_locked(e.fp, a);
                    if (e.last == detail::no_exp || detail::floor_div(e.last, w) >= ring_end)
                        remaining.push_back({e.fp, ring_end * w, e.last});
                } else {
                    remaining.push_back(e);
                }
            }
            m_shards[s].overflow = std::move(remaining);
            // The old overflow's entries leave the count; re-insertion below
            // and above counted what stays.
            if (const auto* t = old->cells[s].load(std::memory_order_relaxed))
                m_shards[s].count.fetch_sub(t->size(), std::memory_order_relaxed);
            for (const OverflowEntry& e : m_shards[s].overflow) {
                insert_cell_locked(*fresh, e.fp);
                ++kept;
            }
        }
        // ...then swap the overflow for one without them.
        m_overflow.store(kept == 0 ? nullptr : fresh.release(), std::memory_order_seq_cst);
        m_retired.retire(old);
    }

    bool upsert_subject_locked(const detail::Fingerprint& fp, std::int64_t cutoff) {
        detail::SubjectTable* table = m_subjects.load(std::memory_order_relaxed);
        if (table == nullptr || table->full()) {
            auto bigger = std::make_unique<detail::SubjectTable>(
                table == nullptr ? 16 : table->capacity() * 2);
            if (table != nullptr)
                table->for_each(
                    [&](const detail::Fingerprint& f, std::int64_t c) { bigger->upsert(f, c); });
            m_subjects.store(bigger.get(), std::memory_order_seq_cst);
            m_retired.retire(table);
            table = bigger.release();
        }
        return table->upsert(fp, cutoff);
    }

    void expire_subjects() {
        std::lock_guard lock(m_subject_mutex);
        detail::SubjectTable* table = m_subjects.load(std::memory_order_relaxed);
        if (table == nullptr || m_options.max_token_lifetime == 0) return;
        std::size_t live = 0;
        table->for_each(
            [&](const detail::Fingerprint&, std::int64_t c) { live += !subject_expired(c); });
        if (live == table->size()) return;
        std::unique_ptr<detail::SubjectTable> fresh;
        if (live > 0) {
            fresh = std::make_unique<detail::SubjectTable>(std::max<std::size_t>(16, live * 4));
            table->for_each([&](const detail::Fingerprint& f, std::int64_t c) {
                if (!subject_expired(c)) fresh->upsert(f, c);
            });
        }
        m_subjects.store(fresh.release(), std::memory_order_seq_cst);
        m_retired.retire(table);
    }

    // --- journal ----------------------------------------------------------

    /// Puts one revocation in force (no journal). Takes the lock its kind needs.
    RevokeResult insert_record(const detail::Record& r) {
        if (r.kind == detail::RecordKind::subject) {
            if (subject_expired(r.first)) return RevokeResult::already_expired;
            std::lock_guard lock(m_subject_mutex);
            return upsert_subject_locked(r.fp, r.first) ? RevokeResult::added
                                                        : RevokeResult::already_revoked;
        }
        std::lock_guard lock(m_shards[r.fp.lo & m_shard_mask].mutex);
        return insert_locked(r.fp, r.first, r.last);
    }

    Options m_options;
    std::size_t m_shard_mask = 0;
    std::size_t m_ring_size = 0;
    detail::Divider m_bucket_of{1};
    std::unique_ptr<std::atomic<detail::Bucket*>[]> m_ring;
    std::atomic<detail::Bucket*> m_overflow{nullptr};
    std::atomic<detail::SubjectTable*> m_subjects{nullptr};
    std::unique_ptr<Shard[]> m_shards;
    // Written under all shard locks, read under any one.
    std::int64_t m_base = 0;
    // Written under all shard locks; read by subject writers too.
    std::atomic<std::int64_t> m_now;
    mutable std::mutex m_maintenance_mutex;
    mutable std::mutex m_subject_mutex;
    std::mutex m_journal_mutex;
    std::optional<detail::JournalFile> m_journal;
    JournalReport m_report;
    detail::RetireList m_retired;
};

}  // namespace jwtguard
