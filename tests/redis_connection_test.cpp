// The Redis connection and the Sentinel lookup (redis_connection.hpp)
// against real redis-server processes (tests/redis_server.hpp).
#include <jwtguard/redis_connection.hpp>

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "redis_server.hpp"

namespace jwtguard {
namespace {

using namespace std::chrono_literals;

TEST(RedisConnection, SigpipeGuardTakesBackTheSignalItCaused) {
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    sigset_t before;
    pthread_sigmask(SIG_BLOCK, nullptr, &before);
    {
        const detail::SigpipeGuard guard;
        // What a write(2) on a reset connection does; unguarded, the
        // default action would end this program.
        ASSERT_EQ(pthread_kill(pthread_self(), SIGPIPE), 0);
    }
    sigset_t after;
    sigset_t pending;
    pthread_sigmask(SIG_BLOCK, nullptr, &after);
    sigpending(&pending);
    EXPECT_EQ(sigismember(&after, SIGPIPE), sigismember(&before, SIGPIPE));
    EXPECT_EQ(sigismember(&pending, SIGPIPE), 0);

    // A SIGPIPE that was pending before (the caller had it blocked) stays.
    pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
    ASSERT_EQ(pthread_kill(pthread_self(), SIGPIPE), 0);
    { const detail::SigpipeGuard guard; }
    sigpending(&pending);
    EXPECT_EQ(sigismember(&pending, SIGPIPE), 1);
    const timespec now{0, 0};
    EXPECT_EQ(sigtimedwait(&pipe, nullptr, &now), SIGPIPE);
    pthread_sigmask(SIG_SETMASK, &before, nullptr);
}

TEST(RedisConnection, AResetConnectionIsAnError) {
    // A listener that accepts and resets (SO_LINGER 0).
    const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(listener, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof a;
    ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    ASSERT_EQ(::listen(listener, 1), 0);
    ASSERT_EQ(::getsockname(listener, reinterpret_cast<sockaddr*>(&a), &size), 0);
    int peer = -1;
    std::thread acceptor([&] { peer = ::accept(listener, nullptr, nullptr); });
    detail::RedisConnection c({"127.0.0.1", ntohs(a.sin_port)}, {}, 500ms, 500ms);
    acceptor.join();
    ASSERT_TRUE(c.ok()) << c.error();
    ASSERT_GE(peer, 0);
    const linger reset{1, 0};
    ::setsockopt(peer, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
    ::close(peer);
    std::this_thread::sleep_for(50ms);  // the reset arrives
    EXPECT_EQ(c.run({"PING"}), nullptr);
    EXPECT_FALSE(c.ok());
    EXPECT_FALSE(c.error().empty());
    EXPECT_EQ(c.run({"PING"}), nullptr);  // stays failed; nothing more is written
    ::close(listener);
}

TEST(RedisConnection, AuthenticatesWithPasswordOrAclUserAndSaysWhichServerRefused) {
    test::RedisServer server({"--requirepass", "secret"});
    const RedisAddress address{"127.0.0.1", server.port()};
    detail::RedisConnection good(address, {"", "secret"}, 500ms, 500ms);
    ASSERT_TRUE(good.ok()) << good.error();
    const detail::Reply pong = good.run({"PING"});
    ASSERT_NE(pong, nullptr);
    EXPECT_EQ(detail::reply_text(pong.get()), "PONG");
    detail::RedisConnection acl(address, {"default", "secret"}, 500ms, 500ms);
    EXPECT_TRUE(acl.ok()) << acl.error();
    detail::RedisConnection bad(address, {"", "wrong"}, 500ms, 500ms);
    EXPECT_FALSE(bad.ok());
    EXPECT_NE(bad.error().find("AUTH refused by " + address.text()), std::string::npos)
        << bad.error();
    detail::RedisConnection none({"127.0.0.1", test::free_port()}, {}, 500ms, 500ms);
    EXPECT_FALSE(none.ok());
    EXPECT_NE(none.error().find("cannot connect to 127.0.0.1:"), std::string::npos);
}

TEST(RedisConnection, RunIdChangesWhenAnotherProcessServes) {
    test::RedisServer server;
    const RedisAddress address{"127.0.0.1", server.port()};
    std::optional<std::string> first;
    {
        detail::RedisConnection c(address, {}, 500ms, 500ms);
        first = detail::server_run_id(c);
        ASSERT_TRUE(first.has_value());
        EXPECT_EQ(first->size(), 40u);  // 40 hex digits
        EXPECT_EQ(detail::server_run_id(c), first);
    }
    server.stop();
    server.start();
    detail::RedisConnection c(address, {}, 500ms, 500ms);
    const std::optional<std::string> second = detail::server_run_id(c);
    ASSERT_TRUE(second.has_value());
    EXPECT_NE(second, first);
}

// Two Sentinels and a port where none listens: the lookup skips what does
// not answer.
TEST(Sentinel, FindsThePrimaryThroughTheSentinelsThatAnswer) {
    test::SentinelFarm farm;
    const std::vector<int> ports = farm.sentinel_ports();
    const std::vector<RedisAddress> sentinels = {
        {"127.0.0.1", test::free_port()}, {"127.0.0.1", ports[1]}, {"127.0.0.1", ports[2]}};
    const detail::PrimaryLookup found =
        detail::find_primary(sentinels, test::SentinelFarm::master_name, {}, 500ms);
    ASSERT_TRUE(found.primary.has_value()) << found.error;
    EXPECT_EQ(found.primary->port, farm.first_primary().port());
    EXPECT_EQ(found.primary->host, "127.0.0.1");
    // The primary is one; the replica is not.
    detail::RedisConnection primary(*found.primary, {}, 500ms, 500ms);
    EXPECT_EQ(detail::check_primary(primary, *found.primary), "");
    const RedisAddress replica{"127.0.0.1", farm.first_replica().port()};
    detail::RedisConnection to_replica(replica, {}, 500ms, 500ms);
    EXPECT_NE(detail::check_primary(to_replica, replica).find("is not a primary (ROLE: slave)"),
              std::string::npos);
}

TEST(Sentinel, EverySentinelsRefusalIsReported) {
    test::SentinelFarm farm;
    const std::vector<int> ports = farm.sentinel_ports();
    const std::vector<RedisAddress> sentinels = {{"127.0.0.1", ports[0]},
                                                 {"127.0.0.1", test::free_port()}};
    const detail::PrimaryLookup unknown =
        detail::find_primary(sentinels, "no-such-master", {}, 500ms);
    EXPECT_FALSE(unknown.primary.has_value());
    EXPECT_NE(unknown.error.find("Sentinel 127.0.0.1:" + std::to_string(ports[0]) +
                                 ": knows no such master"),
              std::string::npos)
        << unknown.error;
    EXPECT_NE(unknown.error.find("cannot connect"), std::string::npos) << unknown.error;
    const detail::PrimaryLookup none = detail::find_primary({}, "x", {}, 500ms);
    EXPECT_EQ(none.error, "no Sentinel configured");
}

/// A Sentinel stand-in on a loopback port: every connection gets `answer`
/// (raw RESP) to its first command, whatever it asked.
class FakeSentinel {
  public:
    explicit FakeSentinel(std::string answer) : m_answer(std::move(answer)) {
        m_listener = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t size = sizeof a;
        if (m_listener < 0 || ::bind(m_listener, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
            ::listen(m_listener, 8) != 0 ||
            ::getsockname(m_listener, reinterpret_cast<sockaddr*>(&a), &size) != 0)
            throw std::runtime_error("cannot listen");
        m_port = ntohs(a.sin_port);
        m_thread = std::thread([this] {
            for (;;) {
                const int peer = ::accept(m_listener, nullptr, nullptr);
                if (peer < 0) return;
                char request[512];
                if (::read(peer, request, sizeof request) > 0)
                    (void)!::write(peer, m_answer.data(), m_answer.size());
                ::close(peer);
            }
        });
    }
    ~FakeSentinel() {
        ::shutdown(m_listener, SHUT_RDWR);
        ::close(m_listener);
        m_thread.join();
    }
    [[nodiscard]] RedisAddress address() const { return {"127.0.0.1", m_port}; }

    /// The answers to get-master-addr-by-name and SENTINEL MASTER naming
    /// ip:port at `epoch`, with `flags`.
    static std::string master(const std::string& ip, const std::string& port,
                              const std::string& epoch, const std::string& flags = "master") {
        return bulk_array({ip, port}) + bulk_array({"name", "jwtguard", "ip", ip, "port", port,
                                                    "flags", flags, "config-epoch", epoch});
    }

    static std::string bulk_array(const std::vector<std::string>& fields) {
        std::string out = "*";
        out += std::to_string(fields.size());
        out += "\r\n";
        for (const std::string& field : fields) {
            out += '$';
            out += std::to_string(field.size());
            out += "\r\n";
            out += field;
            out += "\r\n";
        }
        return out;
    }

  private:
    std::string m_answer;
    int m_listener = -1;
    int m_port = 0;
    std::thread m_thread;
};

// During a failover a Sentinel that has not heard of it names the old
// primary; the newest configuration epoch wins, whatever the order, and at
// equal epochs a Sentinel that sees its primary down or is still failing
// over loses.
TEST(Sentinel, TheNewestConfigurationEpochWins) {
    const FakeSentinel stale(FakeSentinel::master("10.0.0.1", "6379", "3"));
    const FakeSentinel current(FakeSentinel::master("10.0.0.2", "6380", "4"));
    const FakeSentinel older(FakeSentinel::master("10.0.0.3", "6381", "2"));
    const FakeSentinel failing_over(
        FakeSentinel::master("10.0.0.4", "6382", "4", "master,failover_in_progress"));
    const FakeSentinel down(FakeSentinel::master("10.0.0.5", "6383", "4", "master,s_down,o_down"));
    for (const auto& order :
         {std::vector<RedisAddress>{stale.address(), current.address(), older.address()},
          std::vector<RedisAddress>{current.address(), older.address(), stale.address()},
          std::vector<RedisAddress>{failing_over.address(), down.address(), current.address()},
          std::vector<RedisAddress>{down.address(), current.address(), failing_over.address()}}) {
        const detail::PrimaryLookup found = detail::find_primary(order, "jwtguard", {}, 500ms);
        ASSERT_TRUE(found.primary.has_value()) << found.error;
        EXPECT_EQ(found.primary->text(), "10.0.0.2:6380");
    }
}

TEST(Sentinel, AMalformedAnswerIsSkippedAndReported) {
    const FakeSentinel good(FakeSentinel::master("10.0.0.2", "6380", "1"));
    for (const std::string& answer :
         {FakeSentinel::master("10.0.0.1", "0", "5"),
          FakeSentinel::master("10.0.0.1", "70000", "5"),
          FakeSentinel::master("10.0.0.1", "6379x", "5"), FakeSentinel::master("", "6379", "5"),
          FakeSentinel::master("10.0.0.1", "6379", "-1"),
          FakeSentinel::master("10.0.0.1", "6379", ""), std::string("+OK\r\n+OK\r\n"),
          std::string("-ERR no\r\n-ERR no\r\n"), std::string("*-1\r\n-ERR no\r\n"),
          FakeSentinel::bulk_array({"10.0.0.1", "6379"}) + "-ERR no\r\n",
          FakeSentinel::bulk_array({"10.0.0.1"}) + FakeSentinel::bulk_array({})}) {
        const FakeSentinel bad(answer);
        const detail::PrimaryLookup found =
            detail::find_primary({bad.address(), good.address()}, "jwtguard", {}, 500ms);
        ASSERT_TRUE(found.primary.has_value()) << found.error;
        EXPECT_EQ(found.primary->text(), "10.0.0.2:6380") << answer;
        const detail::PrimaryLookup alone =
            detail::find_primary({bad.address()}, "jwtguard", {}, 500ms);
        EXPECT_FALSE(alone.primary.has_value()) << answer;
        EXPECT_NE(alone.error.find("Sentinel " + bad.address().text() + ": "), std::string::npos)
            << alone.error;
    }
}

TEST(Sentinel, SentinelsWithAPasswordNeedIt) {
    test::RedisServer primary;
    const std::string config = "sentinel monitor m 127.0.0.1 " + std::to_string(primary.port()) +
                               " 1\nrequirepass sentinel-secret\n";
    test::RedisServer sentinel({"--sentinel"}, config);
    const std::vector<RedisAddress> sentinels = {{"127.0.0.1", sentinel.port()}};
    const detail::PrimaryLookup refused = detail::find_primary(sentinels, "m", {}, 500ms);
    EXPECT_FALSE(refused.primary.has_value());
    EXPECT_NE(refused.error.find("NOAUTH"), std::string::npos) << refused.error;
    const detail::PrimaryLookup wrong = detail::find_primary(sentinels, "m", {"", "wrong"}, 500ms);
    EXPECT_NE(wrong.error.find("AUTH refused"), std::string::npos) << wrong.error;
    const detail::PrimaryLookup found =
        detail::find_primary(sentinels, "m", {"", "sentinel-secret"}, 500ms);
    ASSERT_TRUE(found.primary.has_value()) << found.error;
    EXPECT_EQ(found.primary->port, primary.port());
}

}  // namespace
}  // namespace jwtguard
