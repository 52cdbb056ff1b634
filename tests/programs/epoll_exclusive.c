/* epoll_exclusive: N processes each wait in their own epoll instance on the read end
 * of one pipe; one byte is written and nobody reads it. With EPOLLEXCLUSIVE on every
 * instance "one or more" of them are woken, not all (epoll_ctl(2)): the others time
 * out. Without it, all are woken. Each child reports whether its epoll_wait(2)
 * returned the event; the program prints the relations. Then, as LTP's epoll_wait16:
 * N waiters, edge-triggered and exclusive; N rounds of one byte written, a woken
 * child's report, the byte read back: every write wakes one. Exit status 0. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <sys/epoll.h>
#include "common.h"

#define N 3

/* N children, each waiting in its own epoll instance on p0 with ``events``; each
 * writes '1' to report_w if its epoll_wait returned the event, else '0'. Returns once
 * every child is about to wait. */
static void start_waiters(int p0, unsigned events, int report_w)
{
    int ready[2];
    if (pipe(ready))
        die("pipe");
    for (int i = 0; i < N; i++) {
        if (fork() == 0) {
            int ep = epoll_create1(0);
            struct epoll_event ev = {.events = events, .data.u32 = i};
            if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, p0, &ev))
                die("epoll");
            pass_byte(ready[1]);
            struct epoll_event got;
            int n = epoll_wait(ep, &got, 1, 2000);
            char c = n == 1 && got.data.u32 == (unsigned)i ? '1' : '0';
            if (write(report_w, &c, 1) != 1)
                die("write");
            _exit(0);
        }
        take_byte(ready[0]);
    }
    close(ready[0]), close(ready[1]);
    usleep(300000);   /* every child waits by then */
}

static int reported(int report_r)
{
    char c;
    if (read(report_r, &c, 1) != 1)
        die("read");
    return c == '1';
}

static int woken_of(unsigned flags)
{
    int p[2], report[2];
    if (pipe(p) || pipe(report))
        die("pipe");
    start_waiters(p[0], EPOLLIN | flags, report[1]);
    pass_byte(p[1]);
    int woken = 0;
    for (int i = 0; i < N; i++)
        woken += reported(report[0]);
    while (wait(NULL) > 0)
        ;
    close(p[0]), close(p[1]), close(report[0]), close(report[1]);
    return woken;
}

static int rounds_woken(void)
{
    int p[2], report[2];
    if (pipe(p) || pipe(report))
        die("pipe");
    start_waiters(p[0], EPOLLIN | EPOLLET | EPOLLEXCLUSIVE, report[1]);
    int woken = 0;
    for (int i = 0; i < N; i++) {
        pass_byte(p[1]);
        woken += reported(report[0]);
        take_byte(p[0]);
    }
    while (wait(NULL) > 0)
        ;
    close(p[0]), close(p[1]), close(report[0]), close(report[1]);
    return woken;
}

int main(void)
{
    int woken = woken_of(EPOLLEXCLUSIVE);
    out("EPOLLEXCLUSIVE: one or more woken, not all: %d\n", woken >= 1 && woken < N);
    woken = woken_of(0);
    out("without it: all woken: %d\n", woken == N);
    out("a write after the data was taken wakes the next: %d\n", rounds_woken() == N);
    return 0;
}
