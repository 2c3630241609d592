/*
 * Bad arguments: NULL handles and pointers, zero-length buffers, invalid
 * service names, wrong handle types and kinds, out-of-range indexes, and
 * invalid builder input inside server callbacks. Every one must return an
 * error code (and a message), never crash.
 */
#include "dataset.h"

static int g_builder_checks_ran = 0;

/* A CGROUPS_LOOKUP handler that first feeds its builder invalid input. */
static bool h_bad_cgl(void *user, const nipc_cgroups_lookup_request_t *req,
                      nipc_cgroups_lookup_builder_t *b) {
    (void)user;
    nipc_str_t p;
    CHECK_ERR(nipc_cgroups_lookup_request_path(req, 99, &p), NIPC_ERR_OUT_OF_RANGE);
    CHECK_ERR(nipc_cgroups_lookup_request_path(req, 0, NULL), NIPC_ERR_INVALID_ARGUMENT);
    CHECK_ERR(nipc_cgroups_lookup_request_path(NULL, 0, &p), NIPC_ERR_INVALID_ARGUMENT);
    CHECK(nipc_cgroups_lookup_request_count(NULL) == 0, "count(NULL)");
    /* Wrong enum value, name with a NUL byte, label with NULL bytes. */
    CHECK_ERR(nipc_cgroups_lookup_builder_add_request_item(b, req, 0, 77, 0, NULL, 0, NULL, 0, NULL),
              NIPC_ERR_INVALID_ARGUMENT);
    CHECK_ERR(nipc_cgroups_lookup_builder_add_request_item(b, req, 0, NIPC_LOOKUP_KNOWN, 0, "a\0b", 3,
                                                           NULL, 0, NULL),
              NIPC_ERR_INVALID_ARGUMENT);
    nipc_label_t bad_label = {{NULL, 3}, {NULL, 0}};
    CHECK_ERR(nipc_cgroups_lookup_builder_add_request_item(b, req, 0, NIPC_LOOKUP_KNOWN, 0, "n", 1,
                                                           &bad_label, 1, NULL),
              NIPC_ERR_INVALID_ARGUMENT);
    CHECK_ERR(nipc_cgroups_lookup_builder_add_request_item(b, req, 0, NIPC_LOOKUP_KNOWN, 0, "n", 1,
                                                           NULL, 2, NULL),
              NIPC_ERR_INVALID_ARGUMENT);
    /* KNOWN is not an "unknown" status; index out of order. */
    CHECK_ERR(nipc_cgroups_lookup_builder_add_request_unknown(b, req, 0, NIPC_LOOKUP_KNOWN, NULL),
              NIPC_ERR_INVALID_ARGUMENT);
    CHECK_ERR(nipc_cgroups_lookup_builder_add_request_unknown(b, req, 1, NIPC_LOOKUP_UNKNOWN_PERMANENT,
                                                              NULL),
              NIPC_ERR_INVALID_ARGUMENT);
    /* Wrong handle types: a request where a builder goes and vice versa. */
    CHECK_ERR(nipc_cgroups_lookup_builder_set_generation((nipc_cgroups_lookup_builder_t *)req, 1),
              NIPC_ERR_INVALID_ARGUMENT);
    CHECK_ERR(nipc_cgroups_lookup_builder_set_generation(NULL, 1), NIPC_ERR_INVALID_ARGUMENT);
    /* The raw add validates the path echo. */
    CHECK_ERR(nipc_cgroups_lookup_builder_add(b, "", 0, NIPC_LOOKUP_UNKNOWN_PERMANENT, 0, NULL, 0, NULL,
                                              0, NULL),
              NIPC_ERR_INVALID_ARGUMENT);
    g_builder_checks_ran = 1;
    /* Now answer properly (the builder state is unchanged by failures). */
    size_t n = nipc_cgroups_lookup_request_count(req);
    for (size_t i = 0; i < n; i++) {
        nipc_lookup_status_t enc = NIPC_LOOKUP_KNOWN;
        if (nipc_cgroups_lookup_builder_add_request_unknown(b, req, i, NIPC_LOOKUP_UNKNOWN_PERMANENT,
                                                            &enc) != NIPC_OK ||
            enc != NIPC_LOOKUP_UNKNOWN_PERMANENT)
            return false;
    }
    return true;
}

static bool h_bad_apps(void *user, const nipc_apps_lookup_request_t *req, nipc_apps_lookup_builder_t *b) {
    (void)user;
    nipc_apps_lookup_entry_t e;
    memset(&e, 0, sizeof(e));
    e.status = NIPC_PID_KNOWN;
    e.comm = str_of("this-comm-is-far-too-long");
    e.cgroup_path = str_of("/x");
    CHECK_ERR(nipc_apps_lookup_builder_add_request_item(b, req, 0, &e, NULL, 0, NULL),
              NIPC_ERR_INVALID_ARGUMENT);
    e.comm = str_of("ok");
    e.cgroup_status = 42;
    CHECK_ERR(nipc_apps_lookup_builder_add_request_item(b, req, 0, &e, NULL, 0, NULL),
              NIPC_ERR_INVALID_ARGUMENT);
    CHECK_ERR(nipc_apps_lookup_builder_add_request_item(b, req, 0, NULL, NULL, 0, NULL),
              NIPC_ERR_INVALID_ARGUMENT);
    uint32_t pid;
    CHECK_ERR(nipc_apps_lookup_request_pid(req, 5, &pid), NIPC_ERR_OUT_OF_RANGE);
    size_t n = nipc_apps_lookup_request_count(req);
    for (size_t i = 0; i < n; i++)
        if (nipc_apps_lookup_builder_add_request_unknown(b, req, i, NULL) != NIPC_OK)
            return false;
    return true;
}

static void test_names_and_versions(void) {
    CHECK(strcmp(nipc_error_name(NIPC_OK), "NIPC_OK") == 0, "name");
    CHECK(strcmp(nipc_error_name(NIPC_ERR_TIMEOUT), "NIPC_ERR_TIMEOUT") == 0, "name");
    CHECK(strcmp(nipc_error_name(NIPC_ERR_OUT_OF_RANGE), "NIPC_ERR_OUT_OF_RANGE") == 0, "name");
    CHECK(strcmp(nipc_error_name(999), "NIPC_ERR_UNKNOWN") == 0, "unknown name");
    CHECK(strcmp(nipc_error_name(-1), "NIPC_ERR_UNKNOWN") == 0, "unknown name");
    CHECK(strcmp(nipc_version(), "0.1.0") == 0, "version %s", nipc_version());
    CHECK(nipc_last_error_message() != NULL, "message never NULL");
    CHECK(nipc_simple_hash(NULL, 0) == nipc_simple_hash("", 0), "hash of empty");
    CHECK(nipc_simple_hash(NULL, 4) == 0, "hash(NULL, 4) sentinel");
}

static void test_client_args(const char *dir) {
    nipc_client_t *c = NULL;
    CHECK_ERR(nipc_client_init(NIPC_SERVICE_INCREMENT, NULL, "x", NULL, &c), NIPC_ERR_INVALID_ARGUMENT);
    CHECK(strstr(nipc_last_error_message(), "nipc_client_init") != NULL &&
              strstr(nipc_last_error_message(), "run_dir") != NULL,
          "message '%s'", nipc_last_error_message());
    CHECK_ERR(nipc_client_init(NIPC_SERVICE_INCREMENT, dir, NULL, NULL, &c), NIPC_ERR_INVALID_ARGUMENT);
    CHECK_ERR(nipc_client_init(NIPC_SERVICE_INCREMENT, dir, "x", NULL, NULL), NIPC_ERR_INVALID_ARGUMENT);
    CHECK_ERR(nipc_client_init(0, dir, "x", NULL, &c), NIPC_ERR_INVALID_ARGUMENT);
    CHECK_ERR(nipc_client_init(99, dir, "x", NULL, &c), NIPC_ERR_INVALID_ARGUMENT);
    CHECK_ERR(nipc_client_init(NIPC_SERVICE_INCREMENT, "", "x", NULL, &c), NIPC_ERR_INVALID_ARGUMENT);
    const char *bad_names[] = {"", ".", "..", "a/b", "sp ace", "x\xff"};
    for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++)
        CHECK_ERR(nipc_client_init(NIPC_SERVICE_INCREMENT, dir, bad_names[i], NULL, &c),
                  NIPC_ERR_INVALID_ARGUMENT);
    nipc_client_config_t cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.supported_profiles = 0x80;
    CHECK_ERR(nipc_client_init(NIPC_SERVICE_INCREMENT, dir, "x", &cfg, &c), NIPC_ERR_INVALID_ARGUMENT);
    CHECK(c == NULL, "client_out untouched on failure");

    /* NULL handles. */
    uint64_t v;
    nipc_str_t s;
    nipc_client_status_t st;
    CHECK_ERR(nipc_client_refresh(NULL, NULL), NIPC_ERR_INVALID_ARGUMENT);
    CHECK(!nipc_client_ready(NULL), "ready(NULL)");
    CHECK_ERR(nipc_client_status(NULL, &st), NIPC_ERR_INVALID_ARGUMENT);
    CHECK_ERR(nipc_client_call_increment(NULL, 1, &v), NIPC_ERR_INVALID_ARGUMENT);
    CHECK_ERR(nipc_client_call_string_reverse(NULL, "a", 1, &s), NIPC_ERR_INVALID_ARGUMENT);
    CHECK_ERR(nipc_client_abort(NULL), NIPC_ERR_INVALID_ARGUMENT);
    CHECK_ERR(nipc_client_clear_abort(NULL), NIPC_ERR_INVALID_ARGUMENT);
    CHECK_ERR(nipc_client_set_call_timeout(NULL, 5), NIPC_ERR_INVALID_ARGUMENT);
    CHECK_ERR(nipc_client_close(NULL), NIPC_OK);

    /* A client with no server: DISCONNECTED, then NOT_FOUND. */
    CHECK_OK(nipc_client_init(NIPC_SERVICE_INCREMENT, dir, "nobody", NULL, &c));
    CHECK(!nipc_client_ready(c), "ready before refresh");
    CHECK_ERR(nipc_client_call_increment(c, 1, &v), NIPC_ERR_NOT_READY);
    bool changed = false;
    CHECK_ERR(nipc_client_refresh(c, &changed), NIPC_ERR_NOT_FOUND);
    CHECK(changed, "state changed to NOT_FOUND");
    CHECK_OK(nipc_client_status(c, &st));
    CHECK(st.state == NIPC_CLIENT_NOT_FOUND, "state %d", (int)st.state);
    CHECK_ERR(nipc_client_call_increment(c, 1, &v), NIPC_ERR_NOT_FOUND);
    CHECK_ERR(nipc_client_status(c, NULL), NIPC_ERR_INVALID_ARGUMENT);
    CHECK_ERR(nipc_client_call_increment(c, 1, NULL), NIPC_ERR_INVALID_ARGUMENT);

    /* Wrong kind: checked before any I/O. */
    nipc_cgroups_snapshot_view_t sv;
    nipc_cgroups_lookup_view_t cv;
    nipc_apps_lookup_view_t av;
    uint32_t pid = 1;
    CHECK_ERR(nipc_client_call_string_reverse(c, "a", 1, &s), NIPC_ERR_WRONG_KIND);
    CHECK_ERR(nipc_client_call_string_reverse_batch(c, &s, 0, NULL), NIPC_ERR_WRONG_KIND);
    CHECK_ERR(nipc_client_call_cgroups_snapshot(c, &sv), NIPC_ERR_WRONG_KIND);
    CHECK_ERR(nipc_client_call_cgroups_lookup(c, NULL, 0, &cv), NIPC_ERR_WRONG_KIND);
    CHECK_ERR(nipc_client_call_apps_lookup(c, &pid, 1, &av), NIPC_ERR_WRONG_KIND);

    /* Zero-length / NULL buffers. */
    uint64_t out[2];
    CHECK_ERR(nipc_client_call_increment_batch(c, NULL, 2, out), NIPC_ERR_INVALID_ARGUMENT);
    CHECK_ERR(nipc_client_call_increment_batch(c, out, 2, NULL), NIPC_ERR_INVALID_ARGUMENT);
    CHECK_ERR(nipc_client_call_increment_batch(c, NULL, 0, NULL), NIPC_ERR_NOT_FOUND);
    CHECK_OK(nipc_client_close(c));

    nipc_client_t *r = NULL;
    CHECK_OK(nipc_client_init(NIPC_SERVICE_STRING_REVERSE, dir, "nobody", NULL, &r));
    CHECK_ERR(nipc_client_call_string_reverse(r, NULL, 5, &s), NIPC_ERR_INVALID_ARGUMENT);
    CHECK_ERR(nipc_client_call_string_reverse(r, "abc", 3, NULL), NIPC_ERR_INVALID_ARGUMENT);
    CHECK_ERR(nipc_client_call_string_reverse(r, NULL, 0, &s), NIPC_ERR_NOT_READY);
    nipc_str_t bad[2] = {{"a", 1}, {NULL, 4}};
    nipc_str_t outs[2];
    CHECK_ERR(nipc_client_call_string_reverse_batch(r, bad, 2, outs), NIPC_ERR_INVALID_ARGUMENT);
    CHECK_ERR(nipc_client_call_string_reverse_batch(r, NULL, 2, outs), NIPC_ERR_INVALID_ARGUMENT);
    CHECK_ERR(nipc_client_call_string_reverse_batch(r, bad, 1, NULL), NIPC_ERR_INVALID_ARGUMENT);
    CHECK_OK(nipc_client_close(r));

    nipc_client_t *a = NULL;
    CHECK_OK(nipc_client_init(NIPC_SERVICE_APPS_LOOKUP, dir, "nobody", NULL, &a));
    CHECK_ERR(nipc_client_call_apps_lookup(a, NULL, 3, &av), NIPC_ERR_INVALID_ARGUMENT);
    CHECK_ERR(nipc_client_call_apps_lookup(a, &pid, 1, NULL), NIPC_ERR_INVALID_ARGUMENT);
    CHECK_OK(nipc_client_close(a));
}

static void test_handle_confusion(const char *dir) {
    nipc_cgroups_cache_t *cache = NULL;
    CHECK_OK(nipc_cgroups_cache_init(dir, "nobody", NULL, &cache));
    uint64_t v;
    /* A cache handle is not a client (and vice versa). */
    CHECK_ERR(nipc_client_call_increment((nipc_client_t *)cache, 1, &v), NIPC_ERR_INVALID_ARGUMENT);
    CHECK(strstr(nipc_last_error_message(), "wrong type") != NULL, "message '%s'",
          nipc_last_error_message());
    CHECK_ERR(nipc_client_close((nipc_client_t *)cache), NIPC_ERR_INVALID_ARGUMENT);
    nipc_client_t *c = NULL;
    CHECK_OK(nipc_client_init(NIPC_SERVICE_INCREMENT, dir, "nobody", NULL, &c));
    CHECK_ERR(nipc_cgroups_cache_refresh((nipc_cgroups_cache_t *)c), NIPC_ERR_INVALID_ARGUMENT);
    CHECK_ERR(nipc_server_stop((nipc_server_t *)c), NIPC_ERR_INVALID_ARGUMENT);
    CHECK_OK(nipc_client_close(c));

    /* Cache with no provider. */
    CHECK_ERR(nipc_cgroups_cache_refresh(cache), NIPC_ERR_NOT_FOUND);
    CHECK(!nipc_cgroups_cache_ready(cache), "cache ready without data");
    CHECK(!nipc_cgroups_cache_ready(NULL), "ready(NULL)");
    nipc_cgroups_cache_guard_t *g = NULL;
    CHECK_ERR(nipc_cgroups_cache_read_lock(cache, NULL), NIPC_ERR_INVALID_ARGUMENT);
    CHECK_ERR(nipc_cgroups_cache_read_lock(NULL, &g), NIPC_ERR_INVALID_ARGUMENT);
    CHECK_OK(nipc_cgroups_cache_read_lock(cache, &g));
    nipc_cgroup_item_t it;
    CHECK_ERR(nipc_cgroups_cache_get(g, 1, "x", 1, &it), NIPC_ERR_NOT_FOUND);
    CHECK_ERR(nipc_cgroups_cache_get(g, 1, NULL, 1, &it), NIPC_ERR_INVALID_ARGUMENT);
    CHECK_ERR(nipc_cgroups_cache_get(g, 1, "x", 1, NULL), NIPC_ERR_INVALID_ARGUMENT);
    CHECK_ERR(nipc_cgroups_cache_get(NULL, 1, "x", 1, &it), NIPC_ERR_INVALID_ARGUMENT);
    CHECK_ERR(nipc_cgroups_cache_item_at(g, 0, &it), NIPC_ERR_OUT_OF_RANGE);
    CHECK(nipc_cgroups_cache_item_count(g) == 0 && nipc_cgroups_cache_item_count(NULL) == 0, "counts");
    /* A guard is not a cache. */
    CHECK_ERR(nipc_cgroups_cache_close((nipc_cgroups_cache_t *)g), NIPC_ERR_INVALID_ARGUMENT);
    CHECK_OK(nipc_cgroups_cache_read_unlock(g));
    CHECK_OK(nipc_cgroups_cache_read_unlock(NULL));
    nipc_cgroups_cache_item_t *copy = NULL;
    CHECK_ERR(nipc_cgroups_cache_item_dup(NULL, &copy), NIPC_ERR_INVALID_ARGUMENT);
    nipc_cgroup_item_t badit = {1, 0, 0, {NULL, 3}, {"p", 1}};
    CHECK_ERR(nipc_cgroups_cache_item_dup(&badit, &copy), NIPC_ERR_INVALID_ARGUMENT);
    CHECK_OK(nipc_cgroups_cache_item_free(NULL));
    nipc_cgroups_cache_status_t cst;
    CHECK_ERR(nipc_cgroups_cache_status(cache, NULL), NIPC_ERR_INVALID_ARGUMENT);
    CHECK_OK(nipc_cgroups_cache_status(cache, &cst));
    CHECK(!cst.populated && cst.refresh_failure_count == 1 &&
              cst.connection_state == NIPC_CLIENT_NOT_FOUND,
          "status populated %d failures %" PRIu64, (int)cst.populated, cst.refresh_failure_count);
    CHECK_OK(nipc_cgroups_cache_close(cache));
    CHECK_OK(nipc_cgroups_cache_close(NULL));
    CHECK_ERR(nipc_cgroups_cache_init(dir, "bad/name", NULL, &cache), NIPC_ERR_INVALID_ARGUMENT);
}

static void test_views(void) {
    nipc_cgroup_item_t it;
    nipc_cgroups_snapshot_view_t v = {0, 0, 3, NULL};
    CHECK(nipc_snapshot_item_count(NULL) == 0, "count(NULL)");
    CHECK_ERR(nipc_snapshot_item(NULL, 0, &it), NIPC_ERR_INVALID_ARGUMENT);
    CHECK_ERR(nipc_snapshot_item(&v, 0, &it), NIPC_ERR_INVALID_ARGUMENT); /* items NULL */
    CHECK_ERR(nipc_snapshot_item(&v, 0, NULL), NIPC_ERR_INVALID_ARGUMENT);
    CHECK_ERR(nipc_snapshot_item(&v, 3, &it), NIPC_ERR_OUT_OF_RANGE);
    CHECK(nipc_cgroups_lookup_item_count(NULL) == 0 && nipc_apps_lookup_item_count(NULL) == 0, "counts");
    nipc_cgroups_lookup_item_t ci;
    nipc_apps_lookup_item_t ai;
    CHECK_ERR(nipc_cgroups_lookup_item(NULL, 0, &ci), NIPC_ERR_INVALID_ARGUMENT);
    CHECK_ERR(nipc_apps_lookup_item(NULL, 0, &ai), NIPC_ERR_INVALID_ARGUMENT);
    nipc_label_t l;
    CHECK_ERR(nipc_lookup_label(NULL, 0, 0, &l), NIPC_ERR_OUT_OF_RANGE);
    CHECK_ERR(nipc_lookup_label(NULL, 0, 0, NULL), NIPC_ERR_INVALID_ARGUMENT);
}

static void test_server_args(const char *dir) {
    nipc_server_t *s = NULL;
    nipc_server_handler_t h;
    memset(&h, 0, sizeof(h));
    CHECK_ERR(nipc_server_init_typed(dir, "s", NULL, NULL, &s), NIPC_ERR_INVALID_ARGUMENT);
    CHECK_ERR(nipc_server_init_typed(dir, "s", NULL, &h, &s), NIPC_ERR_INVALID_ARGUMENT); /* kind 0 */
    h.kind = NIPC_SERVICE_INCREMENT;
    CHECK_ERR(nipc_server_init_typed(dir, "s", NULL, &h, &s), NIPC_ERR_INVALID_ARGUMENT); /* no fn */
    CHECK(strstr(nipc_last_error_message(), "increment") != NULL, "message '%s'",
          nipc_last_error_message());
    h.string_reverse = h_reverse; /* the wrong callback for the kind */
    CHECK_ERR(nipc_server_init_typed(dir, "s", NULL, &h, &s), NIPC_ERR_INVALID_ARGUMENT);
    h.increment = h_increment;
    CHECK_ERR(nipc_server_init_typed(NULL, "s", NULL, &h, &s), NIPC_ERR_INVALID_ARGUMENT);
    CHECK_ERR(nipc_server_init_typed(dir, "a/b", NULL, &h, &s), NIPC_ERR_INVALID_ARGUMENT);
    CHECK_ERR(nipc_server_init_typed(dir, "s", NULL, &h, NULL), NIPC_ERR_INVALID_ARGUMENT);
    nipc_server_config_t cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.supported_profiles = 0x40;
    CHECK_ERR(nipc_server_init_typed(dir, "s", &cfg, &h, &s), NIPC_ERR_INVALID_ARGUMENT);
    CHECK(s == NULL, "server_out untouched on failure");

    CHECK_OK(nipc_server_init_typed(dir, "s", NULL, &h, &s));
    nipc_server_t *s2 = NULL;
    CHECK_ERR(nipc_server_init_typed(dir, "s", NULL, &h, &s2), NIPC_ERR_ADDRESS_IN_USE);
    nipc_server_stats_t st;
    CHECK_ERR(nipc_server_stats(s, NULL), NIPC_ERR_INVALID_ARGUMENT);
    CHECK_ERR(nipc_server_stats(NULL, &st), NIPC_ERR_INVALID_ARGUMENT);
    CHECK_ERR(nipc_server_run(NULL), NIPC_ERR_INVALID_ARGUMENT);
    CHECK_ERR(nipc_server_stop(NULL), NIPC_ERR_INVALID_ARGUMENT);
    CHECK_ERR(nipc_server_drain(NULL, 1), NIPC_ERR_INVALID_ARGUMENT);
    CHECK_OK(nipc_server_destroy(NULL));
    /* Builders outside a callback. */
    CHECK_ERR(nipc_string_reverse_builder_append(NULL, "x", 1), NIPC_ERR_INVALID_ARGUMENT);
    CHECK_ERR(nipc_cgroups_snapshot_builder_set_header(NULL, 0, 0), NIPC_ERR_INVALID_ARGUMENT);
    CHECK_ERR(nipc_cgroups_snapshot_builder_add(NULL, 0, 0, 0, "a", 1, "b", 1), NIPC_ERR_INVALID_ARGUMENT);
    CHECK_ERR(nipc_apps_lookup_builder_set_generation(NULL, 0), NIPC_ERR_INVALID_ARGUMENT);
    CHECK(nipc_apps_lookup_request_count(NULL) == 0, "count(NULL)");
    CHECK_OK(nipc_server_destroy(s));

    /* Invalid builder input inside real callbacks (checked in them). */
    nipc_server_handler_t hc;
    memset(&hc, 0, sizeof(hc));
    hc.kind = NIPC_SERVICE_CGROUPS_LOOKUP;
    hc.cgroups_lookup = h_bad_cgl;
    nipc_server_t *sc = NULL;
    CHECK_OK(nipc_server_init_typed(dir, "badcgl", NULL, &hc, &sc));
    nipc_server_handler_t ha;
    memset(&ha, 0, sizeof(ha));
    ha.kind = NIPC_SERVICE_APPS_LOOKUP;
    ha.apps_lookup = h_bad_apps;
    nipc_server_t *sa = NULL;
    CHECK_OK(nipc_server_init_typed(dir, "badapps", NULL, &ha, &sa));

    nipc_client_t *c = NULL;
    CHECK_OK(nipc_client_init(NIPC_SERVICE_CGROUPS_LOOKUP, dir, "badcgl", NULL, &c));
    CHECK_OK(wait_ready(c));
    nipc_cgroups_lookup_view_t v;
    nipc_str_t paths[2] = {str_of("/a"), str_of("/b")};
    CHECK_OK(nipc_client_call_cgroups_lookup(c, paths, 2, &v));
    CHECK(v.item_count == 2 && v.items[1].status == NIPC_LOOKUP_UNKNOWN_PERMANENT, "answer");
    CHECK(g_builder_checks_ran, "the handler ran its checks");
    /* Client-side key validation. */
    nipc_str_t empty[1] = {{"", 0}};
    CHECK_ERR(nipc_client_call_cgroups_lookup(c, empty, 1, &v), NIPC_ERR_INVALID_ARGUMENT);
    nipc_str_t nul[1] = {{"a\0b", 3}};
    CHECK_ERR(nipc_client_call_cgroups_lookup(c, nul, 1, &v), NIPC_ERR_INVALID_ARGUMENT);
    nipc_str_t nullp[1] = {{NULL, 2}};
    CHECK_ERR(nipc_client_call_cgroups_lookup(c, nullp, 1, &v), NIPC_ERR_INVALID_ARGUMENT);
    CHECK_ERR(nipc_client_call_cgroups_lookup(c, NULL, 1, &v), NIPC_ERR_INVALID_ARGUMENT);
    CHECK_OK(nipc_client_close(c));

    nipc_client_t *a = NULL;
    CHECK_OK(nipc_client_init(NIPC_SERVICE_APPS_LOOKUP, dir, "badapps", NULL, &a));
    CHECK_OK(wait_ready(a));
    nipc_apps_lookup_view_t av;
    uint32_t pids[3] = {10, 20, 30};
    CHECK_OK(nipc_client_call_apps_lookup(a, pids, 3, &av));
    CHECK(av.item_count == 3 && av.items[2].pid == 30 && av.items[2].status == NIPC_PID_UNKNOWN, "answer");
    nipc_apps_lookup_item_t ai;
    CHECK_ERR(nipc_apps_lookup_item(&av, 3, &ai), NIPC_ERR_OUT_OF_RANGE);
    CHECK_OK(nipc_client_close(a));

    CHECK_OK(nipc_server_destroy(sc));
    CHECK_OK(nipc_server_destroy(sa));
}

int main(void) {
    char dir[128];
    make_run_dir(dir, sizeof(dir), "args");
    test_names_and_versions();
    test_client_args(dir);
    test_handle_confusion(dir);
    test_views();
    test_server_args(dir);
    rmdir(dir);
    return test_summary("c_bad_args");
}
