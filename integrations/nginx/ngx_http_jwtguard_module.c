/* ngx_http_jwtguard_module: validates JWT bearer tokens with jwtguard, and
 * revokes them, in every worker (README.md beside this file).
 *
 * The nginx glue is C, as nginx's module API is; everything that touches a
 * token is C++ behind jwtguard_nginx.h. Keys are loaded while the
 * configuration is read, so that `nginx -t` refuses a bad one; validators,
 * denylists and Redis connections are made in each worker after fork, and a
 * timer per worker follows the revocation journal, moves the denylists'
 * time and reloads key files that changed. */
#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "jwtguard_nginx.h"

/* How often each worker follows the journal (the bound on how long a
 * revocation made in another worker or process takes to be in force). */
#define JWTGUARD_TICK_MS 10

typedef struct {
    ngx_array_t *values; /* ngx_http_complex_value_t */
    ngx_uint_t status;   /* 401 or 403 */
} ngx_http_jwtguard_require_t;

typedef struct {
    ngx_flag_t enabled; /* auth_jwt: NGX_CONF_UNSET inherits, 0 off, 1 on */
    ngx_str_t realm;
    ngx_http_complex_value_t *token; /* NULL: Authorization: Bearer */
    ngx_array_t *key_files;          /* ngx_str_t, full paths */
    ngx_array_t *issuers;            /* ngx_str_t */
    ngx_array_t *audiences;          /* ngx_str_t */
    ngx_array_t *requires;           /* ngx_http_jwtguard_require_t */
    time_t leeway;
    time_t max_lifetime;
    ngx_int_t cache_entries;
    ngx_msec_t key_check;
    ngx_msec_t unknown_kid_cooldown;
    ngx_str_t journal;      /* "" when off */
    ngx_str_t redis_host;   /* "" when off or through Sentinels; NULL data: unset */
    ngx_int_t redis_port;
    ngx_str_t redis_prefix;
    ngx_str_t redis_sentinels; /* "host:port,host:port", or "" */
    ngx_str_t redis_master;
    ngx_int_t redis_acks;
    ngx_str_t redis_user;
    ngx_str_t redis_password_file;
    ngx_str_t redis_sentinel_password_file;
    ngx_flag_t revoke;
    jwtguard_ngx_auth *auth;
    jwtguard_ngx_revocations *revocations;
} ngx_http_jwtguard_loc_conf_t;

typedef struct {
    jwtguard_ngx_registry *registry;
    ngx_uint_t used; /* any auth_jwt or auth_jwt_revoke */
} ngx_http_jwtguard_main_conf_t;

/* A request whose token was valid: the token, for the variables. */
typedef struct {
    ngx_str_t token;
} ngx_http_jwtguard_ctx_t;

static ngx_int_t ngx_http_jwtguard_init(ngx_conf_t *cf);
static ngx_int_t ngx_http_jwtguard_add_variables(ngx_conf_t *cf);
static void *ngx_http_jwtguard_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_jwtguard_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_jwtguard_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child);
static ngx_int_t ngx_http_jwtguard_init_process(ngx_cycle_t *cycle);
static void ngx_http_jwtguard_exit_process(ngx_cycle_t *cycle);
static char *ngx_http_jwtguard_auth_jwt(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
static char *ngx_http_jwtguard_key_file(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
static char *ngx_http_jwtguard_strings(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
static char *ngx_http_jwtguard_require(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
static char *ngx_http_jwtguard_key_refresh(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
static char *ngx_http_jwtguard_journal(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
static char *ngx_http_jwtguard_redis(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
static char *ngx_http_jwtguard_revoke(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);

#define JWTGUARD_LOC_CONF \
    (NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_HTTP_LOC_CONF | NGX_HTTP_LMT_CONF)

static ngx_command_t ngx_http_jwtguard_commands[] = {
    {ngx_string("auth_jwt"), JWTGUARD_LOC_CONF | NGX_CONF_TAKE12, ngx_http_jwtguard_auth_jwt,
     NGX_HTTP_LOC_CONF_OFFSET, 0, NULL},
    {ngx_string("auth_jwt_key_file"), JWTGUARD_LOC_CONF | NGX_CONF_TAKE1,
     ngx_http_jwtguard_key_file, NGX_HTTP_LOC_CONF_OFFSET, 0, NULL},
    {ngx_string("auth_jwt_leeway"), JWTGUARD_LOC_CONF | NGX_CONF_TAKE1, ngx_conf_set_sec_slot,
     NGX_HTTP_LOC_CONF_OFFSET, offsetof(ngx_http_jwtguard_loc_conf_t, leeway), NULL},
    {ngx_string("auth_jwt_require"), JWTGUARD_LOC_CONF | NGX_CONF_1MORE,
     ngx_http_jwtguard_require, NGX_HTTP_LOC_CONF_OFFSET, 0, NULL},
    {ngx_string("auth_jwt_issuer"), JWTGUARD_LOC_CONF | NGX_CONF_1MORE,
     ngx_http_jwtguard_strings, NGX_HTTP_LOC_CONF_OFFSET,
     offsetof(ngx_http_jwtguard_loc_conf_t, issuers), NULL},
    {ngx_string("auth_jwt_audience"), JWTGUARD_LOC_CONF | NGX_CONF_1MORE,
     ngx_http_jwtguard_strings, NGX_HTTP_LOC_CONF_OFFSET,
     offsetof(ngx_http_jwtguard_loc_conf_t, audiences), NULL},
    {ngx_string("auth_jwt_max_lifetime"), JWTGUARD_LOC_CONF | NGX_CONF_TAKE1,
     ngx_conf_set_sec_slot, NGX_HTTP_LOC_CONF_OFFSET,
     offsetof(ngx_http_jwtguard_loc_conf_t, max_lifetime), NULL},
    {ngx_string("auth_jwt_cache"), JWTGUARD_LOC_CONF | NGX_CONF_TAKE1, ngx_conf_set_num_slot,
     NGX_HTTP_LOC_CONF_OFFSET, offsetof(ngx_http_jwtguard_loc_conf_t, cache_entries), NULL},
    {ngx_string("auth_jwt_key_refresh"), JWTGUARD_LOC_CONF | NGX_CONF_TAKE12,
     ngx_http_jwtguard_key_refresh, NGX_HTTP_LOC_CONF_OFFSET, 0, NULL},
    {ngx_string("auth_jwt_revocation_journal"), JWTGUARD_LOC_CONF | NGX_CONF_TAKE1,
     ngx_http_jwtguard_journal, NGX_HTTP_LOC_CONF_OFFSET, 0, NULL},
    {ngx_string("auth_jwt_revocation_redis"), JWTGUARD_LOC_CONF | NGX_CONF_1MORE,
     ngx_http_jwtguard_redis, NGX_HTTP_LOC_CONF_OFFSET, 0, NULL},
    {ngx_string("auth_jwt_revoke"), NGX_HTTP_LOC_CONF | NGX_CONF_NOARGS, ngx_http_jwtguard_revoke,
     NGX_HTTP_LOC_CONF_OFFSET, 0, NULL},
    ngx_null_command};

static ngx_http_module_t ngx_http_jwtguard_module_ctx = {
    ngx_http_jwtguard_add_variables,    /* preconfiguration */
    ngx_http_jwtguard_init,             /* postconfiguration */
    ngx_http_jwtguard_create_main_conf, /* create main configuration */
    NULL,                               /* init main configuration */
    NULL,                               /* create server configuration */
    NULL,                               /* merge server configuration */
    ngx_http_jwtguard_create_loc_conf,  /* create location configuration */
    ngx_http_jwtguard_merge_loc_conf    /* merge location configuration */
};

ngx_module_t ngx_http_jwtguard_module = {NGX_MODULE_V1,
                                         &ngx_http_jwtguard_module_ctx,
                                         ngx_http_jwtguard_commands,
                                         NGX_HTTP_MODULE,
                                         NULL,                            /* init master */
                                         NULL,                            /* init module */
                                         ngx_http_jwtguard_init_process,  /* init process */
                                         NULL,                            /* init thread */
                                         NULL,                            /* exit thread */
                                         ngx_http_jwtguard_exit_process,  /* exit process */
                                         NULL,                            /* exit master */
                                         NGX_MODULE_V1_PADDING};

static ngx_event_t ngx_http_jwtguard_tick_event;
static jwtguard_ngx_registry *ngx_http_jwtguard_worker_registry;

/* --- configuration -------------------------------------------------------- */

static void
ngx_http_jwtguard_cleanup_registry(void *data)
{
    jwtguard_ngx_registry_destroy(data);
}

static void *
ngx_http_jwtguard_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_jwtguard_main_conf_t *mcf;
    ngx_pool_cleanup_t *cln;

    mcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_jwtguard_main_conf_t));
    if (mcf == NULL) {
        return NULL;
    }
    mcf->registry = jwtguard_ngx_registry_create();
    if (mcf->registry == NULL) {
        return NULL;
    }
    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        jwtguard_ngx_registry_destroy(mcf->registry);
        return NULL;
    }
    cln->handler = ngx_http_jwtguard_cleanup_registry;
    cln->data = mcf->registry;
    return mcf;
}

static void *
ngx_http_jwtguard_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_jwtguard_loc_conf_t *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_jwtguard_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }
    /* ngx_pcalloc left the strings unset (data NULL) and auth NULL. */
    conf->enabled = NGX_CONF_UNSET;
    conf->token = NGX_CONF_UNSET_PTR;
    conf->key_files = NGX_CONF_UNSET_PTR;
    conf->issuers = NGX_CONF_UNSET_PTR;
    conf->audiences = NGX_CONF_UNSET_PTR;
    conf->requires = NGX_CONF_UNSET_PTR;
    conf->leeway = NGX_CONF_UNSET;
    conf->max_lifetime = NGX_CONF_UNSET;
    conf->cache_entries = NGX_CONF_UNSET;
    conf->key_check = NGX_CONF_UNSET_MSEC;
    conf->unknown_kid_cooldown = NGX_CONF_UNSET_MSEC;
    conf->redis_port = NGX_CONF_UNSET;
    conf->redis_acks = NGX_CONF_UNSET;
    conf->revoke = NGX_CONF_UNSET;
    return conf;
}

/* A C string copy of an nginx string, for messages. */
static jwtguard_ngx_str
ngx_http_jwtguard_str(ngx_str_t *s)
{
    jwtguard_ngx_str out;

    out.data = (const char *) s->data;
    out.len = s->len;
    return out;
}

static jwtguard_ngx_str *
ngx_http_jwtguard_strs(ngx_conf_t *cf, ngx_array_t *array, size_t *count)
{
    jwtguard_ngx_str *out;
    ngx_str_t *s;
    ngx_uint_t i;

    *count = 0;
    if (array == NULL || array->nelts == 0) {
        return NULL;
    }
    out = ngx_palloc(cf->pool, array->nelts * sizeof(jwtguard_ngx_str));
    if (out == NULL) {
        return NULL;
    }
    s = array->elts;
    for (i = 0; i < array->nelts; i++) {
        out[i] = ngx_http_jwtguard_str(&s[i]);
    }
    *count = array->nelts;
    return out;
}

static char *
ngx_http_jwtguard_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_jwtguard_loc_conf_t *prev = parent;
    ngx_http_jwtguard_loc_conf_t *conf = child;
    ngx_http_jwtguard_main_conf_t *mcf;
    jwtguard_ngx_revocation_config rc;
    jwtguard_ngx_auth_config ac;
    char err[JWTGUARD_NGX_ERRLEN];

    mcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_jwtguard_module);

    if (conf->enabled == NGX_CONF_UNSET) {
        conf->enabled = prev->enabled == NGX_CONF_UNSET ? 0 : prev->enabled;
        conf->realm = prev->realm;
        conf->token = prev->token;
    }
    ngx_conf_merge_ptr_value(conf->token, prev->token, NULL);
    ngx_conf_merge_ptr_value(conf->key_files, prev->key_files, NULL);
    ngx_conf_merge_ptr_value(conf->issuers, prev->issuers, NULL);
    ngx_conf_merge_ptr_value(conf->audiences, prev->audiences, NULL);
    ngx_conf_merge_ptr_value(conf->requires, prev->requires, NULL);
    ngx_conf_merge_sec_value(conf->leeway, prev->leeway, 0);
    ngx_conf_merge_sec_value(conf->max_lifetime, prev->max_lifetime, 0);
    ngx_conf_merge_value(conf->cache_entries, prev->cache_entries, 0);
    ngx_conf_merge_msec_value(conf->key_check, prev->key_check, 1000);
    ngx_conf_merge_msec_value(conf->unknown_kid_cooldown, prev->unknown_kid_cooldown, 1000);
    ngx_conf_merge_str_value(conf->journal, prev->journal, "");
    if (conf->redis_host.data == NULL) {
        conf->redis_host = prev->redis_host;
        conf->redis_port = prev->redis_port;
        conf->redis_prefix = prev->redis_prefix;
        conf->redis_sentinels = prev->redis_sentinels;
        conf->redis_master = prev->redis_master;
        conf->redis_acks = prev->redis_acks;
        conf->redis_user = prev->redis_user;
        conf->redis_password_file = prev->redis_password_file;
        conf->redis_sentinel_password_file = prev->redis_sentinel_password_file;
    }
    ngx_conf_merge_str_value(conf->redis_host, prev->redis_host, "");
    ngx_conf_merge_str_value(conf->redis_prefix, prev->redis_prefix, "");
    ngx_conf_merge_str_value(conf->redis_sentinels, prev->redis_sentinels, "");
    ngx_conf_merge_str_value(conf->redis_master, prev->redis_master, "");
    ngx_conf_merge_str_value(conf->redis_user, prev->redis_user, "");
    ngx_conf_merge_str_value(conf->redis_password_file, prev->redis_password_file, "");
    ngx_conf_merge_str_value(conf->redis_sentinel_password_file,
                             prev->redis_sentinel_password_file, "");
    ngx_conf_merge_value(conf->redis_port, prev->redis_port, 0);
    ngx_conf_merge_value(conf->redis_acks, prev->redis_acks, 0);
    ngx_conf_merge_value(conf->revoke, prev->revoke, 0);

    if (conf->journal.len > 0 || conf->redis_host.len > 0 || conf->redis_sentinels.len > 0) {
        rc.journal = ngx_http_jwtguard_str(&conf->journal);
        rc.redis_host = ngx_http_jwtguard_str(&conf->redis_host);
        rc.redis_port = (int) conf->redis_port;
        rc.redis_prefix = ngx_http_jwtguard_str(&conf->redis_prefix);
        rc.redis_sentinels = ngx_http_jwtguard_str(&conf->redis_sentinels);
        rc.redis_master = ngx_http_jwtguard_str(&conf->redis_master);
        rc.redis_acks = (int) conf->redis_acks;
        rc.redis_user = ngx_http_jwtguard_str(&conf->redis_user);
        rc.redis_password_file = ngx_http_jwtguard_str(&conf->redis_password_file);
        rc.redis_sentinel_password_file =
            ngx_http_jwtguard_str(&conf->redis_sentinel_password_file);
        conf->revocations = jwtguard_ngx_revocations_get(mcf->registry, &rc, err);
        if (conf->revocations == NULL) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "auth_jwt_revocation_%s: %s",
                               conf->journal.len > 0 ? "journal" : "redis", err);
            return NGX_CONF_ERROR;
        }
    }
    if (conf->revoke == 1 && conf->revocations == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "auth_jwt_revoke needs auth_jwt_revocation_journal or "
                           "auth_jwt_revocation_redis in its location");
        return NGX_CONF_ERROR;
    }
    if (conf->enabled != 1) {
        return NGX_CONF_OK;
    }
    mcf->used = 1;

    /* The parent's validator serves when nothing that shapes it changed. */
    if (prev->auth != NULL && prev->key_files == conf->key_files &&
        prev->issuers == conf->issuers && prev->audiences == conf->audiences &&
        prev->leeway == conf->leeway && prev->max_lifetime == conf->max_lifetime &&
        prev->cache_entries == conf->cache_entries && prev->key_check == conf->key_check &&
        prev->unknown_kid_cooldown == conf->unknown_kid_cooldown &&
        prev->revocations == conf->revocations)
    {
        conf->auth = prev->auth;
        return NGX_CONF_OK;
    }

    ngx_memzero(&ac, sizeof(ac));
    ac.key_files = ngx_http_jwtguard_strs(cf, conf->key_files, &ac.key_file_count);
    ac.issuers = ngx_http_jwtguard_strs(cf, conf->issuers, &ac.issuer_count);
    ac.audiences = ngx_http_jwtguard_strs(cf, conf->audiences, &ac.audience_count);
    ac.leeway = conf->leeway;
    ac.max_lifetime = conf->max_lifetime;
    ac.cache_entries = (size_t) conf->cache_entries;
    ac.key_check_ms = (int64_t) conf->key_check;
    ac.unknown_kid_cooldown_ms = (int64_t) conf->unknown_kid_cooldown;
    ac.revocations = conf->revocations;
    conf->auth = jwtguard_ngx_auth_create(mcf->registry, &ac, err);
    if (conf->auth == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "auth_jwt \"%V\": %s", &conf->realm, err);
        return NGX_CONF_ERROR;
    }
    return NGX_CONF_OK;
}

static char *
ngx_http_jwtguard_auth_jwt(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_jwtguard_loc_conf_t *lcf = conf;
    ngx_str_t *value = cf->args->elts;
    ngx_http_compile_complex_value_t ccv;
    ngx_uint_t i;

    if (lcf->enabled != NGX_CONF_UNSET) {
        return "is duplicate";
    }
    if (ngx_strcmp(value[1].data, "off") == 0) {
        if (cf->args->nelts != 2) {
            return "takes no argument after \"off\"";
        }
        lcf->enabled = 0;
        lcf->token = NULL;
        return NGX_CONF_OK;
    }
    for (i = 0; i < value[1].len; i++) {
        if (value[1].data[i] == '"' || value[1].data[i] == '\\' || value[1].data[i] < 0x20) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "auth_jwt: the realm \"%V\" may not hold '\"', '\\' or "
                               "control characters",
                               &value[1]);
            return NGX_CONF_ERROR;
        }
    }
    lcf->enabled = 1;
    lcf->realm = value[1];
    lcf->token = NULL;
    if (cf->args->nelts == 3) {
        if (ngx_strncmp(value[2].data, "token=", 6) != 0 || value[2].len == 6) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "auth_jwt: unknown argument \"%V\" (expected token=$variable)",
                               &value[2]);
            return NGX_CONF_ERROR;
        }
        value[2].data += 6;
        value[2].len -= 6;
        lcf->token = ngx_palloc(cf->pool, sizeof(ngx_http_complex_value_t));
        if (lcf->token == NULL) {
            return NGX_CONF_ERROR;
        }
        ngx_memzero(&ccv, sizeof(ccv));
        ccv.cf = cf;
        ccv.value = &value[2];
        ccv.complex_value = lcf->token;
        if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
            return NGX_CONF_ERROR;
        }
    }
    (void) cmd;
    return NGX_CONF_OK;
}

static char *
ngx_http_jwtguard_key_file(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_jwtguard_loc_conf_t *lcf = conf;
    ngx_http_jwtguard_main_conf_t *mcf;
    ngx_str_t *value = cf->args->elts;
    ngx_str_t *path;
    char err[JWTGUARD_NGX_ERRLEN];

    mcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_jwtguard_module);
    if (lcf->key_files == NGX_CONF_UNSET_PTR) {
        lcf->key_files = ngx_array_create(cf->pool, 2, sizeof(ngx_str_t));
        if (lcf->key_files == NULL) {
            return NGX_CONF_ERROR;
        }
    }
    path = ngx_array_push(lcf->key_files);
    if (path == NULL) {
        return NGX_CONF_ERROR;
    }
    *path = value[1];
    if (ngx_conf_full_name(cf->cycle, path, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }
    if (jwtguard_ngx_key_file(mcf->registry, ngx_http_jwtguard_str(path), err) != 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "auth_jwt_key_file \"%V\": %s", path, err);
        return NGX_CONF_ERROR;
    }
    (void) cmd;
    return NGX_CONF_OK;
}

/* auth_jwt_issuer, auth_jwt_audience: each argument one value; the
 * directive may repeat. */
static char *
ngx_http_jwtguard_strings(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_array_t **array = (ngx_array_t **) ((char *) conf + cmd->offset);
    ngx_str_t *value = cf->args->elts;
    ngx_str_t *s;
    ngx_uint_t i;

    if (*array == NGX_CONF_UNSET_PTR) {
        *array = ngx_array_create(cf->pool, 2, sizeof(ngx_str_t));
        if (*array == NULL) {
            return NGX_CONF_ERROR;
        }
    }
    for (i = 1; i < cf->args->nelts; i++) {
        if (value[i].len == 0) {
            return "takes no empty value";
        }
        s = ngx_array_push(*array);
        if (s == NULL) {
            return NGX_CONF_ERROR;
        }
        *s = value[i];
    }
    return NGX_CONF_OK;
}

static char *
ngx_http_jwtguard_require(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_jwtguard_loc_conf_t *lcf = conf;
    ngx_str_t *value = cf->args->elts;
    ngx_http_jwtguard_require_t *req;
    ngx_http_complex_value_t *cv;
    ngx_http_compile_complex_value_t ccv;
    ngx_uint_t i, last;

    if (lcf->requires == NGX_CONF_UNSET_PTR) {
        lcf->requires = ngx_array_create(cf->pool, 2, sizeof(ngx_http_jwtguard_require_t));
        if (lcf->requires == NULL) {
            return NGX_CONF_ERROR;
        }
    }
    req = ngx_array_push(lcf->requires);
    if (req == NULL) {
        return NGX_CONF_ERROR;
    }
    req->status = NGX_HTTP_UNAUTHORIZED;
    last = cf->args->nelts;
    if (ngx_strncmp(value[last - 1].data, "error=", 6) == 0) {
        if (ngx_strcmp(value[last - 1].data, "error=401") == 0) {
            req->status = NGX_HTTP_UNAUTHORIZED;
        } else if (ngx_strcmp(value[last - 1].data, "error=403") == 0) {
            req->status = NGX_HTTP_FORBIDDEN;
        } else {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "auth_jwt_require: \"%V\": error= takes 401 or 403",
                               &value[last - 1]);
            return NGX_CONF_ERROR;
        }
        last--;
    }
    if (last < 2) {
        return "needs at least one value";
    }
    req->values = ngx_array_create(cf->pool, last - 1, sizeof(ngx_http_complex_value_t));
    if (req->values == NULL) {
        return NGX_CONF_ERROR;
    }
    for (i = 1; i < last; i++) {
        cv = ngx_array_push(req->values);
        if (cv == NULL) {
            return NGX_CONF_ERROR;
        }
        ngx_memzero(&ccv, sizeof(ccv));
        ccv.cf = cf;
        ccv.value = &value[i];
        ccv.complex_value = cv;
        if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
            return NGX_CONF_ERROR;
        }
    }
    (void) cmd;
    return NGX_CONF_OK;
}

/* auth_jwt_key_refresh <interval> [unknown_kid_cooldown=<time>] */
static char *
ngx_http_jwtguard_key_refresh(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_jwtguard_loc_conf_t *lcf = conf;
    ngx_str_t *value = cf->args->elts;
    ngx_str_t s;

    if (lcf->key_check != NGX_CONF_UNSET_MSEC) {
        return "is duplicate";
    }
    lcf->key_check = ngx_parse_time(&value[1], 0);
    if (lcf->key_check == (ngx_msec_t) NGX_ERROR || lcf->key_check == 0) {
        return "takes a positive time, as \"1s\"";
    }
    lcf->unknown_kid_cooldown = lcf->key_check;
    if (cf->args->nelts == 3) {
        if (ngx_strncmp(value[2].data, "unknown_kid_cooldown=", 21) != 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "auth_jwt_key_refresh: unknown argument \"%V\"", &value[2]);
            return NGX_CONF_ERROR;
        }
        s.data = value[2].data + 21;
        s.len = value[2].len - 21;
        lcf->unknown_kid_cooldown = ngx_parse_time(&s, 0);
        if (lcf->unknown_kid_cooldown == (ngx_msec_t) NGX_ERROR) {
            return "takes unknown_kid_cooldown=<time>, as \"1s\"";
        }
    }
    (void) cmd;
    return NGX_CONF_OK;
}

static char *
ngx_http_jwtguard_journal(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_jwtguard_loc_conf_t *lcf = conf;
    ngx_str_t *value = cf->args->elts;

    if (lcf->journal.data != NULL) {
        return "is duplicate";
    }
    if (ngx_strcmp(value[1].data, "off") == 0) {
        ngx_str_set(&lcf->journal, "");
        return NGX_CONF_OK;
    }
    lcf->journal = value[1];
    if (ngx_conf_full_name(cf->cycle, &lcf->journal, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }
    (void) cmd;
    return NGX_CONF_OK;
}

/* Takes `arg` into `*out` when it is "<name><value>" with a value and `*out`
 * is still empty (a repeated argument is not taken); 1 when taken. */
static ngx_int_t
ngx_http_jwtguard_take(ngx_str_t *arg, const char *name, ngx_str_t *out)
{
    size_t n = ngx_strlen(name);

    if (arg->len <= n || ngx_strncmp(arg->data, name, n) != 0 || out->len > 0) {
        return 0;
    }
    out->data = arg->data + n;
    out->len = arg->len - n;
    return 1;
}

/* auth_jwt_revocation_redis <host:port> | sentinels=<host:port,...> master=<name>
 *                           [prefix=<key prefix>] [acks=<replicas>] [user=<ACL user>]
 *                           [password_file=<path>] [sentinel_password_file=<path>] | off
 * (the Sentinel list and the files are checked by jwtguard_ngx_revocations_get) */
static char *
ngx_http_jwtguard_redis(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_jwtguard_loc_conf_t *lcf = conf;
    ngx_str_t *value = cf->args->elts;
    ngx_uint_t i;
    u_char *colon;

    if (lcf->redis_host.data != NULL) {
        return "is duplicate";
    }
    ngx_str_set(&lcf->redis_prefix, "");
    ngx_str_set(&lcf->redis_sentinels, "");
    ngx_str_set(&lcf->redis_master, "");
    ngx_str_set(&lcf->redis_user, "");
    ngx_str_set(&lcf->redis_password_file, "");
    ngx_str_set(&lcf->redis_sentinel_password_file, "");
    lcf->redis_acks = 0;
    lcf->redis_port = 0;
    if (ngx_strcmp(value[1].data, "off") == 0 && cf->args->nelts == 2) {
        ngx_str_set(&lcf->redis_host, "");
        return NGX_CONF_OK;
    }
    if (ngx_strncmp(value[1].data, "sentinels=", 10) == 0) {
        if (value[1].len == 10) {
            return "needs sentinels=host:port[,host:port...]";
        }
        ngx_str_set(&lcf->redis_host, "");
        lcf->redis_sentinels.data = value[1].data + 10;
        lcf->redis_sentinels.len = value[1].len - 10;
    } else {
        colon = (u_char *) ngx_strlchr(value[1].data, value[1].data + value[1].len, ':');
        if (colon == NULL || colon == value[1].data) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "auth_jwt_revocation_redis: \"%V\" is not host:port", &value[1]);
            return NGX_CONF_ERROR;
        }
        lcf->redis_host.data = value[1].data;
        lcf->redis_host.len = colon - value[1].data;
        lcf->redis_port = ngx_atoi(colon + 1, value[1].data + value[1].len - colon - 1);
        if (lcf->redis_port < 1 || lcf->redis_port > 65535) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "auth_jwt_revocation_redis: \"%V\": the port must lie in [1, 65535]",
                               &value[1]);
            return NGX_CONF_ERROR;
        }
    }
    for (i = 2; i < cf->args->nelts; i++) {
        if (ngx_http_jwtguard_take(&value[i], "prefix=", &lcf->redis_prefix)
            || ngx_http_jwtguard_take(&value[i], "master=", &lcf->redis_master)
            || ngx_http_jwtguard_take(&value[i], "user=", &lcf->redis_user)
            || ngx_http_jwtguard_take(&value[i], "password_file=", &lcf->redis_password_file)
            || ngx_http_jwtguard_take(&value[i], "sentinel_password_file=",
                                      &lcf->redis_sentinel_password_file))
        {
            continue;
        } else if (ngx_strncmp(value[i].data, "acks=", 5) == 0) {
            lcf->redis_acks = ngx_atoi(value[i].data + 5, value[i].len - 5);
            if (lcf->redis_acks < 0 || lcf->redis_acks > 64) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "auth_jwt_revocation_redis: \"%V\": acks= takes 0 to 64 "
                                   "replicas",
                                   &value[i]);
                return NGX_CONF_ERROR;
            }
        } else {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "auth_jwt_revocation_redis: unknown or repeated argument \"%V\"",
                               &value[i]);
            return NGX_CONF_ERROR;
        }
    }
    if ((lcf->redis_sentinels.len > 0) != (lcf->redis_master.len > 0)) {
        return "needs sentinels= and master= together";
    }
    if (lcf->redis_sentinel_password_file.len > 0 && lcf->redis_sentinels.len == 0) {
        return "takes sentinel_password_file= only with sentinels=";
    }
    (void) cmd;
    return NGX_CONF_OK;
}

static ngx_int_t ngx_http_jwtguard_revoke_handler(ngx_http_request_t *r);

static char *
ngx_http_jwtguard_revoke(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_jwtguard_loc_conf_t *lcf = conf;
    ngx_http_core_loc_conf_t *clcf;
    ngx_http_jwtguard_main_conf_t *mcf;

    if (lcf->revoke != NGX_CONF_UNSET) {
        return "is duplicate";
    }
    lcf->revoke = 1;
    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_jwtguard_revoke_handler;
    mcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_jwtguard_module);
    mcf->used = 1;
    (void) cmd;
    return NGX_CONF_OK;
}

/* --- workers -------------------------------------------------------------- */

static void
ngx_http_jwtguard_log(void *ctx, int level, const char *message, size_t len)
{
    ngx_log_error((ngx_uint_t) level, (ngx_log_t *) ctx, 0, "%*s", len, message);
}

static int64_t
ngx_http_jwtguard_now_ms(void)
{
    ngx_time_t *tp = ngx_timeofday();

    return (int64_t) tp->sec * 1000 + (int64_t) tp->msec;
}

static void
ngx_http_jwtguard_tick(ngx_event_t *ev)
{
    jwtguard_ngx_worker_tick(ev->data, ngx_http_jwtguard_now_ms(), ngx_http_jwtguard_log,
                             ev->log);
    if (!ngx_exiting && !ngx_terminate && !ngx_quit) {
        ngx_add_timer(ev, JWTGUARD_TICK_MS);
    }
}

static ngx_int_t
ngx_http_jwtguard_init_process(ngx_cycle_t *cycle)
{
    ngx_http_jwtguard_main_conf_t *mcf;
    char err[JWTGUARD_NGX_ERRLEN];

    if (ngx_process != NGX_PROCESS_WORKER && ngx_process != NGX_PROCESS_SINGLE) {
        return NGX_OK;
    }
    mcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_jwtguard_module);
    if (mcf == NULL || !mcf->used) {
        return NGX_OK;
    }
    if (jwtguard_ngx_worker_start(mcf->registry, (int) ngx_worker, err) != 0) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0, "jwtguard: cannot start this worker: %s",
                      err);
        return NGX_ERROR;
    }
    ngx_http_jwtguard_worker_registry = mcf->registry;
    ngx_memzero(&ngx_http_jwtguard_tick_event, sizeof(ngx_event_t));
    ngx_http_jwtguard_tick_event.handler = ngx_http_jwtguard_tick;
    ngx_http_jwtguard_tick_event.data = mcf->registry;
    ngx_http_jwtguard_tick_event.log = cycle->log;
    /* A pending tick never holds a worker back from a graceful exit. */
    ngx_http_jwtguard_tick_event.cancelable = 1;
    ngx_add_timer(&ngx_http_jwtguard_tick_event, JWTGUARD_TICK_MS);
    return NGX_OK;
}

static void
ngx_http_jwtguard_exit_process(ngx_cycle_t *cycle)
{
    (void) cycle;
    if (ngx_http_jwtguard_worker_registry != NULL) {
        jwtguard_ngx_worker_stop(ngx_http_jwtguard_worker_registry);
        ngx_http_jwtguard_worker_registry = NULL;
    }
}

/* --- requests ------------------------------------------------------------- */

static ngx_int_t
ngx_http_jwtguard_challenge(ngx_http_request_t *r, ngx_http_jwtguard_loc_conf_t *lcf,
                            ngx_uint_t status, const char *error, const char *description)
{
    ngx_table_elt_t *h;
    size_t len;
    u_char *p;

    len = sizeof("Bearer realm=\"\"") - 1 + lcf->realm.len;
    if (error != NULL) {
        len += sizeof(", error=\"\"") - 1 + ngx_strlen(error);
    }
    if (description != NULL) {
        len += sizeof(", error_description=\"\"") - 1 + ngx_strlen(description);
    }
    p = ngx_pnalloc(r->pool, len);
    h = ngx_list_push(&r->headers_out.headers);
    if (p == NULL || h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    h->hash = 1;
    ngx_str_set(&h->key, "WWW-Authenticate");
    h->value.data = p;
    p = ngx_cpymem(p, "Bearer realm=\"", sizeof("Bearer realm=\"") - 1);
    p = ngx_cpymem(p, lcf->realm.data, lcf->realm.len);
    *p++ = '"';
    if (error != NULL) {
        p = ngx_sprintf(p, ", error=\"%s\"", error);
    }
    if (description != NULL) {
        p = ngx_sprintf(p, ", error_description=\"%s\"", description);
    }
    h->value.len = p - h->value.data;
    return status;
}

/* The token: the configured variable, or Authorization: Bearer <token>. */
static ngx_int_t
ngx_http_jwtguard_token(ngx_http_request_t *r, ngx_http_jwtguard_loc_conf_t *lcf,
                        ngx_str_t *token)
{
    ngx_str_t value;

    token->len = 0;
    token->data = NULL;
    if (lcf->token != NULL) {
        return ngx_http_complex_value(r, lcf->token, token);
    }
    if (r->headers_in.authorization == NULL) {
        return NGX_OK;
    }
    value = r->headers_in.authorization->value;
    if (value.len < sizeof("Bearer ") - 1 ||
        ngx_strncasecmp(value.data, (u_char *) "Bearer ", sizeof("Bearer ") - 1) != 0)
    {
        return NGX_OK; /* another scheme: no bearer token */
    }
    value.data += sizeof("Bearer ") - 1;
    value.len -= sizeof("Bearer ") - 1;
    while (value.len > 0 && value.data[0] == ' ') {
        value.data++;
        value.len--;
    }
    while (value.len > 0 && value.data[value.len - 1] == ' ') {
        value.len--;
    }
    *token = value;
    return NGX_OK;
}

static ngx_int_t
ngx_http_jwtguard_handler(ngx_http_request_t *r)
{
    ngx_http_jwtguard_loc_conf_t *lcf;
    ngx_http_jwtguard_require_t *req;
    ngx_http_complex_value_t *cv;
    ngx_http_jwtguard_ctx_t *ctx;
    ngx_str_t token, value;
    ngx_uint_t i, j;
    const char *error;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_jwtguard_module);
    if (lcf->enabled != 1 || lcf->auth == NULL) {
        return NGX_DECLINED;
    }
    if (ngx_http_jwtguard_token(r, lcf, &token) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    if (token.len == 0) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0, "jwtguard: no bearer token");
        return ngx_http_jwtguard_challenge(r, lcf, NGX_HTTP_UNAUTHORIZED, NULL, NULL);
    }
    error = jwtguard_ngx_validate(lcf->auth, (const char *) token.data, token.len, ngx_time());
    if (error != NULL) {
        if (ngx_http_jwtguard_worker_registry != NULL &&
            jwtguard_ngx_worker_wants_tick(ngx_http_jwtguard_worker_registry))
        {
            /* The reload runs after this request, never inside it. */
            ngx_add_timer(&ngx_http_jwtguard_tick_event, 1);
        }
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0, "jwtguard: token refused: %s",
                      error);
        return ngx_http_jwtguard_challenge(r, lcf, NGX_HTTP_UNAUTHORIZED, "invalid_token",
                                           error);
    }
    ctx = ngx_http_get_module_ctx(r, ngx_http_jwtguard_module);
    if (ctx == NULL) {
        ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_jwtguard_ctx_t));
        if (ctx == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
        ngx_http_set_ctx(r, ctx, ngx_http_jwtguard_module);
    }
    ctx->token = token;
    if (lcf->requires == NULL) {
        return NGX_OK;
    }
    req = lcf->requires->elts;
    for (i = 0; i < lcf->requires->nelts; i++) {
        cv = req[i].values->elts;
        for (j = 0; j < req[i].values->nelts; j++) {
            if (ngx_http_complex_value(r, &cv[j], &value) != NGX_OK) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }
            if (value.len == 0 || (value.len == 1 && value.data[0] == '0')) {
                ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                              "jwtguard: auth_jwt_require \"%V\" not met", &cv[j].value);
                if (req[i].status == NGX_HTTP_FORBIDDEN) {
                    return ngx_http_jwtguard_challenge(r, lcf, NGX_HTTP_FORBIDDEN,
                                                       "insufficient_scope", NULL);
                }
                return ngx_http_jwtguard_challenge(r, lcf, NGX_HTTP_UNAUTHORIZED,
                                                   "invalid_token", "requirement_not_met");
            }
        }
    }
    return NGX_OK;
}

/* --- variables ------------------------------------------------------------ */

static void *
ngx_http_jwtguard_alloc(void *pool, size_t size)
{
    return ngx_pnalloc(pool, size);
}

/* data: 0 the header's, 1 the payload's, 2 the whole payload. */
static ngx_int_t
ngx_http_jwtguard_variable(ngx_http_request_t *r, ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_jwtguard_ctx_t *ctx;
    ngx_str_t *name = (ngx_str_t *) data;
    jwtguard_ngx_str out;
    const char *member = NULL;
    size_t member_len = 0;
    int part, rc;

    ctx = ngx_http_get_module_ctx(r, ngx_http_jwtguard_module);
    if (ctx == NULL) {
        v->not_found = 1;
        v->no_cacheable = 1; /* the token may be validated later */
        return NGX_OK;
    }
    if (name->len >= sizeof("jwt_claim_") - 1 &&
        ngx_strncmp(name->data, "jwt_claim_", sizeof("jwt_claim_") - 1) == 0)
    {
        part = 1;
        member = (const char *) name->data + sizeof("jwt_claim_") - 1;
        member_len = name->len - (sizeof("jwt_claim_") - 1);
    } else if (name->len >= sizeof("jwt_header_") - 1 &&
               ngx_strncmp(name->data, "jwt_header_", sizeof("jwt_header_") - 1) == 0)
    {
        part = 0;
        member = (const char *) name->data + sizeof("jwt_header_") - 1;
        member_len = name->len - (sizeof("jwt_header_") - 1);
    } else {
        part = 1; /* jwt_payload */
    }
    rc = jwtguard_ngx_token_member((const char *) ctx->token.data, ctx->token.len, part, member,
                                   member_len, ngx_http_jwtguard_alloc, r->pool, &out);
    if (rc < 0) {
        return NGX_ERROR;
    }
    if (rc == 0) {
        v->not_found = 1;
        return NGX_OK;
    }
    v->data = (u_char *) out.data;
    v->len = out.len;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;
    return NGX_OK;
}

static ngx_str_t ngx_http_jwtguard_payload_name = ngx_string("jwt_payload");

static ngx_int_t
ngx_http_jwtguard_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t *var;

    var = ngx_http_add_variable(cf, &(ngx_str_t) ngx_string("jwt_claim_"), NGX_HTTP_VAR_PREFIX);
    if (var == NULL) {
        return NGX_ERROR;
    }
    var->get_handler = ngx_http_jwtguard_variable;
    var = ngx_http_add_variable(cf, &(ngx_str_t) ngx_string("jwt_header_"), NGX_HTTP_VAR_PREFIX);
    if (var == NULL) {
        return NGX_ERROR;
    }
    var->get_handler = ngx_http_jwtguard_variable;
    var = ngx_http_add_variable(cf, &ngx_http_jwtguard_payload_name, 0);
    if (var == NULL) {
        return NGX_ERROR;
    }
    var->get_handler = ngx_http_jwtguard_variable;
    var->data = (uintptr_t) &ngx_http_jwtguard_payload_name;
    return NGX_OK;
}

/* --- auth_jwt_revoke ------------------------------------------------------ */

static void
ngx_http_jwtguard_revoke_body(ngx_http_request_t *r)
{
    ngx_http_jwtguard_loc_conf_t *lcf;
    ngx_chain_t *cl, out;
    ngx_buf_t *b;
    size_t len = 0;
    u_char *body, *p;
    char answer[JWTGUARD_NGX_ERRLEN];
    int status;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_jwtguard_module);
    if (r->request_body == NULL || r->request_body->temp_file != NULL) {
        /* Bodies larger than client_body_buffer_size are not revocations. */
        ngx_http_finalize_request(r, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE);
        return;
    }
    for (cl = r->request_body->bufs; cl != NULL; cl = cl->next) {
        len += cl->buf->last - cl->buf->pos;
    }
    body = ngx_pnalloc(r->pool, len + 1);
    if (body == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }
    p = body;
    for (cl = r->request_body->bufs; cl != NULL; cl = cl->next) {
        p = ngx_cpymem(p, cl->buf->pos, cl->buf->last - cl->buf->pos);
    }
    status = jwtguard_ngx_revoke(lcf->revocations, (const char *) body, len, answer);
    if (status != 200) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0, "jwtguard: revoke refused: %s",
                      answer);
    }
    len = ngx_strlen(answer);
    b = ngx_create_temp_buf(r->pool, len + 1);
    if (b == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }
    b->last = ngx_cpymem(b->last, answer, len);
    *b->last++ = '\n';
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;
    r->headers_out.status = status;
    r->headers_out.content_length_n = len + 1;
    ngx_str_set(&r->headers_out.content_type, "application/json");
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    out.buf = b;
    out.next = NULL;
    if (ngx_http_send_header(r) == NGX_ERROR) {
        ngx_http_finalize_request(r, NGX_ERROR);
        return;
    }
    ngx_http_finalize_request(r, ngx_http_output_filter(r, &out));
}

static ngx_int_t
ngx_http_jwtguard_revoke_handler(ngx_http_request_t *r)
{
    ngx_int_t rc;

    if (!(r->method & NGX_HTTP_POST)) {
        return NGX_HTTP_NOT_ALLOWED;
    }
    r->request_body_in_single_buf = 1;
    rc = ngx_http_read_client_request_body(r, ngx_http_jwtguard_revoke_body);
    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }
    return NGX_DONE;
}

/* --- registration --------------------------------------------------------- */

static ngx_int_t
ngx_http_jwtguard_init(ngx_conf_t *cf)
{
    ngx_http_handler_pt *h;
    ngx_http_core_main_conf_t *cmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);
    h = ngx_array_push(&cmcf->phases[NGX_HTTP_ACCESS_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }
    *h = ngx_http_jwtguard_handler;
    return NGX_OK;
}
