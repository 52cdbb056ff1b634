/* (e) Sleep TOTAL seconds in STEP-second nanosleeps (default: 3600 s in one call). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int main(int argc, char **argv)
{
    long total = argc > 1 ? atol(argv[1]) : 3600;
    long step = argc > 2 ? atol(argv[2]) : total;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long done = 0; done < total; done += step) {
        struct timespec ts = { .tv_sec = step, .tv_nsec = 0 };
        while (nanosleep(&ts, &ts) != 0)
            if (errno != EINTR) { perror("nanosleep"); return 1; }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long slept = (long)(t1.tv_sec - t0.tv_sec);
    printf("slept %ld s\n", slept);
    return slept >= total ? 0 : 1;
}
