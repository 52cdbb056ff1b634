/* fd_kind_errors: timerfd_gettime, timerfd_settime and signalfd given a descriptor
 * that is no timerfd or signalfd: EBADF when it is not open (a closed number, -1 for
 * the timerfd calls), EINVAL when it is open on something else (a pipe), as
 * timerfd_create(2) and signalfd(2) list them. */
#define _GNU_SOURCE
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include "common.h"

static void report(const char *what, int r)
{
    out("%s %d %s\n", what, r, r < 0 ? errname(errno) : "");
}

int main(void)
{
    int p[2];
    if (pipe(p) < 0)
        die("pipe");
    int closed = dup(p[0]);
    close(closed);
    struct itimerspec its = {{0, 0}, {1, 0}};
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGUSR1);
    int fds[] = {closed, -1, p[0]};
    const char *names[] = {"closed", "minus1", "pipe"};
    for (int i = 0; i < 3; i++) {
        out("%s: ", names[i]);
        report("gettime", timerfd_gettime(fds[i], &its));
        out("%s: ", names[i]);
        report("settime", timerfd_settime(fds[i], 0, &its, NULL));
        if (fds[i] != -1) {  /* -1 asks signalfd for a new one */
            out("%s: ", names[i]);
            report("signalfd", signalfd(fds[i], &mask, 0));
        }
    }
    int t = timerfd_create(CLOCK_MONOTONIC, 0);
    report("timerfd gettime", timerfd_gettime(t, &its));
    int s = signalfd(-1, &mask, 0);
    report("signalfd again", signalfd(s, &mask, 0) == s ? 0 : -1);
    return 0;
}
