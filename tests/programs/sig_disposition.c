/* sig_disposition: default action, SIG_IGN, a handler, SA_RESETHAND and SA_SIGINFO.
 *
 * Each case runs in a fresh child ("child#N", N = fork order). A child tells the parent
 * it is ready with SIGUSR1 (blocked in the parent, which waits for it in sigsuspend), and
 * waits for the parent's signals in sigsuspend with them blocked otherwise, so every
 * line comes out in a fixed order. The parent prints each child's wait status.
 *   child#1  SIGTERM at SIG_DFL               -> killed by SIGTERM
 *   child#2  SIGTERM at SIG_IGN               -> survives, exits 2 when told (SIGUSR2)
 *   child#3  SIGTERM handled                  -> handler runs, exits 3
 *   child#4  SIGTERM handled with SA_RESETHAND -> handler once, then SIG_DFL: killed
 *   child#5  SA_SIGINFO from the parent: kill -> SI_USER, sigqueue -> SI_QUEUE + value,
 *            si_pid == the parent's getpid() (printed "parent"), exits 5
 *   self     SA_SIGINFO for its own kill, tgkill, raise and sigqueue (si_pid "self")
 * Exit status 0; 100+ when a step could not run. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include "common.h"

static void set(int sig, void (*h)(int), int flags)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = h;
    sa.sa_flags = flags;
    if (sigaction(sig, &sa, NULL) != 0)
        die("sigaction");
}

static volatile sig_atomic_t got_usr1, got_usr2, got_term;
static void on_usr1(int s) { (void)s; got_usr1++; }
static void on_usr2(int s) { (void)s; got_usr2++; }
static void on_term(int s) { (void)s; got_term++; }

/* Wait (signals blocked outside the call) until *flag reaches n. */
static void await(volatile sig_atomic_t *flag, int n)
{
    sigset_t none;
    sigemptyset(&none);
    while (*flag < n)
        sigsuspend(&none);
}

static void ready(void)
{
    if (kill(getppid(), SIGUSR1) != 0)
        die("kill parent");
}

static int nkids;

static pid_t child(void)
{
    pid_t c = fork();
    if (c < 0)
        die("fork");
    if (c > 0)
        nkids++;
    return c;
}

static void reap(pid_t c, const char *label)
{
    int st;
    if (waitpid(c, &st, 0) != c)
        die("waitpid");
    out("%s child#%d %s\n", label, nkids, status(st));
}

#define MAXREC 8
static struct { int sig, code, value; pid_t pid; } rec[MAXREC];
static volatile sig_atomic_t nrec;

static void on_info(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    if (nrec < MAXREC) {
        rec[nrec].sig = sig;
        rec[nrec].code = si->si_code;
        rec[nrec].pid = si->si_pid;
        rec[nrec].value = si->si_code == SI_QUEUE ? si->si_value.sival_int : -1;
        nrec++;
    }
}

static void show_rec(const char *who, int i, pid_t parent)
{
    const char *from = rec[i].pid == getpid() ? "self" : rec[i].pid == parent ? "parent"
                                                                             : "other";
    out("%s siginfo %s code=%s pid=%s", who, signame(rec[i].sig), siname(rec[i].code), from);
    if (rec[i].value >= 0)
        out(" value=%d", rec[i].value);
    out("\n");
}

static void install_info(int sig)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_info;
    sa.sa_flags = SA_SIGINFO;
    if (sigaction(sig, &sa, NULL) != 0)
        die("sigaction info");
}

int main(void)
{
    /* Readiness and release signals stay blocked except inside sigsuspend. */
    set(SIGUSR1, on_usr1, 0);
    set(SIGUSR2, on_usr2, 0);
    sigset_t blk;
    sigemptyset(&blk);
    sigaddset(&blk, SIGUSR1);
    sigaddset(&blk, SIGUSR2);
    sigaddset(&blk, SIGTERM);
    if (sigprocmask(SIG_BLOCK, &blk, NULL) != 0)
        die("sigprocmask");
    int readies = 0;

    /* child#1: SIGTERM at SIG_DFL kills. */
    pid_t c = child();
    if (c == 0) {
        set(SIGTERM, SIG_DFL, 0);
        ready();
        await(&got_usr2, 1); /* SIGTERM unblocked in sigsuspend: never returns */
        _exit(1);
    }
    await(&got_usr1, ++readies);
    kill(c, SIGTERM);
    reap(c, "sig_dfl");

    /* child#2: SIG_IGN survives; exits 2 when released. */
    c = child();
    if (c == 0) {
        set(SIGTERM, SIG_IGN, 0);
        ready();
        await(&got_usr2, 1);
        _exit(2);
    }
    await(&got_usr1, ++readies);
    kill(c, SIGTERM);
    kill(c, SIGUSR2);
    reap(c, "sig_ign");

    /* child#3: a handler runs. */
    c = child();
    if (c == 0) {
        set(SIGTERM, on_term, 0);
        ready();
        await(&got_term, 1);
        out("handler child#3 ran %d\n", (int)got_term);
        _exit(3);
    }
    await(&got_usr1, ++readies);
    kill(c, SIGTERM);
    reap(c, "handler");

    /* child#4: SA_RESETHAND: the handler runs once, the disposition is SIG_DFL again. */
    c = child();
    if (c == 0) {
        set(SIGTERM, on_term, SA_RESETHAND);
        ready();
        await(&got_term, 1);
        struct sigaction now;
        sigaction(SIGTERM, NULL, &now);
        out("resethand child#4 ran %d now %s\n", (int)got_term,
            now.sa_handler == SIG_DFL ? "SIG_DFL" : "still-handled");
        ready();
        await(&got_usr2, 1); /* the second SIGTERM kills */
        _exit(4);
    }
    await(&got_usr1, ++readies);
    kill(c, SIGTERM);
    await(&got_usr1, ++readies);
    kill(c, SIGTERM);
    reap(c, "resethand");

    /* child#5: SA_SIGINFO for signals from the parent. */
    c = child();
    if (c == 0) {
        install_info(SIGTERM);
        install_info(SIGUSR2);
        ready();
        sigset_t none;
        sigemptyset(&none);
        while (nrec < 1)
            sigsuspend(&none);
        ready(); /* one at a time: both pending together would run SIGUSR2 first */
        while (nrec < 2)
            sigsuspend(&none);
        for (int i = 0; i < nrec; i++)
            show_rec("child#5", i, getppid());
        _exit(5);
    }
    await(&got_usr1, ++readies);
    kill(c, SIGTERM);
    await(&got_usr1, ++readies);
    union sigval v;
    v.sival_int = 77;
    if (sigqueue(c, SIGUSR2, v) != 0)
        die("sigqueue child");
    reap(c, "siginfo");

    /* self: SA_SIGINFO for signals sent to itself, one at a time. */
    install_info(SIGUSR2);
    sigset_t u2;
    sigemptyset(&u2);
    sigaddset(&u2, SIGUSR2);
    struct { const char *how; int r; } sends[4];
    pid_t me = getpid();
    pid_t tid = (pid_t)syscall(SYS_gettid);
    for (int i = 0; i < 4; i++) {
        int r = 0;
        switch (i) {
        case 0: sends[i].how = "kill"; r = kill(me, SIGUSR2); break;
        case 1: sends[i].how = "tgkill"; r = (int)syscall(SYS_tgkill, me, tid, SIGUSR2); break;
        case 2: sends[i].how = "raise"; r = raise(SIGUSR2); break;
        case 3: v.sival_int = 42; sends[i].how = "sigqueue"; r = sigqueue(me, SIGUSR2, v); break;
        }
        sends[i].r = r;
        sigprocmask(SIG_UNBLOCK, &u2, NULL); /* delivered here */
        sigprocmask(SIG_BLOCK, &u2, NULL);
    }
    for (int i = 0; i < 4; i++) {
        out("%s %d ", sends[i].how, sends[i].r);
        show_rec("self", i, getppid());
    }
    out("done\n");
    return 0;
}
