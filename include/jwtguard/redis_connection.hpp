// One blocking connection to a Redis server, and finding the primary
// through Redis Sentinel: the transport under the Redis mirror (redis.hpp).
//
// Optional and not in the umbrella header: it needs hiredis (Debian:
// libhiredis-dev; link with -lhiredis, or the CMake target jwtguard::redis).
//
// Sentinel (https://redis.io/docs/management/sentinel/): the client asks the
// Sentinels for the primary of a named master (SENTINEL
// get-master-addr-by-name, with the configuration epoch and flags of
// SENTINEL MASTER) and takes the newest view; it then checks with ROLE that the server it reached
// is a primary, because a Sentinel may still name a primary that was just
// demoted. During a failover the Sentinels name the old primary until they
// agree on a new one: a client that cannot reach it, or that is told
// READONLY, asks again.
#pragma once

#include <hiredis/hiredis.h>
#include <pthread.h>
#include <signal.h>
#include <sys/time.h>

#include <charconv>
#include <chrono>
#include <cstddef>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace jwtguard {

/// Where a Redis server or a Sentinel listens.
struct RedisAddress {
    std::string host = "127.0.0.1";
    int port = 6379;

    [[nodiscard]] std::string text() const { return host + ":" + std::to_string(port); }
    friend bool operator==(const RedisAddress&, const RedisAddress&) = default;
};

/// What AUTH sends: nothing when the password is empty; the password alone
/// when the user is empty (Redis before 6, or the default user).
struct RedisCredentials {
    std::string user;
    std::string password;
};

namespace detail {

struct ReplyDeleter {
    void operator()(redisReply* r) const noexcept { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

[[nodiscard]] inline std::string_view reply_text(const redisReply* r) noexcept {
    return r != nullptr && r->str != nullptr ? std::string_view(r->str, r->len)
                                             : std::string_view();
}

[[nodiscard]] inline timeval to_timeval(std::chrono::milliseconds ms) noexcept {
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
    return tv;
}

/// Keeps SIGPIPE away from the calling thread while it lives. hiredis
/// writes with write(2), not send(MSG_NOSIGNAL): a write on a connection
/// the peer has closed can raise SIGPIPE, whose default action ends the
/// process, and the calling thread may be the application's (revoke()).
/// This connection is dropped at its first error, which keeps that rare;
/// the guard makes it harmless. The signal is blocked, and one raised
/// meanwhile is taken back before the old mask returns (one that was
/// already pending stays).
class SigpipeGuard {
  public:
    SigpipeGuard() noexcept {
        sigemptyset(&m_pipe);
        sigaddset(&m_pipe, SIGPIPE);
        sigset_t pending;
        sigemptyset(&pending);
        m_was_pending = sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1;
        pthread_sigmask(SIG_BLOCK, &m_pipe, &m_old);
    }
    ~SigpipeGuard() {
        if (!m_was_pending) {
            sigset_t pending;
            sigemptyset(&pending);
            if (sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1) {
                const timespec now{0, 0};
                (void)sigtimedwait(&m_pipe, nullptr, &now);
            }
        }
        pthread_sigmask(SIG_SETMASK, &m_old, nullptr);
    }
    SigpipeGuard(const SigpipeGuard&) = delete;
    SigpipeGuard& operator=(const SigpipeGuard&) = delete;

  private:
    sigset_t m_pipe;
    sigset_t m_old;
    bool m_was_pending = false;
};

/// One blocking hiredis connection. Not thread-safe: one owner at a time.
class RedisConnection {
  public:
    /// Connects and authenticates; on failure `error()` says why.
    /// `command_timeout` bounds every later round trip.
    RedisConnection(const RedisAddress& address, const RedisCredentials& auth,
                    std::chrono::milliseconds connect_timeout,
                    std::chrono::milliseconds command_timeout) {
        m_context.reset(redisConnectWithTimeout(address.host.c_str(), address.port,
                                                to_timeval(connect_timeout)));
        if (m_context == nullptr) {
            m_error = "cannot allocate a Redis context";
            return;
        }
        if (m_context->err != 0) {
            m_error = "cannot connect to " + address.text() + ": " + m_context->errstr;
            return;
        }
        redisSetTimeout(m_context.get(), to_timeval(command_timeout));
        redisEnableKeepAlive(m_context.get());
        if (auth.password.empty()) return;
        Reply r = auth.user.empty() ? run({"AUTH", auth.password})
                                    : run({"AUTH", auth.user, auth.password});
        if (r != nullptr && r->type == REDIS_REPLY_ERROR)
            m_error = "AUTH refused by " + address.text() + ": " + std::string(reply_text(r.get()));
    }

    [[nodiscard]] bool ok() const noexcept { return m_error.empty(); }
    [[nodiscard]] const std::string& error() const noexcept { return m_error; }

    /// Sends one command and reads its reply; nullptr (and error() set, the
    /// connection unusable) on an I/O error or timeout. An error reply is a
    /// reply: the caller checks its type.
    [[nodiscard]] Reply run(std::initializer_list<std::string_view> args) {
        append(args);
        return read();
    }

    /// Queues a command (pipelining); read() takes the replies in order.
    void append(std::initializer_list<std::string_view> args) {
        if (!ok()) return;
        // Every command here has a handful of arguments: no allocation.
        constexpr std::size_t most = 16;
        if (args.size() > most) {
            m_error = "a command with more than 16 arguments";
            return;
        }
        const char* argv[most];
        std::size_t lengths[most];
        std::size_t n = 0;
        for (const std::string_view a : args) {
            argv[n] = a.data();
            lengths[n++] = a.size();
        }
        if (redisAppendCommandArgv(m_context.get(), static_cast<int>(n), argv, lengths) != REDIS_OK)
            fail();
        m_unsent = true;
    }

    [[nodiscard]] Reply read() {
        if (!ok()) return nullptr;
        // The queued commands are written by the first read after them
        // (hiredis writes its whole buffer before it waits for a reply).
        std::optional<SigpipeGuard> no_sigpipe;
        if (m_unsent) no_sigpipe.emplace();
        m_unsent = false;
        void* reply = nullptr;
        if (redisGetReply(m_context.get(), &reply) != REDIS_OK || reply == nullptr) {
            fail();
            return nullptr;
        }
        return Reply(static_cast<redisReply*>(reply));
    }

  private:
    struct ContextDeleter {
        void operator()(redisContext* c) const noexcept { redisFree(c); }
    };

    void fail() {
        m_error = m_context->err != 0 && m_context->errstr[0] != '\0'
                      ? std::string(m_context->errstr)
                      : "Redis I/O error";
    }

    std::unique_ptr<redisContext, ContextDeleter> m_context;
    std::string m_error;
    bool m_unsent = false;  // commands appended since the last read
};

/// Empty when the server `c` reached is a primary (ROLE), else why not.
[[nodiscard]] inline std::string check_primary(RedisConnection& c, const RedisAddress& address) {
    const Reply role = c.run({"ROLE"});
    if (role == nullptr) return c.error();
    if (role->type != REDIS_REPLY_ARRAY || role->elements == 0)
        return "ROLE refused by " + address.text() + ": " + std::string(reply_text(role.get()));
    const std::string_view what = reply_text(role->element[0]);
    if (what == "master") return {};
    return address.text() + " is not a primary (ROLE: " + std::string(what) + ")";
}

/// The server's run_id (INFO server): a new one after every start, so a
/// changed run_id means another process serves the data (a failover, or
/// a restart) and may lack what the one before held.
[[nodiscard]] inline std::optional<std::string> server_run_id(RedisConnection& c) {
    const Reply info = c.run({"INFO", "server"});
    if (info == nullptr || info->type != REDIS_REPLY_STRING) return std::nullopt;
    const std::string_view text = reply_text(info.get());
    constexpr std::string_view key = "run_id:";
    std::size_t at = text.find(key);
    if (at == std::string_view::npos) return std::nullopt;
    at += key.size();
    const std::size_t end = text.find_first_of("\r\n", at);
    return std::string(text.substr(at, end == std::string_view::npos ? end : end - at));
}

/// Where the Sentinels say the primary of a master is.
struct PrimaryLookup {
    std::optional<RedisAddress> primary;
    /// Why no Sentinel named one (each Sentinel's answer), when none did.
    std::string error;
};

/// Asks every Sentinel where the primary is (SENTINEL
/// get-master-addr-by-name, which names the promoted replica as soon as a
/// failover promoted it) and which configuration it holds (SENTINEL MASTER:
/// config-epoch, flags), and takes the newest view: the highest epoch, and
/// at equal epochs one whose Sentinel neither sees the primary down nor is
/// still failing over. A Sentinel that has not heard of a failover names
/// the old primary, which may be up again (restarted empty, not yet turned
/// into a replica) and would take writes its conversion then wipes.
/// Sentinels that do not answer, or answer nonsense, are skipped.
[[nodiscard]] inline PrimaryLookup find_primary(const std::vector<RedisAddress>& sentinels,
                                                std::string_view master_name,
                                                const RedisCredentials& auth,
                                                std::chrono::milliseconds timeout) {
    PrimaryLookup result;
    std::string errors;
    std::pair<long long, bool> best{-1, false};  // (epoch, settled)
    for (const RedisAddress& sentinel : sentinels) {
        const auto fail = [&](std::string_view why) {
            if (!errors.empty()) errors += "; ";
            errors += "Sentinel " + sentinel.text() + ": " + std::string(why);
        };
        RedisConnection c(sentinel, auth, timeout, timeout);
        if (!c.ok()) {
            fail(c.error());
            continue;
        }
        c.append({"SENTINEL", "get-master-addr-by-name", master_name});
        c.append({"SENTINEL", "MASTER", master_name});
        const Reply address = c.read();
        const Reply master = c.read();
        if (address == nullptr || master == nullptr) {
            fail(c.error());
            continue;
        }
        if (address->type != REDIS_REPLY_ARRAY || address->elements != 2) {
            fail(address->type == REDIS_REPLY_NIL ? std::string_view("knows no such master")
                                                  : reply_text(address.get()));
            continue;
        }
        if (master->type != REDIS_REPLY_ARRAY) {
            fail(reply_text(master.get()));
            continue;
        }
        std::string_view epoch, flags;
        for (std::size_t k = 0; k + 1 < master->elements; k += 2) {
            const std::string_view name = reply_text(master->element[k]);
            if (name == "config-epoch") epoch = reply_text(master->element[k + 1]);
            if (name == "flags") flags = reply_text(master->element[k + 1]);
        }
        const std::string_view host = reply_text(address->element[0]);
        const std::string_view port = reply_text(address->element[1]);
        RedisAddress primary{std::string(host), 0};
        long long config_epoch = 0;
        const auto p = std::from_chars(port.data(), port.data() + port.size(), primary.port);
        const auto e = std::from_chars(epoch.data(), epoch.data() + epoch.size(), config_epoch);
        if (p.ec != std::errc() || p.ptr != port.data() + port.size() || primary.port <= 0 ||
            primary.port > 65535 || primary.host.empty() || e.ec != std::errc() ||
            e.ptr != epoch.data() + epoch.size() || config_epoch < 0) {
            fail("malformed answer (ip \"" + std::string(host) + "\", port \"" + std::string(port) +
                 "\", config-epoch \"" + std::string(epoch) + "\")");
            continue;
        }
        const bool settled = flags.find("down") == std::string_view::npos &&
                             flags.find("failover") == std::string_view::npos;
        const std::pair<long long, bool> view{config_epoch, settled};
        if (view > best) {
            best = view;
            result.primary = std::move(primary);
        }
    }
    if (!result.primary) result.error = sentinels.empty() ? "no Sentinel configured" : errors;
    return result;
}

}  // namespace detail

}  // namespace jwtguard
