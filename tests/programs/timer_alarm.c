/* timer_alarm MODE [SECONDS]: alarm(2).
 *
 *   "pause N": alarm(N) then pause(); the SIGALRM handler ends the pause. Prints
 *       CLOCK_REALTIME before and after (lines "t before" / "t after") and the elapsed
 *       CLOCK_MONOTONIC time in ns ("t elapsed_ns"): exactly N s in a simulated host.
 *   "remaining": alarm() returns the seconds left on the previous alarm, rounded to
 *       the nearest second but never 0 while one is pending (kernel alarm_setitimer):
 *       alarm(0) -> 0; alarm(5) -> 0; 200 ms later alarm(7) -> 5 (4.8 s left);
 *       alarm(1) -> 7; 700 ms later alarm(0) -> 1 (0.3 s left); alarm(0) -> 0;
 *       alarm(3) shows in getitimer(ITIMER_REAL) (value printed in tenths of a second).
 *       No SIGALRM arrives. The same output natively and in a simulated host.
 * Exit status 0; 100+ when a step could not run. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include "common.h"

static volatile sig_atomic_t alarms;
static void on_alrm(int s) { (void)s; alarms++; }

static void nap_ms(long ms)
{
    struct timespec d = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&d, &d) != 0 && errno == EINTR)
        ;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "remaining";
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alrm;
    sigaction(SIGALRM, &sa, NULL);

    if (strcmp(mode, "pause") == 0) {
        unsigned n = argc > 2 ? (unsigned)atoi(argv[2]) : 5;
        struct timespec rt0, rt1, m0, m1;
        clock_gettime(CLOCK_REALTIME, &rt0);
        clock_gettime(CLOCK_MONOTONIC, &m0);
        unsigned prev = alarm(n);
        int r = pause();
        int e = errno;
        clock_gettime(CLOCK_MONOTONIC, &m1);
        clock_gettime(CLOCK_REALTIME, &rt1);
        out("alarm(%u) %u\n", n, prev);
        out("pause %d %s sigalrm %d\n", r, e == EINTR ? "EINTR" : "?", (int)alarms);
        out("t before %ld.%09ld\n", (long)rt0.tv_sec, rt0.tv_nsec);
        out("t after %ld.%09ld\n", (long)rt1.tv_sec, rt1.tv_nsec);
        out("t elapsed_ns %lld\n",
            (m1.tv_sec - m0.tv_sec) * 1000000000LL + (m1.tv_nsec - m0.tv_nsec));
    } else if (strcmp(mode, "remaining") == 0) {
        out("alarm(0) %u\n", alarm(0));
        out("alarm(5) %u\n", alarm(5));
        nap_ms(200);
        out("alarm(7) after 200ms %u\n", alarm(7));
        out("alarm(1) %u\n", alarm(1));
        nap_ms(700);
        out("alarm(0) after 700ms %u\n", alarm(0));
        out("alarm(0) again %u\n", alarm(0));
        alarm(3);
        struct itimerval it;
        int r = getitimer(ITIMER_REAL, &it);
        long tenths = (long)((it.it_value.tv_sec * 1000000LL + it.it_value.tv_usec + 50000) /
                             100000);
        out("getitimer_after_alarm(3) %d value=%ld.%ld interval=%ld.%06ld\n", r, tenths / 10,
            tenths % 10, (long)it.it_interval.tv_sec, (long)it.it_interval.tv_usec);
        out("alarm(0) %u\n", alarm(0));
        out("sigalrm %d\n", (int)alarms);
    } else {
        out("usage: timer_alarm pause N | remaining\n");
        return 100;
    }
    out("done\n");
    return 0;
}
