/*
 * gateway.h: the Portico gateway ABI, version 1.2, for applications written in C (or any language
 * that can export C functions). The Rust crate `gateway-api` and gateway-api/SPEC.md say the same
 * thing; SPEC.md is the full specification of both sides.
 *
 * An app library exports one function, PORTICO_ENTRY_SYMBOL, returning a pointer to a static
 * gw_app_table. The server calls create() once, then handle() for each request, concurrently from
 * many threads (the app must be thread-safe), and destroy() at the end. `portico manage` calls
 * manage() instead (1.1; NULL for an app without management commands). Nothing may unwind (C++
 * exceptions, longjmp) across these functions.
 *
 * Ownership: every gw_str in a gw_request is borrowed and valid only during handle(); copy what you
 * keep. Headers passed to start_response and bytes passed to write are copied by the server before
 * the call returns. gw_host_table lives for the whole process.
 */
#ifndef PORTICO_GATEWAY_H
#define PORTICO_GATEWAY_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GW_ABI_MAJOR 1u
/* 1.0: create, handle, destroy. 1.1: manage, appended to gw_app_table.
 * 1.2: tls_client_subject, appended to gw_request; send_file, appended to gw_responder. */
#define GW_ABI_MINOR 2u
#define PORTICO_ENTRY_SYMBOL portico_app_entry

/* Return codes. */
#define GW_OK 0
#define GW_ERR_ALREADY_STARTED (-1) /* start_response called twice */
#define GW_ERR_NOT_STARTED (-2)     /* write before start_response */
#define GW_ERR_CLIENT_GONE (-3)     /* the client closed or reset the connection */
#define GW_ERR_CANCELLED (-4)       /* deadline passed, or the server gave up on the request */
#define GW_ERR_INVALID (-5)         /* bad status, header bytes, or pointer */
#define GW_ERR_BODY (-6)            /* the request body is malformed or was cut short */
#define GW_ERR_OVERFLOW (-7)        /* more bytes written than the declared Content-Length */
#define GW_ERR_APP (-8)             /* the app failed; before any byte was sent: 502 */

/* is_cancelled() bits. */
#define GW_CANCEL_CLIENT_GONE 1u
#define GW_CANCEL_DEADLINE 2u
#define GW_CANCEL_SHUTDOWN 4u

/* Log levels, as Rust's log crate numbers them. */
#define GW_LOG_ERROR 1u
#define GW_LOG_WARN 2u
#define GW_LOG_INFO 3u
#define GW_LOG_DEBUG 4u
#define GW_LOG_TRACE 5u

/* A borrowed byte string: not NUL-terminated, not necessarily UTF-8; ptr may be NULL when len is 0. */
typedef struct gw_str {
    const uint8_t *ptr;
    size_t len;
} gw_str;

/* One header field. In a request: names as sent (compare case-insensitively), in order received. */
typedef struct gw_header {
    gw_str name;
    gw_str value;
} gw_header;

/* A server-owned buffer for create()'s error message: write at most cap bytes, set len. */
typedef struct gw_error_buf {
    uint8_t *ptr;
    size_t cap;
    size_t len;
} gw_error_buf;

/* Given to create(); valid for the life of the process; callbacks callable from any thread. */
typedef struct gw_host_table {
    size_t struct_size;
    uint32_t abi_major;
    uint32_t abi_minor;
    gw_str server_name;     /* e.g. "portico/0.1.0" */
    void *ctx;              /* pass to log() */
    uint32_t max_log_level; /* most verbose level printed; 0 = logging off */
    /* Emits one record; target and message are copied before it returns. */
    void (*log)(void *ctx, uint32_t level, gw_str target, gw_str message);
} gw_host_table;

/* A request: a borrowed view valid only during handle(). */
typedef struct gw_request {
    size_t struct_size; /* fields past this size are absent */
    uint64_t request_id;
    gw_str method;      /* "GET" */
    gw_str target;      /* the request-target as received: "/a%20b/?x=1" */
    gw_str path;        /* up to the first '?', still percent-encoded; of an absolute-form
                         * target ("http://host/a?b") the part after the authority, or "/" */
    gw_str query;       /* after the first '?'; empty if none */
    uint16_t version_major;
    uint16_t version_minor;
    const gw_header *headers;
    size_t header_count;
    int64_t content_length; /* -1: chunked (unknown); 0: no body */
    gw_str remote_addr;     /* client IP as text (a trusted proxy's X-Forwarded-For); empty for a
                             * unix socket without one */
    uint16_t remote_port;
    gw_str server_addr;     /* local IP as text, or the unix socket path */
    uint16_t server_port;
    gw_str url_scheme;      /* "https" on a TLS connection, else "http"; a trusted proxy's
                             * X-Forwarded-Proto wins */
    uint64_t deadline_unix_ms; /* when the server gives up; 0 = never */
    void *body_ctx;
    /* Reads up to cap decoded body bytes: > 0 bytes read, 0 end of body, < 0 a GW_ERR_* code.
     * Reads from the socket as asked (bodies are never buffered whole); the first call answers
     * Expect: 100-continue. May block. Call only during handle(), on its thread. */
    intptr_t (*read_body)(void *body_ctx, uint8_t *buf, size_t cap);
    /* 1.2: the TLS client certificate's subject, RFC 4514 ("CN=alice,O=Example"); empty when
     * the client presented none. Present only when struct_size covers it (200 bytes end
     * read_body on 64-bit targets, 216 end this field). */
    gw_str tls_client_subject;
} gw_request;

/* The response side: valid only during handle(), callable only from its thread. */
typedef struct gw_responder {
    size_t struct_size;
    void *ctx;
    /* Once, before any write. The server drops hop-by-hop headers and adds Date and Server.
     * A Content-Length header fixes the body length; without one the server chunks (HTTP/1.1). */
    int32_t (*start_response)(void *ctx, uint16_t status, const gw_header *headers, size_t count);
    /* Body bytes, copied before return and coalesced: sent when handle() returns, at 64 KiB
     * pending, or on a flush (len 0). Blocks past 256 KiB unsent (back-pressure). */
    int32_t (*write)(void *ctx, const uint8_t *data, size_t len);
    /* 0 while the request is live; otherwise GW_CANCEL_* bits. */
    uint32_t (*is_cancelled)(void *ctx);
    /* 1.2, may be NULL; absent when struct_size ends before it (a 1.0 / 1.1 server): check
     * struct_size >= offsetof(gw_responder, send_file) + sizeof(void *) first. Sends bytes
     * [offset, offset + len) of the regular file fd as body bytes, exactly as write() would
     * (Content-Length, chunking, HEAD/204/304 discard, after coalesced writes), zero-copy where
     * the connection allows. The app keeps owning fd (not closed, file position not moved); the
     * server is done with it on return. Blocks until the range is handed to the socket.
     * GW_ERR_INVALID: bad fd/offset, not a regular file, range past the end of the file. */
    int32_t (*send_file)(void *ctx, int32_t fd, int64_t offset, uint64_t len);
} gw_responder;

/* The app's static table, returned by PORTICO_ENTRY_SYMBOL. */
typedef struct gw_app_table {
    size_t struct_size;
    uint32_t abi_major; /* must equal GW_ABI_MAJOR */
    uint32_t abi_minor;
    gw_str name;        /* static */
    /* Once, on the main thread. settings_path: --settings, empty if none. On success store the app
     * in *out_app and return GW_OK; on failure write a message into *error, return < 0. */
    int32_t (*create)(const gw_host_table *host, gw_str settings_path, void **out_app,
                      gw_error_buf *error);
    /* Per request, concurrently (up to --threads at once), on the server thread that read the
     * request; it may block. start_response exactly once, then write, then return GW_OK. */
    int32_t (*handle)(void *app, const gw_request *request, const gw_responder *responder);
    /* At most once, after the last handle(). The library is never unloaded. */
    void (*destroy)(void *app);
    /* 1.1, may be NULL (no management commands); absent when struct_size ends before it (1.0).
     * `portico manage` calls it once, on its main thread, instead of create/handle/destroy: argv
     * holds argc strings valid for the call, argv[0] the program name for usage messages
     * ("portico manage path/libapp.so"), argv[1] the command (absent: show the help), then its
     * arguments. The command uses the process's stdin/stdout/stderr (flush before returning).
     * Returns the exit status 0..255; < 0 when the app cannot start (bad settings: a message
     * naming the file, line and problem in *error), which the server prints. */
    int32_t (*manage)(const gw_host_table *host, gw_str settings_path, size_t argc,
                      const gw_str *argv, gw_error_buf *error);
} gw_app_table;

/* What the library exports: const gw_app_table *portico_app_entry(void); */
typedef const gw_app_table *(*gw_entry_fn)(void);

#ifdef __cplusplus
}
#endif

#endif /* PORTICO_GATEWAY_H */
