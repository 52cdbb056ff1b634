/* pgrp: setpgid/setsid/getpgid/getsid and their errors, printed symbolically ("self",
 * "child#N", "parent-group", errno names) so the output is the same byte for byte
 * natively and in a simulated host. Parent and children synchronise with job control
 * only (no pipes, no sleeps): a child that must stay alive stops itself with SIGSTOP,
 * the parent waits for that stop with waitpid(WUNTRACED) and later releases it with
 * SIGCONT, after which the child exits 0. Children:
 *   child#1 stops at once (moved to its own group and back meanwhile),
 *   child#2 execs this program again ("stop-then-exit"), which stops: seeing the stop
 *           proves the exec happened,
 *   child#3 exits at once (zombie, then reaped: nonexistent pid),
 *   child#4 calls setsid() and reports, then stops.
 * Exit status 0; 100+ when the program itself could not run a step. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include "common.h"

static pid_t kids[8];
static int nkids;

static const char *who(pid_t p)
{
    static char bufs[4][32];
    static int k;
    char *b = bufs[k++ % 4];
    for (int i = 0; i < nkids; i++)
        if (kids[i] == p) {
            snprintf(b, 32, "child#%d", i + 1);
            return b;
        }
    if (p == getpid())
        return "self";
    if (p == getpgrp())
        return "parent-group";
    return "unknown";
}

/* Evaluate CALL, then read errno (never in the same argument list: the evaluation
 * order of arguments is unspecified). */
#define SHOW0(label, call)                                                              \
    do {                                                                                \
        errno = 0;                                                                      \
        int r_ = (call);                                                                \
        int e_ = errno;                                                                 \
        show0((label), r_, e_);                                                         \
    } while (0)
#define SHOWPID(label, call)                                                            \
    do {                                                                                \
        errno = 0;                                                                      \
        pid_t r_ = (call);                                                              \
        int e_ = errno;                                                                 \
        showpid((label), r_, e_);                                                       \
    } while (0)

/* For calls returning 0 / -1. */
static void show0(const char *label, int r, int e)
{
    if (r < 0)
        out("%s -1 %s\n", label, errname(e));
    else
        out("%s %d\n", label, r);
}

/* For calls returning a pid / -1. */
static void showpid(const char *label, pid_t r, int e)
{
    if (r < 0)
        out("%s -1 %s\n", label, errname(e));
    else
        out("%s %s\n", label, who(r));
}

static pid_t xfork(void)
{
    pid_t c = fork();
    if (c < 0) {
        out("error fork %s\n", strerror(errno));
        exit(100);
    }
    if (c > 0)
        kids[nkids++] = c;
    return c;
}

/* A child's side: stop until the parent sends SIGCONT, then exit 0. */
static void stop_then_exit(void)
{
    kill(getpid(), SIGSTOP);
    _exit(0);
}

/* The parent's side: wait for child C to stop (it is alive from then until released). */
static void await_stop(pid_t c)
{
    int st;
    pid_t r;
    while ((r = waitpid(c, &st, WUNTRACED)) < 0 && errno == EINTR)
        ;
    if (r < 0)
        out("stopped %s -1 %s\n", who(c), errname(errno));
    else if (WIFSTOPPED(st))
        out("stopped %s %s\n", who(r), WSTOPSIG(st) == SIGSTOP ? "SIGSTOP" : "other-signal");
    else
        out("stopped %s no: status %#x\n", who(r), st);
}

static void release(pid_t c)
{
    if (kill(c, SIGCONT) != 0) {
        out("error release %s\n", strerror(errno));
        exit(100);
    }
}

static void reap(pid_t c)
{
    int st;
    pid_t r;
    while ((r = waitpid(c, &st, 0)) < 0 && errno == EINTR)
        ;
    if (r < 0)
        out("reap %s -1 %s\n", who(c), errname(errno));
    else if (WIFEXITED(st))
        out("reap %s exited %d\n", who(r), WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        out("reap %s signaled %d\n", who(r), WTERMSIG(st));
    else
        out("reap %s other %#x\n", who(r), st);
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "stop-then-exit") == 0)
        stop_then_exit();

    /* Where we start: the parent's group and session. */
    out("getpgrp_initial %s\n", getpgrp() == getpgid(getppid()) ? "same-as-parent" : "different");
    out("getsid_initial %s\n", getsid(0) == getsid(getppid()) ? "same-as-parent" : "different");
    SHOWPID("getpgid_0", getpgid(0));

    /* Become a group leader: setsid() must then fail. */
    SHOW0("setpgid_self", setpgid(0, 0));
    out("leader %s\n", getpgrp() == getpid() ? "yes" : "no");
    SHOWPID("getpgid_0_after", getpgid(0));
    SHOWPID("setsid_leader", setsid());
    SHOW0("setpgid_negative", setpgid(0, -1));
    SHOW0("setpgid_parent", setpgid(getppid(), getpgrp()));

    /* child#1: moved into a group that does not exist, its own, and back. Running or
     * already stopped, it is alive (not reaped) until released at the end. */
    pid_t c1 = xfork();
    if (c1 == 0)
        stop_then_exit();
    SHOW0("setpgid_self_to_nonexistent_group", setpgid(0, c1));
    SHOW0("setpgid_child_to_nonexistent_group", setpgid(c1, c1 + 100000));
    SHOW0("setpgid_child1", setpgid(c1, c1));
    SHOWPID("getpgid_child1", getpgid(c1));
    SHOW0("setpgid_child1_back", setpgid(c1, getpgrp()));
    SHOWPID("getpgid_child1_back", getpgid(c1));

    /* child#2: after its execve, setpgid on it fails with EACCES. It stops only in the
     * exec'd image, so once we have seen the stop the exec has happened. */
    pid_t c2 = xfork();
    if (c2 == 0) {
        char *args[] = {argv[0], "stop-then-exit", NULL};
        execv(argv[0], args);
        _exit(127);
    }
    await_stop(c2);
    SHOW0("setpgid_after_exec", setpgid(c2, c2));
    SHOWPID("getpgid_after_exec", getpgid(c2));

    /* child#3: a zombie still has a group; once reaped its pid does not exist. */
    pid_t c3 = xfork();
    if (c3 == 0)
        _exit(0);
    siginfo_t si;
    memset(&si, 0, sizeof si);
    while (waitid(P_PID, c3, &si, WEXITED | WNOWAIT) < 0 && errno == EINTR)
        ;
    SHOWPID("getpgid_zombie", getpgid(c3));
    reap(c3);
    SHOWPID("getpgid_reaped", getpgid(c3));
    SHOWPID("getsid_reaped", getsid(c3));
    SHOW0("setpgid_reaped", setpgid(c3, 0));

    /* child#4: setsid() in a child makes a new session and group. It reports, then
     * stops, so its lines come before ours. */
    pid_t c4 = xfork();
    if (c4 == 0) {
        pid_t s = setsid();
        out("child4_setsid %s\n", s == getpid() ? "self" : s < 0 ? errname(errno) : "other");
        out("child4_getsid %s\n", getsid(0) == getpid() ? "self" : "other");
        out("child4_getpgrp %s\n", getpgrp() == getpid() ? "self" : "other");
        SHOW0("child4_setpgid_self", setpgid(0, 0));
        pid_t s2 = setsid();
        if (s2 < 0)
            out("child4_setsid_again -1 %s\n", errname(errno));
        else
            out("child4_setsid_again %s\n", s2 == getpid() ? "self" : "other");
        stop_then_exit();
    }
    await_stop(c4);
    SHOWPID("getsid_child4", getsid(c4));
    SHOWPID("getpgid_child4", getpgid(c4));
    SHOW0("setpgid_child4_session_leader", setpgid(c4, c4));
    SHOW0("setpgid_child4_to_parent_group", setpgid(c4, getpgrp()));
    release(c4);
    reap(c4);

    await_stop(c1);
    release(c1);
    reap(c1);
    release(c2);
    reap(c2);
    out("getsid_end %s\n", getsid(0) == getsid(getppid()) ? "same-as-parent" : "different");
    out("done\n");
    return 0;
}
