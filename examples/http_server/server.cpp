// jwtguard example: the API of a single-page app, on cpp-httplib, using the
// library only through its public headers.
//
//   POST /login       {"username","password"} -> access token (short-lived,
//                     HS256 or RS256) + refresh token (long-lived, HS256)
//   POST /refresh     {"refresh_token"} -> a new pair; the old refresh token
//                     is revoked, and presenting a revoked one again revokes
//                     its whole family (reuse detection)
//   GET  /me          Bearer access token -> its claims; 401 with an RFC 6750
//                     WWW-Authenticate header otherwise
//   POST /logout      revokes the presented access token (and the refresh
//                     token in the body, if any)
//   POST /logout-all  revokes every token of the user (subject cut-off)
//   GET  /public      no validation: the load test's baseline
//   GET  /stats       with --stats: revocations and live refresh families
//
// A 401 says error="invalid_token" (or "invalid_grant" from /refresh) and,
// only with --error-detail code, why: jwtguard's error code. Off by default,
// since the reason helps an attacker (a stolen token learns it was revoked).
//
// Access and refresh tokens are signed with different keys and carry
// different `typ`s (RFC 8725 3.11), so neither can pass for the other. One
// Denylist holds every revocation, journaled if --journal is given, and
// mirrored through Redis with --redis HOST:PORT, or through the primary
// that Redis Sentinels name with --redis-sentinels H:P,H:P,... and
// --redis-master NAME (several instances; passwords, if any, come from the
// environment: JWTGUARD_REDIS_PASSWORD, JWTGUARD_REDIS_SENTINEL_PASSWORD).
// --redis-acks N: a revocation counts as shared once N replicas hold it.
// With Redis, a refresh token is rotated once across the farm (a
// compare-and-set in Redis); when Redis cannot decide, /refresh answers
// 503 (fail closed).
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <pthread.h>
#include <signal.h>

#include <httplib.h>
#include <rapidjson/document.h>
#include <jwtguard/jwtguard.hpp>
#if JWTGUARD_EXAMPLE_REDIS
#include <jwtguard/redis.hpp>
#endif

#include <atomic>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <queue>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <utility>
#include <variant>
#include <vector>

namespace {

using jwtguard::Error;

constexpr std::string_view issuer = "jwtguard-example";
constexpr std::string_view audience = "jwtguard-example-api";
constexpr std::string_view realm = "jwtguard-example";

struct Config {
    std::string host = "127.0.0.1";
    int port = 8080;  // 0: any free port (printed)
    std::string alg = "HS256";
    std::string secret_file;          // HS256 access secret; random if empty
    std::string key_file;             // RS256 private key (PEM); generated if empty
    std::string refresh_secret_file;  // refresh secret; random if empty
    std::string journal;
    std::int64_t access_ttl = 300;
    std::int64_t refresh_ttl = 86400;
    int pbkdf2_iterations = 600'000;  // OWASP's figure for PBKDF2-HMAC-SHA256
    std::size_t revoked = 0;          // random revocations to preload (load tests)
    std::string redis_host;           // empty: no Redis mirror (or Sentinels)
    int redis_port = 6379;
    std::vector<std::pair<std::string, int>> redis_sentinels;  // with redis_master
    std::string redis_master;
    int redis_acks = 0;  // min_replicas_acked
    [[nodiscard]] bool redis() const { return !redis_host.empty() || !redis_sentinels.empty(); }
    // Whether a 401 names why (error_description = jwtguard's error code).
    // Off by default: "revoked" tells whoever holds a stolen token that its
    // owner logged out, "kid_unknown" and "signature_invalid" help probe the
    // keys. The server's callers get error="invalid_token" (RFC 6750 3.1)
    // or "invalid_grant" alone; turn it on for development.
    bool error_detail = false;
    bool stats = false;  // GET /stats: revocations and live refresh families
};

[[noreturn]] void usage(const std::string& why) {
    std::cerr
        << "error: " << why << "\n"
        << "usage: jwtguard_example_server [--host H] [--port N (0: any)] [--alg HS256|RS256]\n"
           "         [--secret-file F | --key-file PRIVATE.pem] [--refresh-secret-file F]\n"
           "         [--journal PATH] [--access-ttl S] [--refresh-ttl S]\n"
           "         [--pbkdf2-iterations N] [--revoked N] [--redis HOST:PORT]\n"
           "         [--redis-sentinels HOST:PORT,... --redis-master NAME] [--redis-acks N]\n"
           "         [--error-detail none|code] [--stats]\n";
    std::exit(2);
}

/// HOST:PORT, or the usage message.
std::pair<std::string, int> parse_address(const std::string& v, const std::string& option) {
    const std::size_t colon = v.rfind(':');
    if (colon == std::string::npos || colon == 0) usage(option + " needs HOST:PORT");
    const std::string port = v.substr(colon + 1);
    if (port.empty() || port.size() > 5 ||
        port.find_first_not_of("0123456789") != std::string::npos || std::stoi(port) < 1 ||
        std::stoi(port) > 65535)
        usage(option + " needs a port in [1, 65535]");
    return {v.substr(0, colon), std::stoi(port)};
}

Config parse_args(int argc, char** argv) {
    Config c;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) usage(arg + " needs a value");
            return argv[++i];
        };
        auto number = [&]() -> std::int64_t {
            const std::string v = value();
            std::size_t used = 0;
            std::int64_t n = -1;
            try {
                n = std::stoll(v, &used);
            } catch (...) {
            }
            if (used != v.size() || n < 0) usage(arg + " needs a non-negative integer");
            return n;
        };
        if (arg == "--host")
            c.host = value();
        else if (arg == "--port")
            c.port = static_cast<int>(number());
        else if (arg == "--alg")
            c.alg = value();
        else if (arg == "--secret-file")
            c.secret_file = value();
        else if (arg == "--key-file")
            c.key_file = value();
        else if (arg == "--refresh-secret-file")
            c.refresh_secret_file = value();
        else if (arg == "--journal")
            c.journal = value();
        else if (arg == "--access-ttl")
            c.access_ttl = number();
        else if (arg == "--refresh-ttl")
            c.refresh_ttl = number();
        else if (arg == "--pbkdf2-iterations")
            c.pbkdf2_iterations = static_cast<int>(number());
        else if (arg == "--revoked")
            c.revoked = static_cast<std::size_t>(number());
        else if (arg == "--stats")
            c.stats = true;
        else if (arg == "--error-detail") {
            const std::string v = value();
            if (v != "none" && v != "code") usage("--error-detail needs none or code");
            c.error_detail = v == "code";
        } else if (arg == "--redis") {
            std::tie(c.redis_host, c.redis_port) = parse_address(value(), arg);
        } else if (arg == "--redis-sentinels") {
            const std::string v = value();
            for (std::size_t from = 0; from <= v.size();) {
                const std::size_t comma = std::min(v.find(',', from), v.size());
                c.redis_sentinels.push_back(parse_address(v.substr(from, comma - from), arg));
                from = comma + 1;
            }
        } else if (arg == "--redis-master") {
            c.redis_master = value();
        } else if (arg == "--redis-acks") {
            c.redis_acks = static_cast<int>(number());
        } else
            usage("unknown option " + arg);
    }
    if (c.alg != "HS256" && c.alg != "RS256") usage("--alg must be HS256 or RS256");
    if (c.access_ttl <= 0 || c.refresh_ttl < c.access_ttl)
        usage("need 0 < --access-ttl <= --refresh-ttl");
    if (c.pbkdf2_iterations < 1) usage("--pbkdf2-iterations must be positive");
    if (!c.redis_host.empty() && !c.redis_sentinels.empty())
        usage("--redis and --redis-sentinels exclude each other");
    if (c.redis_sentinels.empty() != c.redis_master.empty())
        usage("--redis-sentinels and --redis-master go together");
    if (c.redis_acks > 64 || (c.redis_acks > 0 && !c.redis()))
        usage("--redis-acks needs --redis or --redis-sentinels, and at most 64");
#if !JWTGUARD_EXAMPLE_REDIS
    if (c.redis()) usage("--redis: built without hiredis (libhiredis-dev)");
#endif
    return c;
}

std::int64_t unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string random_bytes(std::size_t n) {
    std::string out(n, '\0');
    if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1)
        throw std::runtime_error("RAND_bytes failed");
    return out;
}

/// A random (version 4) UUID, the usual shape of a jti.
std::string uuid() {
    std::string b = random_bytes(16);
    b[6] = static_cast<char>((b[6] & 0x0f) | 0x40);
    b[8] = static_cast<char>((b[8] & 0x3f) | 0x80);
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    for (std::size_t i = 0; i < 16; ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
        out += hex[static_cast<unsigned char>(b[i]) >> 4];
        out += hex[static_cast<unsigned char>(b[i]) & 15];
    }
    return out;
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + path);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// A JSON string literal (quotes included).
std::string json_quoted(std::string_view s) {
    std::string out = "\"";
    for (const char c : s) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (static_cast<unsigned char>(c) < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out += buf;
        } else {
            out += c;
        }
    }
    return out + "\"";
}

/// Users and their password hashes (PBKDF2-HMAC-SHA256, random salt). A
/// real service keeps these in its database, preferably with argon2id.
class Users {
  public:
    explicit Users(int iterations) : m_iterations(iterations) {
        for (const auto& [name, password] :
             {std::pair{"ada", "lovelace"}, std::pair{"alan", "turing"},
              std::pair{"grace", "hopper"}}) {
            Entry e{random_bytes(16), {}};
            e.hash = hash(password, e.salt);
            m_users.emplace(name, std::move(e));
        }
    }
    [[nodiscard]] bool check(const std::string& user, const std::string& password) const {
        const auto it = m_users.find(user);
        // Hash even for an unknown user, so timing does not tell users apart.
        const std::string salt = it != m_users.end() ? it->second.salt : std::string(16, '\0');
        const std::string h = hash(password, salt);
        return it != m_users.end() &&
               CRYPTO_memcmp(h.data(), it->second.hash.data(), h.size()) == 0;
    }

  private:
    struct Entry {
        std::string salt, hash;
    };
    [[nodiscard]] std::string hash(const std::string& password, const std::string& salt) const {
        std::string out(32, '\0');
        PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                          reinterpret_cast<const unsigned char*>(salt.data()),
                          static_cast<int>(salt.size()), m_iterations, EVP_sha256(), 32,
                          reinterpret_cast<unsigned char*>(out.data()));
        return out;
    }
    int m_iterations;
    std::map<std::string, Entry, std::less<>> m_users;
};

/// A string member of a JSON object body, if it is one.
std::optional<std::string> json_string(const std::string& body, const char* name) {
    rapidjson::Document parsed;
    // With the length: rapidjson then reads through a bounded stream (its
    // SIMD scanning of NUL-terminated text reads past the string's end).
    parsed.Parse(body.data(), body.size());
    const rapidjson::Value& doc = parsed;  // const iterators: no ambiguous == in C++20
    if (parsed.HasParseError() || !doc.IsObject()) return std::nullopt;
    const auto m = doc.FindMember(name);
    if (m == doc.MemberEnd() || !m->value.IsString()) return std::nullopt;
    return std::string(m->value.GetString(), m->value.GetStringLength());
}

/// The token of an `Authorization: Bearer <token>` header (RFC 6750 2.1;
/// the scheme name is case-insensitive).
std::optional<std::string> bearer_token(const httplib::Request& req) {
    const std::string value = req.get_header_value("Authorization");
    constexpr std::string_view scheme = "bearer ";
    if (value.size() <= scheme.size()) return std::nullopt;
    for (std::size_t i = 0; i < scheme.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(value[i])) != scheme[i]) return std::nullopt;
    return value.substr(scheme.size());
}

void json_reply(httplib::Response& res, int status, const std::string& body) {
    res.status = status;
    res.set_content(body, "application/json");
}

/// 401 as RFC 6750 3 describes it: no error code when no token came, and
/// the reason (`why`, a stable code) only with --error-detail code.
void unauthorized(httplib::Response& res, std::optional<Error> error, bool detail) {
    std::string challenge = "Bearer realm=\"" + std::string(realm) + "\"";
    std::string body = R"({"error":"invalid_token"})";
    if (error) {
        challenge += ", error=\"invalid_token\"";
        if (detail) {
            const std::string code(jwtguard::to_string(*error));
            challenge += ", error_description=\"" + code + "\"";
            body = R"({"error":"invalid_token","error_description":)" + json_quoted(code) + "}";
        }
    }
    res.set_header("WWW-Authenticate", challenge);
    json_reply(res, 401, body);
}

/// Sign with whichever access key the server was started with.
using AccessKey = std::variant<jwtguard::Hs256Key, jwtguard::Rs256PrivateKey>;

class App {
  public:
    explicit App(const Config& config)
        : m_config(config),
          m_users(config.pbkdf2_iterations),
          m_access_key(make_access_key(config)),
          m_refresh_key(config.refresh_secret_file.empty() ? random_bytes(32)
                                                           : read_file(config.refresh_secret_file)),
          m_denylist(denylist_options(config), unix_now()),
          m_access(access_keys(), validator_options(config.access_ttl, "at+jwt", true)),
          m_refresh(refresh_keys(), validator_options(config.refresh_ttl, "refresh+jwt", false)) {
#if JWTGUARD_EXAMPLE_REDIS
        if (config.redis()) {
            jwtguard::RedisSyncOptions o;
            if (!config.redis_host.empty()) {
                o.host = config.redis_host;
                o.port = config.redis_port;
            }
            for (const auto& [host, port] : config.redis_sentinels)
                o.sentinels.push_back({host, port});
            o.master_name = config.redis_master;
            o.min_replicas_acked = config.redis_acks;
            if (const char* password = std::getenv("JWTGUARD_REDIS_SENTINEL_PASSWORD"))
                o.sentinel_password = password;
            if (const char* password = std::getenv("JWTGUARD_REDIS_PASSWORD"))
                o.password = password;
            m_sync = std::make_unique<jwtguard::RedisDenylistSync>(m_denylist, o);
        }
#endif
    }

    /// With --redis: waits until every revocation Redis holds is loaded.
    [[nodiscard]] bool wait_for_redis(std::chrono::seconds limit) {
#if JWTGUARD_EXAMPLE_REDIS
        if (m_sync) return m_sync->wait_ready(limit);
#endif
        (void)limit;
        return true;
    }

    [[nodiscard]] std::size_t revocations() const {
        return m_denylist.size();
    }
    /// Moves the denylist's time forward: expired revocations go away.
    void advance(std::int64_t now) {
        m_denylist.advance(now);
    }

    /// Random revocations, as a busy deployment would hold (load tests).
    void preload_revocations(std::size_t count) {
        const std::int64_t now = unix_now();
        for (std::size_t i = 0; i < count; ++i)
            (void)m_denylist.revoke_jti(
                uuid(), now + static_cast<std::int64_t>(i) % m_config.access_ttl + 1);
    }

    /// Every revocation of a request goes through here: with --redis, to
    /// Redis first (queued if it is away), so that every instance has it.
    jwtguard::RevokeResult revoke(const jwtguard::Revocation& revocation) {
#if JWTGUARD_EXAMPLE_REDIS
        if (m_sync) {
            const jwtguard::SyncedRevocation r = m_sync->revoke(revocation);
            if (!r.shared)
                std::cerr << "warning: revocation queued until Redis is back: " << r.redis_error
                          << "\n";
            return r.local;
        }
#endif
        return m_denylist.apply(revocation);
    }
    /// By its jti, or by its signature if it has none.
    void revoke_token(std::string_view token) {
        jwtguard::Revocation revocation;
        if (jwtguard::Denylist::token_revocation(token, revocation) == Error::ok)
            (void)revoke(revocation);
    }

    void routes(httplib::Server& server) {
        if (m_config.stats)
            server.Get("/stats", [this](const httplib::Request&, httplib::Response& res) {
                json_reply(res, 200,
                           R"({"revocations":)" + std::to_string(revocations()) +
                               R"(,"families":)" + std::to_string(families()) + "}");
            });
        server.Get("/public", [](const httplib::Request&, httplib::Response& res) {
            json_reply(res, 200, R"({"service":"jwtguard-example","auth":"none"})");
        });
        server.Post("/login", [this](const httplib::Request& req, httplib::Response& res) {
            const auto user = json_string(req.body, "username");
            const auto password = json_string(req.body, "password");
            if (!user || !password) return json_reply(res, 400, R"({"error":"invalid_request"})");
            if (!m_users.check(*user, *password))
                return json_reply(res, 401, R"({"error":"invalid_grant"})");
            std::lock_guard session(user_lock(*user));
            reply(res, issue(*user, uuid()));
        });
        server.Get("/me", [this](const httplib::Request& req, httplib::Response& res) {
            // The request path: one validate, no allocation inside it.
            const auto token = bearer_token(req);
            if (!token) return unauthorized(res, std::nullopt, m_config.error_detail);
            thread_local jwtguard::Claims claims;
            if (const Error e = m_access.validate(*token, unix_now(), claims); e != Error::ok)
                return unauthorized(res, e, m_config.error_detail);
            json_reply(res, 200, std::string(claims.payload_json()));
        });
        server.Post("/refresh", [this](const httplib::Request& req, httplib::Response& res) {
            const auto token = json_string(req.body, "refresh_token");
            if (!token) return json_reply(res, 400, R"({"error":"invalid_request"})");
            refresh(*token, res);
        });
        server.Post("/logout", [this](const httplib::Request& req, httplib::Response& res) {
            jwtguard::Claims claims;
            const auto token = authenticate(req, res, claims);
            if (!token) return;
            revoke_token(*token);
            // The refresh token of this session, if the client sends it.
            if (const auto refresh = json_string(req.body, "refresh_token")) {
                jwtguard::Claims r;
                if (m_refresh.validate(*refresh, unix_now(), r) == Error::ok && r.sub == claims.sub)
                    revoke_token(*refresh);
            }
            res.status = 204;
        });
        server.Post("/logout-all", [this](const httplib::Request& req, httplib::Response& res) {
            jwtguard::Claims claims;
            if (!authenticate(req, res, claims)) return;
            if (!claims.sub) return json_reply(res, 400, R"({"error":"invalid_request"})");
            // Every token issued so far, access and refresh alike: past this
            // second and past the tokens dated at the last cut-off (see
            // Denylist::cutoff_after), ordered with logins and refreshes of
            // this user by the user's lock.
            const std::string user(*claims.sub);
            std::lock_guard session(user_lock(user));
            (void)revoke(jwtguard::Denylist::subject_revocation(
                user, m_denylist.cutoff_after(user, unix_now())));
            res.status = 204;
        });
    }

  private:
    static AccessKey make_access_key(const Config& c) {
        if (c.alg == "HS256")
            return jwtguard::Hs256Key(c.secret_file.empty() ? random_bytes(32)
                                                            : read_file(c.secret_file));
        if (!c.key_file.empty()) return jwtguard::Rs256PrivateKey::from_pem(read_file(c.key_file));
        EVP_PKEY* key = EVP_RSA_gen(2048);
        BIO* bio = BIO_new(BIO_s_mem());
        PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
        char* data = nullptr;
        const long size = BIO_get_mem_data(bio, &data);
        std::string pem(data, static_cast<std::size_t>(size));
        BIO_free(bio);
        EVP_PKEY_free(key);
        return jwtguard::Rs256PrivateKey::from_pem(pem);
    }

    jwtguard::KeySet access_keys() const {
        jwtguard::KeySet keys;
        std::visit(
            [&](const auto& k) {
                if constexpr (std::is_same_v<std::decay_t<decltype(k)>, jwtguard::Hs256Key>)
                    keys.add(k, "access-1");
                else
                    keys.add(k.public_key(), "access-1");
            },
            m_access_key);
        return keys;
    }

    jwtguard::KeySet refresh_keys() const {
        jwtguard::KeySet keys;
        keys.add(m_refresh_key, "refresh-1");
        return keys;
    }

    static jwtguard::DenylistOptions denylist_options(const Config& c) {
        jwtguard::DenylistOptions o;
        o.horizon = c.refresh_ttl;
        o.leeway = leeway;
        o.max_token_lifetime = c.refresh_ttl;
        o.journal_path = c.journal;
        return o;
    }

    jwtguard::ValidatorOptions validator_options(std::int64_t ttl, std::string typ,
                                                 bool with_denylist) {
        jwtguard::ValidatorOptions o;
        o.leeway = leeway;
        o.issuers = {std::string(issuer)};
        o.audiences = {std::string(audience)};
        o.typ = std::move(typ);
        o.max_lifetime = ttl;
        o.require_kid = true;
        // The refresh path checks the denylist itself (see refresh()).
        if (with_denylist) o.denylist = &m_denylist;
        return o;
    }

    /// The Bearer token of `req` if it holds (its claims in `claims`);
    /// otherwise answers 401 and returns nullopt.
    std::optional<std::string> authenticate(const httplib::Request& req, httplib::Response& res,
                                            jwtguard::Claims& claims) {
        auto token = bearer_token(req);
        if (!token) {
            unauthorized(res, std::nullopt, m_config.error_detail);
            return std::nullopt;
        }
        if (const Error e = m_access.validate(*token, unix_now(), claims); e != Error::ok) {
            unauthorized(res, e, m_config.error_detail);
            return std::nullopt;
        }
        return token;
    }

    /// What issue() made: the reply's body, or a refusal: an OAuth error,
    /// its HTTP status, the reason (a stable code, shown with --error-detail
    /// code) and a Retry-After in seconds if positive.
    struct Issued {
        std::string body{};
        int status = 200;
        std::string error{};
        std::string why{};
        std::int64_t retry_after = 0;
    };
    static Issued refusal(std::string why, int status = 401, std::string error = "invalid_grant",
                          std::int64_t retry_after = 0) {
        return {{}, status, std::move(error), std::move(why), retry_after};
    }

    void reply(httplib::Response& res, const Issued& issued) {
        if (issued.status == 200) return json_reply(res, 200, issued.body);
        if (issued.retry_after > 0)
            res.set_header("Retry-After", std::to_string(issued.retry_after));
        std::string body = R"({"error":)" + json_quoted(issued.error);
        if (m_config.error_detail) body += R"(,"error_description":)" + json_quoted(issued.why);
        json_reply(res, issued.status, body + "}");
    }

    /// The lock that orders the sessions of one user: issuing a pair (login,
    /// refresh) and cutting them off (log-out-all) happen one at a time, so
    /// that each new pair lies clearly before or after each cut-off.
    std::mutex& user_lock(const std::string& user) {
        return m_user_locks[std::hash<std::string>{}(user) % std::size(m_user_locks)];
    }

    /// A new access + refresh pair for `user` in refresh family `family`, or
    /// why not. The caller holds user_lock(user).
    Issued issue(const std::string& user, const std::string& family) {
        const std::int64_t now = unix_now();
        // Dated at the user's cut-off if that lies ahead (a log-out-all in
        // this very second): whole-second dates cannot tell "before" from
        // "after" within it (Denylist::issue_date_for). Several log-outs-all
        // in one second move the cut-off ahead a second each; a token dated
        // beyond the leeway would be refused (iat_in_future), so the client
        // is asked to come back instead.
        const std::int64_t iat = m_denylist.issue_date_for(user, now);
        if (iat - leeway > now)
            return refusal("cut_off_ahead", 503, "temporarily_unavailable", iat - leeway - now);
        const std::string common = R"({"iss":)" + json_quoted(issuer) + R"(,"sub":)" +
                                   json_quoted(user) + R"(,"aud":)" + json_quoted(audience) +
                                   R"(,"iat":)" + std::to_string(iat);
        const std::string access_jti = uuid(), refresh_jti = uuid();
        const std::int64_t refresh_exp = iat + m_config.refresh_ttl;
        const std::string access = std::visit(
            [&](const auto& key) {
                return jwtguard::sign(key,
                                      common + R"(,"exp":)" +
                                          std::to_string(iat + m_config.access_ttl) + R"(,"jti":)" +
                                          json_quoted(access_jti) + "}",
                                      {.kid = "access-1", .typ = "at+jwt"});
            },
            m_access_key);
        const std::string refresh =
            jwtguard::sign(m_refresh_key,
                           common + R"(,"exp":)" + std::to_string(refresh_exp) + R"(,"jti":)" +
                               json_quoted(refresh_jti) + R"(,"fam":)" + json_quoted(family) + "}",
                           {.kid = "refresh-1", .typ = "refresh+jwt"});
        {
            std::lock_guard lock(m_families_mutex);
            forget_expired_families(now);
            Family& f = m_families[family];
            if (f.ended) return refusal("refresh_token_reused");
            f = {refresh_jti, refresh_exp, false};
            m_family_expiry.push({refresh_exp, family});
        }
        return Issued{.body = R"({"token_type":"Bearer","access_token":)" + json_quoted(access) +
                              R"(,"expires_in":)" + std::to_string(m_config.access_ttl) +
                              R"(,"refresh_token":)" + json_quoted(refresh) + "}"};
    }

    /// Drops the families whose newest refresh token has expired (with
    /// leeway): none of their tokens can be presented any more, so reuse
    /// detection needs them no longer, and memory stays proportional to the
    /// live sessions. Holds m_families_mutex.
    void forget_expired_families(std::int64_t now) {
        while (!m_family_expiry.empty() && m_family_expiry.top().first + leeway < now) {
            const auto [exp, family] = m_family_expiry.top();
            m_family_expiry.pop();
            // A rotation pushed a later expiry for the same family: not yet.
            const auto f = m_families.find(family);
            if (f != m_families.end() && f->second.exp == exp) m_families.erase(f);
        }
    }

    /// Live refresh families (for /stats).
    [[nodiscard]] std::size_t families() {
        std::lock_guard lock(m_families_mutex);
        forget_expired_families(unix_now());
        return m_families.size();
    }

    /// Refresh token rotation with reuse detection.
    void refresh(const std::string& token, httplib::Response& res) {
        const std::int64_t now = unix_now();
        jwtguard::Claims claims;
        if (const Error e = m_refresh.validate(token, now, claims); e != Error::ok)
            return reply(res, refusal(std::string(jwtguard::to_string(e))));
        // Signature and claims hold: these claims are the issuer's. Now the
        // revocations, checked here so that a revoked token is told apart.
        // Ours always carry these; check() below then needs no signature.
        const auto family = json_string(std::string(claims.payload_json()), "fam");
        if (!family || !claims.jti || !claims.sub) return reply(res, refusal("claims_missing"));
        const std::string user(*claims.sub);
        // From the check to the new pair, no log-out-all of this user may
        // come between: it would cut off the old pair but not the new one.
        std::lock_guard session(user_lock(user));
        const Error verdict = m_denylist.check(claims, {});
        if (verdict == Error::subject_revoked)
            return reply(res, refusal(std::string(jwtguard::to_string(verdict))));
#if JWTGUARD_EXAMPLE_REDIS
        // A farm: two instances may be given this token at the same moment,
        // before either learns of the other's revocation. Redis decides
        // which one rotates it; the others treat it as reuse. When Redis
        // cannot decide, the refresh fails closed: 503, try again later
        // (the access token keeps working until it expires).
        if (m_sync && verdict != Error::revoked) {
            std::string why;
            const std::int64_t until = claims.exp.value_or(now + m_config.refresh_ttl);
            switch (m_sync->claim_once("refresh:" + std::string(*claims.jti), until, &why)) {
                case jwtguard::RedisDenylistSync::Claim::won:
                    break;
                case jwtguard::RedisDenylistSync::Claim::lost:
                    end_family(*family, user, now);
                    return reply(res, refusal("refresh_token_reused"));
                case jwtguard::RedisDenylistSync::Claim::unavailable:
                    std::cerr << "refresh refused: Redis could not decide: " << why << "\n";
                    return reply(res,
                                 refusal("redis_unavailable", 503, "temporarily_unavailable", 1));
            }
        }
#endif
        // Rotate: revoke the presented token. Only one caller can add that
        // revocation, so two concurrent uses of one token cannot both win.
        if (verdict == Error::revoked ||
            revoke(jwtguard::Denylist::jti_revocation(*claims.jti, claims.exp)) !=
                jwtguard::RevokeResult::added) {
            end_family(*family, user, now);
            return reply(res, refusal("refresh_token_reused"));
        }
        reply(res, issue(user, *family));
    }

    /// A rotated-away refresh token came back: someone holds a copy. End its
    /// family by revoking the family's current token; a family unknown here
    /// (the server restarted) costs the user all sessions instead. The
    /// caller holds user_lock(user).
    void end_family(const std::string& family, const std::string& user, std::int64_t now) {
        std::lock_guard lock(m_families_mutex);
        const auto f = m_families.find(family);
        if (f == m_families.end()) {
            (void)revoke(
                jwtguard::Denylist::subject_revocation(user, m_denylist.cutoff_after(user, now)));
            return;
        }
        (void)revoke(jwtguard::Denylist::jti_revocation(f->second.jti, f->second.exp));
        f->second.ended = true;
    }

    static constexpr std::int64_t leeway = 5;

    struct Family {
        std::string jti;  // its current refresh token
        std::int64_t exp = 0;
        bool ended = false;
    };

    const Config& m_config;
    Users m_users;
    AccessKey m_access_key;
    jwtguard::Hs256Key m_refresh_key;
    jwtguard::Denylist m_denylist;
#if JWTGUARD_EXAMPLE_REDIS
    std::unique_ptr<jwtguard::RedisDenylistSync> m_sync;  // before m_denylist goes
#endif
    jwtguard::Validator m_access;
    jwtguard::Validator m_refresh;
    std::mutex m_user_locks[64];
    std::mutex m_families_mutex;
    std::map<std::string, Family> m_families;
    // (newest refresh exp, family), soonest first: what to forget when.
    std::priority_queue<std::pair<std::int64_t, std::string>,
                        std::vector<std::pair<std::int64_t, std::string>>, std::greater<>>
        m_family_expiry;
};

}  // namespace

int main(int argc, char** argv) {
    const Config config = parse_args(argc, argv);

    // SIGINT/SIGTERM are taken by one thread (below), not by handlers.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

    std::unique_ptr<App> app;
    try {
        app = std::make_unique<App>(config);
        app->preload_revocations(config.revoked);
        // Ready only with every revocation the farm knows.
        if (!app->wait_for_redis(std::chrono::seconds(30))) {
            std::cerr << "error: Redis at " << config.redis_host << ":" << config.redis_port
                      << " did not answer within 30 s\n";
            return 1;
        }
    } catch (const std::exception& e) {
        std::cerr << "error: " << e.what() << "\n";
        return 1;
    }

    httplib::Server server;
    server.set_keep_alive_max_count(1'000'000);  // clients reuse their connections
    // Without it, Nagle's algorithm and delayed ACKs hold small replies ~40 ms.
    server.set_tcp_nodelay(true);
    app->routes(server);
    const int port = config.port == 0
                         ? server.bind_to_any_port(config.host)
                         : (server.bind_to_port(config.host, config.port) ? config.port : -1);
    if (port < 0) {
        std::cerr << "error: cannot listen on " << config.host << ":" << config.port << "\n";
        return 1;
    }

    std::mutex mutex;
    std::condition_variable stopped;
    bool stopping = false;
    std::atomic<bool> signalled{false}, listening_over{false};
    std::thread signals([&] {
        int signal = 0;
        sigwait(&stop_signals, &signal);
        signalled = true;
        // stop() does nothing until listen_after_bind() runs: a signal that
        // came right after the "listening" line would be lost.
        while (!server.is_running() && !listening_over)
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        server.stop();
    });
    std::thread maintenance([&] {
        std::unique_lock lock(mutex);
        while (!stopped.wait_for(lock, std::chrono::seconds(10), [&] { return stopping; }))
            app->advance(unix_now());
    });

    std::cout << "jwtguard example server: " << config.alg << " access tokens, "
              << app->revocations() << " revocations loaded, listening on http://" << config.host
              << ":" << port << std::endl;
    const bool ok = server.listen_after_bind();
    listening_over = true;
    {
        std::lock_guard lock(mutex);
        stopping = true;
    }
    stopped.notify_all();
    maintenance.join();
    if (!signalled) pthread_kill(signals.native_handle(), SIGTERM);  // ends its sigwait
    signals.join();
    return ok ? 0 : 1;
}
