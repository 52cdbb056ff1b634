/* waitflags: wait4(2) and waitid(2) semantics, printed symbolically so that the output
 * is the same byte for byte natively and in a simulated host: pids are shown as
 * "child#N" (N = fork order), errors by errno name. Children wait in pause() until the
 * parent releases them with SIGUSR1 (its handler, installed before the first fork, is
 * inherited); the parent sleeps 100 ms before each release so that the child is in
 * pause() by then (in a simulated host the sleep is virtual and lets the child run
 * until it waits), and learns of every change of state through a blocking wait, so
 * every step happens in a fixed order.
 * Child exit codes: child#1 11, child#2 12, child#3 13; child#4 dies of SIGUSR1.
 * Exit status 0; 100+ when the program itself could not run a step. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "common.h"

static pid_t kids[8];
static int nkids;

/* Symbolic name of a pid; a few rotating buffers so one out() can use several. */
static const char *who(pid_t p)
{
    static char bufs[4][32];
    static int k;
    char *b = bufs[k++ % 4];
    if (p == 0)
        return "0";
    if (p == -1)
        return "-1";
    for (int i = 0; i < nkids; i++)
        if (kids[i] == p) {
            snprintf(b, 32, "child#%d", i + 1);
            return b;
        }
    if (p == getpid())
        return "self";
    return "unknown";
}

/* "RET" or "-1 ERRNO" for a call returning a pid or -1. */
static const char *res(pid_t r, int e)
{
    static char bufs[2][64];
    static int k;
    char *b = bufs[k++ % 2];
    if (r < 0)
        snprintf(b, 64, "-1 %s", errname(e));
    else
        snprintf(b, 64, "%s", who(r));
    return b;
}

static void show_siginfo(const char *label, int r, int e, const siginfo_t *si)
{
    if (r < 0) {
        out("%s -1 %s\n", label, errname(e));
        return;
    }
    if (si->si_pid == 0) {
        out("%s 0 pid=0\n", label);
        return;
    }
    int code = si->si_code;
    const char *st = (code == CLD_EXITED) ? NULL : signame(si->si_status);
    if (st)
        out("%s 0 signo=%s pid=%s code=%s status=%s\n", label, signame(si->si_signo),
            who(si->si_pid), cldname(code), st);
    else
        out("%s 0 signo=%s pid=%s code=%s status=%d\n", label, signame(si->si_signo),
            who(si->si_pid), cldname(code), si->si_status);
}

static volatile sig_atomic_t released;

static void on_usr1(int sig)
{
    (void)sig;
    released = 1;
}

/* Fork a child that waits until the parent sends it SIGUSR1, then exits with CODE
 * (or, with CODE < 0, kills itself with signal -CODE). NEWGROUP: setpgid(0, 0). */
static pid_t spawn_blocked(int code, int newgroup)
{
    pid_t c = fork();
    if (c < 0) {
        out("error fork %s\n", strerror(errno));
        _exit(100);
    }
    if (c == 0) {
        if (newgroup)
            setpgid(0, 0);
        while (!released)
            pause();
        if (code < 0) {
            signal(-code, SIG_DFL);
            kill(getpid(), -code);
            _exit(99);
        }
        _exit(code);
    }
    kids[nkids++] = c;
    return c;
}

static void release(pid_t c)
{
    struct timespec settle = {0, 100 * 1000 * 1000};
    while (nanosleep(&settle, &settle) != 0 && errno == EINTR)
        ;
    if (kill(c, SIGUSR1) != 0) {
        out("error release %s\n", strerror(errno));
        _exit(100);
    }
}

#define W4(label, sel, opts)                                                            \
    do {                                                                                \
        int st_ = 0;                                                                    \
        pid_t r_ = wait4((sel), &st_, (opts), NULL);                                    \
        int e_ = errno;                                                                 \
        if (r_ > 0)                                                                     \
            out("%s %s %s\n", (label), who(r_), status(st_));                           \
        else                                                                            \
            out("%s %s\n", (label), res(r_, e_));                                       \
    } while (0)

#define WID(label, idtype, id, opts)                                                    \
    do {                                                                                \
        siginfo_t si_;                                                                  \
        memset(&si_, 0, sizeof si_);                                                    \
        int r_ = waitid((idtype), (id), &si_, (opts));                                  \
        show_siginfo((label), r_, errno, &si_);                                         \
    } while (0)

int main(void)
{
    /* SIGUSR1 releases a child from pause(): caught by on_usr1 (inherited). */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    if (sigaction(SIGUSR1, &sa, NULL) != 0) {
        out("error sigaction %s\n", strerror(errno));
        return 100;
    }

    /* No children at all: ECHILD, with or without WNOHANG. */
    W4("wait4_any_nochild", -1, 0);
    W4("wait4_wnohang_nochild", -1, WNOHANG);
    WID("waitid_all_nochild", P_ALL, 0, WEXITED);

    /* child#1 is alive and waiting. */
    pid_t c1 = spawn_blocked(11, 0);
    W4("wait4_wnohang_running", c1, WNOHANG);
    W4("wait4_any_wnohang_running", -1, WNOHANG);
    WID("waitid_wnohang_running", P_PID, c1, WEXITED | WNOHANG);
    W4("wait4_badflags", -1, WNOHANG | 0x00010000);
    WID("waitid_no_event_flags", P_PID, c1, WNOHANG);
    WID("waitid_bad_idtype", (idtype_t)99, 0, WEXITED | WNOHANG);
    W4("wait4_not_a_child", getppid(), WNOHANG);

    /* Stop and continue: WUNTRACED / WCONTINUED and their waitid forms. Each report
     * is consumed once; WNOWAIT leaves it for the next wait. */
    kill(c1, SIGSTOP);
    WID("waitid_stopped_nowait", P_PID, c1, WSTOPPED | WNOWAIT);
    W4("wait4_stopped_no_wuntraced", c1, WNOHANG);
    W4("wait4_stopped", c1, WUNTRACED);
    W4("wait4_stopped_again", c1, WUNTRACED | WNOHANG);
    kill(c1, SIGCONT);
    WID("waitid_continued_nowait", P_PID, c1, WCONTINUED | WNOWAIT);
    W4("wait4_continued", c1, WCONTINUED);
    W4("wait4_continued_again", c1, WCONTINUED | WUNTRACED | WNOHANG);

    /* WNOWAIT reports the exit without consuming it; a real wait then reaps. */
    release(c1);
    WID("waitid_nowait", P_PID, c1, WEXITED | WNOWAIT);
    WID("waitid_nowait_again", P_ALL, 0, WEXITED | WNOWAIT | WNOHANG);
    W4("wait4_after_nowait", -1, 0);
    W4("wait4_after_reap", -1, WNOHANG);

    /* Process-group selectors: child#2 leads a new group, child#3 stays in ours. */
    pid_t c2 = spawn_blocked(12, 1);
    pid_t c3 = spawn_blocked(13, 0);
    int r = setpgid(c2, c2);
    out("setpgid_child2 %s\n", r == 0 ? "0" : errname(errno));
    pid_t g2 = getpgid(c2);
    out("getpgid_child2 %s\n", res(g2, errno));
    pid_t g3 = getpgid(c3);
    out("getpgid_child3 %s\n", g3 == getpgrp() ? "same-as-parent" : res(g3, errno));

    release(c2); /* child#2 becomes a zombie in another group */
    WID("waitid_nowait_child2", P_PID, c2, WEXITED | WNOWAIT);
    W4("wait4_0_wnohang", 0, WNOHANG);
    WID("waitid_pgid0_wnohang", P_PGID, 0, WEXITED | WNOHANG);
    WID("waitid_pgid_child2_nowait", P_PGID, c2, WEXITED | WNOWAIT);
    release(c3);
    W4("wait4_0", 0, 0);
    W4("wait4_0_again", 0, WNOHANG);
    W4("wait4_minus_pgid", -c2, 0);
    W4("wait4_minus_pgid_again", -c2, WNOHANG);

    /* A child killed by a signal. */
    pid_t c4 = spawn_blocked(-SIGUSR1, 0);
    release(c4);
    WID("waitid_signaled_nowait", P_PID, c4, WEXITED | WNOWAIT);
    W4("wait4_signaled", c4, 0);
    W4("wait4_end", -1, 0);

    out("done\n");
    return 0;
}
