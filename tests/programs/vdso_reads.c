/* vdso_reads [N [S]]: clock reads through libc, as a program makes them (default N 1000,
 * S 60).
 * Lines:
 *   vdso yes|no                       getauxval(AT_SYSINFO_EHDR) != 0
 *   first RC ERRNO                    the first clock_gettime(CLOCK_MONOTONIC)
 *   unchanged K of N                  of N reads of each wall clock, how many equal
 *                                     the round's first (all, when no time passes)
 *   then, after sleep(S), once in the parent and once in a child after sleep(S / 60):
 *   WHO REALTIME MONOTONIC BOOTTIME REALTIME_COARSE TAI GETTIMEOFDAY TIME
 *   cpu SEC.NSEC                      CLOCK_PROCESS_CPUTIME_ID (no vDSO answer: trapped)
 * Exit 0; 100 when a step failed. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <sys/auxv.h>
#include <sys/time.h>
#include <time.h>
#include "common.h"

#ifndef CLOCK_TAI
#define CLOCK_TAI 11
#endif

static const clockid_t wall[] = {CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME,
                                 CLOCK_REALTIME_COARSE, CLOCK_TAI};

static long long read_ns(clockid_t id)
{
    struct timespec ts;
    if (clock_gettime(id, &ts) != 0)
        die("clock_gettime");
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void line(const char *who)
{
    char buf[400];
    int n = snprintf(buf, sizeof buf, "%s", who);
    for (size_t i = 0; i < sizeof wall / sizeof wall[0]; i++) {
        long long v = read_ns(wall[i]);
        n += snprintf(buf + n, sizeof buf - n, " %lld.%09lld", v / 1000000000LL,
                      v % 1000000000LL);
    }
    struct timeval tv;
    gettimeofday(&tv, NULL);
    out("%s %lld.%06ld %lld\n", buf, (long long)tv.tv_sec, (long)tv.tv_usec,
        (long long)time(NULL));
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? strtol(argv[1], NULL, 10) : 1000;
    unsigned pause = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 60;
    out("vdso %s\n", getauxval(AT_SYSINFO_EHDR) ? "yes" : "no");
    struct timespec ts;
    errno = 0;
    int rc = clock_gettime(CLOCK_MONOTONIC, &ts);
    out("first %d %s\n", rc, rc ? errname(errno) : "0");
    if (rc)
        return 0;
    long same = 0;
    for (size_t c = 0; c < sizeof wall / sizeof wall[0]; c++) {
        long long first = read_ns(wall[c]);
        for (long i = 0; i < n; i++)
            same += read_ns(wall[c]) == first;
    }
    out("unchanged %ld of %ld\n", same, n * (long)(sizeof wall / sizeof wall[0]));
    sleep(pause);
    line("parent");
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        sleep(pause / 60);
        line("child");
        _exit(0);
    }
    int status;
    if (waitpid(pid, &status, 0) != pid || status != 0)
        die("waitpid");
    long long cpu = read_ns(CLOCK_PROCESS_CPUTIME_ID);
    out("cpu %lld.%09lld\n", cpu / 1000000000LL, cpu % 1000000000LL);
    return 0;
}
