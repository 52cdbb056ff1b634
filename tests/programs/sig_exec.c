/* sig_exec: what execve does to signal state (execve(2), signal(7)).
 *
 * Before the exec: SIGUSR1 and SIGTERM handled (SIGTERM with SA_SIGINFO), SIGUSR2 and
 * SIGCHLD ignored, SIGINT left at SIG_DFL; SIGHUP and SIGRTMIN blocked, and a SIGHUP
 * raised so that it is pending. The program prints the state, then re-executes itself
 * (argv[0], which must be a path) with the argument "after", and prints it again:
 * handled signals are back to SIG_DFL, ignored ones stay ignored, the blocked mask and
 * the pending SIGHUP are preserved. Exit status 0; 100+ when a step could not run. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "common.h"

static void on_sig(int s) { (void)s; }
static void on_info(int s, siginfo_t *si, void *uc) { (void)s; (void)si; (void)uc; }

static void report(const char *phase)
{
    static const struct { int sig; const char *name; } sigs[] = {
        {SIGHUP, "SIGHUP"}, {SIGINT, "SIGINT"}, {SIGUSR1, "SIGUSR1"}, {SIGUSR2, "SIGUSR2"},
        {SIGTERM, "SIGTERM"}, {SIGCHLD, "SIGCHLD"}, {0, "SIGRTMIN"},
    };
    sigset_t blocked, pending;
    sigprocmask(SIG_BLOCK, NULL, &blocked);
    sigpending(&pending);
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
        int sig = sigs[i].sig ? sigs[i].sig : SIGRTMIN;
        struct sigaction sa;
        if (sigaction(sig, NULL, &sa) != 0) {
            out("error sigaction %s\n", strerror(errno));
            _exit(100);
        }
        const char *disp = sa.sa_handler == SIG_DFL ? "SIG_DFL"
                           : sa.sa_handler == SIG_IGN ? "SIG_IGN"
                           : (sa.sa_flags & SA_SIGINFO) ? "handler+SA_SIGINFO" : "handler";
        out("%s %s %s%s%s\n", phase, sigs[i].name, disp,
            sigismember(&blocked, sig) ? " blocked" : "",
            sigismember(&pending, sig) ? " pending" : "");
    }
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "after") == 0) {
        report("after");
        out("done\n");
        return 0;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sig;
    sigaction(SIGUSR1, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGUSR2, &sa, NULL);
    sigaction(SIGCHLD, &sa, NULL);
    sa.sa_sigaction = on_info;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGTERM, &sa, NULL);
    sigset_t blk;
    sigemptyset(&blk);
    sigaddset(&blk, SIGHUP);
    sigaddset(&blk, SIGRTMIN);
    sigprocmask(SIG_BLOCK, &blk, NULL);
    kill(getpid(), SIGHUP);
    report("before");
    char *args[] = {argv[0], "after", NULL};
    execv(argv[0], args);
    out("error execv %s\n", strerror(errno));
    return 101;
}
