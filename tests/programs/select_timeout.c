/* select_timeout: the select system call itself (not the C library's, which calls
 * pselect6) with a timeout on a pipe that stays empty: it returns 0 when the time is
 * up, clears the set and leaves no time in the timeval (select(2)); with a zero
 * timeout it returns at once. */
#define _GNU_SOURCE
#include <sys/select.h>
#include <sys/syscall.h>
#include "common.h"

int main(void)
{
    int p[2];
    if (pipe(p) < 0)
        die("pipe");
    long usecs[] = {1000, 250000, 1500000, 0};
    for (int i = 0; i < 4; i++) {
        fd_set set;
        FD_ZERO(&set);
        FD_SET(p[0], &set);
        struct timeval tv = {usecs[i] / 1000000, usecs[i] % 1000000};
        long r = syscall(SYS_select, p[0] + 1, &set, NULL, NULL, &tv);
        out("timeout %ld us: select %ld, set %s, left %ld.%06ld\n", usecs[i], r,
            FD_ISSET(p[0], &set) ? "kept" : "cleared", (long)tv.tv_sec, (long)tv.tv_usec);
    }
    return 0;
}
