/* A shared library (built with -shared -fPIC -pthread) whose native thread carries
 * messages the way libzmq's I/O thread does: relay_start(in_fd, out_fd) starts a
 * thread, unknown to Python, that waits in epoll_wait(2) for in_fd, reads what came,
 * works on it for a while (a spin of `work_us` microseconds of CPU, as an I/O thread
 * decodes and routes a message) and writes it to out_fd. Loaded with ctypes by the
 * drop-in tests (tests/plugin/test_dropin_nativework.py). */
#include <pthread.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

struct relay { int in_fd, out_fd; long work_us; };

static long cpu_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec * 1000000L + ts.tv_nsec / 1000;
}

static void *carry(void *arg)
{
    struct relay *r = arg;
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = { .events = EPOLLIN, .data.fd = r->in_fd };
    char buf[4096];
    if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, r->in_fd, &ev) < 0)
        return NULL;
    for (;;) {
        if (epoll_wait(ep, &ev, 1, -1) != 1)
            continue;
        ssize_t n = read(r->in_fd, buf, sizeof buf);
        if (n <= 0)
            break;   /* the test closed its end */
        long until = cpu_us() + r->work_us;
        while (cpu_us() < until)
            ;
        if (write(r->out_fd, buf, (size_t)n) != n)
            break;
    }
    close(ep);
    return NULL;
}

int relay_start(int in_fd, int out_fd, long work_us)
{
    pthread_t thread;
    struct relay *r = malloc(sizeof *r);
    if (r == NULL)
        return -1;
    r->in_fd = in_fd;
    r->out_fd = out_fd;
    r->work_us = work_us;
    if (pthread_create(&thread, NULL, carry, r) != 0)
        return -1;
    return pthread_detach(thread);
}
