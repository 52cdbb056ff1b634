/* rlimit_errors: getrlimit / setrlimit / prlimit errors (setrlimit(2), prlimit(2)),
 * as an unprivileged process.
 *
 * Run as root, the program first drops to uid/gid 65534 (a privileged process may raise
 * its hard limits); a simulated host answers for an unprivileged user anyway, and the
 * program takes the same path in both so that the outputs compare byte for byte.
 * Works on RLIMIT_NOFILE, relative to limits it sets itself (the starting values differ
 * between machines and are not printed):
 *   soft > hard -> EINVAL; lowering -> 0; raising the hard limit -> EPERM; raising the
 *   soft limit up to the hard one -> 0; a bad resource -> EINVAL;
 *   prlimit on its own child: read (inherited at fork), lower, raise the hard -> EPERM;
 *   the child sees the new limit (exits with its soft limit, 50);
 *   prlimit on the reaped child -> ESRCH; on its parent (another user's process) -> EPERM.
 * Exit status 0; 100+ when a step could not run. */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include "common.h"

static const char *res(int r)
{
    static char buf[64];
    if (r == 0)
        return "0";
    snprintf(buf, sizeof buf, "-1 %s", errname(errno));
    return buf;
}

static void drop_privileges(void)
{
    if (getuid() == 0) {
        if (setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(65534) != 0) {
            out("error dropping privileges: %s\n", strerror(errno));
            _exit(100);
        }
    }
    out("unprivileged %s\n", getuid() != 0 && geteuid() != 0 ? "yes" : "no");
}

static int set(rlim_t soft, rlim_t hard)
{
    struct rlimit rl = {soft, hard};
    return setrlimit(RLIMIT_NOFILE, &rl);
}

static void show(const char *label, int r, const struct rlimit *rl)
{
    if (r != 0)
        out("%s %s\n", label, res(r));
    else
        out("%s 0 soft=%llu hard=%llu\n", label, (unsigned long long)rl->rlim_cur,
            (unsigned long long)rl->rlim_max);
}

static volatile sig_atomic_t go;
static void on_usr1(int s) { (void)s; go = 1; }

int main(void)
{
    drop_privileges();
    struct rlimit rl;
    int r;

    out("setrlimit_soft_gt_hard %s\n", res(set(200, 100)));
    out("setrlimit_lower %s\n", res(set(100, 200)));
    r = getrlimit(RLIMIT_NOFILE, &rl);
    show("getrlimit", r, &rl);
    out("setrlimit_raise_hard %s\n", res(set(100, 300)));
    out("setrlimit_soft_gt_hard_again %s\n", res(set(250, 200)));
    out("setrlimit_raise_soft_to_hard %s\n", res(set(200, 200)));
    r = getrlimit(RLIMIT_NOFILE, &rl);
    show("getrlimit_after", r, &rl);
    r = getrlimit((__rlimit_resource_t)99, &rl);
    out("getrlimit_bad_resource %s\n", res(r));
    rl.rlim_cur = rl.rlim_max = 10;
    out("setrlimit_bad_resource %s\n", res(setrlimit((__rlimit_resource_t)99, &rl)));

    /* A child of our own: prlimit reads and changes its limits. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    sigset_t blk, none;
    sigemptyset(&blk);
    sigaddset(&blk, SIGUSR1);
    sigemptyset(&none);
    sigprocmask(SIG_BLOCK, &blk, NULL);
    pid_t c = fork();
    if (c < 0)
        return 101;
    if (c == 0) {
        while (!go)
            sigsuspend(&none);
        struct rlimit mine;
        getrlimit(RLIMIT_NOFILE, &mine);
        _exit((int)mine.rlim_cur);
    }
    r = prlimit(c, RLIMIT_NOFILE, NULL, &rl);
    show("prlimit_child_read", r, &rl);
    struct rlimit lower = {50, 100}, higher = {50, 1000};
    r = prlimit(c, RLIMIT_NOFILE, &lower, &rl);
    show("prlimit_child_set_old", r, &rl);
    r = prlimit(c, RLIMIT_NOFILE, NULL, &rl);
    show("prlimit_child_read_again", r, &rl);
    out("prlimit_child_raise_hard %s\n", res(prlimit(c, RLIMIT_NOFILE, &higher, NULL)));
    struct rlimit bad = {60, 40};
    out("prlimit_child_soft_gt_hard %s\n", res(prlimit(c, RLIMIT_NOFILE, &bad, NULL)));
    r = getrlimit(RLIMIT_NOFILE, &rl);
    show("own_limit_unchanged", r, &rl);
    kill(c, SIGUSR1);
    int st;
    waitpid(c, &st, 0);
    out("child_exit_code %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    out("prlimit_reaped_child %s\n", res(prlimit(c, RLIMIT_NOFILE, NULL, &rl)));
    out("prlimit_parent_read %s\n", res(prlimit(getppid(), RLIMIT_NOFILE, NULL, &rl)));
    out("done\n");
    return 0;
}
