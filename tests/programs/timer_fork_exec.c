/* timer_fork_exec: interval timers across fork and execve (fork(2), execve(2)).
 *
 * The program arms ITIMER_REAL for 500 ms (no interval) and forks: the child's
 * getitimer(ITIMER_REAL) is zero and its alarm(0) returns 0 (timers are not inherited);
 * it exits 0. The parent reaps it, then re-executes itself (argv[0], a path) with the
 * argument "after": the timer survives the exec (getitimer is non-zero, at most
 * 500 ms), and SIGALRM, back to SIG_DFL after the exec, kills the process while it
 * waits in pause(): the final state is Signaled(SIGALRM), 500 ms after the start.
 * "t " lines carry times. Exit status: killed by SIGALRM; 100+ when a step failed. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include "common.h"

static void on_alrm(int s) { (void)s; }

static long long us(const struct timeval *tv)
{
    return tv->tv_sec * 1000000LL + tv->tv_usec;
}

int main(int argc, char **argv)
{
    struct itimerval it;
    if (argc > 1 && strcmp(argv[1], "after") == 0) {
        struct sigaction sa;
        sigaction(SIGALRM, NULL, &sa);
        out("after_exec SIGALRM %s\n", sa.sa_handler == SIG_DFL ? "SIG_DFL" : "handled");
        getitimer(ITIMER_REAL, &it);
        long long v = us(&it.it_value);
        out("after_exec itimer_real %s\n", v > 0 && v <= 500000 ? "armed" : "disarmed");
        out("t after_exec_value_us %lld\n", v);
        for (;;)
            pause();
    }
    /* A handler before the exec: the exec must reset it for SIGALRM to kill. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alrm;
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval arm = {{0, 0}, {0, 500000}};
    if (setitimer(ITIMER_REAL, &arm, NULL) != 0)
        return 100;
    pid_t c = fork();
    if (c < 0)
        return 101;
    if (c == 0) {
        getitimer(ITIMER_REAL, &it);
        out("child itimer_real value_us=%lld interval_us=%lld\n", us(&it.it_value),
            us(&it.it_interval));
        out("child alarm(0) %u\n", alarm(0));
        _exit(0);
    }
    int st;
    waitpid(c, &st, 0);
    out("child exited %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    getitimer(ITIMER_REAL, &it);
    out("parent itimer_real %s\n", us(&it.it_value) > 0 ? "armed" : "disarmed");
    char *args[] = {argv[0], "after", NULL};
    execv(argv[0], args);
    out("error execv %s\n", strerror(errno));
    return 102;
}
