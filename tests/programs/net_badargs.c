/* net_badargs: connect, sendto, sendmsg and sendmmsg with arguments the kernel rejects
 * before it routes anything (bad pointers, lengths, descriptors, families), one line
 * each: "NAME = RESULT" (-1 ENAME on failure). Every one fails natively without
 * sending a packet; in a host each must give the same answer and the host survive. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include "common.h"

static void result(const char *name, long r)
{
    if (r < 0)
        out("%s = -1 %s\n", name, strerrorname_np(errno));
    else
        out("%s = %ld\n", name, r);
}

int main(void)
{
    int udp = socket(AF_INET, SOCK_DGRAM, 0), tcp = socket(AF_INET, SOCK_STREAM, 0);
    int unx = socket(AF_UNIX, SOCK_STREAM, 0);
    if (udp < 0 || tcp < 0 || unx < 0)
        die("socket");
    /* an unmapped page: mapped, then unmapped */
    char *hole = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (hole == MAP_FAILED || munmap(hole, 4096) < 0)
        die("mmap");
    void *minus1 = (void *)UINTPTR_MAX;
    /* 2001:db8::1, a documentation address: every use below fails before routing */
    struct sockaddr_in6 doc6 = {.sin6_family = AF_INET6, .sin6_port = htons(9)};
    inet_pton(AF_INET6, "2001:db8::1", &doc6.sin6_addr);
    struct sockaddr_in lo = {.sin_family = AF_INET, .sin_port = htons(9),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    char data[4] = "abc";
    struct iovec iov = {data, 3};

    result("connect NULL", connect(udp, NULL, sizeof lo));
    result("connect -1", connect(udp, minus1, sizeof lo));
    result("connect unmapped", connect(tcp, (void *)hole, sizeof lo));
    result("connect addrlen 0", connect(udp, (void *)&lo, 0));
    result("connect addrlen 1000", connect(udp, (void *)&lo, 1000));
    result("connect addrlen -1", connect(udp, (void *)&lo, (socklen_t)-1));
    result("connect addrlen 8", connect(tcp, (void *)&lo, 8));
    result("connect bad fd", connect(-1, (void *)&lo, sizeof lo));
    result("connect closed fd", connect(1000, (void *)&lo, sizeof lo));
    result("connect not a socket", connect(0, (void *)&doc6, sizeof doc6));
    result("connect ipv6 on ipv4 tcp", connect(tcp, (void *)&doc6, sizeof doc6));
    result("connect ipv6 on ipv4 udp", connect(udp, (void *)&doc6, sizeof doc6));
    result("connect ipv6 on unix", connect(unx, (void *)&doc6, sizeof doc6));
    result("sendto -1", sendto(udp, data, 3, 0, minus1, sizeof lo));
    result("sendto unmapped", sendto(udp, data, 3, 0, (void *)hole, sizeof lo));
    result("sendto ipv6 on ipv4", sendto(udp, data, 3, 0, (void *)&doc6, sizeof doc6));
    result("sendto addrlen 3", sendto(udp, data, 3, 0, (void *)&doc6, 3));
    result("sendmsg -1", sendmsg(udp, minus1, 0));
    result("sendmsg unmapped", sendmsg(udp, (void *)hole, 0));
    struct msghdr msg = {.msg_name = minus1, .msg_namelen = sizeof lo, .msg_iov = &iov,
                         .msg_iovlen = 1};
    result("sendmsg name -1", sendmsg(udp, &msg, 0));
    msg.msg_name = &doc6;
    msg.msg_namelen = 1000;
    result("sendmsg namelen 1000", sendmsg(udp, &msg, 0));
    result("sendmmsg -1", sendmmsg(udp, minus1, 2, 0));
    result("sendmmsg unmapped", sendmmsg(udp, (void *)hole, 1, 0));
    result("sendmmsg vlen 0", sendmmsg(udp, (void *)hole, 0, 0));
    struct mmsghdr one = {.msg_hdr = {.msg_name = minus1, .msg_namelen = sizeof lo,
                                      .msg_iov = &iov, .msg_iovlen = 1}};
    result("sendmmsg name -1", sendmmsg(udp, &one, 1, 0));
    one.msg_hdr.msg_name = &doc6;
    result("sendmmsg ipv6 on ipv4", sendmmsg(udp, &one, 1, 0));
    return 0;
}
