/* epoll_exclusive: N processes each wait in their own epoll instance on the read end
 * of one pipe; one byte is written and nobody reads it. With EPOLLEXCLUSIVE on every
 * instance "one or more" of them are woken, not all (epoll_ctl(2)): the others time
 * out. Without it, all are woken. Each child reports whether its epoll_wait(2)
 * returned the event; the program prints the relations. Exit status 0. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <sys/epoll.h>
#include "common.h"

#define N 3

static int woken_of(unsigned flags)
{
    int p[2], ready[2], report[2];
    if (pipe(p) || pipe(ready) || pipe(report))
        die("pipe");
    for (int i = 0; i < N; i++) {
        if (fork() == 0) {
            int ep = epoll_create1(0);
            struct epoll_event ev = {.events = EPOLLIN | flags, .data.u32 = i};
            if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev))
                die("epoll");
            pass_byte(ready[1]);
            struct epoll_event got;
            int n = epoll_wait(ep, &got, 1, 2000);
            char c = n == 1 && got.data.u32 == (unsigned)i ? '1' : '0';
            if (write(report[1], &c, 1) != 1)
                die("write");
            _exit(0);
        }
        take_byte(ready[0]);
    }
    usleep(300000);   /* every child waits by then */
    pass_byte(p[1]);
    int woken = 0;
    for (int i = 0; i < N; i++) {
        char c;
        if (read(report[0], &c, 1) != 1)
            die("read");
        woken += c == '1';
    }
    while (wait(NULL) > 0)
        ;
    close(p[0]), close(p[1]), close(ready[0]), close(ready[1]);
    close(report[0]), close(report[1]);
    return woken;
}

int main(void)
{
    int woken = woken_of(EPOLLEXCLUSIVE);
    out("EPOLLEXCLUSIVE: one or more woken, not all: %d\n", woken >= 1 && woken < N);
    woken = woken_of(0);
    out("without it: all woken: %d\n", woken == N);
    return 0;
}
