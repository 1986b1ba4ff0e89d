/*
 * c_hello.c: a Portico app in plain C99 against gateway-api/include/gateway.h, to show (and test)
 * that the ABI is usable from C.
 *
 *   GET  /plaintext  200 text/plain "Hello, World!"
 *   POST /echo       200, the body back byte for byte (streamed through a fixed buffer), with the
 *                    request's Content-Type and, when the client declared one, its Content-Length
 *   another method on one of those paths: 405 with Allow (GET, HEAD / POST), empty body
 *   any other path   404 text/plain
 *
 * HEAD /plaintext is answered like GET (the server drops the body). Build:
 *   cc -std=c99 -shared -fPIC -O2 -Wall -Wextra -Werror -I gateway-api/include \
 *      -o libc_hello.so sample-apps/c-hello/c_hello.c
 */
#include <gateway.h>

#include <stdlib.h>
#include <string.h>

/* The sizes gateway-api's layout test states for 64-bit targets: a mismatch is an ABI break. */
#if UINTPTR_MAX == 0xffffffffffffffffu
_Static_assert(sizeof(gw_str) == 16, "gw_str layout");
_Static_assert(sizeof(gw_header) == 32, "gw_header layout");
_Static_assert(sizeof(gw_host_table) == 56, "gw_host_table layout");
_Static_assert(sizeof(gw_request) == 216, "gw_request layout (1.2: tls_client_subject)");
_Static_assert(sizeof(gw_responder) == 48, "gw_responder layout (1.2: send_file)");
/* A 1.1 server's responder ends before send_file: an app reads it only past this size. */
_Static_assert(offsetof(gw_responder, send_file) == 40, "send_file follows is_cancelled");
_Static_assert(sizeof(gw_app_table) == 64, "gw_app_table layout (1.1: manage appended)");
_Static_assert(offsetof(gw_app_table, manage) == 56, "gw_app_table 1.0 ends before manage");
#endif

/* The echo buffer: fixed, so a large upload never sits in memory. */
#define ECHO_BUF_SIZE 16384

#define LIT(s) { (const uint8_t *)(s), sizeof(s) - 1 }

static const char HELLO[] = "Hello, World!";
static const char NOT_FOUND[] = "Not Found";

static const gw_header PLAINTEXT_HEADERS[2] = {
    { LIT("Content-Type"), LIT("text/plain") },
    { LIT("Content-Length"), LIT("13") },
};

static const gw_header NOT_FOUND_HEADERS[2] = {
    { LIT("Content-Type"), LIT("text/plain") },
    { LIT("Content-Length"), LIT("9") },
};

/* RFC 9110 15.5.6: a 405 must list the methods the resource supports in Allow. */
static const gw_header PLAINTEXT_NOT_ALLOWED_HEADERS[2] = {
    { LIT("Allow"), LIT("GET, HEAD") },
    { LIT("Content-Length"), LIT("0") },
};

static const gw_header ECHO_NOT_ALLOWED_HEADERS[2] = {
    { LIT("Allow"), LIT("POST") },
    { LIT("Content-Length"), LIT("0") },
};

static const gw_header BAD_BODY_HEADERS[2] = {
    { LIT("Content-Type"), LIT("text/plain") },
    { LIT("Content-Length"), LIT("29") },
};
static const char BAD_BODY[] = "Bad Request: unreadable body\n";

/* The app needs no state; create hands back the address of this marker so the pointer is valid. */
static int app_marker;

static int str_eq(gw_str s, const char *lit) {
    size_t n = strlen(lit);
    return s.len == n && (n == 0 || memcmp(s.ptr, lit, n) == 0);
}

static int lower(int c) { return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c; }

static int str_eq_nocase(gw_str s, const char *lit) {
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

/* Writes v in decimal at the end of buf (size 24), returns a gw_str of the digits. */
static gw_str decimal(uint64_t v, char *buf) {
    size_t i = 24;
    do {
        buf[--i] = (char)('0' + (v % 10));
        v /= 10;
    } while (v != 0);
    gw_str s = { (const uint8_t *)(buf + i), 24 - i };
    return s;
}

static int32_t echo(const gw_request *req, const gw_responder *res) {
    uint8_t *buf = malloc(ECHO_BUF_SIZE);
    char digits[24];
    gw_header headers[2];
    size_t count = 0;
    size_t i;
    intptr_t n;
    int32_t rc;

    if (buf == NULL) {
        return GW_ERR_APP;
    }
    /* Read before starting the response so a body broken from the start still gets a 400. */
    n = req->read_body(req->body_ctx, buf, ECHO_BUF_SIZE);
    if (n < 0) {
        free(buf);
        rc = res->start_response(res->ctx, 400, BAD_BODY_HEADERS, 2);
        if (rc == GW_OK) {
            rc = res->write(res->ctx, (const uint8_t *)BAD_BODY, sizeof(BAD_BODY) - 1);
        }
        return rc;
    }
    for (i = 0; i < req->header_count; i++) {
        if (str_eq_nocase(req->headers[i].name, "content-type")) {
            headers[count].name = (gw_str)LIT("Content-Type");
            headers[count].value = req->headers[i].value;
            count++;
            break;
        }
    }
    if (req->content_length >= 0) {
        headers[count].name = (gw_str)LIT("Content-Length");
        headers[count].value = decimal((uint64_t)req->content_length, digits);
        count++;
    }
    rc = res->start_response(res->ctx, 200, headers, count);
    while (rc == GW_OK && n > 0) {
        rc = res->write(res->ctx, buf, (size_t)n);
        if (rc == GW_OK) {
            n = req->read_body(req->body_ctx, buf, ECHO_BUF_SIZE);
            if (n < 0) {
                rc = (int32_t)n;
            }
        }
    }
    free(buf);
    return rc;
}

static int32_t c_hello_create(const gw_host_table *host, gw_str settings_path, void **out_app,
                              gw_error_buf *error) {
    static const char READY[] = "c-hello ready";
    (void)settings_path;
    (void)error;
    if (out_app == NULL) {
        return GW_ERR_INVALID;
    }
    if (host != NULL && host->max_log_level >= GW_LOG_INFO) {
        gw_str target = LIT("c_hello");
        gw_str message = { (const uint8_t *)READY, sizeof(READY) - 1 };
        host->log(host->ctx, GW_LOG_INFO, target, message);
    }
    *out_app = &app_marker;
    return GW_OK;
}

static int32_t c_hello_handle(void *app, const gw_request *req, const gw_responder *res) {
    int get = str_eq(req->method, "GET") || str_eq(req->method, "HEAD");
    int32_t rc;
    (void)app;
    if (str_eq(req->path, "/plaintext")) {
        if (!get) {
            return res->start_response(res->ctx, 405, PLAINTEXT_NOT_ALLOWED_HEADERS, 2);
        }
        rc = res->start_response(res->ctx, 200, PLAINTEXT_HEADERS, 2);
        return rc == GW_OK ? res->write(res->ctx, (const uint8_t *)HELLO, sizeof(HELLO) - 1) : rc;
    }
    if (str_eq(req->path, "/echo")) {
        if (!str_eq(req->method, "POST")) {
            return res->start_response(res->ctx, 405, ECHO_NOT_ALLOWED_HEADERS, 2);
        }
        return echo(req, res);
    }
    rc = res->start_response(res->ctx, 404, NOT_FOUND_HEADERS, 2);
    return rc == GW_OK ? res->write(res->ctx, (const uint8_t *)NOT_FOUND, sizeof(NOT_FOUND) - 1)
                       : rc;
}

static void c_hello_destroy(void *app) { (void)app; }

static const gw_app_table TABLE = {
    sizeof(gw_app_table), GW_ABI_MAJOR, GW_ABI_MINOR, LIT("c-hello"),
    c_hello_create,       c_hello_handle, c_hello_destroy,
    NULL, /* manage (ABI 1.1): c-hello has no management commands */
};

/* The entry symbol the server looks up. */
const gw_app_table *portico_app_entry(void);
const gw_app_table *portico_app_entry(void) { return &TABLE; }
