/* A minimal NetIPC INCREMENT client in C. */
#include <inttypes.h>
#include <stdio.h>
#include "netipc.h"

int main(int argc, char **argv) {
    const char *run_dir = argc > 1 ? argv[1] : "/tmp";
    nipc_client_t *client = NULL;
    if (nipc_client_init(NIPC_SERVICE_INCREMENT, run_dir, "increment", NULL, &client) != NIPC_OK)
        return 1;
    /* Drive the connection from your own loop; NOT_FOUND is routine. */
    nipc_error_t err = nipc_client_refresh(client, NULL);
    uint64_t answer = 0;
    if (err == NIPC_OK)
        err = nipc_client_call_increment(client, 41, &answer);
    if (err != NIPC_OK)
        fprintf(stderr, "%s: %s\n", nipc_error_name(err), nipc_last_error_message());
    else
        printf("41 + 1 = %" PRIu64 "\n", answer);
    nipc_client_close(client);
    return err == NIPC_OK ? 0 : 1;
}
