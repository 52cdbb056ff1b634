/* zombie SECONDS: fork a child that exits(7) at once, then sleep SECONDS (nanosleep,
 * fractions allowed, default 1) without ever waiting for it, then exit 0.
 * Output: "child CHILDPID" right after the fork, "parent PID slept" at the end. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "common.h"

int main(int argc, char **argv)
{
    double secs = argc > 1 ? strtod(argv[1], NULL) : 1.0;
    struct timespec ts = {(time_t)secs, (long)((secs - (double)(time_t)secs) * 1e9)};

    pid_t c = fork();
    if (c < 0) {
        out("error fork %s\n", strerror(errno));
        return 100;
    }
    if (c == 0)
        _exit(7);
    out("child %d\n", (int)c);
    while (nanosleep(&ts, &ts) != 0) {
        if (errno != EINTR) {
            out("error nanosleep %s\n", strerror(errno));
            return 101;
        }
    }
    out("parent %d slept\n", (int)getpid());
    return 0;
}
