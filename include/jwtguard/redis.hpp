// Mirrors a Denylist through Redis, for a farm of server instances: every
// revocation goes to Redis first and is applied to the local Denylist; a
// background thread applies every other instance's revocations to it within
// milliseconds. Requests never wait on Redis: validators read the local
// Denylist exactly as on one machine.
//
// Optional and not in the umbrella header: it needs hiredis (Debian:
// libhiredis-dev; link with -lhiredis, or the CMake target
// jwtguard::redis when hiredis was found).
//
// In Redis, under the key prefix (default "jwtguard:"):
//   <prefix>live         sorted set: every live revocation (member: its text
//                        form, score: the time after which no token it names
//                        can pass, plus clock slack). The durable shared record:
//                        a new or restarted instance loads it before it is ready.
//   <prefix>revocations  stream: each revocation as it is made (fields r: its
//                        text form, o: the instance that made it), trimmed to
//                        MINID = now - stream retention. Instances follow it
//                        with XREAD BLOCK from the last id they saw, so an
//                        instance that was disconnected replays what it missed
//                        (a PUB/SUB message sent while it was away would be
//                        lost); one that missed more than the stream still
//                        holds reloads the sorted set instead.
//   <prefix>generation   a random name the first instance sets: when it is
//                        gone or changed, Redis lost its data, and every
//                        instance publishes what it holds again.
//   <prefix>claim:<name> claim_once()'s compare-and-set keys (e.g. a refresh
//                        token's rotation), each expiring with what it names.
//   <prefix>ack-probe    a counter written to ask WAIT about earlier writes.
// A revocation's write is one MULTI/EXEC (ZADD + XADD), so the set and the
// stream never disagree. Revocations commute (a set of fingerprints, and a
// subject's latest cut-off wins), so replays and duplicates are harmless.
//
// Failover (Redis Sentinel, redis_connection.hpp): replication is
// asynchronous, so a new primary may lack the last revocations the old one
// took. Each instance notices that another server now holds the data (its
// run_id changed), adds back to the set and the stream every revocation it
// holds that the new primary lacks, and reloads the set. What is lost then
// is only what no surviving instance holds: a revocation whose maker is gone
// too, without journal or outbox. With min_replicas_acked a revocation
// counts as shared only once replicas hold it (WAIT), so not even that.
//
// Text form of a revocation (what the stream and the set carry):
//   token <first> <last> <fingerprint>     first/last: the exp range (equal
//                                          for one token), or "none"
//   subject <cutoff> <fingerprint>
// where <fingerprint> is 32 lowercase hex digits (lo then hi, 16 each). An
// entry that does not parse is skipped with a warning.
#pragma once

#include <jwtguard/denylist.hpp>
#include <jwtguard/redis_connection.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <deque>
#include <functional>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace jwtguard {

struct RedisSyncOptions {
    /// The Redis server, when no Sentinel is listed.
    std::string host = "127.0.0.1";
    int port = 6379;
    /// ACL user (Redis 6+); empty: AUTH with the password alone.
    std::string user;
    /// Empty: no AUTH.
    std::string password;
    /// Redis Sentinel: when this lists Sentinels, `host` and `port` are not
    /// used. The primary is the server the Sentinels name for `master_name`
    /// (the newest view wins: detail::find_primary), checked with ROLE; it is looked up again
    /// whenever it cannot be reached, answers READONLY, or the Sentinels
    /// name another (asked every sentinel_check_interval).
    std::vector<RedisAddress> sentinels;
    std::string master_name;
    /// AUTH for the Sentinels (their requirepass or ACL user), which need
    /// not be the servers'.
    std::string sentinel_user;
    std::string sentinel_password;
    std::chrono::milliseconds sentinel_check_interval{1000};
    /// Replicated acknowledgement: when > 0, a revocation counts as shared
    /// only once WAIT reports that this many replicas hold it, within
    /// replica_ack_timeout; until then it stays queued (and in the outbox
    /// file) and is published again, to a new primary after a failover.
    /// 0: the primary's answer is enough (README, "Redis Sentinel", says
    /// what a failover can then lose). In [0, 64].
    int min_replicas_acked = 0;
    std::chrono::milliseconds replica_ack_timeout{500};
    // TLS: Debian 12's hiredis (0.14) has no TLS support. Keep Redis on a
    // private network or loopback, or tunnel it (stunnel, spiped).
    std::string key_prefix = "jwtguard:";
    std::string stream_name = "revocations";
    std::chrono::milliseconds connect_timeout{500};
    /// Bound on one command's round trip: a revocation waits at most this
    /// long for Redis before it is queued instead.
    std::chrono::milliseconds command_timeout{500};
    /// How long one XREAD waits for new entries; also how long stopping the
    /// background thread may take.
    std::chrono::milliseconds read_block{100};
    /// Reconnection backoff: doubles from min to max while Redis is away.
    std::chrono::milliseconds backoff_min{50};
    std::chrono::milliseconds backoff_max{2000};
    /// How often the background thread drops expired revocations from Redis
    /// (every instance does; the work is idempotent).
    std::chrono::milliseconds trim_interval{10000};
    /// Seconds the stream keeps an entry, in [0, 10 years]; 0: the
    /// denylist's max_token_lifetime, or one day if that is 0. An instance away for
    /// longer reloads the sorted set, so this bounds only replay, not safety.
    std::int64_t stream_retention = 0;
    /// Seconds Redis keeps a revocation beyond the moment its tokens expire
    /// (with the denylist's leeway): room for clocks that disagree; in
    /// [0, 2^31].
    std::int64_t clock_slack = 60;
    /// Current time in seconds since the epoch; empty: the system clock. A
    /// time outside [0, 2^53] is warned about and trims nothing.
    std::function<std::int64_t()> clock;
    /// Where warnings go (malformed entries, outages, recoveries); empty:
    /// stderr.
    std::function<void(std::string_view)> warn;
    /// File that keeps the revocations queued while Redis is away, so that a
    /// restart of this instance does not lose them for the others; loaded at
    /// construction and replayed. Empty: beside the Denylist's journal
    /// (journal_path + ".redis-outbox"), or memory only if it has none.
    std::string outbox_path;
    /// Names this instance in the stream's "o" field (for people reading the
    /// stream); empty: host:pid. A random suffix is always added, so that two
    /// instances never take each other's entries for their own.
    std::string instance_id;
};

/// What one mirrored revocation did.
struct SyncedRevocation {
    /// What the local denylist did.
    RevokeResult local = RevokeResult::added;
    /// True when Redis took it. False: Redis is unreachable or refused it;
    /// it is in force here and queued, and is sent when Redis is back.
    bool shared = false;
    /// Why Redis did not take it (empty when shared).
    std::string redis_error;
};

namespace detail {

inline constexpr std::string_view hex_digits = "0123456789abcdef";

/// The outbox file: this magic, then journal records (denylist.hpp).
inline constexpr char outbox_magic[8] = {'j', 'w', 't', 'g', 'O', 'B', 'X', '1'};

/// Appends `v` as 16 lowercase hex digits, most significant first.
inline void append_hex(std::string& out, std::uint64_t v) {
    for (int shift = 60; shift >= 0; shift -= 4)
        out += hex_digits[(v >> shift) & 0xF];
}

/// The system clock in seconds since the epoch (the default clock).
[[nodiscard]] inline std::int64_t unix_seconds() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

[[nodiscard]] inline std::string format_date(std::int64_t t) {
    return t == no_exp ? std::string("none") : std::to_string(t);
}

/// A NumericDate in canonical decimal (no sign, no leading zero), or "none".
[[nodiscard]] inline bool parse_date(std::string_view s, std::int64_t& out) noexcept {
    if (s == "none") {
        out = no_exp;
        return true;
    }
    if (s.empty() || s.size() > 16 || (s.size() > 1 && s[0] == '0')) return false;
    // Digits only: from_chars would take a sign ("-0" spelling 0).
    for (const char c : s)
        if (c < '0' || c > '9') return false;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && end == s.data() + s.size() && is_numeric_date(out);
}

/// The text form of a revocation (see the top of this header).
[[nodiscard]] inline std::string format_revocation(const Revocation& r) {
    std::string s = r.kind == RevocationKind::subject
                        ? "subject " + format_date(r.first)
                        : "token " + format_date(r.first) + " " + format_date(r.last);
    s += ' ';
    append_hex(s, r.fp.lo);
    append_hex(s, r.fp.hi);
    return s;
}

/// Parses the text form strictly (single spaces, lowercase hex, canonical
/// numbers); false for anything else or a revocation out of range.
[[nodiscard]] inline bool parse_revocation(std::string_view s, Revocation& out) noexcept {
    std::string_view fields[4];
    std::size_t count = 0;
    for (std::size_t start = 0;;) {
        const std::size_t space = s.find(' ', start);
        if (count == 4) return false;
        fields[count++] = s.substr(start, space - start);
        if (space == std::string_view::npos) break;
        start = space + 1;
    }
    std::string_view fp;
    if (fields[0] == "token" && count == 4) {
        out.kind = RevocationKind::revoked;
        if (!parse_date(fields[1], out.first) || !parse_date(fields[2], out.last)) return false;
        fp = fields[3];
    } else if (fields[0] == "subject" && count == 3) {
        out.kind = RevocationKind::subject;
        if (!parse_date(fields[1], out.first) || out.first == no_exp) return false;
        out.last = out.first;
        fp = fields[2];
    } else {
        return false;
    }
    if (fp.size() != 32) return false;
    std::uint64_t halves[2] = {0, 0};
    for (std::size_t i = 0; i < 32; ++i) {
        const std::size_t digit = hex_digits.find(fp[i]);
        if (digit == std::string_view::npos) return false;
        halves[i / 16] = (halves[i / 16] << 4) | digit;
    }
    out.fp = {halves[0], halves[1]};
    return record_valid(out);
}

/// A stream entry id "<ms>-<seq>", comparable.
struct StreamId {
    std::uint64_t ms = 0;
    std::uint64_t seq = 0;
    friend auto operator<=>(const StreamId&, const StreamId&) = default;

    [[nodiscard]] static std::optional<StreamId> parse(std::string_view s) noexcept {
        const std::size_t dash = s.find('-');
        if (dash == std::string_view::npos) return std::nullopt;
        StreamId id;
        const char* end = s.data() + s.size();
        const auto a = std::from_chars(s.data(), s.data() + dash, id.ms);
        const auto b = std::from_chars(s.data() + dash + 1, end, id.seq);
        if (a.ec != std::errc() || a.ptr != s.data() + dash || b.ec != std::errc() || b.ptr != end)
            return std::nullopt;
        return id;
    }
    [[nodiscard]] std::string text() const {
        return std::to_string(ms) + "-" + std::to_string(seq);
    }
};

}  // namespace detail

/// Connects one local Denylist to Redis. Construct it after the Denylist
/// (and its journal) is loaded; it starts a background thread that loads
/// every live revocation from Redis (wait_ready() tells when that is done)
/// and then follows the stream. Revoke through it, not through the Denylist,
/// so that other instances learn of it. Thread-safe.
class RedisDenylistSync {
  public:
    using Options = RedisSyncOptions;

    struct Stats {
        /// Entries applied from Redis (the initial load, reloads and other
        /// instances' stream entries) and how many added anything.
        std::uint64_t received = 0;
        std::uint64_t applied = 0;
        /// Entries skipped because they did not parse.
        std::uint64_t malformed = 0;
        /// Revocations queued while Redis was away, and sent since.
        std::uint64_t queued = 0;
        std::uint64_t replayed = 0;
        /// Full loads of the sorted set (the first, and after a gap).
        std::uint64_t full_loads = 0;
        /// Background sessions that failed: connections lost or refused.
        std::uint64_t connection_failures = 0;
        /// Revocations published again because Redis lacked them after it
        /// lost its data or another primary took over.
        std::uint64_t republished = 0;
        /// WAITs that found fewer replicas than min_replicas_acked.
        std::uint64_t replica_shortfalls = 0;
        /// Claims answered `unavailable` that Redis held all the same, and
        /// that this instance deleted (claim_once()).
        std::uint64_t claims_given_back = 0;
        /// Claims of this instance answered `unavailable`, found still held
        /// by a later call here and taken over by it (claim_once()).
        std::uint64_t claims_adopted = 0;
    };

    /// Throws SetupError(option_invalid) for bad options. Does not wait for
    /// Redis: an unreachable Redis is retried in the background.
    RedisDenylistSync(Denylist& denylist, Options options)
        : m_denylist(denylist), m_options(std::move(options)) {
        const auto fail = [](const char* what) { throw SetupError(Error::option_invalid, what); };
        if (m_options.port <= 0 || m_options.port > 65535) fail("port must lie in [1, 65535]");
        for (const RedisAddress& a : m_options.sentinels)
            if (a.host.empty() || a.port <= 0 || a.port > 65535)
                fail("every Sentinel needs a host and a port in [1, 65535]");
        if (m_options.sentinels.empty() != m_options.master_name.empty())
            fail("Sentinels and master_name go together: both or neither");
        if (m_options.min_replicas_acked < 0 || m_options.min_replicas_acked > 64)
            fail("min_replicas_acked must lie in [0, 64]");
        if (m_options.stream_name.empty() || m_options.stream_name == "live" ||
            m_options.stream_name == "generation" || m_options.stream_name == "ack-probe" ||
            m_options.stream_name.starts_with("claim:"))
            fail(
                "stream_name must not be empty, \"live\", \"generation\", \"ack-probe\" or "
                "\"claim:...\" (the other keys)");
        // Durations are added to clocks: bounded above as well.
        constexpr std::chrono::milliseconds day = std::chrono::hours(24);
        for (const std::chrono::milliseconds t :
             {m_options.connect_timeout, m_options.command_timeout, m_options.read_block,
              m_options.trim_interval, m_options.sentinel_check_interval,
              m_options.replica_ack_timeout})
            if (t.count() <= 0 || t > day) fail("timeouts and intervals must lie in (0, 1 day]");
        if (m_options.backoff_min.count() <= 0 || m_options.backoff_max < m_options.backoff_min ||
            m_options.backoff_max > day)
            fail("backoff needs 0 < backoff_min <= backoff_max <= 1 day");
        if (m_options.stream_retention < 0 || m_options.stream_retention > max_stream_retention)
            fail("stream_retention must lie in [0, 10 years] seconds");
        if (m_options.clock_slack < 0 || m_options.clock_slack > max_leeway)
            fail("clock_slack must lie in [0, 2^31] seconds");
        if (!m_options.clock) m_options.clock = detail::unix_seconds;
        if (!m_options.warn)
            m_options.warn = [](std::string_view m) {
                std::fprintf(stderr, "jwtguard redis: %.*s\n", static_cast<int>(m.size()),
                             m.data());
            };
        if (m_options.instance_id.empty()) m_options.instance_id = default_instance_id();
        m_origin = m_options.instance_id + "#" + random_suffix();
        if (m_options.stream_retention == 0) {
            const std::int64_t life = m_denylist.options().max_token_lifetime;
            m_options.stream_retention = life > 0 ? life : 24 * 3600;
        }
        m_stream_key = m_options.key_prefix + m_options.stream_name;
        m_live_key = m_options.key_prefix + "live";
        m_generation_key = m_options.key_prefix + "generation";
        m_ack_probe_key = m_options.key_prefix + "ack-probe";
        m_credentials = {m_options.user, m_options.password};
        m_sentinel_credentials = {m_options.sentinel_user, m_options.sentinel_password};
        const DenylistOptions& d = m_denylist.options();
        if (m_options.outbox_path.empty() && !d.journal_path.empty() && !d.journal_read_only)
            m_options.outbox_path = d.journal_path + ".redis-outbox";
        open_outbox();
        m_thread = std::thread([this] { run(); });
    }

    ~RedisDenylistSync() {
        {
            std::lock_guard lock(m_state_mutex);
            m_stop = true;
        }
        m_wake.notify_all();
        m_thread.join();
        if (!m_outbox.empty())
            warn(std::to_string(m_outbox.size()) + " revocations never reached Redis; " +
                 (m_outbox_fd >= 0 ? "kept in " + m_options.outbox_path + " for the next start"
                                   : std::string("the other instances will not learn of them")));
        if (m_outbox_fd >= 0) ::close(m_outbox_fd);
    }
    RedisDenylistSync(const RedisDenylistSync&) = delete;
    RedisDenylistSync& operator=(const RedisDenylistSync&) = delete;

    /// True once every revocation Redis held has been loaded.
    [[nodiscard]] bool ready() const noexcept { return m_ready.load(std::memory_order_acquire); }

    /// Waits until ready() or the timeout; returns ready().
    bool wait_ready(std::chrono::milliseconds timeout) {
        std::unique_lock lock(m_state_mutex);
        m_wake.wait_for(lock, timeout, [&] { return ready() || m_stop; });
        return ready();
    }

    /// Revokes like Denylist::revoke_jti, through Redis. Throws like it.
    SyncedRevocation revoke_jti(std::string_view jti, std::optional<std::int64_t> exp) {
        return revoke(Denylist::jti_revocation(jti, exp));
    }
    /// Revokes like Denylist::revoke_subject, through Redis. Throws like it.
    SyncedRevocation revoke_subject(std::string_view sub, std::int64_t cutoff) {
        return revoke(Denylist::subject_revocation(sub, cutoff));
    }
    /// Revokes like Denylist::revoke_token, through Redis: ok, or the token's
    /// structural error (then nothing is sent).
    [[nodiscard]] Error revoke_token(std::string_view token, SyncedRevocation* result = nullptr) {
        Revocation revocation;
        if (const Error e = Denylist::token_revocation(token, revocation); e != Error::ok) return e;
        SyncedRevocation r = revoke(revocation);
        if (result != nullptr) *result = std::move(r);
        return Error::ok;
    }

    /// Sends a revocation to Redis (one round trip, at most command_timeout),
    /// then applies it locally. If Redis does not take it, it is applied
    /// locally and queued for the background thread to send; the result says
    /// so. Throws SetupError for a revocation out of range, and
    /// std::system_error when the local journal cannot be written.
    SyncedRevocation revoke(const Revocation& revocation) {
        if (!detail::record_valid(revocation))
            throw SetupError(Error::option_invalid, "a revocation field is out of range");
        SyncedRevocation result;
        {
            std::lock_guard lock(m_writer_mutex);
            std::uint64_t published_in = 0;
            if (m_writer == nullptr) {
                result.redis_error =
                    m_writer_error.empty() ? "not connected to Redis yet" : m_writer_error;
            } else if (m_outbox.empty()) {
                // The transaction and WAIT share one round trip.
                append_publish(*m_writer, revocation, stream_min_id());
                if (m_options.min_replicas_acked > 0) append_wait(*m_writer);
                result.redis_error = read_publish(*m_writer);
                if (m_options.min_replicas_acked > 0) {
                    std::string acked = read_wait(*m_writer);
                    if (result.redis_error.empty()) {
                        // In the primary: if no replica holds it yet, it is
                        // queued as published on this connection.
                        published_in = m_writer_epoch;
                        result.redis_error = std::move(acked);
                    }
                }
                if (!result.redis_error.empty()) writer_failed_locked(result.redis_error);
            } else {
                result.redis_error = "earlier revocations are still queued";
            }
            result.shared = result.redis_error.empty();
            if (!result.shared) {
                m_outbox.push_back({revocation, published_in});
                ++m_queued;
                try {
                    append_outbox(revocation);
                } catch (const std::exception& e) {
                    result.redis_error += std::string("; queued in memory only: ") + e.what();
                    warn(result.redis_error);
                }
            }
        }
        if (!result.shared) m_wake.notify_all();
        result.local = m_denylist.apply(revocation);
        return result;
    }

    /// What claim_once() decided.
    enum class Claim {
        won,          ///< this call holds the name: the only one in the farm
        lost,         ///< an earlier call (here or on another instance) holds it
        unavailable,  ///< Redis could not decide: treat as a refusal (fail closed)
    };

    /// Claims `name` once across the farm, until `until` (seconds since the
    /// epoch) plus clock_slack: a compare-and-set in the primary
    /// (SET <prefix>claim:<name> NX EX), so that of any number of calls on
    /// any instances exactly one wins, e.g. the rotation of one refresh
    /// token. A claim Redis may hold without this call knowing it won (its
    /// answer lost with the connection, or, with min_replicas_acked, not
    /// acknowledged by the replicas in time) is `unavailable` and given
    /// back: deleted if it still holds this call's value, at once and
    /// through every later writer connection until it expires (a failover
    /// can lose a give-back), so that a later call can win; a give-back
    /// outrun by a late copy of its claim costs a winner, never makes two;
    /// until it runs, a later call on this instance that finds the claim
    /// still holding that value takes it over and wins (no call had won it),
    /// so that a failover does not leave a claim nobody can win.
    /// A `won` claim is as durable as a revocation: without
    /// min_replicas_acked a failover can lose it, and a later call win a
    /// second time; with it, only a failover to a replica that had not
    /// acknowledged it (Sentinel promotes the most advanced one). Unreachable
    /// Redis: `unavailable`, with the reason in `why`. One round trip (plus
    /// WAIT), at most command_timeout (plus replica_ack_timeout).
    [[nodiscard]] Claim claim_once(std::string_view name, std::int64_t until,
                                   std::string* why = nullptr) {
        const auto unavailable = [&](std::string reason) {
            return unavailable_because(why, std::move(reason));
        };
        if (name.empty()) return unavailable("an empty name");
        if (!is_numeric_date(until)) return unavailable("the expiry lies outside [0, 2^53]");
        const std::int64_t seconds =
            std::max<std::int64_t>(until - now(), 0) + 1 + m_options.clock_slack;
        std::lock_guard lock(m_writer_mutex);
        if (m_writer == nullptr)
            return unavailable(m_writer_error.empty() ? "not connected to Redis yet"
                                                      : m_writer_error);
        const std::string key = m_options.key_prefix + "claim:" + std::string(name);
        const bool acked = m_options.min_replicas_acked > 0;
        const std::string mine = m_origin + "#" + std::to_string(++m_claims);
        m_writer->append({"SET", key, mine, "NX", "EX", std::to_string(seconds)});
        if (acked) append_wait(*m_writer);  // one round trip for both
        const detail::Reply r = m_writer->read();
        const std::string replicas = acked ? read_wait(*m_writer) : std::string();
        std::string error;
        if (r == nullptr)
            error = m_writer->error();
        else if (r->type == REDIS_REPLY_NIL)
            return adopt_or_lose_locked(key, seconds, why);
        else if (r->type != REDIS_REPLY_STATUS)
            error = "Redis refused: " + std::string(detail::reply_text(r.get()));
        else
            error = replicas;
        if (error.empty()) return Claim::won;
        // Not granted, but possibly taken (unacknowledged, or its answer
        // lost with the connection; a refusal took nothing). Give it back
        // (if it still holds this call's value), now and again on every
        // later writer connection until it would have expired, since a
        // failover can lose the give-back as well: otherwise every later
        // call would lose to a claim nobody was granted.
        if (r == nullptr || r->type == REDIS_REPLY_STATUS) {
            if (m_given_back.size() == max_given_back) m_given_back.pop_front();
            m_given_back.push_back({key, mine, now() + seconds, 0});
        }
        writer_failed_locked(error);
        if (m_writer != nullptr) (void)give_back_claims_locked();
        return unavailable(std::move(error));
    }

    [[nodiscard]] Stats stats() const {
        std::lock_guard lock(m_writer_mutex);
        Stats s;
        s.received = m_received.load(std::memory_order_relaxed);
        s.applied = m_applied.load(std::memory_order_relaxed);
        s.malformed = m_malformed.load(std::memory_order_relaxed);
        s.queued = m_queued;
        s.replayed = m_replayed;
        s.full_loads = m_full_loads.load(std::memory_order_relaxed);
        s.connection_failures = m_connection_failures.load(std::memory_order_relaxed);
        s.republished = m_republished.load(std::memory_order_relaxed);
        s.replica_shortfalls = m_replica_shortfalls;
        s.claims_given_back = m_claims_given_back;
        s.claims_adopted = m_claims_adopted;
        return s;
    }

    /// Revocations waiting for Redis.
    [[nodiscard]] std::size_t queued() const {
        std::lock_guard lock(m_writer_mutex);
        return m_outbox.size();
    }

    [[nodiscard]] const Options& options() const noexcept { return m_options; }
    [[nodiscard]] const std::string& stream_key() const noexcept { return m_stream_key; }
    [[nodiscard]] const std::string& live_key() const noexcept { return m_live_key; }

  private:
    using Connection = detail::RedisConnection;

    [[nodiscard]] static std::string default_instance_id() {
        char host[256] = {};
        if (::gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
        return std::string(host) + ":" + std::to_string(::getpid());
    }

    [[nodiscard]] static std::string random_suffix() {
        std::random_device random;
        const std::uint64_t r = (std::uint64_t{random()} << 32) ^ random();
        std::string s;
        detail::append_hex(s, r);
        return s;
    }

    static constexpr std::int64_t max_stream_retention = 86400 * 3660;

    /// The clock's time (time.hpp's range). A clock that gives anything else
    /// is warned about and read as 0, at which trimming drops nothing: a
    /// broken clock must not empty the farm's revocations.
    [[nodiscard]] std::int64_t now() const {
        const std::int64_t t = m_options.clock();
        if (is_numeric_date(t)) return t;
        m_options.warn("the clock gave " + std::to_string(t) +
                       ", not a time in [0, 2^53]: nothing is trimmed");
        return 0;
    }

    /// Loads the revocations a previous run queued (a torn or corrupt record
    /// is dropped with a warning) and opens the file for appending.
    void open_outbox() {
        const std::string& path = m_options.outbox_path;
        if (path.empty()) return;
        std::size_t keep = detail::magic_size;
        if (auto image = detail::read_file(path)) {
            if (!image->empty() &&
                (image->size() < detail::magic_size ||
                 std::memcmp(image->data(), detail::outbox_magic, detail::magic_size) != 0))
                throw SetupError(Error::option_invalid, path + " is not a jwtguard Redis outbox");
            JournalReport report;
            std::size_t loaded = 0;
            if (image->size() >= detail::magic_size)
                keep = detail::for_each_record(*image, report, loaded, [&](const Revocation& r) {
                    m_outbox.push_back({r, 0});
                });
            m_queued += loaded;
            if (report.corrupt_records > 0 || keep < image->size())
                warn(path + ": dropped " + std::to_string(report.corrupt_records) +
                     " corrupt records and " + std::to_string(image->size() - keep) +
                     " bytes of a torn tail");
            if (loaded > 0)
                warn(std::to_string(loaded) + " revocations queued by a previous run: " +
                     "they are sent when Redis is reachable");
        }
        const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0) detail::throw_io_error("cannot open", path);
        try {
            // Cut a torn tail; (re)write the magic of a new or empty file.
            if (::ftruncate(fd, static_cast<off_t>(keep)) != 0 || ::lseek(fd, 0, SEEK_SET) != 0)
                detail::throw_io_error("cannot truncate", path);
            detail::write_all(fd, reinterpret_cast<const unsigned char*>(detail::outbox_magic),
                              detail::magic_size, path);
            if (::lseek(fd, static_cast<off_t>(keep), SEEK_SET) < 0 || ::fdatasync(fd) != 0)
                detail::throw_io_error("cannot sync", path);
        } catch (...) {
            ::close(fd);
            throw;
        }
        m_outbox_fd = fd;
    }

    /// Makes one queued revocation durable before revoke() returns.
    void append_outbox(const Revocation& r) {
        if (m_outbox_fd < 0) return;
        unsigned char bytes[detail::record_size];
        detail::encode_record(r, bytes);
        detail::write_all(m_outbox_fd, bytes, sizeof bytes, m_options.outbox_path);
        if (::fdatasync(m_outbox_fd) != 0)
            detail::throw_io_error("cannot sync", m_options.outbox_path);
    }

    /// Everything queued reached Redis: empty the file (best effort: a
    /// record left behind is sent again, which changes nothing).
    void clear_outbox() {
        if (m_outbox_fd < 0) return;
        if (::ftruncate(m_outbox_fd, static_cast<off_t>(detail::magic_size)) != 0 ||
            ::lseek(m_outbox_fd, static_cast<off_t>(detail::magic_size), SEEK_SET) < 0 ||
            ::fdatasync(m_outbox_fd) != 0)
            warn("cannot empty " + m_options.outbox_path + ": its records will be sent again");
    }

    /// The sorted-set score of a revocation: when the last token it names
    /// has expired, with leeway and slack; "+inf" for ever.
    [[nodiscard]] std::string expiry_score(const Revocation& r) const {
        const DenylistOptions& d = m_denylist.options();
        std::int64_t until = 0;
        if (r.kind == RevocationKind::subject) {
            if (d.max_token_lifetime == 0) return "+inf";
            until = r.first + d.max_token_lifetime;
        } else {
            if (r.last == detail::no_exp) return "+inf";
            until = r.last;
        }
        return std::to_string(until + d.leeway + m_options.clock_slack);
    }

    /// "(<now>": the scores of revocations that have expired.
    [[nodiscard]] std::string expired_bound() const { return "(" + std::to_string(now()); }

    /// The stream's trimming point: ids older than now - retention.
    [[nodiscard]] std::string stream_min_id() const {
        const std::int64_t seconds = std::max<std::int64_t>(now() - m_options.stream_retention, 0);
        return std::to_string(seconds * 1000);
    }

    /// Writes one revocation to the set and the stream atomically; returns
    /// why it failed, or an empty string.
    [[nodiscard]] std::string publish(Connection& c, const Revocation& r) {
        append_publish(c, r, stream_min_id());
        return read_publish(c);
    }

    /// Queues the writes of one revocation (one transaction: ZADD, XADD),
    /// so that several can share a round trip.
    void append_publish(Connection& c, const Revocation& r, const std::string& min_id) {
        const std::string text = detail::format_revocation(r);
        const std::string score = expiry_score(r);
        c.append({"MULTI"});
        c.append({"ZADD", m_live_key, score, text});
        c.append({"XADD", m_stream_key, "MINID", "~", min_id, "*", "r", text, "o", m_origin});
        c.append({"EXEC"});
    }

    /// Reads the replies of one append_publish(); why it failed, or empty.
    [[nodiscard]] std::string read_publish(Connection& c) {
        std::string error;
        for (int i = 0; i < 4; ++i) {
            const detail::Reply reply = c.read();
            if (reply == nullptr) return c.error();
            if (reply->type == REDIS_REPLY_ERROR && error.empty())
                error = "Redis refused: " + std::string(detail::reply_text(reply.get()));
            if (i == 3 && error.empty()) {
                if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2)
                    return "Redis did not run the transaction";
                for (std::size_t k = 0; k < 2; ++k)
                    if (reply->element[k]->type == REDIS_REPLY_ERROR)
                        return "Redis refused: " +
                               std::string(detail::reply_text(reply->element[k]));
            }
        }
        return error;
    }

    /// Queues WAIT: min_replicas_acked replicas must hold every write this
    /// connection made, within replica_ack_timeout.
    void append_wait(Connection& c) {
        c.append({"WAIT", std::to_string(m_options.min_replicas_acked),
                  std::to_string(m_options.replica_ack_timeout.count())});
    }

    /// Reads WAIT's answer: empty when enough replicas hold the writes,
    /// else why not.
    [[nodiscard]] std::string read_wait(Connection& c) {
        const int wanted = m_options.min_replicas_acked;
        const std::string timeout = std::to_string(m_options.replica_ack_timeout.count());
        const detail::Reply r = c.read();
        if (r == nullptr) return c.error();
        if (r->type != REDIS_REPLY_INTEGER)
            return "WAIT refused: " + std::string(detail::reply_text(r.get()));
        if (r->integer >= wanted) return {};
        ++m_replica_shortfalls;
        return "only " + std::to_string(r->integer) + " of the " + std::to_string(wanted) +
               " replicas asked for acknowledged it within " + timeout + " ms";
    }

    /// After the writer's command failed with `error`: a broken connection
    /// is dropped; a READONLY answer means the server is no longer the
    /// primary (a failover demoted it), so the writer is dropped and the
    /// background thread looks for the primary again.
    void writer_failed_locked(const std::string& error) {
        const bool demoted = error.find("READONLY") != std::string::npos;
        if (m_writer->ok() && !demoted) return;
        if (demoted) m_primary_lost.store(true, std::memory_order_relaxed);
        m_writer_error = m_writer->ok() ? error : m_writer->error();
        m_writer.reset();
    }

    /// `unavailable`, with `reason` in `why` if given.
    static Claim unavailable_because(std::string* why, std::string reason) {
        if (why != nullptr) *why = std::move(reason);
        return Claim::unavailable;
    }

    /// claim_once() found `key` held. If the holder is one of this
    /// instance's own claims whose answer was lost (one waiting to be given
    /// back), no call has won it: this call takes it over (compare-and-set
    /// in Redis, acknowledged like a new claim) and wins, and it is given
    /// back no more. Without this, every call of the farm would lose to it
    /// until the give-back ran, and a refresh storm through a failover
    /// could end with no winner at all. Any other holder: `lost`.
    [[nodiscard]] Claim adopt_or_lose_locked(const std::string& key, std::int64_t seconds,
                                             std::string* why) {
        const bool pending = std::any_of(m_given_back.begin(), m_given_back.end(),
                                         [&](const GivenBack& g) { return g.key == key; });
        if (!pending) return Claim::lost;
        const auto unavailable = [&](std::string reason) {
            return unavailable_because(why, std::move(reason));
        };
        const detail::Reply held = m_writer->run({"GET", key});
        if (held == nullptr || held->type == REDIS_REPLY_ERROR) {
            const std::string e =
                held == nullptr ? m_writer->error()
                                : "Redis refused: " + std::string(detail::reply_text(held.get()));
            writer_failed_locked(e);
            return unavailable(e);
        }
        if (held->type == REDIS_REPLY_NIL) return unavailable("the claim expired meanwhile");
        const std::string_view value = detail::reply_text(held.get());
        const auto mine =
            std::find_if(m_given_back.begin(), m_given_back.end(),
                         [&](const GivenBack& g) { return g.key == key && g.value == value; });
        if (mine == m_given_back.end()) return Claim::lost;
        // Still ours at this instant, and written again so that WAIT counts
        // the replicas that hold it.
        static constexpr std::string_view adopt =
            "if redis.call('GET', KEYS[1]) == ARGV[1] then "
            "redis.call('SET', KEYS[1], ARGV[1], 'XX', 'EX', ARGV[2]) return 1 end return 0";
        const bool acked = m_options.min_replicas_acked > 0;
        m_writer->append({"EVAL", adopt, "1", key, mine->value, std::to_string(seconds)});
        if (acked) append_wait(*m_writer);
        const detail::Reply r = m_writer->read();
        const std::string replicas = acked ? read_wait(*m_writer) : std::string();
        if (r == nullptr || r->type != REDIS_REPLY_INTEGER) {
            const std::string e =
                r == nullptr ? m_writer->error()
                             : "Redis refused: " + std::string(detail::reply_text(r.get()));
            writer_failed_locked(e);
            return unavailable(e);
        }
        if (r->integer != 1) return Claim::lost;
        if (!replicas.empty()) {  // still ours: given back again, as a new claim would be
            mine->deleted_in = 0;
            writer_failed_locked(replicas);
            if (m_writer != nullptr) (void)give_back_claims_locked();
            return unavailable(replicas);
        }
        m_given_back.erase(mine);
        ++m_claims_adopted;
        return Claim::won;
    }

    /// Runs, through the writer, the compare-and-delete of every claim
    /// given back and not yet deleted through this writer connection
    /// (pipelined), and forgets those that have expired. Empty, or why the
    /// writer failed (it is then dropped).
    std::string give_back_claims_locked() {
        static constexpr std::string_view release =
            "if redis.call('GET', KEYS[1]) == ARGV[1] then "
            "return redis.call('DEL', KEYS[1]) end return 0";
        const std::int64_t t = now();
        std::erase_if(m_given_back, [&](const GivenBack& g) { return g.until < t; });
        std::vector<GivenBack*> sent;
        for (GivenBack& g : m_given_back)
            if (g.deleted_in != m_writer_epoch) {
                m_writer->append({"EVAL", release, "1", g.key, g.value});
                sent.push_back(&g);
            }
        for (GivenBack* g : sent) {
            const detail::Reply r = m_writer->read();
            if (r == nullptr || r->type == REDIS_REPLY_ERROR) {
                const std::string e =
                    r == nullptr ? m_writer->error() : std::string(detail::reply_text(r.get()));
                drop_writer_locked();
                m_writer_error = "giving back a claim: " + e;
                return m_writer_error;
            }
            g->deleted_in = m_writer_epoch;
            if (r->type == REDIS_REPLY_INTEGER && r->integer == 1) ++m_claims_given_back;
        }
        return {};
    }

    void drop_writer_locked() {
        m_writer_error = m_writer->error();
        m_writer.reset();
    }

    void warn(const std::string& message) const { m_options.warn(message); }

    /// Parses one entry's text into `batch`; a malformed one is counted and
    /// reported.
    void receive(std::string_view text, std::string_view where, std::vector<Revocation>& batch) {
        m_received.fetch_add(1, std::memory_order_relaxed);
        Revocation r;
        if (detail::parse_revocation(text, r)) {
            batch.push_back(r);
            return;
        }
        m_malformed.fetch_add(1, std::memory_order_relaxed);
        warn("skipped a malformed revocation in " + std::string(where) + ": \"" +
             std::string(text.substr(0, 120)) + "\"");
    }

    /// Applies a batch with one journal sync.
    void apply(const std::vector<Revocation>& batch) {
        if (batch.empty()) return;
        try {
            m_applied.fetch_add(m_denylist.apply_all(batch), std::memory_order_relaxed);
        } catch (const std::exception& e) {
            // In force in memory; the local journal could not record it.
            warn(std::string("applying revocations from Redis: ") + e.what());
        }
    }

    /// Sleeps up to `d` unless stopped; returns false when stopped.
    bool sleep_for(std::chrono::milliseconds d) {
        std::unique_lock lock(m_state_mutex);
        return !m_wake.wait_for(lock, d, [&] { return m_stop; });
    }

    [[nodiscard]] bool stopping() {
        std::lock_guard lock(m_state_mutex);
        return m_stop;
    }

    /// The background thread: connect, catch up, replay the queue, follow
    /// the stream; on any failure start over after a backoff.
    void run() {
        std::chrono::milliseconds backoff = m_options.backoff_min;
        bool in_outage = false;
        auto since = std::chrono::steady_clock::now();
        while (!stopping()) {
            std::string error = session(in_outage, since, backoff);
            if (stopping()) break;
            m_connection_failures.fetch_add(1, std::memory_order_relaxed);
            if (!in_outage) {
                in_outage = true;
                since = std::chrono::steady_clock::now();
                warn("Redis unavailable (" + error +
                     "); validating from the local copy, revocations are queued, retrying");
            }
            if (!sleep_for(backoff)) break;
            backoff = std::min(backoff * 2, m_options.backoff_max);
        }
    }

    /// One connected session; returns why it ended.
    std::string session(bool& in_outage, std::chrono::steady_clock::time_point since,
                        std::chrono::milliseconds& backoff) {
        RedisAddress primary;
        if (std::string e = locate_primary(primary); !e.empty()) return e;
        Connection reader(primary, m_credentials, m_options.connect_timeout,
                          m_options.read_block + m_options.command_timeout);
        if (!reader.ok()) return reader.error();
        // A Sentinel may still name a primary that was just demoted.
        if (std::string e = detail::check_primary(reader, primary); !e.empty()) return e;
        m_primary_lost.store(false, std::memory_order_relaxed);
        {
            // Until the writer reaches this primary, revocations queue: one
            // sent meanwhile through the old writer could land on a demoted
            // primary after catch_up() put back what this one lacked.
            std::lock_guard lock(m_writer_mutex);
            if (m_writer != nullptr) {
                m_writer.reset();
                m_writer_error = "reconnecting to " + primary.text();
            }
        }
        if (std::string e = catch_up(reader, primary); !e.empty()) return e;
        if (std::string e = connect_writer(primary); !e.empty()) return e;
        if (in_outage) {
            const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::steady_clock::now() - since);
            warn("Redis available again after " + std::to_string(ms.count()) + " ms; caught up");
            in_outage = false;
        }
        backoff = m_options.backoff_min;
        {
            // Under the lock, so that wait_ready() cannot miss the change.
            std::lock_guard lock(m_state_mutex);
            m_ready.store(true, std::memory_order_release);
        }
        m_wake.notify_all();
        auto next_trim = std::chrono::steady_clock::now();
        auto next_sentinel_check = next_trim + m_options.sentinel_check_interval;
        while (!stopping()) {
            if (m_primary_lost.load(std::memory_order_relaxed))
                return primary.text() + " answered READONLY: no longer the primary";
            if (std::string e = replay_queue(); !e.empty()) return e;
            const auto now = std::chrono::steady_clock::now();
            if (now >= next_trim) {
                if (std::string e = trim(reader); !e.empty()) return e;
                next_trim = now + m_options.trim_interval;
            }
            if (!m_options.sentinels.empty() && now >= next_sentinel_check) {
                if (std::string e = primary_moved(primary); !e.empty()) return e;
                next_sentinel_check = now + m_options.sentinel_check_interval;
            }
            if (std::string e = follow(reader); !e.empty()) return e;
        }
        return "stopping";
    }

    /// The server to use: the configured one, or the primary the Sentinels
    /// name.
    std::string locate_primary(RedisAddress& primary) {
        if (m_options.sentinels.empty()) {
            primary = {m_options.host, m_options.port};
            return {};
        }
        detail::PrimaryLookup found =
            detail::find_primary(m_options.sentinels, m_options.master_name, m_sentinel_credentials,
                                 m_options.connect_timeout);
        if (!found.primary) {
            // The Sentinels are away, not necessarily the primary: keep
            // following the last one they named (ROLE still checks it).
            if (!m_last_primary) return "no Sentinel named a primary: " + found.error;
            if (!m_sentinels_away)
                warn("no Sentinel answers (" + found.error + "); staying with " +
                     m_last_primary->text() + " while it is a primary");
            m_sentinels_away = true;
            primary = *m_last_primary;
            return {};
        }
        m_sentinels_away = false;
        primary = std::move(*found.primary);
        m_last_primary = primary;
        return {};
    }

    /// Empty while the Sentinels still name `primary` (or none answers: a
    /// Sentinel outage is not the primary's), else what changed. Covers a
    /// failover that left the old primary reachable, which a broken
    /// connection or a READONLY answer would reveal only later.
    std::string primary_moved(const RedisAddress& primary) {
        const detail::PrimaryLookup found =
            detail::find_primary(m_options.sentinels, m_options.master_name, m_sentinel_credentials,
                                 m_options.connect_timeout);
        if (!found.primary || *found.primary == primary) return {};
        return "the Sentinels moved the primary from " + primary.text() + " to " +
               found.primary->text();
    }

    /// Connects a new writer connection for revoke() to `primary`: every
    /// session starts one, since the primary may have changed. Queued
    /// revocations are then published again through it.
    std::string connect_writer(const RedisAddress& primary) {
        // WAIT blocks for up to replica_ack_timeout before it answers.
        const std::chrono::milliseconds timeout =
            m_options.command_timeout + (m_options.min_replicas_acked > 0
                                             ? m_options.replica_ack_timeout
                                             : std::chrono::milliseconds(0));
        auto writer = std::make_unique<Connection>(primary, m_credentials,
                                                   m_options.connect_timeout, timeout);
        std::lock_guard lock(m_writer_mutex);
        m_writer.reset();
        if (!writer->ok()) {
            m_writer_error = writer->error();
            return m_writer_error;
        }
        m_writer = std::move(writer);
        ++m_writer_epoch;
        m_writer_error.clear();
        m_next_ack_check = {};
        return give_back_claims_locked();
    }

    /// Sends queued revocations, oldest first, each once per writer
    /// connection; with min_replicas_acked, they leave the queue only once
    /// WAIT says enough replicas hold them all.
    std::string replay_queue() {
        std::lock_guard lock(m_writer_mutex);
        // A writer that failed ends the session, queue or not: claim_once()
        // needs one, and the next session connects a new one.
        if (m_writer == nullptr)
            return m_writer_error.empty() ? "the writer connection failed" : m_writer_error;
        if (m_outbox.empty()) return {};
        const auto now = std::chrono::steady_clock::now();
        if (now < m_next_ack_check) return {};
        // Pipelined, up to 1000 per round trip: after an outage the queue
        // holds everything made meanwhile, and new revocations wait behind it.
        bool wrote = false;
        const std::string min_id = stream_min_id();
        std::vector<Queued*> batch;
        for (auto next = m_outbox.begin(); next != m_outbox.end();) {
            batch.clear();
            for (; next != m_outbox.end() && batch.size() < 1000; ++next)
                if (next->published_in != m_writer_epoch) batch.push_back(&*next);
            for (const Queued* q : batch)
                append_publish(*m_writer, q->revocation, min_id);
            std::string error;
            for (Queued* q : batch) {
                std::string e = read_publish(*m_writer);
                if (e.empty()) {
                    q->published_in = m_writer_epoch;
                    wrote = true;
                } else if (error.empty()) {
                    error = std::move(e);
                }
                if (!m_writer->ok()) break;  // nothing more will come
            }
            if (!error.empty()) {
                writer_failed_locked(error);
                return error;
            }
        }
        if (m_options.min_replicas_acked > 0) {
            // WAIT counts this connection's writes: when all were made in
            // an earlier pass, a fresh one stands for them (replication
            // is one ordered stream).
            if (!wrote) {
                const detail::Reply r = m_writer->run({"INCR", m_ack_probe_key});
                if (r == nullptr || r->type == REDIS_REPLY_ERROR) {
                    const std::string e =
                        r == nullptr ? m_writer->error() : std::string(detail::reply_text(r.get()));
                    writer_failed_locked(e);
                    return e;
                }
            }
            append_wait(*m_writer);
            if (std::string e = read_wait(*m_writer); !e.empty()) {
                if (!m_writer->ok()) {
                    drop_writer_locked();
                    return e;
                }
                m_next_ack_check = now + m_options.replica_ack_timeout;
                return {};
            }
        }
        m_replayed += m_outbox.size();
        m_outbox.clear();
        clear_outbox();
        return {};
    }

    /// After (re)connecting: follow the stream from the last id seen if the
    /// stream still holds everything after it, else reload the sorted set.
    std::string catch_up(Connection& c, const RedisAddress& primary) {
        // Another process serves the data (a failover, or a restart): it
        // may lack the tail the one before held, which replication had not
        // copied. Every instance puts back what it holds that is missing,
        // and reloads, since the stream may now end before the last id seen.
        const std::optional<std::string> run_id = detail::server_run_id(c);
        if (!run_id) return "INFO server gave no run_id: " + c.error();
        const bool replaced = m_run_id && *m_run_id != *run_id;
        m_run_id = *run_id;
        bool republished = false;
        if (std::string e = check_generation(c, republished); !e.empty()) return e;
        if (replaced) {
            if (!republished)
                if (std::string e = republish(
                        c, "the primary is now " + primary.text() + " (run_id " + *run_id + ")");
                    !e.empty())
                    return e;
            return full_load(c);
        }
        if (m_last_id) {
            const detail::Reply first = c.run({"XRANGE", m_stream_key, "-", "+", "COUNT", "1"});
            if (first == nullptr) return c.error();
            if (first->type == REDIS_REPLY_ARRAY && first->elements == 1 &&
                first->element[0]->type == REDIS_REPLY_ARRAY && first->element[0]->elements == 2) {
                const auto id =
                    detail::StreamId::parse(detail::reply_text(first->element[0]->element[0]));
                if (id && *id <= *m_last_id) return {};  // nothing trimmed past us
            }
        }
        return full_load(c);
    }

    /// Redis keeps a generation (a random name, set by the first instance
    /// that finds none). A missing or changed generation means the Redis this
    /// instance knew lost its data (restarted without persistence, or
    /// replaced): its set no longer holds what was revoked before, and a new
    /// instance would start without it. So every instance that had seen the
    /// old generation, or that finds none and has a journal (what it holds
    /// may predate this Redis), publishes all it holds again. Revocations are a set:
    /// several instances doing so at once is harmless.
    std::string check_generation(Connection& c, bool& republished) {
        const detail::Reply current = c.run({"GET", m_generation_key});
        if (current == nullptr) return c.error();
        std::string generation(detail::reply_text(current.get()));
        bool created = false;
        if (current->type != REDIS_REPLY_STRING) {
            const std::string fresh = random_suffix();
            const detail::Reply set = c.run({"SET", m_generation_key, fresh, "NX"});
            if (set == nullptr) return c.error();
            created = set->type == REDIS_REPLY_STATUS;
            const detail::Reply again = c.run({"GET", m_generation_key});
            if (again == nullptr) return c.error();
            if (again->type != REDIS_REPLY_STRING) return "Redis keeps no generation key";
            generation = detail::reply_text(again.get());
        }
        // Without a journal, what a first session holds was made in it, and
        // the outbox replays it.
        const bool lost = m_generation ? *m_generation != generation
                                       : created && !m_denylist.options().journal_path.empty();
        m_generation = generation;
        if (!lost) return {};
        republished = true;
        return republish(c, "Redis lost the revocations it held (generation " + generation +
                                " is new to this instance)");
    }

    /// Adds every live revocation held here that Redis lacks to the set
    /// and, so that instances which never saw it learn of it, to the
    /// stream; one it holds is left alone (a script, so that the check and
    /// the writes are one step and concurrent instances add each once).
    std::string republish(Connection& c, const std::string& why) {
        static constexpr std::string_view script =
            "if redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2]) == 1 then "
            "redis.call('XADD', KEYS[2], 'MINID', '~', ARGV[3], '*', 'r', ARGV[2], 'o', ARGV[4]) "
            "return 1 end return 0";
        const std::vector<Revocation> live = m_denylist.live_revocations();
        const std::string min_id = stream_min_id();
        std::uint64_t lacking = 0;
        for (std::size_t from = 0; from < live.size(); from += 1000) {
            const std::size_t to = std::min(live.size(), from + 1000);
            for (std::size_t i = from; i < to; ++i)
                c.append({"EVAL", script, "2", m_live_key, m_stream_key, expiry_score(live[i]),
                          detail::format_revocation(live[i]), min_id, m_origin});
            for (std::size_t i = from; i < to; ++i) {
                const detail::Reply r = c.read();
                if (r == nullptr) return c.error();
                if (r->type != REDIS_REPLY_INTEGER)
                    return "republishing: " + std::string(detail::reply_text(r.get()));
                lacking += r->integer == 1 ? 1 : 0;
            }
        }
        m_republished.fetch_add(lacking, std::memory_order_relaxed);
        warn(why + "; published the " + std::to_string(lacking) + " of the " +
             std::to_string(live.size()) + " revocations held here that it lacked");
        return {};
    }

    /// Loads every revocation of the sorted set. The stream's last id is
    /// read first, so whatever is added during the scan is also in the
    /// stream after it; ZSCAN returns every member present throughout.
    std::string full_load(Connection& c) {
        const detail::Reply last = c.run({"XREVRANGE", m_stream_key, "+", "-", "COUNT", "1"});
        if (last == nullptr) return c.error();
        if (last->type != REDIS_REPLY_ARRAY)
            return "XREVRANGE: " + std::string(detail::reply_text(last.get()));
        detail::StreamId from;
        if (last->elements == 1 && last->element[0]->type == REDIS_REPLY_ARRAY &&
            last->element[0]->elements == 2) {
            const auto id =
                detail::StreamId::parse(detail::reply_text(last->element[0]->element[0]));
            if (!id) return "XREVRANGE returned a malformed id";
            from = *id;
        }
        std::string cursor = "0";
        do {
            const detail::Reply page = c.run({"ZSCAN", m_live_key, cursor, "COUNT", "1000"});
            if (page == nullptr) return c.error();
            if (page->type != REDIS_REPLY_ARRAY || page->elements != 2 ||
                page->element[1]->type != REDIS_REPLY_ARRAY)
                return "ZSCAN: " + std::string(detail::reply_text(page.get()));
            cursor = detail::reply_text(page->element[0]);
            const redisReply* items = page->element[1];
            std::vector<Revocation> batch;
            for (std::size_t i = 0; i + 1 < items->elements; i += 2)
                receive(detail::reply_text(items->element[i]), m_live_key, batch);
            apply(batch);
        } while (cursor != "0");
        m_last_id = from;
        m_full_loads.fetch_add(1, std::memory_order_relaxed);
        return {};
    }

    /// Waits up to read_block for stream entries after the last id seen and
    /// applies them.
    std::string follow(Connection& c) {
        const std::string block = std::to_string(m_options.read_block.count());
        const detail::Reply r = c.run(
            {"XREAD", "COUNT", "1000", "BLOCK", block, "STREAMS", m_stream_key, m_last_id->text()});
        if (r == nullptr) return c.error();
        if (r->type == REDIS_REPLY_NIL) return {};
        if (r->type != REDIS_REPLY_ARRAY || r->elements != 1 ||
            r->element[0]->type != REDIS_REPLY_ARRAY || r->element[0]->elements != 2 ||
            r->element[0]->element[1]->type != REDIS_REPLY_ARRAY)
            return "XREAD: " + std::string(detail::reply_text(r.get()));
        const redisReply* entries = r->element[0]->element[1];
        std::vector<Revocation> batch;
        for (std::size_t i = 0; i < entries->elements; ++i) {
            const redisReply* entry = entries->element[i];
            if (entry->type != REDIS_REPLY_ARRAY || entry->elements != 2) continue;
            const auto id = detail::StreamId::parse(detail::reply_text(entry->element[0]));
            if (!id) {
                apply(batch);
                return "XREAD returned a malformed id";
            }
            m_last_id = *id;
            const redisReply* fields = entry->element[1];
            std::optional<std::string_view> text;
            bool own = false;
            if (fields->type == REDIS_REPLY_ARRAY)
                for (std::size_t k = 0; k + 1 < fields->elements; k += 2) {
                    const std::string_view name = detail::reply_text(fields->element[k]);
                    const std::string_view value = detail::reply_text(fields->element[k + 1]);
                    if (name == "r") text = value;
                    if (name == "o") own = value == m_origin;
                }
            // This instance applied its own revocations when it made them.
            if (own) continue;
            const std::string where = m_stream_key + " entry " + id->text();
            if (text) {
                receive(*text, where, batch);
            } else {
                m_received.fetch_add(1, std::memory_order_relaxed);
                m_malformed.fetch_add(1, std::memory_order_relaxed);
                warn("skipped a stream entry without an \"r\" field: " + where);
            }
        }
        apply(batch);
        return {};
    }

    /// Drops revocations whose tokens have all expired from the set, and
    /// stream entries older than the retention.
    std::string trim(Connection& c) {
        c.append({"ZREMRANGEBYSCORE", m_live_key, "-inf", expired_bound()});
        c.append({"XTRIM", m_stream_key, "MINID", stream_min_id()});
        std::string demoted;
        for (int i = 0; i < 2; ++i) {
            const detail::Reply r = c.read();
            if (r == nullptr) return c.error();
            if (r->type != REDIS_REPLY_ERROR) continue;
            const std::string_view error = detail::reply_text(r.get());
            if (error.starts_with("READONLY"))
                demoted = "trimming: no longer the primary: " + std::string(error);
            else
                warn("trimming: " + std::string(error));
        }
        return demoted;
    }

    Denylist& m_denylist;
    Options m_options;
    std::string m_origin;  // the "o" field of this instance's entries
    std::string m_stream_key;
    std::string m_live_key;
    std::string m_generation_key;
    std::string m_ack_probe_key;
    RedisCredentials m_credentials;
    RedisCredentials m_sentinel_credentials;

    mutable std::mutex m_writer_mutex;
    std::unique_ptr<Connection> m_writer;  // guarded by m_writer_mutex
    std::string m_writer_error;            // guarded by m_writer_mutex
    /// A revocation waiting for Redis, and the writer connection that put
    /// it in the primary (its epoch; 0: none did) but whose replicas had
    /// not acknowledged it.
    struct Queued {
        Revocation revocation;
        std::uint64_t published_in = 0;
    };
    std::deque<Queued> m_outbox;             // guarded by m_writer_mutex
    std::uint64_t m_writer_epoch = 0;        // guarded by m_writer_mutex; +1 per writer
    std::uint64_t m_replica_shortfalls = 0;  // guarded by m_writer_mutex
    std::uint64_t m_claims = 0;              // guarded by m_writer_mutex
    /// A claim answered `unavailable` that Redis may hold all the same,
    /// until it expires (unix seconds), and the writer connection that last
    /// deleted it (its epoch).
    struct GivenBack {
        std::string key, value;
        std::int64_t until = 0;
        std::uint64_t deleted_in = 0;
    };
    /// Beyond this many (a long outage under a refresh storm), the oldest
    /// is forgotten: that can cost a winner, never make two.
    static constexpr std::size_t max_given_back = 4096;
    std::deque<GivenBack> m_given_back;     // guarded by m_writer_mutex
    std::uint64_t m_claims_adopted = 0;     // guarded by m_writer_mutex
    std::uint64_t m_claims_given_back = 0;  // guarded by m_writer_mutex
    /// After a shortfall, when replay_queue() asks the replicas again.
    std::chrono::steady_clock::time_point m_next_ack_check;  // guarded by m_writer_mutex
    int m_outbox_fd = -1;                                    // guarded by m_writer_mutex
    std::uint64_t m_queued = 0;                              // guarded by m_writer_mutex
    std::uint64_t m_replayed = 0;                            // guarded by m_writer_mutex

    std::optional<detail::StreamId> m_last_id;   // background thread only
    std::optional<std::string> m_generation;     // background thread only
    std::optional<std::string> m_run_id;         // background thread only: the primary's
    std::optional<RedisAddress> m_last_primary;  // background thread only: last named
    bool m_sentinels_away = false;               // background thread only
    std::atomic<bool> m_primary_lost{false};     // a writer was told READONLY
    std::atomic<bool> m_ready{false};
    std::atomic<std::uint64_t> m_received{0};
    std::atomic<std::uint64_t> m_applied{0};
    std::atomic<std::uint64_t> m_malformed{0};
    std::atomic<std::uint64_t> m_full_loads{0};
    std::atomic<std::uint64_t> m_connection_failures{0};
    std::atomic<std::uint64_t> m_republished{0};

    std::mutex m_state_mutex;
    std::condition_variable m_wake;
    bool m_stop = false;   // guarded by m_state_mutex
    std::thread m_thread;  // last: started once everything above exists
};

}  // namespace jwtguard
