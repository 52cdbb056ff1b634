/* (k) A Go-like garbage collector: ROUNDS times, READS clock reads at one instant (Go's
 * GC reads the clock ~40,000 times per cycle) then a SLEEP-second nanosleep. Default
 * 60 rounds of 40,000 reads and 60 s: one hour of (virtual) time. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int main(int argc, char **argv)
{
    long rounds = argc > 1 ? atol(argv[1]) : 60;
    long reads = argc > 2 ? atol(argv[2]) : 40000;
    long sleep_s = argc > 3 ? atol(argv[3]) : 60;
    struct timespec t0, t1, ts;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long r = 0; r < rounds; r++) {
        for (long i = 0; i < reads; i++)
            clock_gettime(CLOCK_MONOTONIC, &ts);
        struct timespec d = {sleep_s, 0};
        while (nanosleep(&d, &d) != 0)
            if (errno != EINTR) { perror("nanosleep"); return 1; }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("rounds=%ld reads=%ld elapsed=%ld s\n", rounds, rounds * reads,
           (long)(t1.tv_sec - t0.tv_sec));
    return 0;
}
