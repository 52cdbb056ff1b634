/* timer_cpu WHICH HOW N: ITIMER_PROF / ITIMER_VIRTUAL, which count CPU time.
 *
 * WHICH is "prof" (SIGPROF, user + system time) or "virtual" (SIGVTALRM, user time).
 * The timer is armed with a 10 ms value and interval, then
 *   HOW "calls": N getppid() system calls. In a simulated host CPU time follows the
 *       CPU model, 1 us per simulated system call, so 100000 calls are 100 ms of CPU:
 *       exactly 10 signals;
 *   HOW "spin": a user-space loop until N ms of CPU time have been used
 *       (CLOCK_PROCESS_CPUTIME_ID); natively at least one signal arrives.
 * The timer is disarmed before printing "signals K". Exit status 0; 100+ on errors. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t ticks;
static void on_tick(int s) { (void)s; ticks++; }

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: timer_cpu prof|virtual calls|spin N\n");
        return 100;
    }
    int prof = strcmp(argv[1], "prof") == 0;
    int which = prof ? ITIMER_PROF : ITIMER_VIRTUAL;
    int sig = prof ? SIGPROF : SIGVTALRM;
    long n = atol(argv[3]);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_tick;
    sa.sa_flags = SA_RESTART;
    sigaction(sig, &sa, NULL);

    struct itimerval it = {{0, 10000}, {0, 10000}}, off = {{0, 0}, {0, 0}};
    if (setitimer(which, &it, NULL) != 0) {
        perror("setitimer");
        return 101;
    }
    if (strcmp(argv[2], "calls") == 0) {
        for (long i = 0; i < n; i++)
            syscall(SYS_getppid);
    } else {
        struct timespec ts;
        volatile unsigned long spin = 0;
        do {
            for (int k = 0; k < 10000; k++)
                spin++;
            clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
        } while (ts.tv_sec * 1000L + ts.tv_nsec / 1000000 < n);
    }
    setitimer(which, &off, NULL);
    printf("%s signals %d\n", prof ? "SIGPROF" : "SIGVTALRM", (int)ticks);
    return 0;
}
