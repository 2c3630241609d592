/*
 * INCREMENT round trips through the C API, for benches/ffi_increment.rs.
 *
 *   bench_increment RUN_DIR SERVICE uds|shm SECONDS
 *
 * Connects, warms up, then calls nipc_client_call_increment() in a loop
 * for SECONDS and prints "calls_per_sec <N>". Exits 1 on any error or
 * wrong answer.
 */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "netipc.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: %s RUN_DIR SERVICE uds|shm SECONDS\n", argv[0]);
        return 2;
    }
    nipc_client_config_t cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.supported_profiles = strcmp(argv[3], "shm") == 0 ? 0 : NIPC_PROFILE_BASELINE;
    double seconds = atof(argv[4]);

    nipc_client_t *c = NULL;
    if (nipc_client_init(NIPC_SERVICE_INCREMENT, argv[1], argv[2], &cfg, &c) != NIPC_OK) {
        fprintf(stderr, "init: %s\n", nipc_last_error_message());
        return 1;
    }
    nipc_error_t e = NIPC_ERR_NOT_READY;
    for (int i = 0; i < 500 && e != NIPC_OK; i++) {
        e = nipc_client_refresh(c, NULL);
        if (e != NIPC_OK) {
            struct timespec ts = {0, 10 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
    }
    if (e != NIPC_OK) {
        fprintf(stderr, "refresh: %s\n", nipc_last_error_message());
        return 1;
    }
    nipc_client_status_t st;
    nipc_client_status(c, &st);
    if ((st.selected_profile == NIPC_PROFILE_SHM_HYBRID) != (strcmp(argv[3], "shm") == 0)) {
        fprintf(stderr, "unexpected profile %u\n", st.selected_profile);
        return 1;
    }

    uint64_t v = 1u << 20, out = 0; /* clear of the data set's special values */
    for (int i = 0; i < 2000; i++) { /* warm-up */
        if (nipc_client_call_increment(c, v, &out) != NIPC_OK || out != v + 1)
            return 1;
        v = out;
    }
    uint64_t calls = 0;
    double t0 = now_s(), t = t0;
    while (t - t0 < seconds) {
        for (int i = 0; i < 256; i++) {
            if (nipc_client_call_increment(c, v, &out) != NIPC_OK || out != v + 1) {
                fprintf(stderr, "call: %s\n", nipc_last_error_message());
                return 1;
            }
            v = out;
        }
        calls += 256;
        t = now_s();
    }
    printf("calls_per_sec %.0f\n", (double)calls / (t - t0));
    nipc_client_close(c);
    return 0;
}
