/* cpu_spin MODE [N]: a program that waits for time to pass by working, the shapes of
 * LTP's gettimeofday02, setitimer01, setrlimit06, signal06, times03, timer_settime01.
 * In a simulated host only the CPU model moves time here: a spin without system calls
 * ends when the host preempts it, a loop of calls when its charged CPU moves the clock.
 *
 *   "alarm":   alarm(1), spin in user code until SIGALRM; then times(): tms_utime > 0.
 *   "real", "prof", "virtual": setitimer(ITIMER_REAL / ITIMER_PROF / ITIMER_VIRTUAL)
 *              100 ms, spin until its signal.
 *   "posix-mono", "posix-cpu": timer_create on CLOCK_MONOTONIC /
 *              CLOCK_PROCESS_CPUTIME_ID (SIGEV_SIGNAL, SIGALRM), 100 ms, spin.
 *   "xcpu":    RLIMIT_CPU soft 1 s, hard 3 s; spin until SIGXCPU.
 *   "gtod N":  alarm(N), gettimeofday in a loop until SIGALRM, each reading no earlier
 *              than the last; then at least N s have passed.
 *   "burst":   getppid calls until CLOCK_MONOTONIC has moved by 20 ms.
 *   "thread":  start a thread that sets a flag, spin until it is set.
 *   "count":   alarm(1), count loop iterations until SIGALRM, print the count: the
 *              machine's speed decides it, natively and in a host (--verify's case).
 *   "worker N": start a thread that makes N getppid calls, then sets a flag; spin
 *              until it is set (LTP's signal06: one thread spins, another works).
 * Prints one line per fact, the same natively and in a host. Exit status 0; 100+ when
 * a step could not run. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/times.h>
#include <time.h>
#include <unistd.h>
#include "common.h"

static volatile sig_atomic_t fired;
static volatile sig_atomic_t which_sig;
static void on_signal(int s) { which_sig = s; fired = 1; }

static volatile int flag;
static void *set_flag(void *arg) { (void)arg; flag = 1; return NULL; }
static void *work_then_set_flag(void *arg)
{
    for (long i = 0; i < (long)arg; i++)
        syscall(SYS_getppid);
    flag = 1;
    return NULL;
}

/* glibc's signal(2) installs the handler with SA_RESTART */
static void catch(int sig)
{
    if (signal(sig, on_signal) == SIG_ERR)
        die("signal");
}

static void spin(void)
{
    while (!fired)
        ;
    out("spun until %s\n", signame(which_sig));
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: cpu_spin MODE [N]\n");
        return 100;
    }
    const char *mode = argv[1];
    struct itimerval it = {{0, 0}, {0, 100000}};
    if (strcmp(mode, "alarm") == 0) {
        catch(SIGALRM);
        alarm(1);
        spin();
        struct tms t;
        if (times(&t) == (clock_t)-1)
            die("times");
        out("tms_utime grew %s\n", t.tms_utime > 0 ? "yes" : "no");
    } else if (strcmp(mode, "real") == 0 || strcmp(mode, "prof") == 0
               || strcmp(mode, "virtual") == 0) {
        int which = mode[0] == 'r' ? ITIMER_REAL : mode[0] == 'p' ? ITIMER_PROF
                                                                  : ITIMER_VIRTUAL;
        catch(which == ITIMER_REAL ? SIGALRM : which == ITIMER_PROF ? SIGPROF : SIGVTALRM);
        if (setitimer(which, &it, NULL) != 0)
            die("setitimer");
        spin();
    } else if (strncmp(mode, "posix-", 6) == 0) {
        clockid_t clock = strcmp(mode, "posix-cpu") == 0 ? CLOCK_PROCESS_CPUTIME_ID
                                                         : CLOCK_MONOTONIC;
        struct sigevent ev;
        memset(&ev, 0, sizeof ev);
        ev.sigev_notify = SIGEV_SIGNAL;
        ev.sigev_signo = SIGALRM;
        timer_t timer;
        if (syscall(SYS_timer_create, clock, &ev, &timer) != 0)
            die("timer_create");
        catch(SIGALRM);
        struct itimerspec spec = {{0, 0}, {0, 100000000}};
        if (syscall(SYS_timer_settime, timer, 0, &spec, NULL) != 0)
            die("timer_settime");
        spin();
    } else if (strcmp(mode, "xcpu") == 0) {
        struct rlimit lim = {1, 3};
        catch(SIGXCPU);
        if (setrlimit(RLIMIT_CPU, &lim) != 0)
            die("setrlimit");
        spin();
    } else if (strcmp(mode, "gtod") == 0 && argc > 2) {
        long seconds = atol(argv[2]);
        struct timeval start, last, now;
        catch(SIGALRM);
        gettimeofday(&start, NULL);
        last = start;
        alarm((unsigned)seconds);
        while (!fired) {
            gettimeofday(&now, NULL);
            if (timercmp(&now, &last, <)) {
                out("gettimeofday went back\n");
                return 1;
            }
            last = now;
        }
        out("gettimeofday never went back until %s\n", signame(which_sig));
        gettimeofday(&now, NULL);
        long long passed = (now.tv_sec - start.tv_sec) * 1000000LL
                           + (now.tv_usec - start.tv_usec);
        out("%ld s passed %s\n", seconds, passed >= seconds * 1000000LL ? "yes" : "no");
    } else if (strcmp(mode, "burst") == 0) {
        long long mono0 = clock_ns(CLOCK_MONOTONIC), mono = mono0;
        long calls = 0;
        while (mono - mono0 < 20000000LL) {   /* getppid calls until 20 ms passed */
            syscall(SYS_getppid);
            if (++calls % 100 == 0)
                mono = clock_ns(CLOCK_MONOTONIC);
        }
        out("20 ms passed while calling getppid\n");
    } else if (strcmp(mode, "thread") == 0) {
        pthread_t thread;
        if (pthread_create(&thread, NULL, set_flag, NULL) != 0)
            die("pthread_create");
        while (!flag)
            ;
        pthread_join(thread, NULL);
        out("spun until the other thread ran\n");
    } else if (strcmp(mode, "count") == 0) {
        catch(SIGALRM);
        alarm(1);
        unsigned long count = 0;
        while (!fired)
            count++;
        out("%lu iterations\n", count);
    } else if (strcmp(mode, "worker") == 0 && argc > 2) {
        pthread_t thread;
        if (pthread_create(&thread, NULL, work_then_set_flag, (void *)atol(argv[2])) != 0)
            die("pthread_create");
        while (!flag)
            ;
        pthread_join(thread, NULL);
        out("spun while the other thread worked\n");
    } else {
        fprintf(stderr, "cpu_spin: unknown mode %s\n", mode);
        return 100;
    }
    return 0;
}
