/* timer_itimer MODE: ITIMER_REAL (setitimer(2), getitimer(2)).
 *
 *   "count":  ITIMER_REAL every 100 ms (first expiry after 100 ms); the program sleeps
 *             until 1.05 s after arming (clock_nanosleep TIMER_ABSTIME on
 *             CLOCK_MONOTONIC, resumed after each EINTR), disarms and prints how many
 *             SIGALRMs arrived: 10 (expiries at 0.1 .. 1.0 s).
 *   "pause":  the same timer; pause() ten times; prints the CLOCK_MONOTONIC time that
 *             elapsed between arming and the tenth return, in ns (exactly 1 s in a
 *             simulated host).
 *   "values": setitimer(value 2.5 s, interval 0.5 s) returns the old value (zero);
 *             after sleeping 300 ms getitimer gives value 2.2 s and interval 0.5 s;
 *             setitimer(0) returns the same as old value; getitimer then gives zero;
 *             bad arguments fail with EINVAL. Values are printed in us (exact in a
 *             simulated host, a little less natively).
 * Lines starting with "t " carry times; the rest is the same natively and in a host.
 * Exit status 0; 100+ when a step could not run. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include "common.h"

static volatile sig_atomic_t alarms;
static void on_alrm(int s) { (void)s; alarms++; }

static long long mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int arm(long value_us, long interval_us, struct itimerval *old)
{
    struct itimerval it;
    it.it_value.tv_sec = value_us / 1000000;
    it.it_value.tv_usec = value_us % 1000000;
    it.it_interval.tv_sec = interval_us / 1000000;
    it.it_interval.tv_usec = interval_us % 1000000;
    return setitimer(ITIMER_REAL, &it, old);
}

static long long us(const struct timeval *tv)
{
    return tv->tv_sec * 1000000LL + tv->tv_usec;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "count";
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alrm;
    sigaction(SIGALRM, &sa, NULL);

    if (strcmp(mode, "count") == 0) {
        struct timespec start, until;
        clock_gettime(CLOCK_MONOTONIC, &start);
        if (arm(100000, 100000, NULL) != 0)
            return 100;
        until = start;
        until.tv_sec += 1;
        until.tv_nsec += 50 * 1000 * 1000;
        if (until.tv_nsec >= 1000000000) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000;
        }
        int r;
        int eintr = 0;
        while ((r = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL)) == EINTR)
            eintr++;
        arm(0, 0, NULL);
        out("clock_nanosleep %d\n", r);
        out("sigalrm %d\n", (int)alarms);
        out("t eintr %d\n", eintr);
    } else if (strcmp(mode, "pause") == 0) {
        long long t0 = mono_ns();
        if (arm(100000, 100000, NULL) != 0)
            return 100;
        for (int i = 0; i < 10; i++)
            pause();
        long long t1 = mono_ns();
        arm(0, 0, NULL);
        out("sigalrm %d\n", (int)alarms);
        out("t elapsed_ns %lld\n", t1 - t0);
    } else if (strcmp(mode, "values") == 0) {
        struct itimerval old, now;
        memset(&old, 0xff, sizeof old);
        int r = arm(2500000, 500000, &old);
        out("setitimer %d old_value_us=%lld old_interval_us=%lld\n", r,
            us(&old.it_value), us(&old.it_interval));
        struct timespec d = {0, 300 * 1000 * 1000};
        while (nanosleep(&d, &d) != 0 && errno == EINTR)
            ;
        r = getitimer(ITIMER_REAL, &now);
        out("getitimer %d interval_us=%lld\n", r, us(&now.it_interval));
        out("t getitimer_value_us %lld\n", us(&now.it_value));
        r = arm(0, 0, &old);
        out("disarm %d old_interval_us=%lld\n", r, us(&old.it_interval));
        out("t disarm_old_value_us %lld\n", us(&old.it_value));
        r = getitimer(ITIMER_REAL, &now);
        out("getitimer_disarmed %d value_us=%lld interval_us=%lld\n", r, us(&now.it_value),
            us(&now.it_interval));
        r = getitimer(ITIMER_VIRTUAL, &now);
        out("getitimer_virtual %d value_us=%lld interval_us=%lld\n", r, us(&now.it_value),
            us(&now.it_interval));
        struct itimerval bad = {{0, 0}, {0, 1000000}};
        r = setitimer(ITIMER_REAL, &bad, NULL);
        out("setitimer_usec_1000000 %d %s\n", r, r < 0 && errno == EINVAL ? "EINVAL" : "");
        r = setitimer((__itimer_which_t)5, &bad, NULL);
        out("setitimer_bad_which %d %s\n", r, r < 0 && errno == EINVAL ? "EINVAL" : "");
        r = getitimer((__itimer_which_t)5, &now);
        out("getitimer_bad_which %d %s\n", r, r < 0 && errno == EINVAL ? "EINVAL" : "");
        out("sigalrm %d\n", (int)alarms);
    } else {
        out("usage: timer_itimer count|pause|values\n");
        return 100;
    }
    out("done\n");
    return 0;
}
