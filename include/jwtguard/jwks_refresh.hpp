// Keeps a Validator's keys in step with an identity provider's JWKS: a
// periodic refresh, and an immediate one when a token names a kid no key
// carries (the provider rotated), with a cooldown so that a flood of bogus
// kids cannot make us hammer the provider.
//
// The library does no networking: the caller supplies `fetch`, which returns
// the JWKS document (e.g. an HTTP GET of the provider's jwks_uri) or throws.
// It runs on the refresher's own background thread, never on a validating
// one: validate() only raises a flag (detail::UnknownKidSignal: one atomic
// load per unknown kid, no lock, no allocation) and goes on with the keys it
// has, so the token that names the new kid is refused and the requests after
// the refresh (milliseconds later) pass. A background thread rather than the
// caller's scheduler, so that the unknown-kid trigger works without the
// caller wiring anything; `refresh_now()` is there for a caller who also
// wants to refresh on its own schedule (or synchronously at start-up).
//
// Conventions (jose, the npm package: a JWKS cached 10 minutes, a 30 s
// cooldown between fetches): here a refresh every `interval` (10 min), an
// unknown kid refreshes at once unless a refresh happened less than
// `unknown_kid_cooldown` (30 s) ago, in which case it refreshes when the
// cooldown ends (one fetch for any number of unknown kids meanwhile). A
// fetch that fails, or returns a document without one usable key, keeps the
// keys in use and is retried after `retry_after_failure` (30 s). Keys the
// document refuses (load_jwks) are reported and the others used.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

#include "jwtguard/error.hpp"
#include "jwtguard/keyset.hpp"
#include "jwtguard/validator.hpp"

namespace jwtguard {

struct JwksRefreshOptions {
    /// Returns the JWKS document; throws on failure. Called on the
    /// refresher's thread (and by refresh_now()), never concurrently.
    std::function<std::string()> fetch;
    /// The algorithm of JWKs without "alg" (see load_jwks); empty: such keys
    /// are refused.
    std::string default_alg;
    /// Each in (0, 1 year] (the cooldown may be 0).
    std::chrono::milliseconds interval = std::chrono::minutes(10);
    std::chrono::milliseconds unknown_kid_cooldown = std::chrono::seconds(30);
    std::chrono::milliseconds retry_after_failure = std::chrono::seconds(30);
    /// Where failures and refused keys are reported; empty: stderr.
    std::function<void(std::string_view)> warn;
};

/// Refreshes one Validator's keys from a JWKS (see the top of this header).
/// At most one per Validator; the Validator must outlive it.
class JwksRefresher {
  public:
    using Options = JwksRefreshOptions;

    struct Stats {
        std::uint64_t refreshes = 0;              ///< fetches whose keys were installed
        std::uint64_t failures = 0;               ///< fetches that failed or gave no key
        std::uint64_t unknown_kid_refreshes = 0;  ///< refreshes an unknown kid caused
        std::size_t keys = 0;                     ///< keys installed by the last refresh
    };

    /// Fetches once on the calling thread (a failure is reported and the
    /// validator keeps its keys: see loaded()), then starts the thread.
    /// Throws SetupError(option_invalid) for bad options or a validator that
    /// already has a refresher.
    JwksRefresher(Validator& validator, Options options)
        : m_validator(validator), m_options(std::move(options)) {
        const auto fail = [](const char* what) { throw SetupError(Error::option_invalid, what); };
        if (!m_options.fetch) fail("a JWKS refresher needs a fetch function");
        // Bounded above too: they are added to the steady clock's now.
        constexpr std::chrono::milliseconds year = std::chrono::hours(24 * 365);
        if (m_options.interval.count() <= 0 || m_options.unknown_kid_cooldown.count() < 0 ||
            m_options.retry_after_failure.count() <= 0 || m_options.interval > year ||
            m_options.unknown_kid_cooldown > year || m_options.retry_after_failure > year)
            fail("refresh interval and retry must lie in (0, 1 year], the cooldown in [0, 1 year]");
        if (!m_options.warn)
            m_options.warn = [](std::string_view m) {
                std::fprintf(stderr, "jwtguard jwks: %.*s\n", static_cast<int>(m.size()), m.data());
            };
        m_validator.m_unknown_kid.arm(true);
        m_loaded = refresh_now();
        m_thread = std::thread([this] { run(); });
    }

    ~JwksRefresher() {
        m_stop.store(true);
        m_validator.m_unknown_kid.wake();
        m_thread.join();
        m_validator.m_unknown_kid.arm(false);
    }
    JwksRefresher(const JwksRefresher&) = delete;
    JwksRefresher& operator=(const JwksRefresher&) = delete;

    /// Whether the first fetch, at construction, installed keys.
    [[nodiscard]] bool loaded() const noexcept { return m_loaded; }

    /// Fetches and installs the keys now, on the calling thread; false (the
    /// keys in use kept) if the fetch failed or gave no usable key.
    bool refresh_now() {
        std::lock_guard lock(m_fetch_mutex);
        m_last_fetch = std::chrono::steady_clock::now();
        std::string document;
        try {
            document = m_options.fetch();
        } catch (const std::exception& e) {
            return failed(std::string("fetching the JWKS failed: ") + e.what());
        } catch (...) {
            return failed("fetching the JWKS failed");
        }
        JwksLoad load;
        try {
            load =
                load_jwks(document, m_options.default_alg.empty()
                                        ? std::nullopt
                                        : std::optional<std::string_view>(m_options.default_alg));
        } catch (const SetupError& e) {
            return failed(std::string("the fetched JWKS is unusable: ") + e.what());
        }
        for (const JwkRejection& r : load.rejected)
            warn("JWK #" + std::to_string(r.index) + (r.kid ? " (kid \"" + *r.kid + "\")" : "") +
                 " refused: " + std::string(to_string(r.code)) + ": " + r.reason);
        if (load.keys.empty()) return failed("the fetched JWKS has no usable key");
        const std::size_t count = load.keys.size();
        m_validator.replace_keys(std::move(load.keys));
        std::lock_guard stats(m_stats_mutex);
        ++m_stats.refreshes;
        m_stats.keys = count;
        return true;
    }

    [[nodiscard]] Stats stats() const {
        std::lock_guard lock(m_stats_mutex);
        return m_stats;
    }

  private:
    using Clock = std::chrono::steady_clock;

    bool failed(const std::string& why) {
        warn(why + "; keeping the keys in use");
        std::lock_guard lock(m_stats_mutex);
        ++m_stats.failures;
        return false;
    }

    void warn(const std::string& message) const { m_options.warn(message); }

    void run() {
        Clock::time_point next =
            Clock::now() + (m_loaded ? m_options.interval : m_options.retry_after_failure);
        bool kid_pending = false;
        while (!m_stop.load()) {
            Clock::time_point deadline = next;
            if (kid_pending) deadline = std::min(deadline, cooldown_end());
            if (m_validator.m_unknown_kid.wait_until(deadline)) kid_pending = true;
            if (m_stop.load()) break;
            const Clock::time_point now = Clock::now();
            bool ok = true;
            if (kid_pending && now >= cooldown_end()) {
                kid_pending = false;
                {
                    std::lock_guard lock(m_stats_mutex);
                    ++m_stats.unknown_kid_refreshes;
                }
                ok = refresh_now();
            } else if (now >= next) {
                ok = refresh_now();
            } else {
                continue;
            }
            // Unknown kids seen while fetching were most likely the new keys
            // this fetch brought; one still unknown raises again at its next use.
            if (ok) m_validator.m_unknown_kid.clear();
            next = Clock::now() + (ok ? m_options.interval : m_options.retry_after_failure);
        }
    }

    [[nodiscard]] Clock::time_point cooldown_end() {
        std::lock_guard lock(m_fetch_mutex);
        return m_last_fetch + m_options.unknown_kid_cooldown;
    }

    Validator& m_validator;
    Options m_options;
    std::mutex m_fetch_mutex;  // one fetch at a time; guards m_last_fetch
    Clock::time_point m_last_fetch;
    mutable std::mutex m_stats_mutex;
    Stats m_stats;
    bool m_loaded = false;
    std::atomic<bool> m_stop{false};
    std::thread m_thread;  // last: started once everything above exists
};

}  // namespace jwtguard
