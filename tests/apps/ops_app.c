/*
 * ops_app.c: a tiny app for the operations tests (worker processes, reloads, timeouts, proxies),
 * built twice by tests/build.rs with a different OPS_BODY, so a test can swap one library for
 * the other under a running server and see which one answers.
 *
 *   GET /plaintext   200 text/plain OPS_BODY
 *   GET /pid         200 text/plain the worker's process id
 *   GET /slow?ms=N   200 after N ms (at most 60000), "slept " OPS_BODY; ignores cancellation
 *   GET /drip?ms=N   streams 8 chunks "drip\n", N ms apart (at most 60000), each flushed
 *   GET /stuck       never returns (a handler stuck forever, deaf to is_cancelled)
 *   GET /abort       abort(): the worker dies of SIGABRT
 *   GET /whoami      200 "remote_addr scheme host" as the app was told them
 *   anything else    404
 */
#define _POSIX_C_SOURCE 200809L
#include <gateway.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifndef OPS_BODY
#error "build with -DOPS_BODY=\"...\""
#endif

#define LIT(s) { (const uint8_t *)(s), sizeof(s) - 1 }

static int app_marker;

static int str_eq(gw_str s, const char *lit) {
    size_t n = strlen(lit);
    return s.len == n && (n == 0 || memcmp(s.ptr, lit, n) == 0);
}

static int lower(int c) { return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c; }

static int name_is(gw_str s, const char *lit) {
    size_t n = strlen(lit);
    size_t i;
    if (s.len != n) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        if (lower(s.ptr[i]) != lower((unsigned char)lit[i])) {
            return 0;
        }
    }
    return 1;
}

static void sleep_ms(long ms) {
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0) {
    }
}

/* 200 text/plain with the given body. */
static int32_t text(const gw_responder *res, const char *body, size_t len) {
    char digits[24];
    gw_header headers[2] = { { LIT("Content-Type"), LIT("text/plain") }, { LIT("Content-Length"), LIT("") } };
    int32_t rc;
    snprintf(digits, sizeof digits, "%lu", (unsigned long)len);
    headers[1].value.ptr = (const uint8_t *)digits;
    headers[1].value.len = strlen(digits);
    rc = res->start_response(res->ctx, 200, headers, 2);
    return rc == GW_OK ? res->write(res->ctx, (const uint8_t *)body, len) : rc;
}

static long query_number(gw_str query, const char *name) {
    size_t n = strlen(name);
    size_t i = 0;
    long v = 0;
    if (query.len <= n || memcmp(query.ptr, name, n) != 0 || query.ptr[n] != '=') {
        return 0;
    }
    for (i = n + 1; i < query.len && query.ptr[i] >= '0' && query.ptr[i] <= '9' && v < 60000; i++) {
        v = v * 10 + (query.ptr[i] - '0');
    }
    return v > 60000 ? 60000 : v;
}

static int32_t ops_create(const gw_host_table *host, gw_str settings_path, void **out_app,
                          gw_error_buf *error) {
    static const char READY[] = "ops app " OPS_BODY " ready";
    (void)settings_path;
    (void)error;
    if (out_app == NULL) {
        return GW_ERR_INVALID;
    }
    if (host != NULL && host->max_log_level >= GW_LOG_INFO) {
        gw_str target = LIT("ops_app");
        gw_str message = { (const uint8_t *)READY, sizeof(READY) - 1 };
        host->log(host->ctx, GW_LOG_INFO, target, message);
    }
    *out_app = &app_marker;
    return GW_OK;
}

static int32_t ops_handle(void *app, const gw_request *req, const gw_responder *res) {
    static const char BODY[] = OPS_BODY;
    static const char SLEPT[] = "slept " OPS_BODY;
    char buf[512];
    size_t i;
    (void)app;
    if (str_eq(req->path, "/plaintext")) {
        return text(res, BODY, sizeof(BODY) - 1);
    }
    if (str_eq(req->path, "/pid")) {
        snprintf(buf, sizeof buf, "%ld", (long)getpid());
        return text(res, buf, strlen(buf));
    }
    if (str_eq(req->path, "/slow")) {
        sleep_ms(query_number(req->query, "ms"));
        return text(res, SLEPT, sizeof(SLEPT) - 1);
    }
    if (str_eq(req->path, "/drip")) {
        static const gw_header CHUNKED[1] = { { LIT("Content-Type"), LIT("text/plain") } };
        long ms = query_number(req->query, "ms");
        int32_t rc = res->start_response(res->ctx, 200, CHUNKED, 1);
        for (i = 0; rc == GW_OK && i < 8; i++) {
            sleep_ms(ms);
            rc = res->write(res->ctx, (const uint8_t *)"drip\n", 5);
            if (rc == GW_OK) {
                rc = res->write(res->ctx, (const uint8_t *)"", 0);
            }
        }
        return rc;
    }
    if (str_eq(req->path, "/stuck")) {
        for (;;) {
            sleep_ms(1000);
        }
    }
    if (str_eq(req->path, "/abort")) {
        abort();
    }
    if (str_eq(req->path, "/whoami")) {
        gw_str host = LIT("");
        for (i = 0; i < req->header_count; i++) {
            if (name_is(req->headers[i].name, "host")) {
                host = req->headers[i].value;
            }
        }
        snprintf(buf, sizeof buf, "%.*s %.*s %.*s", (int)req->remote_addr.len,
                 (const char *)req->remote_addr.ptr, (int)req->url_scheme.len,
                 (const char *)req->url_scheme.ptr, (int)host.len, (const char *)host.ptr);
        return text(res, buf, strlen(buf));
    }
    {
        static const gw_header NOT_FOUND[2] = { { LIT("Content-Type"), LIT("text/plain") },
                                                { LIT("Content-Length"), LIT("9") } };
        int32_t rc = res->start_response(res->ctx, 404, NOT_FOUND, 2);
        return rc == GW_OK ? res->write(res->ctx, (const uint8_t *)"Not Found", 9) : rc;
    }
}

static void ops_destroy(void *app) { (void)app; }

static const gw_app_table TABLE = {
    sizeof(gw_app_table), GW_ABI_MAJOR, GW_ABI_MINOR, LIT("ops-app"),
    ops_create,           ops_handle,   ops_destroy,
    NULL, /* manage: no management commands */
};

const gw_app_table *portico_app_entry(void);
const gw_app_table *portico_app_entry(void) { return &TABLE; }
