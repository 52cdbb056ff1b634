/* clocks [DIVISOR]: every clock, then three sleeps. Sleep lengths are 1.5 s, 2 s and
 * 3 s divided by DIVISOR (default 1; native test runs use a larger divisor to stay
 * fast). Times are printed as SEC.NSEC (9 digits), SEC.USEC for gettimeofday. Lines:
 *   gettime NAME ok SEC.NSEC | gettime NAME -1 ERRNO       (for each clock)
 *   getres NAME ok SEC.NSEC  | getres NAME -1 ERRNO
 *   gettime_bad_clock -1 EINVAL
 *   gettimeofday ok SEC.USEC
 *   time SEC
 *   nanosleep 0                        then  after_nanosleep REALTIME MONOTONIC
 *   clock_nanosleep_rel 0              then  after_clock_nanosleep_rel REALTIME MONOTONIC
 *   abs_target SEC.NSEC
 *   clock_nanosleep_abs 0              then  after_clock_nanosleep_abs REALTIME MONOTONIC
 *   nanosleep_bad -1 EINVAL
 * Exit status: number of failed calls (0 when everything behaved). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include "common.h"

#ifndef CLOCK_TAI
#define CLOCK_TAI 11
#endif

static int failures;

static const struct {
    const char *name;
    clockid_t id;
} clocks[] = {
    {"REALTIME", CLOCK_REALTIME},
    {"MONOTONIC", CLOCK_MONOTONIC},
    {"BOOTTIME", CLOCK_BOOTTIME},
    {"REALTIME_COARSE", CLOCK_REALTIME_COARSE},
    {"MONOTONIC_COARSE", CLOCK_MONOTONIC_COARSE},
    {"MONOTONIC_RAW", CLOCK_MONOTONIC_RAW},
    {"PROCESS_CPUTIME_ID", CLOCK_PROCESS_CPUTIME_ID},
    {"THREAD_CPUTIME_ID", CLOCK_THREAD_CPUTIME_ID},
    {"TAI", CLOCK_TAI},
};

static struct timespec now(clockid_t id)
{
    struct timespec ts;
    if (clock_gettime(id, &ts) != 0) {
        out("error clock_gettime %d %s\n", (int)id, errname(errno));
        exit(100);
    }
    return ts;
}

static struct timespec scaled(long long ns, long div)
{
    ns /= div;
    struct timespec ts = {(time_t)(ns / 1000000000LL), (long)(ns % 1000000000LL)};
    return ts;
}

static void after(const char *label)
{
    struct timespec rt = now(CLOCK_REALTIME), mono = now(CLOCK_MONOTONIC);
    out("%s %lld.%09ld %lld.%09ld\n", label, (long long)rt.tv_sec, rt.tv_nsec,
        (long long)mono.tv_sec, mono.tv_nsec);
}

int main(int argc, char **argv)
{
    long div = argc > 1 ? strtol(argv[1], NULL, 10) : 1;
    if (div < 1)
        div = 1;
    struct timespec ts;

    for (size_t i = 0; i < sizeof clocks / sizeof clocks[0]; i++) {
        errno = 0;
        if (clock_gettime(clocks[i].id, &ts) == 0) {
            out("gettime %s ok %lld.%09ld\n", clocks[i].name, (long long)ts.tv_sec, ts.tv_nsec);
        } else {
            out("gettime %s -1 %s\n", clocks[i].name, errname(errno));
            failures++;
        }
    }
    for (size_t i = 0; i < sizeof clocks / sizeof clocks[0]; i++) {
        errno = 0;
        if (clock_getres(clocks[i].id, &ts) == 0) {
            out("getres %s ok %lld.%09ld\n", clocks[i].name, (long long)ts.tv_sec, ts.tv_nsec);
        } else {
            out("getres %s -1 %s\n", clocks[i].name, errname(errno));
            failures++;
        }
    }
    errno = 0;
    if (clock_gettime((clockid_t)100, &ts) == 0) {
        out("gettime_bad_clock 0\n");
        failures++;
    } else {
        out("gettime_bad_clock -1 %s\n", errname(errno));
        failures += errno != EINVAL;
    }

    struct timeval tv;
    if (gettimeofday(&tv, NULL) == 0) {
        out("gettimeofday ok %lld.%06ld\n", (long long)tv.tv_sec, (long)tv.tv_usec);
    } else {
        out("gettimeofday -1 %s\n", errname(errno));
        failures++;
    }
    time_t t = time(NULL);
    out("time %lld\n", (long long)t);

    /* nanosleep 1.5 s */
    struct timespec req = scaled(1500000000LL, div), rem;
    int r;
    while ((r = nanosleep(&req, &rem)) != 0 && errno == EINTR)
        req = rem;
    if (r != 0) {
        out("nanosleep -1 %s\n", errname(errno));
        failures++;
    } else {
        out("nanosleep 0\n");
    }
    after("after_nanosleep");

    /* clock_nanosleep relative 2 s (returns the error number, not -1) */
    req = scaled(2000000000LL, div);
    while ((r = clock_nanosleep(CLOCK_MONOTONIC, 0, &req, &rem)) == EINTR)
        req = rem;
    out("clock_nanosleep_rel %s\n", r == 0 ? "0" : errname(r));
    failures += r != 0;
    after("after_clock_nanosleep_rel");

    /* clock_nanosleep TIMER_ABSTIME until now + 3 s */
    struct timespec target = now(CLOCK_REALTIME), add = scaled(3000000000LL, div);
    target.tv_sec += add.tv_sec;
    target.tv_nsec += add.tv_nsec;
    if (target.tv_nsec >= 1000000000L) {
        target.tv_sec++;
        target.tv_nsec -= 1000000000L;
    }
    out("abs_target %lld.%09ld\n", (long long)target.tv_sec, target.tv_nsec);
    while ((r = clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &target, NULL)) == EINTR)
        ;
    out("clock_nanosleep_abs %s\n", r == 0 ? "0" : errname(r));
    failures += r != 0;
    after("after_clock_nanosleep_abs");

    /* an invalid request: tv_nsec out of range */
    struct timespec bad = {0, 1000000000L};
    errno = 0;
    r = nanosleep(&bad, NULL);
    if (r == 0) {
        out("nanosleep_bad 0\n");
        failures++;
    } else {
        out("nanosleep_bad -1 %s\n", errname(errno));
        failures += errno != EINVAL;
    }
    return failures;
}
