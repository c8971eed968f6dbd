// A real redis-server for the Redis mirror's tests and benchmark: started on
// a free loopback port in its own temporary folder, without persistence, and
// stopped by its pid. The binary comes from JWTGUARD_REDIS_SERVER (found by
// CMake; Debian package redis-server); the same binary runs a Sentinel
// (`--sentinel`, what Debian's redis-sentinel package starts), and
// SentinelFarm runs a primary, a replica and three Sentinels.
#pragma once

#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "loopback.hpp"

namespace jwtguard::test {

class RedisServer {
  public:
    /// Starts a server; `extra` are more redis-server options
    /// (e.g. {"--requirepass", "secret"}). With `config`, that text is the
    /// server's configuration file (a Sentinel's must be a file it can
    /// rewrite), written once.
    explicit RedisServer(std::vector<std::string> extra = {}, const std::string& config = {})
        : m_extra(std::move(extra)) {
        char dir[] = "/tmp/jwtguard-redis-XXXXXX";
        if (::mkdtemp(dir) == nullptr) throw std::runtime_error("mkdtemp failed");
        m_dir = dir;
        m_port = free_port();
        if (!config.empty()) {
            m_config = m_dir + "/redis.conf";
            std::ofstream(m_config) << config;
        }
        start();
    }
    ~RedisServer() {
        stop();
        std::error_code ignored;
        std::filesystem::remove_all(m_dir, ignored);
    }
    RedisServer(const RedisServer&) = delete;
    RedisServer& operator=(const RedisServer&) = delete;

    [[nodiscard]] int port() const noexcept { return m_port; }
    [[nodiscard]] bool running() const noexcept { return m_pid > 0; }

    /// Starts the server on the same port (after stop()); returns once it
    /// answers PING.
    void start() {
        if (m_pid > 0) return;
        std::vector<std::string> args = {JWTGUARD_REDIS_SERVER};
        if (!m_config.empty()) args.push_back(m_config);
        const std::vector<std::string> common = {
            "--port", std::to_string(m_port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
            "no", "--dir", m_dir, "--logfile", m_dir + "/redis.log", "--daemonize", "no",
            // A replica's first sync starts at once, not after 5 s.
            "--repl-diskless-sync-delay", "0"};
        args.insert(args.end(), common.begin(), common.end());
        args.insert(args.end(), m_extra.begin(), m_extra.end());
        m_pid = ::fork();
        if (m_pid < 0) throw std::runtime_error("fork failed");
        if (m_pid == 0) {
            std::vector<char*> argv;
            for (std::string& a : args)
                argv.push_back(a.data());
            argv.push_back(nullptr);
            ::execv(argv[0], argv.data());
            ::_exit(127);
        }
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (!answers()) {
            int status = 0;
            if (::waitpid(m_pid, &status, WNOHANG) == m_pid) {
                m_pid = -1;
                throw std::runtime_error("redis-server exited at start; see " + m_dir +
                                         "/redis.log");
            }
            if (std::chrono::steady_clock::now() > deadline)
                throw std::runtime_error("redis-server did not answer within 10 s");
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
    }

    /// Stops the server by its pid (SIGKILL: an outage, not a shutdown).
    void stop() {
        if (m_pid <= 0) return;
        ::kill(m_pid, SIGCONT);  // if paused
        ::kill(m_pid, SIGKILL);
        int status = 0;
        ::waitpid(m_pid, &status, 0);
        m_pid = -1;
    }

    /// Freezes the server (SIGSTOP) or lets it go on (SIGCONT): a server
    /// that is up but answers nothing, e.g. a replica that lags.
    void pause(bool paused) const {
        if (m_pid > 0) ::kill(m_pid, paused ? SIGSTOP : SIGCONT);
    }

    /// A connection for the test's own commands (nullptr if refused).
    [[nodiscard]] redisContext* connect() const { return connect_port(m_port); }

    /// A connection to any loopback port (nullptr if refused).
    [[nodiscard]] static redisContext* connect_port(int port) {
        timeval tv{1, 0};
        redisContext* c = redisConnectWithTimeout("127.0.0.1", port, tv);
        if (c != nullptr && c->err != 0) {
            redisFree(c);
            return nullptr;
        }
        return c;
    }

  private:
    [[nodiscard]] bool answers() const {
        redisContext* c = connect();
        if (c == nullptr) return false;
        auto* reply = static_cast<redisReply*>(redisCommand(c, "PING"));
        // A server that wants a password answers NOAUTH: it is up.
        const bool up = reply != nullptr &&
                        (reply->type == REDIS_REPLY_STATUS || reply->type == REDIS_REPLY_ERROR);
        if (reply != nullptr) freeReplyObject(reply);
        redisFree(c);
        return up;
    }

    std::vector<std::string> m_extra;
    std::string m_dir;
    std::string m_config;
    int m_port = 0;
    pid_t m_pid = -1;
};

/// A replicated Redis behind Sentinel: a primary, `replicas` replicas of it
/// and three Sentinels (quorum 2) watching them as master "jwtguard", with
/// short timeouts so that a failover takes a second or two. Not shorter:
/// with down-after-milliseconds 500 the Sentinels took the new primary for
/// down while they reconnected to it, and failed over back and forth to an
/// old primary restarted empty (which then wiped the replica).
class SentinelFarm {
  public:
    static constexpr const char* master_name = "jwtguard";

    explicit SentinelFarm(int replicas = 1) : m_primary(), m_sentinels() {
        for (int i = 0; i < replicas; ++i)
            m_replicas.push_back(std::make_unique<RedisServer>(std::vector<std::string>{
                "--replicaof", "127.0.0.1", std::to_string(m_primary.port())}));
        m_sentinels = make_sentinels(m_primary.port());
        // Ready once the replicas copied the primary and every Sentinel
        // knows them and the other Sentinels.
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
        const auto all_in_sync = [&] {
            for (const auto& r : m_replicas)
                if (!in_sync(*r)) return false;
            return true;
        };
        while (!(all_in_sync() && every_sentinel_sees_replicas()))
            if (std::chrono::steady_clock::now() > deadline)
                throw std::runtime_error("the Sentinel farm did not come up within 20 s");
            else
                std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }

    /// The servers in their first roles (after a failover the replica is
    /// the primary).
    [[nodiscard]] RedisServer& first_primary() noexcept { return m_primary; }
    [[nodiscard]] RedisServer& first_replica() noexcept { return *m_replicas[0]; }

    /// Waits until the Sentinels agree on a primary other than `old_port`
    /// and that server says it is one; its port, or 0 after `limit`.
    int wait_for_new_primary(int old_port, std::chrono::milliseconds limit) const {
        const auto deadline = std::chrono::steady_clock::now() + limit;
        while (std::chrono::steady_clock::now() < deadline) {
            const int port = primary_port();
            if (port != 0 && port != old_port &&
                wait_for_primary(port, std::chrono::milliseconds(1)))
                return port;
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        return 0;
    }
    [[nodiscard]] std::vector<int> sentinel_ports() const {
        std::vector<int> ports;
        for (const auto& s : m_sentinels)
            ports.push_back(s->port());
        return ports;
    }

    /// Stops every Sentinel (SIGKILL): the servers go on without them.
    void stop_sentinels() {
        for (auto& s : m_sentinels)
            s->stop();
    }

    /// The port the Sentinels name as primary (the first that answers), or
    /// 0.
    [[nodiscard]] int primary_port() const {
        for (const auto& s : m_sentinels) {
            const int port = ask(*s);
            if (port > 0) return port;
        }
        return 0;
    }

    /// Waits until every Sentinel names `port` as primary and that server
    /// says it is one; false after `limit`.
    bool wait_for_primary(int port, std::chrono::milliseconds limit) const {
        const auto deadline = std::chrono::steady_clock::now() + limit;
        for (;;) {
            bool all = true;
            for (const auto& s : m_sentinels)
                all = all && ask(*s) == port;
            if (all && role(port) == "master") return true;
            if (std::chrono::steady_clock::now() >= deadline) return false;
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
    }

    /// "master", "slave", or "" when it does not answer.
    [[nodiscard]] static std::string role(int port) {
        timeval tv{1, 0};
        redisContext* c = redisConnectWithTimeout("127.0.0.1", port, tv);
        std::string result;
        if (c != nullptr && c->err == 0) {
            auto* r = static_cast<redisReply*>(redisCommand(c, "ROLE"));
            if (r != nullptr && r->type == REDIS_REPLY_ARRAY && r->elements > 0 &&
                r->element[0]->str != nullptr)
                result = r->element[0]->str;
            if (r != nullptr) freeReplyObject(r);
        }
        if (c != nullptr) redisFree(c);
        return result;
    }

    /// Each Sentinel's TILT flag ("sentinel_tilt:0 sentinel_tilt:1 ..."):
    /// a Sentinel whose timer was starved (a loaded machine) suspends every
    /// action for 30 s, the conversion of an old primary included.
    [[nodiscard]] std::string tilt_flags() const {
        std::string flags;
        for (const auto& s : m_sentinels) {
            redisContext* c = s->connect();
            std::string flag = "?";
            if (c != nullptr) {
                auto* r = static_cast<redisReply*>(redisCommand(c, "INFO sentinel"));
                if (r != nullptr && r->type == REDIS_REPLY_STRING) {
                    const std::string info(r->str, r->len);
                    const auto at = info.find("sentinel_tilt:");
                    if (at != std::string::npos) flag = info.substr(at + 14, 1);
                }
                if (r != nullptr) freeReplyObject(r);
                redisFree(c);
            }
            if (!flags.empty()) flags += ' ';
            flags += "sentinel_tilt:";
            flags += flag;
        }
        return flags;
    }

  private:
    static std::vector<std::unique_ptr<RedisServer>> make_sentinels(int primary) {
        const std::string config = std::string("sentinel monitor ") + master_name + " 127.0.0.1 " +
                                   std::to_string(primary) +
                                   " 2\n"
                                   "sentinel down-after-milliseconds " +
                                   master_name + " 1000\nsentinel failover-timeout " + master_name +
                                   " 4000\nsentinel parallel-syncs " + master_name + " 1\n";
        std::vector<std::unique_ptr<RedisServer>> sentinels;
        for (int i = 0; i < 3; ++i)
            sentinels.push_back(
                std::make_unique<RedisServer>(std::vector<std::string>{"--sentinel"}, config));
        return sentinels;
    }

    /// The primary's port that Sentinel `s` names, or 0.
    static int ask(const RedisServer& s) {
        redisContext* c = s.connect();
        if (c == nullptr) return 0;
        int port = 0;
        auto* r = static_cast<redisReply*>(
            redisCommand(c, "SENTINEL get-master-addr-by-name %s", master_name));
        if (r != nullptr && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
            r->element[1]->str != nullptr)
            port = std::atoi(r->element[1]->str);
        if (r != nullptr) freeReplyObject(r);
        redisFree(c);
        return port;
    }

  public:
    /// True once `replica` copied its primary (its link is up).
    [[nodiscard]] static bool in_sync(const RedisServer& replica) {
        redisContext* c = replica.connect();
        if (c == nullptr) return false;
        auto* r = static_cast<redisReply*>(redisCommand(c, "INFO replication"));
        const bool up =
            r != nullptr && r->type == REDIS_REPLY_STRING &&
            std::string(r->str, r->len).find("master_link_status:up") != std::string::npos;
        if (r != nullptr) freeReplyObject(r);
        redisFree(c);
        return up;
    }

  private:
    [[nodiscard]] bool every_sentinel_sees_replicas() const {
        for (const auto& s : m_sentinels) {
            redisContext* c = s->connect();
            if (c == nullptr) return false;
            auto* r =
                static_cast<redisReply*>(redisCommand(c, "SENTINEL replicas %s", master_name));
            const bool seen =
                r != nullptr && r->type == REDIS_REPLY_ARRAY && r->elements == m_replicas.size();
            auto* o =
                static_cast<redisReply*>(redisCommand(c, "SENTINEL sentinels %s", master_name));
            const bool peers = o != nullptr && o->type == REDIS_REPLY_ARRAY && o->elements == 2;
            if (r != nullptr) freeReplyObject(r);
            if (o != nullptr) freeReplyObject(o);
            redisFree(c);
            if (!seen || !peers) return false;
        }
        return true;
    }

    RedisServer m_primary;
    std::vector<std::unique_ptr<RedisServer>> m_replicas;
    std::vector<std::unique_ptr<RedisServer>> m_sentinels;
};

}  // namespace jwtguard::test
