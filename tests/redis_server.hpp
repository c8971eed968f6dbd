// A real redis-server for the Redis mirror's tests and benchmark: started on
// a free loopback port in its own temporary folder, without persistence, and
// stopped by its pid. The binary comes from JWTGUARD_REDIS_SERVER (found by
// CMake; Debian package redis-server).
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
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "loopback.hpp"

namespace jwtguard::test {

class RedisServer {
  public:
    /// Starts a server; `extra` are more redis-server options
    /// (e.g. {"--requirepass", "secret"}).
    explicit RedisServer(std::vector<std::string> extra = {}) : m_extra(std::move(extra)) {
        char dir[] = "/tmp/jwtguard-redis-XXXXXX";
        if (::mkdtemp(dir) == nullptr) throw std::runtime_error("mkdtemp failed");
        m_dir = dir;
        m_port = free_port();
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
        std::vector<std::string> args = {JWTGUARD_REDIS_SERVER,
                                         "--port",
                                         std::to_string(m_port),
                                         "--bind",
                                         "127.0.0.1",
                                         "--save",
                                         "",
                                         "--appendonly",
                                         "no",
                                         "--dir",
                                         m_dir,
                                         "--logfile",
                                         m_dir + "/redis.log",
                                         "--daemonize",
                                         "no"};
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
        ::kill(m_pid, SIGKILL);
        int status = 0;
        ::waitpid(m_pid, &status, 0);
        m_pid = -1;
    }

    /// A connection for the test's own commands (nullptr if refused).
    [[nodiscard]] redisContext* connect() const {
        timeval tv{1, 0};
        redisContext* c = redisConnectWithTimeout("127.0.0.1", m_port, tv);
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
    int m_port = 0;
    pid_t m_pid = -1;
};

}  // namespace jwtguard::test
