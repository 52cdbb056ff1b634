/* sig_chldinfo: the siginfo of SIGCHLD, seen by an SA_SIGINFO handler.
 *
 * SIGCHLD is blocked except inside sigsuspend, and each event is awaited before the
 * next one is caused, so each SIGCHLD carries exactly one event:
 *   child#1 exits 7                 -> CLD_EXITED    status=7
 *   child#2 killed by SIGTERM       -> CLD_KILLED    status=SIGTERM
 *   child#3 SIGSTOP                 -> CLD_STOPPED   status=SIGSTOP
 *           SIGCONT                 -> CLD_CONTINUED status=SIGCONT
 *           SIGKILL                 -> CLD_KILLED    status=SIGKILL
 *   child#4 under SA_NOCLDSTOP: stop and continue send nothing; SIGKILL -> CLD_KILLED
 * si_pid is compared with what fork returned ("child#N"). Exit status 0; 100+ when a
 * step could not run. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include "common.h"

#define MAXREC 16
static struct { int signo, code, status; pid_t pid; } rec[MAXREC];
static volatile sig_atomic_t nrec;

static void on_chld(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)uc;
    if (nrec < MAXREC) {
        rec[nrec].signo = si->si_signo;
        rec[nrec].code = si->si_code;
        rec[nrec].status = si->si_status;
        rec[nrec].pid = si->si_pid;
        nrec++;
    }
}

static pid_t kids[8];
static int nkids;

static const char *who(pid_t p)
{
    static char bufs[2][32];
    static int k;
    char *b = bufs[k++ % 2];
    for (int i = 0; i < nkids; i++)
        if (kids[i] == p) {
            snprintf(b, 32, "child#%d", i + 1);
            return b;
        }
    return "unknown";
}

/* Wait for the next SIGCHLD and print what its handler saw. */
static void next_sigchld(const char *label)
{
    sigset_t none;
    sigemptyset(&none);
    int want = nrec + 1;
    while (nrec < want)
        sigsuspend(&none);
    int i = want - 1;
    out("%s signo=%s code=%s pid=%s status=", label, signame(rec[i].signo),
        cldname(rec[i].code), who(rec[i].pid));
    if (rec[i].code == CLD_EXITED)
        out("%d\n", rec[i].status);
    else
        out("%s\n", signame(rec[i].status));
}

static void handle(int flags)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_chld;
    sa.sa_flags = SA_SIGINFO | flags;
    if (sigaction(SIGCHLD, &sa, NULL) != 0)
        die("sigaction");
}

static pid_t child(int code)
{
    pid_t c = fork();
    if (c < 0)
        die("fork");
    if (c == 0) {
        if (code >= 0)
            _exit(code);
        for (;;)
            pause();
    }
    kids[nkids++] = c;
    return c;
}

static void reap(pid_t c, int opts, const char *label)
{
    int st;
    if (waitpid(c, &st, opts) != c)
        die("waitpid");
    out("%s %s %s\n", label, who(c),
        WIFEXITED(st) ? "exited" : WIFSIGNALED(st) ? "signaled" : WIFSTOPPED(st) ? "stopped"
                                                                                : "other");
}

int main(void)
{
    handle(0);
    sigset_t blk;
    sigemptyset(&blk);
    sigaddset(&blk, SIGCHLD);
    if (sigprocmask(SIG_BLOCK, &blk, NULL) != 0)
        die("sigprocmask");

    pid_t c1 = child(7);
    next_sigchld("exit");
    reap(c1, 0, "wait");

    pid_t c2 = child(-1);
    kill(c2, SIGTERM);
    next_sigchld("killed");
    reap(c2, 0, "wait");

    pid_t c3 = child(-1);
    kill(c3, SIGSTOP);
    next_sigchld("stop");
    reap(c3, WUNTRACED, "wait");
    kill(c3, SIGCONT);
    next_sigchld("cont");
    kill(c3, SIGKILL);
    next_sigchld("kill");
    reap(c3, 0, "wait");

    handle(SA_NOCLDSTOP);
    pid_t c4 = child(-1);
    kill(c4, SIGSTOP);
    reap(c4, WUNTRACED, "nocldstop_wait");
    sigset_t pend;
    sigpending(&pend);
    out("nocldstop_pending_after_stop %s\n", sigismember(&pend, SIGCHLD) ? "SIGCHLD" : "none");
    kill(c4, SIGCONT);
    kill(c4, SIGKILL);
    next_sigchld("nocldstop_kill"); /* a stop or continue report would come first */
    reap(c4, 0, "wait");
    out("sigchld_total %d\n", (int)nrec);
    out("done\n");
    return 0;
}
