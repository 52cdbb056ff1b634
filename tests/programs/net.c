/* net: a call that names a destination address, on one socket, to each DEST in turn:
 *   net CALL DEST...     CALL: connect-tcp, connect-udp, sendto, sendmsg, sendmmsg,
 *                        tcp-sendto
 * DESTs are numeric addresses of one family (IPv6 if the first has a ':'); the port
 * is the one of this program's receivers on 127.0.0.1 and ::1 (a TCP listener for
 * connect-tcp, UDP sockets otherwise), so a loopback DEST reaches them. Prints
 *   connect-tcp DEST = 0 (accepted)         or  = -1 ENAME
 *   connect-udp DEST = 0
 *   sendto DEST = 5                          the message is "to #i"
 *   sendmmsg = 2                             one call with every DEST
 *   received to #i                           each datagram that arrived, in order
 * sendmmsg sends one message per DEST in a single call. tcp-sendto connects a TCP
 * socket to the loopback listener first, then sendto()s each DEST on it, an address
 * TCP ignores (tcp(7)): what arrived is printed as one "received" line. Exit 0; 100 if a set-up
 * step failed.
 * Guards: nothing is sent to an address outside loopback unless the host's name is
 * "simhost-net" (a simulated host's, which refuses such addresses) and a datagram
 * connect(2) to it, which sends nothing (udp(7)), failed with ENETUNREACH; otherwise
 * the program says so and exits 3. connect-udp itself sends nothing. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include "common.h"

static int family;
static socklen_t addrlen;

static struct sockaddr_storage parse(const char *text, unsigned short port)
{
    struct sockaddr_storage ss = {0};
    if (family == AF_INET6) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(port);
        if (inet_pton(AF_INET6, text, &s6->sin6_addr) != 1)
            die("inet_pton");
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        s4->sin_family = AF_INET;
        s4->sin_port = htons(port);
        if (inet_pton(AF_INET, text, &s4->sin_addr) != 1)
            die("inet_pton");
    }
    return ss;
}

static int loopback(const char *text)
{
    return !strncmp(text, "127.", 4) || !strcmp(text, "0.0.0.0") || !strcmp(text, "::1")
           || !strcmp(text, "::") || !strncmp(text, "::ffff:127.", 11);
}

/* Receivers on 127.0.0.1 and ::1 with one port; returns the port. */
static unsigned short receivers(int type, int fds[2])
{
    struct sockaddr_in s4 = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct sockaddr_in6 s6 = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    socklen_t len = sizeof s4;
    int one = 1;
    fds[0] = socket(AF_INET, type | SOCK_NONBLOCK, 0);
    fds[1] = socket(AF_INET6, type | SOCK_NONBLOCK, 0);
    if (fds[0] < 0 || fds[1] < 0)
        die("socket");
    if (setsockopt(fds[1], IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) < 0)
        die("setsockopt");
    if (bind(fds[0], (struct sockaddr *)&s4, sizeof s4) < 0
        || getsockname(fds[0], (struct sockaddr *)&s4, &len) < 0)
        die("bind");
    s6.sin6_port = s4.sin_port;
    if (bind(fds[1], (struct sockaddr *)&s6, sizeof s6) < 0)
        die("bind ::1");
    if (type == SOCK_STREAM && (listen(fds[0], 8) < 0 || listen(fds[1], 8) < 0))
        die("listen");
    return ntohs(s4.sin_port);
}

static void result(const char *call, const char *dest, long r)
{
    if (r < 0)
        out("%s%s%s = -1 %s", call, dest ? " " : "", dest ? dest : "", strerrorname_np(errno));
    else
        out("%s%s%s = %ld", call, dest ? " " : "", dest ? dest : "", r);
}

int main(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    const char *call = argv[1];
    int n = argc - 2, rx[2];
    struct utsname uts;
    for (int i = 2; i < argc; i++)
        if (!loopback(argv[i]) && (uname(&uts) < 0 || strcmp(uts.nodename, "simhost-net"))) {
            out("not sending to %s outside a simulated host\n", argv[i]);
            return 3;
        }
    family = strchr(argv[2], ':') ? AF_INET6 : AF_INET;
    addrlen = family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    int tcp = !strcmp(call, "connect-tcp"), tcp_sendto = !strcmp(call, "tcp-sendto");
    int stream = tcp || tcp_sendto, peer = -1;
    unsigned short port = receivers(stream ? SOCK_STREAM : SOCK_DGRAM, rx);
    for (int i = 2; strcmp(call, "connect-udp") && i < argc; i++) {
        if (loopback(argv[i]))
            continue;
        struct sockaddr_storage to = parse(argv[i], port);
        int probe = socket(family, SOCK_DGRAM, 0);
        if (probe < 0)
            die("socket");
        if (connect(probe, (struct sockaddr *)&to, addrlen) == 0 || errno != ENETUNREACH) {
            out("not sending to %s: the host does not refuse it\n", argv[i]);
            return 3;
        }
        close(probe);
    }
    int fd = socket(family, stream ? SOCK_STREAM : SOCK_DGRAM, 0);
    if (fd < 0)
        die("socket");
    if (tcp_sendto) {
        struct sockaddr_storage to = parse(family == AF_INET6 ? "::1" : "127.0.0.1", port);
        if (connect(fd, (struct sockaddr *)&to, addrlen) < 0)
            die("connect");
        if ((peer = accept(rx[family == AF_INET6], NULL, NULL)) < 0)
            die("accept");
    }
    char text[8][16];
    if (n > 8)
        return 2;
    for (int i = 0; i < n; i++)
        snprintf(text[i], sizeof text[i], "to #%d", i);

    if (!strcmp(call, "sendmmsg")) {
        struct sockaddr_storage to[8];
        struct iovec iov[8];
        struct mmsghdr msgs[8];
        memset(msgs, 0, sizeof msgs);
        for (int i = 0; i < n; i++) {
            to[i] = parse(argv[2 + i], port);
            iov[i] = (struct iovec){text[i], strlen(text[i])};
            msgs[i].msg_hdr = (struct msghdr){.msg_name = &to[i], .msg_namelen = addrlen,
                                              .msg_iov = &iov[i], .msg_iovlen = 1};
        }
        result("sendmmsg", NULL, sendmmsg(fd, msgs, (unsigned)n, 0));
        out("\n");
    } else {
        for (int i = 0; i < n; i++) {
            struct sockaddr_storage to = parse(argv[2 + i], port);
            struct iovec iov = {text[i], strlen(text[i])};
            struct msghdr msg = {.msg_name = &to, .msg_namelen = addrlen, .msg_iov = &iov,
                                 .msg_iovlen = 1};
            long r;
            if (!strcmp(call, "sendto") || tcp_sendto)
                r = sendto(fd, text[i], strlen(text[i]), MSG_NOSIGNAL, (struct sockaddr *)&to,
                           addrlen);
            else if (!strcmp(call, "sendmsg"))
                r = sendmsg(fd, &msg, 0);
            else if (tcp || !strcmp(call, "connect-udp"))
                r = connect(fd, (struct sockaddr *)&to, addrlen);
            else
                return 2;
            result(call, argv[2 + i], r);
            if (tcp && r == 0) {
                int a = accept(rx[family == AF_INET6], NULL, NULL);
                out(a >= 0 ? " (accepted)" : " (not accepted)");
            }
            out("\n");
        }
    }
    if (tcp_sendto) {
        char buf[128];
        ssize_t got = recv(peer, buf, sizeof buf - 1, MSG_DONTWAIT);
        buf[got < 0 ? 0 : got] = 0;
        out("received %s\n", buf);
    }
    for (int r = 0; !stream && r < 2; r++) {
        char buf[64];
        ssize_t got;
        while ((got = recv(rx[r], buf, sizeof buf - 1, MSG_DONTWAIT)) >= 0) {
            buf[got] = 0;
            out("received %s\n", buf);
        }
    }
    return 0;
}
