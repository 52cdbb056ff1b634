/* sigwaitinfo(2), sigtimedwait(2) and sigwait(3) take a signal of their set that
 * arrives while they wait even when it is not blocked: it is dequeued, and its handler
 * does not run. A signal outside the set that has a handler interrupts the wait
 * (EINTR) and its handler runs. The signals come from alarm(2), a child's kill(2) and
 * sigqueue(3); nothing is blocked anywhere. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <time.h>
#include "common.h"

static volatile sig_atomic_t handled[NSIG];

static void handler(int sig)
{
    handled[sig]++;
}

static void on(int sig)
{
    struct sigaction sa = {0};
    sa.sa_handler = handler;
    if (sigaction(sig, &sa, NULL))
        die("sigaction");
}

static sigset_t just(int sig)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    return set;
}

int main(void)
{
    struct timespec ten = {10, 0};
    siginfo_t info;
    on(SIGALRM);
    on(SIGUSR1);
    on(SIGUSR2);

    /* the alarm's SIGALRM, in the set: taken by sigtimedwait, no handler */
    sigset_t set = just(SIGALRM);
    alarm(1);
    int r = sigtimedwait(&set, &info, &ten);
    out("sigtimedwait %s code=%s handled=%d\n", r > 0 ? signame(r) : strerror(errno),
        info.si_code == SI_KERNEL ? "SI_KERNEL" : siname(info.si_code), handled[SIGALRM]);

    /* sigwaitinfo, the signal from a child's kill(2) */
    set = just(SIGUSR1);
    pid_t child = fork();
    if (child < 0)
        die("fork");
    if (child == 0) {
        struct timespec wait = {0, 200000000};
        nanosleep(&wait, NULL);
        kill(getppid(), SIGUSR1);
        _exit(0);
    }
    memset(&info, 0, sizeof info);
    r = sigwaitinfo(&set, &info);
    out("sigwaitinfo %s code=%s from_child=%d handled=%d\n",
        r > 0 ? signame(r) : strerror(errno), siname(info.si_code), info.si_pid == child,
        handled[SIGUSR1]);
    int st;
    if (waitpid(child, &st, 0) != child)
        die("waitpid");

    /* sigwait(3), a sigqueue(3) value from a child */
    child = fork();
    if (child < 0)
        die("fork");
    if (child == 0) {
        struct timespec wait = {0, 200000000};
        nanosleep(&wait, NULL);
        union sigval v = {.sival_int = 42};
        sigqueue(getppid(), SIGUSR2, v);
        _exit(0);
    }
    set = just(SIGUSR2);
    int sig = 0;
    r = sigwait(&set, &sig);
    out("sigwait r=%d %s handled=%d\n", r, signame(sig), handled[SIGUSR2]);
    if (waitpid(child, &st, 0) != child)
        die("waitpid");

    /* a signal outside the set, with a handler: EINTR, and the handler ran */
    set = just(SIGUSR1);
    alarm(1);
    r = sigtimedwait(&set, &info, &ten);
    out("outside the set: %s handled=%d\n", r > 0 ? signame(r) : strerror(errno),
        handled[SIGALRM]);

    /* the timeout still ends a wait for a signal that does not come */
    struct timespec short_wait = {0, 100000000};
    r = sigtimedwait(&set, &info, &short_wait);
    out("timeout: %s\n", r > 0 ? signame(r) : strerror(errno));
    return 0;
}
