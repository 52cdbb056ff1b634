/* sig_pdeath MODE: PR_SET_PDEATHSIG (prctl(2)).
 *
 * The program (a child subreaper, so that orphans come back to it) forks "middle",
 * which forks "grandchild". The grandchild sets its parent-death signal, checks it with
 * PR_GET_PDEATHSIG, tells middle it is ready (SIGUSR2) and waits. Middle then exits 0.
 *   MODE "handler": PDEATHSIG = SIGUSR1, handled with SA_SIGINFO: the grandchild
 *     reports the signal, si_code (SI_USER) and si_pid (the dead parent, printed
 *     "old-parent"), and that getppid() is now the subreaper; it exits 9.
 *   MODE "default": PDEATHSIG = SIGTERM at SIG_DFL: the grandchild is killed.
 * The program reaps middle, then the grandchild, and prints their statuses.
 * Exit status 0; 100+ when a step could not run. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include "common.h"

static volatile sig_atomic_t ready_count, got;
static volatile int got_sig, got_code;
static volatile pid_t got_pid;

static void on_usr2(int s) { (void)s; ready_count++; }

static void on_death(int s, siginfo_t *si, void *uc)
{
    (void)uc;
    got_sig = s;
    got_code = si->si_code;
    got_pid = si->si_pid;
    got = 1;
}

int main(int argc, char **argv)
{
    int handled = !(argc > 1 && strcmp(argv[1], "default") == 0);
    int deathsig = handled ? SIGUSR1 : SIGTERM;
    if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0)
        die("PR_SET_CHILD_SUBREAPER");
    pid_t top = getpid();
    out("mode %s\n", handled ? "handler" : "default");

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr2;
    sigaction(SIGUSR2, &sa, NULL);
    sigset_t blk, none;
    sigemptyset(&blk);
    sigaddset(&blk, SIGUSR2);
    sigaddset(&blk, SIGUSR1);
    sigemptyset(&none);
    sigprocmask(SIG_BLOCK, &blk, NULL);

    pid_t middle = fork();
    if (middle < 0)
        die("fork middle");
    if (middle == 0) {
        pid_t me = getpid();
        pid_t gc = fork();
        if (gc < 0)
            die("fork grandchild");
        if (gc == 0) {
            if (handled) {
                struct sigaction sd;
                memset(&sd, 0, sizeof sd);
                sd.sa_sigaction = on_death;
                sd.sa_flags = SA_SIGINFO;
                sigaction(SIGUSR1, &sd, NULL);
            }
            if (prctl(PR_SET_PDEATHSIG, deathsig, 0, 0, 0) != 0)
                die("PR_SET_PDEATHSIG");
            int cur = 0;
            if (prctl(PR_GET_PDEATHSIG, &cur, 0, 0, 0) != 0)
                die("PR_GET_PDEATHSIG");
            out("grandchild pdeathsig %s parent=%s\n", signame(cur),
                getppid() == me ? "middle" : "other");
            if (kill(me, SIGUSR2) != 0)
                die("kill middle");
            while (!got)
                sigsuspend(&none); /* SIGTERM (default mode) kills in here */
            pid_t pp = getppid();
            out("grandchild got %s code=%s pid=%s ppid_now=%s\n", signame(got_sig),
                got_code == SI_USER ? "SI_USER" : "other",
                got_pid == me ? "old-parent" : "other",
                pp == top ? "subreaper" : pp == me ? "old-parent" : "other");
            _exit(9);
        }
        while (!ready_count)
            sigsuspend(&none);
        out("middle exits\n");
        _exit(0);
    }
    /* Both reaped before printing: the grandchild's own line comes before its exit. */
    int st_m, st_g;
    if (waitpid(middle, &st_m, 0) != middle)
        die("waitpid middle");
    pid_t r = waitpid(-1, &st_g, 0);
    if (r < 0)
        die("waitpid grandchild");
    out("reaped middle %s\n", status(st_m));
    out("reaped grandchild %s\n", status(st_g));
    r = waitpid(-1, &st_g, WNOHANG);
    out("no_more_children %s\n", r < 0 && errno == ECHILD ? "yes" : "no");
    out("done\n");
    return 0;
}
