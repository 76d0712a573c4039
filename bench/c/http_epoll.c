/*
 * http_epoll.c: the keep-alive HTTP/1.1 server of examples/http_hello.rs written as a
 * bare epoll loop, with no runtime at all: the bound the runtimes are measured against.
 *
 * Every request, framed by "\r\n\r\n", is answered with
 * "HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\nHello, world!"; pipelined requests read
 * together are answered with one write. Since nothing in a request is looked at, a
 * connection keeps no request bytes at all, only how much of "\r\n\r\n" it has matched
 * so far (a terminator may straddle two reads): one byte of state.
 *
 * Level-triggered, non-blocking sockets, TCP_NODELAY; a request on a quiet connection
 * costs three system calls: epoll_wait, read, write. Responses that a write could not
 * take are kept for the connection, which stops reading until EPOLLOUT.
 *
 *   gcc -O2 -o http_epoll http_epoll.c && ./http_epoll 127.0.0.1:0
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

/* How many bytes of "\r\n\r\n" each connection has matched at the end of its last read. */
static unsigned char *matched_by_fd;

static const char RESPONSE[] = "HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\nHello, world!";
#define RESPONSE_LEN (sizeof RESPONSE - 1)

/* Counts the requests that end in buf[0..len), carrying the partial match in *matched. */
static size_t count_requests(const char *buf, size_t len, unsigned char *matched) {
    static const char END[4] = {'\r', '\n', '\r', '\n'};
    size_t count = 0;
    unsigned char m = *matched;
    for (size_t i = 0; i < len; i++) {
        if (buf[i] == END[m]) {
            if (++m == 4) {
                count++;
                m = 0;
            }
        } else {
            /* A mismatch: only a '\r' can start a new terminator. */
            m = buf[i] == '\r';
        }
    }
    *matched = m;
    return count;
}

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
    matched_by_fd[fd] = 0;
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
    matched_by_fd = calloc((size_t)max_fds, 1);
    if (!pending_by_fd || !matched_by_fd)
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
    /* Responses to the requests of one read; more than fit are sent in several writes. */
    static char out[RESPONSE_LEN * 256];
    for (size_t i = 0; i < 256; i++)
        memcpy(out + i * RESPONSE_LEN, RESPONSE, RESPONSE_LEN);
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
            size_t requests = count_requests(buf, (size_t)got, &matched_by_fd[fd]);
            int r = 1;
            while (requests > 0 && r == 1) {
                size_t batch = requests < 256 ? requests : 256;
                r = send_or_keep(fd, out, batch * RESPONSE_LEN);
                requests -= batch;
            }
            if (r < 0 || (r == 0 && requests > 0)) {
                /* An error, or more responses than the socket would take: a client
                 * that pipelines without reading is dropped. */
                close_conn(ep, fd);
            } else if (r == 0) {
                struct epoll_event cev = {.events = EPOLLOUT, .data.fd = fd};
                epoll_ctl(ep, EPOLL_CTL_MOD, fd, &cev);
            }
        }
    }
}
