/*
 * The C side of the benchmark matrix: a BENCHMARKS.md bench client written
 * against the C API (libnetipc), for the ping-pong and snapshot scenarios.
 *
 *   netipc_bench_c SCENARIO RUN_DIR SERVICE SECONDS
 *
 * SCENARIO: uds-ping-pong | shm-ping-pong | snapshot-baseline | snapshot-shm.
 * Prints one CSV line of BENCHMARKS.md with client "c" and server "netipc":
 * scenario,client,server,throughput,p50_us,p95_us,p99_us,client_cpu_pct,
 * server_cpu_pct (0.0: unknown to a client),total_cpu_pct (= client).
 * Every answer is checked; a wrong one exits 1.
 */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "netipc.h"

#define BENCH_TOKEN 0xBE4C400000C0FFEEull
#define MAX_SAMPLES (1u << 20)
#define SNAPSHOT_ITEMS 16

static double clock_s(clockid_t id) {
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double pct(const double *sorted, size_t n, double p) {
    if (n == 0) return 0.0;
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return sorted[i < n ? i : n - 1];
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: %s SCENARIO RUN_DIR SERVICE SECONDS\n", argv[0]);
        return 2;
    }
    const char *scenario = argv[1];
    int snapshot = strncmp(scenario, "snapshot-", 9) == 0;
    int shm = strcmp(scenario, "shm-ping-pong") == 0 || strcmp(scenario, "snapshot-shm") == 0;
    if (!snapshot && !shm && strcmp(scenario, "uds-ping-pong") != 0) {
        fprintf(stderr, "unsupported scenario %s\n", scenario);
        return 2;
    }
    double seconds = atof(argv[4]);

    nipc_client_config_t cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.auth_token = BENCH_TOKEN;
    cfg.supported_profiles = shm ? (NIPC_PROFILE_BASELINE | NIPC_PROFILE_SHM_HYBRID)
                                 : NIPC_PROFILE_BASELINE;
    cfg.preferred_profiles = shm ? NIPC_PROFILE_SHM_HYBRID : NIPC_PROFILE_BASELINE;
    cfg.request_payload_bytes = 4096;
    cfg.response_payload_bytes = 65536;
    cfg.batch_items = 1;

    nipc_client_t *c = NULL;
    nipc_service_kind_t kind = snapshot ? NIPC_SERVICE_CGROUPS_SNAPSHOT : NIPC_SERVICE_INCREMENT;
    if (nipc_client_init(kind, argv[2], argv[3], &cfg, &c) != NIPC_OK) {
        fprintf(stderr, "init: %s\n", nipc_last_error_message());
        return 1;
    }
    nipc_error_t e = nipc_client_refresh(c, NULL);
    if (e != NIPC_OK) {
        fprintf(stderr, "connect: %s: %s\n", nipc_error_name(e), nipc_last_error_message());
        return 1;
    }

    double *samples = malloc(sizeof(double) * MAX_SAMPLES);
    if (!samples) return 1;
    size_t nsamples = 0;
    uint64_t calls = 0, counter = 1;
    double cpu0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
    double start = clock_s(CLOCK_MONOTONIC), end = start + seconds, now = start;
    while (now < end) {
        double t0 = now;
        if (snapshot) {
            nipc_cgroups_snapshot_view_t view;
            e = nipc_client_call_cgroups_snapshot(c, &view);
            if (e != NIPC_OK || nipc_snapshot_item_count(&view) != SNAPSHOT_ITEMS) {
                fprintf(stderr, "snapshot: %s\n", e != NIPC_OK ? nipc_last_error_message() : "wrong item count");
                return 1;
            }
        } else {
            uint64_t answer = 0;
            e = nipc_client_call_increment(c, counter, &answer);
            if (e != NIPC_OK || answer != counter + 1) {
                fprintf(stderr, "increment: %s\n", e != NIPC_OK ? nipc_last_error_message() : "wrong answer");
                return 1;
            }
            counter = answer;
        }
        calls++;
        now = clock_s(CLOCK_MONOTONIC);
        if (nsamples < MAX_SAMPLES) samples[nsamples++] = (now - t0) * 1e6;
    }
    double wall = now - start;
    double cpu = (clock_s(CLOCK_PROCESS_CPUTIME_ID) - cpu0) / wall * 100.0;
    qsort(samples, nsamples, sizeof(double), cmp_double);
    printf("%s,c,netipc,%.0f,%.3f,%.3f,%.3f,%.1f,0.0,%.1f\n", scenario, (double)calls / wall,
           pct(samples, nsamples, 0.50), pct(samples, nsamples, 0.95), pct(samples, nsamples, 0.99),
           cpu, cpu);
    free(samples);
    nipc_client_close(c);
    return 0;
}
