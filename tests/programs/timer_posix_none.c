/* timer_posix_none: SIGEV_NONE timers polled with timer_gettime, and TIMER_ABSTIME.
 *
 *   - SIGEV_NONE, CLOCK_MONOTONIC, 1 s, no interval: after 300 ms timer_gettime gives
 *     700 ms left; after 1.1 s it gives 0 (expired, not rearmed); no signal at all.
 *   - SIGEV_SIGNAL (SIGUSR1, sival_int 7), armed with TIMER_ABSTIME for
 *     CLOCK_MONOTONIC now + 200 ms: the signal arrives 200 ms later (si_code
 *     SI_TIMER, si_value 7); timer_settime's old value is zero.
 *   - TIMER_ABSTIME in the past: the timer fires at once (the signal is pending right
 *     after timer_settime returns, while blocked).
 *   - CLOCK_REALTIME timer with TIMER_ABSTIME, 1 s after the current wall time.
 * "t " lines carry times (exact in a simulated host); the rest is the same natively.
 * Exit status 0; 100+ when a step could not run. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "common.h"

static volatile sig_atomic_t got, got_code, got_value;

static void on_usr1(int s, siginfo_t *si, void *uc)
{
    (void)s;
    (void)uc;
    got++;
    got_code = si->si_code;
    got_value = si->si_value.sival_int;
}

static long long ns(const struct timespec *ts)
{
    return ts->tv_sec * 1000000000LL + ts->tv_nsec;
}

static struct timespec from_ns(long long v)
{
    struct timespec ts = {(time_t)(v / 1000000000LL), (long)(v % 1000000000LL)};
    return ts;
}

static void nap_ms(long ms)
{
    struct timespec d = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&d, &d) != 0 && errno == EINTR)
        ;
}

static long long now_ns(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return ns(&ts);
}

static void wait_signal(int n)
{
    sigset_t none;
    sigemptyset(&none);
    while (got < n)
        sigsuspend(&none);
}

int main(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_usr1;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR1, &sa, NULL);
    sigset_t blk;
    sigemptyset(&blk);
    sigaddset(&blk, SIGUSR1);
    sigprocmask(SIG_BLOCK, &blk, NULL);

    /* SIGEV_NONE, polled. */
    struct sigevent sev;
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_NONE;
    timer_t quiet;
    if (timer_create(CLOCK_MONOTONIC, &sev, &quiet) != 0) {
        out("error timer_create %s\n", strerror(errno));
        return 100;
    }
    struct itimerspec its = {{0, 0}, {1, 0}}, cur;
    timer_settime(quiet, 0, &its, NULL);
    nap_ms(300);
    timer_gettime(quiet, &cur);
    long long left = ns(&cur.it_value);
    out("none_after_300ms left_in_(0.6s,0.7s] %s interval=%lld\n",
        left > 600000000 && left <= 700000000 ? "yes" : "no", ns(&cur.it_interval));
    out("t none_after_300ms_left_ns %lld\n", left);
    nap_ms(800);
    timer_gettime(quiet, &cur);
    out("none_after_1100ms left=%lld interval=%lld\n", ns(&cur.it_value),
        ns(&cur.it_interval));
    sigset_t pend;
    sigpending(&pend);
    int anything = 0;
    for (int s = 1; s < SIGRTMAX; s++)
        anything += sigismember(&pend, s) == 1;
    out("none_pending_signals %d\n", anything);
    timer_delete(quiet);

    /* SIGEV_SIGNAL armed with an absolute CLOCK_MONOTONIC time. */
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_SIGNAL;
    sev.sigev_signo = SIGUSR1;
    sev.sigev_value.sival_int = 7;
    timer_t loud;
    if (timer_create(CLOCK_MONOTONIC, &sev, &loud) != 0)
        return 101;
    long long t0 = now_ns(CLOCK_MONOTONIC);
    struct itimerspec abs = {{0, 0}, from_ns(t0 + 200000000LL)}, old;
    memset(&old, 0xff, sizeof old);
    int r = timer_settime(loud, TIMER_ABSTIME, &abs, &old);
    out("abstime_settime %d old_value=%lld old_interval=%lld\n", r, ns(&old.it_value),
        ns(&old.it_interval));
    timer_gettime(loud, &cur);
    out("t abstime_gettime_value_ns %lld\n", ns(&cur.it_value));
    wait_signal(1);
    long long t1 = now_ns(CLOCK_MONOTONIC);
    out("abstime_signal code=%s value=%d after_200ms %s\n",
        got_code == SI_TIMER ? "SI_TIMER" : "other", (int)got_value,
        t1 - t0 >= 200000000LL ? "yes" : "no");
    out("t abstime_elapsed_ns %lld\n", t1 - t0);

    /* An absolute time already past fires at once. */
    struct itimerspec past = {{0, 0}, from_ns(t0)};
    r = timer_settime(loud, TIMER_ABSTIME, &past, NULL);
    sigpending(&pend);
    out("abstime_past %d pending_at_once %s\n", r,
        sigismember(&pend, SIGUSR1) ? "SIGUSR1" : "none");
    long long t2 = now_ns(CLOCK_MONOTONIC);
    wait_signal(2);
    out("t abstime_past_elapsed_ns %lld\n", now_ns(CLOCK_MONOTONIC) - t2);
    timer_delete(loud);

    /* CLOCK_REALTIME, absolute: 1 s after the wall time read now. */
    timer_t wall;
    if (timer_create(CLOCK_REALTIME, &sev, &wall) != 0)
        return 102;
    long long w0 = now_ns(CLOCK_REALTIME);
    struct itimerspec wabs = {{0, 0}, from_ns(w0 + 1000000000LL)};
    r = timer_settime(wall, TIMER_ABSTIME, &wabs, NULL);
    wait_signal(3);
    long long w1 = now_ns(CLOCK_REALTIME);
    out("realtime_abstime %d fired_after_1s %s\n", r, w1 - w0 >= 1000000000LL ? "yes" : "no");
    out("t realtime_abstime_fired_at %lld.%09lld\n", w1 / 1000000000LL, w1 % 1000000000LL);
    timer_delete(wall);
    out("signals %d\n", (int)got);
    out("done\n");
    return 0;
}
