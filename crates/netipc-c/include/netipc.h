/*
 * netipc.h - the C API of NetIPC (libnetipc), a Rust implementation of the
 * local IPC protocol Netdata plugins use to talk to each other on one host.
 *
 * Build and link:   cc app.c $(pkg-config --cflags --libs netipc)
 * (static:          cc app.c $(pkg-config --static --cflags --libs netipc))
 *
 * ------------------------------------------------------------------------
 * Families
 * ------------------------------------------------------------------------
 *   Level 2 client   nipc_client_init / refresh / ready / status / close,
 *                    nipc_client_call_<method>, abort, set_call_timeout
 *   Level 2 server   nipc_server_init_typed / run / stop / drain / destroy,
 *                    C callbacks filling response builders
 *   Level 3 cache    nipc_cgroups_cache_init / refresh / ready / read_lock /
 *                    get / item_dup / read_unlock / item_free / status / close
 *   Errors           nipc_error_t, nipc_last_error_message, nipc_error_name
 *
 * One endpoint serves one service kind (nipc_service_kind_t); a client,
 * cache or server handle is bound to one kind. Clients never assume the
 * provider exists: create them, then call nipc_client_refresh() from your
 * own loop (there are no hidden threads on the client side).
 *
 * ------------------------------------------------------------------------
 * Return values
 * ------------------------------------------------------------------------
 * Every function returns an nipc_error_t (NIPC_OK == 0 on success) unless
 * its comment names a sentinel (nipc_client_ready: false, counts: 0,
 * strings: never NULL). On failure nipc_last_error_message() describes the
 * cause on the calling thread. NULL handles and pointers, invalid names
 * and out-of-range values return NIPC_ERR_INVALID_ARGUMENT (or
 * NIPC_ERR_OUT_OF_RANGE) and never crash; a handle of the wrong type or a
 * closed handle is detected on a best-effort basis. No Rust panic crosses
 * this API: an internal bug returns NIPC_ERR_INTERNAL.
 *
 * ------------------------------------------------------------------------
 * Ownership: who frees what
 * ------------------------------------------------------------------------
 *   nipc_client_t *            nipc_client_init      -> nipc_client_close
 *   nipc_server_t *            nipc_server_init_typed -> nipc_server_destroy
 *   nipc_cgroups_cache_t *     nipc_cgroups_cache_init -> nipc_cgroups_cache_close
 *   nipc_cgroups_cache_guard_t * nipc_cgroups_cache_read_lock
 *                                                    -> nipc_cgroups_cache_read_unlock
 *   nipc_cgroups_cache_item_t * nipc_cgroups_cache_item_dup
 *                                                    -> nipc_cgroups_cache_item_free
 * Never free() anything the library returns. Everything else the library
 * hands out is BORROWED:
 *   - response views (nipc_str_t answers, snapshot and lookup views, their
 *     items, strings and labels) point into storage owned by the client:
 *     valid until the next call on the same client, or its close;
 *   - items from nipc_cgroups_cache_get / _item_at point into the guarded
 *     snapshot: valid until nipc_cgroups_cache_read_unlock of that guard;
 *   - requests, builders and strings passed to server callbacks: valid only
 *     during that callback;
 *   - nipc_last_error_message(): until the next failing call on the thread;
 *   - nipc_error_name(), nipc_version(): static.
 * Strings returned by the library are nipc_str_t { ptr, len }: use len;
 * ptr is never NULL and ptr[len] is '\0'. Everything the caller passes in
 * (names, configs, keys, labels, handler structs) is copied or used only
 * during the call, except a server handler's `user` pointer, which must
 * stay valid until nipc_server_destroy() returns.
 *
 * ------------------------------------------------------------------------
 * Threads
 * ------------------------------------------------------------------------
 *   - A client is a single-owner object: do not call it from two threads at
 *     once. The exceptions are nipc_client_abort() / _clear_abort(), which
 *     another thread may call while a call blocks (shutdown).
 *   - Server callbacks run concurrently on the server's session threads.
 *   - A cache is internally synchronised: refresh on one thread while other
 *     threads take read guards and look up. A guard is used by one thread
 *     at a time; copy items (item_dup) to hand them to other threads.
 *   - Views are not shared across threads without copying.
 *
 * ------------------------------------------------------------------------
 * Client lifecycle and failures
 * ------------------------------------------------------------------------
 * States (nipc_client_state_t): DISCONNECTED -> refresh -> READY, or
 * NOT_FOUND (no provider yet: routine), AUTH_FAILED / INCOMPATIBLE
 * (actionable), BROKEN (a READY session failed, timed out or was aborted:
 * refresh reconnects). Calls are blocking and at-least-once: a call that
 * fails on a READY client is resent once on a new connection; timeouts
 * (NIPC_ERR_TIMEOUT) and aborts (NIPC_ERR_ABORTED) are never retried. Each
 * call has one deadline (nipc_client_set_call_timeout / call_timeout_ms,
 * default 30 s). SHM is used when both sides support it; callers never see
 * which transport runs.
 */

#ifndef NETIPC_H
#define NETIPC_H

/*
 * Generated by cbindgen from crates/netipc-c/src; do not edit by hand.
 * Regenerate with: NETIPC_WRITE_HEADER=1 cargo build -p netipc-c
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// Major version of this library (and of the soname `libnetipc.so.0`).
#define NIPC_VERSION_MAJOR 0

// Minor version of this library.
#define NIPC_VERSION_MINOR 1

// Patch version of this library.
#define NIPC_VERSION_PATCH 0

// Transport profile bit: the UDS `SOCK_SEQPACKET` baseline.
#define NIPC_PROFILE_BASELINE 1

// Transport profile bit: the POSIX shared-memory fast path.
#define NIPC_PROFILE_SHM_HYBRID 2

// `uid` value of an APPS_LOOKUP item whose UID is not known.
#define NIPC_UID_UNSET 4294967295

// Longest `comm` of an APPS_LOOKUP item, in bytes.
#define NIPC_APPS_LOOKUP_COMM_MAX_LEN 15

// Orchestrator value: none / not known.
#define NIPC_ORCHESTRATOR_UNKNOWN 0

// Orchestrator value: systemd.
#define NIPC_ORCHESTRATOR_SYSTEMD 1

// Orchestrator value: Docker.
#define NIPC_ORCHESTRATOR_DOCKER 2

// Orchestrator value: Kubernetes.
#define NIPC_ORCHESTRATOR_K8S 3

// Orchestrator value: KVM.
#define NIPC_ORCHESTRATOR_KVM 4

// Orchestrator value: LXC.
#define NIPC_ORCHESTRATOR_LXC 5

// Orchestrator value: Podman.
#define NIPC_ORCHESTRATOR_PODMAN 6

// Orchestrator value: systemd-nspawn.
#define NIPC_ORCHESTRATOR_NSPAWN 7

// Status code returned by every function that can fail.
//
// `NIPC_OK` (0) is success; every other value is a failure, and
// `nipc_last_error_message()` then describes it (on the calling thread).
typedef enum {
    // Success.
    NIPC_OK = 0,
    // A NULL handle or pointer, an invalid name, a length without bytes,
    // a value outside its range, or data the codec rejects (for example a
    // string containing a NUL byte).
    NIPC_ERR_INVALID_ARGUMENT = 1,
    // No server listens at the endpoint (normal while the provider is not
    // running yet); for cache and view look-ups: no such item.
    NIPC_ERR_NOT_FOUND = 2,
    // The server rejected the auth token (fix the configuration).
    NIPC_ERR_AUTH_FAILED = 3,
    // Protocol, layout or payload-limit negotiation failed (fix the
    // versions or the configuration).
    NIPC_ERR_INCOMPATIBLE = 4,
    // The call did not complete within its timeout.
    NIPC_ERR_TIMEOUT = 5,
    // The call was aborted with `nipc_client_abort()` /
    // `nipc_cgroups_cache_abort()` (sticky until cleared).
    NIPC_ERR_ABORTED = 6,
    // The peer sent malformed bytes or broke a protocol rule (including a
    // `BAD_ENVELOPE` answer, a lookup echo or generation mismatch).
    NIPC_ERR_PROTOCOL = 7,
    // A payload, batch or lookup ceiling was exceeded.
    NIPC_ERR_LIMIT_EXCEEDED = 8,
    // The peer closed the connection.
    NIPC_ERR_PEER_CLOSED = 9,
    // The client is not READY (DISCONNECTED or BROKEN): call
    // `nipc_client_refresh()` first.
    NIPC_ERR_NOT_READY = 10,
    // A bug inside the library (a caught Rust panic). Never expected.
    NIPC_ERR_INTERNAL = 11,
    // An operating-system error (socket, shared memory, file).
    NIPC_ERR_IO = 12,
    // The server does not serve this method, or no common transport
    // profile exists.
    NIPC_ERR_UNSUPPORTED = 13,
    // Another live server already serves this endpoint.
    NIPC_ERR_ADDRESS_IN_USE = 14,
    // The server's handler failed (the server answered `INTERNAL_ERROR`,
    // also after the one at-least-once retry).
    NIPC_ERR_SERVER_ERROR = 15,
    // The call does not match the handle's service kind (for example an
    // INCREMENT call on a `cgroups-snapshot` client).
    NIPC_ERR_WRONG_KIND = 16,
    // An index is past the end of a view, request or guard.
    NIPC_ERR_OUT_OF_RANGE = 17,
} nipc_error_t;

// Per-item status of a CGROUPS_LOOKUP response item.
typedef enum {
    // Known: name, labels and orchestrator are meaningful.
    NIPC_LOOKUP_KNOWN = 0,
    // Not known yet; asking again later may succeed.
    NIPC_LOOKUP_UNKNOWN_RETRY_LATER = 1,
    // Not known and will not become known in this provider generation.
    NIPC_LOOKUP_UNKNOWN_PERMANENT = 2,
    // Budget reached at this item (only seen by server handlers: clients
    // retry such items internally).
    NIPC_LOOKUP_PAYLOAD_EXCEEDED = 3,
    // The item cannot fit by itself in the maximum budget (final).
    NIPC_LOOKUP_OVERSIZED_ITEM = 4,
} nipc_lookup_status_t;

// PID status of an APPS_LOOKUP response item.
typedef enum {
    // The provider knows the process.
    NIPC_PID_KNOWN = 0,
    // The provider does not know this PID.
    NIPC_PID_UNKNOWN = 1,
    // Budget reached at this item (only seen by server handlers).
    NIPC_PID_PAYLOAD_EXCEEDED = 2,
    // The item cannot fit by itself in the maximum budget (final).
    NIPC_PID_OVERSIZED_ITEM = 3,
} nipc_pid_status_t;

// Cgroup status of an APPS_LOOKUP response item (meaningful only when the
// PID status is `NIPC_PID_KNOWN`; `NIPC_CGROUP_KNOWN` (0) otherwise).
typedef enum {
    // The process cgroup is known: path, name, labels, orchestrator.
    NIPC_CGROUP_KNOWN = 0,
    // The cgroup is not known yet (the path may be empty).
    NIPC_CGROUP_UNKNOWN_RETRY_LATER = 1,
    // The cgroup path is known but will never be enriched.
    NIPC_CGROUP_UNKNOWN_PERMANENT = 2,
    // The process lives in the host root cgroup.
    NIPC_CGROUP_HOST_ROOT = 3,
} nipc_cgroup_status_t;

// Connection state of a client (see the header's lifecycle notes).
typedef enum {
    // Not connected; `nipc_client_refresh()` will connect.
    NIPC_CLIENT_DISCONNECTED = 0,
    // A connection attempt is in progress (seen only from inside a call).
    NIPC_CLIENT_CONNECTING = 1,
    // Connected and handshaken: calls may proceed.
    NIPC_CLIENT_READY = 2,
    // Nobody serves the endpoint (routine: the provider may start later).
    NIPC_CLIENT_NOT_FOUND = 3,
    // The server rejected the auth token (actionable).
    NIPC_CLIENT_AUTH_FAILED = 4,
    // Version, layout, profile or payload-limit mismatch (actionable).
    NIPC_CLIENT_INCOMPATIBLE = 5,
    // A READY connection failed, or a call timed out or was aborted;
    // `nipc_client_refresh()` reconnects (routine).
    NIPC_CLIENT_BROKEN = 6,
} nipc_client_state_t;

// The service kind a client, cache or server handle is bound to (one
// endpoint serves one kind). The values are the protocol method codes.
typedef enum {
    // `INCREMENT`: u64 in, u64 out (test and benchmark method).
    NIPC_SERVICE_INCREMENT = 1,
    // `CGROUPS_SNAPSHOT`: the full cgroups snapshot (`cgroups-snapshot`).
    NIPC_SERVICE_CGROUPS_SNAPSHOT = 2,
    // `STRING_REVERSE`: string in, string out (test method).
    NIPC_SERVICE_STRING_REVERSE = 3,
    // `CGROUPS_LOOKUP`: cgroup paths in, metadata out (`cgroups-lookup`).
    NIPC_SERVICE_CGROUPS_LOOKUP = 4,
    // `APPS_LOOKUP`: PIDs in, process and cgroup metadata out
    // (`apps-lookup`).
    NIPC_SERVICE_APPS_LOOKUP = 5,
} nipc_service_kind_t;

// The response of an APPS_LOOKUP handler (opaque; valid only during the
// callback that received it).
typedef struct nipc_apps_lookup_builder_t nipc_apps_lookup_builder_t;

// A decoded APPS_LOOKUP request (opaque; valid only during the callback
// that received it).
typedef struct nipc_apps_lookup_request_t nipc_apps_lookup_request_t;

// A read guard over the cache's published snapshot (opaque;
// `nipc_cgroups_cache_read_lock()` / `nipc_cgroups_cache_read_unlock()`).
//
// It keeps that snapshot alive: items borrowed through it stay valid
// until it is unlocked, whatever refreshes (or even a close of the cache)
// happen meanwhile. Taking one does not block refreshes or other readers.
// A guard may be used by one thread at a time.
typedef struct nipc_cgroups_cache_guard_t nipc_cgroups_cache_guard_t;

// A Level 3 cache of a `cgroups-snapshot` service (opaque;
// `nipc_cgroups_cache_init()` / `nipc_cgroups_cache_close()`).
//
// Internally synchronised: one thread may refresh while others read
// through read guards.
typedef struct nipc_cgroups_cache_t nipc_cgroups_cache_t;

// The response of a CGROUPS_LOOKUP handler (opaque; valid only during the
// callback that received it).
typedef struct nipc_cgroups_lookup_builder_t nipc_cgroups_lookup_builder_t;

// A decoded CGROUPS_LOOKUP request (opaque; valid only during the
// callback that received it).
typedef struct nipc_cgroups_lookup_request_t nipc_cgroups_lookup_request_t;

// The response of a CGROUPS_SNAPSHOT handler (opaque; valid only during
// the callback that received it).
typedef struct nipc_cgroups_snapshot_builder_t nipc_cgroups_snapshot_builder_t;

// A Level 2 client bound to one service kind (opaque; create it with
// `nipc_client_init()`, release it with `nipc_client_close()`).
typedef struct nipc_client_t nipc_client_t;

// A running managed server (opaque; `nipc_server_init_typed()` /
// `nipc_server_destroy()`).
typedef struct nipc_server_t nipc_server_t;

// The answer of a STRING_REVERSE handler (opaque; valid only during the
// callback that received it).
typedef struct nipc_string_reverse_builder_t nipc_string_reverse_builder_t;

// A byte string with its length: `len` bytes at `ptr`.
//
// Strings returned by the library are never NULL and are also
// NUL-terminated (`ptr[len] == '\0'`), but may in principle contain any
// bytes: use `len`. Strings passed to the library may have `ptr == NULL`
// only when `len == 0`, and need no NUL terminator.
typedef struct {
    // First byte.
    const char *ptr;
    // Length in bytes, without any NUL terminator.
    size_t len;
} nipc_str_t;

// One cgroup of a CGROUPS_SNAPSHOT response or of a cache read guard.
//
// Borrowed: `name` and `path` point into storage owned by the client (a
// snapshot view: valid until the next call on that client or its close)
// or by the cache read guard (valid until `nipc_cgroups_cache_read_unlock`).
// Use `nipc_cgroups_cache_item_dup()` for a copy that outlives them.
typedef struct {
    // Producer-computed identity hash (compare, do not recompute).
    uint32_t hash;
    // Cgroup option flags.
    uint32_t options;
    // Whether the cgroup is enabled (raw value).
    uint32_t enabled;
    // Cgroup name.
    nipc_str_t name;
    // Cgroup path.
    nipc_str_t path;
} nipc_cgroup_item_t;

// A CGROUPS_SNAPSHOT response.
//
// Borrowed: `items` (and every string of every item) is owned by the
// client and valid until the next call on the same client or its close.
typedef struct {
    // Provider generation of the snapshot.
    uint64_t generation;
    // The snapshot's `systemd_enabled` field.
    uint32_t systemd_enabled;
    // Number of items.
    size_t item_count;
    // `item_count` items in snapshot order.
    const nipc_cgroup_item_t *items;
} nipc_cgroups_snapshot_view_t;

// One label (`key = value`) of a lookup item.
typedef struct {
    // Label key (never empty in responses; must not be empty when built).
    nipc_str_t key;
    // Label value (may be empty).
    nipc_str_t value;
} nipc_label_t;

// One item of a CGROUPS_LOOKUP result (request order).
//
// Borrowed: valid until the next call on the same client or its close.
typedef struct {
    // Item status (never `NIPC_LOOKUP_PAYLOAD_EXCEEDED` in client
    // results: those items are retried and stitched internally).
    nipc_lookup_status_t status;
    // Raw orchestrator value (`NIPC_ORCHESTRATOR_*`, or unknown values).
    uint16_t orchestrator;
    // The requested path, echoed.
    nipc_str_t path;
    // Cgroup name (empty unless `NIPC_LOOKUP_KNOWN`).
    nipc_str_t name;
    // Number of labels.
    size_t label_count;
    // `label_count` labels.
    const nipc_label_t *labels;
} nipc_cgroups_lookup_item_t;

// A CGROUPS_LOOKUP result: one item per requested path, in order.
//
// Borrowed: valid until the next call on the same client or its close.
typedef struct {
    // Provider generation shared by every subresponse.
    uint64_t generation;
    // Number of items (equal to the number of requested paths).
    size_t item_count;
    // `item_count` items.
    const nipc_cgroups_lookup_item_t *items;
} nipc_cgroups_lookup_view_t;

// One item of an APPS_LOOKUP result (request order).
//
// Borrowed: valid until the next call on the same client or its close.
typedef struct {
    // The requested PID, echoed.
    uint32_t pid;
    // PID status (never `NIPC_PID_PAYLOAD_EXCEEDED` in client results).
    nipc_pid_status_t status;
    // Cgroup status (meaningful when `status` is `NIPC_PID_KNOWN`).
    nipc_cgroup_status_t cgroup_status;
    // Raw orchestrator value.
    uint16_t orchestrator;
    // Parent PID, or 0.
    uint32_t ppid;
    // UID, or `NIPC_UID_UNSET`.
    uint32_t uid;
    // Start time in jiffies since boot (0 when unknown).
    uint64_t starttime;
    // Process name (at most 15 bytes).
    nipc_str_t comm;
    // Cgroup path.
    nipc_str_t cgroup_path;
    // Cgroup name.
    nipc_str_t cgroup_name;
    // Number of labels.
    size_t label_count;
    // `label_count` labels.
    const nipc_label_t *labels;
} nipc_apps_lookup_item_t;

// An APPS_LOOKUP result: one item per requested PID, in order.
//
// Borrowed: valid until the next call on the same client or its close.
typedef struct {
    // Provider generation shared by every subresponse.
    uint64_t generation;
    // Number of items (equal to the number of requested PIDs).
    size_t item_count;
    // `item_count` items.
    const nipc_apps_lookup_item_t *items;
} nipc_apps_lookup_view_t;

// Client (and cache) configuration. Zero-initialise it (`= {0}`) and set
// what you need: every zero field means "the documented library
// default". Passing NULL instead of a configuration means all defaults.
typedef struct {
    // Authentication token presented in the handshake (must match the
    // server's).
    uint64_t auth_token;
    // Transport profiles this client supports (`NIPC_PROFILE_*` bits);
    // 0 = baseline and SHM. `NIPC_PROFILE_BASELINE` alone = UDS only.
    uint32_t supported_profiles;
    // Profiles this client prefers; 0 = SHM (masked by the supported
    // profiles).
    uint32_t preferred_profiles;
    // Request payload proposal in bytes; 0 = derived from the method.
    uint32_t request_payload_bytes;
    // Response payload hint in bytes; 0 = the method default (overflow
    // recovery grows it automatically).
    uint32_t response_payload_bytes;
    // Cap of automatic payload growth, and the largest response budget
    // accepted from a server; 0 = the library cap.
    uint32_t max_payload_bytes;
    // Intended batch size of batch calls; 0 = 1000.
    uint32_t batch_items;
    // Deadline of one logical call (reconnects, retries and lookup
    // subcalls included), in milliseconds; 0 = 30000.
    uint32_t call_timeout_ms;
    // Deadline of one connection attempt in `refresh`, in milliseconds;
    // 0 = 5000.
    uint32_t connect_timeout_ms;
    // Most keys one lookup call may hold; 0 = 1048576.
    uint32_t lookup_max_items;
    // Most requests one lookup call may make; 0 = 65536.
    uint32_t lookup_max_subcalls;
    // Most bytes one stitched lookup result may hold; 0 = 256 MiB.
    uint64_t lookup_max_response_bytes;
    // Transport packet size to propose; 0 = automatic.
    uint32_t packet_size;
    // Upper bound of the SHM receive spin before sleeping, in
    // microseconds; 0 = the library default.
    uint32_t shm_max_spin_us;
    // Never spin on SHM receives (sleep in the kernel at once).
    bool shm_no_spin;
    // Do not install the process-wide SIGBUS handler that protects SHM
    // mappings. Set it only if the application owns SIGBUS; a peer that
    // truncates a region file can then kill the process.
    bool no_sigbus_handler;
} nipc_client_config_t;

// Diagnostic snapshot of a client (for logs, not hot paths).
typedef struct {
    // Current connection state.
    nipc_client_state_t state;
    // Successful connections (handshakes) since creation.
    uint64_t connect_count;
    // Successful connections that replaced an earlier session.
    uint64_t reconnect_count;
    // Typed calls started (including those rejected as not ready).
    uint64_t call_count;
    // Typed calls that failed.
    uint64_t error_count;
    // At-least-once resends after a reconnect.
    uint64_t retry_count;
    // Reconnects made to grow the negotiated payload budgets.
    uint64_t overflow_reconnect_count;
    // Times SHM was selected but could not be attached.
    uint64_t shm_fallback_count;
    // Whether SHM was dropped from this client's proposals.
    bool shm_disabled;
    // Whether the current session runs over shared memory.
    bool shm_attached;
    // Selected transport profile bit, 0 when not connected.
    uint32_t selected_profile;
    // Agreed request payload budget (0 when not connected).
    uint32_t request_payload_bytes;
    // Agreed response payload budget (0 when not connected).
    uint32_t response_payload_bytes;
    // Agreed batch-item limit (0 when not connected).
    uint32_t batch_items;
    // Server-assigned session id (0 when not connected).
    uint64_t session_id;
} nipc_client_status_t;

// Managed server configuration. Zero-initialise it and set what you
// need: every zero field means "the documented library default"; NULL
// means all defaults.
typedef struct {
    // The token clients must present.
    uint64_t auth_token;
    // Profiles offered (`NIPC_PROFILE_*` bits); 0 = baseline and SHM.
    uint32_t supported_profiles;
    // Profiles preferred; 0 = SHM (masked by the supported profiles).
    uint32_t preferred_profiles;
    // Request payload budget in bytes; 0 = zero-config growth mode
    // (start small, grow on demand up to the library cap).
    uint32_t max_request_payload_bytes;
    // Response payload budget in bytes; 0 = zero-config growth mode.
    uint32_t max_response_payload_bytes;
    // Most items one batch request may carry; 0 = no server ceiling.
    uint32_t max_batch_items;
    // Most sessions served at once (one thread each); 0 = 64.
    uint32_t max_sessions;
    // Most handshakes run at once; 0 = 16.
    uint32_t max_pending_handshakes;
    // Deadline of one handshake in milliseconds; 0 = 5000.
    uint32_t handshake_timeout_ms;
    // How long `nipc_server_stop()` lets requests in progress finish, in
    // milliseconds; 0 = 5000.
    uint32_t drain_timeout_ms;
    // Packet size to offer; 0 = automatic.
    uint32_t packet_size;
    // Upper bound of the SHM receive spin in microseconds; 0 = default.
    uint32_t shm_max_spin_us;
    // Never spin on SHM receives.
    bool shm_no_spin;
    // Do not install the process-wide SIGBUS handler (see
    // `nipc_client_config_t.no_sigbus_handler`).
    bool no_sigbus_handler;
} nipc_server_config_t;

// INCREMENT handler: answers `value` in `*result_out` (conventionally
// `value + 1`). Return `true` on success; `false` makes the server answer
// `INTERNAL_ERROR` and close that session.
typedef bool (*nipc_increment_handler_fn)(void *user, uint64_t value, uint64_t *result_out);

// STRING_REVERSE handler: `len` bytes at `text` (NUL-terminated too) in,
// the answer appended to `out` with `nipc_string_reverse_builder_append()`.
// Return `true` on success, `false` for `INTERNAL_ERROR`.
typedef bool (*nipc_string_reverse_handler_fn)(void *user,
                                               const char *text,
                                               size_t len,
                                               nipc_string_reverse_builder_t *out);

// CGROUPS_SNAPSHOT handler: fills `builder` (header, then items). Return
// `true` on success, `false` for `INTERNAL_ERROR`. If an add failed with
// `NIPC_ERR_LIMIT_EXCEEDED`, the server answers `LIMIT_EXCEEDED` whatever
// the callback returns (the client then reconnects with a grown budget).
typedef bool (*nipc_cgroups_snapshot_handler_fn)(void *user,
                                                 nipc_cgroups_snapshot_builder_t *builder);

// CGROUPS_LOOKUP handler: add exactly one item per request path, in
// request order (prefer `nipc_cgroups_lookup_builder_add_request_item()`).
// Return `true` on success, `false` for `INTERNAL_ERROR`; leaving items
// out is also `INTERNAL_ERROR`.
typedef bool (*nipc_cgroups_lookup_handler_fn)(void *user,
                                               const nipc_cgroups_lookup_request_t *request,
                                               nipc_cgroups_lookup_builder_t *builder);

// APPS_LOOKUP handler: add exactly one item per request PID, in request
// order. Return `true` on success, `false` for `INTERNAL_ERROR`.
typedef bool (*nipc_apps_lookup_handler_fn)(void *user,
                                            const nipc_apps_lookup_request_t *request,
                                            nipc_apps_lookup_builder_t *builder);

// The typed handler of a server: the service kind and its callback.
//
// Set `kind` (a `nipc_service_kind_t`) and the one callback field that
// matches it; the others are ignored. `user` is passed to every call.
// Callbacks run concurrently on the server's session threads (one per
// connected client): `user` and everything it reaches must be
// thread-safe. Requests are at-least-once: a client may resend after a
// reconnect, so handlers must tolerate duplicates.
typedef struct {
    // The service kind served (a `nipc_service_kind_t`).
    uint32_t kind;
    // Opaque pointer passed to the callback.
    void *user;
    // Callback of `NIPC_SERVICE_INCREMENT`.
    nipc_increment_handler_fn increment;
    // Callback of `NIPC_SERVICE_STRING_REVERSE`.
    nipc_string_reverse_handler_fn string_reverse;
    // Callback of `NIPC_SERVICE_CGROUPS_SNAPSHOT`.
    nipc_cgroups_snapshot_handler_fn cgroups_snapshot;
    // Callback of `NIPC_SERVICE_CGROUPS_LOOKUP`.
    nipc_cgroups_lookup_handler_fn cgroups_lookup;
    // Callback of `NIPC_SERVICE_APPS_LOOKUP`.
    nipc_apps_lookup_handler_fn apps_lookup;
} nipc_server_handler_t;

// Counters of a server since it started (diagnostics).
typedef struct {
    // Connections accepted.
    uint64_t connections_accepted;
    // Sessions that completed the handshake.
    uint64_t sessions_started;
    // Handshakes that failed for any reason.
    uint64_t handshake_failures;
    // Of those, wrong auth tokens.
    uint64_t auth_failures;
    // Requests received.
    uint64_t requests;
    // Requests answered `UNSUPPORTED`.
    uint64_t unsupported;
    // Requests answered `BAD_ENVELOPE`.
    uint64_t bad_envelopes;
    // Requests answered `LIMIT_EXCEEDED`.
    uint64_t limit_exceeded;
    // Handler failures (callbacks returning `false`): `INTERNAL_ERROR`.
    uint64_t handler_failures;
    // Sessions currently served.
    uint64_t active_sessions;
} nipc_server_stats_t;

// The fields of one APPS_LOOKUP response item other than its PID and
// labels (input of the APPS_LOOKUP builder).
//
// Rules (checked): strings contain no NUL bytes; `comm` is at most 15
// bytes. For `NIPC_PID_KNOWN`, `comm` is 1..15 bytes and the cgroup
// fields follow `cgroup_status` (`KNOWN`: non-empty path;
// `UNKNOWN_RETRY_LATER`: orchestrator 0, empty name, no labels;
// `UNKNOWN_PERMANENT`: non-empty path, orchestrator 0, empty name, no
// labels; `HOST_ROOT`: orchestrator 0, empty path and name, no labels).
// Any other PID status requires zeros, `uid = NIPC_UID_UNSET`, empty
// strings and no labels (use the `_add_request_unknown` function).
typedef struct {
    // PID status (a `nipc_pid_status_t`).
    uint32_t status;
    // Cgroup status (a `nipc_cgroup_status_t`).
    uint32_t cgroup_status;
    // Raw orchestrator value.
    uint16_t orchestrator;
    // Parent PID, or 0.
    uint32_t ppid;
    // UID, or `NIPC_UID_UNSET`.
    uint32_t uid;
    // Start time in jiffies since boot, or 0.
    uint64_t starttime;
    // Process name.
    nipc_str_t comm;
    // Cgroup path.
    nipc_str_t cgroup_path;
    // Cgroup name.
    nipc_str_t cgroup_name;
} nipc_apps_lookup_entry_t;

// An owned copy of one cached cgroup (`nipc_cgroups_cache_item_dup()`;
// free it with `nipc_cgroups_cache_item_free()`, never with `free()`).
//
// The strings are owned by the copy, NUL-terminated, and live until
// `nipc_cgroups_cache_item_free()`.
typedef struct {
    // Producer-computed identity hash.
    uint32_t hash;
    // Cgroup option flags.
    uint32_t options;
    // Whether the cgroup is enabled (raw value).
    uint32_t enabled;
    // Cgroup name (NUL-terminated, `name_len` bytes before the NUL).
    const char *name;
    // Length of `name` in bytes.
    size_t name_len;
    // Cgroup path (NUL-terminated).
    const char *path;
    // Length of `path` in bytes.
    size_t path_len;
} nipc_cgroups_cache_item_t;

// Diagnostic state of a cache (for logs, not hot paths).
typedef struct {
    // Whether any refresh has succeeded (the cache has data).
    bool populated;
    // Items in the published snapshot.
    size_t item_count;
    // Generation of the published snapshot.
    uint64_t generation;
    // Duplicate `(hash, name)` items dropped from it.
    uint32_t duplicate_count;
    // Successful refreshes.
    uint64_t refresh_success_count;
    // Failed refreshes.
    uint64_t refresh_failure_count;
    // Wall-clock time of the last successful refresh in milliseconds
    // since the Unix epoch; 0 if none.
    uint64_t last_refresh_unix_ms;
    // State of the underlying client connection (`ready` means "has
    // data", not "connected").
    nipc_client_state_t connection_state;
    // Full status of the underlying client.
    nipc_client_status_t client;
} nipc_cgroups_cache_status_t;

#ifdef __cplusplus
extern "C" {
#endif // __cplusplus

// The library version as a static NUL-terminated string (`"0.1.0"`).
// Never NULL, never freed.
const char *nipc_version(void);

// The 32-bit identity hash NetIPC producers use for cgroup names (the
// `hash` of snapshot items and cache keys) over `len` bytes at `name`.
// Returns 0 when `name` is NULL and `len` is not 0.
//
// # Safety
//
// `name` points to `len` readable bytes (or is NULL with `len == 0`).
uint32_t nipc_simple_hash(const char *name, size_t len);

// The message of the last failed call made by the calling thread, as a
// NUL-terminated string naming the function and the cause (for example
// `"nipc_client_call_increment: service not found"`); `""` if no call
// has failed on this thread yet.
//
// Successful calls leave it unchanged. The pointer stays valid until the
// next failing call on the same thread; copy the text to keep it. Never
// returns NULL.
const char *nipc_last_error_message(void);

// The name of status code `err` (`"NIPC_OK"`, `"NIPC_ERR_TIMEOUT"`, ...),
// or `"NIPC_ERR_UNKNOWN"` for a value that is not a `nipc_error_t`.
// Static storage: never freed, never NULL.
const char *nipc_error_name(int32_t err);

// Number of items of a snapshot view; 0 when `view` is NULL.
//
// # Safety
//
// `view` is NULL or points to a view filled by the library.
size_t nipc_snapshot_item_count(const nipc_cgroups_snapshot_view_t *view);

// Copies item `index` of a snapshot view to `*item_out` (the strings stay
// borrowed from the client). `NIPC_ERR_OUT_OF_RANGE` past the end.
//
// # Safety
//
// `view` is NULL or a view filled by the library and still valid (no
// later call on its client); `item_out` is NULL or writable.
nipc_error_t nipc_snapshot_item(const nipc_cgroups_snapshot_view_t *view,
                                size_t index,
                                nipc_cgroup_item_t *item_out);

// Number of items of a CGROUPS_LOOKUP view; 0 when `view` is NULL.
//
// # Safety
//
// `view` is NULL or points to a view filled by the library.
size_t nipc_cgroups_lookup_item_count(const nipc_cgroups_lookup_view_t *view);

// Copies item `index` of a CGROUPS_LOOKUP view to `*item_out` (strings
// and labels stay borrowed). `NIPC_ERR_OUT_OF_RANGE` past the end.
//
// # Safety
//
// As `nipc_snapshot_item`.
nipc_error_t nipc_cgroups_lookup_item(const nipc_cgroups_lookup_view_t *view,
                                      size_t index,
                                      nipc_cgroups_lookup_item_t *item_out);

// Number of items of an APPS_LOOKUP view; 0 when `view` is NULL.
//
// # Safety
//
// `view` is NULL or points to a view filled by the library.
size_t nipc_apps_lookup_item_count(const nipc_apps_lookup_view_t *view);

// Copies item `index` of an APPS_LOOKUP view to `*item_out` (strings and
// labels stay borrowed). `NIPC_ERR_OUT_OF_RANGE` past the end.
//
// # Safety
//
// As `nipc_snapshot_item`.
nipc_error_t nipc_apps_lookup_item(const nipc_apps_lookup_view_t *view,
                                   size_t index,
                                   nipc_apps_lookup_item_t *item_out);

// Copies label `index` of a lookup item's labels (`labels` /
// `label_count` of a `nipc_cgroups_lookup_item_t` or
// `nipc_apps_lookup_item_t`) to `*label_out`. `NIPC_ERR_OUT_OF_RANGE`
// past the end.
//
// # Safety
//
// `labels` points to `label_count` labels from a still-valid view;
// `label_out` is NULL or writable.
nipc_error_t nipc_lookup_label(const nipc_label_t *labels,
                               size_t label_count,
                               size_t index,
                               nipc_label_t *label_out);

// Creates a client for service `kind` (a `nipc_service_kind_t`) at
// `{run_dir}/{service_name}.sock`. Does not connect and does not need the
// server to exist: drive the connection with `nipc_client_refresh()`.
//
// - `run_dir`, `service_name`: NUL-terminated; the name is
//   `[A-Za-z0-9._-]+` (not `.` or `..`). Both are copied.
// - `config`: NULL for defaults, or a zero-initialised config with the
//   fields you need set (copied).
// - `*client_out` receives the handle; release it with
//   `nipc_client_close()`. Unchanged on failure.
//
// Errors: `NIPC_ERR_INVALID_ARGUMENT` (NULL pointers, unknown kind,
// invalid service name or profiles).
//
// # Safety
//
// String arguments are NULL or NUL-terminated; `config` is NULL or
// valid; `client_out` is NULL or writable.
nipc_error_t nipc_client_init(uint32_t kind,
                              const char *run_dir,
                              const char *service_name,
                              const nipc_client_config_t *config,
                              nipc_client_t **client_out);

// Does the connection work, from the caller's own loop (no background
// threads): connects when not READY, reconnects a BROKEN session, and
// checks a READY one for a hang-up. Blocks at most the connect timeout.
//
// Returns `NIPC_OK` when the client is READY afterwards; otherwise the
// code of the state: `NIPC_ERR_NOT_FOUND` (no server yet: routine),
// `NIPC_ERR_AUTH_FAILED`, `NIPC_ERR_INCOMPATIBLE` (actionable),
// `NIPC_ERR_NOT_READY` (DISCONNECTED / BROKEN: try again later).
// `*changed_out` (optional, may be NULL) tells whether the state changed.
//
// # Safety
//
// `client` is NULL or a live handle not used concurrently by another
// thread (except abort / clear_abort); `changed_out` is NULL or writable.
nipc_error_t nipc_client_refresh(nipc_client_t *client, bool *changed_out);

// Whether the client is READY (a cached field: no I/O, cheap enough for
// hot paths). Sentinel: `false` for NULL or an invalid handle.
//
// # Safety
//
// As `nipc_client_refresh`.
bool nipc_client_ready(const nipc_client_t *client);

// Fills `*status_out` with a diagnostic snapshot (state, counters,
// negotiated budgets). For logs, not hot paths.
//
// # Safety
//
// As `nipc_client_refresh`; `status_out` is NULL or writable.
nipc_error_t nipc_client_status(const nipc_client_t *client, nipc_client_status_t *status_out);

// Sets the timeout of every later typed call on this client, in
// milliseconds: one deadline per logical call, covering reconnects, the
// at-least-once retry and every lookup subcall. 0 restores the
// configured `call_timeout_ms`. A call that times out returns
// `NIPC_ERR_TIMEOUT`, is not retried, and leaves the client BROKEN.
//
// # Safety
//
// As `nipc_client_refresh`.
nipc_error_t nipc_client_set_call_timeout(nipc_client_t *client, uint32_t timeout_ms);

// Aborts the call currently blocked on this client, and every later one,
// until `nipc_client_clear_abort()` (or close). The aborted call returns
// `NIPC_ERR_ABORTED` and is not retried.
//
// The only functions that may be called from another thread while a
// call runs on the client are this one and `nipc_client_clear_abort()`
// (for example from a shutdown thread). The handle must stay open until
// both have returned.
//
// # Safety
//
// `client` is NULL or a live handle.
nipc_error_t nipc_client_abort(const nipc_client_t *client);

// Clears an abort set by `nipc_client_abort()`.
//
// # Safety
//
// As `nipc_client_abort`.
nipc_error_t nipc_client_clear_abort(const nipc_client_t *client);

// Closes the connection and frees the client, its buffers and every view
// it returned. NULL is a no-op (`NIPC_OK`). The handle is invalid
// afterwards.
//
// # Safety
//
// `client` is NULL or a live handle that no other thread uses any more.
nipc_error_t nipc_client_close(nipc_client_t *client);

// INCREMENT: sends `value`, stores the answer in `*value_out`.
//
// Calls on a client that is not READY fail at once without I/O
// (`NIPC_ERR_NOT_FOUND`, `_AUTH_FAILED`, `_INCOMPATIBLE` in those states,
// `NIPC_ERR_NOT_READY` when DISCONNECTED / BROKEN, `NIPC_ERR_ABORTED`
// while aborted). A call that fails on a READY client is resent once on
// a new connection (at-least-once). `NIPC_ERR_WRONG_KIND` unless the
// client is an INCREMENT client.
//
// # Safety
//
// `client` is NULL or a live handle not used concurrently (except
// abort); `value_out` is NULL or writable.
nipc_error_t nipc_client_call_increment(nipc_client_t *client, uint64_t value, uint64_t *value_out);

// INCREMENT batch: sends `count` values (split into as many requests as
// the negotiated limits need) and stores the `count` answers, in order,
// in `values_out` (caller-owned, `count` elements). `count == 0` sends
// nothing. Errors as `nipc_client_call_increment`.
//
// # Safety
//
// `values` holds `count` readable values and `values_out` `count`
// writable ones (either may be NULL when `count == 0`); `client` as
// `nipc_client_call_increment`.
nipc_error_t nipc_client_call_increment_batch(nipc_client_t *client,
                                              const uint64_t *values,
                                              size_t count,
                                              uint64_t *values_out);

// STRING_REVERSE: sends `len` bytes at `text` (no NUL needed; the text
// must not contain NUL bytes) and stores the answer in `*reversed_out`.
//
// The answer points into client storage: valid until the next call on
// this client or its close. Errors as `nipc_client_call_increment`.
//
// # Safety
//
// `text` holds `len` readable bytes (or is NULL with `len == 0`);
// `reversed_out` is NULL or writable; `client` as
// `nipc_client_call_increment`.
nipc_error_t nipc_client_call_string_reverse(nipc_client_t *client,
                                             const char *text,
                                             size_t len,
                                             nipc_str_t *reversed_out);

// STRING_REVERSE batch: sends `count` strings and stores the `count`
// answers, in order, in `reversed_out` (caller-owned array of `count`
// elements; the strings point into client storage, valid until the next
// call on this client or its close). Errors as
// `nipc_client_call_increment`.
//
// # Safety
//
// `texts` holds `count` strings each with `len` readable bytes;
// `reversed_out` holds `count` writable elements (either may be NULL
// when `count == 0`); `client` as `nipc_client_call_increment`.
nipc_error_t nipc_client_call_string_reverse_batch(nipc_client_t *client,
                                                   const nipc_str_t *texts,
                                                   size_t count,
                                                   nipc_str_t *reversed_out);

// CGROUPS_SNAPSHOT: fetches the full snapshot into `*view_out`.
//
// The view (its `items` array and every string) is client storage:
// valid until the next call on this client or its close. Errors as
// `nipc_client_call_increment`; a malformed snapshot returns
// `NIPC_ERR_PROTOCOL` and drops the connection.
//
// # Safety
//
// `view_out` is NULL or writable; `client` as
// `nipc_client_call_increment`.
nipc_error_t nipc_client_call_cgroups_snapshot(nipc_client_t *client,
                                               nipc_cgroups_snapshot_view_t *view_out);

// CGROUPS_LOOKUP: looks up `count` cgroup paths (each non-empty, no NUL
// bytes) and stores one item per path, in request order, in `*view_out`.
//
// Level 2 splits the paths over as many requests as the negotiated
// budgets need, retries `PAYLOAD_EXCEEDED` items and stitches one
// logical result; a path too long for any request is answered
// `NIPC_LOOKUP_OVERSIZED_ITEM`. Every subresponse must echo its paths and
// share one generation (`NIPC_ERR_PROTOCOL` otherwise). `count == 0`
// sends one probe to learn the provider generation.
//
// The view is client storage: valid until the next call on this client
// or its close. Other errors as `nipc_client_call_increment`, plus
// `NIPC_ERR_INVALID_ARGUMENT` (empty path, NUL byte) and
// `NIPC_ERR_LIMIT_EXCEEDED` (lookup ceilings).
//
// # Safety
//
// `paths` holds `count` strings each with `len` readable bytes (NULL
// when `count == 0`); `view_out` is NULL or writable; `client` as
// `nipc_client_call_increment`.
nipc_error_t nipc_client_call_cgroups_lookup(nipc_client_t *client,
                                             const nipc_str_t *paths,
                                             size_t count,
                                             nipc_cgroups_lookup_view_t *view_out);

// APPS_LOOKUP: looks up `count` PIDs and stores one item per PID, in
// request order, in `*view_out` (split, retried and stitched as for
// `nipc_client_call_cgroups_lookup`).
//
// The view is client storage: valid until the next call on this client
// or its close. Errors as `nipc_client_call_cgroups_lookup`.
//
// # Safety
//
// `pids` holds `count` readable values (NULL when `count == 0`);
// `view_out` is NULL or writable; `client` as
// `nipc_client_call_increment`.
nipc_error_t nipc_client_call_apps_lookup(nipc_client_t *client,
                                          const uint32_t *pids,
                                          size_t count,
                                          nipc_apps_lookup_view_t *view_out);

// Creates a managed server for `handler->kind` at
// `{run_dir}/{service_name}.sock` and starts serving at once: when this
// returns `NIPC_OK` the socket is bound and clients may connect (an
// acceptor thread and one thread per session run the callbacks).
//
// - `config`: NULL for defaults, or a zero-initialised config (copied).
// - `handler`: the kind and its callback (copied; `user` must stay valid
//   until `nipc_server_destroy()` returns).
// - `*server_out` receives the handle; release it with
//   `nipc_server_destroy()`.
//
// Stale socket and SHM files of dead servers are reclaimed. Errors:
// `NIPC_ERR_INVALID_ARGUMENT` (NULL, unknown kind, missing callback,
// invalid name or profiles), `NIPC_ERR_ADDRESS_IN_USE` (a live server
// owns the endpoint), `NIPC_ERR_IO`.
//
// # Safety
//
// String arguments are NULL or NUL-terminated; `config` and `handler`
// are NULL or valid; the callbacks are valid functions with the
// documented signatures; `server_out` is NULL or writable.
nipc_error_t nipc_server_init_typed(const char *run_dir,
                                    const char *service_name,
                                    const nipc_server_config_t *config,
                                    const nipc_server_handler_t *handler,
                                    nipc_server_t **server_out);

// Blocks the calling thread until the server is stopped
// (`nipc_server_stop()`, `nipc_server_drain()` or
// `nipc_server_destroy()` from another thread), then returns `NIPC_OK`.
// Serving itself runs on the library's threads from
// `nipc_server_init_typed()` on; `run` only parks a thread (for example
// the plugin's server thread) for the server's lifetime. Several threads
// may run it; it returns at once on a stopped server.
//
// # Safety
//
// `server` is NULL or a live handle (it may be destroyed by another
// thread while this call blocks).
nipc_error_t nipc_server_run(nipc_server_t *server);

// Stops the server: stops accepting (the socket file is removed), lets
// requests in progress finish within the configured `drain_timeout_ms`,
// closes every session and wakes every `nipc_server_run()` caller.
// Blocks until done. Idempotent (later calls report the first result).
//
// Returns `NIPC_OK` when every session finished in time,
// `NIPC_ERR_TIMEOUT` when some had to be closed forcibly. Do not call it
// from inside a callback of the same server (that session would wait out
// the drain timeout).
//
// # Safety
//
// `server` is NULL or a live handle.
nipc_error_t nipc_server_stop(nipc_server_t *server);

// Graceful drain with an explicit deadline: like `nipc_server_stop()`
// but waits at most `timeout_ms` for requests in progress (0 = the
// configured drain timeout). Returns `NIPC_OK` if every session finished
// in time, `NIPC_ERR_TIMEOUT` if some were closed forcibly. On an
// already stopped server it reports the first stop's result.
//
// # Safety
//
// `server` is NULL or a live handle.
nipc_error_t nipc_server_drain(nipc_server_t *server, uint32_t timeout_ms);

// Fills `*stats_out` with the server's counters.
//
// # Safety
//
// `server` is NULL or a live handle; `stats_out` is NULL or writable.
nipc_error_t nipc_server_stats(const nipc_server_t *server, nipc_server_stats_t *stats_out);

// Stops the server if it still runs (as `nipc_server_stop()`) and frees
// the handle. NULL is a no-op. Blocked `nipc_server_run()` callers
// return. The handle is invalid afterwards.
//
// # Safety
//
// `server` is NULL or a live handle that no other thread will use again
// (threads blocked in `nipc_server_run` are fine).
nipc_error_t nipc_server_destroy(nipc_server_t *server);

// Appends `len` bytes at `bytes` to a STRING_REVERSE answer (call it as
// often as needed; the answer must not contain NUL bytes).
//
// # Safety
//
// `builder` is the one passed to the running callback; `bytes` holds
// `len` readable bytes (or is NULL with `len == 0`).
nipc_error_t nipc_string_reverse_builder_append(nipc_string_reverse_builder_t *builder,
                                                const char *bytes,
                                                size_t len);

// Sets the snapshot header fields (both 0 by default).
//
// # Safety
//
// `builder` is the one passed to the running callback.
nipc_error_t nipc_cgroups_snapshot_builder_set_header(nipc_cgroups_snapshot_builder_t *builder,
                                                      uint32_t systemd_enabled,
                                                      uint64_t generation);

// Appends one cgroup to the snapshot. `name` and `path` are byte strings
// of the given lengths without NUL bytes (copied). Use
// `nipc_simple_hash()` for `hash` unless you have the producer's value.
//
// `NIPC_ERR_LIMIT_EXCEEDED` when the snapshot would pass the server's
// largest response budget (the server then answers `LIMIT_EXCEEDED`
// whatever the callback returns); `NIPC_ERR_INVALID_ARGUMENT` for an
// invalid string (nothing added).
//
// # Safety
//
// `builder` is the one passed to the running callback; the strings hold
// their lengths in readable bytes (or are NULL with length 0).
nipc_error_t nipc_cgroups_snapshot_builder_add(nipc_cgroups_snapshot_builder_t *builder,
                                               uint32_t hash,
                                               uint32_t options,
                                               uint32_t enabled,
                                               const char *name,
                                               size_t name_len,
                                               const char *path,
                                               size_t path_len);

// Number of paths in a CGROUPS_LOOKUP request; 0 for NULL.
//
// # Safety
//
// `request` is NULL or the request passed to the running callback.
size_t nipc_cgroups_lookup_request_count(const nipc_cgroups_lookup_request_t *request);

// Path `index` of a CGROUPS_LOOKUP request in `*path_out` (borrowed from
// the request: valid during the callback). `NIPC_ERR_OUT_OF_RANGE` past
// the end.
//
// # Safety
//
// `request` is NULL or the request passed to the running callback;
// `path_out` is NULL or writable.
nipc_error_t nipc_cgroups_lookup_request_path(const nipc_cgroups_lookup_request_t *request,
                                              size_t index,
                                              nipc_str_t *path_out);

// Sets the provider generation of the response (0 by default).
//
// # Safety
//
// `builder` is the one passed to the running callback.
nipc_error_t nipc_cgroups_lookup_builder_set_generation(nipc_cgroups_lookup_builder_t *builder,
                                                        uint64_t generation);

// Adds the item for request path `index` (which must be the next one),
// echoing the decoded path without scanning it again: the preferred way
// to answer a request.
//
// `status` is a `nipc_lookup_status_t`; `name`, `labels` and
// `orchestrator` must be empty / 0 unless it is `NIPC_LOOKUP_KNOWN`
// (label keys non-empty; no string may contain NUL bytes). When the
// response budget is reached the builder itself encodes this and every
// later item as `NIPC_LOOKUP_PAYLOAD_EXCEEDED` (or
// `NIPC_LOOKUP_OVERSIZED_ITEM`): keep adding every item regardless.
// `*encoded_out` (optional) receives the status actually encoded.
//
// # Safety
//
// `builder` / `request` are the ones passed to the running callback;
// strings and `labels` hold their lengths in readable elements;
// `encoded_out` is NULL or writable.
nipc_error_t nipc_cgroups_lookup_builder_add_request_item(nipc_cgroups_lookup_builder_t *builder,
                                                          const nipc_cgroups_lookup_request_t *request,
                                                          size_t index,
                                                          uint32_t status,
                                                          uint16_t orchestrator,
                                                          const char *name,
                                                          size_t name_len,
                                                          const nipc_label_t *labels,
                                                          size_t label_count,
                                                          nipc_lookup_status_t *encoded_out);

// Adds request path `index` (the next one) as not enriched: `status`
// must not be `NIPC_LOOKUP_KNOWN`. `*encoded_out` as above.
//
// # Safety
//
// As `nipc_cgroups_lookup_builder_add_request_item`.
nipc_error_t nipc_cgroups_lookup_builder_add_request_unknown(nipc_cgroups_lookup_builder_t *builder,
                                                             const nipc_cgroups_lookup_request_t *request,
                                                             size_t index,
                                                             uint32_t status,
                                                             nipc_lookup_status_t *encoded_out);

// Adds the next item with an application-owned `path` (validated:
// non-empty, no NUL, the same length as the request path it answers).
// Prefer `nipc_cgroups_lookup_builder_add_request_item()` for paths taken
// from the request. Other arguments as that function.
//
// # Safety
//
// As `nipc_cgroups_lookup_builder_add_request_item`.
nipc_error_t nipc_cgroups_lookup_builder_add(nipc_cgroups_lookup_builder_t *builder,
                                             const char *path,
                                             size_t path_len,
                                             uint32_t status,
                                             uint16_t orchestrator,
                                             const char *name,
                                             size_t name_len,
                                             const nipc_label_t *labels,
                                             size_t label_count,
                                             nipc_lookup_status_t *encoded_out);

// Number of PIDs in an APPS_LOOKUP request; 0 for NULL.
//
// # Safety
//
// `request` is NULL or the request passed to the running callback.
size_t nipc_apps_lookup_request_count(const nipc_apps_lookup_request_t *request);

// PID `index` of an APPS_LOOKUP request in `*pid_out`.
// `NIPC_ERR_OUT_OF_RANGE` past the end.
//
// # Safety
//
// `request` is NULL or the request passed to the running callback;
// `pid_out` is NULL or writable.
nipc_error_t nipc_apps_lookup_request_pid(const nipc_apps_lookup_request_t *request,
                                          size_t index,
                                          uint32_t *pid_out);

// Sets the provider generation of the response (0 by default).
//
// # Safety
//
// `builder` is the one passed to the running callback.
nipc_error_t nipc_apps_lookup_builder_set_generation(nipc_apps_lookup_builder_t *builder,
                                                     uint64_t generation);

// Adds the item for request PID `index` (which must be the next one)
// with the fields of `*entry` and `label_count` labels (checked as
// documented at `nipc_apps_lookup_entry_t`). Budget handling as in
// `nipc_cgroups_lookup_builder_add_request_item()`; `*encoded_out`
// (optional) receives the PID status actually encoded.
//
// # Safety
//
// `builder` / `request` are the ones passed to the running callback;
// `entry` is valid with readable strings; `labels` holds `label_count`
// readable labels; `encoded_out` is NULL or writable.
nipc_error_t nipc_apps_lookup_builder_add_request_item(nipc_apps_lookup_builder_t *builder,
                                                       const nipc_apps_lookup_request_t *request,
                                                       size_t index,
                                                       const nipc_apps_lookup_entry_t *entry,
                                                       const nipc_label_t *labels,
                                                       size_t label_count,
                                                       nipc_pid_status_t *encoded_out);

// Adds request PID `index` (the next one) as `NIPC_PID_UNKNOWN`.
//
// # Safety
//
// As `nipc_apps_lookup_builder_add_request_item`.
nipc_error_t nipc_apps_lookup_builder_add_request_unknown(nipc_apps_lookup_builder_t *builder,
                                                          const nipc_apps_lookup_request_t *request,
                                                          size_t index,
                                                          nipc_pid_status_t *encoded_out);

// Adds the next item for an application-supplied `pid` (which should
// echo the request PID). Prefer
// `nipc_apps_lookup_builder_add_request_item()`.
//
// # Safety
//
// As `nipc_apps_lookup_builder_add_request_item`.
nipc_error_t nipc_apps_lookup_builder_add(nipc_apps_lookup_builder_t *builder,
                                          uint32_t pid,
                                          const nipc_apps_lookup_entry_t *entry,
                                          const nipc_label_t *labels,
                                          size_t label_count,
                                          nipc_pid_status_t *encoded_out);

// Creates an empty cache over a `cgroups-snapshot` client at
// `{run_dir}/{service_name}.sock`. Does not connect (the provider may
// start later). `config` as for `nipc_client_init()` (NULL = defaults).
// `*cache_out` receives the handle; release it with
// `nipc_cgroups_cache_close()`.
//
// # Safety
//
// String arguments are NULL or NUL-terminated; `config` is NULL or
// valid; `cache_out` is NULL or writable.
nipc_error_t nipc_cgroups_cache_init(const char *run_dir,
                                     const char *service_name,
                                     const nipc_client_config_t *config,
                                     nipc_cgroups_cache_t **cache_out);

// Refreshes the cache from the caller's own loop: connects or reconnects
// as needed, fetches the full snapshot and publishes a new indexed copy.
// Returns `NIPC_OK` when the cache was updated. On any failure the
// previous data stays published and the error is returned
// (`NIPC_ERR_NOT_FOUND` while the provider is absent, ...).
//
// Thread-safe: may run while other threads read through guards
// (concurrent refreshes are serialised).
//
// # Safety
//
// `cache` is NULL or a live handle.
nipc_error_t nipc_cgroups_cache_refresh(const nipc_cgroups_cache_t *cache);

// Whether any refresh has succeeded: the cache has data (even if the
// provider has gone since). No I/O. Sentinel: `false` for NULL or an
// invalid handle.
//
// # Safety
//
// `cache` is NULL or a live handle.
bool nipc_cgroups_cache_ready(const nipc_cgroups_cache_t *cache);

// Takes a read guard over the published snapshot into `*guard_out`
// (no lock is held: refreshes go on and publish new snapshots; the guard
// keeps its own alive). Release it with `nipc_cgroups_cache_read_unlock()`.
//
// # Safety
//
// `cache` is NULL or a live handle; `guard_out` is NULL or writable.
nipc_error_t nipc_cgroups_cache_read_lock(const nipc_cgroups_cache_t *cache,
                                          nipc_cgroups_cache_guard_t **guard_out);

// Releases a read guard; every item borrowed through it becomes invalid.
// NULL is a no-op.
//
// # Safety
//
// `guard` is NULL or a live guard not used afterwards.
nipc_error_t nipc_cgroups_cache_read_unlock(nipc_cgroups_cache_guard_t *guard);

// Looks up `(hash, name)` in the guarded snapshot: pure memory, no I/O,
// no allocation. On `NIPC_OK`, `*item_out` borrows from the guard (valid
// until `nipc_cgroups_cache_read_unlock()`; use
// `nipc_cgroups_cache_item_dup()` to keep it). `NIPC_ERR_NOT_FOUND` when
// the cache has no such item (not recorded as an error message).
//
// # Safety
//
// `guard` is NULL or a live guard; `name` holds `name_len` readable
// bytes (or is NULL with `name_len == 0`); `item_out` is NULL or
// writable.
nipc_error_t nipc_cgroups_cache_get(const nipc_cgroups_cache_guard_t *guard,
                                    uint32_t hash,
                                    const char *name,
                                    size_t name_len,
                                    nipc_cgroup_item_t *item_out);

// Number of items in the guarded snapshot; 0 for NULL.
//
// # Safety
//
// `guard` is NULL or a live guard.
size_t nipc_cgroups_cache_item_count(const nipc_cgroups_cache_guard_t *guard);

// Item `index` (snapshot order) of the guarded snapshot in `*item_out`,
// borrowed as for `nipc_cgroups_cache_get()`. `NIPC_ERR_OUT_OF_RANGE`
// past the end.
//
// # Safety
//
// `guard` is NULL or a live guard; `item_out` is NULL or writable.
nipc_error_t nipc_cgroups_cache_item_at(const nipc_cgroups_cache_guard_t *guard,
                                        size_t index,
                                        nipc_cgroup_item_t *item_out);

// The guarded snapshot's header: `*generation_out` and
// `*systemd_enabled_out` (each optional, may be NULL).
//
// # Safety
//
// `guard` is NULL or a live guard; the outputs are NULL or writable.
nipc_error_t nipc_cgroups_cache_header(const nipc_cgroups_cache_guard_t *guard,
                                       uint64_t *generation_out,
                                       uint32_t *systemd_enabled_out);

// Copies a borrowed item (from `nipc_cgroups_cache_get()`,
// `nipc_cgroups_cache_item_at()` or a snapshot view) into an owned
// `*copy_out` that outlives guards, refreshes and threads. Free it with
// `nipc_cgroups_cache_item_free()`.
//
// # Safety
//
// `item` is NULL or a valid item whose strings are still valid;
// `copy_out` is NULL or writable.
nipc_error_t nipc_cgroups_cache_item_dup(const nipc_cgroup_item_t *item,
                                         nipc_cgroups_cache_item_t **copy_out);

// Frees a copy made by `nipc_cgroups_cache_item_dup()` (and its
// strings). NULL is a no-op.
//
// # Safety
//
// `item` is NULL or a pointer returned by `nipc_cgroups_cache_item_dup()`
// not freed yet.
nipc_error_t nipc_cgroups_cache_item_free(nipc_cgroups_cache_item_t *item);

// Fills `*status_out` with the cache's diagnostic state.
//
// # Safety
//
// `cache` is NULL or a live handle; `status_out` is NULL or writable.
nipc_error_t nipc_cgroups_cache_status(const nipc_cgroups_cache_t *cache,
                                       nipc_cgroups_cache_status_t *status_out);

// Sets the timeout of each later refresh, in milliseconds (0 = the
// configured `call_timeout_ms`).
//
// # Safety
//
// `cache` is NULL or a live handle.
nipc_error_t nipc_cgroups_cache_set_timeout(const nipc_cgroups_cache_t *cache, uint32_t timeout_ms);

// Aborts a refresh blocked in another thread, and every later one, until
// `nipc_cgroups_cache_clear_abort()` (`NIPC_ERR_ABORTED`).
//
// # Safety
//
// `cache` is NULL or a live handle.
nipc_error_t nipc_cgroups_cache_abort(const nipc_cgroups_cache_t *cache);

// Clears an abort set by `nipc_cgroups_cache_abort()`.
//
// # Safety
//
// `cache` is NULL or a live handle.
nipc_error_t nipc_cgroups_cache_clear_abort(const nipc_cgroups_cache_t *cache);

// Closes the client connection and frees the cache. Read guards taken
// earlier stay valid (each keeps its snapshot) and must still be
// unlocked. NULL is a no-op. The handle is invalid afterwards.
//
// # Safety
//
// `cache` is NULL or a live handle that no other thread uses any more.
nipc_error_t nipc_cgroups_cache_close(nipc_cgroups_cache_t *cache);

#ifdef __cplusplus
}  // extern "C"
#endif  // __cplusplus

#endif  /* NETIPC_H */
