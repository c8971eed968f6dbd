// The C++ side of the nginx module: everything that touches jwtguard, behind
// the C functions of jwtguard_nginx.h. Exceptions never cross the boundary.
#include "jwtguard_nginx.h"

#include <jwtguard/jwtguard.hpp>
#ifdef JWTGUARD_NGINX_WITH_REDIS
#include <jwtguard/redis.hpp>
#endif

#include <rapidjson/reader.h>
#include <sys/stat.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

using namespace jwtguard;

namespace {

void set_error(char* err, std::string_view what) {
    const std::size_t n = std::min(what.size(), std::size_t{JWTGUARD_NGX_ERRLEN - 1});
    std::memcpy(err, what.data(), n);
    err[n] = '\0';
}

std::string to_string(jwtguard_ngx_str s) {
    return s.data == nullptr ? std::string() : std::string(s.data, s.len);
}

#ifdef JWTGUARD_NGINX_WITH_REDIS
/// The Sentinels of `sentinels=host:port,host:port`; throws naming the
/// entry that is not host:port.
std::vector<RedisAddress> sentinel_addresses(const std::string& list) {
    std::vector<RedisAddress> out;
    if (list.empty()) return out;
    for (std::size_t from = 0; from <= list.size();) {
        const std::size_t comma = std::min(list.find(',', from), list.size());
        const std::string entry = list.substr(from, comma - from);
        const std::size_t colon = entry.rfind(':');
        int port = 0;
        const char* digits = entry.data() + colon + 1;
        const char* end = entry.data() + entry.size();
        const bool ok = colon != std::string::npos && colon > 0 && digits != end &&
                        std::from_chars(digits, end, port).ptr == end && port >= 1 && port <= 65535;
        if (!ok)
            throw std::runtime_error("sentinels=: \"" + entry +
                                     "\" is not host:port (port in [1, 65535])");
        out.push_back({entry.substr(0, colon), port});
        from = comma + 1;
    }
    return out;
}
#endif

/// What identifies a file's content for "has it changed": inode, size,
/// modification and change times.
struct FileState {
    ino_t inode = 0;
    off_t size = -1;
    timespec modified{};
    timespec changed{};
    [[nodiscard]] bool same_as(const FileState& o) const noexcept {
        return inode == o.inode && size == o.size && modified.tv_sec == o.modified.tv_sec &&
               modified.tv_nsec == o.modified.tv_nsec && changed.tv_sec == o.changed.tv_sec &&
               changed.tv_nsec == o.changed.tv_nsec;
    }
};

FileState state_of(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return {};
    return {st.st_ino, st.st_size, st.st_mtim, st.st_ctim};
}

std::string read_whole(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error(std::string("cannot read it: ") + std::strerror(errno));
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

#ifdef JWTGUARD_NGINX_WITH_REDIS
/// The password in `path` (one trailing newline dropped; empty path: none).
/// Throws naming the argument when it cannot be read or is empty.
std::string password_from(const std::string& path, const char* argument) {
    if (path.empty()) return {};
    std::string password;
    try {
        password = read_whole(path);
    } catch (const std::exception& e) {
        throw std::runtime_error(std::string(argument) + " " + path + ": " + e.what());
    }
    if (!password.empty() && password.back() == '\n') password.pop_back();
    if (!password.empty() && password.back() == '\r') password.pop_back();
    if (password.empty())
        throw std::runtime_error(std::string(argument) + " " + path + " is empty");
    return password;
}
#endif

/// A key file: a PEM public key (RSA as RS256, EC as its ES*, Ed25519 as
/// EdDSA; load_pem_public_key) or a JWKS. Throws
/// with the reason when it holds no usable key; `refused` receives the
/// reasons of the JWKs a JWKS refused.
KeySet load_key_file(const std::string& path, std::vector<std::string>* refused = nullptr) {
    const std::string text = read_whole(path);
    const std::size_t start = text.find_first_not_of(" \t\r\n");
    if (start != std::string::npos && text.compare(start, 10, "-----BEGIN") == 0)
        return KeySet(load_pem_public_key(text));
    JwksLoad load = load_jwks(text);
    std::string reasons;
    for (const JwkRejection& r : load.rejected) {
        std::string line = "key " + std::to_string(r.index);
        if (r.kid) line += " (kid \"" + *r.kid + "\")";
        line += ": " + r.reason;
        if (refused != nullptr) refused->push_back(line);
        reasons += (reasons.empty() ? "" : "; ") + line;
    }
    if (load.keys.empty())
        throw std::runtime_error("no usable key in the JWKS" +
                                 (reasons.empty() ? std::string() : ": " + reasons));
    return std::move(load.keys);
}

}  // namespace

struct jwtguard_ngx_revocations {
    std::string journal;
    std::string redis_host;
    int redis_port = 0;
    std::string redis_prefix;
    std::string redis_sentinels;
    std::string redis_master;
    int redis_acks = 0;
    std::string redis_user;
    std::string redis_password_file;
    std::string redis_sentinel_password_file;
    // Read once, at configuration, by the master (the workers may not be
    // allowed to read the files).
    std::string redis_password;
    std::string redis_sentinel_password;
    /// The largest leeway of the validators that use it (the Denylist's
    /// leeway must be at least theirs).
    std::int64_t leeway = 0;
    // Each worker's:
    std::unique_ptr<Denylist> denylist;
#ifdef JWTGUARD_NGINX_WITH_REDIS
    std::unique_ptr<RedisDenylistSync> redis;
#endif
    std::int64_t advanced_at = 0;
    bool journal_failing = false;

    [[nodiscard]] bool same(const jwtguard_ngx_revocation_config& c) const {
        return journal == to_string(c.journal) && redis_host == to_string(c.redis_host) &&
               redis_port == c.redis_port && redis_prefix == to_string(c.redis_prefix) &&
               redis_sentinels == to_string(c.redis_sentinels) &&
               redis_master == to_string(c.redis_master) && redis_acks == c.redis_acks &&
               redis_user == to_string(c.redis_user) &&
               redis_password_file == to_string(c.redis_password_file) &&
               redis_sentinel_password_file == to_string(c.redis_sentinel_password_file);
    }
    [[nodiscard]] bool mirrored() const {
        return !redis_host.empty() || !redis_sentinels.empty();
    }
};

struct jwtguard_ngx_auth {
    jwtguard_ngx_registry* registry = nullptr;
    std::vector<std::string> key_files;
    ValidatorOptions options;
    jwtguard_ngx_revocations* revocations = nullptr;
    std::int64_t key_check_ms = 1000;
    std::int64_t unknown_kid_cooldown_ms = 1000;
    KeySet keys;  // as loaded at configuration
    // Each worker's:
    std::unique_ptr<Validator> validator;
    std::vector<FileState> file_states;
    std::int64_t next_key_check_ms = 0;
    std::int64_t kid_reload_at_ms = 0;  // last reload asked for by an unknown kid
    bool kid_reload_wanted = false;
};

struct jwtguard_ngx_registry {
    std::map<std::string, KeySet> key_files;
    std::vector<std::unique_ptr<jwtguard_ngx_revocations>> revocations;
    std::vector<std::unique_ptr<jwtguard_ngx_auth>> auths;
    std::int64_t now_ms = 0;
    bool wants_tick = false;
    // Messages from other threads (the Redis mirrors'), logged by a tick.
    std::mutex messages_mutex;
    std::vector<std::pair<int, std::string>> messages;
};

extern "C" {

jwtguard_ngx_registry* jwtguard_ngx_registry_create(void) {
    try {
        return new jwtguard_ngx_registry;
    } catch (...) {
        return nullptr;
    }
}

void jwtguard_ngx_registry_destroy(jwtguard_ngx_registry* registry) {
    if (registry == nullptr) return;
    jwtguard_ngx_worker_stop(registry);
    delete registry;
}

int jwtguard_ngx_key_file(jwtguard_ngx_registry* registry, jwtguard_ngx_str path, char* err) {
    try {
        const std::string p = to_string(path);
        if (registry->key_files.count(p) == 0) registry->key_files.emplace(p, load_key_file(p));
        return 0;
    } catch (const std::exception& e) {
        set_error(err, e.what());
        return -1;
    }
}

jwtguard_ngx_revocations* jwtguard_ngx_revocations_get(jwtguard_ngx_registry* registry,
                                                       const jwtguard_ngx_revocation_config* config,
                                                       char* err) {
    try {
        for (const auto& r : registry->revocations)
            if (r->same(*config)) return r.get();
        auto r = std::make_unique<jwtguard_ngx_revocations>();
        r->journal = to_string(config->journal);
        r->redis_host = to_string(config->redis_host);
        r->redis_port = config->redis_port;
        r->redis_prefix = to_string(config->redis_prefix);
        r->redis_sentinels = to_string(config->redis_sentinels);
        r->redis_master = to_string(config->redis_master);
        r->redis_acks = config->redis_acks;
#ifndef JWTGUARD_NGINX_WITH_REDIS
        if (r->mirrored()) {
            set_error(err, "this module was built without hiredis (Debian: libhiredis-dev)");
            return nullptr;
        }
#else
        (void)sentinel_addresses(r->redis_sentinels);  // refused here, at configuration
        r->redis_user = to_string(config->redis_user);
        r->redis_password_file = to_string(config->redis_password_file);
        r->redis_sentinel_password_file = to_string(config->redis_sentinel_password_file);
        r->redis_password = password_from(r->redis_password_file, "password_file=");
        r->redis_sentinel_password =
            password_from(r->redis_sentinel_password_file, "sentinel_password_file=");
#endif
        if (!r->journal.empty()) {
            // The workers open (or create) it; here, that it can be and is a journal.
            const std::size_t slash = r->journal.rfind('/');
            const std::string dir =
                slash == std::string::npos ? "." : r->journal.substr(0, slash + 1);
            struct stat st {};
            if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
                set_error(err, "no directory " + dir + " for the journal");
                return nullptr;
            }
            if (const auto image = detail::read_file(r->journal)) {
                const std::size_t n = std::min(image->size(), detail::magic_size);
                if (n > 0 && std::memcmp(image->data(), detail::journal_magic, n) != 0) {
                    set_error(err, r->journal + " is not a jwtguard journal");
                    return nullptr;
                }
            }
        }
        registry->revocations.push_back(std::move(r));
        return registry->revocations.back().get();
    } catch (const std::exception& e) {
        set_error(err, e.what());
        return nullptr;
    }
}

jwtguard_ngx_auth* jwtguard_ngx_auth_create(jwtguard_ngx_registry* registry,
                                            const jwtguard_ngx_auth_config* config, char* err) {
    try {
        auto auth = std::make_unique<jwtguard_ngx_auth>();
        auth->registry = registry;
        if (config->key_file_count == 0) {
            set_error(err, "no auth_jwt_key_file for this auth_jwt");
            return nullptr;
        }
        for (std::size_t i = 0; i < config->key_file_count; ++i) {
            const std::string path = to_string(config->key_files[i]);
            const auto found = registry->key_files.find(path);
            if (found == registry->key_files.end()) {
                set_error(err, "key file " + path + " was not loaded");
                return nullptr;
            }
            auth->key_files.push_back(path);
            auth->keys.merge(found->second);
        }
        for (std::size_t i = 0; i < config->issuer_count; ++i)
            auth->options.issuers.push_back(to_string(config->issuers[i]));
        for (std::size_t i = 0; i < config->audience_count; ++i)
            auth->options.audiences.push_back(to_string(config->audiences[i]));
        auth->options.leeway = config->leeway;
        auth->options.max_lifetime = config->max_lifetime;
        auth->options.token_cache.entries = config->cache_entries;
        auth->key_check_ms = config->key_check_ms;
        auth->unknown_kid_cooldown_ms = config->unknown_kid_cooldown_ms;
        auth->revocations = config->revocations;
        // Every check a Validator makes of its options, now (nginx -t).
        {
            ValidatorOptions probe = auth->options;
            probe.token_cache = {};
            (void)Validator(auth->keys, probe);
        }
        if (auth->revocations != nullptr)
            auth->revocations->leeway = std::max(auth->revocations->leeway, config->leeway);
        registry->auths.push_back(std::move(auth));
        return registry->auths.back().get();
    } catch (const std::exception& e) {
        set_error(err, e.what());
        return nullptr;
    }
}

int jwtguard_ngx_worker_start(jwtguard_ngx_registry* registry, int worker, char* err) {
    try {
        const std::int64_t now = static_cast<std::int64_t>(std::time(nullptr));
        for (const auto& r : registry->revocations) {
            DenylistOptions options;
            options.leeway = r->leeway;
            options.journal_path = r->journal;
            // Each revocation is in the journal before its answer; a crash of
            // the machine may lose the last ones (fdatasync per record
            // would bound the endpoint's rate by the disk's).
            options.journal_sync = JournalSync::none;
            r->denylist = std::make_unique<Denylist>(options, now);
            r->advanced_at = now;
#ifdef JWTGUARD_NGINX_WITH_REDIS
            if (r->mirrored()) {
                RedisSyncOptions redis;
                if (!r->redis_host.empty()) {
                    redis.host = r->redis_host;
                    redis.port = r->redis_port;
                }
                redis.sentinels = sentinel_addresses(r->redis_sentinels);
                redis.master_name = r->redis_master;
                redis.min_replicas_acked = r->redis_acks;
                redis.user = r->redis_user;
                redis.password = r->redis_password;
                redis.sentinel_password = r->redis_sentinel_password;
                if (!r->redis_prefix.empty()) redis.key_prefix = r->redis_prefix;
                redis.instance_id = "nginx-worker-" + std::to_string(worker);
                // One outbox per worker: they must not share a file.
                if (!r->journal.empty())
                    redis.outbox_path = r->journal + ".redis-outbox." + std::to_string(worker);
                jwtguard_ngx_registry* reg = registry;
                redis.warn = [reg](std::string_view message) {
                    std::lock_guard lock(reg->messages_mutex);
                    reg->messages.emplace_back(JWTGUARD_NGX_LOG_WARN,
                                               "jwtguard redis: " + std::string(message));
                };
                r->redis = std::make_unique<RedisDenylistSync>(*r->denylist, redis);
            }
#else
            (void)worker;
#endif
        }
        for (const auto& a : registry->auths) {
            ValidatorOptions options = a->options;
            if (a->revocations != nullptr) options.denylist = a->revocations->denylist.get();
            a->validator = std::make_unique<Validator>(a->keys, options);
            a->file_states.clear();
            for (const std::string& path : a->key_files)
                a->file_states.push_back(state_of(path));
        }
        return 0;
    } catch (const std::exception& e) {
        set_error(err, e.what());
        return -1;
    }
}

void jwtguard_ngx_worker_stop(jwtguard_ngx_registry* registry) {
    for (const auto& a : registry->auths)
        a->validator.reset();
    for (const auto& r : registry->revocations) {
#ifdef JWTGUARD_NGINX_WITH_REDIS
        r->redis.reset();
#endif
        r->denylist.reset();
    }
}

namespace {

void log_message(jwtguard_ngx_log_fn log, void* ctx, int level, const std::string& message) {
    log(ctx, level, message.data(), message.size());
}

/// Reloads an auth's key files; keeps the keys in use if any file fails.
void reload_keys(jwtguard_ngx_auth& auth, jwtguard_ngx_log_fn log, void* ctx, const char* why) {
    std::vector<FileState> states;
    for (const std::string& path : auth.key_files)
        states.push_back(state_of(path));
    try {
        KeySet keys;
        for (const std::string& path : auth.key_files) {
            std::vector<std::string> refused;
            try {
                keys.merge(load_key_file(path, &refused));
            } catch (const std::exception& e) {
                throw std::runtime_error("auth_jwt_key_file " + path + ": " + e.what());
            }
            for (const std::string& r : refused)
                log_message(log, ctx, JWTGUARD_NGX_LOG_WARN,
                            "jwtguard: auth_jwt_key_file " + path + ": refused " + r);
        }
        auth.validator->replace_keys(std::move(keys));
        log_message(log, ctx, JWTGUARD_NGX_LOG_NOTICE,
                    std::string("jwtguard: keys reloaded (") + why + ")");
    } catch (const std::exception& e) {
        log_message(log, ctx, JWTGUARD_NGX_LOG_ERR,
                    std::string(e.what()) + "; the keys in use are kept");
    }
    auth.file_states = std::move(states);
}

}  // namespace

void jwtguard_ngx_worker_tick(jwtguard_ngx_registry* registry, int64_t now_ms,
                              jwtguard_ngx_log_fn log, void* ctx) {
    registry->now_ms = now_ms;
    registry->wants_tick = false;
    const std::int64_t now = now_ms / 1000;
    for (const auto& r : registry->revocations) {
        if (!r->denylist) continue;
        if (!r->journal.empty()) {
            try {
                (void)r->denylist->catch_up();
                if (r->journal_failing)
                    log_message(log, ctx, JWTGUARD_NGX_LOG_NOTICE,
                                "jwtguard: journal " + r->journal + " readable again");
                r->journal_failing = false;
            } catch (const std::exception& e) {
                // Said once until it recovers, not every few milliseconds.
                if (!r->journal_failing)
                    log_message(log, ctx, JWTGUARD_NGX_LOG_ERR,
                                "jwtguard: journal " + r->journal + ": " + e.what());
                r->journal_failing = true;
            }
        }
        if (now > r->advanced_at) {
            try {
                r->denylist->advance(now);
            } catch (const std::exception& e) {
                log_message(log, ctx, JWTGUARD_NGX_LOG_ERR, std::string("jwtguard: ") + e.what());
            }
            r->advanced_at = now;
        }
    }
    for (const auto& a : registry->auths) {
        if (!a->validator) continue;
        if (a->kid_reload_wanted) {
            a->kid_reload_wanted = false;
            a->kid_reload_at_ms = now_ms;
            a->next_key_check_ms = now_ms + a->key_check_ms;
            reload_keys(*a, log, ctx, "a token named an unknown kid");
            continue;
        }
        if (now_ms < a->next_key_check_ms) continue;
        a->next_key_check_ms = now_ms + a->key_check_ms;
        for (std::size_t i = 0; i < a->key_files.size(); ++i) {
            if (!state_of(a->key_files[i]).same_as(a->file_states[i])) {
                reload_keys(*a, log, ctx, "a key file changed");
                break;
            }
        }
    }
    std::vector<std::pair<int, std::string>> messages;
    {
        std::lock_guard lock(registry->messages_mutex);
        messages.swap(registry->messages);
    }
    for (const auto& [level, message] : messages)
        log_message(log, ctx, level, message);
}

int jwtguard_ngx_worker_wants_tick(jwtguard_ngx_registry* registry) {
    return registry->wants_tick ? 1 : 0;
}

const char* jwtguard_ngx_validate(jwtguard_ngx_auth* auth, const char* token, size_t len,
                                  int64_t now) {
    // One worker thread: one Claims (about 12 KiB) serves every request.
    static Claims claims;
    const Error e = auth->validator->validate(std::string_view(token, len), now, claims);
    if (e == Error::ok) return nullptr;
    if (e == Error::kid_unknown && !auth->kid_reload_wanted &&
        auth->registry->now_ms >= auth->kid_reload_at_ms + auth->unknown_kid_cooldown_ms) {
        auth->kid_reload_wanted = true;
        auth->registry->wants_tick = true;
    }
    return to_string(e).data();  // error_names are NUL-terminated literals
}

}  // extern "C"

namespace {

/// Finds one member of a JSON object's top level and keeps what nginx's
/// variables show of it (see jwtguard_ngx_token_member).
class MemberFinder : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, MemberFinder> {
  public:
    explicit MemberFinder(std::string_view name) : m_name(name), m_writer(m_buffer) {}

    bool found() const noexcept { return m_state == State::done; }
    std::string text() const {
        if (m_top == Top::string) return m_string;
        if (m_top == Top::array && m_all_strings) {
            std::string joined;
            for (std::size_t i = 0; i < m_strings.size(); ++i)
                joined += (i > 0 ? "," : "") + m_strings[i];
            return joined;
        }
        return std::string(m_buffer.GetString(), m_buffer.GetSize());
    }

    bool Null() {
        return value(Top::other, [&] { return m_writer.Null(); });
    }
    bool Bool(bool b) {
        return value(Top::other, [&] { return m_writer.Bool(b); });
    }
    bool RawNumber(const char* s, rapidjson::SizeType n, bool) {
        return value(Top::other, [&] { return m_writer.RawNumber(s, n, false); });
    }
    bool String(const char* s, rapidjson::SizeType n, bool) {
        if (m_state == State::value && m_depth == 1) {
            m_top = Top::string;
            m_string.assign(s, n);
            m_state = State::done;
            return true;
        }
        if (m_state == State::value && m_depth == 2 && m_top == Top::array) {
            m_strings.emplace_back(s, n);
            return m_writer.String(s, n);
        }
        return value(Top::other, [&] { return m_writer.String(s, n); });
    }
    bool Key(const char* s, rapidjson::SizeType n, bool) {
        if (m_state == State::looking && m_depth == 1 && std::string_view(s, n) == m_name) {
            m_state = State::value;
            return true;
        }
        if (m_state == State::value) return m_writer.Key(s, n);
        return true;
    }
    bool StartObject() {
        start(Top::object);
        ++m_depth;
        return m_state != State::value || m_writer.StartObject();
    }
    bool EndObject(rapidjson::SizeType) {
        --m_depth;
        return end([&] { return m_writer.EndObject(); });
    }
    bool StartArray() {
        start(Top::array);
        ++m_depth;
        return m_state != State::value || m_writer.StartArray();
    }
    bool EndArray(rapidjson::SizeType) {
        --m_depth;
        return end([&] { return m_writer.EndArray(); });
    }

  private:
    enum class State { looking, value, done };
    enum class Top { none, string, array, object, other };

    void start(Top top) {
        if (m_state != State::value) return;
        if (m_depth == 1) m_top = top;
        if (m_depth == 2 && m_top == Top::array) m_all_strings = false;
    }
    template <class F>
    bool value(Top top, F&& write) {
        if (m_state != State::value) return true;
        if (m_depth == 1) {
            m_top = top;
            m_state = State::done;
        } else if (m_depth == 2 && m_top == Top::array) {
            m_all_strings = false;
        }
        return write();
    }
    template <class F>
    bool end(F&& write) {
        if (m_state != State::value) return true;
        const bool ok = write();
        if (m_depth == 1) m_state = State::done;
        return ok;
    }

    std::string_view m_name;
    State m_state = State::looking;
    Top m_top = Top::none;
    int m_depth = 0;
    rapidjson::StringBuffer m_buffer;
    detail::CompactWriter m_writer;
    std::string m_string;
    std::vector<std::string> m_strings;
    bool m_all_strings = true;
};

/// The decoded header (0) or payload (1) of a token.
bool decode_part(std::string_view token, int part, std::string& out) {
    detail::Segments parts;
    if (!detail::split_token(token, parts)) return false;
    const std::string_view segment = part == 0 ? parts.header : parts.payload;
    out.resize(base64url_decoded_size(segment.size()) + 1);
    std::size_t size = 0;
    if (base64url_decode(segment, reinterpret_cast<unsigned char*>(out.data()), size) !=
        Base64Status::ok)
        return false;
    out.resize(size);
    return true;
}

int copy_out(const std::string& text, jwtguard_ngx_alloc_fn alloc, void* ctx,
             jwtguard_ngx_str* out) {
    char* p = static_cast<char*>(alloc(ctx, text.size() + 1));
    if (p == nullptr) return -1;
    std::memcpy(p, text.data(), text.size());
    p[text.size()] = '\0';
    *out = {p, text.size()};
    return 1;
}

}  // namespace

extern "C" int jwtguard_ngx_token_member(const char* token, size_t len, int part, const char* name,
                                         size_t name_len, jwtguard_ngx_alloc_fn alloc,
                                         void* alloc_ctx, jwtguard_ngx_str* out) {
    try {
        std::string json;
        if (!decode_part(std::string_view(token, len), part, json)) return -1;
        if (name == nullptr) return copy_out(json, alloc, alloc_ctx, out);
        MemberFinder finder(std::string_view(name, name_len));
        rapidjson::Reader reader;
        rapidjson::MemoryStream stream(json.data(), json.size());
        reader.Parse<rapidjson::kParseNumbersAsStringsFlag>(stream, finder);
        if (!finder.found()) return 0;
        return copy_out(finder.text(), alloc, alloc_ctx, out);
    } catch (...) {
        return -1;
    }
}

namespace {

/// A flat JSON object's members, for the revoke endpoint's bodies.
class FlatObject : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, FlatObject> {
  public:
    struct Member {
        bool is_string;
        std::string value;  // the string, or the number's text
    };
    std::map<std::string, Member> members;
    std::string error;

    bool StartObject() {
        if (m_depth++ == 0) return true;
        return fail("values must be strings or numbers");
    }
    bool EndObject(rapidjson::SizeType) { return --m_depth == 0 || fail("nested object"); }
    bool Key(const char* s, rapidjson::SizeType n, bool) {
        m_key.assign(s, n);
        if (members.count(m_key) != 0) return fail("the member \"" + m_key + "\" appears twice");
        return true;
    }
    bool String(const char* s, rapidjson::SizeType n, bool) { return add(true, std::string(s, n)); }
    bool RawNumber(const char* s, rapidjson::SizeType n, bool) {
        return add(false, std::string(s, n));
    }
    bool Null() { return fail("values must be strings or numbers"); }
    bool Bool(bool) { return fail("values must be strings or numbers"); }
    bool StartArray() { return fail("values must be strings or numbers"); }
    bool EndArray(rapidjson::SizeType) { return false; }

  private:
    bool add(bool is_string, std::string value) {
        if (m_depth != 1) return fail("the body must be a JSON object");
        members.emplace(m_key, Member{is_string, std::move(value)});
        return true;
    }
    bool fail(std::string why) {
        if (error.empty()) error = std::move(why);
        return false;
    }
    int m_depth = 0;
    std::string m_key;
};

std::string json_string(std::string_view s) {
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
    writer.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
    return std::string(buffer.GetString(), buffer.GetSize());
}

int answer_with(char* answer, int status, const std::string& json) {
    set_error(answer, json);
    return status;
}

int bad_request(char* answer, const std::string& why) {
    return answer_with(answer, 400, R"({"error":)" + json_string(why) + "}");
}

}  // namespace

extern "C" int jwtguard_ngx_revoke(jwtguard_ngx_revocations* revocations, const char* body,
                                   size_t len, char* answer) {
    try {
        if (!revocations->denylist) return answer_with(answer, 503, R"({"error":"not ready"})");
        const std::string text(body, len);
        if (detail::json_text_fault(text.data(), text.size()) != detail::JsonFault::none)
            return bad_request(answer, "the body is not UTF-8 JSON text");
        FlatObject object;
        rapidjson::Reader reader;
        rapidjson::StringStream stream(text.c_str());
        constexpr unsigned flags = rapidjson::kParseNumbersAsStringsFlag |
                                   rapidjson::kParseValidateEncodingFlag |
                                   rapidjson::kParseStopWhenDoneFlag;
        if (reader.Parse<flags>(stream, object).IsError()) {
            if (!object.error.empty()) return bad_request(answer, object.error);
            return bad_request(answer, "the body is not a JSON object");
        }
        // Only whitespace may follow the object.
        const std::string_view rest(text.c_str() + stream.Tell(), text.size() - stream.Tell());
        if (rest.find_first_not_of(" \t\r\n") != std::string_view::npos)
            return bad_request(answer, "text after the JSON object");
        const auto& m = object.members;
        auto string_member = [&](const char* name) -> const std::string* {
            const auto it = m.find(name);
            return it != m.end() && it->second.is_string ? &it->second.value : nullptr;
        };
        auto number_member = [&](const char* name) -> const std::string* {
            const auto it = m.find(name);
            return it != m.end() && !it->second.is_string ? &it->second.value : nullptr;
        };
        Revocation revocation;
        if (m.size() == 1 && m.count("token") == 1) {
            const std::string* token = string_member("token");
            if (token == nullptr) return bad_request(answer, "\"token\" must be a string");
            if (const Error e = Denylist::token_revocation(*token, revocation); e != Error::ok)
                return bad_request(answer, "the token: " + std::string(to_string(e)));
        } else if (m.size() == 2 && m.count("jti") == 1 && m.count("exp") == 1) {
            const std::string* jti = string_member("jti");
            const std::string* exp = number_member("exp");
            if (jti == nullptr) return bad_request(answer, "\"jti\" must be a string");
            std::int64_t e = 0;
            if (exp == nullptr || !detail::parse_numeric_date(*exp, e))
                return bad_request(answer, "\"exp\" must be a number in [0, 2^53]");
            revocation = Denylist::jti_revocation(*jti, e);
        } else if (m.size() == 2 && m.count("sub") == 1 && m.count("before") == 1) {
            const std::string* sub = string_member("sub");
            const std::string* before = number_member("before");
            if (sub == nullptr) return bad_request(answer, "\"sub\" must be a string");
            std::int64_t b = 0;
            if (before == nullptr || before->find_first_not_of("0123456789") != std::string::npos ||
                !detail::parse_numeric_date(*before, b))
                return bad_request(answer, "\"before\" must be an integer in [0, 2^53]");
            revocation = Denylist::subject_revocation(*sub, b);
        } else {
            return bad_request(answer,
                               "the body must be {\"token\": ...}, {\"jti\": ..., \"exp\": ...} "
                               "or {\"sub\": ..., \"before\": ...}");
        }
        RevokeResult result{};
#ifdef JWTGUARD_NGINX_WITH_REDIS
        if (revocations->redis)
            result = revocations->redis->revoke(revocation).local;
        else
#endif
            result = revocations->denylist->apply(revocation);
        constexpr const char* names[] = {"added", "already_revoked", "already_expired"};
        return answer_with(answer, 200,
                           std::string(R"({"result":")") + names[static_cast<int>(result)] + "\"}");
    } catch (const std::exception& e) {
        return answer_with(answer, 500, R"({"error":)" + json_string(e.what()) + "}");
    }
}
