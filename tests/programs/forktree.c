/* forktree: a fork tree three levels deep.
 * The root (depth 0) forks 2 children, each child forks 2 grandchildren, each
 * grandchild forks 1 great-grandchild: 1 + 2 + 4 + 4 = 11 processes.
 * Every process writes, with one write(2) per line:
 *   "proc PID PPID DEPTH"                when it starts (before forking), then
 *   "reap PID CHILD exited CODE"         for every child wait returned, and exits
 * with status 0 at depth 0 and 10 + DEPTH below. Errors: "error ..." and status 100+. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "common.h"

static const int fanout[] = {2, 2, 1, 0};

int main(void)
{
    int depth = 0;

start: /* a freshly forked child starts here again, one level deeper */
    out("proc %d %d %d\n", (int)getpid(), (int)getppid(), depth);
    for (int i = 0; i < fanout[depth]; i++) {
        pid_t c = fork();
        if (c < 0) {
            out("error fork %d %s\n", (int)getpid(), strerror(errno));
            _exit(100);
        }
        if (c == 0) {
            depth++;
            goto start;
        }
    }
    for (;;) {
        int st;
        pid_t r = waitpid(-1, &st, 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            if (errno == ECHILD)
                break;
            out("error wait %d %s\n", (int)getpid(), strerror(errno));
            _exit(101);
        }
        if (WIFEXITED(st))
            out("reap %d %d exited %d\n", (int)getpid(), (int)r, WEXITSTATUS(st));
        else if (WIFSIGNALED(st))
            out("reap %d %d signaled %d\n", (int)getpid(), (int)r, WTERMSIG(st));
        else
            out("reap %d %d other %#x\n", (int)getpid(), (int)r, st);
    }
    _exit(depth == 0 ? 0 : 10 + depth);
}
