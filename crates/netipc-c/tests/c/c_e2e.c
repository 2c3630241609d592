/*
 * C client <-> C server in one process: every method over UDS and SHM,
 * server run/stop/drain, handler failure, cross-thread abort, per-call
 * timeout, and the snapshot response limit.
 */
#include <pthread.h>

#include "dataset.h"

static nipc_server_t *start(const char *dir, int i, const nipc_server_config_t *cfg) {
    nipc_server_handler_t h = dataset_handler(i);
    nipc_server_t *s = NULL;
    CHECK_OK(nipc_server_init_typed(dir, SERVICE_NAMES[i], cfg, &h, &s));
    return s;
}

static void *run_thread(void *arg) {
    nipc_error_t *rc = malloc(sizeof(*rc));
    *rc = nipc_server_run((nipc_server_t *)arg);
    return rc;
}

struct abort_ctx {
    nipc_client_t *c;
    nipc_error_t rc;
    double elapsed;
};

static void *blocked_call(void *arg) {
    struct abort_ctx *a = arg;
    uint64_t v = 0;
    double t0 = now_s();
    a->rc = nipc_client_call_increment(a->c, 999, &v);
    a->elapsed = now_s() - t0;
    return NULL;
}

static void test_all_methods(const char *dir) {
    nipc_server_t *s[5];
    for (int i = 0; i < 5; i++)
        s[i] = start(dir, i, NULL);
    /* run() parks a thread until stop. */
    pthread_t runner;
    pthread_create(&runner, NULL, run_thread, s[0]);

    check_all_services(dir, 0); /* UDS */
    check_all_services(dir, 1); /* SHM */

    /* The SHM switches: no SIGBUS handler, no spinning, still SHM. */
    nipc_client_config_t cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.no_sigbus_handler = true;
    cfg.shm_no_spin = true;
    cfg.call_timeout_ms = 10000;
    nipc_client_t *c = NULL;
    CHECK_OK(nipc_client_init(NIPC_SERVICE_INCREMENT, dir, "inc", &cfg, &c));
    CHECK_OK(wait_ready(c));
    uint64_t v = 0;
    for (uint64_t i = 0; i < 100; i++) {
        CHECK_OK(nipc_client_call_increment(c, 5000 + i, &v));
        CHECK(v == 5001 + i, "no-spin answer %" PRIu64, v);
    }
    nipc_client_status_t cs;
    CHECK_OK(nipc_client_status(c, &cs));
    CHECK(cs.shm_attached && cs.connect_count == 1 && cs.session_id != 0, "shm %d connects %" PRIu64,
          (int)cs.shm_attached, cs.connect_count);
    CHECK_OK(nipc_client_close(c));

    nipc_server_stats_t st;
    CHECK_OK(nipc_server_stats(s[0], &st));
    CHECK(st.sessions_started >= 2 && st.requests >= 4, "sessions %" PRIu64 " requests %" PRIu64,
          st.sessions_started, st.requests);

    CHECK_OK(nipc_server_stop(s[0]));
    void *rc = NULL;
    pthread_join(runner, &rc);
    CHECK(rc && *(nipc_error_t *)rc == NIPC_OK, "run returned %d", rc ? (int)*(nipc_error_t *)rc : -1);
    free(rc);
    CHECK_OK(nipc_server_run(s[0])); /* returns at once when stopped */
    for (int i = 0; i < 5; i++)
        CHECK_OK(nipc_server_destroy(s[i]));
}

static void test_failures(const char *dir) {
    nipc_server_config_t scfg;
    memset(&scfg, 0, sizeof(scfg));
    scfg.drain_timeout_ms = 3000;
    nipc_server_t *s = start(dir, 0, &scfg);

    for (int shm = 0; shm < 2; shm++) {
        nipc_client_config_t cfg;
        memset(&cfg, 0, sizeof(cfg));
        cfg.supported_profiles = shm ? 0 : NIPC_PROFILE_BASELINE;
        nipc_client_t *c = NULL;
        CHECK_OK(nipc_client_init(NIPC_SERVICE_INCREMENT, dir, "inc", &cfg, &c));
        CHECK_OK(wait_ready(c));

        /* A handler returning false: INTERNAL_ERROR, after one retry. */
        uint64_t v = 0;
        CHECK_ERR(nipc_client_call_increment(c, 666, &v), NIPC_ERR_SERVER_ERROR);
        CHECK(strstr(nipc_last_error_message(), "nipc_client_call_increment") != NULL, "message '%s'",
              nipc_last_error_message());
        CHECK_OK(wait_ready(c));
        CHECK_OK(nipc_client_call_increment(c, 1, &v));
        CHECK(v == 2, "after failure: %" PRIu64, v);

        /* Per-call timeout. */
        CHECK_OK(nipc_client_set_call_timeout(c, 200));
        double t0 = now_s();
        CHECK_ERR(nipc_client_call_increment(c, 999, &v), NIPC_ERR_TIMEOUT);
        double dt = now_s() - t0;
        CHECK(dt < 1.2, "timeout took %.3f s", dt);
        nipc_client_status_t cs;
        CHECK_OK(nipc_client_status(c, &cs));
        CHECK(cs.state == NIPC_CLIENT_BROKEN, "state after timeout %d", (int)cs.state);
        CHECK_OK(nipc_client_set_call_timeout(c, 0));
        CHECK_OK(wait_ready(c));
        CHECK_OK(nipc_client_call_increment(c, 5, &v));
        CHECK(v == 6, "after timeout: %" PRIu64, v);

        /* Cross-thread abort of a blocked call. */
        struct abort_ctx a = {c, NIPC_OK, 0};
        pthread_t t;
        pthread_create(&t, NULL, blocked_call, &a);
        sleep_ms(200);
        CHECK_OK(nipc_client_abort(c));
        pthread_join(t, NULL);
        CHECK(a.rc == NIPC_ERR_ABORTED, "aborted call returned %s", nipc_error_name((int32_t)a.rc));
        CHECK(a.elapsed < 1.2, "abort took %.3f s", a.elapsed);
        /* Sticky until cleared. */
        CHECK_ERR(nipc_client_call_increment(c, 1, &v), NIPC_ERR_ABORTED);
        CHECK_OK(nipc_client_clear_abort(c));
        CHECK_OK(wait_ready(c));
        CHECK_OK(nipc_client_call_increment(c, 7, &v));
        CHECK(v == 8, "after abort: %" PRIu64, v);
        CHECK_OK(nipc_client_close(c));
    }

    nipc_server_stats_t st;
    CHECK_OK(nipc_server_stats(s, &st));
    CHECK(st.handler_failures >= 2, "handler_failures %" PRIu64, st.handler_failures);

    /* Drain with a request in progress: it completes, then NOT_FOUND. */
    nipc_client_t *c = NULL;
    CHECK_OK(nipc_client_init(NIPC_SERVICE_INCREMENT, dir, "inc", NULL, &c));
    CHECK_OK(wait_ready(c));
    struct abort_ctx a = {c, NIPC_ERR_INTERNAL, 0};
    pthread_t t;
    pthread_create(&t, NULL, blocked_call, &a);
    sleep_ms(300);
    CHECK_OK(nipc_server_drain(s, 5000));
    pthread_join(t, NULL);
    CHECK(a.rc == NIPC_OK, "call during drain returned %s", nipc_error_name((int32_t)a.rc));
    CHECK_ERR(nipc_server_drain(s, 10), NIPC_OK); /* reports the first result */
    CHECK_ERR(nipc_client_refresh(c, NULL), NIPC_ERR_NOT_FOUND);
    CHECK_OK(nipc_client_close(c));
    CHECK_OK(nipc_server_destroy(s));
}

static void test_snapshot_limit(const char *dir) {
    /* A fixed response budget too small for the snapshot: the builder's
     * add fails with LIMIT_EXCEEDED and the client sees LIMIT_EXCEEDED. */
    nipc_server_config_t scfg;
    memset(&scfg, 0, sizeof(scfg));
    scfg.max_response_payload_bytes = 4096;
    nipc_server_t *s = start(dir, 2, &scfg);
    nipc_client_t *c = NULL;
    CHECK_OK(nipc_client_init(NIPC_SERVICE_CGROUPS_SNAPSHOT, dir, "snap", NULL, &c));
    CHECK_OK(wait_ready(c));
    nipc_cgroups_snapshot_view_t v;
    CHECK_ERR(nipc_client_call_cgroups_snapshot(c, &v), NIPC_ERR_LIMIT_EXCEEDED);
    nipc_server_stats_t st;
    CHECK_OK(nipc_server_stats(s, &st));
    CHECK(st.limit_exceeded >= 1, "limit_exceeded %" PRIu64, st.limit_exceeded);
    CHECK_OK(nipc_client_close(c));
    CHECK_OK(nipc_server_destroy(s));
}

int main(void) {
    char dir[128];
    make_run_dir(dir, sizeof(dir), "e2e");
    test_all_methods(dir);
    test_failures(dir);
    test_snapshot_limit(dir);
    rmdir(dir);
    return test_summary("c_e2e");
}
