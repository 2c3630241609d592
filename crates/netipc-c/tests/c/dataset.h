/*
 * The deterministic data set every cross test serves and checks (the Rust
 * side of tests/c_suite.rs mirrors it):
 *
 *   increment         v -> v + 1 (666: handler failure, 999: sleeps 1.5 s)
 *   string_reverse    bytes reversed
 *   cgroups_snapshot  generation 7, systemd_enabled 1, SNAP_ITEMS items:
 *                     name "cg-<i>", path "/sys/fs/cgroup/cg-<i>",
 *                     hash nipc_simple_hash(name), options i, enabled i % 2
 *   cgroups_lookup    generation 9; "/known/<rest>" -> KNOWN, DOCKER, name
 *                     <rest>, labels {k=v, path=<path>}; "/later/..." ->
 *                     UNKNOWN_RETRY_LATER; anything else UNKNOWN_PERMANENT
 *   apps_lookup       generation 11; even pid -> KNOWN: comm "proc<pid>",
 *                     ppid 1, uid 1000, starttime pid*10, cgroup KNOWN,
 *                     path "/cg/<pid>", name "cg<pid>", SYSTEMD, labels
 *                     {pid=<pid>}; odd pid -> UNKNOWN
 */
#ifndef NETIPC_TEST_DATASET_H
#define NETIPC_TEST_DATASET_H

#include "test_util.h"

#define SNAP_ITEMS 1000
#ifndef LONG_REVERSE_LEN
#define LONG_REVERSE_LEN 200000
#endif
#define SNAP_GENERATION 7
#define CGL_GENERATION 9
#define APPS_GENERATION 11

/* ----- Server side ------------------------------------------------------ */

static bool h_increment(void *user, uint64_t value, uint64_t *out) {
    (void)user;
    if (value == 666)
        return false;
    if (value == 999)
        sleep_ms(1500);
    *out = value + 1;
    return true;
}

static bool h_reverse(void *user, const char *text, size_t len, nipc_string_reverse_builder_t *b) {
    (void)user;
    char buf[256];
    while (len > 0) {
        size_t n = len < sizeof(buf) ? len : sizeof(buf);
        for (size_t i = 0; i < n; i++)
            buf[i] = text[len - 1 - i];
        if (nipc_string_reverse_builder_append(b, buf, n) != NIPC_OK)
            return false;
        len -= n;
    }
    return true;
}

static bool h_snapshot(void *user, nipc_cgroups_snapshot_builder_t *b) {
    (void)user;
    if (nipc_cgroups_snapshot_builder_set_header(b, 1, SNAP_GENERATION) != NIPC_OK)
        return false;
    for (uint32_t i = 0; i < SNAP_ITEMS; i++) {
        char name[32], path[64];
        int nl = snprintf(name, sizeof(name), "cg-%u", i);
        int pl = snprintf(path, sizeof(path), "/sys/fs/cgroup/cg-%u", i);
        uint32_t h = nipc_simple_hash(name, (size_t)nl);
        if (nipc_cgroups_snapshot_builder_add(b, h, i, i % 2, name, (size_t)nl, path, (size_t)pl) != NIPC_OK)
            return false;
    }
    return true;
}

static bool h_cgroups_lookup(void *user, const nipc_cgroups_lookup_request_t *req,
                             nipc_cgroups_lookup_builder_t *b) {
    (void)user;
    if (nipc_cgroups_lookup_builder_set_generation(b, CGL_GENERATION) != NIPC_OK)
        return false;
    size_t n = nipc_cgroups_lookup_request_count(req);
    for (size_t i = 0; i < n; i++) {
        nipc_str_t p;
        if (nipc_cgroups_lookup_request_path(req, i, &p) != NIPC_OK)
            return false;
        nipc_error_t e;
        if (p.len > 7 && memcmp(p.ptr, "/known/", 7) == 0) {
            nipc_label_t labels[2] = {{str_of("k"), str_of("v")}, {str_of("path"), p}};
            e = nipc_cgroups_lookup_builder_add_request_item(b, req, i, NIPC_LOOKUP_KNOWN,
                                                             NIPC_ORCHESTRATOR_DOCKER, p.ptr + 7,
                                                             p.len - 7, labels, 2, NULL);
        } else if (p.len > 7 && memcmp(p.ptr, "/later/", 7) == 0) {
            e = nipc_cgroups_lookup_builder_add_request_unknown(b, req, i,
                                                                NIPC_LOOKUP_UNKNOWN_RETRY_LATER, NULL);
        } else {
            e = nipc_cgroups_lookup_builder_add_request_unknown(b, req, i,
                                                                NIPC_LOOKUP_UNKNOWN_PERMANENT, NULL);
        }
        if (e != NIPC_OK)
            return false;
    }
    return true;
}

static bool h_apps_lookup(void *user, const nipc_apps_lookup_request_t *req,
                          nipc_apps_lookup_builder_t *b) {
    (void)user;
    if (nipc_apps_lookup_builder_set_generation(b, APPS_GENERATION) != NIPC_OK)
        return false;
    size_t n = nipc_apps_lookup_request_count(req);
    for (size_t i = 0; i < n; i++) {
        uint32_t pid;
        if (nipc_apps_lookup_request_pid(req, i, &pid) != NIPC_OK)
            return false;
        nipc_error_t e;
        if (pid % 2 == 0) {
            char comm[16], path[32], name[32], pidv[16];
            int cl = snprintf(comm, sizeof(comm), "proc%u", pid % 1000000u);
            int pl = snprintf(path, sizeof(path), "/cg/%u", pid);
            int nl = snprintf(name, sizeof(name), "cg%u", pid);
            int vl = snprintf(pidv, sizeof(pidv), "%u", pid);
            nipc_apps_lookup_entry_t en = {
                .status = NIPC_PID_KNOWN,
                .cgroup_status = NIPC_CGROUP_KNOWN,
                .orchestrator = NIPC_ORCHESTRATOR_SYSTEMD,
                .ppid = 1,
                .uid = 1000,
                .starttime = (uint64_t)pid * 10,
                .comm = {comm, (size_t)cl},
                .cgroup_path = {path, (size_t)pl},
                .cgroup_name = {name, (size_t)nl},
            };
            nipc_label_t l = {str_of("pid"), {pidv, (size_t)vl}};
            e = nipc_apps_lookup_builder_add_request_item(b, req, i, &en, &l, 1, NULL);
        } else {
            e = nipc_apps_lookup_builder_add_request_unknown(b, req, i, NULL);
        }
        if (e != NIPC_OK)
            return false;
    }
    return true;
}

/* The five services of the data set, as handler structs. */
static const char *const SERVICE_NAMES[5] = {"inc", "rev", "snap", "cgl", "apps"};

static nipc_server_handler_t dataset_handler(int i) {
    nipc_server_handler_t h;
    memset(&h, 0, sizeof(h));
    switch (i) {
    case 0:
        h.kind = NIPC_SERVICE_INCREMENT;
        h.increment = h_increment;
        break;
    case 1:
        h.kind = NIPC_SERVICE_STRING_REVERSE;
        h.string_reverse = h_reverse;
        break;
    case 2:
        h.kind = NIPC_SERVICE_CGROUPS_SNAPSHOT;
        h.cgroups_snapshot = h_snapshot;
        break;
    case 3:
        h.kind = NIPC_SERVICE_CGROUPS_LOOKUP;
        h.cgroups_lookup = h_cgroups_lookup;
        break;
    default:
        h.kind = NIPC_SERVICE_APPS_LOOKUP;
        h.apps_lookup = h_apps_lookup;
        break;
    }
    return h;
}

static const uint32_t SERVICE_KINDS[5] = {NIPC_SERVICE_INCREMENT, NIPC_SERVICE_STRING_REVERSE,
                                          NIPC_SERVICE_CGROUPS_SNAPSHOT, NIPC_SERVICE_CGROUPS_LOOKUP,
                                          NIPC_SERVICE_APPS_LOOKUP};

/* ----- Client side ------------------------------------------------------ */

static void check_increment(nipc_client_t *c) {
    uint64_t v = 0;
    CHECK_OK(nipc_client_call_increment(c, 41, &v));
    CHECK(v == 42, "increment(41) = %" PRIu64, v);
    CHECK_OK(nipc_client_call_increment(c, UINT64_MAX - 1, &v));
    CHECK(v == UINT64_MAX, "increment(max-1) = %" PRIu64, v);

    enum { N = 2500 };
    static uint64_t in[N], out[N];
    for (size_t i = 0; i < N; i++) {
        in[i] = 1000 + i * 3; /* clear of the special values 666 and 999 */
        out[i] = 0;
    }
    CHECK_OK(nipc_client_call_increment_batch(c, in, N, out));
    int bad = 0;
    for (size_t i = 0; i < N; i++)
        bad += out[i] != in[i] + 1;
    CHECK(bad == 0, "%d wrong batch answers", bad);
    CHECK_OK(nipc_client_call_increment_batch(c, NULL, 0, NULL));
}

static void check_reverse(nipc_client_t *c) {
    nipc_str_t r;
    CHECK_OK(nipc_client_call_string_reverse(c, "hello, world", 12, &r));
    CHECK(str_eq(r, "dlrow ,olleh"), "reverse = %.*s", (int)r.len, r.ptr);
    CHECK_OK(nipc_client_call_string_reverse(c, NULL, 0, &r));
    CHECK(str_eq(r, ""), "reverse of empty has len %zu", r.len);

    /* A long string (chunked over UDS, grown budgets). */
    size_t n = LONG_REVERSE_LEN;
    char *big = malloc(n);
    for (size_t i = 0; i < n; i++)
        big[i] = (char)('a' + i % 26);
    /* A zero-config server learns a larger request budget from the first
     * over-budget proposal it rejects; the Rust client then reports
     * LIMIT_EXCEEDED once and the next call is accepted. */
    nipc_error_t e = nipc_client_call_string_reverse(c, big, n, &r);
    if (e == NIPC_ERR_LIMIT_EXCEEDED)
        e = nipc_client_call_string_reverse(c, big, n, &r);
    CHECK_ERR(e, NIPC_OK);
    int ok = r.len == n;
    for (size_t i = 0; ok && i < n; i++)
        ok = r.ptr[i] == big[n - 1 - i];
    CHECK(ok, "long reverse mismatch (len %zu)", r.len);
    free(big);

    enum { B = 50 };
    char bufs[B][16];
    nipc_str_t in[B], out[B];
    for (int i = 0; i < B; i++) {
        int l = snprintf(bufs[i], sizeof(bufs[i]), "s%03d-x", i);
        in[i].ptr = bufs[i];
        in[i].len = (size_t)l;
    }
    CHECK_OK(nipc_client_call_string_reverse_batch(c, in, B, out));
    int bad = 0;
    for (int i = 0; i < B; i++) {
        char want[16];
        int l = (int)in[i].len;
        for (int k = 0; k < l; k++)
            want[k] = bufs[i][l - 1 - k];
        want[l] = 0;
        bad += !str_eq(out[i], want);
    }
    CHECK(bad == 0, "%d wrong batch reversals", bad);
}

static void check_snapshot(nipc_client_t *c) {
    nipc_cgroups_snapshot_view_t v;
    CHECK_OK(nipc_client_call_cgroups_snapshot(c, &v));
    CHECK(v.generation == SNAP_GENERATION, "generation %" PRIu64, v.generation);
    CHECK(v.systemd_enabled == 1, "systemd_enabled %u", v.systemd_enabled);
    CHECK(nipc_snapshot_item_count(&v) == SNAP_ITEMS, "item_count %zu", v.item_count);
    int bad = 0;
    for (uint32_t i = 0; i < SNAP_ITEMS && i < v.item_count; i++) {
        nipc_cgroup_item_t it;
        char name[32], path[64];
        snprintf(name, sizeof(name), "cg-%u", i);
        snprintf(path, sizeof(path), "/sys/fs/cgroup/cg-%u", i);
        if (nipc_snapshot_item(&v, i, &it) != NIPC_OK) {
            bad++;
            continue;
        }
        bad += !(it.hash == nipc_simple_hash(name, strlen(name)) && it.options == i &&
                 it.enabled == i % 2 && str_eq(it.name, name) && str_eq(it.path, path));
    }
    CHECK(bad == 0, "%d wrong snapshot items", bad);
    nipc_cgroup_item_t it;
    CHECK_ERR(nipc_snapshot_item(&v, SNAP_ITEMS, &it), NIPC_ERR_OUT_OF_RANGE);
}

static int check_cgl_item(const nipc_cgroups_lookup_item_t *it, const char *path) {
    if (!str_eq(it->path, path))
        return 0;
    if (strncmp(path, "/known/", 7) == 0) {
        nipc_label_t l;
        return it->status == NIPC_LOOKUP_KNOWN && it->orchestrator == NIPC_ORCHESTRATOR_DOCKER &&
               str_eq(it->name, path + 7) && it->label_count == 2 && str_eq(it->labels[0].key, "k") &&
               str_eq(it->labels[0].value, "v") &&
               nipc_lookup_label(it->labels, it->label_count, 1, &l) == NIPC_OK &&
               str_eq(l.key, "path") && str_eq(l.value, path);
    }
    nipc_lookup_status_t want = strncmp(path, "/later/", 7) == 0 ? NIPC_LOOKUP_UNKNOWN_RETRY_LATER
                                                                 : NIPC_LOOKUP_UNKNOWN_PERMANENT;
    return it->status == want && it->name.len == 0 && it->label_count == 0 && it->orchestrator == 0;
}

static void check_cgroups_lookup(nipc_client_t *c) {
    const char *paths[4] = {"/known/docker-abc", "/later/x", "/other/y", "/known/k2"};
    nipc_str_t in[4];
    for (int i = 0; i < 4; i++)
        in[i] = str_of(paths[i]);
    nipc_cgroups_lookup_view_t v;
    CHECK_OK(nipc_client_call_cgroups_lookup(c, in, 4, &v));
    CHECK(v.generation == CGL_GENERATION, "generation %" PRIu64, v.generation);
    CHECK(nipc_cgroups_lookup_item_count(&v) == 4, "count %zu", v.item_count);
    for (int i = 0; i < 4 && (size_t)i < v.item_count; i++) {
        nipc_cgroups_lookup_item_t it;
        CHECK_OK(nipc_cgroups_lookup_item(&v, (size_t)i, &it));
        CHECK(check_cgl_item(&it, paths[i]), "item %d (%s) wrong", i, paths[i]);
    }

    /* Many paths: split over several requests and stitched. */
    enum { N = 3000 };
    static char bufs[N][40];
    static nipc_str_t many[N];
    for (int i = 0; i < N; i++) {
        int l = snprintf(bufs[i], sizeof(bufs[i]), i % 3 ? "/known/p%06d" : "/later/p%06d", i);
        many[i].ptr = bufs[i];
        many[i].len = (size_t)l;
    }
    CHECK_OK(nipc_client_call_cgroups_lookup(c, many, N, &v));
    CHECK(v.item_count == N, "count %zu", v.item_count);
    int bad = 0;
    for (size_t i = 0; i < N && i < v.item_count; i++)
        bad += !check_cgl_item(&v.items[i], bufs[i]);
    CHECK(bad == 0, "%d wrong stitched items", bad);

    /* Probe: no paths. */
    CHECK_OK(nipc_client_call_cgroups_lookup(c, NULL, 0, &v));
    CHECK(v.item_count == 0 && v.generation == CGL_GENERATION, "probe count %zu", v.item_count);
}

static void check_apps_lookup(nipc_client_t *c) {
    enum { N = 2000 };
    static uint32_t pids[N];
    for (uint32_t i = 0; i < N; i++)
        pids[i] = i + 1;
    nipc_apps_lookup_view_t v;
    CHECK_OK(nipc_client_call_apps_lookup(c, pids, N, &v));
    CHECK(v.generation == APPS_GENERATION, "generation %" PRIu64, v.generation);
    CHECK(nipc_apps_lookup_item_count(&v) == N, "count %zu", v.item_count);
    int bad = 0;
    for (size_t i = 0; i < N && i < v.item_count; i++) {
        nipc_apps_lookup_item_t it;
        if (nipc_apps_lookup_item(&v, i, &it) != NIPC_OK) {
            bad++;
            continue;
        }
        uint32_t pid = pids[i];
        if (it.pid != pid) {
            bad++;
            continue;
        }
        if (pid % 2) {
            bad += !(it.status == NIPC_PID_UNKNOWN && it.uid == NIPC_UID_UNSET && it.comm.len == 0 &&
                     it.label_count == 0);
            continue;
        }
        char comm[16], path[32], name[32], pidv[16];
        snprintf(comm, sizeof(comm), "proc%u", pid % 1000000u);
        snprintf(path, sizeof(path), "/cg/%u", pid);
        snprintf(name, sizeof(name), "cg%u", pid);
        snprintf(pidv, sizeof(pidv), "%u", pid);
        bad += !(it.status == NIPC_PID_KNOWN && it.cgroup_status == NIPC_CGROUP_KNOWN &&
                 it.orchestrator == NIPC_ORCHESTRATOR_SYSTEMD && it.ppid == 1 && it.uid == 1000 &&
                 it.starttime == (uint64_t)pid * 10 && str_eq(it.comm, comm) &&
                 str_eq(it.cgroup_path, path) && str_eq(it.cgroup_name, name) &&
                 it.label_count == 1 && str_eq(it.labels[0].key, "pid") &&
                 str_eq(it.labels[0].value, pidv));
    }
    CHECK(bad == 0, "%d wrong apps items", bad);
}

/* Runs every method's checks against the five services of `run_dir`.
 * `shm`: whether the client may use SHM (and must end up on it). */
static void check_all_services(const char *run_dir, int shm) {
    for (int i = 0; i < 5; i++) {
        nipc_client_config_t cfg;
        memset(&cfg, 0, sizeof(cfg));
        cfg.supported_profiles = shm ? 0 : NIPC_PROFILE_BASELINE;
        nipc_client_t *c = NULL;
        CHECK_OK(nipc_client_init(SERVICE_KINDS[i], run_dir, SERVICE_NAMES[i], &cfg, &c));
        if (!c)
            continue;
        CHECK_OK(wait_ready(c));
        CHECK(nipc_client_ready(c), "%s not ready", SERVICE_NAMES[i]);
        switch (i) {
        case 0:
            check_increment(c);
            break;
        case 1:
            check_reverse(c);
            break;
        case 2:
            check_snapshot(c);
            break;
        case 3:
            check_cgroups_lookup(c);
            break;
        default:
            check_apps_lookup(c);
            break;
        }
        nipc_client_status_t st;
        CHECK_OK(nipc_client_status(c, &st));
        CHECK(st.state == NIPC_CLIENT_READY, "%s state %d", SERVICE_NAMES[i], (int)st.state);
        CHECK(st.shm_attached == (shm != 0), "%s shm_attached %d, want %d", SERVICE_NAMES[i],
              (int)st.shm_attached, shm);
        CHECK(st.selected_profile == (uint32_t)(shm ? NIPC_PROFILE_SHM_HYBRID : NIPC_PROFILE_BASELINE),
              "%s profile %u", SERVICE_NAMES[i], st.selected_profile);
        CHECK(st.call_count > 0 && st.error_count <= (uint64_t)(i == 1), "%s calls %" PRIu64 " errors %" PRIu64,
              SERVICE_NAMES[i], st.call_count, st.error_count);
        CHECK_OK(nipc_client_close(c));
    }
}

#endif
