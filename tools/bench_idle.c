/* bench_idle.c — opens N keep-alive connections to ledgerd, makes one GET /healthz on each so
 * every one is a served HTTP/1.1 connection, then holds them all idle for HOLD seconds (the
 * caller measures ledgerd's memory meanwhile). Prints "open=N" when all are established.
 * usage: bench-idle HOST PORT CONNECTIONS HOLD_SECONDS */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

static int connect_one(const struct sockaddr_in *address)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    if (connect(fd, (const struct sockaddr *)address, sizeof *address) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* One request; reads until the end of the (small, Content-Length) response. */
static int healthz(int fd)
{
    static const char request[] = "GET /healthz HTTP/1.1\r\nHost: bench\r\n\r\n";
    char reply[2048];
    size_t len = 0;
    if (write(fd, request, sizeof request - 1) != (ssize_t)(sizeof request - 1)) return -1;
    for (;;) {
        ssize_t n = read(fd, reply + len, sizeof reply - 1 - len);
        if (n <= 0) return -1;
        len += (size_t)n;
        reply[len] = '\0';
        const char *end = strstr(reply, "\r\n\r\n"), *length = strstr(reply, "Content-Length: ");
        if (end != NULL && length != NULL && len >= (size_t)(end + 4 - reply) + strtoul(length + 16, NULL, 10))
            return strncmp(reply, "HTTP/1.1 200", 12) == 0 ? 0 : -1;
        if (len == sizeof reply - 1) return -1;
    }
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: bench-idle HOST PORT CONNECTIONS HOLD_SECONDS\n");
        return 2;
    }
    int count = atoi(argv[3]), hold_s = atoi(argv[4]);
    struct rlimit files;
    getrlimit(RLIMIT_NOFILE, &files);
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2]))};
    if (count < 1 || inet_pton(AF_INET, argv[1], &address.sin_addr) != 1) return 2;
    int *fds = calloc((size_t)count, sizeof *fds);
    for (int i = 0; i < count; i++) {
        fds[i] = connect_one(&address);
        if (fds[i] < 0 || healthz(fds[i]) != 0) {
            fprintf(stderr, "bench-idle: connection %d failed\n", i);
            return 1;
        }
    }
    printf("open=%d\n", count);
    fflush(stdout);
    sleep((unsigned)hold_s);
    int alive = 0; /* each still answers after the idle period */
    for (int i = 0; i < count; i++)
        alive += healthz(fds[i]) == 0;
    printf("alive=%d\n", alive);
    for (int i = 0; i < count; i++)
        close(fds[i]);
    free(fds);
    return alive == count ? 0 : 1;
}
