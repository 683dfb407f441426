/* bench-receiver — a slow webhook receiver for tools/bench-load.sh webhooks: answers every POST
 * 200 after DELAY_MS (a thread per connection, so deliveries of several endpoints overlap), and
 * prints how many it received when stopped (SIGTERM/SIGINT).
 * usage: bin/bench-receiver PORT DELAY_MS */
#include <microhttpd.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static atomic_long received;
static long delay_ms;

static enum MHD_Result answer(void *cls, struct MHD_Connection *connection, const char *url, const char *method,
                              const char *version, const char *upload_data, size_t *upload_data_size, void **state)
{
    (void)cls, (void)url, (void)method, (void)version, (void)upload_data;
    if (*state == NULL) { /* headers: the body follows */
        *state = (void *)1;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        *upload_data_size = 0;
        return MHD_YES;
    }
    usleep((useconds_t)(delay_ms * 1000));
    atomic_fetch_add(&received, 1);
    struct MHD_Response *response = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    enum MHD_Result result = MHD_queue_response(connection, 200, response);
    MHD_destroy_response(response);
    return result;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: bench-receiver PORT DELAY_MS\n");
        return 2;
    }
    delay_ms = atol(argv[2]);
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    struct MHD_Daemon *daemon = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD,
                                                 (uint16_t)atoi(argv[1]), NULL, NULL, answer, NULL, MHD_OPTION_END);
    if (daemon == NULL) {
        fprintf(stderr, "bench-receiver: cannot listen on %s\n", argv[1]);
        return 1;
    }
    int signal_number = 0;
    sigwait(&stop, &signal_number);
    MHD_stop_daemon(daemon);
    printf("receiver: %ld deliveries\n", (long)atomic_load(&received));
    return 0;
}
