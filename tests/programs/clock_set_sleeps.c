/* clock_set_sleeps: setting CLOCK_REALTIME moves only what waits for an absolute
 * realtime (clock_settime(2), clock_nanosleep(2)). For a simulated host only: natively
 * it would set the machine's clock.
 *
 * Four children sleep 5 s each: a relative CLOCK_REALTIME sleep, an absolute
 * CLOCK_MONOTONIC and an absolute CLOCK_BOOTTIME one (now + 5 s), and an absolute
 * CLOCK_REALTIME one; 2 s later the parent sets CLOCK_REALTIME by DELTA seconds (the
 * argument). Each child prints how long it slept by CLOCK_MONOTONIC: 5 s, but for the
 * absolute realtime one, 5 - DELTA s, or 2 s (it wakes at the set) when DELTA >= 3.
 * Exit status 0. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <time.h>
#include "common.h"

static void child(const char *name, clockid_t clock, int flags, int go)
{
    struct timespec start, end, until = {5, 0};
    clock_gettime(CLOCK_MONOTONIC, &start);
    if (flags) {
        clock_gettime(clock, &until);
        until.tv_sec += 5;
    }
    pass_byte(go);
    int r = clock_nanosleep(clock, flags, &until, NULL);
    clock_gettime(CLOCK_MONOTONIC, &end);
    out("%s: %d after %lld s\n", name, r,
        ((end.tv_sec - start.tv_sec) * 1000000000LL + end.tv_nsec - start.tv_nsec
         + 500000000) / 1000000000);
    _exit(0);
}

int main(int argc, char **argv)
{
    long delta = argc > 1 ? atol(argv[1]) : -2;
    int ready[2];
    if (pipe(ready) != 0)
        die("pipe");
    static const struct { const char *name; clockid_t clock; int flags; } kinds[] = {
        {"relative realtime", CLOCK_REALTIME, 0},
        {"absolute monotonic", CLOCK_MONOTONIC, TIMER_ABSTIME},
        {"absolute boottime", CLOCK_BOOTTIME, TIMER_ABSTIME},
        {"absolute realtime", CLOCK_REALTIME, TIMER_ABSTIME},
    };
    for (int i = 0; i < 4; i++) {
        if (fork() == 0)
            child(kinds[i].name, kinds[i].clock, kinds[i].flags, ready[1]);
        take_byte(ready[0]);
    }
    struct timespec two = {2, 0}, now;
    nanosleep(&two, NULL);
    clock_gettime(CLOCK_REALTIME, &now);
    now.tv_sec += delta;
    if (clock_settime(CLOCK_REALTIME, &now) != 0)
        die("clock_settime");
    for (int i = 0; i < 4; i++)
        wait(NULL);
    return 0;
}
