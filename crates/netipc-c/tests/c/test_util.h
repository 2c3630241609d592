/* Minimal test helpers shared by the C test programs. */
#ifndef NETIPC_TEST_UTIL_H
#define NETIPC_TEST_UTIL_H

#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "netipc.h"

#pragma GCC diagnostic ignored "-Wunused-function"

static int g_pass = 0;
static int g_fail = 0;

#define CHECK(cond, ...)                                                       \
    do {                                                                       \
        if (cond) {                                                            \
            g_pass++;                                                          \
        } else {                                                               \
            g_fail++;                                                          \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);    \
            fprintf(stderr, __VA_ARGS__);                                      \
            fprintf(stderr, " (last error: %s)\n", nipc_last_error_message()); \
        }                                                                      \
    } while (0)

#define CHECK_ERR(expr, want)                                                  \
    do {                                                                       \
        nipc_error_t e_ = (expr);                                              \
        CHECK(e_ == (want), "%s returned %s, want %s", #expr,                  \
              nipc_error_name((int32_t)e_), nipc_error_name((int32_t)(want))); \
    } while (0)

#define CHECK_OK(expr) CHECK_ERR(expr, NIPC_OK)

static int test_summary(const char *name) {
    printf("%s: %d passed, %d failed\n", name, g_pass, g_fail);
    return g_fail == 0 ? 0 : 1;
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Makes a fresh run directory under /tmp for this process. */
static void make_run_dir(char *buf, size_t len, const char *tag) {
    snprintf(buf, len, "/tmp/nipc-c-%s-%d", tag, (int)getpid());
    mkdir(buf, 0700);
}

/* Refreshes until READY (or ~5 s). */
static nipc_error_t wait_ready(nipc_client_t *c) {
    nipc_error_t e = NIPC_ERR_NOT_READY;
    for (int i = 0; i < 500; i++) {
        e = nipc_client_refresh(c, NULL);
        if (e == NIPC_OK)
            return e;
        sleep_ms(10);
    }
    return e;
}

static int str_eq(nipc_str_t s, const char *want) {
    size_t n = strlen(want);
    return s.ptr != NULL && s.len == n && memcmp(s.ptr, want, n) == 0 && s.ptr[n] == '\0';
}

static nipc_str_t str_of(const char *s) {
    nipc_str_t r = {s, strlen(s)};
    return r;
}

#endif
