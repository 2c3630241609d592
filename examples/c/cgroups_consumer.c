/*
 * cgroups_consumer - a minimal Level 3 consumer of a `cgroups-snapshot`
 * service through the NetIPC C API.
 *
 *   cc cgroups_consumer.c $(pkg-config --cflags --libs netipc) -o cgroups_consumer
 *   ./cgroups_consumer RUN_DIR [SERVICE] [AUTH_TOKEN]
 *
 * It refreshes the cache (waiting up to ~5 s for the provider), prints
 * every cached cgroup, looks the first one up again by hash + name, and
 * exits 0 (1 when the provider never answered).
 */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "netipc.h"

int main(int argc, char **argv) {
    if (argc < 2 || argc > 4) {
        fprintf(stderr, "usage: %s RUN_DIR [SERVICE] [AUTH_TOKEN]\n", argv[0]);
        return 2;
    }
    const char *run_dir = argv[1];
    const char *service = argc > 2 ? argv[2] : "cgroups-snapshot";

    nipc_client_config_t cfg;
    memset(&cfg, 0, sizeof(cfg)); /* zero = library defaults */
    if (argc > 3)
        cfg.auth_token = strtoull(argv[3], NULL, 0);

    nipc_cgroups_cache_t *cache = NULL;
    if (nipc_cgroups_cache_init(run_dir, service, &cfg, &cache) != NIPC_OK) {
        fprintf(stderr, "init: %s\n", nipc_last_error_message());
        return 2;
    }

    /* Caller-driven refresh: the provider may not be running yet. */
    nipc_error_t err = NIPC_ERR_NOT_FOUND;
    for (int attempt = 0; attempt < 50; attempt++) {
        err = nipc_cgroups_cache_refresh(cache);
        if (err == NIPC_OK)
            break;
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (err != NIPC_OK) {
        fprintf(stderr, "refresh: %s (%s)\n", nipc_error_name(err), nipc_last_error_message());
        nipc_cgroups_cache_close(cache);
        return 1;
    }

    /* Borrowed reads under a guard; copy what must outlive it. */
    nipc_cgroups_cache_guard_t *guard = NULL;
    nipc_cgroups_cache_read_lock(cache, &guard);
    uint64_t generation = 0;
    uint32_t systemd_enabled = 0;
    nipc_cgroups_cache_header(guard, &generation, &systemd_enabled);
    size_t n = nipc_cgroups_cache_item_count(guard);
    printf("generation %" PRIu64 " systemd_enabled %u items %zu\n", generation, systemd_enabled, n);

    nipc_cgroups_cache_item_t *first = NULL;
    for (size_t i = 0; i < n; i++) {
        nipc_cgroup_item_t it;
        if (nipc_cgroups_cache_item_at(guard, i, &it) != NIPC_OK)
            break;
        printf("%08x %u %u %.*s %.*s\n", it.hash, it.options, it.enabled, (int)it.name.len, it.name.ptr,
               (int)it.path.len, it.path.ptr);
        if (i == 0)
            nipc_cgroups_cache_item_dup(&it, &first);
    }
    nipc_cgroups_cache_read_unlock(guard);

    /* Hot-path style lookup by (hash, name). */
    if (first) {
        nipc_cgroups_cache_read_lock(cache, &guard);
        nipc_cgroup_item_t hit;
        if (nipc_cgroups_cache_get(guard, first->hash, first->name, first->name_len, &hit) == NIPC_OK)
            printf("lookup %s -> %.*s\n", first->name, (int)hit.path.len, hit.path.ptr);
        nipc_cgroups_cache_read_unlock(guard);
        nipc_cgroups_cache_item_free(first);
    }

    nipc_cgroups_cache_status_t st;
    nipc_cgroups_cache_status(cache, &st);
    printf("refreshes ok %" PRIu64 " failed %" PRIu64 "\n", st.refresh_success_count, st.refresh_failure_count);
    nipc_cgroups_cache_close(cache);
    return 0;
}
