/* A minimal NetIPC INCREMENT server in C: serves RUN_DIR/increment.sock
 * until it reads a line (or EOF) on standard input. */
#include <stdio.h>
#include "netipc.h"

static bool on_increment(void *user, uint64_t value, uint64_t *result) {
    (void)user;
    *result = value + 1;
    return true; /* false = INTERNAL_ERROR to the client */
}

int main(int argc, char **argv) {
    const char *run_dir = argc > 1 ? argv[1] : "/tmp";
    nipc_server_handler_t handler = {
        .kind = NIPC_SERVICE_INCREMENT,
        .increment = on_increment,
    };
    nipc_server_t *server = NULL;
    if (nipc_server_init_typed(run_dir, "increment", NULL, &handler, &server) != NIPC_OK) {
        fprintf(stderr, "server: %s\n", nipc_last_error_message());
        return 1;
    }
    printf("serving\n"); /* the socket is bound: clients may connect */
    fflush(stdout);
    getchar();
    nipc_server_drain(server, 1000); /* finish requests in progress */
    nipc_server_destroy(server);
    return 0;
}
