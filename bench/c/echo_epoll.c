/*
 * echo_epoll.c: the echo server of examples/echo_server.rs written as a bare epoll loop,
 * with no runtime at all. It is the bound the runtimes are measured against: what one
 * thread can do when nothing stands between the program and the kernel.
 *
 * Level-triggered, non-blocking sockets, TCP_NODELAY, one shared 4096-byte buffer. A
 * request costs exactly three system calls when the loop has one connection:
 * epoll_wait, read, write. Level-triggered is what makes that possible: after a short
 * read there is no need to read again until EAGAIN, since epoll will report the socket
 * again if more data comes.
 *
 * Bytes that a write could not take (the peer's receive window is full) are kept for the
 * connection, which then stops reading and waits for EPOLLOUT: no data is ever dropped
 * and memory stays bounded.
 *
 *   gcc -O2 -o echo_epoll echo_epoll.c && ./echo_epoll 127.0.0.1:0
 *
 * The first line of output is "listening on <address>", with the real port.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF_SIZE 4096
#define MAX_EVENTS 256

/* What a connection still has to send, when a write fell short. Indexed by descriptor;
 * NULL for (almost always) connections with nothing pending. */
struct pending {
    size_t len, off;
    char data[];
};

static struct pending **pending_by_fd;
static int max_fds;

static void die(const char *what) {
    perror(what);
    exit(1);
}

/* Parses "IP:PORT" into a loopback-only IPv4 address. */
static void parse_addr(const char *text, struct sockaddr_in *sa) {
    char host[64];
    const char *colon = strrchr(text, ':');
    if (!colon || (size_t)(colon - text) >= sizeof host) {
        fprintf(stderr, "bad address %s (want IP:PORT)\n", text);
        exit(2);
    }
    memcpy(host, text, colon - text);
    host[colon - text] = 0;
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    sa->sin_port = htons((unsigned short)atoi(colon + 1));
    if (inet_pton(AF_INET, host, &sa->sin_addr) != 1) {
        fprintf(stderr, "bad IPv4 address %s\n", host);
        exit(2);
    }
    if ((ntohl(sa->sin_addr.s_addr) >> 24) != 127) {
        fprintf(stderr, "%s is not a loopback address\n", host);
        exit(2);
    }
}

static void close_conn(int ep, int fd) {
    epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
    close(fd);
    free(pending_by_fd[fd]);
    pending_by_fd[fd] = NULL;
}

/* Sends what `fd` has pending. Returns 1 when all is sent, 0 if some is left, -1 on
 * error. */
static int flush_pending(int fd) {
    struct pending *p = pending_by_fd[fd];
    while (p->off < p->len) {
        ssize_t n = write(fd, p->data + p->off, p->len - p->off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return errno == EAGAIN ? 0 : -1;
        }
        p->off += (size_t)n;
    }
    free(p);
    pending_by_fd[fd] = NULL;
    return 1;
}

/* Writes buf[0..len) to fd; keeps whatever the socket does not take. Returns 1 if all
 * was written, 0 if some is pending, -1 on error. */
static int send_or_keep(int fd, const char *buf, size_t len) {
    size_t off = 0;
    while (off < len) {
        ssize_t n = write(fd, buf + off, len - off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN)
                return -1;
            struct pending *p = malloc(sizeof *p + (len - off));
            if (!p)
                return -1;
            p->len = len - off;
            p->off = 0;
            memcpy(p->data, buf + off, len - off);
            pending_by_fd[fd] = p;
            return 0;
        }
        off += (size_t)n;
    }
    return 1;
}

int main(int argc, char **argv) {
    struct sockaddr_in sa;
    parse_addr(argc > 1 ? argv[1] : "127.0.0.1:33445", &sa);

    max_fds = (int)sysconf(_SC_OPEN_MAX);
    pending_by_fd = calloc((size_t)max_fds, sizeof *pending_by_fd);
    if (!pending_by_fd)
        die("calloc");

    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (lfd < 0)
        die("socket");
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0)
        die("bind");
    if (listen(lfd, 1024) < 0)
        die("listen");
    socklen_t salen = sizeof sa;
    getsockname(lfd, (struct sockaddr *)&sa, &salen);
    char ip[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &sa.sin_addr, ip, sizeof ip);
    printf("listening on %s:%d\n", ip, ntohs(sa.sin_port));
    fflush(stdout);

    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0)
        die("epoll_create1");
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = lfd};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) < 0)
        die("epoll_ctl");

    static char buf[BUF_SIZE];
    struct epoll_event events[MAX_EVENTS];
    for (;;) {
        int n = epoll_wait(ep, events, MAX_EVENTS, -1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            die("epoll_wait");
        }
        for (int i = 0; i < n; i++) {
            int fd = events[i].data.fd;
            if (fd == lfd) {
                /* Accept everything queued: the listener is level-triggered too, but
                 * draining saves a wait per connection in a burst. */
                for (;;) {
                    int cfd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                    if (cfd < 0)
                        break;
                    if (cfd >= max_fds) {
                        close(cfd);
                        continue;
                    }
                    setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    struct epoll_event cev = {.events = EPOLLIN, .data.fd = cfd};
                    if (epoll_ctl(ep, EPOLL_CTL_ADD, cfd, &cev) < 0)
                        close(cfd);
                }
                continue;
            }

            if (pending_by_fd[fd]) {
                /* Waiting for room to send: only EPOLLOUT (or an error) is armed. */
                int r = flush_pending(fd);
                if (r < 0) {
                    close_conn(ep, fd);
                } else if (r > 0) {
                    struct epoll_event cev = {.events = EPOLLIN, .data.fd = fd};
                    epoll_ctl(ep, EPOLL_CTL_MOD, fd, &cev);
                }
                continue;
            }

            ssize_t got = read(fd, buf, sizeof buf);
            if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR)) {
                close_conn(ep, fd);
                continue;
            }
            if (got < 0)
                continue;
            int r = send_or_keep(fd, buf, (size_t)got);
            if (r < 0) {
                close_conn(ep, fd);
            } else if (r == 0) {
                struct epoll_event cev = {.events = EPOLLOUT, .data.fd = fd};
                epoll_ctl(ep, EPOLL_CTL_MOD, fd, &cev);
            }
        }
    }
}
