/* sig_order: blocked signals, the pending set, and the order handlers run in once the
 * mask is lifted.
 *
 * SIGHUP, SIGUSR1, SIGUSR2, SIGURG, SIGRTMIN and SIGRTMIN+1 are blocked, then raised
 * (kill and sigqueue with values, some of them twice; all process-directed: a
 * tgkill'ed signal waits in the thread's own queue, which Linux serves before the
 * process's, so it would not follow the order below). sigpending() must show
 * every one of them (SIGURG too: a blocked signal is queued even when its default
 * action is to ignore it). Unblocking delivers them one at a time (each handler blocks
 * every signal through sa_mask, so a handler runs to the end before the next signal is
 * delivered): standard signals lowest number first, each once however often it was
 * raised, with the siginfo of its first sending; then the real-time signals, lowest
 * number first and, within a number, in the order they were queued, every instance
 * with its own si_value. SIGURG (no handler, default ignore) is discarded.
 * Output is symbolic (pids as "self"), the same natively and in a simulated host.
 * Exit status 0; 100+ when a step could not run. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "common.h"

#define MAXREC 32
static struct { int sig, code, value, pid_self; } rec[MAXREC];
static volatile int nrec;

static void handler(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    if (nrec < MAXREC) {
        rec[nrec].sig = sig;
        rec[nrec].code = si->si_code;
        rec[nrec].value = si->si_code == SI_QUEUE ? si->si_value.sival_int : -1;
        rec[nrec].pid_self = si->si_pid == getpid();
        nrec++;
    }
}

static void check(const char *what, int r)
{
    if (r != 0) {
        out("error %s %s\n", what, strerror(errno));
        _exit(100);
    }
}

static int queue(int sig, int value)
{
    union sigval v;
    v.sival_int = value;
    return sigqueue(getpid(), sig, v);
}

int main(void)
{
    int sigs[] = {SIGHUP, SIGUSR1, SIGUSR2, SIGURG, SIGRTMIN, SIGRTMIN + 1};
    int nsigs = (int)(sizeof sigs / sizeof sigs[0]);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = handler;
    sa.sa_flags = SA_SIGINFO;
    sigfillset(&sa.sa_mask);
    for (int i = 0; i < nsigs; i++)
        if (sigs[i] != SIGURG)
            check("sigaction", sigaction(sigs[i], &sa, NULL));

    sigset_t block, old;
    sigemptyset(&block);
    for (int i = 0; i < nsigs; i++)
        sigaddset(&block, sigs[i]);
    check("sigprocmask", sigprocmask(SIG_BLOCK, &block, &old));

    pid_t me = getpid();
    /* Raised in an order unlike the delivery order. */
    check("kill SIGUSR2", kill(me, SIGUSR2));
    check("sigqueue SIGRTMIN+1 7", queue(SIGRTMIN + 1, 7));
    check("kill SIGUSR1", kill(me, SIGUSR1));
    check("sigqueue SIGRTMIN 1", queue(SIGRTMIN, 1));
    check("kill SIGURG", kill(me, SIGURG));
    check("sigqueue SIGRTMIN 2", queue(SIGRTMIN, 2));
    check("kill SIGUSR2 again", kill(me, SIGUSR2));
    check("sigqueue SIGUSR1 99", queue(SIGUSR1, 99));
    check("sigqueue SIGRTMIN+1 8", queue(SIGRTMIN + 1, 8));
    check("kill SIGHUP", kill(me, SIGHUP));
    check("sigqueue SIGRTMIN 3", queue(SIGRTMIN, 3));
    out("raised SIGUSR2 SIGRTMIN+1(7) SIGUSR1 SIGRTMIN(1) SIGURG SIGRTMIN(2) "
        "SIGUSR2 SIGUSR1(99) SIGRTMIN+1(8) SIGHUP SIGRTMIN(3)\n");
    out("handled_while_blocked %d\n", nrec);

    sigset_t pend;
    check("sigpending", sigpending(&pend));
    out("pending");
    for (int s = 1; s <= SIGRTMAX; s++)
        if (sigismember(&pend, s))
            out(" %s", signame(s));
    out("\n");

    /* The mask is lifted: everything pending is delivered before sigprocmask returns. */
    check("sigprocmask unblock", sigprocmask(SIG_SETMASK, &old, NULL));
    for (int i = 0; i < nrec; i++) {
        out("delivered %d %s code=%s pid=%s", i + 1, signame(rec[i].sig),
            siname(rec[i].code), rec[i].pid_self ? "self" : "other");
        if (rec[i].value >= 0)
            out(" value=%d", rec[i].value);
        out("\n");
    }
    check("sigpending after", sigpending(&pend));
    int left = 0;
    for (int s = 1; s <= SIGRTMAX; s++)
        left += sigismember(&pend, s) == 1;
    out("pending_after %d\n", left);
    out("done\n");
    return 0;
}
