/*
 * Level 3 cache from C: refresh before the provider exists, refresh,
 * ready, read_lock / get / item_at / header / dup / read_unlock /
 * item_free, status, cache preserved when the provider goes away, a
 * guard surviving a refresh that publishes a new generation, close with
 * a guard still held.
 */
#include <stdatomic.h>

#include "dataset.h"

static atomic_uint g_generation = 100;
static atomic_uint g_items = 50;

static bool h_gen_snapshot(void *user, nipc_cgroups_snapshot_builder_t *b) {
    (void)user;
    unsigned gen = atomic_load(&g_generation);
    unsigned n = atomic_load(&g_items);
    if (nipc_cgroups_snapshot_builder_set_header(b, 1, gen) != NIPC_OK)
        return false;
    for (unsigned i = 0; i < n; i++) {
        char name[32], path[64];
        int nl = snprintf(name, sizeof(name), "docker-%u", i);
        int pl = snprintf(path, sizeof(path), "/sys/fs/cgroup/gen%u/docker-%u", gen, i);
        if (nipc_cgroups_snapshot_builder_add(b, nipc_simple_hash(name, (size_t)nl), i, 1, name,
                                              (size_t)nl, path, (size_t)pl) != NIPC_OK)
            return false;
    }
    return true;
}

static nipc_server_t *start(const char *dir) {
    nipc_server_handler_t h;
    memset(&h, 0, sizeof(h));
    h.kind = NIPC_SERVICE_CGROUPS_SNAPSHOT;
    h.cgroups_snapshot = h_gen_snapshot;
    nipc_server_t *s = NULL;
    CHECK_OK(nipc_server_init_typed(dir, "cgroups-snapshot", NULL, &h, &s));
    return s;
}

static void check_item(nipc_cgroups_cache_guard_t *g, unsigned i, unsigned gen) {
    char name[32], path[64];
    int nl = snprintf(name, sizeof(name), "docker-%u", i);
    snprintf(path, sizeof(path), "/sys/fs/cgroup/gen%u/docker-%u", gen, i);
    nipc_cgroup_item_t it;
    CHECK_OK(nipc_cgroups_cache_get(g, nipc_simple_hash(name, (size_t)nl), name, (size_t)nl, &it));
    CHECK(str_eq(it.name, name) && str_eq(it.path, path) && it.options == i && it.enabled == 1,
          "item %u: %.*s", i, (int)it.path.len, it.path.ptr);
}

int main(void) {
    char dir[128];
    make_run_dir(dir, sizeof(dir), "cache");

    nipc_client_config_t cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.call_timeout_ms = 5000;
    nipc_cgroups_cache_t *cache = NULL;
    CHECK_OK(nipc_cgroups_cache_init(dir, "cgroups-snapshot", &cfg, &cache));

    /* No provider yet: routine NOT_FOUND, no data. */
    CHECK_ERR(nipc_cgroups_cache_refresh(cache), NIPC_ERR_NOT_FOUND);
    CHECK(!nipc_cgroups_cache_ready(cache), "ready without data");

    nipc_server_t *s = start(dir);
    CHECK_OK(nipc_cgroups_cache_refresh(cache));
    CHECK(nipc_cgroups_cache_ready(cache), "ready after refresh");

    nipc_cgroups_cache_guard_t *g = NULL;
    CHECK_OK(nipc_cgroups_cache_read_lock(cache, &g));
    CHECK(nipc_cgroups_cache_item_count(g) == 50, "count %zu", nipc_cgroups_cache_item_count(g));
    uint64_t gen = 0;
    uint32_t sysd = 0;
    CHECK_OK(nipc_cgroups_cache_header(g, &gen, &sysd));
    CHECK(gen == 100 && sysd == 1, "header %" PRIu64 " %u", gen, sysd);
    CHECK_OK(nipc_cgroups_cache_header(g, NULL, NULL));
    for (unsigned i = 0; i < 50; i++)
        check_item(g, i, 100);
    nipc_cgroup_item_t it;
    CHECK_ERR(nipc_cgroups_cache_get(g, nipc_simple_hash("docker-0", 8), "docker-x", 8, &it),
              NIPC_ERR_NOT_FOUND);
    CHECK_ERR(nipc_cgroups_cache_get(g, 12345, "docker-0", 8, &it), NIPC_ERR_NOT_FOUND);
    CHECK_OK(nipc_cgroups_cache_item_at(g, 7, &it));
    CHECK(str_eq(it.name, "docker-7"), "item_at(7) = %.*s", (int)it.name.len, it.name.ptr);

    /* dup outlives the guard. */
    nipc_cgroups_cache_item_t *copy = NULL;
    CHECK_OK(nipc_cgroups_cache_item_dup(&it, &copy));
    CHECK_OK(nipc_cgroups_cache_read_unlock(g));
    CHECK(copy && strcmp(copy->name, "docker-7") == 0 && copy->name_len == 8 &&
              strcmp(copy->path, "/sys/fs/cgroup/gen100/docker-7") == 0 && copy->options == 7 &&
              copy->hash == nipc_simple_hash("docker-7", 8),
          "copy");
    CHECK_OK(nipc_cgroups_cache_item_free(copy));

    /* A guard keeps its snapshot across a refresh that publishes gen 101. */
    CHECK_OK(nipc_cgroups_cache_read_lock(cache, &g));
    atomic_store(&g_generation, 101);
    atomic_store(&g_items, 80);
    CHECK_OK(nipc_cgroups_cache_refresh(cache));
    check_item(g, 3, 100);
    CHECK(nipc_cgroups_cache_item_count(g) == 50, "old guard count");
    nipc_cgroups_cache_guard_t *g2 = NULL;
    CHECK_OK(nipc_cgroups_cache_read_lock(cache, &g2));
    CHECK(nipc_cgroups_cache_item_count(g2) == 80, "new guard count");
    check_item(g2, 79, 101);
    CHECK_OK(nipc_cgroups_cache_read_unlock(g));
    CHECK_OK(nipc_cgroups_cache_read_unlock(g2));

    /* The provider goes away: refresh fails, data preserved. */
    CHECK_OK(nipc_server_destroy(s));
    nipc_error_t e = nipc_cgroups_cache_refresh(cache);
    CHECK(e != NIPC_OK, "refresh without provider returned OK");
    CHECK(nipc_cgroups_cache_ready(cache), "still ready");
    CHECK_OK(nipc_cgroups_cache_read_lock(cache, &g));
    check_item(g, 0, 101);

    nipc_cgroups_cache_status_t st;
    CHECK_OK(nipc_cgroups_cache_status(cache, &st));
    CHECK(st.populated && st.item_count == 80 && st.generation == 101, "status items %zu gen %" PRIu64,
          st.item_count, st.generation);
    CHECK(st.refresh_success_count == 2 && st.refresh_failure_count == 2,
          "successes %" PRIu64 " failures %" PRIu64, st.refresh_success_count, st.refresh_failure_count);
    CHECK(st.last_refresh_unix_ms > 1600000000000ull, "last refresh %" PRIu64, st.last_refresh_unix_ms);
    CHECK(st.client.connect_count >= 1, "connects %" PRIu64, st.client.connect_count);

    /* The provider comes back: the cache recovers (after an abort). */
    s = start(dir);
    atomic_store(&g_generation, 102);
    CHECK_OK(nipc_cgroups_cache_refresh(cache));
    CHECK_OK(nipc_cgroups_cache_abort(cache));
    CHECK_ERR(nipc_cgroups_cache_refresh(cache), NIPC_ERR_ABORTED);
    CHECK_OK(nipc_cgroups_cache_clear_abort(cache));
    CHECK_OK(nipc_cgroups_cache_set_timeout(cache, 1000));
    CHECK_OK(nipc_cgroups_cache_refresh(cache));
    nipc_cgroups_cache_guard_t *g3 = NULL;
    CHECK_OK(nipc_cgroups_cache_read_lock(cache, &g3));
    CHECK_OK(nipc_cgroups_cache_header(g3, &gen, NULL));
    CHECK(gen == 102, "generation after recovery %" PRIu64, gen);
    CHECK_OK(nipc_cgroups_cache_read_unlock(g3));

    /* Close with a guard held: the guard stays usable until unlocked. */
    CHECK_OK(nipc_cgroups_cache_close(cache));
    check_item(g, 5, 101);
    CHECK_OK(nipc_cgroups_cache_read_unlock(g));
    CHECK_OK(nipc_server_destroy(s));
    rmdir(dir);
    return test_summary("c_cache");
}
