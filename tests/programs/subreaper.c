/* subreaper [SECONDS]: become a child subreaper, fork a middle child that forks a
 * grandchild and exits(5) at once. The orphaned grandchild sleeps SECONDS (default 1),
 * prints its parent (which must be the subreaper) and exits(3). The subreaper reaps
 * with wait4(-1) until ECHILD. Lines, in this order:
 *   set_child_subreaper RET
 *   get_child_subreaper FLAG
 *   subreaper PID
 *   middle PID ppid PPID grandchild GPID
 *   reaped PID exited 5
 *   grandchild GPID ppid PPID
 *   reaped GPID exited 3
 *   wait4 ECHILD
 * Exit status 0 (100+ on unexpected errors). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "common.h"

int main(int argc, char **argv)
{
    double secs = argc > 1 ? strtod(argv[1], NULL) : 1.0;
    struct timespec ts = {(time_t)secs, (long)((secs - (double)(time_t)secs) * 1e9)};

    int r = prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    out("set_child_subreaper %d\n", r);
    int flag = -1;
    r = prctl(PR_GET_CHILD_SUBREAPER, (unsigned long)&flag, 0, 0, 0);
    if (r != 0)
        out("get_child_subreaper error %s\n", strerror(errno));
    else
        out("get_child_subreaper %d\n", flag);
    out("subreaper %d\n", (int)getpid());

    pid_t m = fork();
    if (m < 0) {
        out("error fork %s\n", strerror(errno));
        return 100;
    }
    if (m == 0) {
        pid_t g = fork();
        if (g < 0) {
            out("error fork %s\n", strerror(errno));
            _exit(100);
        }
        if (g == 0) {
            while (nanosleep(&ts, &ts) != 0)
                if (errno != EINTR)
                    _exit(101);
            out("grandchild %d ppid %d\n", (int)getpid(), (int)getppid());
            _exit(3);
        }
        out("middle %d ppid %d grandchild %d\n", (int)getpid(), (int)getppid(), (int)g);
        _exit(5);
    }

    for (;;) {
        int st;
        pid_t w = wait4(-1, &st, 0, NULL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            out("wait4 %s\n", errno == ECHILD ? "ECHILD" : strerror(errno));
            break;
        }
        if (WIFEXITED(st))
            out("reaped %d exited %d\n", (int)w, WEXITSTATUS(st));
        else if (WIFSIGNALED(st))
            out("reaped %d signaled %d\n", (int)w, WTERMSIG(st));
        else
            out("reaped %d other %#x\n", (int)w, st);
    }
    return 0;
}
