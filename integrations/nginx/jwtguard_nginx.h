/* The boundary between the nginx module (C, ngx_http_jwtguard_module.c) and
 * jwtguard (C++, jwtguard_nginx.cpp). Nothing here throws: every function
 * that can fail returns a status and writes its reason into `err`.
 *
 * Lifetimes. A registry belongs to one configuration cycle (created while
 * nginx reads its configuration, destroyed with that cycle's pool). Keys
 * are loaded and checked in the master, so that `nginx -t` refuses a bad
 * key file; validators, denylists and Redis connections are made in each
 * worker by jwtguard_ngx_worker_start (after fork: no descriptor, lock or
 * thread is ever shared between workers). */
#ifndef JWTGUARD_NGINX_H
#define JWTGUARD_NGINX_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define JWTGUARD_NGX_ERRLEN 512

typedef struct {
    const char* data;
    size_t len;
} jwtguard_ngx_str;

typedef struct jwtguard_ngx_registry jwtguard_ngx_registry;
typedef struct jwtguard_ngx_auth jwtguard_ngx_auth;
typedef struct jwtguard_ngx_revocations jwtguard_ngx_revocations;

/* Log levels of jwtguard_ngx_log_fn, nginx's values. */
enum {
    JWTGUARD_NGX_LOG_ERR = 4,
    JWTGUARD_NGX_LOG_WARN = 5,
    JWTGUARD_NGX_LOG_NOTICE = 6,
    JWTGUARD_NGX_LOG_INFO = 7
};
typedef void (*jwtguard_ngx_log_fn)(void* ctx, int level, const char* message, size_t len);

/* --- configuration (master) ------------------------------------------- */

jwtguard_ngx_registry* jwtguard_ngx_registry_create(void);
void jwtguard_ngx_registry_destroy(jwtguard_ngx_registry* registry);

/* Reads and checks a key file (a JWKS, or a PEM public key): 0, or -1 with
 * the reason. Loaded once per path and configuration. */
int jwtguard_ngx_key_file(jwtguard_ngx_registry* registry, jwtguard_ngx_str path, char* err);

typedef struct {
    jwtguard_ngx_str journal;    /* empty: none */
    jwtguard_ngx_str redis_host; /* empty: none */
    int redis_port;
    jwtguard_ngx_str redis_prefix;                 /* empty: jwtguard's default */
    jwtguard_ngx_str redis_sentinels;              /* "host:port,host:port"; empty: none */
    jwtguard_ngx_str redis_master;                 /* with redis_sentinels */
    int redis_acks;                                /* min_replicas_acked */
    jwtguard_ngx_str redis_user;                   /* ACL user; empty: none */
    jwtguard_ngx_str redis_password_file;          /* empty: no AUTH */
    jwtguard_ngx_str redis_sentinel_password_file; /* empty: no AUTH to Sentinels */
} jwtguard_ngx_revocation_config;

/* The revocations shared by every location with the same journal and Redis
 * settings. NULL with the reason on a bad setting. */
jwtguard_ngx_revocations* jwtguard_ngx_revocations_get(jwtguard_ngx_registry* registry,
                                                       const jwtguard_ngx_revocation_config* config,
                                                       char* err);

typedef struct {
    const jwtguard_ngx_str* key_files;
    size_t key_file_count;
    const jwtguard_ngx_str* issuers;
    size_t issuer_count;
    const jwtguard_ngx_str* audiences;
    size_t audience_count;
    int64_t leeway;       /* seconds */
    int64_t max_lifetime; /* seconds; 0: none */
    size_t cache_entries; /* 0: no verified-token cache */
    int64_t key_check_ms; /* how often key files are looked at */
    int64_t unknown_kid_cooldown_ms;
    jwtguard_ngx_revocations* revocations; /* NULL: none */
} jwtguard_ngx_auth_config;

/* One auth_jwt configuration; NULL with the reason when it cannot work. */
jwtguard_ngx_auth* jwtguard_ngx_auth_create(jwtguard_ngx_registry* registry,
                                            const jwtguard_ngx_auth_config* config, char* err);

/* --- each worker ------------------------------------------------------- */

/* Builds this worker's validators, denylists and Redis mirrors: 0, or -1
 * with the reason. */
int jwtguard_ngx_worker_start(jwtguard_ngx_registry* registry, int worker, char* err);
void jwtguard_ngx_worker_stop(jwtguard_ngx_registry* registry);

/* Periodic work, every few milliseconds: follows journals, moves denylists'
 * time, reloads changed key files and those a token asked for (unknown kid,
 * after the cooldown); says what went wrong through `log`. */
void jwtguard_ngx_worker_tick(jwtguard_ngx_registry* registry, int64_t now_ms,
                              jwtguard_ngx_log_fn log, void* log_ctx);

/* True when a tick is due now (a token named an unknown kid). */
int jwtguard_ngx_worker_wants_tick(jwtguard_ngx_registry* registry);

/* --- each request ------------------------------------------------------ */

/* Validates a token at `now` (seconds): NULL when it is valid, else the
 * jwtguard error code's stable name (static storage). */
const char* jwtguard_ngx_validate(jwtguard_ngx_auth* auth, const char* token, size_t len,
                                  int64_t now);

/* A member of a validated token's header (part 0) or payload (part 1), as
 * nginx variables show it: strings unescaped, numbers, booleans and null as
 * their JSON text, arrays of strings joined by commas, other values as
 * compact JSON. `name` NULL: the whole decoded part. 1 found, 0 absent,
 * -1 on failure. `out` is allocated with `alloc`. */
typedef void* (*jwtguard_ngx_alloc_fn)(void* ctx, size_t size);
int jwtguard_ngx_token_member(const char* token, size_t len, int part, const char* name,
                              size_t name_len, jwtguard_ngx_alloc_fn alloc, void* alloc_ctx,
                              jwtguard_ngx_str* out);

/* The auth_jwt_revoke endpoint: applies the revocation a JSON body asks
 * for; returns the HTTP status and writes the JSON answer (NUL-terminated)
 * into `answer` (JWTGUARD_NGX_ERRLEN bytes). */
int jwtguard_ngx_revoke(jwtguard_ngx_revocations* revocations, const char* body, size_t len,
                        char* answer);

#ifdef __cplusplus
}
#endif

#endif
