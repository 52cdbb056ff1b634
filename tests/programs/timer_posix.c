/* timer_posix: a POSIX interval timer signalling SIGRTMIN (timer_create(2),
 * timer_settime(2), timer_getoverrun(2), timer_delete(2)).
 *
 * timer_create(CLOCK_MONOTONIC, SIGEV_SIGNAL, SIGRTMIN, sival_int 42), armed for
 * 100 ms with a 100 ms interval. SIGRTMIN is blocked except inside sigsuspend.
 *   - the first expiry (t = 100 ms): the SA_SIGINFO handler sees si_code SI_TIMER,
 *     si_value 42, si_overrun 0; timer_getoverrun() in the handler is 0;
 *   - then the program sleeps 350 ms with the signal blocked: the expiries at 200, 300
 *     and 400 ms make one signal with overrun 2, seen once it is unblocked
 *     (si_overrun 2, timer_getoverrun 2);
 *   - timer_gettime: the interval is 100 ms, the value the time to the next expiry
 *     (50 ms: "t " line, exact in a simulated host);
 *   - timer_delete; then timer_gettime and timer_delete on it fail with EINVAL;
 *   - timer_create with a bad clock fails with EINVAL.
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

static timer_t tid;

#define MAXREC 8
static struct { int sig, code, value, overrun, getoverrun; } rec[MAXREC];
static volatile sig_atomic_t nrec;

static void on_timer(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    if (nrec < MAXREC) {
        rec[nrec].sig = sig;
        rec[nrec].code = si->si_code;
        rec[nrec].value = si->si_value.sival_int;
        rec[nrec].overrun = si->si_overrun;
        rec[nrec].getoverrun = timer_getoverrun(tid);
        nrec++;
    }
}

static void show(int i)
{
    out("signal#%d %s code=%s value=%d si_overrun=%d timer_getoverrun=%d\n", i + 1,
        rec[i].sig == SIGRTMIN ? "SIGRTMIN" : "other",
        rec[i].code == SI_TIMER ? "SI_TIMER" : "other", rec[i].value, rec[i].overrun,
        rec[i].getoverrun);
}

static long long ns(const struct timespec *ts)
{
    return ts->tv_sec * 1000000000LL + ts->tv_nsec;
}

int main(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_timer;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGRTMIN, &sa, NULL);
    sigset_t blk, none;
    sigemptyset(&blk);
    sigaddset(&blk, SIGRTMIN);
    sigemptyset(&none);
    sigprocmask(SIG_BLOCK, &blk, NULL);

    struct sigevent sev;
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_SIGNAL;
    sev.sigev_signo = SIGRTMIN;
    sev.sigev_value.sival_int = 42;
    if (timer_create(CLOCK_MONOTONIC, &sev, &tid) != 0) {
        out("timer_create -1 %s\n", errname(errno));
        return 100;
    }
    out("timer_create 0\n");
    struct itimerspec its = {{0, 100000000}, {0, 100000000}}, cur;
    int r = timer_settime(tid, 0, &its, NULL);
    out("timer_settime %d\n", r);
    r = timer_gettime(tid, &cur);
    out("timer_gettime_at_arm %d interval_ns=%lld\n", r, ns(&cur.it_interval));
    out("t timer_gettime_at_arm_value_ns %lld\n", ns(&cur.it_value));

    while (nrec < 1)
        sigsuspend(&none);
    show(0);

    struct timespec d = {0, 350000000};
    while (nanosleep(&d, &d) != 0 && errno == EINTR)
        ;
    sigset_t pend;
    sigpending(&pend);
    out("pending_after_350ms %s\n", sigismember(&pend, SIGRTMIN) ? "SIGRTMIN" : "none");
    sigprocmask(SIG_UNBLOCK, &blk, NULL);
    sigprocmask(SIG_BLOCK, &blk, NULL);
    out("signals_after_unblock %d\n", (int)nrec - 1);
    if (nrec > 1)
        show(1);

    r = timer_gettime(tid, &cur);
    out("timer_gettime %d interval_ns=%lld value_in_(0,interval] %s\n", r,
        ns(&cur.it_interval),
        ns(&cur.it_value) > 0 && ns(&cur.it_value) <= 100000000 ? "yes" : "no");
    out("t timer_gettime_value_ns %lld\n", ns(&cur.it_value));

    r = timer_delete(tid);
    out("timer_delete %d\n", r);
    r = timer_gettime(tid, &cur);
    out("timer_gettime_deleted %d %s\n", r, r < 0 ? errname(errno) : "");
    r = timer_delete(tid);
    out("timer_delete_again %d %s\n", r, r < 0 ? errname(errno) : "");
    timer_t bad;
    r = timer_create((clockid_t)1234, &sev, &bad);
    out("timer_create_bad_clock %d %s\n", r, r < 0 ? errname(errno) : "");
    out("done\n");
    return 0;
}
