// End to end: starts the example server on a free loopback port, drives the
// login / refresh / logout flow with a real HTTP client, and checks every
// status code, the RFC 6750 challenges, and that a revoked token is refused
// on its very next use.
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <httplib.h>
#include <rapidjson/document.h>
#include <jwtguard/base64url.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#if JWTGUARD_EXAMPLE_REDIS
#include "redis_server.hpp"
#endif

namespace {

/// The server as a child process; stopped with SIGTERM, which must end it
/// cleanly (exit status 0).
class ServerProcess {
  public:
    /// The tests read the reasons of refusals: --error-detail code unless
    /// `error_detail` is false (the server's default then).
    explicit ServerProcess(std::vector<std::string> extra = {}, bool error_detail = true) {
        std::vector<std::string> args = {JWTGUARD_EXAMPLE_SERVER, "--port", "0",
                                         "--pbkdf2-iterations", "1000"};
        if (error_detail) args.insert(args.end(), {"--error-detail", "code"});
        args.insert(args.end(), extra.begin(), extra.end());
        int out[2];
        if (pipe(out) != 0) throw std::runtime_error("pipe");
        m_pid = fork();
        if (m_pid == 0) {
            dup2(out[1], STDOUT_FILENO);
            close(out[0]);
            close(out[1]);
            std::vector<char*> argv;
            for (auto& a : args)
                argv.push_back(a.data());
            argv.push_back(nullptr);
            execv(argv[0], argv.data());
            _exit(127);
        }
        close(out[1]);
        // The server prints "... listening on http://127.0.0.1:PORT" when ready.
        std::string line;
        pollfd p{out[0], POLLIN, 0};
        while (line.find('\n') == std::string::npos && poll(&p, 1, 30'000) == 1) {
            char c[256];
            const ssize_t n = read(out[0], c, sizeof c);
            if (n <= 0) break;
            line.append(c, static_cast<std::size_t>(n));
        }
        close(out[0]);
        const auto colon = line.rfind(':');
        if (line.find("listening on") == std::string::npos || colon == std::string::npos)
            throw std::runtime_error("server did not start: " + line);
        m_port = std::stoi(line.substr(colon + 1));
    }
    ~ServerProcess() {
        if (m_pid > 0) (void)stop();
    }
    /// SIGTERM, then the exit status.
    int stop() {
        kill(m_pid, SIGTERM);
        int status = 0;
        waitpid(m_pid, &status, 0);
        m_pid = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    [[nodiscard]] int port() const { return m_port; }

  private:
    pid_t m_pid = -1;
    int m_port = 0;
};

struct Session {
    std::string access, refresh;
};

std::string member(const std::string& json, const char* name) {
    rapidjson::Document doc;
    doc.Parse(json.data(), json.size());  // bounded: no SIMD reads past the end
    if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember(name) || !doc[name].IsString())
        return {};
    return doc[name].GetString();
}

/// A number member's text ("" if absent).
std::string member_number(const std::string& json, const char* name) {
    rapidjson::Document doc;
    doc.Parse(json.data(), json.size());
    if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember(name) || !doc[name].IsInt64())
        return {};
    return std::to_string(doc[name].GetInt64());
}

class ExampleServer : public ::testing::Test {
  protected:
    void start(std::vector<std::string> extra = {}, bool error_detail = true) {
        server = std::make_unique<ServerProcess>(std::move(extra), error_detail);
        client = std::make_unique<httplib::Client>("127.0.0.1", server->port());
    }
    void SetUp() override { start(); }
    void TearDown() override {
        if (server) {
            EXPECT_EQ(server->stop(), 0) << "SIGTERM must stop the server cleanly";
        }
    }

    httplib::Result post(const std::string& path, const std::string& body,
                         const std::string& bearer = "") {
        httplib::Headers headers;
        if (!bearer.empty()) headers.emplace("Authorization", "Bearer " + bearer);
        return client->Post(path.c_str(), headers, body, "application/json");
    }
    httplib::Result me(const std::string& authorization) {
        httplib::Headers headers;
        if (!authorization.empty()) headers.emplace("Authorization", authorization);
        return client->Get("/me", headers);
    }
    int me_status(const std::string& token) { return me("Bearer " + token)->status; }
    /// error_description of a refused Bearer token.
    std::string refusal(const std::string& token) {
        const auto r = me("Bearer " + token);
        EXPECT_EQ(r->status, 401);
        return member(r->body, "error_description");
    }
    Session login(const std::string& user = "ada", const std::string& password = "lovelace") {
        const auto r =
            post("/login", R"({"username":")" + user + R"(","password":")" + password + "\"}");
        EXPECT_EQ(r->status, 200) << r->body;
        EXPECT_EQ(member(r->body, "token_type"), "Bearer");
        return {member(r->body, "access_token"), member(r->body, "refresh_token")};
    }
    /// Writes fixed access and refresh secrets into `dir`, and returns the
    /// options that make a server use them (so that several servers, or one
    /// restarted, accept each other's tokens).
    static std::vector<std::string> fixed_keys(const std::filesystem::path& dir) {
        std::filesystem::create_directories(dir);
        for (const char* name : {"access.key", "refresh.key"}) {
            std::ofstream(dir / name) << "0123456789abcdef0123456789abcdef-" << name;
        }
        return {"--secret-file", (dir / "access.key").string(), "--refresh-secret-file",
                (dir / "refresh.key").string()};
    }
    httplib::Result refresh(const std::string& token) {
        return post("/refresh", R"({"refresh_token":")" + token + "\"}");
    }

    std::unique_ptr<ServerProcess> server;
    std::unique_ptr<httplib::Client> client;
};

TEST_F(ExampleServer, MeNeedsAValidBearerToken) {
    const std::string bare = R"(Bearer realm="jwtguard-example")";
    auto r = me("");
    EXPECT_EQ(r->status, 401);
    EXPECT_EQ(r->get_header_value("WWW-Authenticate"), bare);  // no token: no error code
    r = me("Basic YWRhOmxvdmVsYWNl");
    EXPECT_EQ(r->status, 401);
    EXPECT_EQ(r->get_header_value("WWW-Authenticate"), bare);
    r = me("Bearer not-a-token");
    EXPECT_EQ(r->status, 401);
    EXPECT_EQ(r->get_header_value("WWW-Authenticate"),
              bare + R"(, error="invalid_token", error_description="token_malformed")");
    EXPECT_EQ(client->Get("/public")->status, 200);
}

TEST_F(ExampleServer, LoginChecksTheCredentials) {
    EXPECT_EQ(post("/login", "not json")->status, 400);
    EXPECT_EQ(post("/login", R"({"username":"ada"})")->status, 400);
    EXPECT_EQ(post("/login", R"({"username":"ada","password":"babbage"})")->status, 401);
    EXPECT_EQ(post("/login", R"({"username":"eve","password":"lovelace"})")->status, 401);
    const Session s = login();
    const auto r = me("Bearer " + s.access);
    ASSERT_EQ(r->status, 200) << r->body;
    EXPECT_EQ(member(r->body, "sub"), "ada");
    EXPECT_EQ(member(r->body, "iss"), "jwtguard-example");
    EXPECT_FALSE(member(r->body, "jti").empty());
}

TEST_F(ExampleServer, AccessAndRefreshTokensCannotStandInForEachOther) {
    const Session s = login();
    EXPECT_EQ(refusal(s.refresh), "kid_unknown");  // signed with the refresh key
    const auto r = refresh(s.access);
    EXPECT_EQ(r->status, 401);
    EXPECT_EQ(member(r->body, "error"), "invalid_grant");
}

TEST_F(ExampleServer, LogoutRefusesTheTokenAtOnce) {
    const Session s = login();
    const Session other = login("alan", "turing");
    ASSERT_EQ(me_status(s.access), 200);
    EXPECT_EQ(post("/logout", R"({"refresh_token":")" + s.refresh + "\"}", s.access)->status, 204);
    EXPECT_EQ(refusal(s.access), "revoked");
    EXPECT_EQ(post("/logout", "", s.access)->status, 401);
    EXPECT_EQ(refresh(s.refresh)->status, 401);  // its refresh token went with it
    EXPECT_EQ(me_status(other.access), 200);     // nobody else's
}

TEST_F(ExampleServer, RefreshRotatesAndAReusedTokenEndsItsFamily) {
    const Session first = login();
    const Session other = login();  // another device of the same user
    auto r = refresh(first.refresh);
    ASSERT_EQ(r->status, 200) << r->body;
    const Session second{member(r->body, "access_token"), member(r->body, "refresh_token")};
    EXPECT_EQ(me_status(second.access), 200);
    // The old refresh token again: somebody holds a copy.
    r = refresh(first.refresh);
    EXPECT_EQ(r->status, 401);
    EXPECT_EQ(member(r->body, "error_description"), "refresh_token_reused");
    r = refresh(second.refresh);  // the family is over
    EXPECT_EQ(r->status, 401);
    EXPECT_EQ(member(r->body, "error_description"), "refresh_token_reused");
    EXPECT_EQ(refresh(other.refresh)->status, 200);  // other families go on
}

TEST_F(ExampleServer, LogoutAllEndsEverySessionOfTheUser) {
    const Session a = login(), b = login();
    const Session other = login("grace", "hopper");
    EXPECT_EQ(post("/logout-all", "", a.access)->status, 204);
    EXPECT_EQ(refusal(a.access), "subject_revoked");
    EXPECT_EQ(refusal(b.access), "subject_revoked");
    const auto r = refresh(b.refresh);
    EXPECT_EQ(r->status, 401);
    EXPECT_EQ(member(r->body, "error_description"), "subject_revoked");
    EXPECT_EQ(me_status(other.access), 200);
    // Logging in again works at once, even within the same second.
    EXPECT_EQ(me_status(login().access), 200);
}

TEST_F(ExampleServer, LogoutAllTwiceInOneSecondEndsTheSessionBetween) {
    // Whole-second iat: a session started after a log-out-all is dated at
    // its cut-off, and a second log-out-all in the same second once set the
    // same cut-off, leaving that session alive (its refresh token too).
    // (Each user once: every log-out-all within a second moves that user's
    // cut-off a second ahead; see LogoutAllFasterThanTheClockAsksForARetry.)
    for (const auto& [user, password] : {std::pair{"ada", "lovelace"}, std::pair{"alan", "turing"},
                                         std::pair{"grace", "hopper"}}) {
        const Session a = login(user, password);
        ASSERT_EQ(post("/logout-all", "", a.access)->status, 204);
        const Session b = login(user, password);
        ASSERT_EQ(me_status(b.access), 200);
        ASSERT_EQ(post("/logout-all", "", b.access)->status, 204);
        EXPECT_EQ(refusal(b.access), "subject_revoked") << user;
        const auto r = refresh(b.refresh);
        EXPECT_EQ(r->status, 401) << user;
        EXPECT_EQ(member(r->body, "error_description"), "subject_revoked") << user;
        EXPECT_EQ(refusal(a.access), "subject_revoked") << user;
        EXPECT_EQ(me_status(login(user, password).access), 200) << user;  // a new session works
    }
}

TEST_F(ExampleServer, ARefreshRacingALogoutAllNeverOutlivesIt) {
    // Refresh tokens issued before a log-out-all, presented while it runs:
    // whichever comes first, no pair they yield survives the log-out-all.
    for (int round = 0; round < 6; ++round) {
        const std::pair<const char*, const char*> users[] = {
            {"ada", "lovelace"}, {"alan", "turing"}, {"grace", "hopper"}};
        const auto [user, password] = users[round % 3];
        std::vector<Session> sessions;
        for (int i = 0; i < 8; ++i)
            sessions.push_back(login(user, password));
        const Session trigger = login(user, password);
        std::vector<std::string> refreshed(sessions.size());
        std::vector<std::thread> racers;
        for (std::size_t i = 0; i < sessions.size(); ++i)
            racers.emplace_back([&, i] {
                httplib::Client racer("127.0.0.1", server->port());
                const auto r =
                    racer.Post("/refresh", R"({"refresh_token":")" + sessions[i].refresh + R"("})",
                               "application/json");
                if (r && r->status == 200) refreshed[i] = r->body;
            });
        EXPECT_EQ(post("/logout-all", "", trigger.access)->status, 204);
        for (auto& t : racers)
            t.join();
        for (std::size_t i = 0; i < sessions.size(); ++i) {
            EXPECT_EQ(me_status(sessions[i].access), 401);
            if (refreshed[i].empty()) continue;
            EXPECT_EQ(refusal(member(refreshed[i], "access_token")), "subject_revoked") << round;
            EXPECT_EQ(refresh(member(refreshed[i], "refresh_token"))->status, 401) << round;
        }
    }
}

TEST_F(ExampleServer, LogoutAllFasterThanTheClockAsksForARetry) {
    // Each log-out-all within a second moves the cut-off a second ahead, and
    // a new session is dated at it; beyond the leeway (5 s) that date would
    // be refused, so the login answers 503 with Retry-After instead.
    bool asked_to_retry = false;
    for (int cycle = 0; cycle < 40 && !asked_to_retry; ++cycle) {
        const auto r = post("/login", R"({"username":"ada","password":"lovelace"})");
        if (r->status == 503) {
            asked_to_retry = true;
            EXPECT_EQ(member(r->body, "error"), "temporarily_unavailable");
            const int wait = std::stoi(r->get_header_value("Retry-After"));
            EXPECT_GE(wait, 1);
            EXPECT_LE(wait, 40);
            std::this_thread::sleep_for(std::chrono::seconds(wait));
            break;
        }
        ASSERT_EQ(r->status, 200) << r->body;
        const std::string access = member(r->body, "access_token");
        ASSERT_EQ(me_status(access), 200) << cycle;  // every session it gives works
        ASSERT_EQ(post("/logout-all", "", access)->status, 204);
    }
    EXPECT_TRUE(asked_to_retry);
    EXPECT_EQ(me_status(login().access), 200);  // after the wait, at once
}

TEST_F(ExampleServer, RefusalsNameNoReasonUnlessAskedTo) {
    // The default: error="invalid_token" (or invalid_grant) without
    // error_description; the reason would tell a thief that a stolen token
    // was revoked, or help probe the keys.
    ASSERT_EQ(server->stop(), 0);
    start({}, /*error_detail=*/false);
    const Session s = login();
    ASSERT_EQ(post("/logout", R"({"refresh_token":")" + s.refresh + R"("})", s.access)->status,
              204);
    const auto r = me("Bearer " + s.access);
    EXPECT_EQ(r->status, 401);
    EXPECT_EQ(r->get_header_value("WWW-Authenticate"),
              R"(Bearer realm="jwtguard-example", error="invalid_token")");
    EXPECT_EQ(r->body, R"({"error":"invalid_token"})");
    const auto g = refresh(s.refresh);
    EXPECT_EQ(g->status, 401);
    EXPECT_EQ(g->body, R"({"error":"invalid_grant"})");
}

TEST_F(ExampleServer, RefreshFamiliesAreForgottenWhenTheyExpire) {
    // One family per login was kept for ever; now until its newest refresh
    // token expires (plus the leeway, 5 s).
    ASSERT_EQ(server->stop(), 0);
    start({"--stats", "--access-ttl", "1", "--refresh-ttl", "1"});
    const auto families = [&] {
        return std::stoi(member_number(client->Get("/stats")->body, "families"));
    };
    for (int i = 0; i < 10; ++i)
        (void)login();
    EXPECT_EQ(families(), 10);
    std::this_thread::sleep_for(std::chrono::seconds(8));
    EXPECT_EQ(families(), 0);
}

TEST_F(ExampleServer, RevocationsSurviveARestart) {
    const auto dir =
        std::filesystem::temp_directory_path() / ("jwtguard-example-" + std::to_string(getpid()));
    std::vector<std::string> args = fixed_keys(dir);
    args.insert(args.end(), {"--journal", (dir / "journal").string()});
    ASSERT_EQ(server->stop(), 0);
    start(args);
    const Session out = login(), in = login("alan", "turing");
    ASSERT_EQ(post("/logout", "", out.access)->status, 204);
    ASSERT_EQ(server->stop(), 0);
    start(args);
    EXPECT_EQ(refusal(out.access), "revoked");
    EXPECT_EQ(me_status(in.access), 200);
    std::filesystem::remove_all(dir);
}

#if JWTGUARD_EXAMPLE_REDIS
TEST_F(ExampleServer, InstancesOnOneRedisShareEveryRevocation) {
    jwtguard::test::RedisServer redis;
    const auto dir = std::filesystem::temp_directory_path() /
                     ("jwtguard-example-redis-" + std::to_string(getpid()));
    std::vector<std::string> args = fixed_keys(dir);
    args.insert(args.end(), {"--redis", "127.0.0.1:" + std::to_string(redis.port())});
    ASSERT_EQ(server->stop(), 0);
    start(args);
    ServerProcess other(args);
    httplib::Client other_client("127.0.0.1", other.port());
    const auto other_refusal = [&](const std::string& token) {
        httplib::Headers headers{{"Authorization", "Bearer " + token}};
        const auto r = other_client.Get("/me", headers);
        return r->status == 401 ? member(r->body, "error_description") : std::string();
    };
    const auto eventually = [](const std::function<bool()>& done) {
        for (int i = 0; i < 2000 && !done(); ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        return done();
    };
    const Session ada = login(), alan = login("alan", "turing");
    ASSERT_EQ(other_refusal(ada.access), "");  // both instances accept it
    ASSERT_EQ(post("/logout", "", ada.access)->status, 204);
    EXPECT_TRUE(eventually([&] { return other_refusal(ada.access) == "revoked"; }));
    ASSERT_EQ(post("/logout-all", "", alan.access)->status, 204);
    EXPECT_TRUE(eventually([&] { return other_refusal(alan.access) == "subject_revoked"; }));
    // A third instance knows both revocations from its first request on.
    ServerProcess third(args);
    httplib::Client third_client("127.0.0.1", third.port());
    httplib::Headers headers{{"Authorization", "Bearer " + ada.access}};
    EXPECT_EQ(member(third_client.Get("/me", headers)->body, "error_description"), "revoked");
    EXPECT_EQ(other.stop(), 0);
    EXPECT_EQ(third.stop(), 0);
    std::filesystem::remove_all(dir);
}

// Two instances behind Redis Sentinel (with min_replicas_acked 1 and two
// replicas, so that acknowledgements go on after the failover), and many
// clients sending the same refresh token to both as the primary is killed. Each client retries on
// 503 (Redis could not decide: fail closed) until it gets an answer. Exactly one rotation succeeds;
// every other attempt is refused as reuse: refresh_token_reused, or, once an instance that does
// not know the token's family has answered reuse by logging the user out everywhere (end_family),
// subject_revoked for an attempt that comes after that revocation.
TEST_F(ExampleServer, ARefreshTokenRotatesOnceAcrossTheFarmThroughAFailover) {
    jwtguard::test::SentinelFarm farm(2);
    const auto dir = std::filesystem::temp_directory_path() /
                     ("jwtguard-example-sentinel-" + std::to_string(getpid()));
    std::vector<std::string> args = fixed_keys(dir);
    std::string sentinels;
    for (const int port : farm.sentinel_ports()) {
        if (!sentinels.empty()) sentinels += ',';
        sentinels += "127.0.0.1:";
        sentinels += std::to_string(port);
    }
    args.insert(args.end(), {"--redis-sentinels", sentinels, "--redis-master",
                             jwtguard::test::SentinelFarm::master_name, "--redis-acks", "1"});
    ASSERT_EQ(server->stop(), 0);
    start(args);
    ServerProcess other(args);
    const Session ada = login();
    const std::string body = R"({"refresh_token":")" + ada.refresh + "\"}";
    std::atomic<int> rotated{0}, reused{0}, cut_off{0}, retried{0}, other_answer{0};
    std::mutex others_mutex;
    std::string others;  // what the other answers were
    std::atomic<bool> go{false};
    std::vector<std::thread> clients;
    for (int i = 0; i < 8; ++i)
        clients.emplace_back([&, i] {
            httplib::Client c("127.0.0.1", i % 2 == 0 ? server->port() : other.port());
            c.set_read_timeout(10, 0);
            while (!go.load())
                std::this_thread::yield();
            const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
            while (std::chrono::steady_clock::now() < deadline) {
                const auto r = c.Post("/refresh", body, "application/json");
                // 503, or a connection that could not be made (nothing was
                // sent, so nothing decided): try again.
                if ((r && r->status == 503) || (!r && r.error() == httplib::Error::Connection)) {
                    ++retried;
                    std::this_thread::sleep_for(std::chrono::milliseconds(20));
                    continue;
                }
                if (r && r->status == 200) {
                    ++rotated;
                } else if (r && r->status == 401 &&
                           member(r->body, "error_description") == "refresh_token_reused") {
                    ++reused;
                } else if (r && r->status == 401 &&
                           member(r->body, "error_description") == "subject_revoked") {
                    ++cut_off;
                } else {
                    ++other_answer;
                    const std::lock_guard lock(others_mutex);
                    others += r ? std::to_string(r->status) + " " + r->body + "\n"
                                : "no answer: " + httplib::to_string(r.error()) + "\n";
                }
                return;
            }
            ++other_answer;  // no answer within 30 s
        });
    // The primary dies as the burst begins: the first attempts find no
    // primary, and the race is decided on the new one.
    farm.first_primary().stop();
    go = true;
    for (std::thread& t : clients)
        t.join();
    EXPECT_EQ(rotated.load(), 1);
    EXPECT_EQ(reused.load() + cut_off.load(), 7);
    EXPECT_GE(reused.load(), 1);  // the first refusal is always the reuse itself
    EXPECT_EQ(other_answer.load(), 0) << others;
    EXPECT_GT(retried.load(), 0);
    std::printf(
        "refresh burst through a failover: %d rotated, %d reused, %d refused after the log-out "
        "everywhere, %d answers were 503\n",
        rotated.load(), reused.load(), cut_off.load(), retried.load());
    EXPECT_EQ(other.stop(), 0);
    std::filesystem::remove_all(dir);
}
#endif

TEST_F(ExampleServer, SigtermRightAfterStartingStopsTheServer) {
    // The server says it listens just before it does; a signal in between
    // must not be lost (the test would hang, and time out).
    for (int i = 0; i < 20; ++i) {
        ASSERT_EQ(server->stop(), 0) << i;
        start();
    }
}

TEST_F(ExampleServer, Rs256AccessTokens) {
    ASSERT_EQ(server->stop(), 0);
    start({"--alg", "RS256"});
    const Session s = login();
    const std::string encoded = s.access.substr(0, s.access.find('.'));
    std::string header(jwtguard::base64url_decoded_size(encoded.size()), '\0');
    std::size_t size = 0;
    ASSERT_EQ(
        jwtguard::base64url_decode(encoded, reinterpret_cast<unsigned char*>(header.data()), size),
        jwtguard::Base64Status::ok);
    header.resize(size);
    EXPECT_EQ(member(header, "alg"), "RS256");
    EXPECT_EQ(member(header, "typ"), "at+jwt");
    EXPECT_EQ(me_status(s.access), 200);
    EXPECT_EQ(post("/logout", "", s.access)->status, 204);
    EXPECT_EQ(refusal(s.access), "revoked");
}

}  // namespace
