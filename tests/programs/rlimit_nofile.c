/* rlimit_nofile: RLIMIT_NOFILE {16, 16} bounds the file descriptors.
 *
 * The program starts with fds 0, 1 and 2 open (nothing else may leak into it), lowers
 * RLIMIT_NOFILE to {16, 16} and opens /dev/null until open fails: EMFILE after 13 opens
 * (fds 3..15). Closing fd 7 lets the next open return 7 again; F_DUPFD fails with
 * EMFILE when the table is full; dup2 onto fd 16 (>= the limit) fails with EBADF;
 * lowering the soft limit below the open fds is allowed and open still fails.
 * Exit status 0; 100+ when a step could not run. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include "common.h"

static const char *res(int r)
{
    static char buf[64];
    if (r >= 0)
        snprintf(buf, sizeof buf, "%d", r);
    else
        snprintf(buf, sizeof buf, "-1 %s", errname(errno));
    return buf;
}

int main(void)
{
    out("open_fds_at_start");
    for (int fd = 0; fd < 64; fd++)
        if (fcntl(fd, F_GETFD) >= 0)
            out(" %d", fd);
    out("\n");
    struct rlimit rl = {16, 16};
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
        out("error setrlimit %s\n", strerror(errno));
        return 100;
    }
    int opened = 0, first = -1, last = -1;
    for (;;) {
        int fd = open("/dev/null", O_RDONLY);
        if (fd < 0) {
            out("open_failed_after %d %s\n", opened, errname(errno));
            break;
        }
        if (first < 0)
            first = fd;
        last = fd;
        if (++opened > 64) {
            out("error: no limit\n");
            return 101;
        }
    }
    out("first_fd %d last_fd %d\n", first, last);
    close(7);
    out("reopen_after_close_7 %s\n", res(open("/dev/null", O_RDONLY)));
    out("fcntl_dupfd_full %s\n", res(fcntl(0, F_DUPFD, 0)));
    out("dup2_to_16 %s\n", res(dup2(0, 16)));
    rl.rlim_cur = 8;
    out("setrlimit_soft_below_open %s\n", res(setrlimit(RLIMIT_NOFILE, &rl)));
    close(12);
    out("open_above_soft %s\n", res(open("/dev/null", O_RDONLY)));
    rl.rlim_cur = 16;
    out("setrlimit_soft_back %s\n", res(setrlimit(RLIMIT_NOFILE, &rl)));
    out("open_again %s\n", res(open("/dev/null", O_RDONLY)));
    out("done\n");
    return 0;
}
