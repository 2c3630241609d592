/*
 * Checks every method of the data set (dataset.h) against the five
 * services in run directory argv[1], served by another process (a Rust
 * server in tests/c_suite.rs, or c_server). argv[2]: "uds" or "shm".
 */
#include "dataset.h"

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s RUN_DIR uds|shm\n", argv[0]);
        return 2;
    }
    check_all_services(argv[1], strcmp(argv[2], "shm") == 0);
    return test_summary("c_client");
}
