/* (j) N clock reads: clock_gettime(CLOCK_MONOTONIC) through libc, which asks the vDSO
 * (natively the machine's, in a host the host's). Prints the nanoseconds they spanned. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 1000000;
    struct timespec first, ts = {0, 0};
    clock_gettime(CLOCK_MONOTONIC, &first);
    for (long i = 0; i < n; i++)
        clock_gettime(CLOCK_MONOTONIC, &ts);
    long long span = (ts.tv_sec - first.tv_sec) * 1000000000LL + (ts.tv_nsec - first.tv_nsec);
    printf("reads=%ld span_ns=%lld\n", n, span);
    return span < 0;
}
