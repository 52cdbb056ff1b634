/* clock_set_timers: setting CLOCK_REALTIME moves what waits for an absolute realtime
 * (clock_settime(2), clock_nanosleep(2), timer_settime(2), timerfd_create(2)).
 * For a simulated host only: natively it would set the machine's clock.
 *
 * - A child sleeps until REALTIME+100 s (TIMER_ABSTIME); the parent sets the clock 50 s
 *   forward 10 s later: the child wakes 50 s after it started (monotonic). Set 30 s
 *   back instead, a sleep until REALTIME+20 s ends after 50 s.
 * - A POSIX timer at REALTIME+100 s fires 10 s later once the clock is set 90 s
 *   forward; a relative one (60 s) is not moved.
 * - A timerfd at REALTIME+100 s with TFD_TIMER_CANCEL_ON_SET: a clock set makes it
 *   readable and its read ECANCELED (once); timerfd_settime after another set is
 *   ECANCELED and arms it all the same. Without the flag it just moves.
 * Exit status 0; 100+ when a step could not run. */
#define _GNU_SOURCE
#include <poll.h>
#include <stdint.h>
#include <sys/timerfd.h>
#include <time.h>
#include "common.h"

static long mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec;
}

static time_t realtime(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec;
}

static void shift(long seconds)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += seconds;
    if (clock_settime(CLOCK_REALTIME, &ts))
        die("clock_settime");
}

static const char *res(long r)
{
    return r < 0 ? strerrorname_np(errno) : "0";
}

static void sleep_while_set(long until, long after, long by)
{
    pid_t child = fork();
    if (child == 0) {
        long start = mono();
        struct timespec at = {realtime() + until, 0};
        int r = clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &at, NULL);
        out("sleep until +%ld, clock set %+ld at %ld: %d after %ld s\n", until, by, after,
            r, mono() - start);
        _exit(0);
    }
    sleep((unsigned)after);
    shift(by);
    waitpid(child, NULL, 0);
}

static void posix_timers(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGUSR2);
    sigprocmask(SIG_BLOCK, &set, NULL);
    struct sigevent ev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR1};
    timer_t abs_timer, rel_timer;
    timer_create(CLOCK_REALTIME, &ev, &abs_timer);
    ev.sigev_signo = SIGUSR2;
    timer_create(CLOCK_REALTIME, &ev, &rel_timer);
    long start = mono();
    struct itimerspec at = {{0, 0}, {realtime() + 100, 0}}, in60 = {{0, 0}, {60, 0}};
    timer_settime(abs_timer, TIMER_ABSTIME, &at, NULL);
    timer_settime(rel_timer, 0, &in60, NULL);
    shift(90);
    for (int i = 0; i < 2; i++) {
        int sig = sigwaitinfo(&set, NULL);
        out("%s timer fired after %ld s\n", sig == SIGUSR1 ? "absolute" : "relative",
            mono() - start);
    }
    timer_delete(abs_timer);
    timer_delete(rel_timer);
}

static void timerfds(void)
{
    int fd = timerfd_create(CLOCK_REALTIME, 0);
    struct itimerspec at = {{0, 0}, {realtime() + 100, 0}}, cur;
    int flags = TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET;
    out("cancelable timerfd: settime %s\n", res(timerfd_settime(fd, flags, &at, NULL)));
    struct pollfd pfd = {fd, POLLIN, 0};
    out("readable before a set: %d\n", poll(&pfd, 1, 0));
    long start = mono();
    shift(-5);
    out("readable after a set: %d\n", poll(&pfd, 1, 0));
    uint64_t count = 0;
    long r = read(fd, &count, sizeof count);
    out("read: %s\n", r < 0 ? strerrorname_np(errno) : "count");
    out("readable after the read: %d\n", poll(&pfd, 1, 0));
    shift(1);
    out("settime after another set: %s\n", res(timerfd_settime(fd, flags, &at, NULL)));
    timerfd_gettime(fd, &cur);
    out("armed all the same: %ld s left\n", (long)cur.it_value.tv_sec);
    out("settime again: %s\n", res(timerfd_settime(fd, flags, &at, NULL)));
    r = read(fd, &count, sizeof count);   /* blocks until at, moved by the sets */
    out("read: %ld count %llu after %ld s\n", r, (unsigned long long)count, mono() - start);
    close(fd);

    fd = timerfd_create(CLOCK_REALTIME, 0);
    at.it_value.tv_sec = realtime() + 100;
    start = mono();
    timerfd_settime(fd, TFD_TIMER_ABSTIME, &at, NULL);
    shift(60);
    r = read(fd, &count, sizeof count);
    out("plain absolute timerfd: read %ld count %llu after %ld s\n", r,
        (unsigned long long)count, mono() - start);
    close(fd);
}

int main(void)
{
    sleep_while_set(100, 10, 50);
    sleep_while_set(20, 10, -30);
    posix_timers();
    timerfds();
    return 0;
}
