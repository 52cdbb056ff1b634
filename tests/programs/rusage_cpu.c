/* rusage_cpu: user and system CPU time move as the kernel moves them, and times(2),
 * getrusage(2) and CLOCK_PROCESS_CPUTIME_ID agree (LTP's times03).
 *
 * A child spins in user code until ITIMER_PROF fires after 0.3 s of CPU, then calls
 * getrusage until its system time reaches 10 ms (system calls are system time). It
 * checks its own figures, exits, and the parent checks the reaped child's. Each line
 * says yes or no, so that natively and in a host the output is the same:
 *   utime      the spin is user time: at least 0.2 s
 *   stime      the calls are system time: at least 10 ms, less than the user time
 *   times      times() gives the same split in clock ticks
 *   cputime    the CPU-time clock is at least user + system
 *   cutime     the parent's times() counts the reaped child's user and system time
 *   children   and getrusage(RUSAGE_CHILDREN) the same
 * Exit status 0; 100 when a step failed. */
#define _GNU_SOURCE
#include <signal.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/times.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "common.h"

static volatile sig_atomic_t fired;

static void on_prof(int sig)
{
    (void)sig;
    fired = 1;
}

static long us(struct timeval tv)
{
    return tv.tv_sec * 1000000L + tv.tv_usec;
}

static const char *yes(int cond)
{
    return cond ? "yes" : "no";
}

static void work(void)
{
    signal(SIGPROF, on_prof);
    struct itimerval it = {{0, 0}, {0, 300000}};
    if (setitimer(ITIMER_PROF, &it, NULL) != 0)
        die("setitimer");
    while (!fired)
        ;
    struct rusage ru;
    do {
        if (getrusage(RUSAGE_SELF, &ru) != 0)
            die("getrusage");
    } while (us(ru.ru_stime) < 10000);
}

int main(void)
{
    long tick = sysconf(_SC_CLK_TCK);
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        work();
        struct rusage ru;
        struct tms t;
        struct timespec cpu;
        if (getrusage(RUSAGE_SELF, &ru) != 0 || times(&t) == (clock_t)-1
                || clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu) != 0)
            die("read");
        long u = us(ru.ru_utime), s = us(ru.ru_stime);
        out("utime %s\n", yes(u >= 200000));
        out("stime %s\n", yes(s >= 10000 && s < u));
        out("times %s\n", yes(t.tms_utime >= 2 * tick / 10 && t.tms_stime >= tick / 100
                              && t.tms_stime < t.tms_utime));
        out("cputime %s\n", yes(cpu.tv_sec * 1000000L + cpu.tv_nsec / 1000 >= u + s));
        _exit(0);
    }
    if (waitpid(pid, NULL, 0) != pid)
        die("waitpid");
    struct tms t;
    struct rusage ru;
    if (times(&t) == (clock_t)-1 || getrusage(RUSAGE_CHILDREN, &ru) != 0)
        die("read");
    out("cutime %s\n", yes(t.tms_cutime >= 2 * tick / 10 && t.tms_cstime >= tick / 100
                           && t.tms_utime < t.tms_cutime));
    out("children %s\n", yes(us(ru.ru_utime) >= 200000 && us(ru.ru_stime) >= 10000));
    return 0;
}
