/* sig_orphan MODE: a process group that becomes orphaned while one of its members is
 * stopped gets SIGHUP then SIGCONT (POSIX; kernel/exit.c kill_orphaned_pgrp).
 *
 * The program ("top", a child subreaper so that it can reap the orphan) forks
 * "leader", which calls setsid() and forks "member". The member moves to its own
 * process group (same session, so while the leader lives its group is not orphaned),
 * installs its handlers, and stops itself with SIGSTOP. The leader waits until the
 * member is stopped (WUNTRACED) and exits: the member's group is now orphaned and has a
 * stopped member, so the kernel sends it SIGHUP and SIGCONT.
 *   MODE "handler": SIGHUP and SIGCONT are handled (each handler blocks every signal,
 *     so they run one after the other, lowest number first) and write a line each;
 *     the member exits 5.
 *   MODE "default": no handlers: SIGHUP's default action kills the member.
 * top reaps the leader and the member and prints their statuses.
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

static volatile sig_atomic_t got_hup, got_cont;

static void on_hup(int s)
{
    (void)s;
    got_hup = 1;
    static const char msg[] = "member SIGHUP\n";
    if (write(1, msg, sizeof msg - 1) < 0)
        _exit(103);
}

static void on_cont(int s)
{
    (void)s;
    got_cont = 1;
    static const char msg[] = "member SIGCONT\n";
    if (write(1, msg, sizeof msg - 1) < 0)
        _exit(103);
}

int main(int argc, char **argv)
{
    int handled = !(argc > 1 && strcmp(argv[1], "default") == 0);
    out("mode %s\n", handled ? "handler" : "default");
    if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0)
        die("PR_SET_CHILD_SUBREAPER");

    pid_t leader = fork();
    if (leader < 0)
        die("fork leader");
    if (leader == 0) {
        if (setsid() < 0)
            die("setsid");
        pid_t member = fork();
        if (member < 0)
            die("fork member");
        if (member == 0) {
            if (setpgid(0, 0) != 0)
                die("setpgid");
            if (handled) {
                struct sigaction sa;
                memset(&sa, 0, sizeof sa);
                sigfillset(&sa.sa_mask);
                sa.sa_handler = on_hup;
                sigaction(SIGHUP, &sa, NULL);
                sa.sa_handler = on_cont;
                sigaction(SIGCONT, &sa, NULL);
            }
            out("member stops in its own group: pgid=%s sid=%s\n",
                getpgrp() == getpid() ? "self" : "other",
                getsid(0) == getppid() ? "leader" : "other");
            kill(getpid(), SIGSTOP);
            /* resumed by the orphaned-group SIGCONT */
            sigset_t none;
            sigemptyset(&none);
            while (!(got_hup && got_cont))
                sigsuspend(&none);
            out("member resumed\n");
            _exit(5);
        }
        int st;
        if (waitpid(member, &st, WUNTRACED) != member)
            die("waitpid member");
        out("leader sees member %s, exits\n", status(st));
        _exit(0);
    }
    int st_l, st_m;
    if (waitpid(leader, &st_l, 0) != leader)
        die("waitpid leader");
    if (waitpid(-1, &st_m, 0) < 0)
        die("waitpid member");
    out("reaped leader %s\n", status(st_l));
    out("reaped member %s\n", status(st_m));
    out("done\n");
    return 0;
}
