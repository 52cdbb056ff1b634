/* rlimit_nproc [inherited]: RLIMIT_NPROC makes fork fail with EAGAIN.
 *
 * Run as root, the program first drops to uid/gid 65534 (root is exempt from
 * RLIMIT_NPROC). Then it sets RLIMIT_NPROC to {3, 3} (unless "inherited" is given: the
 * limit was set by whoever started it) and forks children that wait in pause() until a
 * fork fails. The limit counts every process of the user, the program included, so
 * with nothing else running as that user 2 forks succeed. A child that has exited
 * still counts while it is a zombie; once reaped, a fork succeeds again.
 * Natively the count depends on every other process of uid 65534 on the machine.
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

static pid_t spawn(void)
{
    pid_t c = fork();
    if (c == 0) {
        for (;;)
            pause();
    }
    return c;
}

int main(int argc, char **argv)
{
    if (getuid() == 0) {
        if (setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(65534) != 0) {
            out("error dropping privileges: %s\n", strerror(errno));
            return 100;
        }
    }
    out("unprivileged %s\n", getuid() != 0 && geteuid() != 0 ? "yes" : "no");
    if (!(argc > 1 && strcmp(argv[1], "inherited") == 0)) {
        struct rlimit rl = {3, 3};
        if (setrlimit(RLIMIT_NPROC, &rl) != 0) {
            out("error setrlimit %s\n", strerror(errno));
            return 101;
        }
    }
    struct rlimit now;
    getrlimit(RLIMIT_NPROC, &now);
    out("nproc soft=%llu hard=%llu\n", (unsigned long long)now.rlim_cur,
        (unsigned long long)now.rlim_max);

    pid_t kids[16];
    int n = 0;
    for (;;) {
        if (n == 16) {
            out("error: 16 forks succeeded\n");
            break;
        }
        pid_t c = spawn();
        if (c < 0) {
            out("fork#%d -1 %s\n", n + 1, errname(errno));
            break;
        }
        kids[n++] = c;
    }
    out("forks_ok %d\n", n);
    if (n > 0) {
        /* A zombie still counts; a reaped child does not. */
        kill(kids[0], SIGKILL);
        siginfo_t si;
        memset(&si, 0, sizeof si);
        waitid(P_PID, (id_t)kids[0], &si, WEXITED | WNOWAIT);
        pid_t c = spawn();
        out("fork_with_zombie %s\n", c < 0 ? errname(errno) : "ok");
        if (c > 0)
            kids[n++] = c;
        waitpid(kids[0], NULL, 0);
        kids[0] = kids[--n];
        c = spawn();
        out("fork_after_reap %s\n", c < 0 ? errname(errno) : "ok");
        if (c > 0)
            kids[n++] = c;
    }
    for (int i = 0; i < n; i++)
        kill(kids[i], SIGKILL);
    int reaped = 0;
    while (waitpid(-1, NULL, 0) > 0)
        reaped++;
    out("reaped %d\n", reaped);
    out("done\n");
    return 0;
}
