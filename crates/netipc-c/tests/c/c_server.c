/*
 * Serves the five data-set services (dataset.h) in run directory argv[1]
 * for clients in other processes (the Rust clients of tests/c_suite.rs,
 * or c_client). Prints "READY" once every socket is bound, serves until
 * standard input closes, then drains and exits 0.
 */
#include "dataset.h"

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s RUN_DIR\n", argv[0]);
        return 2;
    }
    nipc_server_t *s[5] = {0};
    for (int i = 0; i < 5; i++) {
        nipc_server_handler_t h = dataset_handler(i);
        nipc_error_t e = nipc_server_init_typed(argv[1], SERVICE_NAMES[i], NULL, &h, &s[i]);
        if (e != NIPC_OK) {
            fprintf(stderr, "init %s: %s\n", SERVICE_NAMES[i], nipc_last_error_message());
            return 1;
        }
    }
    printf("READY\n");
    fflush(stdout);
    char buf[64];
    while (fread(buf, 1, sizeof(buf), stdin) > 0) {
    }
    int rc = 0;
    for (int i = 0; i < 5; i++) {
        if (nipc_server_drain(s[i], 2000) != NIPC_OK) {
            fprintf(stderr, "drain %s: %s\n", SERVICE_NAMES[i], nipc_last_error_message());
            rc = 1;
        }
        if (nipc_server_destroy(s[i]) != NIPC_OK)
            rc = 1;
    }
    printf("c_server: stopped\n");
    return rc;
}
